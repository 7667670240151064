"""test_request_log.py - the access log line of a request (log_request() in src/base/log.c, one
line per completed request, written by src/http/http.c): its fields for real requests in both
formats (text: "<time> info <method> <path> <status> <ms>ms user=<id|->[ client=<address>]",
json: time, level, method, path, status, duration_ms, user_id[, client]), and what it must never carry: the query string
(where a client may put api_key=, token= or a password), the bearer key, the session cookie,
a request body, or a line break a client smuggles into the path."""
import json
import re
import time
import urllib.parse

import harness

TEXT_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) info (?P<method>\S+) "
                       r"(?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d{3})ms "
                       r"user=(?P<user>\d+|-)(?: client=(?P<client>\S+))?$")
SECRETS = ("qs-secret-1a2b3c", "qs-token-4d5e6f", "qs-pass-7a8b9c", "qs-access-0d1e2f")
SECRET_QUERY = urllib.parse.urlencode({"api_key": SECRETS[0], "token": SECRETS[1],
                                       "password": SECRETS[2], "access_token": SECRETS[3]})


class RequestLogTestCase(harness.ServerTestCase):
    def log_text(self):
        return "".join(self.server.log)

    def wait_for_lines(self, predicate, count=1):
        """The parsed access log lines for which `predicate` holds, once there are `count`
        (the line is written when the connection completes, maybe just after the answer)."""
        deadline = time.monotonic() + 10
        while True:
            found = [entry for entry in map(self.parse, list(self.server.log))
                     if entry and predicate(entry)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def check_client(self, entry):
        """The peer's address, when the line carries one (all these requests are local)."""
        self.assertIn(entry.get("client", "127.0.0.1"), ("127.0.0.1", "::1"), entry)

    def check_secrets_absent(self, extra=()):
        text = self.log_text()
        for secret in SECRETS + tuple(extra):
            self.assertNotIn(secret, text, "a secret reached the log")


class TextRequestLogTest(RequestLogTestCase):
    @staticmethod
    def parse(line):
        match = TEXT_LINE.match(line.rstrip("\n"))
        if not match:
            return None
        entry = match.groupdict()
        entry["status"] = int(entry["status"])
        entry["duration_ms"] = float(entry.pop("ms"))
        entry["user_id"] = None if entry.pop("user") == "-" else int(match.group("user"))
        if entry["client"] is None:
            del entry["client"]
        return entry

    def test_authenticated_request_is_logged_with_every_field(self):
        marker = "/api/v1/contacts/%d" % 987654
        started = time.time()
        status, _, _ = self.api("GET", marker + "?" + SECRET_QUERY, key=self.admin_key)
        self.assertIn(status, (400, 404))
        lines = self.wait_for_lines(lambda entry: entry["path"] == marker)
        self.assertEqual(1, len(lines), "no single access log line for %s in %r"
                         % (marker, self.server.log[-5:]))
        entry = lines[0]
        self.check_client(entry)
        self.assertEqual("GET", entry["method"])
        self.assertEqual(status, entry["status"])
        self.assertEqual(self.admin_id, entry["user_id"])
        self.assertGreaterEqual(entry["duration_ms"], 0.0)
        self.assertLess(entry["duration_ms"], 30000.0)
        logged = time.mktime(time.strptime(entry["time"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        self.assertLess(abs(logged - started), 120, entry["time"])
        self.check_secrets_absent(extra=(self.admin_key,))

    def test_list_with_secrets_in_the_query_logs_the_path_only(self):
        status, _, body = self.api("GET", "/api/v1/contacts?limit=1&" + SECRET_QUERY,
                                   key=self.admin_key)
        status_plain, _, _ = self.api("GET", "/healthz?" + SECRET_QUERY)
        self.assertEqual(200, status_plain)
        lines = self.wait_for_lines(lambda entry: entry["path"] == "/api/v1/contacts" and
                                    entry["user_id"] == self.admin_id)
        self.assertTrue(lines, self.server.log[-5:])
        self.assertEqual(status, lines[-1]["status"])
        health = self.wait_for_lines(lambda entry: entry["path"] == "/healthz")
        self.assertTrue(health, self.server.log[-5:])
        self.assertEqual((200, None), (health[-1]["status"], health[-1]["user_id"]))
        self.check_secrets_absent(extra=(self.admin_key,))

    def test_anonymous_and_refused_requests_are_logged_without_credentials(self):
        wrong_key = "crm_wrongkeywrongkeywrongkey0123456789abcdefgh"
        status, _, _ = self.api("GET", "/api/v1/users?" + SECRET_QUERY, key=wrong_key)
        self.assertEqual(401, status)
        status, _, _ = self.api("GET", "/api/v1/users", cookie="cookie-secret-55aa66bb")
        self.assertEqual(401, status)
        lines = self.wait_for_lines(lambda entry: entry["path"] == "/api/v1/users", count=2)
        self.assertEqual(2, len(lines), self.server.log[-5:])
        for entry in lines:
            self.assertEqual(("GET", 401, None),
                             (entry["method"], entry["status"], entry["user_id"]))
        self.check_secrets_absent(extra=(wrong_key, "cookie-secret-55aa66bb"))

    def test_login_logs_the_user_and_not_the_password(self):
        session = self.login(self.admin_email, self.admin_password)
        self.assertEqual(200, session.status, session.body)
        lines = self.wait_for_lines(lambda entry: entry["path"] == "/api/v1/auth/login")
        self.assertTrue(lines, self.server.log[-5:])
        entry = lines[-1]
        self.assertEqual(("POST", 200, self.admin_id),
                         (entry["method"], entry["status"], entry["user_id"]))
        # the Argon2id check of the password is inside the measured time
        self.assertGreater(entry["duration_ms"], 1.0, entry)
        self.check_secrets_absent(extra=(self.admin_password, session.cookie,
                                         session.csrf_token))

    def test_a_line_break_in_the_path_cannot_forge_a_line(self):
        status, _, _ = self.api("GET", "/api/v1/x%0A2026-01-01T00:00:00Z%20info%20GET%20/forged"
                                "%20200%201.000ms%20user=1")
        self.assertEqual(404, status)
        lines = self.wait_for_lines(lambda entry: entry["path"].startswith("/api/v1/x"))
        self.assertEqual(1, len(lines), self.server.log[-5:])
        self.assertNotIn("/forged 200", "".join(line for line in self.server.log
                                                 if line.startswith("2026-01-01")))
        self.assertFalse([line for line in self.server.log if self.parse(line) and
                          self.parse(line)["path"] == "/forged"])


class JsonRequestLogTest(RequestLogTestCase):
    server_args = ("--log-format", "json")

    @staticmethod
    def parse(line):
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict) or "method" not in entry:
            return None
        return dict(entry, user_id=entry.get("user_id") or None)

    def test_json_line_has_every_field_and_no_query(self):
        status, _, _ = self.api("POST", "/api/v1/contacts?" + SECRET_QUERY,
                                {"first_name": "Logged", "custom": {"note": SECRETS[0]}},
                                key=self.admin_key)
        self.assertIn(status, (201, 400))
        lines = self.wait_for_lines(lambda entry: entry["path"] == "/api/v1/contacts")
        self.assertEqual(1, len(lines), self.server.log[-5:])
        entry = lines[0]
        self.check_client(entry)
        self.assertEqual({"time", "level", "method", "path", "status", "duration_ms",
                          "user_id"}, set(entry) - {"client"})
        self.assertEqual(("info", "POST", status, self.admin_id),
                         (entry["level"], entry["method"], entry["status"], entry["user_id"]))
        self.assertIsInstance(entry["duration_ms"], float)
        self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.check_secrets_absent(extra=(self.admin_key,))


if __name__ == "__main__":
    import unittest
    unittest.main()
