#!/usr/bin/env python3
"""run.py - the load benchmark of crmd (issue 6): one command, a table of figures.

    python3 bench/run.py [--build build-bench] [--contacts N] [--duration S] [--small]

Creates (or reuses) a database with `crmctl demo-data --contacts N` under bench/data/, makes
an API key and a login user, starts crmd on a free loopback port, drives it with wrk (Lua
scripts in bench/lua/, 64 connections, bounded in time) scenario by scenario, and prints
requests/s and p50/p99 latency per scenario, the database size, crmd's RSS before and after,
and single-request analytics timings. Results also go to bench/results/<time>.json so runs
can be compared. Load stays on loopback. Targets (issue 6) are printed beside the figures with
how far off a missed one is; nothing here asserts a timing.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
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
    ("analytics/tiers", "tiers.lua", []),
    ("segments/preview", "segment_preview.lua", []),
]


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def prepare_database(build, contacts, seed):
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    db = os.path.join(HERE, "data", "bench-%d-%d.db" % (contacts, seed))
    if os.path.exists(db + ".ready"):
        return db, 0.0
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    crmctl = os.path.join(build, "crmctl")
    started = time.monotonic()
    run([crmctl, "--db", db, "init"])
    print("generating demo data: %d contacts (seed %d) ..." % (contacts, seed), flush=True)
    subprocess.run([crmctl, "--db", db, "demo-data", "--contacts", str(contacts), "--seed",
                    str(seed)], check=True)
    elapsed = time.monotonic() - started
    open(db + ".ready", "w").write("%.1f\n" % elapsed)
    return db, elapsed


def make_credentials(build, db):
    crmctl = os.path.join(build, "crmctl")
    email = "bench-%d@example.com" % int(time.time())
    run([crmctl, "--db", db, "user", "add", email, "--name", "Bench", "--role", "admin",
         "--password-stdin"], input="bench-password\n")
    key = run([crmctl, "--db", db, "key", "create", "--user", email, "--name", "bench"]).stdout.strip()
    return email, "bench-password", key


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def count_rows(db, table):
    import sqlite3
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM %s" % table).fetchone()[0]


def wrk(port, script, duration, connections, env):
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", "%ds" % duration, "--timeout", "10s",
               "-s", os.path.join(HERE, "lua", script), "http://127.0.0.1:%d" % port]
    result = subprocess.run(command, text=True, capture_output=True, env=env,
                            timeout=duration + 60)
    match = re.search(r"BENCH_JSON (\{.*\})", result.stdout)
    if not match:
        raise RuntimeError("wrk gave no figures:\n" + result.stdout + result.stderr)
    figures = json.loads(match.group(1))
    seconds = figures["duration_us"] / 1e6
    figures["rps"] = figures["requests"] / seconds if seconds else 0.0
    return figures


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--small", action="store_true", help="quick run: 10,000 contacts, 3 s each")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--duration", type=int, default=None, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default=None, help="run scenarios whose name contains this")
    args = parser.parse_args()
    contacts = args.contacts or (10000 if args.small else 1000000)
    duration = args.duration or (3 if args.small else 15)
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
    email, password, key = make_credentials(args.build, db)
    # harness.Server passes --threads 4; a later flag wins: one worker per core, as deployed.
    server = harness.Server(db_path=db, extra_args=["--log-level", "warn", "--threads",
                                                    str(os.cpu_count() or 2)])
    server.start()
    env = dict(os.environ, CRM_BENCH_KEY=key, CRM_BENCH_CONTACTS=str(contacts),
               CRM_BENCH_EMAIL=email, CRM_BENCH_PASSWORD=password)
    results = {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cores": os.cpu_count(), "system": platform.platform(),
                    "cpu": platform.processor() or platform.machine()},
        "contacts": contacts, "duration_s": duration, "connections": args.connections,
        "generation_s": round(generation_seconds, 1), "scenarios": [],
    }
    try:
        results["rows"] = {table: count_rows(db, table) for table in
                           ("contacts", "companies", "interactions", "purchases", "opportunities")}
        results["rss_start_kib"] = rss_kib(server.process.pid)
        for name, script, targets in SCENARIOS:
            if args.only and args.only not in name:
                continue
            figures = wrk(server.port, script, duration, args.connections, env)
            figures.update(name=name, verdict=verdict(figures, targets))
            results["scenarios"].append(figures)
            print("%-30s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  %s" % (
                name, figures["rps"], figures["p50_us"] / 1000.0, figures["p99_us"] / 1000.0,
                figures["errors"], figures["verdict"]), flush=True)
        results["rss_end_kib"] = rss_kib(server.process.pid)
        results["analytics"] = analytics_timings(server, key, contacts)
    finally:
        server.stop()
    results["db_bytes"] = sum(os.path.getsize(db + suffix) for suffix in ("", "-wal")
                              if os.path.exists(db + suffix))

    print()
    print("database: %s, %.1f MiB; rows: %s" % (os.path.basename(db), results["db_bytes"] / 2**20,
                                              results["rows"]))
    print("crmd RSS: %.1f MiB at start, %.1f MiB after the load" % (
        results["rss_start_kib"] / 1024.0, results["rss_end_kib"] / 1024.0))
    for timing in results["analytics"]:
        print("%-40s %9.2f ms (HTTP %d)" % (timing["what"], timing["ms"], timing["status"]))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "%s-%d.json" % (
        results["when"].replace(":", "").replace("-", ""), contacts))
    with open(path, "w") as out:
        json.dump(results, out, indent=2)
    print("results written to %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
