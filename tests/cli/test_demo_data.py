"""test_demo_data.py - crmctl demo-data: the demo users in two teams, about one company per
ten contacts, realistic and valid records (the API's own rules hold for them), tags and
full-text index in step, the same data for the same seed, usage errors, and the records
served by a running crmd."""
import json
import os
import re
import sqlite3
import tempfile
import unittest

import harness


rows = harness.sql_rows


CONTENT = ("SELECT first_name, last_name, email, phone, title, company_id, lifecycle, "
           "relationship_level, tags, source, consent, custom FROM contacts ORDER BY id")


class DemoDataTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")

    def tearDown(self):
        self.directory.cleanup()

    def test_creates_users_companies_and_valid_contacts(self):
        result = harness.crmctl(self.db, "demo-data", "--contacts", "300", "--seed", "7")
        self.assertRegex(result.stdout, r"created 30 companies and 300 contacts")
        users = rows(self.db, "SELECT email, role, team, password_hash FROM users ORDER BY email")
        self.assertEqual(6, len(users))
        self.assertEqual({"east", "west"}, {user[2] for user in users})
        self.assertIn(("rep1@example.com", "rep", "east", None), users)
        self.assertEqual(300, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertEqual(30, rows(self.db, "SELECT count(*) FROM companies")[0][0])
        # every contact follows the API's rules
        email = re.compile(r"^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
        for (first, last, address, lifecycle, level, tags, consent, custom, created, updated,
             owner) in rows(self.db, "SELECT first_name, last_name, email, lifecycle, "
                            "relationship_level, tags, consent, custom, created_at, updated_at, "
                            "owner_id FROM contacts"):
            self.assertTrue(first or last or address)
            if address:
                self.assertRegex(address, email)
            self.assertIn(lifecycle, ("lead", "prospect", "customer", "churned"))
            self.assertTrue(level is None or 1 <= level <= 6)
            self.assertIsInstance(json.loads(tags), list)
            self.assertIsInstance(json.loads(custom), dict)
            if consent:
                self.assertEqual({"email", "recorded_at"}, set(json.loads(consent)))
            self.assertRegex(created, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertLessEqual(created, updated)
            self.assertIsNotNone(owner)
        # several owners, lifecycles, companies in use
        self.assertGreaterEqual(rows(self.db, "SELECT count(DISTINCT owner_id) FROM contacts")[0][0], 4)
        self.assertEqual(4, rows(self.db, "SELECT count(DISTINCT lifecycle) FROM contacts")[0][0])
        self.assertGreater(rows(self.db, "SELECT count(DISTINCT company_id) FROM contacts")[0][0], 20)
        # the tag table and the full-text index are in step with the records
        tagged = sum(len(json.loads(tags)) for (tags,) in rows(self.db, "SELECT tags FROM contacts"))
        self.assertEqual(tagged, rows(self.db, "SELECT count(*) FROM record_tags WHERE "
                                               "entity = 'contacts'")[0][0])
        first, last = rows(self.db, "SELECT first_name, last_name FROM contacts LIMIT 1")[0]
        self.assertGreater(rows(self.db, "SELECT count(*) FROM contacts_fts WHERE contacts_fts "
                                         "MATCH ?", '"%s" "%s"' % (first, last))[0][0], 0)
        self.assertEqual([], rows(self.db, "PRAGMA foreign_key_check"))
        self.assertEqual("ok", rows(self.db, "PRAGMA integrity_check")[0][0])

    def test_statistics_leave_out_the_full_text_tables(self):
        # ANALYZE runs before the commit indexes the new rows: statistics taken then would
        # call the full-text data tables empty and fts_pending huge (migration 0017)
        harness.crmctl(self.db, "demo-data", "--contacts", "200", "--seed", "3")
        self.assertEqual("wal", rows(self.db, "PRAGMA journal_mode")[0][0])
        tables = {tbl for (tbl,) in rows(self.db, "SELECT DISTINCT tbl FROM sqlite_stat1")}
        self.assertIn("contacts", tables)  # the sampled ANALYZE ran
        self.assertEqual(set(), {t for t in tables if "_fts_" in t or t == "fts_pending"})
        plan = rows(self.db, "EXPLAIN QUERY PLAN SELECT block FROM interactions_fts_data "
                             "WHERE id >= ? AND id <= ?", 1, 2)
        self.assertIn("INTEGER PRIMARY KEY", plan[-1][-1])

    def test_migration_17_drops_full_text_statistics(self):
        connection = sqlite3.connect(self.db)
        connection.execute("ANALYZE")
        connection.execute("INSERT INTO sqlite_stat1 VALUES ('interactions_fts_data', NULL, '2')")
        connection.execute("INSERT INTO sqlite_stat1 VALUES ('fts_pending', 'x', '13253760 1001 1')")
        connection.execute("DELETE FROM schema_migrations WHERE version = 17")
        connection.commit()
        connection.close()
        harness.crmctl(self.db, "migrate")
        self.assertEqual([], rows(self.db, "SELECT tbl FROM sqlite_stat1 WHERE tbl = "
                                           "'fts_pending' OR tbl GLOB '*_fts_*'"))

    def test_same_seed_same_data_and_runs_add_up(self):
        other = os.path.join(self.directory.name, "other.db")
        harness.crmctl(other, "init")
        harness.crmctl(self.db, "demo-data", "--contacts", "120", "--seed", "42")
        harness.crmctl(other, "demo-data", "--contacts", "120", "--seed", "42")
        self.assertEqual(rows(self.db, CONTENT), rows(other, CONTENT))
        third = os.path.join(self.directory.name, "third.db")
        harness.crmctl(third, "init")
        harness.crmctl(third, "demo-data", "--contacts", "120", "--seed", "43")
        self.assertNotEqual(rows(self.db, CONTENT), rows(third, CONTENT))
        # a second run adds more and reuses the demo users
        result = harness.crmctl(self.db, "demo-data", "--contacts", "10")
        self.assertIn("(0 new)", result.stdout)
        self.assertEqual(130, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertEqual(6, rows(self.db, "SELECT count(*) FROM users")[0][0])

    def test_usage_errors(self):
        for args in (["--contacts", "x"], ["--contacts", "-5"], ["--seed", "abc"],
                     ["--contacts"], ["--bogus"], ["extra"]):
            result = harness.crmctl(self.db, "demo-data", *args, check=False)
            self.assertEqual(2, result.returncode, (args, result))
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        result = harness.crmctl(self.db, "demo-data", "--help")
        self.assertIn("demo-data [--contacts N] [--seed S]", result.stdout)


class DemoDataServedTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "demo-data", "--contacts", "250")

    def test_api_lists_searches_and_changes_demo_records(self):
        status, _, page = self.api("GET", "/api/v1/contacts?limit=500", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(250, len(page["data"]))
        contact = page["data"][0]
        status, _, found = self.api("GET", "/api/v1/contacts?q=" + contact["last_name"],
                                    key=self.admin_key)
        self.assertIn(contact["id"], [record["id"] for record in found["data"]])
        status, _, companies = self.api("GET", "/api/v1/companies?sort=name&limit=5",
                                        key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(5, len(companies["data"]))
        # a demo record takes a PUT of itself unchanged: it already follows every rule
        body = {key: value for key, value in contact.items()
                if key not in ("id", "created_at", "updated_at", "version")}
        status, _, same = self.api("PUT", "/api/v1/contacts/%d" % contact["id"], body,
                                   key=self.admin_key)
        self.assertEqual(200, status, same)
        self.assertEqual(1, same["version"])
