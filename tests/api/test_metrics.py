"""test_metrics.py - GET /metrics (Prometheus text format 0.0.4) and GET /readyz.

The scrape is parsed strictly: every sample belongs to a family with a TYPE, names and
labels are well-formed, histograms are cumulative and consistent. Requests count by the
router's pattern, never by the raw path, so label values stay bounded."""
import math
import re
import time
import sqlite3
import subprocess
import threading
import unittest

import harness

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % NAME)
LABEL = re.compile(r'(%s)="((?:[^"\\]|\\.)*)"(,|$)' % r"[a-zA-Z_][a-zA-Z0-9_]*")


def parse_labels(text, line):
    labels = {}
    position = 0
    while position < len(text):
        match = LABEL.match(text, position)
        if not match:
            raise AssertionError("malformed labels in %r" % line)
        value = match.group(2).replace(r"\n", "\n").replace(r"\"", '"').replace("\\\\", "\\")
        if match.group(1) in labels:
            raise AssertionError("repeated label in %r" % line)
        labels[match.group(1)] = value
        position = match.end()
    return labels


def parse_exposition(text):
    """Parses the text format. Returns {family: {"type", "help", "samples": [(name, labels,
    value)]}} and raises AssertionError on anything malformed."""
    families = {}
    current = None
    if not text.endswith("\n"):
        raise AssertionError("the exposition must end with a line feed")
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, name, rest = line[2:6], line.split(" ")[2], line.split(" ", 3)[3]
            if not re.fullmatch(NAME, name):
                raise AssertionError("bad metric name in %r" % line)
            family = families.setdefault(name, {"type": None, "help": None, "samples": []})
            key = "help" if kind == "HELP" else "type"
            if family[key] is not None:
                raise AssertionError("second %s for %s" % (kind, name))
            if family["samples"]:
                raise AssertionError("%s after samples of %s" % (kind, name))
            if kind == "TYPE" and rest not in ("counter", "gauge", "histogram", "summary",
                                               "untyped"):
                raise AssertionError("bad type in %r" % line)
            family[key] = rest
            current = name
            continue
        if not line or line.startswith("#"):
            raise AssertionError("unexpected line %r" % line)
        match = SAMPLE.match(line)
        if not match:
            raise AssertionError("malformed sample %r" % line)
        name, _, label_text, value_text = match.groups()
        value = float(value_text)  # also accepts +Inf, NaN
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in families:
                base = name[: -len(suffix)]
        if base not in families or families[base]["type"] is None:
            raise AssertionError("sample %r without a TYPE" % line)
        if base != current:
            raise AssertionError("samples of %s are not together" % base)
        families[base]["samples"].append((name, parse_labels(label_text or "", line), value))
    return families


def value_of(families, family, name=None, **labels):
    """The value of the one sample of `family` (named `name`) with these labels, or None."""
    found = [value for sample_name, sample_labels, value in families.get(family, {}).get("samples", [])
             if sample_name == (name or family)
             and all(sample_labels.get(key) == wanted for key, wanted in labels.items())]
    if len(found) > 1:
        raise AssertionError("several samples of %s %r" % (family, labels))
    return found[0] if found else None


class MetricsTest(harness.ServerTestCase):
    def scrape(self):
        status, headers, body = self.api("GET", "/metrics")
        self.assertEqual(200, status, body)
        self.assertEqual("text/plain; version=0.0.4; charset=utf-8", headers["content-type"])
        return parse_exposition(body)

    def requests(self, families, route, method="GET", status="200"):
        return value_of(families, "crmd_http_requests_total", route=route, method=method,
                        status=status) or 0

    def test_scrape_parses_and_has_the_families(self):
        families = self.scrape()
        expected = {
            "crmd_http_requests_total": "counter",
            "crmd_http_request_duration_seconds": "histogram",
            "crmd_http_requests_in_flight": "gauge",
            "crmd_database_up": "gauge",
            "crmd_database_size_bytes": "gauge",
            "crmd_database_wal_size_bytes": "gauge",
            "crmd_database_schema_version": "gauge",
            "crmd_sessions_active": "gauge",
            "process_resident_memory_bytes": "gauge",
            "process_cpu_seconds_total": "counter",
            "process_start_time_seconds": "gauge",
            "crmd_uptime_seconds": "gauge",
            "crmd_build_info": "gauge",
        }
        for family, kind in expected.items():
            self.assertIn(family, families)
            self.assertEqual(kind, families[family]["type"], family)
            self.assertTrue(families[family]["help"], family)

    def test_gauges_have_sensible_values(self):
        families = self.scrape()
        self.assertEqual(1, value_of(families, "crmd_database_up"))
        self.assertGreater(value_of(families, "crmd_database_size_bytes"), 4096)
        self.assertGreaterEqual(value_of(families, "crmd_database_wal_size_bytes"), 0)
        self.assertEqual(value_of(families, "crmd_database_schema_latest_version"),
                         value_of(families, "crmd_database_schema_version"))
        self.assertGreater(value_of(families, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(value_of(families, "process_open_fds"), 2)
        self.assertGreater(value_of(families, "crmd_uptime_seconds"), 0)
        self.assertGreaterEqual(value_of(families, "crmd_http_requests_in_flight"), 1)
        version = subprocess.run([harness.CRMD, "--version"], capture_output=True, text=True,
                                 env=harness.ENV).stdout.split()[-1]
        (name, labels, value), = families["crmd_build_info"]["samples"]
        self.assertEqual(version, labels["version"])
        self.assertRegex(labels["sqlite_version"], r"^3\.\d+")
        self.assertEqual(1, value)

    def test_requests_count_by_route_pattern_and_status(self):
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Metric"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        path = "/api/v1/contacts/%d" % contact["id"]
        before = self.scrape()
        for _ in range(3):
            self.assertEqual(200, self.api("GET", path, key=self.admin_key)[0])
        self.assertEqual(404, self.api("GET", "/api/v1/contacts/987654321", key=self.admin_key)[0])
        self.assertEqual(401, self.api("GET", path)[0])
        pattern = "/api/v1/contacts/{id}"
        # crmd counts a request when libmicrohttpd reports it completed, which can be just
        # after the client has read the answer: scrape until the last one is counted
        deadline = time.monotonic() + 5
        while True:
            after = self.scrape()
            counted = [self.requests(after, pattern, status=status)
                       - self.requests(before, pattern, status=status)
                       for status in ("200", "404", "401")]
            if all(got >= want for got, want in zip(counted, (3, 1, 1))) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(3, self.requests(after, pattern) - self.requests(before, pattern))
        self.assertEqual(1, self.requests(after, pattern, status="404")
                         - self.requests(before, pattern, status="404"))
        self.assertEqual(1, self.requests(after, pattern, status="401")
                         - self.requests(before, pattern, status="401"))
        self.assertGreaterEqual(self.requests(after, "/api/v1/contacts", "POST", "201"), 1)
        routes = {labels["route"] for _, labels, _ in after["crmd_http_requests_total"]["samples"]}
        self.assertNotIn(path, routes)
        self.assertTrue(all(not re.search(r"/\d+(/|$)", route) for route in routes), routes)

    def test_label_values_stay_bounded(self):
        before = self.scrape()
        for i in range(40):
            self.api("GET", "/api/v1/no-such-thing-%d/%d" % (i, i), key=self.admin_key)
            self.api("GET", "/no-such-page-%d.html" % i)
        self.api("BREW", "/api/v1/contacts", key=self.admin_key)
        # crmd counts a request when libmicrohttpd reports it completed, which can be just
        # after the client has read the answer: scrape until the last one is counted
        def all_counted():
            families = self.scrape()
            counted = (self.requests(families, "(unmatched)", status="404")
                       - self.requests(before, "(unmatched)", status="404") >= 40
                       and self.requests(families, "(web)", status="404")
                       - self.requests(before, "(web)", status="404") >= 40
                       and self.requests(families, "(unmatched)", "other", "405") >= 1)
            return families if counted else None
        after = harness.wait_until(all_counted, timeout=10, what="counting the 81 requests")
        label_sets = {(labels["route"], labels["method"])
                      for _, labels, _ in after["crmd_http_requests_total"]["samples"]}
        self.assertFalse(any("no-such" in route for route, _ in label_sets), label_sets)
        self.assertEqual(40, self.requests(after, "(unmatched)", status="404")
                         - self.requests(before, "(unmatched)", status="404"))
        self.assertEqual(40, self.requests(after, "(web)", status="404")
                         - self.requests(before, "(web)", status="404"))
        self.assertGreaterEqual(self.requests(after, "(unmatched)", "other", "405"), 1)

    def test_histograms_are_cumulative_and_consistent(self):
        self.api("GET", "/healthz")
        families = self.scrape()
        series = {}
        for name, labels, value in families["crmd_http_request_duration_seconds"]["samples"]:
            key = (labels["route"], labels["method"])
            entry = series.setdefault(key, {"buckets": []})
            if name.endswith("_bucket"):
                bound = labels["le"]
                entry["buckets"].append((math.inf if bound == "+Inf" else float(bound), value))
            else:
                entry[name.rsplit("_", 1)[1]] = value
        self.assertIn(("/healthz", "GET"), series)
        for key, entry in series.items():
            bounds = [bound for bound, _ in entry["buckets"]]
            counts = [count for _, count in entry["buckets"]]
            self.assertEqual(sorted(bounds), bounds, key)
            self.assertEqual(math.inf, bounds[-1], key)
            self.assertEqual(sorted(counts), counts, "%s: not cumulative" % (key,))
            self.assertEqual(counts[-1], entry["count"], key)
            self.assertGreaterEqual(entry["sum"], 0)
            self.assertGreater(entry["count"], 0)

    def test_concurrent_requests_are_all_counted(self):
        before = self.requests(self.scrape(), "/healthz")
        errors = []

        def worker():
            for _ in range(25):
                status = self.api("GET", "/healthz")[0]
                if status != 200:
                    errors.append(status)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual(200, self.requests(self.scrape(), "/healthz") - before)

    def test_active_sessions_follow_logins_and_logouts(self):
        before = value_of(self.scrape(), "crmd_sessions_active")
        session = self.login(self.admin_email, self.admin_password)
        self.assertEqual(200, session.status)
        self.assertEqual(before + 1, value_of(self.scrape(), "crmd_sessions_active"))
        self.assertEqual(204, self.api("POST", "/api/v1/auth/logout", session=session)[0])
        self.assertEqual(before, value_of(self.scrape(), "crmd_sessions_active"))

    def test_metrics_take_only_get(self):
        status, headers, body = self.api("POST", "/metrics", {})
        self.assertProblem((status, headers, body), 405)
        self.assertEqual("GET, HEAD", headers["allow"])
        self.assertProblem(self.api("DELETE", "/readyz"), 405)

    def test_readyz(self):
        status, headers, body = self.api("GET", "/readyz")
        self.assertEqual(200, status, body)
        self.assertEqual("ready", body["status"])
        latest = body["schema_version"]
        self.assertGreaterEqual(latest, 1)
        # a schema newer than this crmd knows: not ready
        with sqlite3.connect(self.server.db_path) as connection:
            connection.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                               (latest + 1000, "9999_future.sql"))
        try:
            body = self.assertProblem(self.api("GET", "/readyz"), 503)
            self.assertIn("newer", body["detail"])
        finally:
            with sqlite3.connect(self.server.db_path) as connection:
                connection.execute("DELETE FROM schema_migrations WHERE version = ?",
                                   (latest + 1000,))
        self.assertEqual(200, self.api("GET", "/readyz")[0])
        # a schema that lacks the latest migration: not ready either
        with sqlite3.connect(self.server.db_path) as connection:
            row = connection.execute("SELECT version, name, applied_at FROM schema_migrations "
                                     "WHERE version = ?", (latest,)).fetchone()
            connection.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))
        try:
            body = self.assertProblem(self.api("GET", "/readyz"), 503)
            self.assertIn("crmctl migrate", body["detail"])
        finally:
            with sqlite3.connect(self.server.db_path) as connection:
                connection.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                                   "VALUES (?, ?, ?)", row)
        self.assertEqual(200, self.api("GET", "/readyz")[0])


class MetricsAuthTest(harness.ServerTestCase):
    server_args = ("--metrics-auth", "key")

    def test_metrics_need_a_key_when_configured(self):
        status, headers, _ = self.api("GET", "/metrics")
        self.assertEqual(401, status)
        self.assertEqual("Bearer", headers.get("www-authenticate"))
        status, _, body = self.api("GET", "/metrics", key=self.admin_key)
        self.assertEqual(200, status)
        parse_exposition(body)
        _, reader_key = self.make_user("scraper@example.com", "viewer", key_name="prometheus",
                                       read_only=True)
        self.assertEqual(200, self.api("GET", "/metrics", key=reader_key)[0])
        # readiness and liveness stay open for the supervisor
        self.assertEqual(200, self.api("GET", "/readyz")[0])
        self.assertEqual(200, self.api("GET", "/healthz")[0])


class AnalyticsFitAgeTest(harness.ServerTestCase):
    """crmd_analytics_fit_age_seconds: the age of the live LTV model fit (analytics_fits,
    key 'live'), absent while there is none."""

    FAMILY = "crmd_analytics_fit_age_seconds"

    def fit_age(self):
        status, _, body = self.api("GET", "/metrics")
        self.assertEqual(200, status, body)
        families = parse_exposition(body)
        if self.FAMILY in families:
            self.assertEqual("gauge", families[self.FAMILY]["type"])
        return value_of(families, self.FAMILY)

    def live_fit(self, statement="SELECT fitted_at FROM analytics_fits WHERE key = 'live'",
                 *args):
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        try:
            with connection:
                rows = connection.execute(statement, args).fetchall()
        finally:
            connection.close()
        return rows

    def wait_for_fit_age(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            age = self.fit_age()
            if predicate(age) or time.monotonic() > deadline:
                return age
            time.sleep(0.1)

    def stored_age(self):
        (fitted_at,), = self.live_fit()
        fitted = time.mktime(time.strptime(fitted_at, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        return time.time() - fitted

    def set_fitted_at(self, seconds_ago):
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))
        self.live_fit("UPDATE analytics_fits SET fitted_at = ? WHERE key = 'live'", when)

    def test_fit_age_follows_the_live_fit(self):
        # the start-up warm-up fits on the live data (here: none); wait for it
        self.assertIsNotNone(self.wait_for_fit_age(lambda age: age is not None),
                             "no live fit after the start-up warm-up")
        self.assertLess(abs(self.fit_age() - self.stored_age()), 2)
        # without a fit the family is absent, not 0 and not NaN
        self.live_fit("DELETE FROM analytics_fits WHERE key = 'live'")
        self.assertIsNone(self.fit_age())
        # an explicit refit: a fresh age
        status, _, body = self.api("POST", "/api/v1/analytics/refit", key=self.admin_key)
        self.assertEqual(200, status, body)
        age = self.fit_age()
        self.assertIsNotNone(age)
        self.assertTrue(0 <= age <= 5, age)
        self.assertFalse(math.isnan(age))
        # an old fit: the metric is its age in seconds
        self.set_fitted_at(3 * 86400)
        age = self.fit_age()
        self.assertTrue(3 * 86400 <= age <= 3 * 86400 + 5, age)
        self.assertLess(abs(age - self.stored_age()), 2)
        # a read of the analytics refits once the purchases moved enough (refit_change);
        # the metric shows the new fit
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Buyer"},
                                      key=self.admin_key)
        self.assertEqual(201, status, contact)
        for day in (1, 2, 3):
            status, _, purchase = self.api(
                "POST", "/api/v1/purchases",
                {"contact_id": contact["id"], "amount_cents": 1000 * day, "currency": "EUR",
                 "occurred_at": "2026-0%d-10T10:00:00Z" % day}, key=self.admin_key)
            self.assertEqual(201, status, purchase)
        self.assertGreaterEqual(self.fit_age(), 3 * 86400, "a write alone refitted")
        status, _, body = self.api("GET", "/api/v1/analytics/ltv", key=self.admin_key)
        self.assertEqual(200, status, body)
        age = self.wait_for_fit_age(lambda age: age is not None and age < 60)
        self.assertTrue(0 <= age < 60, "the read did not refit: age %s" % age)


if __name__ == "__main__":
    unittest.main()
