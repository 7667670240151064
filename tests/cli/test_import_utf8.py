"""test_import_utf8.py - a CSV cell that is not UTF-8 in a column used as a name (company,
owner e-mail) is a row error with its line and field, and nothing is imported (found by
the fuzz_contacts_import harness: it used to end in a database error)."""
import os
import sqlite3
import tempfile
import unittest

import harness


class ImportInvalidUtf8Test(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")

    def tearDown(self):
        self.directory.cleanup()

    def import_bytes(self, data):
        path = os.path.join(self.directory.name, "in.csv")
        with open(path, "wb") as out:
            out.write(data)
        return harness.crmctl(self.db, "import", "contacts", path, check=False)

    def contacts(self):
        with sqlite3.connect(self.db) as connection:
            return connection.execute("SELECT count(*) FROM contacts").fetchone()[0]

    def test_company_not_utf8_is_a_row_error(self):
        result = self.import_bytes(b"first_name,company\nAnn,Good Co\nBob,A\xff\n")
        self.assertEqual(1, result.returncode, result)
        self.assertIn("line 3: company: is not valid UTF-8", result.stderr)
        self.assertEqual(0, self.contacts())

    def test_owner_email_not_utf8_is_a_row_error(self):
        result = self.import_bytes(b"owner_email,first_name\n\xfe@example.com,Bob\n")
        self.assertEqual(1, result.returncode, result)
        self.assertIn("line 2: owner_email: is not valid UTF-8", result.stderr)
        self.assertEqual(0, self.contacts())
