"""test_fts_pending.py - the deferred full-text indexing of migration 0011 (fts_pending.h):
a write's new rows are indexed when its transaction commits, so ?q= finds a created
contact, company or interaction right after the 201; a PATCH finds the new words and not
the old ones; a delete, a merge and a GDPR erasure leave nothing behind; CSV imports (API
and crmctl) and crmctl demo-data are searchable. After each scenario the FTS5 integrity
check of every index passes and nothing is left in fts_pending."""
import os
import sqlite3
import tempfile
import time
import urllib.parse

import harness

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
INTERACTIONS = "/api/v1/interactions"
FTS_TABLES = ("contacts_fts", "companies_fts", "interactions_fts", "tasks_fts",
              "opportunities_fts")


def check_indexes(test, db_path):
    """FTS5 'integrity-check' (with rank 1: the index against the content table) of every
    full-text index, and fts_pending empty."""
    connection = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table in FTS_TABLES:
                try:
                    connection.execute("INSERT INTO %s (%s, rank) VALUES ('integrity-check', 1)"
                                       % (table, table))
                except sqlite3.DatabaseError as error:
                    test.fail("%s: integrity check failed: %s" % (table, error))
        finally:
            connection.execute("ROLLBACK")
        pending = connection.execute("SELECT fts_table, row_id FROM fts_pending").fetchall()
        test.assertEqual([], pending, "rows left in fts_pending after commit")
    finally:
        connection.close()


class FtsPendingTest(harness.ServerTestCase):
    def create(self, path, body):
        status, _, record = self.api("POST", path, body, key=self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def search(self, path, text):
        return self.list_all_ids(path, "q=" + urllib.parse.quote(text))

    def tearDown(self):
        check_indexes(self, self.server.db_path)

    def test_created_records_are_found_at_once(self):
        company = self.create(COMPANIES, {"name": "Fjordquill Shipping", "domain": "fjq.example"})
        self.assertEqual([company["id"]], self.search(COMPANIES, "fjordquill"))
        contact = self.create(CONTACTS, {"first_name": "Wendeline", "last_name": "Xanthopoulos",
                                         "email": "wx@fts.example", "company_id": company["id"]})
        self.assertEqual([contact["id"]], self.search(CONTACTS, "xanthopoulos"))
        self.assertEqual([contact["id"]], self.search(CONTACTS, "wendeline"))
        interaction = self.create(INTERACTIONS, {"contact_id": contact["id"], "kind": "call",
                                                 "subject": "Quarzlampen order",
                                                 "body": "talked about blauwal discounts"})
        self.assertEqual([interaction["id"]], self.search(INTERACTIONS, "quarzlampen"))
        self.assertEqual([interaction["id"]], self.search(INTERACTIONS, "blauwal"))

    def test_batch_writer_indexes_without_a_search(self):
        # crmd's batch writer defers the indexing (db_defer_fts) and flushes within
        # WRITE_BATCH_FTS_FLUSH_MS (250 ms) of its last batch, also when no search comes.
        contact = self.create(CONTACTS, {"first_name": "Quorvath", "last_name": "Idlewright"})
        deadline = time.monotonic() + 5
        pending = None
        while time.monotonic() < deadline:
            pending = harness.sql_rows(self.server.db_path, "SELECT count(*) FROM fts_pending")[0][0]
            if pending == 0:
                break
            time.sleep(0.05)
        self.assertEqual(0, pending, "new rows were not indexed without a search")
        indexed = harness.sql_rows(self.server.db_path,
                                   "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH 'quorvath'")
        self.assertEqual([(contact["id"],)], indexed)

    def test_patch_finds_the_new_words_only(self):
        contact = self.create(CONTACTS, {"first_name": "Oldgrimm", "last_name": "Tessaract"})
        status, _, patched = self.api("PATCH", "%s/%d" % (CONTACTS, contact["id"]),
                                      {"first_name": "Newbright"}, key=self.admin_key)
        self.assertEqual(200, status, patched)
        self.assertEqual([], self.search(CONTACTS, "oldgrimm"))
        self.assertEqual([contact["id"]], self.search(CONTACTS, "newbright"))
        self.assertEqual([contact["id"]], self.search(CONTACTS, "tessaract"))
        # and again, on a contact indexed long ago (a PATCH of an indexed row)
        status, _, patched = self.api("PATCH", "%s/%d" % (CONTACTS, contact["id"]),
                                      {"last_name": "Umbravelt", "title": None},
                                      key=self.admin_key)
        self.assertEqual(200, status, patched)
        self.assertEqual([], self.search(CONTACTS, "tessaract"))
        self.assertEqual([contact["id"]], self.search(CONTACTS, "umbravelt newbright"))
        company = self.create(COMPANIES, {"name": "Kelpforge"})
        status, _, _ = self.api("PATCH", "%s/%d" % (COMPANIES, company["id"]),
                                {"name": "Driftmantle"}, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(([], [company["id"]]),
                         (self.search(COMPANIES, "kelpforge"), self.search(COMPANIES, "driftmantle")))
        interaction = self.create(INTERACTIONS, {"contact_id": contact["id"], "kind": "email",
                                                 "subject": "Glimmerpost"})
        status, _, _ = self.api("PATCH", "%s/%d" % (INTERACTIONS, interaction["id"]),
                                {"subject": "Shadowpost"}, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(([], [interaction["id"]]), (self.search(INTERACTIONS, "glimmerpost"),
                                                     self.search(INTERACTIONS, "shadowpost")))

    def test_create_then_delete_leaves_nothing(self):
        contact = self.create(CONTACTS, {"first_name": "Vanishka", "last_name": "Ephemera"})
        interaction = self.create(INTERACTIONS, {"contact_id": contact["id"], "kind": "note",
                                                 "subject": "Transientnote"})
        company = self.create(COMPANIES, {"name": "Evanescent Widgets"})
        for path, record in ((INTERACTIONS, interaction), (CONTACTS, contact), (COMPANIES, company)):
            status, _, body = self.api("DELETE", "%s/%d" % (path, record["id"]), key=self.admin_key)
            self.assertEqual(204, status, body)
        self.assertEqual([], self.search(CONTACTS, "vanishka"))
        self.assertEqual([], self.search(INTERACTIONS, "transientnote"))
        self.assertEqual([], self.search(COMPANIES, "evanescent"))

    def test_gdpr_erasure_removes_the_words(self):
        contact = self.create(CONTACTS, {"first_name": "Gdprwina", "last_name": "Forgetsson",
                                         "email": "forget@fts.example"})
        self.create(INTERACTIONS, {"contact_id": contact["id"], "kind": "call",
                                   "subject": "Gdprwina called", "body": "about forgetsson"})
        self.assertEqual([contact["id"]], self.search(CONTACTS, "forgetsson"))
        status, _, body = self.api("POST", "%s/%d/erase" % (CONTACTS, contact["id"]),
                                   key=self.admin_key)
        self.assertEqual(204, status, body)
        self.assertEqual([], self.search(CONTACTS, "forgetsson"))
        self.assertEqual([], self.search(CONTACTS, "gdprwina"))
        self.assertEqual([], self.search(INTERACTIONS, "gdprwina"))

    def test_merge_leaves_the_index_sound(self):
        kept = self.create(CONTACTS, {"first_name": "Mergekeep"})
        gone = self.create(CONTACTS, {"first_name": "Mergegone", "last_name": "Absorbia"})
        status, _, merged = self.api("POST", "%s/%d/merge" % (CONTACTS, kept["id"]),
                                     {"from": [gone["id"]]}, key=self.admin_key)
        self.assertEqual(200, status, merged)
        self.assertEqual([], self.search(CONTACTS, "mergegone"))
        self.assertEqual([kept["id"]], self.search(CONTACTS, "absorbia"))

    def test_csv_import_rows_are_searchable(self):
        text = ("first_name,last_name,email,company\n"
                "Importina,Csvstrom,importina@fts.example,Tablerock Imports\n"
                "Rowena,Csvstrom,rowena@fts.example,Tablerock Imports\n")
        status, _, report = self.api("POST", CONTACTS + "/import", raw=text.encode(),
                                     content_type="text/csv", key=self.admin_key)
        self.assertEqual(200, status, report)
        self.assertEqual(2, report["created"])
        self.assertEqual(2, len(self.search(CONTACTS, "csvstrom")))
        self.assertEqual(1, len(self.search(COMPANIES, "tablerock")))
        # the same rows again with dedupe: updates of indexed contacts
        text = text.replace("Csvstrom", "Csvberg")
        status, _, report = self.api("POST", CONTACTS + "/import?dedupe=email",
                                     raw=text.encode(), content_type="text/csv",
                                     key=self.admin_key)
        self.assertEqual((200, 2), (status, report["updated"]), report)
        self.assertEqual([], self.search(CONTACTS, "csvstrom"))
        self.assertEqual(2, len(self.search(CONTACTS, "csvberg")))


class FtsPendingCliTest(harness.ServerTestCase):
    """crmctl's writers: demo-data and import commit through db_commit() as well."""

    def tearDown(self):
        check_indexes(self, self.server.db_path)

    def test_demo_data_and_cli_import_are_searchable(self):
        self.crmctl("demo-data", "--contacts", "200", "--seed", "3")
        last = harness.sql_rows(self.server.db_path,
                                "SELECT last_name FROM contacts ORDER BY id DESC LIMIT 1")[0][0]
        ids = self.list_all_ids(CONTACTS, "q=" + urllib.parse.quote(last))
        self.assertTrue(ids, "demo contact %r not found" % last)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv_file:
            csv_file.write("first_name,last_name\nClimporta,Terminalsen\n")
        try:
            self.crmctl("import", "contacts", csv_file.name)
        finally:
            os.unlink(csv_file.name)
        self.assertEqual(1, len(self.list_all_ids(CONTACTS, "q=terminalsen")))
