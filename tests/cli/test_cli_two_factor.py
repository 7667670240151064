"""test_cli_two_factor.py - crmctl's commands of two-factor sign-in: `user 2fa reset EMAIL`
(removes the secret, the recovery codes and pending login challenges; audited; 1 when the
user has none) and `role set ROLE --require-2fa on|off` (audited; usage errors exit 2)."""
import os
import sqlite3
import tempfile
import time
import unittest

import harness


class TwoFactorCliTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")
        harness.crmctl(self.db, "user", "add", "ada@example.com", "--name", "Ada", "--role",
                       "rep", "--password-stdin", stdin="password-123\n")

    def tearDown(self):
        self.directory.cleanup()

    def rows(self, statement, *args):
        with sqlite3.connect(self.db) as connection:
            return connection.execute(statement, args).fetchall()

    def test_reset_removes_the_second_factor_and_is_audited(self):
        with sqlite3.connect(self.db) as connection:
            user_id = connection.execute("SELECT id FROM users").fetchone()[0]
            connection.execute("INSERT INTO user_totp (user_id, secret, created_at, confirmed_at)"
                               " VALUES (?, randomblob(20), '2026-01-01T00:00:00Z',"
                               " '2026-01-01T00:00:00Z')", (user_id,))
            connection.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES"
                                   " (?, randomblob(32))", [(user_id,)] * 10)
            connection.execute("INSERT INTO login_challenges (token_hash, user_id, purpose,"
                               " expires_at) VALUES (randomblob(32), ?, 'verify', ?)",
                               (user_id, int(time.time()) + 300))
        result = harness.crmctl(self.db, "user", "2fa", "reset", "ADA@example.com")
        self.assertIn("reset", result.stdout)
        for table in ("user_totp", "recovery_codes", "login_challenges"):
            self.assertEqual([(0,)], self.rows("SELECT count(*) FROM %s" % table), table)
        self.assertEqual([("crmctl", user_id, '{"two_factor": "off"}')],
                         [(actor, entity_id, after.replace('":"', '": "'))
                          for actor, entity_id, after in self.rows(
                              "SELECT actor, entity_id, after FROM audit_log"
                              " WHERE entity = 'users' AND action = '2fa_reset'")])
        again = harness.crmctl(self.db, "user", "2fa", "reset", "ada@example.com", check=False)
        self.assertEqual(1, again.returncode)
        self.assertIn("not set up", again.stderr)
        self.assertEqual(1, len(again.stderr.strip().splitlines()))

    def test_reset_of_an_unknown_user_fails(self):
        result = harness.crmctl(self.db, "user", "2fa", "reset", "nobody@example.com",
                                check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn("no such user", result.stderr)

    def test_role_set_require_2fa(self):
        harness.crmctl(self.db, "role", "set", "manager", "--require-2fa", "on")
        self.assertEqual([(1,)], self.rows("SELECT require_2fa FROM roles WHERE name = 'manager'"))
        harness.crmctl(self.db, "role", "set", "manager", "--require-2fa", "off")
        self.assertEqual([(0,)], self.rows("SELECT require_2fa FROM roles WHERE name = 'manager'"))
        self.assertEqual(2, len(self.rows("SELECT * FROM audit_log WHERE entity = 'roles' AND"
                                          " action = 'require_2fa'")))
        for args in (["role", "set", "manager"], ["role", "set", "manager", "--require-2fa", "yes"],
                     ["role", "set", "--require-2fa", "on"]):
            self.assertEqual(2, harness.crmctl(self.db, *args, check=False).returncode, args)
        missing = harness.crmctl(self.db, "role", "set", "nosuch", "--require-2fa", "on",
                                 check=False)
        self.assertEqual(1, missing.returncode)
        self.assertIn("no such role", missing.stderr)


if __name__ == "__main__":
    unittest.main()
