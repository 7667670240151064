"""test_health.py - the server starts, answers /healthz without authentication, serves the
web UI, routes unknown API paths to 404 problems and stops cleanly on SIGTERM."""
import re
import time

import harness


class HealthTest(harness.ServerTestCase):
    def test_healthz_needs_no_auth(self):
        status, headers, body = self.api("GET", "/healthz")
        self.assertEqual(200, status)
        self.assertEqual({"status": "ok"}, body)
        self.assertEqual("application/json", headers["content-type"])

    def test_health_and_ready_take_only_get_and_head(self):
        for path in ("/healthz", "/readyz"):
            for method in ("POST", "DELETE", "PUT"):
                status, headers, body = self.api(method, path, {})
                self.assertProblem((status, headers, body), 405)
                self.assertEqual("GET, HEAD", headers.get("allow"), (method, path))
            self.assertEqual(200, self.api("HEAD", path)[0])

    def test_unknown_api_path_is_problem_404(self):
        self.assertProblem(self.api("GET", "/api/v1/no-such-thing"), 404)

    def test_web_index_is_served_with_security_headers(self):
        status, headers, body = self.api("GET", "/")
        self.assertEqual(200, status)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn("<html", body)
        self.assertIn("default-src 'self'", headers["content-security-policy"])
        self.assertEqual("nosniff", headers["x-content-type-options"])
        self.assertEqual("DENY", headers["x-frame-options"])
        etag = headers["etag"]
        status, _, _ = self.api("GET", "/", headers={"If-None-Match": etag})
        self.assertEqual(304, status)

    def test_web_files_carry_cache_and_framing_headers(self):
        for path in ("/", "/app.js"):
            status, headers, _ = self.api("GET", path)
            self.assertEqual(200, status, path)
            self.assertEqual("no-cache", headers["cache-control"], path)
            self.assertEqual("same-origin", headers["referrer-policy"], path)
            self.assertEqual("DENY", headers["x-frame-options"], path)
            self.assertIn("frame-ancestors 'none'", headers["content-security-policy"], path)
            self.assertRegex(headers["etag"], r'^"[0-9a-f]{16}"$', path)
        _, headers, _ = self.api("GET", "/app.js")
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        status, again, _ = self.api("GET", "/app.js", headers={"If-None-Match": headers["etag"]})
        self.assertEqual(304, status)
        self.assertEqual(headers["etag"], again["etag"])
        self.assertEqual("no-cache", again["cache-control"])

    def test_if_none_match_takes_weak_tags_lists_and_star(self):
        _, headers, _ = self.api("GET", "/app.js")
        etag = headers["etag"]
        other = '"0123456789abcdef"' if etag != '"0123456789abcdef"' else '"fedcba9876543210"'
        matching = [
            etag, "W/" + etag, "*", " * ", f"{other}, {etag}", f"{other},W/{etag}",
            f'  {etag} ,{other}', f"W/{other}, W/{etag}", f"{other}, *",
        ]
        for value in matching:
            status, _, body = self.api("GET", "/app.js", headers={"If-None-Match": value})
            self.assertEqual(304, status, value)
            self.assertFalse(body, value)
        missing = [
            other, "W/" + other, etag[1:-1], f"{other}, W/{other}", etag + "x", "W/ " + etag,
            "**", etag[:-1], ",", "",
        ]
        for value in missing:
            status, _, body = self.api("GET", "/app.js", headers={"If-None-Match": value})
            self.assertEqual(200, status, value)
            self.assertTrue(body, value)

    def test_missing_web_file_is_404(self):
        status, _, _ = self.api("GET", "/no-such-file.js")
        self.assertEqual(404, status)

    def test_oversized_body_is_413(self):
        body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
        self.assertProblem(self.api("POST", "/api/v1/contacts", raw=body), 413)

    def test_request_is_logged(self):
        self.api("GET", "/healthz?token=not-logged")
        # The line is written when the connection completes, possibly just after the answer.
        # Its fields in detail: tests/api/test_request_log.py.
        line = re.compile(r" info GET /healthz 200 \d+\.\d{3}ms user=-( client=\S+)?$")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(line.search(text) for text in self.server.log):
                break
            time.sleep(0.02)
        self.assertTrue(any(line.search(text) for text in self.server.log),
                        "no access log line in %r" % self.server.log[-5:])
        self.assertNotIn("not-logged", "".join(self.server.log))


class RestartTest(harness.ServerTestCase):
    def test_restart_keeps_database_and_schema(self):
        self.server.stop()
        result = self.crmctl("migrate")
        self.assertIn("0 migrations applied", result.stdout)
        self.server.start()
        status, _, _ = self.api("GET", "/healthz")
        self.assertEqual(200, status)
