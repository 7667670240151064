"""test_cli_import_export.py - crmctl import contacts and crmctl export contacts: a
100,000-row CSV imports in seconds with progress lines on stderr; a bad row changes
nothing and is named on stderr (exit 1); --dedupe email, --dry-run, --owner, stdin;
export as CSV (formula cells guarded) and JSON; export -> import round trips (into the
same database: all unchanged; into a fresh one: the same contacts); usage errors exit 2."""
import csv
import io
import json
import os
import subprocess
import tempfile
import time
import unittest

import csv_checks
import harness


rows = harness.sql_rows


def without_volatile(text):
    """An export's rows without the columns a fresh database numbers or stamps anew."""
    reader = csv.DictReader(io.StringIO(text))
    return [{k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")}
            for row in reader]


class ImportExportTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")

    def tearDown(self):
        self.directory.cleanup()

    def write(self, name, text):
        path = os.path.join(self.directory.name, name)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        return path

    def test_large_import_with_progress(self):
        path = os.path.join(self.directory.name, "big.csv")
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["First Name", "Last Name", "E-mail", "Phone", "Company", "Tags"])
            for i in range(100000):
                writer.writerow(["First%d" % i, "Last%d" % (i % 997), "p%d@big.example" % i,
                                 "+1 555 %07d" % i, "Company %d" % (i % 2000),
                                 "a;b" if i % 3 else ""])
        started = time.monotonic()
        process = subprocess.run([harness.CRMCTL, "--db", self.db, "import", "contacts", path],
                                 capture_output=True, text=True, env=harness.ENV, timeout=900)
        seconds = time.monotonic() - started
        harness.check_sanitizer_output(process.stderr, "crmctl import")
        self.assertEqual(0, process.returncode, process.stderr[-2000:])
        self.assertIn("imported 100000 rows: 100000 created, 0 updated, 0 unchanged, "
                      "2000 companies created", process.stdout)
        progress = [line for line in process.stderr.splitlines() if line.startswith("import: ")]
        self.assertIn("import: 10000 rows checked", "\n".join(progress))
        self.assertIn("import: 100000 of 100000 rows written", "\n".join(progress))
        self.assertGreaterEqual(len(progress), 20, progress)
        self.assertEqual(100000, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertEqual(100000, rows(self.db, "SELECT count(*) FROM audit_log WHERE "
                                               "entity = 'contacts' AND actor = 'crmctl'")[0][0])
        # seconds, not minutes (generous: sanitizer builds on a busy machine are slower)
        self.assertLess(seconds, 300, "100,000 rows took %.0f s" % seconds)
        print("\n100,000-row import: %.1f s" % seconds)

    def test_a_bad_row_changes_nothing(self):
        path = self.write("bad.csv", "first_name,email\nGood,good@x.example\n"
                                     "Bad,bad-address\nAlso,also@x.example\n")
        result = harness.crmctl(self.db, "import", "contacts", path, check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("line 3: email: not a valid address", result.stderr)
        self.assertIn("nothing was imported", result.stderr)
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM audit_log "
                                          "WHERE entity = 'contacts'")[0][0])
        result = harness.crmctl(self.db, "import", "contacts",
                                os.path.join(self.directory.name, "missing.csv"), check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn("cannot open", result.stderr)

    def test_a_blank_company_name_is_a_row_error(self):
        # white space that the CSV reader keeps but a name loses (found by fuzz_contacts_import):
        # the company would be created with no name; the row is refused instead
        path = self.write("blank.csv", "first_name,company\nAnn,Acme\nBtago, \f   \n")
        result = harness.crmctl(self.db, "import", "contacts", path, check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("line 3: company:", result.stderr)
        self.assertIn("cannot be a company's name", result.stderr)
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM companies")[0][0])

    def test_dedupe_dry_run_owner_and_stdin(self):
        harness.crmctl(self.db, "user", "add", "owner@example.com", "--name", "Owner",
                       "--role", "rep", "--password-stdin", stdin="password-123\n")
        first = self.write("first.csv", "email,first_name\nann@x.example,Ann\nbob@x.example,Bob\n")
        result = harness.crmctl(self.db, "import", "contacts", first, "--owner",
                                "owner@example.com")
        self.assertIn("2 created", result.stdout)
        owner = rows(self.db, "SELECT id FROM users WHERE email = 'owner@example.com'")[0][0]
        self.assertEqual([(owner,), (owner,)], rows(self.db, "SELECT owner_id FROM contacts"))
        second = "email,title\nANN@x.example,CEO\ncid@x.example,\n"
        result = harness.crmctl(self.db, "import", "contacts", "-", "--dedupe", "email",
                                "--dry-run", stdin=second)
        self.assertIn("dry run, nothing written: 2 rows: 1 created, 1 updated", result.stdout)
        self.assertEqual(2, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        harness.crmctl(self.db, "import", "contacts", "-", "--dedupe=email", stdin=second)
        # the address matched without case; the row's spelling is stored
        self.assertEqual([("Ann", "CEO", 2, "ANN@x.example")],
                         rows(self.db, "SELECT first_name, title, version, email FROM contacts "
                                       "WHERE email = 'ann@x.example' COLLATE NOCASE"))
        self.assertEqual(3, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        for args in (["--dedupe", "phone"], ["--owner"], ["--bogus"], []):
            result = harness.crmctl(self.db, "import", "contacts", *([first] if args else []),
                                    *args, check=False)
            self.assertEqual(2, result.returncode, (args, result))
        result = harness.crmctl(self.db, "import", "contacts", first, "--owner",
                                "nobody@example.com", check=False)
        self.assertEqual(1, result.returncode)

    def test_export_guards_formulas_and_round_trips(self):
        text = ("first_name,last_name,email,phone,title,company,tags,custom,consent_email,"
                "lifecycle,external_id\n"
                "\"'=HYPERLINK(\"\"http://x.example\"\")\",Doe,doe@x.example,'+1 555 0100,"
                "'@home,Acme,\"'-minus;plain\",\"{\"\"a\"\":1}\",true,customer,ext-1\n"
                "Plain,\"O'Brien, Jr.\",plain@x.example,,,,,,,,\n")
        harness.crmctl(self.db, "import", "contacts", self.write("in.csv", text))
        exported = harness.crmctl(self.db, "export", "contacts").stdout
        self.assertTrue(exported.startswith("id,first_name,last_name,email,phone,title,"
                                            "company_id,company,owner_id,"))
        records = list(csv.DictReader(io.StringIO(exported)))
        self.assertEqual(2, len(records))
        doe = records[0]
        # no cell a spreadsheet would run: each formula start is behind a quote
        self.assertEqual("'=HYPERLINK(\"http://x.example\")", doe["first_name"])
        self.assertEqual("'+1 555 0100", doe["phone"])
        self.assertEqual("'@home", doe["title"])
        self.assertEqual("'-minus;plain", doe["tags"])
        self.assertEqual(("Acme", "true", '{"a":1}'), (doe["company"], doe["consent_email"],
                                                       doe["custom"]))
        for record in records:
            for value in record.values():
                self.assertFalse(value[:1] in ("=", "+", "-", "@", "\t", "\r"), value)
        # the values stored are the ones given
        self.assertEqual([("=HYPERLINK(\"http://x.example\")", "+1 555 0100", "@home",
                           '["-minus","plain"]')],
                         rows(self.db, "SELECT first_name, phone, title, tags FROM contacts "
                                       "WHERE email = 'doe@x.example'"))
        # round trip into the same database: nothing changes
        again = harness.crmctl(self.db, "import", "contacts", "-", "--dedupe", "email",
                               stdin=exported)
        self.assertIn("2 rows: 0 created, 0 updated", again.stdout)
        self.assertEqual(2, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        # into a fresh database (without the company ids, which belong to this one)
        fresh = os.path.join(self.directory.name, "fresh.db")
        harness.crmctl(fresh, "init")
        portable = [{k: v for k, v in r.items() if k != "company_id"} for r in records]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(portable[0]))
        writer.writeheader()
        writer.writerows(portable)
        harness.crmctl(fresh, "import", "contacts", "-", stdin=out.getvalue())
        exported_fresh = harness.crmctl(fresh, "export", "contacts").stdout
        strip = lambda rs: [{k: v for k, v in r.items() if k != "company_id"} for r in rs]
        self.assertEqual(strip(without_volatile(exported)), strip(without_volatile(exported_fresh)))

    def test_export_guards_every_piece_and_round_trips(self):
        """Issue 16: a formula after ';' inside a cell and in every tag is guarded; the
        guards come off again on import (a quote written before a guard quote is the
        text's own: a;''=b is the text a;'=b)."""
        text = ("first_name,last_name,email,tags,title\n"
                "\"x;=3+4;\",csvtest,csv@x.example,\"=2+5;+cmd|x!A0\",\"a;''=b, @c\"\n")
        harness.crmctl(self.db, "import", "contacts", self.write("in.csv", text))
        self.assertEqual([("x;=3+4;", '["=2+5","+cmd|x!A0"]', "a;'=b, @c")],
                         rows(self.db, "SELECT first_name, tags, title FROM contacts"))
        exported = harness.crmctl(self.db, "export", "contacts").stdout
        csv_checks.assert_pieces_inert(self, exported)
        record, = csv.DictReader(io.StringIO(exported))
        self.assertEqual(("x;'=3+4;", "'=2+5;'+cmd|x!A0", "a;''=b,' @c"),
                         (record["first_name"], record["tags"], record["title"]))
        fresh = os.path.join(self.directory.name, "fresh.db")
        harness.crmctl(fresh, "init")
        harness.crmctl(fresh, "import", "contacts", "-", stdin=exported)
        self.assertEqual(rows(self.db, "SELECT first_name, tags, title FROM contacts"),
                         rows(fresh, "SELECT first_name, tags, title FROM contacts"))

    def test_json_export_and_usage(self):
        harness.crmctl(self.db, "import", "contacts", "-",
                       stdin="first_name,email\nJ,j@x.example\nK,k@x.example\n")
        erased = rows(self.db, "SELECT id FROM contacts WHERE email = 'k@x.example'")[0][0]
        harness.crmctl(self.db, "gdpr", "erase", str(erased))
        records = json.loads(harness.crmctl(self.db, "export", "contacts", "--format",
                                            "json").stdout)
        self.assertEqual(["j@x.example"], [r["email"] for r in records])
        self.assertIn("version", records[0])
        self.assertEqual(2, len(harness.crmctl(self.db, "export", "contacts").stdout
                                .strip().splitlines()))
        empty = os.path.join(self.directory.name, "empty.db")
        harness.crmctl(empty, "init")
        self.assertEqual([], json.loads(harness.crmctl(empty, "export", "contacts",
                                                       "--format=json").stdout))
        for args in (["--format", "xml"], ["--format"], ["extra"]):
            result = harness.crmctl(self.db, "export", "contacts", *args, check=False)
            self.assertEqual(2, result.returncode, (args, result))
        self.assertIn("export contacts [--format csv|json]",
                      harness.crmctl(self.db, "export", "contacts", "--help").stdout)
        self.assertIn("--dedupe email", harness.crmctl(self.db, "import", "contacts",
                                                       "--help").stdout)

    def test_map_and_ignore_columns(self):
        text = ("Primary E-Mail,Firm,Given,Fax\n"
                "mia@map.example,Map Firm,Mia,+1 555 0101\n"
                "otto@map.example,,Otto,\n")
        path = self.write("other-crm.csv", text)
        # unknown columns are errors that name each column and say how to map it
        result = harness.crmctl(self.db, "import", "contacts", path, check=False)
        self.assertEqual(1, result.returncode, result)
        for column in ("Primary E-Mail", "Firm", "Given", "Fax"):
            self.assertIn("line 1: %s: unknown column: map it" % column, result.stderr)
        mapping = ["--map", "Primary E-Mail=email", "--map=Firm=company_name",
                   "--map", "Given=first_name", "--ignore", "Fax"]
        result = harness.crmctl(self.db, "import", "contacts", path, "--dry-run", *mapping)
        self.assertIn("dry run, nothing written: 2 rows: 2 created", result.stdout)
        self.assertEqual(0, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        result = harness.crmctl(self.db, "import", "contacts", path, *mapping)
        self.assertIn("2 created, 0 updated, 0 unchanged, 1 companies created", result.stdout)
        self.assertEqual([("Mia", "mia@map.example", "Map Firm", None),
                          ("Otto", "otto@map.example", None, None)],
                         rows(self.db, "SELECT c.first_name, c.email, m.name, c.phone "
                                       "FROM contacts c LEFT JOIN companies m "
                                       "ON m.id = c.company_id ORDER BY c.id"))
        # with --dedupe email through the mapped column (and a custom member)
        result = harness.crmctl(self.db, "import", "contacts", "-", "--dedupe", "email",
                                "--map", "Primary E-Mail=email", "--map", "Note=custom.note",
                                stdin="Primary E-Mail,Note\nMIA@map.example,hello\n")
        self.assertIn("0 created, 1 updated", result.stdout)
        self.assertEqual([('{"note":"hello"}',)],
                         rows(self.db, "SELECT custom FROM contacts WHERE first_name = 'Mia'"))
        # the same mappings from a file (comments, blank lines and CRLF allowed)
        mapping_file = self.write("mapping.txt", "# from the other CRM\r\n\r\n"
                                                 "Primary E-Mail=email\r\nGiven=first_name\n"
                                                 "Firm = company_name\n")
        result = harness.crmctl(self.db, "import", "contacts", path, "--dry-run", "--dedupe",
                                "email", "--map-file", mapping_file, "--ignore", "Fax")
        # (Mia's address was stored as MIA@ by the dedupe import above: her row updates it)
        self.assertIn("dry run, nothing written: 2 rows: 0 created, 1 updated, 1 unchanged",
                      result.stdout)
        bad_file = self.write("bad-mapping.txt", "Primary E-Mail=email\nGiven\n")
        result = harness.crmctl(self.db, "import", "contacts", path, "--map-file", bad_file,
                                check=False)
        self.assertEqual(2, result.returncode, result)
        self.assertIn("bad-mapping.txt line 2: a mapping is HEADER=FIELD", result.stderr)
        result = harness.crmctl(self.db, "import", "contacts", path, "--map-file",
                                os.path.join(self.directory.name, "absent.txt"), check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("cannot open", result.stderr)
        # usage errors (exit 2): a target that is no field, a malformed mapping, twice
        for args, words in ((["--map", "Firm=shoe_size"], "unknown field 'shoe_size'"),
                            (["--map", "Firm"], "HEADER=FIELD"),
                            (["--map"], "--map needs a value"),
                            (["--ignore", ""], "needs a name"),
                            (["--map", "Firm=title", "--ignore", "firm"], "twice")):
            result = harness.crmctl(self.db, "import", "contacts", path, *args, check=False)
            self.assertEqual(2, result.returncode, (args, result))
            self.assertIn(words, result.stderr)
        # a mapped column the file does not have: named at line 1, nothing imported
        result = harness.crmctl(self.db, "import", "contacts", path, *mapping,
                                "--map", "Phone Number 2=phone", check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("line 1: Phone Number 2: a mapped column that the file does not have",
                      result.stderr)
        self.assertEqual(2, rows(self.db, "SELECT count(*) FROM contacts")[0][0])
        self.assertIn("--map", harness.crmctl(self.db, "import", "contacts", "--help").stdout)
