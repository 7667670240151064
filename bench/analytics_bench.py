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


def generate(db_path, crmctl, contacts, seed=7):
    crmctl(db_path, "init")
    started = time.time()
    crmctl(db_path, "demo-data", "--contacts", str(contacts), "--seed", str(seed))
    print("demo-data --contacts %d: %.1f s" % (contacts, time.time() - started))
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
            count = min(60, int(rng.expovariate(1 / 5.0)) + 1)
            first = rng.randrange(0, 730)
            lifetime = rng.randrange(0, 730 - first + 1)
            spend = rng.lognormvariate(8.0, 0.8)
            for _ in range(count):
                day = today - datetime.timedelta(days=730 - first - rng.randrange(0, lifetime + 1))
                batch_p.append((contact, max(100, int(rng.gauss(spend, spend / 4))),
                                "%sT%02d:%02d:00Z" % (day.isoformat(), rng.randrange(24),
                                                      rng.randrange(60)), now, now))
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
    connection.close()
    print("%d purchases and %d interactions (triggers included): %.1f s"
          % (purchases, interactions, time.time() - started))


def timed(server, key, method, path, body=None, expect=200):
    started = time.perf_counter()
    status, _, answer = server.request(method, path, body, key=key)
    elapsed = (time.perf_counter() - started) * 1000
    if status != expect:
        raise SystemExit("%s %s: %d %r" % (method, path, status, answer))
    return elapsed, answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--contacts", type=int, default=100000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ["CRM_BUILD"] = os.path.abspath(args.build)
    import harness  # noqa: E402 (after CRM_BUILD)

    server = harness.Server(db_path=args.db, extra_args=["--threads", "2"])
    if not args.db or not os.path.exists(args.db):
        generate(server.db_path, harness.crmctl, args.contacts)
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
        results["tiers (cold: fit + build)"], _ = timed(server, key, "GET", "/api/v1/analytics/tiers")
        results["tiers (warm)"], _ = timed(server, key, "GET", "/api/v1/analytics/tiers")
        results["ltv?limit=100 (warm)"], _ = timed(server, key, "GET", "/api/v1/analytics/ltv?limit=100")
        results["summary (warm)"], _ = timed(server, key, "GET", "/api/v1/analytics/summary")
        ids = [row[0] for row in sqlite3.connect(server.db_path).execute(
            "SELECT contact_id FROM contact_summaries ORDER BY random() LIMIT 200")]
        samples = [timed(server, key, "GET", "/api/v1/contacts/%d/analytics" % i)[0] for i in ids]
        results["contact analytics (warm, median of %d)" % len(samples)] = statistics.median(samples)
        timed(server, key, "POST", "/api/v1/purchases",
              {"contact_id": ids[0], "amount_cents": 12345, "currency": "EUR"}, expect=201)
        results["contact analytics after a write (rebuild)"], _ = timed(
            server, key, "GET", "/api/v1/contacts/%d/analytics" % ids[0])
        timed(server, key, "POST", "/api/v1/purchases",
              {"contact_id": ids[1], "amount_cents": 12345, "currency": "EUR"}, expect=201)
        results["tiers after a write (rebuild)"], _ = timed(server, key, "GET", "/api/v1/analytics/tiers")
        results["ltv?horizon_days=90 (other horizon)"], _ = timed(
            server, key, "GET", "/api/v1/analytics/ltv?limit=100&horizon_days=90")
        rule = {"rule": {"all": [{"field": "tier", "op": "eq", "value": "gold"},
                                 {"field": "churn_risk", "op": "lt", "value": 0.5}]}}
        status, _, _ = server.request("POST", "/api/v1/segments/preview", rule, key=key)
        if status == 200:
            results["segment preview count (warm)"], answer = timed(
                server, key, "POST", "/api/v1/segments/preview", rule)
            results["segment count"] = answer.get("count")
        results["refit (POST analytics/refit)"], answer = timed(
            server, key, "POST", "/api/v1/analytics/refit")
        results["  model"] = answer["model"]["method"]
        results["tiers after refit (rebuild)"], _ = timed(server, key, "GET", "/api/v1/analytics/tiers")
    finally:
        server.stop()
    started = time.time()
    harness.crmctl(server.db_path, "analytics", "fit")
    results["crmctl analytics fit"] = (time.time() - started) * 1000
    for name, value in results.items():
        print("%-45s %s" % (name, "%.1f ms" % value if isinstance(value, float) else value))
    if not args.keep and not args.db:
        server.cleanup()
    else:
        print("database kept:", server.db_path)


if __name__ == "__main__":
    main()
