#!/usr/bin/env python3
"""analytics_bench.py - times the analytics of issue 4 on a large synthetic database.

    python3 bench/analytics_bench.py [--build build] [--contacts 100000] [--db PATH] [--keep]

Creates (or reuses, with --db of an existing file) a database with `crmctl demo-data
--contacts N` plus about 5 purchases and 3 interactions per contact (SQL inserts, so the
triggers of migrations/0004_analytics.sql run as for any writer), starts crmd and prints,
in milliseconds:
  - the first GET analytics/tiers (a cold build of the scores on that connection),
  - warm analytics/tiers, analytics/ltv?limit=100, analytics/summary, per-contact analytics,
  - the same after one new purchase (every connection rebuilds its scores),
  - POST analytics/refit and crmctl analytics fit,
  - a dynamic segment count on a computed field (POST segments/preview), when available.
Targets at 1,000,000 contacts on 2 cores (issue 4): tiers and segment count <= 1.5 s,
per-contact analytics <= 2 ms, refit <= 10 s.
"""
import argparse
import datetime
import json
import os
import random
import sqlite3
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


FAST_SQL = """
-- BG/NBD-like: a purchase rate per day ~ Exponential(mean 1/20), a dropout chance after each
-- purchase ~ Beta(1, 4) (so a geometric number of purchases), exponential gaps, the first
-- purchase within the last two years; 90 % of the contacts are customers.
CREATE TEMP TABLE bench_customers AS
  SELECT contact_id, first, rate, spend,
         min(60, 1 + CAST(ln((abs(random()) % 1000000 + 1) / 1000001.0) / ln(1 - dropout)
                          AS INTEGER)) AS purchases
  FROM (SELECT id AS contact_id, abs(random()) % 730 AS first,
               -ln((abs(random()) % 1000000 + 1) / 1000001.0) / 20.0 + 0.0005 AS rate,
               max(0.02, min(0.98, 1 - pow((abs(random()) % 1000000 + 1) / 1000001.0,
                                           1 / 4.0))) AS dropout,
               500 + abs(random()) % 20000 AS spend
        FROM contacts WHERE abs(random()) % 10 <> 0);
INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, created_at, updated_at)
  WITH RECURSIVE days (contact_id, day, k, purchases, rate, spend) AS (
    SELECT contact_id, first, 0, purchases, rate, spend FROM bench_customers
    UNION ALL
    SELECT contact_id,
           day + 1 + CAST(-ln((abs(random()) % 1000000 + 1) / 1000001.0) / rate AS INTEGER),
           k + 1, purchases, rate, spend
    FROM days WHERE k + 1 < purchases AND day < 730)
  SELECT contact_id, spend / 2 + abs(random()) % spend, 'EUR',
         strftime('%Y-%m-%dT%H:%M:%SZ', 'now', 'start of day', '-' || (729 - day) || ' days',
                  '+' || (abs(random()) % 86400) || ' seconds'),
         '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'
  FROM days WHERE day < 730 ORDER BY contact_id, day;
INSERT INTO interactions (contact_id, kind, direction, occurred_at, created_at, updated_at)
  SELECT id, json_extract('["call","email","meeting","note","ticket","chat","sms","visit"]',
                          '$[' || (abs(random()) % 8) || ']'),
         CASE abs(random()) % 3 WHEN 0 THEN 'inbound' WHEN 1 THEN 'outbound' END,
         strftime('%Y-%m-%dT10:00:00Z', 'now', '-' || (abs(random()) % 730) || ' days'),
         '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'
  FROM contacts, generate_series(1, 3) AS s WHERE abs(random()) % 2 = 0;
"""


def generate_fast(db_path, crmctl, contacts, seed=7):
    """The same kind of data with SQL only (about 5 purchases per customer, regular gaps,
    1 to 12 purchases each): minutes instead of an hour at a million contacts. Needs the
    sqlite3 command-line shell."""
    import subprocess
    crmctl(db_path, "init")
    started = time.time()
    subprocess.run([os.environ["CRM_BUILD"] + "/crmctl", "--db", db_path, "demo-data",
                    "--contacts", str(contacts), "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL)
    print("demo-data --contacts %d: %.1f s" % (contacts, time.time() - started))
    if purchases_in(db_path) > 0:
        return  # demo-data draws purchases and interactions itself now
    started = time.time()
    import harness  # imported by main() already
    flush = "".join(statement + ";\n" for statement in harness.FTS_FLUSH_SQL)  # db_commit()
    subprocess.run(["sqlite3", db_path], input="BEGIN;\n" + FAST_SQL + flush + "COMMIT;\n",
                   text=True, check=True)
    print("purchases and interactions with SQL (triggers included): %.1f s"
          % (time.time() - started))


def purchases_in(db_path):
    connection = sqlite3.connect(db_path, timeout=60)
    try:
        return connection.execute("SELECT count(*) FROM purchases").fetchone()[0]
    finally:
        connection.close()


def generate(db_path, crmctl, contacts, seed=7):
    crmctl(db_path, "init")
    started = time.time()
    crmctl(db_path, "demo-data", "--contacts", str(contacts), "--seed", str(seed))
    print("demo-data --contacts %d: %.1f s" % (contacts, time.time() - started))
    if purchases_in(db_path) > 0:
        return  # demo-data draws purchases and interactions itself now
    rng = random.Random(seed)
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    connection = sqlite3.connect(db_path, timeout=60)
    ids = [row[0] for row in connection.execute("SELECT id FROM contacts ORDER BY id")]
    kinds = ["call", "email", "meeting", "note", "ticket", "chat", "sms", "visit"]
    started = time.time()
    purchases = interactions = 0
    batch_p, batch_i = [], []
    with connection:
        for contact in ids:
            if rng.random() < 0.1:
                continue  # a lead that never bought
            # BG/NBD-like: a purchase rate per day ~ Gamma(0.8, 1/20), after each purchase
            # a dropout chance ~ Beta(1, 3); first purchase within the last two years.
            rate = rng.gammavariate(0.8, 1 / 20.0)
            dropout = rng.betavariate(1.0, 3.0)
            spend = rng.lognormvariate(8.0, 0.8)
            day = rng.randrange(0, 730)
            while day < 730:
                when = today - datetime.timedelta(days=729 - day)
                batch_p.append((contact, max(100, int(rng.gauss(spend, spend / 4))),
                                "%sT%02d:%02d:00Z" % (when.isoformat(), rng.randrange(24),
                                                      rng.randrange(60)), now, now))
                if rng.random() < dropout or rate <= 0:
                    break
                day += max(1, int(rng.expovariate(rate)))
            for _ in range(rng.randrange(0, 7)):
                day = today - datetime.timedelta(days=rng.randrange(0, 730))
                batch_i.append((contact, rng.choice(kinds),
                                rng.choice(["inbound", "outbound", None]),
                                day.isoformat() + "T10:00:00Z", now, now))
            if len(batch_p) > 100000:
                purchases += len(batch_p)
                connection.executemany(
                    "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
                    "created_at, updated_at) VALUES (?, ?, 'EUR', ?, ?, ?)", batch_p)
                batch_p = []
            if len(batch_i) > 100000:
                interactions += len(batch_i)
                connection.executemany(
                    "INSERT INTO interactions (contact_id, kind, direction, occurred_at, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)", batch_i)
                batch_i = []
        purchases += len(batch_p)
        interactions += len(batch_i)
        connection.executemany(
            "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
            "created_at, updated_at) VALUES (?, ?, 'EUR', ?, ?, ?)", batch_p)
        connection.executemany(
            "INSERT INTO interactions (contact_id, kind, direction, occurred_at, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)", batch_i)
        import harness  # imported by main() already
        harness.fts_flush(connection)  # index the new interactions, as db_commit() does
    connection.close()
    print("%d purchases and %d interactions (triggers included): %.1f s"
          % (purchases, interactions, time.time() - started))


def cpu_ms(pid):
    """User + system CPU time of a process so far, in ms (from /proc: robust against other
    processes' load, unlike wall time; 10 ms resolution)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


CPU = {}


def timed(server, key, method, path, body=None, expect=200, name=None):
    """Wall ms of one request; the crmd CPU ms it took goes to CPU[name]."""
    cpu_before = cpu_ms(server.process.pid)
    started = time.perf_counter()
    status, _, answer = server.request(method, path, body, key=key)
    elapsed = (time.perf_counter() - started) * 1000
    if name:
        CPU[name] = cpu_ms(server.process.pid) - cpu_before
    if status != expect:
        raise SystemExit("%s %s: %d %r" % (method, path, status, answer))
    return elapsed, answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--contacts", type=int, default=100000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--fast-sql", action="store_true",
                        help="generate purchases with SQL (much faster, less realistic)")
    args = parser.parse_args()
    os.environ["CRM_BUILD"] = os.path.abspath(args.build)
    import harness  # noqa: E402 (after CRM_BUILD)

    server = harness.Server(db_path=args.db, extra_args=["--threads", "2"])
    if not args.db or not os.path.exists(args.db):
        (generate_fast if args.fast_sql else generate)(server.db_path, harness.crmctl,
                                                       args.contacts)
    out = harness.crmctl(server.db_path, "user", "add", "bench@example.com", "--name", "Bench",
                         "--role", "admin", "--password-stdin", stdin="bench-password-1\n",
                         check=False)
    key = harness.crmctl(server.db_path, "key", "create", "--user", "bench@example.com",
                         "--name", "bench %d" % time.time()).stdout.strip()
    del out
    counts = sqlite3.connect(server.db_path).execute(
        "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM purchases), "
        "(SELECT count(*) FROM interactions)").fetchone()
    print("database: %d contacts, %d purchases, %d interactions" % counts)
    server.extra_args = ["--threads", "1"]  # one connection: cold and warm are measured
    server.start()
    try:
        results = {}

        def measure(name, method, path, body=None, expect=200):
            results[name], answer = timed(server, key, method, path, body, expect, name)
            return answer

        measure("tiers (cold: fit + build)", "GET", "/api/v1/analytics/tiers")
        measure("tiers (warm)", "GET", "/api/v1/analytics/tiers")
        measure("ltv?limit=100 (warm)", "GET", "/api/v1/analytics/ltv?limit=100")
        measure("summary (warm)", "GET", "/api/v1/analytics/summary")
        ids = [row[0] for row in sqlite3.connect(server.db_path).execute(
            "SELECT contact_id FROM contact_summaries ORDER BY random() LIMIT 200")]
        cpu_before = cpu_ms(server.process.pid)
        samples = [timed(server, key, "GET", "/api/v1/contacts/%d/analytics" % i)[0] for i in ids]
        name = "contact analytics (warm, median of %d)" % len(samples)
        results[name] = statistics.median(samples)
        CPU[name] = (cpu_ms(server.process.pid) - cpu_before) / len(samples)
        timed(server, key, "POST", "/api/v1/purchases",
              {"contact_id": ids[0], "amount_cents": 12345, "currency": "EUR"}, expect=201)
        measure("contact analytics after a write (incremental)", "GET",
                "/api/v1/contacts/%d/analytics" % ids[0])
        timed(server, key, "POST", "/api/v1/purchases",
              {"contact_id": ids[1], "amount_cents": 12345, "currency": "EUR"}, expect=201)
        measure("tiers after a write (incremental)", "GET", "/api/v1/analytics/tiers")
        measure("ltv?horizon_days=90 (other horizon)", "GET",
                "/api/v1/analytics/ltv?limit=100&horizon_days=90")
        rule = {"rule": {"all": [{"field": "tier", "op": "eq", "value": "gold"},
                                 {"field": "churn_risk", "op": "lt", "value": 0.5}]}}
        status, _, _ = server.request("POST", "/api/v1/segments/preview", rule, key=key)
        if status == 200:
            answer = measure("segment preview count (warm)", "POST", "/api/v1/segments/preview",
                             rule)
            results["  segment count"] = answer.get("count")
        answer = measure("refit (POST analytics/refit)", "POST", "/api/v1/analytics/refit")
        results["  model"] = answer["model"]["method"]
        measure("tiers after refit (full build)", "GET", "/api/v1/analytics/tiers")
        results["  crmd log"] = "".join(line for line in server.log if "analytics:" in line)
    finally:
        server.stop()
    started = time.time()
    harness.crmctl(server.db_path, "analytics", "fit")
    results["crmctl analytics fit"] = (time.time() - started) * 1000
    print("%-50s %12s %12s" % ("", "wall", "crmd CPU"))
    for name, value in results.items():
        if isinstance(value, float):
            cpu = CPU.get(name)
            print("%-50s %9.1f ms %9s" % (name, value, "%.1f ms" % cpu if cpu is not None else ""))
        else:
            print("%-50s %s" % (name, value))
    if not args.keep and not args.db:
        server.cleanup()
    else:
        print("database kept:", server.db_path)


if __name__ == "__main__":
    main()
