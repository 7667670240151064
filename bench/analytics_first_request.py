#!/usr/bin/env python3
"""analytics_first_request.py - times the analytics requests that used to pay a full build of
the scores (docs/analytics.md section 10): the first GET analytics/tiers right after crmd
starts, the first ones on the other worker thread, warm repeats, a dynamic segment count
over computed fields, tiers after a write; and crmd's memory.

    python3 bench/analytics_first_request.py --build build --db COPY.db [--threads 2]

Works on an existing database (a COPY: crmd migrates it and the run adds an admin user and
one purchase). Prints wall ms and crmd CPU ms (from /proc, robust against other load) per
request, crmd's VmRSS and VmHWM, and its analytics log lines.
"""
import argparse
import concurrent.futures
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def memory_mb(pid):
    values = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024.0
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--db", required=True)
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()
    os.environ["CRM_BUILD"] = os.path.abspath(args.build)
    import harness  # noqa: E402 (after CRM_BUILD)

    server = harness.Server(db_path=args.db, extra_args=["--threads", args.threads])
    harness.crmctl(args.db, "user", "add", "firstbench@example.com", "--name", "Bench",
                   "--role", "admin", "--password-stdin", stdin="bench-password-1\n",
                   check=False)
    key = harness.crmctl(args.db, "key", "create", "--user", "firstbench@example.com",
                         "--name", "bench %d" % time.time()).stdout.strip()
    results = []

    def one(method, path, body=None, expect=200):
        started = time.perf_counter()
        status, _, answer = server.request(method, path, body, key=key)
        if status != expect:
            raise SystemExit("%s %s: %d %r" % (method, path, status, answer))
        return (time.perf_counter() - started) * 1000, answer

    def measure(name, method, path, body=None, parallel=1, expect=200):
        cpu = cpu_ms(server.process.pid)
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
            answers = list(pool.map(lambda _: one(method, path, body, expect), range(parallel)))
        walls = [wall for wall, _ in answers]
        results.append((name, max(walls), cpu_ms(server.process.pid) - cpu))
        return answers[0][1]

    started = time.perf_counter()
    server.start()
    results.append(("crmd start (until it listens)", (time.perf_counter() - started) * 1000,
                    None))
    try:
        measure("tiers: first request after start", "GET", "/api/v1/analytics/tiers")
        for round_number in range(3):
            measure("tiers: 2 at once (the other worker), round %d" % (round_number + 1),
                    "GET", "/api/v1/analytics/tiers", parallel=2)
        measure("tiers: warm repeat", "GET", "/api/v1/analytics/tiers")
        rule = {"rule": {"all": [{"field": "tier", "op": "eq", "value": "gold"},
                                 {"field": "churn_risk", "op": "lt", "value": 0.5}]}}
        answer = measure("segments/preview tier=gold and churn_risk<0.5 (2 at once)", "POST",
                         "/api/v1/segments/preview", rule, parallel=2)
        print("segment count: %s" % answer.get("count"))
        measure("summary (2 at once)", "GET", "/api/v1/analytics/summary", parallel=2)
        contact = harness.sql_rows(args.db, "SELECT contact_id FROM contact_summaries "
                                   "WHERE purchases_count > 0 LIMIT 1")[0][0] \
            if hasattr(harness, "sql_rows") else 1
        measure("POST a purchase", "POST", "/api/v1/purchases",
                {"contact_id": contact, "amount_cents": 12345, "currency": "EUR"}, expect=201)
        measure("tiers after the write (2 at once)", "GET", "/api/v1/analytics/tiers",
                parallel=2)
        memory = memory_mb(server.process.pid)
        log = "".join(line for line in server.log if "analytics:" in line)
    finally:
        server.stop()
    print("%-62s %11s %11s" % ("", "wall", "crmd CPU"))
    for name, wall, cpu in results:
        print("%-62s %8.0f ms %11s" % (name, wall, "%.0f ms" % cpu if cpu is not None else ""))
    print("crmd VmRSS %.0f MB, VmHWM (peak) %.0f MB" % (memory["VmRSS"], memory["VmHWM"]))
    print(log)


if __name__ == "__main__":
    main()
