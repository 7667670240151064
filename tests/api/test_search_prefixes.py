"""test_search_prefixes.py - ?q= searches each word as a prefix (migration 0012 gave
contacts_fts and companies_fts prefix indexes of 1 to 8 characters): every prefix of a name,
from its first letter to the whole word and beyond the longest prefix index, finds exactly
the records with a word that starts with it, diacritics folded ("muller" finds Müller).
A database created before migration 0012 (its contacts indexed by the old triggers, and
rows still waiting in fts_pending) is rebuilt by the migration: its records are found,
once, and so are the ones created after."""
import glob
import os
import re
import sqlite3
import unicodedata
import urllib.parse

import harness

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "title")
COMPANY_FIELDS = ("name", "domain", "industry")

PEOPLE = [
    {"first_name": "Henrike", "last_name": "Schmidtke", "email": "h.schmidtke@prefix.example",
     "title": "Procurement Director"},
    {"first_name": "Jürgen", "last_name": "Müller", "email": "jm@prefix.example"},
    {"first_name": "Zoë", "last_name": "Żak", "title": "Buyer"},
    {"first_name": "Anna", "last_name": "Schmidt", "phone": "+49 30 1234567"},
    {"first_name": "Mara", "last_name": "Muller-Lüdenscheidt"},
    {"first_name": "Bartholomew", "last_name": "Oppenheimerstrasse"},
    {"first_name": "Sc", "last_name": "S"},
]
COMPANY_NAMES = [
    {"name": "Fjordquill Shipping", "domain": "fjordquill.example", "industry": "Logistics"},
    {"name": "Fjord Foods", "industry": "Food"},
    {"name": "Müllerei Schmidtke", "industry": "Manufacturing"},
]


def words(text):
    """The tokens of unicode61 remove_diacritics 2, for the texts of these tests: runs of
    letters and digits, lower case, accents removed."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text or "")
                     if not unicodedata.combining(c))
    return [w for w in re.split(r"[^0-9a-z]+", folded.lower()) if w]


def expected(records, fields, prefix):
    """The ids of the records with a word that starts with every word of the query."""
    query = words(prefix)
    return {r["id"] for r in records
            if all(any(w.startswith(q) for f in fields for w in words(r.get(f)))
                   for q in query)}


def prefixes(word):
    """Every prefix of the word, in characters, one letter to the whole word."""
    return [word[:n] for n in range(1, len(word) + 1)]


def prefix_lengths(db_path, table):
    sql = harness.sql_rows(db_path, "SELECT sql FROM sqlite_master WHERE name = ?", table)[0][0]
    match = re.search(r"prefix\s*=\s*'([0-9 ]*)'", sql)
    return [int(n) for n in match.group(1).split()] if match else []


def check_indexes(test, db_path, tables=("contacts_fts", "companies_fts")):
    """FTS5 integrity check against the content table (a row indexed twice or missing
    fails it), and nothing left in fts_pending."""
    connection = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                connection.execute("INSERT INTO %s (%s, rank) VALUES ('integrity-check', 1)"
                                   % (table, table))
        finally:
            connection.execute("ROLLBACK")
        test.assertEqual([], connection.execute("SELECT * FROM fts_pending").fetchall())
    finally:
        connection.close()


class SearchChecks:
    """Searches and their expected answers, shared by both test classes."""

    def search(self, path, text):
        return set(self.list_all_ids(path, "q=" + urllib.parse.quote(text)))

    def all_records(self, path):
        records = []
        for record_id in self.list_all_ids(path):
            status, _, record = self.api("GET", "%s/%d" % (path, record_id), key=self.admin_key)
            self.assertEqual(200, status, record)
            records.append(record)
        return records

    def check_prefixes(self, path, fields, texts):
        """Every prefix of every word of each text (and the word in capitals) finds exactly
        the records with a word that starts with it, the text's record among them: texts
        is a list of (text, record id)."""
        records = self.all_records(path)
        for text, record_id in texts:
            for word in words(text):
                for prefix in prefixes(word) + [word.upper()]:
                    found = self.search(path, prefix)
                    self.assertEqual(expected(records, fields, prefix), found, prefix)
                    self.assertIn(record_id, found, prefix)


class SearchPrefixesTest(SearchChecks, harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contacts = [cls.server.request("POST", CONTACTS, p, key=cls.admin_key)[2]
                        for p in PEOPLE]
        cls.companies = [cls.server.request("POST", COMPANIES, c, key=cls.admin_key)[2]
                         for c in COMPANY_NAMES]

    def test_prefix_indexes_of_the_migration(self):
        for table in ("contacts_fts", "companies_fts"):
            lengths = prefix_lengths(self.server.db_path, table)
            # every word of the search benchmark (2 to 7 characters), and one letter
            self.assertTrue(set(range(1, 8)) <= set(lengths), (table, lengths))
        self.assertEqual([2, 3], prefix_lengths(self.server.db_path, "interactions_fts"))

    def test_every_prefix_of_contact_names(self):
        by_name = {c["last_name"]: c["id"] for c in self.contacts}
        texts = [("Schmidtke henrike procurement", by_name["Schmidtke"]),
                 ("h.schmidtke@prefix.example", by_name["Schmidtke"]),
                 ("Oppenheimerstrasse Bartholomew", by_name["Oppenheimerstrasse"]),
                 ("Muller-Lüdenscheidt", by_name["Muller-Lüdenscheidt"]),
                 ("+49 30 1234567", by_name["Schmidt"])]
        self.check_prefixes(CONTACTS, CONTACT_FIELDS, texts)
        # "schmidt" finds Schmidt and Schmidtke; a longer word only Schmidtke
        self.assertEqual({by_name["Schmidt"], by_name["Schmidtke"]},
                         self.search(CONTACTS, "schmidt") & set(by_name.values()))
        self.assertEqual({by_name["Schmidtke"]}, self.search(CONTACTS, "schmidtk"))
        self.assertEqual(set(), self.search(CONTACTS, "schmidtkes"))
        # several words: each one a prefix
        self.assertEqual({by_name["Schmidtke"]}, self.search(CONTACTS, "hen schm"))
        self.assertEqual({by_name["Schmidt"]}, self.search(CONTACTS, "a schmidt"))

    def test_diacritics_are_folded(self):
        by_name = {c["last_name"]: c["id"] for c in self.contacts}
        muellers = {by_name["Müller"], by_name["Muller-Lüdenscheidt"]}
        for text in ("muller", "müller", "MÜLLER", "mül", "mu", "m\u0075\u0308ller"):
            self.assertEqual(muellers, self.search(CONTACTS, text) & muellers, text)
        self.assertIn(by_name["Müller"], self.search(CONTACTS, "jurgen"))
        self.assertIn(by_name["Müller"], self.search(CONTACTS, "jür"))
        self.assertEqual({by_name["Muller-Lüdenscheidt"]}, self.search(CONTACTS, "ludensch"))
        self.assertEqual({by_name["Żak"]}, self.search(CONTACTS, "zak"))
        self.assertEqual({by_name["Żak"]}, self.search(CONTACTS, "żA"))
        self.assertIn(by_name["Żak"], self.search(CONTACTS, "z"))
        self.assertIn(by_name["Żak"], self.search(CONTACTS, "zoe"))
        self.check_prefixes(CONTACTS, CONTACT_FIELDS,
                            [("Jürgen Müller", by_name["Müller"]), ("Zoë Żak", by_name["Żak"])])

    def test_every_prefix_of_company_names(self):
        by_name = {c["name"]: c["id"] for c in self.companies}
        self.check_prefixes(COMPANIES, COMPANY_FIELDS,
                            [("Fjordquill Shipping", by_name["Fjordquill Shipping"]),
                             ("fjordquill.example logistics", by_name["Fjordquill Shipping"]),
                             ("Müllerei", by_name["Müllerei Schmidtke"])])
        self.assertEqual({by_name["Fjordquill Shipping"], by_name["Fjord Foods"]},
                         self.search(COMPANIES, "fjord"))
        self.assertEqual({by_name["Fjordquill Shipping"]}, self.search(COMPANIES, "fjordq"))

    def test_updates_and_deletes_keep_the_prefix_indexes_right(self):
        status, _, record = self.api("POST", CONTACTS, {"first_name": "Quentavius",
                                                        "last_name": "Brightwater"},
                                     key=self.admin_key)
        self.assertEqual(201, status, record)
        for prefix in prefixes("quentavius"):
            self.assertIn(record["id"], self.search(CONTACTS, prefix), prefix)
        status, _, _ = self.api("PATCH", "%s/%d" % (CONTACTS, record["id"]),
                                {"first_name": "Wilhelmina"},
                                key=self.admin_key, headers={"If-Match": '"1"'})
        self.assertEqual(200, status)
        for prefix in prefixes("quentavius")[1:]:
            self.assertNotIn(record["id"], self.search(CONTACTS, prefix), prefix)
        for prefix in prefixes("wilhelmina"):
            self.assertIn(record["id"], self.search(CONTACTS, prefix), prefix)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (CONTACTS, record["id"]),
                                       key=self.admin_key)[0])
        for prefix in prefixes("wilhelmina") + prefixes("brightwater"):
            self.assertNotIn(record["id"], self.search(CONTACTS, prefix), prefix)
        check_indexes(self, self.server.db_path)


def apply_migrations(db_path, start, stop):
    """Applies the migrations numbered start <= n < stop the way db.c does (each in one
    transaction, then recorded): a database as an older crmd left it."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))")
        for path in sorted(glob.glob(os.path.join(MIGRATIONS, "[0-9]*.sql"))):
            name = os.path.basename(path)
            number = int(re.match(r"\d+", name).group(0))
            if number < start or number >= stop:
                continue
            with open(path, encoding="utf-8") as migration:
                text = migration.read()
            connection.executescript(
                "BEGIN IMMEDIATE;\n%s\n;INSERT INTO schema_migrations (version, name)"
                " VALUES (%d, '%s');\nCOMMIT;" % (text, number, name))
    finally:
        connection.close()


def insert_rows(db_path, people, companies):
    """Contacts and companies written with SQL, their triggers as the schema has them."""
    now = "2026-12-01T00:00:00Z"
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for person in people:
            connection.execute(
                "INSERT INTO contacts (first_name, last_name, email, phone, title, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [person.get(f) for f in CONTACT_FIELDS] + [now, now])
        for company in companies:
            connection.execute(
                "INSERT INTO companies (name, domain, industry, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", [company.get(f) for f in COMPANY_FIELDS] + [now, now])
        connection.execute("COMMIT")
    finally:
        connection.close()


class SearchAfterMigrationTest(SearchChecks, harness.ServerTestCase):
    """A database at schema 0010 with contacts and companies indexed by 0001's triggers,
    then 0011 and more rows (those wait in fts_pending: written without crmd's commit),
    then crmctl migrate: 0012 rebuilds both indexes."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(extra_args=cls.server_args)
        db_path = cls.server.db_path
        apply_migrations(db_path, 1, 11)
        insert_rows(db_path, PEOPLE[:4], COMPANY_NAMES[:2])
        apply_migrations(db_path, 11, 12)
        insert_rows(db_path, PEOPLE[4:], COMPANY_NAMES[2:])
        cls.pending_before = harness.sql_rows(db_path, "SELECT count(*) FROM fts_pending")[0][0]
        migrated = harness.crmctl(db_path, "migrate")
        cls.migrate_output = migrated.stdout
        cls.admin_id, cls.admin_key = cls.make_user(cls.admin_email, "admin",
                                                    password=cls.admin_password, name="Admin")
        cls.server.start()

    def test_old_records_are_found_after_the_migration(self):
        self.assertGreater(self.pending_before, 0)  # the fts_pending case was tested
        self.assertIn("is at schema version", self.migrate_output)
        self.assertTrue(set(range(1, 8)) <= set(prefix_lengths(self.server.db_path,
                                                                "contacts_fts")))
        check_indexes(self, self.server.db_path)
        contacts = {r["last_name"]: r["id"] for r in self.all_records(CONTACTS)}
        companies = {r["name"]: r["id"] for r in self.all_records(COMPANIES)}
        self.assertEqual(len(PEOPLE), len(contacts))
        self.check_prefixes(CONTACTS, CONTACT_FIELDS,
                            [("Schmidtke", contacts["Schmidtke"]),  # indexed before 0011
                             ("Jürgen Müller", contacts["Müller"]),
                             ("Oppenheimerstrasse", contacts["Oppenheimerstrasse"]),  # pending
                             ("Muller-Lüdenscheidt", contacts["Muller-Lüdenscheidt"])])
        self.check_prefixes(COMPANIES, COMPANY_FIELDS,
                            [("Fjordquill", companies["Fjordquill Shipping"]),
                             ("Müllerei Schmidtke", companies["Müllerei Schmidtke"])])
        # created after the migration: found with the old ones
        status, _, record = self.api("POST", CONTACTS, {"first_name": "Henrietta",
                                                        "last_name": "Schmidtkowski"},
                                     key=self.admin_key)
        self.assertEqual(201, status, record)
        self.assertEqual({contacts["Schmidtke"], record["id"]}, self.search(CONTACTS, "schmidtk"))
        self.assertEqual({contacts["Schmidtke"], contacts["Schmidt"], record["id"]},
                         self.search(CONTACTS, "schmidt"))
        self.assertEqual({contacts["Schmidtke"], record["id"]}, self.search(CONTACTS, "hen"))
        check_indexes(self, self.server.db_path)

