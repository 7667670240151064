"""test_cli_basics.py - crmctl's overview, --help, usage errors and migrations."""
import os
import sqlite3
import tempfile
import unittest

import harness


class CliBasicsTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")

    def tearDown(self):
        self.directory.cleanup()

    def test_no_command_is_usage_error(self):
        result = harness.crmctl(self.db, check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn("usage: crmctl", result.stderr)

    def test_unknown_command_is_usage_error(self):
        result = harness.crmctl(self.db, "frobnicate", check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn("unknown command", result.stderr)

    def test_every_command_has_help(self):
        overview = harness.crmctl(self.db, "--help").stdout
        self.assertIn("migrate", overview)
        for line in overview.splitlines():
            line = line.strip()
            if not line or line.startswith(("usage", "The CRM", "--db", "Commands", "Every")):
                continue
            words = []
            for word in line.split():
                if word.isupper() or word.startswith(("-", "[", "|")) or not word.isalnum():
                    break
                words.append(word)
            if not words:
                continue
            result = harness.crmctl(self.db, *words, "--help", check=False)
            self.assertEqual(0, result.returncode, "%s --help: %r" % (words, result))
            self.assertIn("usage: crmctl", result.stdout)

    def test_migrate_is_idempotent_and_recorded(self):
        first = harness.crmctl(self.db, "migrate")
        self.assertRegex(first.stdout, r"[1-9]\d* migrations? applied")
        second = harness.crmctl(self.db, "migrate")
        self.assertIn("0 migrations applied", second.stdout)
        with sqlite3.connect(self.db) as connection:
            versions = [row[0] for row in connection.execute("SELECT version FROM schema_migrations")]
            self.assertEqual(sorted(versions), versions)
            self.assertIn(1, versions)
            self.assertEqual("wal", connection.execute("PRAGMA journal_mode").fetchone()[0])
