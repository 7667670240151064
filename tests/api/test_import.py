"""test_import.py - POST /api/v1/contacts/import (text/csv): header aliases, RFC 4180
(BOM, CRLF, quotes, line breaks in quoted cells), companies by name (found or created), all
or nothing (one bad row: 422 naming its line and field, nothing written), dedupe on email,
dry runs, formula guards read back, permissions and defaults of the caller, audit entries
per record, and bad requests."""
import json
import re

import harness

IMPORT = "/api/v1/contacts/import"


sql_rows = harness.sql_rows


class ImportTestCase(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")

    def send(self, text, query="", key=None, content_type="text/csv; charset=utf-8"):
        raw = text.encode("utf-8") if isinstance(text, str) else text
        return self.api("POST", IMPORT + query, raw=raw, content_type=content_type,
                        key=key or self.admin_key)

    def count(self, table):
        return sql_rows(self.server.db_path, "SELECT count(*) FROM %s" % table)[0][0]

    def contact_by_email(self, email):
        status, _, page = self.api("GET", "/api/v1/contacts?email=" + email, key=self.admin_key)
        self.assertEqual(200, status, page)
        return page["data"]


class ImportBasicsTest(ImportTestCase):
    def test_aliases_quotes_and_companies(self):
        text = ("\ufeffFirst Name,Last Name,E-mail,Phone,Company,Tags,Lifecycle,custom.note,"
                "consent_email,relationship_level\r\n"
                "Ada,Lovelace,ada@import.example,'+44 20 7946 0000,Analytical Engines,"
                "\"vip; pioneer ;\",customer,\"line one\r\nline \"\"two\"\"\",yes,5\r\n"
                "\"Hopper, Grace\",,grace@import.example,,Analytical Engines,,,,no,\r\n"
                "\r\n"
                "Alan,Turing,alan@import.example,,Bletchley Park,,lead,,,\r\n")
        companies = self.count("companies")
        status, _, report = self.send(text)
        self.assertEqual(200, status, report)
        self.assertEqual({"rows": 3, "created": 3, "updated": 0, "unchanged": 0,
                          "companies_created": 2, "dry_run": False, "written": True,
                          "errors": [], "errors_truncated": False}, report)
        self.assertEqual(companies + 2, self.count("companies"))
        ada = self.contact_by_email("ada@import.example")[0]
        self.assertEqual(("Ada", "Lovelace", "+44 20 7946 0000", "customer", 5),
                         (ada["first_name"], ada["last_name"], ada["phone"], ada["lifecycle"],
                          ada["relationship_level"]))
        self.assertEqual(["vip", "pioneer"], ada["tags"])
        self.assertEqual({"note": "line one\r\nline \"two\""}, ada["custom"])
        self.assertTrue(ada["consent"]["email"])
        self.assertIsNotNone(ada["consent"]["recorded_at"])
        self.assertEqual(self.admin_id, ada["owner_id"])
        grace = self.contact_by_email("grace@import.example")[0]
        self.assertEqual("Hopper, Grace", grace["first_name"])
        self.assertFalse(grace["consent"]["email"])
        self.assertEqual(ada["company_id"], grace["company_id"])
        alan = self.contact_by_email("alan@import.example")[0]
        self.assertNotEqual(ada["company_id"], alan["company_id"])
        status, _, company = self.api("GET", "/api/v1/companies/%d" % alan["company_id"],
                                      key=self.admin_key)
        self.assertEqual("Bletchley Park", company["name"])
        # an existing company is found by its name, not made again
        status, _, report = self.send("name,company\nCharles,Bletchley Park\n".replace(
            "name", "first_name"))
        self.assertEqual((200, 0), (status, report["companies_created"]), report)
        # each record is audited
        entries = sql_rows(self.server.db_path, "SELECT action, actor, user_id FROM audit_log "
                           "WHERE entity = 'contacts' AND entity_id = ?", ada["id"])
        self.assertEqual([("create", "api", self.admin_id)], entries)

    def test_one_bad_row_changes_nothing(self):
        before = (self.count("contacts"), self.count("companies"), self.count("audit_log"))
        text = ("first_name,email,company,relationship_level,lifecycle\n"
                "Good,good@bad-file.example,New Company For Nothing,1,lead\n"
                "Bad,not-an-address,,2,lead\n"
                "Worse,worse@bad-file.example,,9,sometimes\n")
        body = self.assertProblem(self.send(text), 422)
        errors = {(e["line"], e["field"]) for e in body["errors"]}
        self.assertEqual({(3, "email"), (4, "relationship_level"), (4, "lifecycle")}, errors)
        self.assertIn("line 3", body["detail"])
        self.assertIn("nothing was imported", body["detail"])
        self.assertEqual((False, 3), (body["written"], body["rows"]))
        self.assertEqual(before, (self.count("contacts"), self.count("companies"),
                                  self.count("audit_log")))
        self.assertEqual([], self.contact_by_email("good@bad-file.example"))

    def test_bad_files(self):
        cases = [
            ("", 1, "(header)"),
            ("first_name,shoe_size\nAda,42\n", 1, "shoe_size"),
            ("first_name,First Name\nAda,Ada\n", 1, "First Name"),
            ("first_name,email\nAda,\"open\n", 2, "(file)"),
            ("first_name,email\nAda,a\"b@x.example\n", 2, "(file)"),
            ("first_name\nAda,extra\n", 2, "(row)"),
            ("last_name,tags\n,a\n", 2, "first_name"),
            ("first_name,custom\nAda,[1]\n", 2, "custom"),
            ("first_name,company_id\nAda,99999\n", 2, "company_id"),
            ("first_name,owner_email\nAda,nobody@nowhere.example\n", 2, "owner_email"),
            ("first_name,consent_email\nAda,perhaps\n", 2, "consent.email"),
            ("first_name,tags\nAda,\"a;" + "x" * 70 + "\"\n", 2, "tags"),
        ]
        for text, line, field in cases:
            with self.subTest(text=text):
                body = self.assertProblem(self.send(text), 422)
                self.assertIn((line, field), [(e["line"], e["field"]) for e in body["errors"]],
                              body)
        body = self.assertProblem(self.send(b"first_name\n\xff\xfe\n"), 422)
        self.assertEqual("first_name", body["errors"][0]["field"])
        # a NUL byte: the HTTP layer refuses such bodies before the import reads them
        self.assertProblem(self.send(b"first_name\nA\x00da\n"), 400)

    def test_formula_guards_are_read_back(self):
        text = "first_name,title,phone\n'=SUM(A1),'@home,'+1 555 0100\n"
        status, _, report = self.send(text)
        self.assertEqual(200, status, report)
        status, _, page = self.api("GET", "/api/v1/contacts?q=SUM", key=self.admin_key)
        found = [c for c in page["data"] if c["first_name"] == "=SUM(A1)"]
        self.assertEqual(1, len(found), page)
        self.assertEqual(("@home", "+1 555 0100"), (found[0]["title"], found[0]["phone"]))

    def test_requests(self):
        self.assertProblem(self.send("first_name\nAda\n", content_type="application/json"), 415)
        self.assertProblem(self.send("first_name\nAda\n", content_type=None), 415)
        for query in ("?dedupe=phone", "?dry_run=yes", "?bogus=1", "?dedupe=email&dedupe=none"):
            self.assertProblem(self.send("first_name\nAda\n", query=query), 400)
        self.assertProblem(self.send("first_name\n" + "x" * (1024 * 1024 + 10) + "\n"), 413)
        status, _, _ = self.api("POST", IMPORT, raw=b"first_name\nAda\n", content_type="text/csv")
        self.assertEqual(401, status)


class ImportDedupeTest(ImportTestCase):
    def test_dedupe_updates_instead_of_duplicating(self):
        status, _, existing = self.api("POST", "/api/v1/contacts",
                                       {"first_name": "Old", "email": "Same@Dedupe.example",
                                        "phone": "123", "tags": ["keep"]}, key=self.admin_key)
        self.assertEqual(201, status)
        text = ("email,first_name,phone,title\n"
                "same@dedupe.example,New,,CTO\n"
                "fresh@dedupe.example,Fresh,,\n")
        # a dry run reports and writes nothing
        status, _, report = self.send(text, "?dedupe=email&dry_run=true")
        self.assertEqual(200, status, report)
        self.assertEqual((1, 1, 0, True, False), (report["created"], report["updated"],
                                                  report["unchanged"], report["dry_run"],
                                                  report["written"]))
        self.assertEqual([], self.contact_by_email("fresh@dedupe.example"))
        self.assertEqual(1, self.api("GET", "/api/v1/contacts/%d" % existing["id"],
                                     key=self.admin_key)[2]["version"])
        # the real thing: the existing contact is updated, empty cells change nothing
        status, _, report = self.send(text, "?dedupe=email")
        self.assertEqual(200, status, report)
        self.assertEqual((1, 1, 0), (report["created"], report["updated"], report["unchanged"]))
        status, _, updated = self.api("GET", "/api/v1/contacts/%d" % existing["id"],
                                      key=self.admin_key)
        self.assertEqual(("New", "123", "CTO", ["keep"], 2),
                         (updated["first_name"], updated["phone"], updated["title"],
                          updated["tags"], updated["version"]))
        self.assertEqual(1, len(self.contact_by_email("same@dedupe.example")))
        entries = sql_rows(self.server.db_path, "SELECT action FROM audit_log WHERE entity = "
                           "'contacts' AND entity_id = ? ORDER BY id", existing["id"])
        self.assertEqual([("create",), ("update",)], entries)
        # again: nothing changes
        status, _, report = self.send(text, "?dedupe=email")
        self.assertEqual((0, 0, 2), (report["created"], report["updated"], report["unchanged"]))
        # without dedupe, a second contact with the address is made
        status, _, report = self.send("email\nfresh@dedupe.example\n")
        self.assertEqual(1, report["created"])
        self.assertEqual(2, len(self.contact_by_email("fresh@dedupe.example")))

    def test_the_same_address_twice_in_a_file(self):
        text = "email,first_name\ntwice@dedupe.example,A\nTWICE@dedupe.example,B\n"
        body = self.assertProblem(self.send(text, "?dedupe=email"), 422)
        self.assertEqual([(3, "email")], [(e["line"], e["field"]) for e in body["errors"]])
        self.assertIn("line 2", body["errors"][0]["message"])
        status, _, _ = self.send(text)
        self.assertEqual(200, status)
        body = self.assertProblem(self.send("first_name,external_id\nA,x1\nB,x1\n"), 422)
        self.assertEqual([(3, "external_id")], [(e["line"], e["field"]) for e in body["errors"]])


class ImportPermissionsTest(ImportTestCase):
    def test_who_may_import_what(self):
        self.assertProblem(self.send("first_name\nAda\n", key=self.viewer_key), 403)
        _, read_only = self.make_user("ro@example.com", "admin", read_only=True)
        self.assertProblem(self.send("first_name\nAda\n", key=read_only), 403)
        # a rep imports their own contacts
        status, _, report = self.send("first_name,email\nRepped,repped@perm.example\n",
                                      key=self.rep_key)
        self.assertEqual(200, status, report)
        contact = self.contact_by_email("repped@perm.example")[0]
        self.assertEqual(self.rep_id, contact["owner_id"])
        entries = sql_rows(self.server.db_path, "SELECT user_id FROM audit_log WHERE entity = "
                           "'contacts' AND entity_id = ?", contact["id"])
        self.assertEqual([(self.rep_id,)], entries)
        # but not contacts of others, nor changes to others' contacts
        body = self.assertProblem(self.send("first_name,owner_id\nTheirs,%d\n" % self.admin_id,
                                            key=self.rep_key), 422)
        self.assertEqual("owner_id", body["errors"][0]["field"])
        self.api("POST", "/api/v1/contacts", {"first_name": "Admins", "email": "a@perm.example"},
                 key=self.admin_key)
        body = self.assertProblem(self.send("email,title\na@perm.example,Boss\n", "?dedupe=email",
                                            key=self.rep_key), 422)
        self.assertEqual("email", body["errors"][0]["field"])
        # and creating companies needs the companies write scope (a rep has own: fine)
        status, _, report = self.send("first_name,company\nX,Rep Company\n", key=self.rep_key)
        self.assertEqual((200, 1), (status, report["companies_created"]), report)
        self.crmctl("role", "grant", "rep", "companies", "write", "none")
        body = self.assertProblem(self.send("first_name,company\nY,Other Rep Company\n",
                                            key=self.rep_key), 422)
        self.assertEqual("company", body["errors"][0]["field"])
        self.crmctl("role", "grant", "rep", "companies", "write", "own")


class ImportOracleTest(ImportTestCase):
    """Issue 16: the import's answers must not tell a hidden company or account from none:
    a rep who reads only their own records imports rows naming another team's company and
    an account outside their scope, and gets what names of nothing get."""

    @classmethod
    def setup_database(cls):
        super().setup_database()
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownrep", "--from", "rep")
        for resource in ("contacts", "companies"):
            harness.crmctl(db, "role", "grant", "ownrep", resource, "read", "own")
        cls.own_id, cls.own_key = cls.make_user("ownrep@example.com", "ownrep", team="west")

    def outcome(self, text, query=""):
        """The answer to `text` with the row's own details (line, names) left out."""
        status, _, body = self.send(text, query, key=self.own_key)
        errors = [(e["field"], re.sub(r"'[^']*'", "'X'", e["message"]))
                  for e in body.get("errors", [])]
        return status, errors, {k: v for k, v in body.items() if k in ("companies_created",
                                                                       "created", "rows")}

    def test_hidden_companies_count_as_absent(self):
        status, _, hidden = self.api("POST", "/api/v1/companies", {"name": "Hidden Co"},
                                     key=self.admin_key)
        self.assertEqual(201, status, hidden)
        for query in ("?dry_run=true", ""):
            with self.subTest(query=query):
                answers = [self.outcome("first_name,company\nAda,%s\n" % name, query)
                           for name in ("Hidden Co", "Absent Co")]
                self.assertEqual(answers[0], answers[1])
                self.assertEqual((200, [], {"rows": 1, "created": 1, "companies_created": 1}),
                                 answers[0])
        # the rep's contact got a company of their own, not the hidden one
        mine = sql_rows(self.server.db_path, "SELECT c.owner_id FROM contacts AS t JOIN "
                        "companies AS c ON c.id = t.company_id WHERE t.first_name = 'Ada' "
                        "AND c.name = 'Hidden Co'")
        self.assertEqual([(self.own_id,)], mine)
        # without the right to create companies: the same refusal for both
        status, _, hidden = self.api("POST", "/api/v1/companies", {"name": "Hidden Two"},
                                     key=self.admin_key)
        self.assertEqual(201, status, hidden)
        self.crmctl("role", "grant", "ownrep", "companies", "write", "none")
        try:
            answers = [self.outcome("first_name,company\nBea,%s\n" % name)
                       for name in ("Hidden Two", "Absent Two")]
        finally:
            self.crmctl("role", "grant", "ownrep", "companies", "write", "own")
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(422, answers[0][0])

    def test_accounts_outside_the_scope_are_not_told_from_none(self):
        for query in ("?dry_run=true", ""):
            answers = [self.outcome("first_name,owner_email\nAda,%s\n" % email, query)
                       for email in (self.admin_email, "nobody@nowhere.example")]
            self.assertEqual(answers[0], answers[1])
            self.assertEqual((422, [("owner_email", "is not the address of a user you may "
                                     "give contacts to")]), answers[0][:2])
        # the caller's own address works, and an admin may name any account
        status, _, report = self.send("first_name,owner_email\nMine,ownrep@example.com\n",
                                      key=self.own_key)
        self.assertEqual(200, status, report)
        status, _, report = self.send("first_name,owner_email\nTheirs,ownrep@example.com\n")
        self.assertEqual(200, status, report)


class ImportMappingTest(ImportTestCase):
    """?map=HEADER:FIELD and ?ignore=HEADER (repeatable): a real CRM's export, whose column
    names are not ours, imports without editing the file."""

    FILE = ("Primary E-Mail,Firm,Given,Notes,Fax\r\n"
            "mapped@map.example,Mapped Firm,Mia,first,+1 555 0101\r\n"
            "other@map.example,Mapped Firm,Otto,second,\r\n")
    MAP = ("?map=Primary%20E-Mail:email&map=Firm:company_name&map=Given:first_name"
           "&map=Notes:custom.note&ignore=Fax")

    def test_mapped_columns_import(self):
        # without the mapping the unknown columns are errors naming each column
        body = self.assertProblem(self.send(self.FILE), 422)
        self.assertEqual({(1, "Primary E-Mail"), (1, "Firm"), (1, "Given"), (1, "Notes"),
                          (1, "Fax")}, {(e["line"], e["field"]) for e in body["errors"]})
        self.assertIn("map", body["errors"][0]["message"])
        # a dry run with the mapping writes nothing
        status, _, report = self.send(self.FILE, self.MAP + "&dry_run=true")
        self.assertEqual(200, status, report)
        self.assertEqual((2, 2, 1, False), (report["rows"], report["created"],
                                            report["companies_created"], report["written"]))
        self.assertEqual([], self.contact_by_email("mapped@map.example"))
        status, _, report = self.send(self.FILE, self.MAP)
        self.assertEqual((200, 2, True), (status, report["created"], report["written"]), report)
        mia = self.contact_by_email("mapped@map.example")[0]
        self.assertEqual(("Mia", {"note": "first"}, None),
                         (mia["first_name"], mia["custom"], mia["phone"]))
        status, _, company = self.api("GET", "/api/v1/companies/%d" % mia["company_id"],
                                      key=self.admin_key)
        self.assertEqual("Mapped Firm", company["name"])
        # with dedupe on the mapped email column: updates, no duplicates
        again = "Primary E-Mail,Job\r\nMAPPED@map.example,Chief\r\n"
        status, _, report = self.send(again, "?dedupe=email&map=Primary%20E-Mail:email"
                                             "&map=Job:title")
        self.assertEqual((200, 0, 1), (status, report["created"], report["updated"]), report)
        self.assertEqual(["Chief"], [c["title"] for c in
                                     self.contact_by_email("mapped@map.example")])
        # a mapping overrides what a known header would mean
        status, _, report = self.send("email,title\nswap@map.example,Boss\n",
                                      "?map=title:last_name")
        self.assertEqual(200, status, report)
        swap = self.contact_by_email("swap@map.example")[0]
        self.assertEqual(("Boss", None), (swap["last_name"], swap["title"]))

    def test_bad_mappings(self):
        before = self.count("contacts")
        for query, words in (("?map=Firm:shoe_size", "unknown field 'shoe_size'"),
                             ("?map=Firm:id", "unknown field 'id'"),
                             ("?map=Firm", "HEADER:FIELD"),
                             ("?map=:email", "needs a name"),
                             ("?map=Firm:email&map=firm:title", "twice"),
                             ("?map=Firm:email&ignore=Firm", "twice"),
                             ("?ignore=", "needs a name")):
            with self.subTest(query=query):
                body = self.assertProblem(self.send(self.FILE, query), 400)
                self.assertIn(words, body["detail"])
        body = self.assertProblem(self.send(self.FILE, "?" + "&".join(
            "ignore=c%d" % i for i in range(201))), 400)
        self.assertIn("at most 200", body["detail"])
        # a mapped or ignored column the file does not have is named at line 1
        body = self.assertProblem(self.send("email\nx@map.example\n",
                                            "?map=Mail%20Address:email&ignore=Fax"), 422)
        self.assertEqual({(1, "Mail Address"), (1, "Fax")},
                         {(e["line"], e["field"]) for e in body["errors"]})
        # two columns mapped onto one field
        body = self.assertProblem(self.send("email,Primary E-Mail\na@map.example,b@map.example\n",
                                            "?map=Primary%20E-Mail:email"), 422)
        self.assertEqual([(1, "Primary E-Mail")], [(e["line"], e["field"])
                                                   for e in body["errors"]])
        self.assertEqual(before, self.count("contacts"))
