#!/usr/bin/env python3
"""run.py - the load benchmark of crmd (issue 6): one command, a table of figures.

    python3 bench/run.py [--build build-bench] [--contacts N] [--duration S] [--small]
                         [--only NAME] [--soak SECONDS]

Creates (or reuses) a database with `crmctl demo-data --contacts N` under bench/data/ (and
applies the migrations it lacks once, there), makes an API key and a login user, starts crmd
on a free loopback port with one worker per core, drives it with wrk (Lua scripts in
bench/lua/, 64 connections, bounded in time) scenario by scenario, and prints per scenario
requests/s, p50/p99 latency, crmd's CPU time per request (user + system: repeatable where
wall-clock figures are not, on a shared machine) and the load average, then the database
size, crmd's RSS and WAL size, and single-request analytics timings.

"get contact during logins" runs GET contact by id while a second wrk hammers the login
(Argon2id, limited to as many hashes at once as there are cores), to show whether logins
starve the API. --soak S runs the mixed scenario for S seconds and samples crmd's RSS and
the WAL size every 5 s: they must stay bounded.

Results also go to bench/results/<time>-<contacts>.json so runs can be compared, and a
Markdown table for docs/performance.md is printed at the end. Load stays on loopback.
Targets (issue 6) are printed beside the figures with how far off a missed one is; nothing
here asserts a timing.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import harness  # noqa: E402  (starts crmd and reads its port)

# name, lua script, target: (kind, value) where kind is "rps" (at least) or "p99_ms" (at most)
SCENARIOS = [
    ("get contact by id", "get_contact.lua", [("rps", 20000), ("p99_ms", 10)]),
    ("list contacts (50, filter)", "list_contacts.lua", [("rps", 5000)]),
    ("full-text search", "search.lua", [("p99_ms", 20)]),
    ("contact timeline", "timeline.lua", []),
    ("create contact", "create_contact.lua", [("rps", 5000)]),
    ("create interaction", "create_interaction.lua", [("rps", 5000)]),
    ("PATCH with If-Match", "patch_contact.lua", []),
    ("mixed 90% read / 10% write", "mixed.lua", [("rps", 15000)]),
    ("login (Argon2id)", "login.lua", []),
    ("get contact during logins", "get_contact.lua", []),  # with login.lua beside it
    ("analytics/tiers", "tiers.lua", []),
    ("segments/preview", "segment_preview.lua", []),
    # issue 16: other users' GETs with and without a viewer's costly segment previews beside
    ("get contact (attack baseline)", "get_contact.lua", []),
    ("get contact during segment attack", "get_contact.lua", []),  # segment_attack.lua beside
]
# the second script of a scenario and its connections (the attack: the finding's 4 loops)
BESIDE = {"get contact during logins": ("login.lua", 16),
          "get contact during segment attack": ("segment_attack.lua", 4)}
SOAK_SAMPLE_SECONDS = 5


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def prepare_database(build, contacts, seed):
    """The pristine database for `contacts`, generated once and kept under bench/data/."""
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    db = os.path.join(HERE, "data", "bench-%d-%d.db" % (contacts, seed))
    crmctl = os.path.join(build, "crmctl")
    generation_seconds = 0.0
    if not os.path.exists(db + ".ready"):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        started = time.monotonic()
        run([crmctl, "--db", db, "init"])
        print("generating demo data: %d contacts (seed %d) ..." % (contacts, seed), flush=True)
        subprocess.run([crmctl, "--db", db, "demo-data", "--contacts", str(contacts), "--seed",
                        str(seed)], check=True)
        generation_seconds = time.monotonic() - started
        open(db + ".ready", "w").write("%.1f\n" % generation_seconds)
    # New migrations (indexes on ten million rows take minutes) are applied once here, not
    # by every crmd that starts on a copy.
    started = time.monotonic()
    migrated = run([crmctl, "--db", db, "migrate"]).stdout.strip()
    if "0 migrations" not in migrated and "(0 " not in migrated:
        print("%s (%.0f s)" % (migrated, time.monotonic() - started), flush=True)
    return db, generation_seconds


def make_credentials(build, db):
    crmctl = os.path.join(build, "crmctl")
    email = "bench-%d@example.com" % int(time.time())
    run([crmctl, "--db", db, "user", "add", email, "--name", "Bench", "--role", "admin",
         "--password-stdin"], input="bench-password\n")
    key = run([crmctl, "--db", db, "key", "create", "--user", email, "--name", "bench"]).stdout.strip()
    viewer = "bench-viewer-%d@example.com" % int(time.time())
    run([crmctl, "--db", db, "user", "add", viewer, "--name", "Viewer", "--role", "viewer",
         "--password-stdin"], input="bench-password\n")
    viewer_key = run([crmctl, "--db", db, "key", "create", "--user", viewer, "--name",
                      "bench attack"]).stdout.strip()
    return email, "bench-password", key, viewer_key


def machine():
    """Cores, CPU model, memory and kernel, for the results."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_kib = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 2**20, 1),
            "system": platform.platform()}


def rss_kib(pid, field="VmRSS"):
    """Resident memory of `pid` in KiB. VmRSS also counts file pages mapped into crmd
    (libraries; the database file if SQLite's mmap_size were set); RssAnon is crmd's own
    memory (heap, stacks): the figure that a leak makes grow."""
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def anon_kib(pid):
    return rss_kib(pid, "RssAnon")


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wal_bytes(db):
    return os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0


def load_average():
    return round(os.getloadavg()[0], 2)


def count_rows(db, table):
    import sqlite3
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM %s" % table).fetchone()[0]


def wrk_command(port, script, duration, connections):
    return ["wrk", "-t", "2", "-c", str(connections), "-d", "%ds" % duration, "--timeout", "10s",
            "-s", os.path.join(HERE, "lua", script), "http://127.0.0.1:%d" % port]


def wrk_figures(result):
    match = re.search(r"BENCH_JSON (\{.*\})", result.stdout)
    if not match:
        raise RuntimeError("wrk gave no figures:\n" + result.stdout + result.stderr)
    figures = json.loads(match.group(1))
    seconds = figures["duration_us"] / 1e6
    figures["rps"] = figures["requests"] / seconds if seconds else 0.0
    # answers other than 2xx/3xx (412 of a lost If-Match race, 503 of a refused login)
    figures["ok_rps"] = (figures["requests"] - figures["status_errors"]) / seconds if seconds else 0.0
    return figures


def settle(pid, limit_seconds=60):
    """Waits until crmd is idle (under 5 % of a core over half a second): requests that a
    scenario left in flight when wrk stopped (64 segment previews of several seconds each,
    queued logins) and the checkpoint of the WAL that its writes left would otherwise be
    counted in the next scenario. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_seconds:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            break
    return time.monotonic() - started


def wrk(server, script, duration, connections, env, beside=None):
    """Runs one scenario (and `beside`, (a second script, its connections) at the same
    time); returns the figures of `script` plus crmd's CPU time per request."""
    cpu_before = cpu_seconds(server.process.pid)
    other = None
    if beside:
        beside, beside_connections = beside
        other = subprocess.Popen(wrk_command(server.port, beside, duration, beside_connections),
                                 text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env)
    result = subprocess.run(wrk_command(server.port, script, duration, connections), text=True,
                            capture_output=True, env=env, timeout=duration + 60)
    figures = wrk_figures(result)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    if other:
        out, err = other.communicate(timeout=duration + 60)
        beside_figures = wrk_figures(subprocess.CompletedProcess(other.args, 0, out, err))
        figures["beside"] = {"script": beside, "rps": round(beside_figures["rps"], 1),
                             "requests": beside_figures["requests"],
                             "status_errors": beside_figures["status_errors"],
                             "ok_rps": round(beside_figures["ok_rps"], 1),
                             "p99_us": beside_figures["p99_us"]}
        cpu_requests = figures["requests"] + beside_figures["requests"]
    else:
        cpu_requests = figures["requests"]
    figures["cpu_us_per_request"] = round(cpu * 1e6 / cpu_requests, 1) if cpu_requests else 0.0
    return figures


def soak(server, db, seconds, connections, env):
    """The mixed scenario for `seconds`, sampling RSS and WAL size every few seconds."""
    samples = []
    command = wrk_command(server.port, "mixed.lua", seconds, connections)
    process = subprocess.Popen(command, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    started = time.monotonic()
    done = threading.Event()

    def sample():
        while not done.wait(SOAK_SAMPLE_SECONDS):
            samples.append({"t_s": round(time.monotonic() - started),
                            "rss_kib": rss_kib(server.process.pid),
                            "anon_kib": anon_kib(server.process.pid),
                            "wal_bytes": wal_bytes(db), "load": load_average()})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate(timeout=seconds + 60)
    done.set()
    sampler.join()
    figures = wrk_figures(subprocess.CompletedProcess(command, 0, out, err))
    rss = [s["anon_kib"] for s in samples]
    # growth of crmd's own memory after the first sample: caches (statements, SQLite pages)
    # fill in the first seconds; a leak keeps growing after that.
    return {"seconds": seconds, "rps": round(figures["rps"], 1), "p99_us": figures["p99_us"],
            "errors": figures["errors"], "samples": samples,
            "rss_growth_kib": (rss[-1] - rss[0]) if len(rss) > 1 else 0,
            "wal_max_bytes": max((s["wal_bytes"] for s in samples), default=0)}


def time_request(server, method, path, key, body=None):
    started = time.monotonic()
    status, _, _ = server.request(method, path, body, key=key)
    return (time.monotonic() - started) * 1000.0, status


def analytics_timings(server, key, contacts):
    timings = []
    for label, method, path, body in [
        ("analytics/tiers (first: builds scores)", "GET", "/api/v1/analytics/tiers", None),
        ("analytics/tiers (again)", "GET", "/api/v1/analytics/tiers", None),
        ("analytics/ltv?limit=100", "GET", "/api/v1/analytics/ltv?limit=100", None),
        ("model refit", "POST", "/api/v1/analytics/refit", {}),
        ("segment count (computed fields)", "POST", "/api/v1/segments/preview",
         {"rule": {"all": [{"field": "tier", "op": "in", "value": ["gold", "platinum"]},
                           {"field": "churn_risk", "op": "lt", "value": 0.5}]}}),
        ("per-contact analytics", "GET", "/api/v1/contacts/%d/analytics" % max(1, contacts // 2), None),
        ("per-contact analytics (again)", "GET", "/api/v1/contacts/%d/analytics" % max(1, contacts // 3), None),
    ]:
        milliseconds, status = time_request(server, method, path, key, body)
        timings.append({"what": label, "ms": round(milliseconds, 2), "status": status})
    return timings


def verdict(figures, targets):
    notes = []
    for kind, value in targets:
        if kind == "rps":
            got = figures["rps"]
            notes.append("target >= %d req/s: %s" % (value, "met" if got >= value else
                         "MISSED by %.0f%%" % (100.0 * (value - got) / value)))
        else:
            got = figures["p99_us"] / 1000.0
            notes.append("target p99 <= %d ms: %s" % (value, "met" if got <= value else
                         "MISSED by %.0f%%" % (100.0 * (got - value) / value)))
    return "; ".join(notes)


def attack_verdict(scenarios):
    """Issue 16's target: other users' GET p99 during the attack within 2x of without.
    Prints it and returns it for the results (None when the scenarios did not run)."""
    by_name = {s["name"]: s for s in scenarios}
    base = by_name.get("get contact (attack baseline)")
    attacked = by_name.get("get contact during segment attack")
    if not base or not attacked:
        return None
    ratio = attacked["p99_us"] / base["p99_us"] if base["p99_us"] else 0.0
    beside = attacked["beside"]
    print("segment attack: other users' GET p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms "
          "(%.1fx; target <= 2x: %s); the attack sent %d previews, %d answered non-2xx "
          "(422 refused by the cost model, 429 over the per-user limit, 503 past the budget)"
          % (base["p50_us"] / 1000.0, attacked["p50_us"] / 1000.0, base["p99_us"] / 1000.0,
             attacked["p99_us"] / 1000.0, ratio, "met" if ratio <= 2 else "MISSED",
             beside["requests"], beside["status_errors"]), flush=True)
    return {"p99_ratio": round(ratio, 2), "attack_requests": beside["requests"],
            "attack_refused": beside["status_errors"]}


def markdown_table(results):
    lines = ["| scenario | req/s | 2xx/s | p50 ms | p99 ms | crmd CPU µs/req | load | target |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for s in results["scenarios"]:
        name = s["name"]
        if "beside" in s:
            name += " (%s beside: %.0f/s, %.1f/s answered 2xx)" % (
                s["beside"]["script"].replace(".lua", ""), s["beside"]["rps"],
                s["beside"]["ok_rps"])
        lines.append("| %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %s |" % (
            name, s["rps"], s["ok_rps"], s["p50_us"] / 1000.0, s["p99_us"] / 1000.0,
            s["cpu_us_per_request"], s["load"], s["verdict"] or "-"))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--small", action="store_true", help="quick run: 10,000 contacts, 2 s each")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--duration", type=int, default=None, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default=None, help="run scenarios whose name contains this")
    parser.add_argument("--soak", type=int, default=0, metavar="SECONDS",
                        help="then the mixed scenario for SECONDS, sampling RSS and WAL size")
    args = parser.parse_args()
    contacts = args.contacts or (10000 if args.small else 1000000)
    duration = args.duration or (2 if args.small else 15)
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is not installed (apt-get install -y wrk)")
    os.environ["CRM_BUILD"] = os.path.abspath(args.build)
    harness.CRMD = os.path.join(args.build, "crmd")
    harness.CRMCTL = os.path.join(args.build, "crmctl")

    pristine, generation_seconds = prepare_database(args.build, contacts, args.seed)
    # Every run starts from the same data: the scenarios write into a copy.
    db = pristine.replace(".db", ".run.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    run([os.path.join(args.build, "crmctl"), "--db", pristine, "backup", db])
    email, password, key, viewer_key = make_credentials(args.build, db)
    # harness.Server passes --threads 4; a later flag wins: one worker per core, as deployed.
    # The bench measures the server, not the API rate limit: its one key may send at the
    # highest rate crmd takes (60,000,000 a minute).
    server = harness.Server(db_path=db, extra_args=["--log-level", "warn", "--threads",
                                                    str(os.cpu_count() or 2),
                                                    "--rate-limit", "60000000/min",
                                                    "--rate-burst", "60000000"])
    server.start()
    env = dict(os.environ, CRM_BENCH_KEY=key, CRM_BENCH_CONTACTS=str(contacts),
               CRM_BENCH_EMAIL=email, CRM_BENCH_PASSWORD=password,
               CRM_BENCH_ATTACK_KEY=viewer_key)
    results = {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "load_at_start": load_average(),
        "contacts": contacts, "duration_s": duration, "connections": args.connections,
        "generation_s": round(generation_seconds, 1), "scenarios": [],
    }
    print("machine: %(cores)d cores, %(cpu)s, %(memory_gib)s GiB; load average %(load)s" % dict(
        results["machine"], load=results["load_at_start"]), flush=True)
    try:
        results["rows"] = {table: count_rows(db, table) for table in
                           ("contacts", "companies", "interactions", "purchases", "opportunities")}
        results["rss_start_kib"] = rss_kib(server.process.pid)
        results["anon_start_kib"] = anon_kib(server.process.pid)
        for name, script, targets in SCENARIOS:
            if args.only and args.only not in name:
                continue
            settle(server.process.pid)
            load = load_average()
            figures = wrk(server, script, duration, args.connections, env, BESIDE.get(name))
            figures.update(name=name, verdict=verdict(figures, targets), load=load,
                           rss_kib=rss_kib(server.process.pid), wal_bytes=wal_bytes(db))
            results["scenarios"].append(figures)
            print("%-30s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d (non-2xx %d)  "
                  "cpu %6.0f us/req  load %5.2f  %s%s" % (
                      name, figures["rps"], figures["p50_us"] / 1000.0, figures["p99_us"] / 1000.0,
                      figures["errors"], figures["status_errors"], figures["cpu_us_per_request"],
                      load, figures["verdict"],
                      "  (%s beside: %.0f/s, %.1f/s answered 2xx)" % (
                          figures["beside"]["script"], figures["beside"]["rps"],
                          figures["beside"]["ok_rps"])
                      if "beside" in figures else ""), flush=True)
        results["attack"] = attack_verdict(results["scenarios"])
        results["rss_end_kib"] = rss_kib(server.process.pid)
        results["anon_end_kib"] = anon_kib(server.process.pid)
        if args.soak:
            print("soak: mixed for %d s, RSS and WAL sampled every %d s ..." % (
                args.soak, SOAK_SAMPLE_SECONDS), flush=True)
            settle(server.process.pid)
            results["soak"] = soak(server, db, args.soak, args.connections, env)
        settle(server.process.pid)
        results["analytics"] = analytics_timings(server, key, contacts)
    finally:
        server.stop()
    results["db_bytes"] = sum(os.path.getsize(db + suffix) for suffix in ("", "-wal")
                              if os.path.exists(db + suffix))

    print()
    print("database: %s, %.1f MiB; rows: %s" % (os.path.basename(db), results["db_bytes"] / 2**20,
                                              results["rows"]))
    print("crmd RSS: %.1f MiB at start, %.1f MiB after the load (its own memory, RssAnon: "
          "%.1f -> %.1f MiB); WAL after the scenarios: %.1f MiB" % (
              results["rss_start_kib"] / 1024.0, results["rss_end_kib"] / 1024.0,
              results["anon_start_kib"] / 1024.0, results["anon_end_kib"] / 1024.0,
              max((s["wal_bytes"] for s in results["scenarios"]), default=0) / 2**20))
    if "soak" in results:
        soaked = results["soak"]
        print("soak: %.0f req/s over %d s; RSS %s MiB; own memory (RssAnon) %s MiB (growth "
              "after the first sample %.1f MiB); WAL at most %.1f MiB" % (
                  soaked["rps"], soaked["seconds"],
                  " ".join("%.0f" % (s["rss_kib"] / 1024.0) for s in soaked["samples"]),
                  " ".join("%.0f" % (s["anon_kib"] / 1024.0) for s in soaked["samples"]),
                  soaked["rss_growth_kib"] / 1024.0, soaked["wal_max_bytes"] / 2**20))
    for timing in results["analytics"]:
        print("%-40s %9.2f ms (HTTP %d)" % (timing["what"], timing["ms"], timing["status"]))
    print()
    print(markdown_table(results))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "%s-%d.json" % (
        results["when"].replace(":", "").replace("-", ""), contacts))
    with open(path, "w") as out:
        json.dump(results, out, indent=2)
    print("results written to %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
