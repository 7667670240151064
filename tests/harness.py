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
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import jsonschema  # python3-jsonschema (scripts/install-deps test)

BUILD = os.environ.get("CRM_BUILD", os.path.join(os.path.dirname(__file__), "..", "build"))
CRMD = os.path.join(BUILD, "crmd")
CRMCTL = os.path.join(BUILD, "crmctl")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: UndefinedBehaviorSanitizer")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def wait_until(probe, timeout=15.0, interval=0.05, what="the condition"):
    """Polls `probe()` until it returns a true value, and returns that value; raises
    AssertionError naming `what` (and the last value) when `timeout` seconds pass first.
    For effects that crmd completes after the client has its answer (counters, logs,
    background passes): a test waits for the condition, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s did not happen within %.1f s (last: %r)"
                                 % (what, timeout, value))
        time.sleep(interval)


def sql_rows(db_path, statement, *args, **named):
    """Runs one read-only SQL statement on the database file (tests look behind the API);
    parameters by position (?) or by name (:name)."""
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return connection.execute(statement, named or args).fetchall()
    finally:
        connection.close()


def sql_run(db_path, statement, *args):
    """Runs one SQL statement on the database file and commits (tests that change data
    behind crmd's back). Returns the rows it gave."""
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        rows = connection.execute(statement, args).fetchall()
        connection.commit()
        return rows
    finally:
        connection.close()


def crmd_routes():
    """The route table of the crmd under test (crmd --routes): [(method, pattern, flags)]."""
    process = subprocess.run([CRMD, "--routes"], capture_output=True, text=True, env=ENV,
                             timeout=60)
    check_sanitizer_output(process.stderr, "crmd --routes")
    if process.returncode != 0:
        raise AssertionError("crmd --routes failed: %s" % process.stderr)
    return [(words[0], words[1], set(words[2:]))
            for words in (line.split() for line in process.stdout.splitlines())]


def schema_errors(document, name, instance):
    """How `instance` differs from components.schemas[name] of an OpenAPI `document`:
    ["path: message"], empty when it matches."""
    schema = dict(document, **{"$ref": "#/components/schemas/" + name})
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance),
                    key=lambda error: list(error.path))
    return ["%s: %s" % (list(error.path), error.message) for error in errors]


# What db_commit() does before COMMIT (src/store/fts_pending.c): index the rows that inserts
# left in fts_pending (migration 0011). Writers that go around crmd and crmctl with SQL of
# their own run it before they commit, or searches miss their rows until the next commit.
FTS_FLUSH_SQL = (
    "INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title) "
    "SELECT id, first_name, last_name, email, phone, title FROM contacts "
    "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'contacts_fts')",
    "INSERT INTO companies_fts (rowid, name, domain, industry) "
    "SELECT id, name, domain, industry FROM companies "
    "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'companies_fts')",
    "INSERT INTO interactions_fts (rowid, subject, body) "
    "SELECT id, subject, body FROM interactions "
    "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'interactions_fts')",
    "DELETE FROM fts_pending",
)


def fts_flush(connection):
    """Runs FTS_FLUSH_SQL on a sqlite3 connection, inside its open transaction."""
    for statement in FTS_FLUSH_SQL:
        connection.execute(statement)


def check_sanitizer_output(text, what):
    for marker in SANITIZER_MARKERS:
        if marker in text:
            raise AssertionError("%s reported a sanitizer error:\n%s" % (what, text[-6000:]))


class CrmctlResult:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.returncode, self.stdout, self.stderr)


def crmctl(db_path, *args, stdin=None, check=True, binary=None):
    """Runs crmctl --db db_path ARGS; returns a CrmctlResult. check: fail unless exit 0.
    binary: another build of crmctl (build/tests/crmctl-throwaway)."""
    process = subprocess.run([binary or CRMCTL, "--db", db_path] + list(args), input=stdin,
                             capture_output=True, text=True, env=ENV, timeout=120)
    check_sanitizer_output(process.stderr, "crmctl " + " ".join(args))
    result = CrmctlResult(process.returncode, process.stdout, process.stderr)
    if check and process.returncode != 0:
        raise AssertionError("crmctl %s failed: %r" % (" ".join(args), result))
    return result


class Server:
    """A running crmd on a temporary database."""

    def __init__(self, db_path=None, extra_args=(), binary=None):
        self.binary = binary or CRMD  # another build of crmd (build/tests/crmd-throwaway)
        self.directory = tempfile.mkdtemp(prefix="crm-test-")
        self.db_path = db_path or os.path.join(self.directory, "crm.db")
        self.extra_args = list(extra_args)
        self.process = None
        self.port = None
        self.log = []

    def start(self):
        self.log = []
        self.process = subprocess.Popen(
            [self.binary, "--db", self.db_path, "--listen", "127.0.0.1:0", "--threads", "4"]
            + self.extra_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
            env=ENV)  # a request may put bytes that are not UTF-8 into the log
        ready = threading.Event()

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                match = re.search(r"listening on https?://[^:]+:(\d+)/", line)
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
                content_type="application/json", cookie=None, csrf=None, session=None,
                source=None):
        """Sends one request. body: JSON-encodable (or raw bytes via raw=). key: a bearer
        API key. cookie: the crm_session cookie value; csrf: the X-CSRF-Token header;
        session: a LoginSession from login() (sets both). source: the loopback address to
        send from (say "127.0.0.2": crmd sees another client). Returns (status, headers
        dict with lower-case names, parsed JSON body or text or None)."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60,
            source_address=(source, 0) if source else None)
        all_headers = dict(headers or {})
        if session is not None:
            cookie = session.cookie if cookie is None else cookie
            csrf = session.csrf_token if csrf is None else csrf
        if cookie is not None:
            all_headers["Cookie"] = "crm_session=" + cookie
        if csrf is not None:
            all_headers["X-CSRF-Token"] = csrf
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


class LoginSession:
    """A browser session from POST /api/v1/auth/login: pass it as session= to requests."""

    def __init__(self, status, headers, body, cookie, csrf_token):
        self.status, self.headers, self.body = status, headers, body
        self.cookie, self.csrf_token = cookie, csrf_token
        self.user = body.get("user") if isinstance(body, dict) else None

    def __iter__(self):  # cookie, csrf = self.login(...)
        return iter((self.cookie, self.csrf_token))

    def __repr__(self):
        return "LoginSession(%d, %r)" % (self.status, self.body)


def session_cookie_from(headers):
    """The crm_session value in a Set-Cookie header, or None."""
    match = re.search(r"(?:^|[\s,])crm_session=([^;,\s]*)", headers.get("set-cookie", ""))
    return match.group(1) if match else None


class ServerTestCase(unittest.TestCase):
    """One crmd per test class, with an admin user and an admin API key ready:
    cls.admin_email / cls.admin_password (for login()), cls.admin_id and cls.admin_key
    (a bearer key). make_user() adds more users, also while crmd runs."""

    server = None
    admin_email = "admin@example.com"
    admin_password = "admin-password-1"
    admin_id = None
    admin_key = None
    server_args = ()  # extra crmd flags for this class, e.g. ("--secure-cookies",)
    crmd_binary = None  # other builds of crmd and crmctl for this class (None: the usual)
    crmctl_binary = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=cls.server_args, binary=cls.crmd_binary)
        crmctl(cls.server.db_path, "init", binary=cls.crmctl_binary)
        cls.admin_id, cls.admin_key = cls.make_user(cls.admin_email, "admin",
                                                    password=cls.admin_password, name="Admin")
        cls.setup_database()
        cls.server.start()

    @classmethod
    def make_user(cls, email, role, team=None, password="password-123", name=None,
                  key_name="test key", read_only=False):
        """Creates a user with crmctl (works while crmd runs) and an API key for them.
        Returns (user_id, api_key)."""
        args = ["user", "add", email, "--name", name or email.split("@")[0], "--role", role,
                "--password-stdin"]
        if team is not None:
            args += ["--team", team]
        created = crmctl(cls.server.db_path, *args, stdin=password + "\n",
                         binary=cls.crmctl_binary)
        match = re.search(r"created user (\d+)", created.stdout)
        if not match:
            raise AssertionError("crmctl user add printed no id: %r" % created)
        key_args = ["key", "create", "--user", email, "--name", key_name]
        if read_only:
            key_args.append("--read-only")
        key = crmctl(cls.server.db_path, *key_args, binary=cls.crmctl_binary).stdout.strip()
        return int(match.group(1)), key

    def login(self, email, password, source=None):
        """POST /api/v1/auth/login (from the loopback address `source`, default 127.0.0.1).
        Returns a LoginSession (status, headers, body, cookie, csrf_token; cookie and
        csrf_token are None when the login failed)."""
        status, headers, body = self.api("POST", "/api/v1/auth/login",
                                         {"email": email, "password": password},
                                         source=source)
        cookie = session_cookie_from(headers) if status == 200 else None
        csrf = body.get("csrf_token") if status == 200 and isinstance(body, dict) else None
        return LoginSession(status, headers, body, cookie, csrf)

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

    def list_all_ids(self, path, query="", key=None):
        """Every id of a paged list at `path` (?query), following next_cursor to the end."""
        ids = []
        cursor = None
        for _ in range(1000):
            parts = [query] if query else []
            if "limit=" not in query:
                parts.append("limit=100")
            url = path + "?" + "&".join(parts)
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor)
            status, _, body = self.api("GET", url, key=key or self.admin_key)
            self.assertEqual(200, status, body)
            ids += [record["id"] for record in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                return ids
        self.fail("pagination does not end")

    def crmctl(self, *args, **kwargs):
        return crmctl(self.server.db_path, *args, binary=self.crmctl_binary, **kwargs)

    def assertMatchesSchema(self, document, name, instance):
        """`instance` is valid against components.schemas[name] of `document`."""
        self.assertEqual([], schema_errors(document, name, instance),
                         "%s does not match %s" % (json.dumps(instance)[:400], name))

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
