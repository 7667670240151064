"""test_contacts.py - /api/v1/contacts: field rules and defaults, references, merge patch,
filters and full-text search (kept in sync by updates and deletes), tags, custom fields,
consent, pagination over every sort, external-id upserts, and permission scopes (own,
team, all, none; 404 for unreadable records, 403 for unchangeable ones)."""
import json
import sqlite3
import urllib.parse

import harness

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


sql_rows = harness.sql_rows


class ContactsTestCase(harness.ServerTestCase):
    def create(self, body, key=None, expect=201):
        status, headers, record = self.api("POST", CONTACTS, body, key=key or self.admin_key)
        self.assertEqual(expect, status, record)
        return record

    def get(self, record_id, key=None):
        return self.api("GET", "%s/%d" % (CONTACTS, record_id), key=key or self.admin_key)

    def patch(self, record_id, body, key=None, headers=None):
        return self.api("PATCH", "%s/%d" % (CONTACTS, record_id), body, key=key or self.admin_key,
                        headers=headers)

    def list_ids(self, query="", key=None, path=CONTACTS):
        """Every id of a (paged) list, following next_cursor."""
        return self.list_all_ids(path, query, key)


class ContactFieldsTest(ContactsTestCase):
    def test_defaults_of_a_new_contact(self):
        record = self.create({"email": "solo@example.com"})
        self.assertEqual(self.admin_id, record["owner_id"])
        self.assertEqual([], record["tags"])
        self.assertEqual({}, record["custom"])
        for field in ("first_name", "last_name", "phone", "title", "company_id", "lifecycle",
                      "relationship_level", "source", "consent", "external_id"):
            self.assertIn(field, record)
            self.assertIsNone(record[field], field)

    def test_a_name_or_an_email_is_required(self):
        for body in ({}, {"phone": "+1 555 0100"}, {"first_name": "  ", "email": None}):
            self.assertProblem(self.api("POST", CONTACTS, body, key=self.admin_key), 422,
                               "first_name")
        self.create({"last_name": "Only"})
        record = self.create({"first_name": "Ann"})
        self.assertProblem(self.patch(record["id"], {"first_name": None}), 422, "first_name")

    def test_email_must_be_valid(self):
        for email in ("ann", "ann@", "@example.com", "ann@example", "ann smith@example.com",
                      "ann@@example.com", 42):
            self.assertProblem(self.api("POST", CONTACTS, {"email": email}, key=self.admin_key),
                               422, "email")
        record = self.create({"email": "  Ann.Lee+crm@Example.COM "})
        self.assertEqual("Ann.Lee+crm@Example.COM", record["email"])

    def test_enums_levels_and_lengths(self):
        for body, field in (({"first_name": "A", "lifecycle": "vip"}, "lifecycle"),
                            ({"first_name": "A", "relationship_level": 0}, "relationship_level"),
                            ({"first_name": "A", "relationship_level": 7}, "relationship_level"),
                            ({"first_name": "A", "relationship_level": "3"}, "relationship_level"),
                            ({"first_name": "x" * 101}, "first_name"),
                            ({"first_name": "A", "phone": "1" * 51}, "phone"),
                            ({"first_name": "A", "title": "a\nb"}, "title"),
                            ({"first_name": "A", "source": ["web"]}, "source")):
            self.assertProblem(self.api("POST", CONTACTS, body, key=self.admin_key), 422, field)
        for level in range(1, 7):
            self.assertEqual(level, self.create({"first_name": "L", "relationship_level": level})
                             ["relationship_level"])
        for lifecycle in ("lead", "prospect", "customer", "churned"):
            self.assertEqual(lifecycle, self.create({"first_name": "L", "lifecycle": lifecycle})
                             ["lifecycle"])
        self.assertEqual("é" * 100, self.create({"first_name": "é" * 100})["first_name"])

    def test_tags_are_trimmed_deduplicated_and_checked(self):
        record = self.create({"first_name": "T", "tags": [" vip ", "b2b", "vip"]})
        self.assertEqual(["vip", "b2b"], record["tags"])
        for tags in ("vip", [""], [1], ["x" * 65], ["t%d" % n for n in range(51)], [None]):
            self.assertProblem(self.api("POST", CONTACTS, {"first_name": "T", "tags": tags},
                                        key=self.admin_key), 422, "tags")
        self.assertEqual([], self.patch(record["id"], {"tags": None})[2]["tags"])

    def test_custom_fields_merge_recursively(self):
        record = self.create({"first_name": "C", "custom": {"size": 10, "nested": {"a": 1, "b": 2},
                                                          "list": [1, 2]}})
        status, _, patched = self.patch(record["id"], {"custom": {"size": None, "nested": {"b": 3,
                                                                                     "c": 4},
                                                               "list": [3]}})
        self.assertEqual(200, status, patched)
        self.assertEqual({"nested": {"a": 1, "b": 3, "c": 4}, "list": [3]}, patched["custom"])
        self.assertEqual({}, self.patch(record["id"], {"custom": None})[2]["custom"])
        self.assertProblem(self.patch(record["id"], {"custom": "text"}), 422, "custom")

    def test_consent_is_typed_and_records_its_time(self):
        record = self.create({"first_name": "Con", "consent": {"email": True}})
        self.assertTrue(record["consent"]["email"])
        self.assertRegex(record["consent"]["recorded_at"], r"Z$")
        record = self.create({"first_name": "Con", "consent": {
            "email": False, "recorded_at": "2026-01-02T10:00:00+02:00"}})
        self.assertEqual({"email": False, "recorded_at": "2026-01-02T08:00:00Z"}, record["consent"])
        for consent, field in (({"email": "yes"}, "consent.email"),
                               ({"sms": True}, "consent.sms"),
                               ({"email": True, "recorded_at": "yesterday"}, "consent.recorded_at"),
                               ("yes", "consent")):
            self.assertProblem(self.api("POST", CONTACTS, {"first_name": "C", "consent": consent},
                                        key=self.admin_key), 422, field)
        status, _, patched = self.patch(record["id"], {"consent": {"email": True}})
        self.assertEqual(200, status, patched)
        self.assertTrue(patched["consent"]["email"])
        self.assertIsNone(self.patch(record["id"], {"consent": None})[2]["consent"])

    def test_merge_patch_null_clears_and_absent_keeps(self):
        record = self.create({"first_name": "Ann", "last_name": "Lee", "phone": "123",
                              "lifecycle": "lead", "relationship_level": 2})
        status, _, patched = self.patch(record["id"], {"phone": None, "lifecycle": "customer",
                                                       "relationship_level": None})
        self.assertEqual(200, status, patched)
        self.assertIsNone(patched["phone"])
        self.assertIsNone(patched["relationship_level"])
        self.assertEqual("customer", patched["lifecycle"])
        self.assertEqual("Lee", patched["last_name"])

    def test_company_reference_must_exist(self):
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "R", "company_id": 999999},
                                    key=self.admin_key), 422, "company_id")
        status, _, company = self.api("POST", COMPANIES, {"name": "Ref Co"}, key=self.admin_key)
        record = self.create({"first_name": "R", "company_id": company["id"]})
        self.assertEqual(company["id"], record["company_id"])
        self.assertProblem(self.patch(record["id"], {"company_id": 999999}), 422, "company_id")
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "R", "owner_id": 999999},
                                    key=self.admin_key), 422, "owner_id")
        # deleting the company leaves the contact without one
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (COMPANIES, company["id"]),
                                       key=self.admin_key)[0])
        self.assertIsNone(self.get(record["id"])[2]["company_id"])

    def test_audit_entries_are_written(self):
        record = self.create({"first_name": "Aud"})
        self.patch(record["id"], {"last_name": "It"})
        rows = sql_rows(self.server.db_path, "SELECT action, before, after FROM audit_log WHERE "
                        "entity = 'contacts' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update"], [row[0] for row in rows])
        self.assertEqual("It", json.loads(rows[1][2])["last_name"])
        self.assertIsNone(json.loads(rows[1][1])["last_name"])


class ContactListTest(ContactsTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("lister@example.com", "rep", team="east")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, _, cls.company = cls.server.request("POST", COMPANIES, {"name": "Listed Inc"},
                                                    key=cls.admin_key)
        first_names = ["Ann", "Bob", "ann", "Cleo", "Bob", None, "Zoë", "Émile"]
        last_names = ["Lee", None, "Lee", "Ng", "Ng", "Solo", None, "Zola"]
        cls.ids = []
        for n in range(41):
            body = {"first_name": first_names[n % 8], "last_name": last_names[n % 7],
                    "email": ("Person%d@Example.com" % (n % 5)) if n % 4 else None,
                    "relationship_level": (n % 6) + 1 if n % 3 else None,
                    "lifecycle": ["lead", "prospect", "customer", "churned"][n % 4],
                    "tags": ["even"] if n % 2 == 0 else ["odd", "prime"] if n in (3, 5, 7) else [],
                    "company_id": cls.company["id"] if n % 5 == 0 else None}
            if not body["first_name"] and not body["last_name"] and not body["email"]:
                body["email"] = "fallback%d@example.com" % n
            status, _, record = cls.server.request(
                "POST", CONTACTS, body, key=cls.rep_key if n % 3 == 0 else cls.admin_key)
            assert status == 201, record
            cls.ids.append(record["id"])

    def all_records(self):
        status, _, body = self.api("GET", CONTACTS + "?limit=500", key=self.admin_key)
        return body["data"]

    def test_pagination_over_every_sort_has_no_duplicates_or_gaps(self):
        expected = sorted(record["id"] for record in self.all_records())
        for sort in ("id", "-id", "first_name", "-first_name", "last_name", "-last_name",
                     "email", "-email", "relationship_level", "-relationship_level",
                     "created_at", "-created_at", "updated_at", "-updated_at",
                     "lifecycle", "-lifecycle", "company_id", "-company_id", "owner_id",
                     "-owner_id", "title", "-source"):
            for limit in (1, 3, 7, 50):
                ids = self.list_ids("sort=%s&limit=%d" % (sort, limit))
                self.assertEqual(len(ids), len(set(ids)), "duplicates with sort=%s" % sort)
                self.assertEqual(expected, sorted(ids), "rows missing with sort=%s" % sort)

    def test_sort_orders(self):
        records = self.all_records()
        by_id = {record["id"]: record for record in records}

        def key(field, record):
            value = record[field]
            if field == "email" and value is not None:
                value = value.lower()
            return (value is not None, value if value is not None else 0, record["id"])

        for field in ("last_name", "email", "relationship_level"):
            ids = self.list_ids("sort=" + field + "&limit=4")
            self.assertEqual(sorted(by_id, key=lambda i: key(field, by_id[i])), ids, field)
            ids = self.list_ids("sort=-" + field + "&limit=4")
            self.assertEqual(sorted(by_id, key=lambda i: key(field, by_id[i]), reverse=True), ids,
                             field)

    def test_default_order_is_by_id(self):
        ids = self.list_ids("limit=5")
        self.assertEqual(sorted(ids), ids)

    def test_filters(self):
        records = self.all_records()

        def expect(query, predicate):
            wanted = sorted(record["id"] for record in records if predicate(record))
            self.assertEqual(wanted, self.list_ids(query), query)

        expect("owner_id=%d" % self.rep_id, lambda r: r["owner_id"] == self.rep_id)
        expect("company_id=%d" % self.company["id"], lambda r: r["company_id"] == self.company["id"])
        expect("lifecycle=churned", lambda r: r["lifecycle"] == "churned")
        expect("tag=even", lambda r: "even" in r["tags"])
        expect("tag=prime", lambda r: "prime" in r["tags"])
        expect("relationship_level=3", lambda r: r["relationship_level"] == 3)
        expect("email=person1@example.com",
               lambda r: (r["email"] or "").lower() == "person1@example.com")
        expect("lifecycle=lead&tag=even&owner_id=%d" % self.admin_id,
               lambda r: r["lifecycle"] == "lead" and "even" in r["tags"]
               and r["owner_id"] == self.admin_id)
        expect("owner_id=999999", lambda r: False)
        expect("updated_since=2000-01-01T00:00:00Z", lambda r: True)
        expect("updated_since=2999-01-01T00:00:00%2B01:00", lambda r: False)
        expect("tag=nothing", lambda r: False)

    def test_filters_with_sort_and_pages(self):
        ids = self.list_ids("tag=even&sort=-last_name&limit=2")
        wanted = [r["id"] for r in self.all_records() if "even" in r["tags"]]
        self.assertEqual(sorted(wanted), sorted(ids))

    def test_search(self):
        def search(text):
            return set(self.list_ids("q=" + urllib.parse.quote(text)))

        records = self.all_records()
        anns = {r["id"] for r in records if (r["first_name"] or "").lower() == "ann"}
        self.assertEqual(anns, search("ann"))
        self.assertEqual(anns, search("AN"))
        self.assertEqual({r["id"] for r in records if r["first_name"] == "Zoë"}, search("zoe"))
        self.assertEqual({r["id"] for r in records if r["first_name"] == "Ann"
                          and r["last_name"] == "Lee"} | {r["id"] for r in records
                                                          if r["first_name"] == "ann"
                                                          and r["last_name"] == "Lee"},
                         search("ann lee"))
        self.assertEqual(set(), search("nobody-by-this-name"))
        # hostile text is searched for, never interpreted
        for text in ('"', '""', "*", "ann OR bob", "NEAR(ann bob)", "ann*", "-", "^ann",
                     "first_name:ann", "(", "'; DROP TABLE contacts; --", "\\"):
            status, _, body = self.api("GET", CONTACTS + "?q=" + urllib.parse.quote(text),
                                       key=self.admin_key)
            self.assertEqual(200, status, (text, body))
        self.assertEqual(len(records), len(self.all_records()))
        # an empty q is no filter
        self.assertEqual(len(records), len(self.list_ids("q=")))

    def test_search_follows_updates_and_deletes(self):
        record = self.create({"first_name": "Quixotic", "last_name": "Marmalade"})
        self.assertEqual([record["id"]], self.list_ids("q=quixo"))
        status, _, _ = self.patch(record["id"], {"first_name": "Xylophone"})
        self.assertEqual(200, status)
        self.assertEqual([], self.list_ids("q=quixo"))
        self.assertEqual([record["id"]], self.list_ids("q=xylo"))
        self.assertEqual([record["id"]], self.list_ids("q=marmal"))
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (CONTACTS, record["id"]),
                                       key=self.admin_key)[0])
        self.assertEqual([], self.list_ids("q=xylo"))
        self.assertEqual([], self.list_ids("q=marmal"))

    def test_tags_filter_follows_updates_and_deletes(self):
        record = self.create({"first_name": "Tagged", "tags": ["blue-moon"]})
        self.assertEqual([record["id"]], self.list_ids("tag=blue-moon"))
        self.patch(record["id"], {"tags": ["red-sun"]})
        self.assertEqual([], self.list_ids("tag=blue-moon"))
        self.assertEqual([record["id"]], self.list_ids("tag=red-sun"))
        self.api("DELETE", "%s/%d" % (CONTACTS, record["id"]), key=self.admin_key)
        self.assertEqual([], self.list_ids("tag=red-sun"))
        self.assertEqual([], sql_rows(self.server.db_path, "SELECT * FROM record_tags WHERE "
                                      "entity = 'contacts' AND record_id = ?", record["id"]))

    def test_filters_use_indexes(self):
        plans = {}
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        for name, statement in (
                ("owner", "SELECT id FROM contacts WHERE 1 AND owner_id = ? AND id > ? "
                          "ORDER BY id LIMIT ?"),
                ("lifecycle", "SELECT id FROM contacts WHERE 1 AND lifecycle = ? ORDER BY id "
                              "LIMIT ?"),
                ("company", "SELECT id FROM contacts WHERE 1 AND company_id = ? ORDER BY id "
                            "LIMIT ?"),
                ("email", "SELECT id FROM contacts WHERE 1 AND email COLLATE NOCASE = ? "
                          "ORDER BY id LIMIT ?"),
                ("sort", "SELECT id FROM contacts WHERE 1 AND last_name IS NOT NULL AND "
                         "(last_name, id) > (?, ?) ORDER BY last_name, id LIMIT ?"),
                ("level", "SELECT id FROM contacts WHERE 1 AND relationship_level IS NOT NULL "
                          "AND (relationship_level, id) < (?, ?) ORDER BY relationship_level DESC, "
                          "id DESC LIMIT ?"),
                ("email sort", "SELECT id FROM contacts WHERE 1 AND (email, id) > "
                               "(? COLLATE NOCASE, ?) ORDER BY email COLLATE NOCASE, id LIMIT ?"),
                ("team", "SELECT id FROM contacts WHERE 1 AND owner_id IN (SELECT id FROM users "
                         "WHERE team = ?) ORDER BY id LIMIT ?"),
                ("tag", "SELECT id FROM contacts WHERE 1 AND id IN (SELECT record_id FROM "
                        "record_tags WHERE entity = ? AND tag = ?) ORDER BY id LIMIT ?")):
            rows = connection.execute("EXPLAIN QUERY PLAN " + statement,
                                      [1] * statement.count("?")).fetchall()
            plans[name] = " | ".join(row[-1] for row in rows)
        connection.close()
        for name, plan in plans.items():
            self.assertNotRegex(plan, r"SCAN contacts(?! USING)", "%s: %s" % (name, plan))
            if name in ("level", "email sort"):
                self.assertIn("SEARCH contacts USING", plan, "%s: %s" % (name, plan))


class ContactPermissionsTest(ContactsTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "companies", "read", "own")
        harness.crmctl(db, "role", "create", "blind", "--from", "rep")
        harness.crmctl(db, "role", "grant", "blind", "contacts", "read", "none")
        harness.crmctl(db, "role", "create", "teamreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "teamreader", "contacts", "read", "team")
        cls.rep_a, cls.rep_a_key = cls.make_user("rep-a@example.com", "rep", team="east")
        cls.rep_b, cls.rep_b_key = cls.make_user("rep-b@example.com", "rep", team="east")
        cls.rep_w, cls.rep_w_key = cls.make_user("rep-w@example.com", "rep", team="west")
        cls.manager_e, cls.manager_e_key = cls.make_user("mgr-e@example.com", "manager",
                                                         team="east")
        cls.manager_w, cls.manager_w_key = cls.make_user("mgr-w@example.com", "manager",
                                                         team="west")
        cls.viewer, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.own, cls.own_key = cls.make_user("own@example.com", "ownreader", team="east")
        cls.blind, cls.blind_key = cls.make_user("blind@example.com", "blind")
        cls.team_reader, cls.team_reader_key = cls.make_user("tr@example.com", "teamreader",
                                                             team="west")
        cls.read_only, cls.read_only_key = cls.make_user("ro@example.com", "admin",
                                                         read_only=True)

    def test_rep_writes_own_contacts_only(self):
        mine = self.create({"first_name": "Mine"}, key=self.rep_a_key)
        self.assertEqual(self.rep_a, mine["owner_id"])
        status, _, body = self.patch(mine["id"], {"title": "Boss"}, key=self.rep_a_key)
        self.assertEqual(200, status, body)
        # another rep may read it but not change or delete it
        self.assertEqual(200, self.get(mine["id"], key=self.rep_b_key)[0])
        self.assertProblem(self.patch(mine["id"], {"title": "Hacked"}, key=self.rep_b_key), 403)
        self.assertProblem(self.api("PUT", "%s/%d" % (CONTACTS, mine["id"]), {"first_name": "H"},
                                    key=self.rep_b_key), 403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (CONTACTS, mine["id"]),
                                    key=self.rep_b_key), 403)
        # reps delete nothing, not even their own
        self.assertProblem(self.api("DELETE", "%s/%d" % (CONTACTS, mine["id"]),
                                    key=self.rep_a_key), 403)
        self.assertEqual("Boss", self.get(mine["id"])[2]["title"])

    def test_no_mass_assignment_of_owners(self):
        # a rep cannot create for someone else, give a record away or take one
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "X", "owner_id": self.rep_b},
                                    key=self.rep_a_key), 403)
        mine = self.create({"first_name": "Mine"}, key=self.rep_a_key)
        self.assertProblem(self.patch(mine["id"], {"owner_id": self.rep_b}, key=self.rep_a_key), 403)
        self.assertProblem(self.patch(mine["id"], {"owner_id": None}, key=self.rep_a_key), 403)
        theirs = self.create({"first_name": "Theirs"}, key=self.rep_b_key)
        self.assertProblem(self.patch(theirs["id"], {"owner_id": self.rep_a}, key=self.rep_a_key),
                           403)
        self.assertEqual(self.rep_b, self.get(theirs["id"])[2]["owner_id"])
        # an explicit owner that is the caller is fine
        self.create({"first_name": "Me", "owner_id": self.rep_a}, key=self.rep_a_key)

    def test_manager_writes_within_the_team(self):
        contact = self.create({"first_name": "Team"}, key=self.rep_a_key)
        status, _, body = self.patch(contact["id"], {"title": "Lead"}, key=self.manager_e_key)
        self.assertEqual(200, status, body)
        status, _, body = self.patch(contact["id"], {"owner_id": self.rep_b},
                                     key=self.manager_e_key)
        self.assertEqual(200, status, body)
        self.assertProblem(self.patch(contact["id"], {"owner_id": self.rep_w},
                                      key=self.manager_e_key), 403)
        self.assertProblem(self.patch(contact["id"], {"title": "West"}, key=self.manager_w_key),
                           403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]),
                                    key=self.manager_w_key), 403)
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "W", "owner_id": self.rep_w},
                                    key=self.manager_e_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]),
                                       key=self.manager_e_key)[0])

    def test_viewer_reads_but_never_writes(self):
        contact = self.create({"first_name": "Seen"})
        self.assertEqual(200, self.get(contact["id"], key=self.viewer_key)[0])
        self.assertEqual(200, self.api("GET", CONTACTS, key=self.viewer_key)[0])
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "V"}, key=self.viewer_key),
                           403)
        self.assertProblem(self.patch(contact["id"], {"title": "V"}, key=self.viewer_key), 403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]),
                                    key=self.viewer_key), 403)
        self.assertProblem(self.api("PUT", CONTACTS + "/external/viewer-1", {"first_name": "V"},
                                    key=self.viewer_key), 403)

    def test_read_only_key_cannot_write(self):
        contact = self.create({"first_name": "RO"})
        self.assertEqual(200, self.get(contact["id"], key=self.read_only_key)[0])
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "V"},
                                    key=self.read_only_key), 403)
        self.assertProblem(self.patch(contact["id"], {"title": "V"}, key=self.read_only_key), 403)

    def test_unreadable_records_are_404_and_filtered_from_lists(self):
        theirs = self.create({"first_name": "Hidden"}, key=self.rep_b_key)
        mine = self.create({"first_name": "Visible"}, key=self.own_key)
        self.assertProblem(self.get(theirs["id"], key=self.own_key), 404)
        self.assertProblem(self.patch(theirs["id"], {"title": "x"}, key=self.own_key), 404)
        self.assertProblem(self.api("DELETE", "%s/%d" % (CONTACTS, theirs["id"]),
                                    key=self.own_key), 404)
        self.assertEqual(200, self.get(mine["id"], key=self.own_key)[0])
        ids = self.list_ids("", key=self.own_key)
        self.assertIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)
        for record_id in ids:
            self.assertEqual(self.own, self.get(record_id)[2]["owner_id"])
        # a search or filter does not leak them either
        self.assertEqual([], self.list_ids("q=hidden", key=self.own_key))
        self.assertEqual([], self.list_ids("owner_id=%d" % self.rep_b, key=self.own_key))

    def test_team_read_scope_filters_lists(self):
        west = self.create({"first_name": "Westie"}, key=self.rep_w_key)
        east = self.create({"first_name": "Eastie"}, key=self.rep_a_key)
        ids = self.list_ids("", key=self.team_reader_key)
        self.assertIn(west["id"], ids)
        self.assertNotIn(east["id"], ids)
        self.assertProblem(self.get(east["id"], key=self.team_reader_key), 404)

    def test_read_scope_none_is_403_for_lists_and_404_for_records(self):
        contact = self.create({"first_name": "Blind"})
        self.assertProblem(self.api("GET", CONTACTS, key=self.blind_key), 403)
        self.assertProblem(self.get(contact["id"], key=self.blind_key), 404)

    def test_references_to_unreadable_records_are_422(self):
        status, _, company = self.api("POST", COMPANIES, {"name": "Not yours"},
                                      key=self.rep_b_key)
        self.assertEqual(201, status, company)
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "R", "company_id":
                                                       company["id"]}, key=self.own_key),
                           422, "company_id")
        status, _, own_company = self.api("POST", COMPANIES, {"name": "Yours"}, key=self.own_key)
        self.create({"first_name": "R", "company_id": own_company["id"]}, key=self.own_key)
        # everyone else may read all companies
        self.create({"first_name": "R", "company_id": company["id"]}, key=self.rep_a_key)

    def test_upsert_of_an_unreadable_record_is_404(self):
        status, _, _ = self.api("PUT", CONTACTS + "/external/secret-1", {"first_name": "S"},
                                key=self.rep_b_key)
        self.assertEqual(201, status)
        self.assertProblem(self.api("PUT", CONTACTS + "/external/secret-1", {"first_name": "T"},
                                    key=self.own_key), 404)
        self.assertProblem(self.api("PUT", CONTACTS + "/external/secret-1", {"first_name": "T"},
                                    key=self.rep_a_key), 403)


class ContactExternalIdTest(ContactsTestCase):
    def test_put_external_creates_then_replaces_idempotently(self):
        path = CONTACTS + "/external/erp-42"
        body = {"first_name": "Erp", "email": "erp@example.com", "tags": ["sync"]}
        status, headers, created = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual(201, status, created)
        self.assertEqual("erp-42", created["external_id"])
        self.assertEqual("/api/v1/contacts/%d" % created["id"], headers["location"])
        audits = sql_rows(self.server.db_path, "SELECT count(*) FROM audit_log")[0][0]
        for _ in range(3):
            status, headers, again = self.api("PUT", path, body, key=self.admin_key)
            self.assertEqual(200, status, again)
            self.assertEqual(created, again)
            self.assertEqual('"1"', headers["etag"])
        self.assertEqual(audits, sql_rows(self.server.db_path, "SELECT count(*) FROM audit_log")[0][0])
        body["title"] = "Synced"
        status, _, changed = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(2, changed["version"])
        self.assertEqual(created["id"], changed["id"])
        status, _, fetched = self.api("GET", path, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(changed, fetched)
        self.assertEqual(1, len(self.list_ids("q=erp")))

    def test_put_external_checks(self):
        path = CONTACTS + "/external/erp-43"
        self.assertProblem(self.api("PUT", path, {"first_name": "E", "external_id": "other"},
                                    key=self.admin_key), 422, "external_id")
        self.assertProblem(self.api("PUT", path, {"first_name": "E"}, key=self.admin_key,
                                    headers={"If-Match": "*"}), 412)
        self.assertProblem(self.api("PUT", path, {"email": "bad"}, key=self.admin_key), 422)
        self.assertProblem(self.api("PUT", path, {"first_name": "E", "id": 3},
                                    key=self.admin_key), 422, "id")
        status, _, record = self.api("PUT", path, {"first_name": "E", "external_id": "erp-43"},
                                     key=self.admin_key)
        self.assertEqual(201, status, record)
        self.assertProblem(self.api("PUT", path, {"first_name": "F"}, key=self.admin_key,
                                    headers={"If-Match": '"9"'}), 412)
        status, _, _ = self.api("PUT", path, {"first_name": "F"}, key=self.admin_key,
                                headers={"If-Match": '"1"'})
        self.assertEqual(200, status)
        self.assertProblem(self.api("GET", CONTACTS + "/external/none-such", key=self.admin_key),
                           404)

    def test_duplicate_external_id_is_409(self):
        first = self.create({"first_name": "One", "external_id": "dup-1"})
        problem = self.assertProblem(self.api("POST", CONTACTS, {"first_name": "Two",
                                                                 "external_id": "dup-1"},
                                              key=self.admin_key), 409)
        self.assertEqual("external_id", problem["errors"][0]["field"])
        second = self.create({"first_name": "Two", "external_id": "dup-2"})
        self.assertProblem(self.patch(second["id"], {"external_id": "dup-1"}), 409, "external_id")
        # keeping its own external_id is no conflict
        status, _, _ = self.patch(first["id"], {"external_id": "dup-1", "title": "x"})
        self.assertEqual(200, status)
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "S", "external_id": "a/b"},
                                    key=self.admin_key), 422, "external_id")


class ContactNewSortKeysTest(ContactsTestCase):
    """?sort= on title, source (both ignoring ASCII case), lifecycle, company_id and
    owner_id (issue 2): every page of every page size follows the order, with ties broken by
    id and NULLs first ascending (last descending), and no record is lost or repeated."""
    KEYS = ("title", "source", "lifecycle", "company_id", "owner_id")

    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("sorter@example.com", "rep")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        companies = []
        for name in ("Sort A", "Sort B"):
            status, _, company = cls.server.request("POST", COMPANIES, {"name": name},
                                                    key=cls.admin_key)
            assert status == 201, company
            companies.append(company["id"])
        titles = ["CEO", "cto", None, "ceo", "Sales", "sales", "Cto"]
        sources = ["web", "Import", None, "WEB", "import"]
        for n in range(23):
            body = {"first_name": "Sorted %d" % n, "title": titles[n % 7],
                    "source": sources[n % 5],
                    "lifecycle": [None, "lead", "prospect", "customer", "churned"][n * 2 % 5],
                    "company_id": [None, companies[0], companies[1]][n % 3]}
            status, _, record = cls.server.request(
                "POST", CONTACTS, body, key=cls.rep_key if n % 4 == 0 else cls.admin_key)
            assert status == 201, record

    def expected_order(self, records, field, descending):
        def key(record):
            value = record[field]
            if isinstance(value, str) and field in ("title", "source"):
                value = value.lower()  # COLLATE NOCASE
            return (value is not None, value if value is not None else 0, record["id"])
        return [record["id"] for record in sorted(records, key=key, reverse=descending)]

    def test_pages_of_every_size_follow_the_order_with_ties_by_id(self):
        status, _, body = self.api("GET", CONTACTS + "?limit=500", key=self.admin_key)
        self.assertEqual(200, status, body)
        records = body["data"]
        self.assertEqual(23, len(records))
        for field in self.KEYS:
            values = [record[field] for record in records]
            if field != "owner_id":  # defaults to the caller; a NULL segment in the others
                self.assertIn(None, values, field)
            self.assertLess(len(set(values)), 12, field)
            for descending in (False, True):
                sort = ("-" if descending else "") + field
                expected = self.expected_order(records, field, descending)
                for limit in (1, 2, 5, 50):
                    ids = self.list_ids("sort=%s&limit=%d" % (sort, limit))
                    self.assertEqual(expected, ids, "sort=%s limit=%d" % (sort, limit))

    def test_new_sort_keys_combine_with_filters(self):
        ids = self.list_ids("sort=-title&lifecycle=lead&limit=2")
        status, _, body = self.api("GET", CONTACTS + "?limit=500&lifecycle=lead",
                                   key=self.admin_key)
        self.assertEqual(self.expected_order(body["data"], "title", True), ids)
        self.assertTrue(len(ids) > 2, ids)

    def test_cursor_of_one_sort_is_refused_by_another(self):
        status, _, body = self.api("GET", CONTACTS + "?sort=title&limit=2", key=self.admin_key)
        self.assertEqual(200, status, body)
        cursor = urllib.parse.quote(body["next_cursor"])
        self.assertProblem(self.api("GET", CONTACTS + "?sort=source&limit=2&cursor=" + cursor,
                                    key=self.admin_key), 400)
        for sort in ("phone", "-tags", "custom", "consent", "external_id"):
            self.assertProblem(self.api("GET", CONTACTS + "?sort=" + sort, key=self.admin_key),
                               400)
