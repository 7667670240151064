"""test_logging.py - crmd's log on stderr (src/base/log.c): --log-level error|warn|info|debug
decides which lines are written (request lines and other info lines from info up, warnings
from warn up; the start-up "listening" notice always), --log-format json writes one object
per line with the request's fields, and a query string is never logged."""
import json
import re
import socket
import subprocess
import unittest

import harness

SECRET_QUERY = "needle-in-the-query"
TEXT_REQUEST = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info (GET|POST) (\S+) (\d{3}) "
                          r"\d+\.\d{3}ms user=(\d+|-)(?: \w+=\S+)*$")


def run_server(*args):
    """Starts crmd with `args` on a fresh database, makes the same requests every time
    (an authenticated list with a query string, a public probe, a 404, and a request with
    a malformed Content-Length that libmicrohttpd warns about), stops it and returns
    (log lines, the API user's id)."""
    server = harness.Server(extra_args=args)
    try:
        harness.crmctl(server.db_path, "init")
        created = harness.crmctl(server.db_path, "user", "add", "log@example.com", "--name",
                                 "Log", "--role", "admin", "--password-stdin",
                                 stdin="password-123\n")
        user_id = int(re.search(r"created user (\d+)", created.stdout).group(1))
        key = harness.crmctl(server.db_path, "key", "create", "--user", "log@example.com",
                             "--name", "k").stdout.strip()
        server.start()
        assert server.request("GET", "/api/v1/contacts?q=" + SECRET_QUERY, key=key)[0] == 200
        assert server.request("GET", "/healthz")[0] == 200
        assert server.request("GET", "/api/v1/contacts/999999", key=key)[0] == 404
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        server.stop()  # every line is written and read
        return "".join(server.log).splitlines(), user_id
    finally:
        server.cleanup()


class LogLevelTest(unittest.TestCase):
    def text_requests(self, lines):
        return [match.groups() for match in map(TEXT_REQUEST.match, lines) if match]

    def assertCommon(self, lines):
        self.assertTrue(any(" listening on http://127.0.0.1:" in line for line in lines),
                        "the start-up notice is written at every level")
        self.assertFalse([line for line in lines if SECRET_QUERY in line],
                         "a query string was logged")

    def assertRequestsLogged(self, lines, user_id):
        requests = self.text_requests(lines)
        self.assertIn(("GET", "/api/v1/contacts", "200", str(user_id)), requests, lines)
        self.assertIn(("GET", "/healthz", "200", "-"), requests, lines)
        self.assertIn(("GET", "/api/v1/contacts/999999", "404", str(user_id)), requests, lines)
        self.assertTrue(any(re.search(r" info stopped$", line) for line in lines), lines)

    def test_info_writes_requests_and_warnings(self):
        lines, user_id = run_server("--log-level", "info")
        self.assertCommon(lines)
        self.assertRequestsLogged(lines, user_id)
        self.assertTrue(any(" warn http: " in line and "Content-Length" in line
                            for line in lines), lines)

    def test_info_is_the_default(self):
        lines, user_id = run_server()
        self.assertCommon(lines)
        self.assertRequestsLogged(lines, user_id)

    def test_debug_writes_what_info_writes(self):
        lines, user_id = run_server("--log-level", "debug")
        self.assertCommon(lines)
        self.assertRequestsLogged(lines, user_id)
        self.assertTrue(any(" warn http: " in line for line in lines), lines)

    def test_warn_drops_requests_and_info_lines(self):
        lines, _ = run_server("--log-level", "warn")
        self.assertCommon(lines)
        self.assertEqual([], self.text_requests(lines), "request lines at warn")
        levels = {line.split(" ")[1] for line in lines if " listening on " not in line}
        self.assertEqual({"warn"}, levels, lines)
        self.assertTrue(any(" warn http: " in line and "Content-Length" in line
                            for line in lines), lines)

    def test_error_drops_warnings_too(self):
        lines, _ = run_server("--log-level", "error")
        self.assertCommon(lines)
        self.assertEqual([], [line for line in lines if " listening on " not in line], lines)

    def test_later_flag_wins_and_bad_level_is_refused(self):
        lines, _ = run_server("--log-level", "info", "--log-level", "warn")
        self.assertEqual([], self.text_requests(lines))
        for bad in ("verbose", "WARN", "", "warning"):
            process = subprocess.run([harness.CRMD, "--log-level", bad, "--routes"],
                                     capture_output=True, text=True, env=harness.ENV,
                                     timeout=60)
            self.assertEqual(2, process.returncode, bad)
            self.assertIn("--log-level is error, warn, info or debug", process.stderr)
            self.assertEqual("", process.stdout)


class JsonLogFormatTest(unittest.TestCase):
    def test_json_lines_carry_the_request_fields(self):
        lines, user_id = run_server("--log-format", "json")
        objects = [json.loads(line) for line in lines]  # every line is one JSON object
        self.assertFalse([line for line in lines if SECRET_QUERY in line])
        requests = [o for o in objects if "path" in o]
        listed = [o for o in requests if o["path"] == "/api/v1/contacts"]
        self.assertEqual(1, len(listed), requests)
        request = listed[0]
        self.assertLessEqual({"time", "level", "method", "path", "status", "duration_ms",
                              "user_id"}, set(request))
        self.assertEqual(("info", "GET", 200, user_id),
                         (request["level"], request["method"], request["status"],
                          request["user_id"]))
        self.assertRegex(request["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsInstance(request["duration_ms"], float)
        self.assertGreaterEqual(request["duration_ms"], 0)
        probe = [o for o in requests if o["path"] == "/healthz"]
        self.assertEqual(0, probe[0]["user_id"], "no user: 0 in JSON")
        self.assertIn(404, [o["status"] for o in requests])
        messages = [o for o in objects if "path" not in o]
        self.assertTrue(all(set(o) == {"time", "level", "message"} for o in messages), messages)
        self.assertTrue(any(o["level"] == "warn" and o["message"].startswith("http: ")
                            for o in messages), messages)
        self.assertTrue(any("listening on" in o["message"] for o in messages))

    def test_json_at_warn_has_no_request_objects(self):
        lines, _ = run_server("--log-format", "json", "--log-level", "warn")
        objects = [json.loads(line) for line in lines]
        self.assertEqual([], [o for o in objects if "path" in o])
        self.assertEqual({"warn"}, {o["level"] for o in objects
                                    if "listening on" not in o["message"]})


if __name__ == "__main__":
    unittest.main()
