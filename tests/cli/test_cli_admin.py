"""test_cli_admin.py - crmctl's admin commands: init --admin, user, role, key, session and
backup; exit codes (0 done, 1 failed with one line on stderr, 2 usage), --help, the key
printed alone on stdout, audit entries, and effects on a running crmd."""
import os
import re
import sqlite3
import subprocess
import tempfile
import unittest

import harness

ADMIN_COMMANDS = [
    ["user", "add"], ["user", "list"], ["user", "passwd"], ["user", "disable"],
    ["user", "enable"], ["user", "set"], ["user", "unlock"], ["user", "2fa", "reset"],
    ["role", "list"], ["role", "show"], ["role", "set"],
    ["role", "create"], ["role", "grant"], ["role", "limit"], ["key", "create"], ["key", "list"],
    ["key", "revoke"], ["key", "limit"], ["session", "revoke"], ["backup"], ["init"],
]


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")

    def tearDown(self):
        self.directory.cleanup()

    def run_ok(self, *args, stdin=None):
        return harness.crmctl(self.db, *args, stdin=stdin)

    def run_fails(self, status, *args, stdin=None, message=None):
        result = harness.crmctl(self.db, *args, stdin=stdin, check=False)
        self.assertEqual(status, result.returncode, repr(result))
        self.assertTrue(result.stderr.startswith("crmctl: "), repr(result))
        if status == 1:
            self.assertEqual(1, len(result.stderr.strip().splitlines()), repr(result))
        if message:
            self.assertIn(message, result.stderr)
        return result

    def add_user(self, email, role="rep", *extra, password="password-123"):
        return self.run_ok("user", "add", email, "--name", "Name Of " + email, "--role", role,
                           "--password-stdin", *extra, stdin=password + "\n")

    def query(self, statement, *args):
        with sqlite3.connect(self.db) as connection:
            return connection.execute(statement, args).fetchall()


class HelpAndUsageTest(CliTestCase):
    def test_every_admin_command_answers_help(self):
        for words in ADMIN_COMMANDS:
            result = harness.crmctl(self.db, *words, "--help", check=False)
            self.assertEqual(0, result.returncode, "%s: %r" % (words, result))
            self.assertIn("usage: crmctl [--db PATH] " + " ".join(words), result.stdout)

    def test_migrate_takes_no_arguments(self):
        result = self.run_fails(2, "migrate", "extra")
        self.assertIn("usage: crmctl [--db PATH] migrate", result.stderr)

    def test_a_group_alone_lists_its_commands(self):
        for group, words in (("user", ["add", "list", "passwd", "set"]),
                             ("role", ["list", "show", "create", "grant"]),
                             ("key", ["create", "list", "revoke"])):
            for args in ([group], [group, "nosuch"]):
                result = self.run_fails(2, *args)
                self.assertNotIn("unknown command", result.stderr)
                self.assertEqual("", result.stdout)
                for word in words:
                    self.assertIn("%s %s" % (group, word), result.stderr)
        self.assertIn("unknown user command 'nosuch'",
                      self.run_fails(2, "user", "nosuch").stderr)

    def test_role_show_of_no_role_prints_nothing_on_stdout(self):
        result = self.run_fails(1, "role", "show", "nosuch", message="no such role")
        self.assertEqual("", result.stdout)

    def test_user_add_usage_shows_no_password(self):
        self.assertIn("--no-password", self.run_ok("user", "add", "--help").stdout)
        self.assertIn("--no-password", self.run_ok("--help").stdout)

    def test_commands_never_create_a_missing_database(self):
        missing = os.path.join(self.directory.name, "missing.db")
        for args in (["user", "list"], ["role", "show", "rep"], ["key", "list"],
                     ["analytics", "settings"], ["analytics", "fit"], ["backup",
                     os.path.join(self.directory.name, "copy.db")]):
            result = harness.crmctl(missing, *args, check=False)
            self.assertEqual(1, result.returncode, "%s: %r" % (args, result))
            self.assertEqual("", result.stdout, args)
            if args[0] != "backup":
                self.assertIn("no database at %s (run crmctl init)" % missing, result.stderr)
            self.assertFalse(os.path.exists(missing), args)
        harness.crmctl(missing, "migrate")
        self.assertTrue(os.path.exists(missing))
        self.assertIn("admin", harness.crmctl(missing, "role", "list").stdout)

    def test_overview_lists_the_admin_commands(self):
        overview = self.run_ok("--help").stdout
        for words in ADMIN_COMMANDS:
            self.assertIn(" ".join(words), overview)

    def test_usage_errors_exit_2(self):
        self.run_fails(2, "user", "add", "x@example.com")  # no --name/--role
        self.run_fails(2, "user", "add", "--name", "N", "--role", "rep")  # no email
        self.run_fails(2, "user", "add", "a@example.com", "b@example.com", "--name", "N",
                       "--role", "rep")
        self.run_fails(2, "user", "add", "a@example.com", "--name", "N", "--role", "rep",
                       "--bogus")
        self.run_fails(2, "user", "set", "a@example.com")  # nothing to change
        self.run_fails(2, "key", "create", "--user", "a@example.com")
        self.run_fails(2, "key", "create", "--user", "admin@example.com", "--name", "k",
                       "--expires-days", "soon")
        self.run_fails(2, "key", "create", "--user", "admin@example.com", "--name", "k",
                       "--expires-days", "0")
        self.run_fails(2, "key", "revoke", "abc")
        self.run_fails(2, "key", "revoke")
        self.run_fails(2, "session", "revoke")
        self.run_fails(2, "role", "create", "Bad Name")
        self.run_fails(2, "role", "grant", "rep", "contacts", "write")
        self.run_fails(2, "role", "grant", "rep", "contacts", "fly", "own", message="action")
        self.run_fails(2, "role", "grant", "rep", "contacts", "write", "mine", message="scope")
        self.run_fails(2, "role", "grant", "rep", "spaceships", "write", "own",
                       message="resource")
        self.run_fails(2, "backup")
        self.run_fails(2, "init", "--admin")


class InitTest(CliTestCase):
    def test_init_admin_prints_a_password_once_and_is_idempotent(self):
        result = self.run_ok("init", "--admin", "boss@example.com")
        password = re.search(r"password: (\S+)", result.stdout).group(1)
        self.assertGreaterEqual(len(password), 16)
        rows = self.query("SELECT role, password_hash FROM users WHERE email = 'boss@example.com'")
        self.assertEqual("admin", rows[0][0])
        self.assertTrue(rows[0][1].startswith("$argon2id$"))
        self.assertNotIn(password, rows[0][1])
        again = self.run_ok("init", "--admin", "boss@example.com")
        self.assertIn("exists already", again.stdout)
        self.assertNotIn(password, again.stdout)
        self.assertEqual(rows, self.query(
            "SELECT role, password_hash FROM users WHERE email = 'boss@example.com'"))
        self.run_fails(1, "init", "--admin", "not-an-email")

    def test_the_printed_password_logs_in(self):
        result = self.run_ok("init", "--admin", "root@example.com")
        password = re.search(r"password: (\S+)", result.stdout).group(1)
        server = harness.Server(db_path=self.db).start()
        try:
            status, headers, body = server.request("POST", "/api/v1/auth/login",
                                                   {"email": "root@example.com",
                                                    "password": password})
            self.assertEqual(200, status, body)
        finally:
            server.stop()
            server.cleanup()


class UserCommandsTest(CliTestCase):
    def test_user_add_list_set_disable_enable(self):
        added = self.add_user("ann@example.com", "rep", "--team", "east")
        self.assertRegex(added.stdout, r"created user \d+ ann@example.com")
        listing = self.run_ok("user", "list").stdout
        self.assertRegex(listing, r"ann@example.com\s+Name Of ann@example.com\s+rep\s+east\s+active")
        self.run_ok("user", "set", "ann@example.com", "--role", "manager", "--team", "west",
                    "--name", "Ann B")
        self.assertEqual([("Ann B", "manager", "west", 2)], self.query(
            "SELECT name, role, team, version FROM users WHERE email = 'ann@example.com'"))
        self.run_ok("user", "set", "ANN@example.com", "--team", "")
        self.assertEqual([(None,)], self.query(
            "SELECT team FROM users WHERE email = 'ann@example.com'"))
        self.run_ok("user", "disable", "ann@example.com")
        self.assertIn("disabled", self.run_ok("user", "list").stdout)
        self.assertEqual([(1,)], self.query(
            "SELECT disabled FROM users WHERE email = 'ann@example.com'"))
        self.run_ok("user", "enable", "ann@example.com")
        self.assertEqual([(0,)], self.query(
            "SELECT disabled FROM users WHERE email = 'ann@example.com'"))

    def test_user_changes_are_audited_as_crmctl_without_secrets(self):
        self.add_user("aud@example.com", password="very-secret-1")
        self.run_ok("user", "passwd", "aud@example.com", "--password-stdin",
                    stdin="very-secret-2\n")
        self.run_ok("user", "disable", "aud@example.com")
        rows = self.query("SELECT actor, action, user_id, before, after FROM audit_log"
                          " WHERE entity = 'users' ORDER BY id")
        self.assertEqual(["create", "update", "update"], [row[1] for row in rows])
        for actor, _, user_id, before, after in rows:
            self.assertEqual("crmctl", actor)
            self.assertIsNone(user_id)
            for text in (before or "", after or ""):
                self.assertNotIn("very-secret", text)
                self.assertNotIn("argon2", text)

    def test_user_unlock_lets_the_owner_log_in_at_once(self):
        self.add_user("locked@example.com")
        self.add_user("other@example.com")
        server = harness.Server(db_path=self.db).start()
        try:
            def login(email, password):
                return server.request("POST", "/api/v1/auth/login",
                                      {"email": email, "password": password})[0]
            for attempt in range(10):
                self.assertEqual(401, login("locked@example.com", "wrong-%d" % attempt))
            self.assertEqual(401, login("other@example.com", "wrong"))
            self.assertEqual(429, login("locked@example.com", "password-123"))
            result = self.run_ok("user", "unlock", "LOCKED@example.com")
            self.assertEqual("unlocked LOCKED@example.com: 20 failed logins forgotten\n",
                             result.stdout)  # 10 from this address, 10 of the account
            self.assertEqual(200, login("locked@example.com", "password-123"))
        finally:
            server.stop()
            server.cleanup()
        # another account's failures stay; the unlock is audited
        self.assertEqual([("account:other@example.com",), ("address:127.0.0.1",),
                          ("pair:other@example.com|127.0.0.1",)],
                         self.query("SELECT DISTINCT subject FROM login_failures "
                                    "ORDER BY subject"))
        self.assertEqual([("crmctl", '{"failed_logins_forgotten":20}')], self.query(
            "SELECT actor, after FROM audit_log WHERE entity = 'users' AND action = 'unlock'"))
        self.run_fails(1, "user", "unlock", "ghost@example.com", message="no such user")

    def test_user_add_failures_exit_1(self):
        self.run_fails(1, "user", "add", "x@example.com", "--name", "X", "--role", "emperor",
                       "--password-stdin", stdin="password-123\n", message="no such role")
        self.run_fails(1, "user", "add", "bad-address", "--name", "X", "--role", "rep",
                       "--password-stdin", stdin="password-123\n", message="email")
        self.run_fails(1, "user", "add", "x@example.com", "--name", "X", "--role", "rep",
                       "--password-stdin", stdin="short\n", message="password")
        self.run_fails(1, "user", "add", "x@example.com", "--name", "X", "--role", "rep",
                       "--password-stdin", stdin="", message="password")
        self.add_user("dup@example.com")
        self.run_fails(1, "user", "add", "DUP@example.com", "--name", "X", "--role", "rep",
                       "--password-stdin", stdin="password-123\n", message="exists")
        self.assertEqual([(1,)], self.query("SELECT count(*) FROM users"))

    def test_unknown_users_and_roles_exit_1(self):
        self.run_fails(1, "user", "disable", "ghost@example.com", message="no such user")
        self.run_fails(1, "user", "enable", "ghost@example.com", message="no such user")
        self.run_fails(1, "user", "passwd", "ghost@example.com", "--password-stdin",
                       stdin="password-123\n", message="no such user")
        self.add_user("real@example.com")
        self.run_fails(1, "user", "set", "real@example.com", "--role", "emperor",
                       message="no such role")
        self.run_fails(1, "user", "set", "ghost@example.com", "--name", "G",
                       message="no such user")

    def test_password_without_terminal_or_stdin_fails_cleanly(self):
        # A new session has no controlling terminal, so crmctl cannot prompt (and the test
        # never hangs on a developer's terminal).
        process = subprocess.run([harness.CRMCTL, "--db", self.db, "user", "add",
                                  "tty@example.com", "--name", "T", "--role", "rep"],
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 env=harness.ENV, timeout=60, start_new_session=True)
        harness.check_sanitizer_output(process.stderr, "crmctl user add")
        self.assertEqual(1, process.returncode, process.stderr)
        self.assertIn("--password-stdin", process.stderr)
        self.assertEqual([(0,)], self.query("SELECT count(*) FROM users"))

    def test_user_without_password(self):
        self.run_ok("user", "add", "api@example.com", "--name", "Integration", "--role", "rep",
                    "--no-password")
        self.assertEqual([(None,)], self.query(
            "SELECT password_hash FROM users WHERE email = 'api@example.com'"))


class RoleCommandsTest(CliTestCase):
    def test_role_list_and_show(self):
        listing = self.run_ok("role", "list").stdout
        for role in ("admin", "manager", "rep", "viewer"):
            self.assertRegex(listing, r"(?m)^%s\s+built-in" % role)
        shown = self.run_ok("role", "show", "rep").stdout
        self.assertRegex(shown, r"contacts\s+read\s+all")
        self.assertRegex(shown, r"contacts\s+write\s+own")
        self.assertRegex(shown, r"contacts\s+delete\s+none")
        self.run_fails(1, "role", "show", "emperor", message="no such role")

    def test_role_create_from_and_grant(self):
        self.assertIn("created role", self.run_ok("role", "create", "auditor", "--from",
                                                   "viewer").stdout)
        self.assertEqual(self.query("SELECT resource, action, scope FROM grants WHERE role ="
                                    " 'viewer' ORDER BY 1, 2"),
                         self.query("SELECT resource, action, scope FROM grants WHERE role ="
                                    " 'auditor' ORDER BY 1, 2"))
        self.run_ok("role", "grant", "auditor", "audit", "read", "all")
        self.run_ok("role", "grant", "auditor", "contacts", "read", "team")
        self.assertEqual([("all",)], self.query(
            "SELECT scope FROM grants WHERE role = 'auditor' AND resource = 'audit'"))
        self.assertEqual([("team",)], self.query(
            "SELECT scope FROM grants WHERE role = 'auditor' AND resource = 'contacts'"
            " AND action = 'read'"))
        self.run_fails(1, "role", "create", "auditor", message="exists")
        self.run_fails(1, "role", "create", "other", "--from", "emperor", message="no such role")
        self.run_fails(1, "role", "grant", "emperor", "contacts", "read", "all",
                       message="no such role")
        self.run_ok("role", "create", "empty")
        self.assertIn("no grants", self.run_ok("role", "show", "empty").stdout)
        # A new role can be given to users.
        self.add_user("aud@example.com", "auditor")
        actions = [row[0] for row in self.query(
            "SELECT action FROM audit_log WHERE entity IN ('roles', 'grants') ORDER BY id")]
        self.assertEqual(["create", "grant", "grant", "create"], actions)


class KeyCommandsTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.add_user("owner@example.com", "rep")

    def test_key_create_prints_only_the_key(self):
        result = self.run_ok("key", "create", "--user", "owner@example.com", "--name", "sync")
        self.assertRegex(result.stdout, r"^crm_[A-Za-z0-9_-]{43}\n$")
        self.assertEqual("", result.stderr)
        key = result.stdout.strip()
        with sqlite3.connect(self.db) as connection:
            self.assertNotIn(key, "\n".join(connection.iterdump()))
        listing = self.run_ok("key", "list").stdout
        self.assertIn("owner@example.com", listing)
        self.assertIn(key[:12], listing)
        self.assertNotIn(key, listing)

    def test_key_options_and_revoke(self):
        self.run_ok("key", "create", "--user", "owner@example.com", "--name", "ro",
                    "--read-only", "--expires-days", "30")
        rows = self.query("SELECT id, read_only, expires_at FROM api_keys")
        self.assertEqual(1, rows[0][1])
        self.assertRegex(rows[0][2], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        key_id = str(rows[0][0])
        self.assertIn("revoked key " + key_id, self.run_ok("key", "revoke", key_id).stdout)
        self.assertIn("revoked already", self.run_ok("key", "revoke", key_id).stdout)
        self.assertRegex(self.run_ok("key", "list").stdout, r"revoked\n")
        self.run_fails(1, "key", "revoke", "999", message="no API key")
        self.run_fails(1, "key", "create", "--user", "ghost@example.com", "--name", "x",
                       message="no such user")
        actions = [row[0] for row in self.query(
            "SELECT action FROM audit_log WHERE entity = 'api_keys' ORDER BY id")]
        self.assertEqual(["create", "revoke"], actions)

    def test_session_revoke(self):
        self.assertIn("revoked 0 sessions",
                      self.run_ok("session", "revoke", "--user", "owner@example.com").stdout)
        self.run_fails(1, "session", "revoke", "--user", "ghost@example.com")


class BackupTest(CliTestCase):
    def test_backup_is_a_consistent_copy_and_never_overwrites(self):
        for i in range(3):
            self.add_user("b%d@example.com" % i)
        target = os.path.join(self.directory.name, "copy.db")
        self.assertIn("backed up", self.run_ok("backup", target).stdout)
        with sqlite3.connect(target) as copy:
            self.assertEqual("ok", copy.execute("PRAGMA integrity_check").fetchone()[0])
            copied = copy.execute("SELECT id, email, password_hash FROM users ORDER BY id").fetchall()
        self.assertEqual(self.query("SELECT id, email, password_hash FROM users ORDER BY id"),
                         copied)
        # The copy works as a database for crmctl too.
        listing = harness.crmctl(target, "user", "list").stdout
        self.assertIn("b2@example.com", listing)
        before = os.path.getsize(target)
        self.run_fails(1, "backup", target, message="exists already")
        self.assertEqual(before, os.path.getsize(target))
        self.run_fails(1, "backup", os.path.join(self.directory.name, "no", "such", "dir.db"))

    def test_backup_of_a_missing_database_fails(self):
        result = harness.crmctl(os.path.join(self.directory.name, "missing.db"), "backup",
                                os.path.join(self.directory.name, "out.db"), check=False)
        self.assertEqual(1, result.returncode)
        self.assertFalse(os.path.exists(os.path.join(self.directory.name, "out.db")))


class RunningServerTest(harness.ServerTestCase):
    """crmctl works on the database while crmd runs, and crmd sees the changes at once."""

    def test_role_grant_applies_to_a_running_server(self):
        user_id, key = self.make_user("grantee@example.com", "viewer")
        self.assertEqual(403, self.api("GET", "/api/v1/users", key=key)[0])
        self.crmctl("role", "create", "user-reader", "--from", "viewer")
        self.crmctl("role", "grant", "user-reader", "users", "read", "all")
        self.crmctl("user", "set", "grantee@example.com", "--role", "user-reader")
        self.assertEqual(200, self.api("GET", "/api/v1/users", key=key)[0])
        self.assertEqual(403, self.api("POST", "/api/v1/users", {"email": "z@example.com",
                                                                  "name": "Z", "role": "rep"},
                                       key=key)[0])

    def test_backup_while_serving(self):
        self.make_user("live@example.com", "rep")
        target = os.path.join(self.server.directory, "live-copy.db")
        self.crmctl("backup", target)
        with sqlite3.connect(target) as copy:
            emails = [row[0] for row in copy.execute("SELECT email FROM users")]
        self.assertIn("live@example.com", emails)
        self.assertEqual(200, self.api("GET", "/api/v1/auth/me", key=self.admin_key)[0])
