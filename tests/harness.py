"""harness.py - starts a real crmd on a free loopback port with a temporary database and
talks HTTP to it; runs crmctl against the same database.

A test module typically does:

    class ContactsTest(harness.ServerTestCase):
        def test_create(self):
            status, headers, body = self.api("POST", "/api/v1/contacts", {...}, key=self.admin_key)

Sanitizer reports (ASan, LSan, UBSan) in crmd's or crmctl's stderr fail the test run.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

BUILD = os.environ.get("CRM_BUILD", os.path.join(os.path.dirname(__file__), "..", "build"))
CRMD = os.path.join(BUILD, "crmd")
CRMCTL = os.path.join(BUILD, "crmctl")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: UndefinedBehaviorSanitizer")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def check_sanitizer_output(text, what):
    for marker in SANITIZER_MARKERS:
        if marker in text:
            raise AssertionError("%s reported a sanitizer error:\n%s" % (what, text[-6000:]))


class CrmctlResult:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.returncode, self.stdout, self.stderr)


def crmctl(db_path, *args, stdin=None, check=True):
    """Runs crmctl --db db_path ARGS; returns a CrmctlResult. check: fail unless exit 0."""
    process = subprocess.run([CRMCTL, "--db", db_path] + list(args), input=stdin,
                             capture_output=True, text=True, env=ENV, timeout=120)
    check_sanitizer_output(process.stderr, "crmctl " + " ".join(args))
    result = CrmctlResult(process.returncode, process.stdout, process.stderr)
    if check and process.returncode != 0:
        raise AssertionError("crmctl %s failed: %r" % (" ".join(args), result))
    return result


class Server:
    """A running crmd on a temporary database."""

    def __init__(self, db_path=None, extra_args=()):
        self.directory = tempfile.mkdtemp(prefix="crm-test-")
        self.db_path = db_path or os.path.join(self.directory, "crm.db")
        self.extra_args = list(extra_args)
        self.process = None
        self.port = None
        self.log = []

    def start(self):
        self.log = []
        self.process = subprocess.Popen(
            [CRMD, "--db", self.db_path, "--listen", "127.0.0.1:0", "--threads", "4"]
            + self.extra_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        ready = threading.Event()

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                match = re.search(r"listening on http://[^:]+:(\d+)/", line)
                if match:
                    self.port = int(match.group(1))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read_log, daemon=True)
        self.reader.start()
        if not ready.wait(30) or self.port is None:
            self.process.kill()
            raise AssertionError("crmd did not start:\n" + "".join(self.log))
        return self

    def stop(self, expect_clean=True):
        """SIGTERM; checks a clean exit (status 0, no sanitizer report)."""
        if not self.process:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("crmd did not stop on SIGTERM")
        self.reader.join(10)
        self.process = None
        text = "".join(self.log)
        check_sanitizer_output(text, "crmd")
        if expect_clean and code != 0:
            raise AssertionError("crmd exited with %d:\n%s" % (code, text[-4000:]))

    def kill(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, key=None, raw=None,
                content_type="application/json"):
        """Sends one request. body: JSON-encodable (or raw bytes via raw=). Returns
        (status, headers dict with lower-case names, parsed JSON body or text or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = content_type
        if key:
            all_headers["Authorization"] = "Bearer " + key
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
        response_headers = {}
        for name, value in response.getheaders():
            name = name.lower()
            if name in response_headers:
                response_headers[name] += ", " + value
            else:
                response_headers[name] = value
        connection.close()
        content_type_seen = response_headers.get("content-type", "")
        parsed = None
        if payload:
            if "json" in content_type_seen:
                parsed = json.loads(payload)
            else:
                parsed = payload.decode("utf-8", "replace")
        return response.status, response_headers, parsed


class ServerTestCase(unittest.TestCase):
    """One crmd per test class, with an admin user and an admin API key ready."""

    server = None
    admin_password = "admin-password-1"

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        crmctl(cls.server.db_path, "init")
        cls.setup_database()
        cls.server.start()

    @classmethod
    def setup_database(cls):
        """Hook for subclasses: prepare the database before crmd starts."""

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def api(self, method, path, body=None, **kwargs):
        return self.server.request(method, path, body, **kwargs)

    def crmctl(self, *args, **kwargs):
        return crmctl(self.server.db_path, *args, **kwargs)

    def assertProblem(self, response, status, field=None):
        """Checks that a response is a problem+json with `status` (and a field error)."""
        got_status, headers, body = response
        self.assertEqual(status, got_status, "expected %d, got %d: %r" % (status, got_status, body))
        self.assertTrue(headers.get("content-type", "").startswith("application/problem+json"),
                        "content type %r" % headers.get("content-type"))
        self.assertEqual(status, body["status"])
        self.assertIn("title", body)
        if field:
            fields = [error["field"] for error in body.get("errors", [])]
            self.assertIn(field, fields, "no error for field %r in %r" % (field, body))
        return body
