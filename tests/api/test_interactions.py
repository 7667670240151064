"""test_interactions.py - /api/v1/interactions: field rules and defaults (user_id is the
caller and read-only, occurred_at defaults to now), ticket status rules, references to
missing or unreadable contacts, filters (contact_id, kind, since/until, user_id and
user_id=me) and full-text search over subject and body, pagination, If-Match, external-id
upserts, audit entries, and permission scopes (the user who logged an interaction owns
it)."""
import json
import time
import urllib.parse

import harness

INTERACTIONS = "/api/v1/interactions"
CONTACTS = "/api/v1/contacts"


sql_rows = harness.sql_rows


class InteractionsTestCase(harness.ServerTestCase):
    def contact(self, key=None, **fields):
        body = dict({"first_name": "Client"}, **fields)
        status, _, record = self.api("POST", CONTACTS, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def create(self, body, key=None, expect=201):
        status, headers, record = self.api("POST", INTERACTIONS, body, key=key or self.admin_key)
        self.assertEqual(expect, status, record)
        return record

    def get(self, record_id, key=None):
        return self.api("GET", "%s/%d" % (INTERACTIONS, record_id), key=key or self.admin_key)

    def patch(self, record_id, body, key=None, headers=None):
        return self.api("PATCH", "%s/%d" % (INTERACTIONS, record_id), body,
                        key=key or self.admin_key, headers=headers)

    def list_ids(self, query="", key=None):
        """Every id of a (paged) list, following next_cursor."""
        return self.list_all_ids(INTERACTIONS, query, key)


class InteractionFieldsTest(InteractionsTestCase):
    def test_defaults_of_a_new_interaction(self):
        contact = self.contact()
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        record = self.create({"contact_id": contact["id"], "kind": "call"})
        after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
        self.assertEqual(self.admin_id, record["user_id"])
        self.assertEqual(contact["id"], record["contact_id"])
        self.assertTrue(before <= record["occurred_at"] <= after, record["occurred_at"])
        for field in ("direction", "subject", "body", "outcome", "status", "external_id"):
            self.assertIn(field, record)
            self.assertIsNone(record[field], field)
        self.assertEqual(1, record["version"])

    def test_contact_and_kind_are_required(self):
        problem = self.assertProblem(self.api("POST", INTERACTIONS, {}, key=self.admin_key), 422)
        self.assertEqual({"contact_id", "kind"}, {e["field"] for e in problem["errors"]})
        contact = self.contact()
        self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": contact["id"]},
                                    key=self.admin_key), 422, "kind")
        self.assertProblem(self.api("POST", INTERACTIONS, {"kind": "call"}, key=self.admin_key),
                           422, "contact_id")
        record = self.create({"contact_id": contact["id"], "kind": "note"})
        self.assertProblem(self.patch(record["id"], {"kind": None}), 422, "kind")
        self.assertProblem(self.patch(record["id"], {"contact_id": None}), 422, "contact_id")
        self.assertProblem(self.patch(record["id"], {"occurred_at": None}), 422, "occurred_at")

    def test_field_rules(self):
        contact = self.contact()
        base = {"contact_id": contact["id"], "kind": "email"}
        for extra, field in (({"kind": "fax"}, "kind"),
                             ({"kind": "CALL"}, "kind"),
                             ({"direction": "sideways"}, "direction"),
                             ({"occurred_at": "yesterday"}, "occurred_at"),
                             ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
                             ({"occurred_at": 1700000000}, "occurred_at"),
                             ({"subject": "a\nb"}, "subject"),
                             ({"subject": "x" * 501}, "subject"),
                             ({"body": 42}, "body"),
                             ({"outcome": ["ok"]}, "outcome"),
                             ({"contact_id": "1"}, "contact_id"),
                             ({"contact_id": 0}, "contact_id"),
                             ({"status": "solved", "kind": "ticket"}, "status"),
                             ({"external_id": "a/b"}, "external_id")):
            body = dict(base, **extra)
            self.assertProblem(self.api("POST", INTERACTIONS, body, key=self.admin_key), 422,
                               field)
        for kind in ("call", "email", "meeting", "note", "ticket", "chat", "sms", "visit"):
            self.assertEqual(kind, self.create(dict(base, kind=kind))["kind"])
        record = self.create(dict(base, direction="inbound", subject="  Hello  ",
                                  body="line one\nline two\n", outcome="replied",
                                  occurred_at="2026-03-01T12:30:00+02:00"))
        self.assertEqual("Hello", record["subject"])
        self.assertEqual("line one\nline two\n", record["body"])
        self.assertEqual("2026-03-01T10:30:00Z", record["occurred_at"])
        self.assertEqual("inbound", record["direction"])

    def test_unknown_and_read_only_fields_are_422(self):
        contact = self.contact()
        base = {"contact_id": contact["id"], "kind": "call"}
        for extra, field in (({"user_id": self.admin_id}, "user_id"), ({"id": 5}, "id"),
                             ({"version": 1}, "version"), ({"created_at": "2026-01-01T00:00:00Z"},
                                                          "created_at"),
                             ({"owner_id": self.admin_id}, "owner_id"), ({"colour": "red"},
                                                                         "colour")):
            self.assertProblem(self.api("POST", INTERACTIONS, dict(base, **extra),
                                        key=self.admin_key), 422, field)
        record = self.create(base)
        self.assertProblem(self.patch(record["id"], {"user_id": 99}), 422, "user_id")
        self.assertProblem(self.api("PUT", "%s/%d" % (INTERACTIONS, record["id"]),
                                    dict(base, user_id=self.admin_id), key=self.admin_key),
                           422, "user_id")

    def test_references_to_missing_contacts_are_422(self):
        self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": 999999, "kind": "call"},
                                    key=self.admin_key), 422, "contact_id")
        record = self.create({"contact_id": self.contact()["id"], "kind": "call"})
        self.assertProblem(self.patch(record["id"], {"contact_id": 999999}), 422, "contact_id")

    def test_occurred_at_defaults_only_on_create(self):
        contact = self.contact()
        record = self.create({"contact_id": contact["id"], "kind": "meeting",
                              "occurred_at": "2025-05-05T09:00:00Z"})
        path = "%s/%d" % (INTERACTIONS, record["id"])
        # a replacement without occurred_at keeps it
        status, _, replaced = self.api("PUT", path, {"contact_id": contact["id"], "kind": "meeting",
                                                     "subject": "Kick-off"}, key=self.admin_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual("2025-05-05T09:00:00Z", replaced["occurred_at"])
        self.assertEqual("Kick-off", replaced["subject"])
        self.assertEqual(self.admin_id, replaced["user_id"])
        # an explicit null is refused
        self.assertProblem(self.api("PUT", path, {"contact_id": contact["id"], "kind": "meeting",
                                                  "occurred_at": None}, key=self.admin_key),
                           422, "occurred_at")
        self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": contact["id"],
                                                           "kind": "call", "occurred_at": None},
                                    key=self.admin_key), 422, "occurred_at")

    def test_contact_deletion_takes_its_interactions(self):
        contact = self.contact()
        record = self.create({"contact_id": contact["id"], "kind": "note", "body": "zebracorn"})
        self.assertEqual([record["id"]], self.list_ids("q=zebracorn"))
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]),
                                       key=self.admin_key)[0])
        self.assertProblem(self.get(record["id"]), 404)
        self.assertEqual([], self.list_ids("q=zebracorn"))


class TicketStatusTest(InteractionsTestCase):
    def setUp(self):
        self.contact_id = self.contact()["id"]

    def test_tickets_are_open_by_default(self):
        record = self.create({"contact_id": self.contact_id, "kind": "ticket"})
        self.assertEqual("open", record["status"])
        for status in ("open", "pending", "closed"):
            self.assertEqual(status, self.create({"contact_id": self.contact_id, "kind": "ticket",
                                                  "status": status})["status"])
        status, _, patched = self.patch(record["id"], {"status": "pending"})
        self.assertEqual("pending", patched["status"])
        # a ticket always has a status: null is open again
        status, _, patched = self.patch(record["id"], {"status": None})
        self.assertEqual(200, status, patched)
        self.assertEqual("open", patched["status"])

    def test_other_kinds_have_no_status(self):
        for kind in ("call", "email", "note"):
            self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": self.contact_id,
                                                               "kind": kind, "status": "open"},
                                        key=self.admin_key), 422, "status")
        record = self.create({"contact_id": self.contact_id, "kind": "call", "status": None})
        self.assertIsNone(record["status"])
        self.assertProblem(self.patch(record["id"], {"status": "closed"}), 422, "status")
        # becoming a ticket opens it
        status, _, patched = self.patch(record["id"], {"kind": "ticket"})
        self.assertEqual(200, status, patched)
        self.assertEqual("open", patched["status"])
        status, _, patched = self.patch(record["id"], {"status": "closed"})
        self.assertEqual("closed", patched["status"])
        # a ticket that becomes a call loses its status, unless one is sent with it
        self.assertProblem(self.patch(record["id"], {"kind": "call", "status": "closed"}), 422,
                           "status")
        status, _, patched = self.patch(record["id"], {"kind": "call"})
        self.assertEqual(200, status, patched)
        self.assertIsNone(patched["status"])

    def test_status_filter(self):
        ticket = self.create({"contact_id": self.contact_id, "kind": "ticket", "status": "pending",
                              "subject": "statusfilter"})
        self.create({"contact_id": self.contact_id, "kind": "ticket", "subject": "statusfilter"})
        self.assertEqual([ticket["id"]], self.list_ids("status=pending&q=statusfilter"))
        self.assertEqual(400, self.api("GET", INTERACTIONS + "?status=done",
                                       key=self.admin_key)[0])


class InteractionListTest(InteractionsTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("lister@example.com", "rep", team="east")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contacts = []
        for n in range(3):
            status, _, contact = cls.server.request("POST", CONTACTS, {"first_name": "L%d" % n},
                                                    key=cls.admin_key)
            assert status == 201, contact
            cls.contacts.append(contact["id"])
        kinds = ["call", "email", "meeting", "note", "ticket", "chat", "sms", "visit"]
        subjects = ["Quarterly review", "Pricing question", "Onboarding", None]
        bodies = ["We discussed the renewal", "Asked about discounts", None,
                  "Kräuterbonbon delivery"]
        cls.records = []
        for n in range(30):
            body = {"contact_id": cls.contacts[n % 3], "kind": kinds[n % 8],
                    "subject": subjects[n % 4], "body": bodies[n % 4],
                    # equal timestamps on purpose: pairs share one
                    "occurred_at": "2026-01-%02dT10:00:00Z" % (1 + n // 2)}
            status, _, record = cls.server.request(
                "POST", INTERACTIONS, body, key=cls.rep_key if n % 4 == 0 else cls.admin_key)
            assert status == 201, record
            cls.records.append(record)

    def test_pagination_has_no_duplicates_or_gaps(self):
        expected = sorted(r["id"] for r in self.records)
        for sort in ("id", "-id", "occurred_at", "-occurred_at", "created_at", "-updated_at"):
            for limit in (1, 4, 7, 100):
                ids = [i for i in self.list_ids("sort=%s&limit=%d" % (sort, limit))
                       if i in set(expected)]
                self.assertEqual(len(ids), len(set(ids)), sort)
                self.assertEqual(expected, sorted(ids), sort)
        ids = [i for i in self.list_ids("sort=occurred_at&limit=3") if i in set(expected)]
        by_id = {r["id"]: r for r in self.records}
        self.assertEqual(sorted(expected, key=lambda i: (by_id[i]["occurred_at"], i)), ids)

    def test_filters(self):
        def expect(query, predicate):
            wanted = sorted(r["id"] for r in self.records if predicate(r))
            got = [i for i in self.list_ids(query) if i in {r["id"] for r in self.records}]
            self.assertEqual(wanted, got, query)

        expect("contact_id=%d" % self.contacts[1], lambda r: r["contact_id"] == self.contacts[1])
        expect("kind=email", lambda r: r["kind"] == "email")
        expect("kind=ticket&contact_id=%d" % self.contacts[1],
               lambda r: r["kind"] == "ticket" and r["contact_id"] == self.contacts[1])
        expect("since=2026-01-05T10:00:00Z", lambda r: r["occurred_at"] >= "2026-01-05T10:00:00Z")
        expect("until=2026-01-05T10:00:00Z", lambda r: r["occurred_at"] < "2026-01-05T10:00:00Z")
        expect("since=2026-01-03T00:00:00Z&until=2026-01-06T00:00:00Z",
               lambda r: "2026-01-03" <= r["occurred_at"] < "2026-01-06")
        expect("since=2026-01-05T12:00:00%2B02:00",
               lambda r: r["occurred_at"] >= "2026-01-05T10:00:00Z")
        expect("user_id=%d" % self.rep_id, lambda r: r["user_id"] == self.rep_id)
        expect("user_id=%d" % self.admin_id, lambda r: r["user_id"] == self.admin_id)
        expect("user_id=me", lambda r: r["user_id"] == self.admin_id)
        self.assertEqual(sorted(r["id"] for r in self.records if r["user_id"] == self.rep_id),
                         [i for i in self.list_ids("user_id=me", key=self.rep_key)
                          if i in {r["id"] for r in self.records}])

    def test_malformed_filters_are_400(self):
        for query in ("since=yesterday", "until=2026-13-01T00:00:00Z", "kind=fax",
                      "contact_id=abc", "user_id=you", "sort=subject", "colour=red",
                      "kind=call&kind=email", "limit=0", "limit=501", "cursor=nonsense"):
            self.assertProblem(self.api("GET", INTERACTIONS + "?" + query, key=self.admin_key),
                               400)

    def test_search_over_subject_and_body(self):
        def search(text):
            return set(self.list_ids("q=" + urllib.parse.quote(text)))

        def having(word):
            return {r["id"] for r in self.records
                    if word in ((r["subject"] or "") + " " + (r["body"] or "")).lower()}

        self.assertEqual(having("quarterly"), search("quarterly"))
        self.assertEqual(having("renewal"), search("RENEW"))
        self.assertEqual(having("discounts"), search("discount"))
        self.assertEqual(having("kräuterbonbon"), search("krauterbonbon"))
        self.assertEqual(having("pricing") & having("discounts"), search("pricing discounts"))
        self.assertEqual(set(), search("nothing-like-this"))
        for text in ('"', "*", "a OR b", "NEAR(a b)", "subject:review", "'; DROP TABLE x; --"):
            status, _, body = self.api("GET", INTERACTIONS + "?q=" + urllib.parse.quote(text),
                                       key=self.admin_key)
            self.assertEqual(200, status, (text, body))
        # combined with a filter
        self.assertEqual(having("quarterly") & {r["id"] for r in self.records
                                                if r["contact_id"] == self.contacts[0]},
                         set(self.list_ids("q=quarterly&contact_id=%d" % self.contacts[0])))

    def test_search_follows_updates(self):
        record = self.create({"contact_id": self.contacts[0], "kind": "note",
                              "subject": "Flibbertigibbet", "body": "Snollygoster"})
        self.assertEqual([record["id"]], self.list_ids("q=flibber"))
        self.assertEqual([record["id"]], self.list_ids("q=snolly"))
        self.patch(record["id"], {"body": "Gobbledygook"})
        self.assertEqual([], self.list_ids("q=snolly"))
        self.assertEqual([record["id"]], self.list_ids("q=gobbledy"))
        self.api("DELETE", "%s/%d" % (INTERACTIONS, record["id"]), key=self.admin_key)
        self.assertEqual([], self.list_ids("q=flibber"))


class InteractionWritesTest(InteractionsTestCase):
    def test_if_match(self):
        record = self.create({"contact_id": self.contact()["id"], "kind": "call"})
        path = "%s/%d" % (INTERACTIONS, record["id"])
        self.assertProblem(self.patch(record["id"], {"outcome": "x"}, headers={"If-Match": '"2"'}),
                           412)
        status, headers, patched = self.patch(record["id"], {"outcome": "reached"},
                                              headers={"If-Match": '"1"'})
        self.assertEqual(200, status, patched)
        self.assertEqual('"2"', headers["etag"])
        self.assertProblem(self.patch(record["id"], {"outcome": "y"}, headers={"If-Match": '"1"'}),
                           412)
        self.assertProblem(self.api("DELETE", path, key=self.admin_key,
                                    headers={"If-Match": '"1"'}), 412)
        self.assertEqual(204, self.api("DELETE", path, key=self.admin_key,
                                       headers={"If-Match": '"2"'})[0])

    def test_external_id_upsert(self):
        contact = self.contact()
        path = INTERACTIONS + "/external/zendesk-1001"
        body = {"contact_id": contact["id"], "kind": "ticket", "subject": "Login fails",
                "occurred_at": "2026-02-02T08:00:00Z"}
        status, headers, created = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual(201, status, created)
        self.assertEqual("zendesk-1001", created["external_id"])
        self.assertEqual("open", created["status"])
        self.assertEqual(self.admin_id, created["user_id"])
        for _ in range(2):
            status, _, again = self.api("PUT", path, body, key=self.admin_key)
            self.assertEqual(200, status, again)
            self.assertEqual(created, again)
        status, _, changed = self.api("PUT", path, dict(body, status="closed"), key=self.admin_key)
        self.assertEqual(200, status, changed)
        self.assertEqual(("closed", 2), (changed["status"], changed["version"]))
        # without occurred_at the stored one stays
        status, _, changed = self.api("PUT", path, {"contact_id": contact["id"], "kind": "ticket",
                                                    "status": "closed", "subject": "Login fails"},
                                      key=self.admin_key)
        self.assertEqual("2026-02-02T08:00:00Z", changed["occurred_at"])
        self.assertEqual(2, changed["version"])
        self.assertProblem(self.api("POST", INTERACTIONS, dict(body, external_id="zendesk-1001"),
                                    key=self.admin_key), 409, "external_id")

    def test_idempotency_key(self):
        body = {"contact_id": self.contact()["id"], "kind": "sms", "body": "idempotent"}
        headers = {"Idempotency-Key": "sms-42"}
        status, _, first = self.api("POST", INTERACTIONS, body, key=self.admin_key, headers=headers)
        self.assertEqual(201, status)
        status, response_headers, second = self.api("POST", INTERACTIONS, body, key=self.admin_key,
                                                    headers=headers)
        self.assertEqual(201, status)
        self.assertEqual(first, second)
        self.assertEqual("true", response_headers.get("idempotent-replayed"))

    def test_audit_entries(self):
        record = self.create({"contact_id": self.contact()["id"], "kind": "call"})
        self.patch(record["id"], {"outcome": "voicemail"})
        self.api("DELETE", "%s/%d" % (INTERACTIONS, record["id"]), key=self.admin_key)
        rows = sql_rows(self.server.db_path, "SELECT action, user_id, before, after FROM audit_log "
                        "WHERE entity = 'interactions' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update", "delete"], [row[0] for row in rows])
        self.assertEqual({self.admin_id}, {row[1] for row in rows})
        self.assertIsNone(rows[0][2])
        self.assertEqual("voicemail", json.loads(rows[1][3])["outcome"])
        self.assertIsNone(json.loads(rows[1][2])["outcome"])
        self.assertIsNone(rows[2][3])


class InteractionPermissionsTest(InteractionsTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "interactions", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        harness.crmctl(db, "role", "create", "blind", "--from", "rep")
        harness.crmctl(db, "role", "grant", "blind", "interactions", "read", "none")
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

    def setUp(self):
        # a contact that belongs to rep B: anyone who may read it may log interactions on it
        self.contact_id = self.contact(key=self.rep_b_key)["id"]

    def test_rep_logs_and_changes_own_interactions(self):
        mine = self.create({"contact_id": self.contact_id, "kind": "call"}, key=self.rep_a_key)
        self.assertEqual(self.rep_a, mine["user_id"])
        status, _, body = self.patch(mine["id"], {"outcome": "reached"}, key=self.rep_a_key)
        self.assertEqual(200, status, body)
        self.assertEqual(200, self.get(mine["id"], key=self.rep_b_key)[0])
        self.assertProblem(self.patch(mine["id"], {"outcome": "x"}, key=self.rep_b_key), 403)
        self.assertProblem(self.api("PUT", "%s/%d" % (INTERACTIONS, mine["id"]),
                                    {"contact_id": self.contact_id, "kind": "note"},
                                    key=self.rep_b_key), 403)
        # reps delete nothing
        self.assertProblem(self.api("DELETE", "%s/%d" % (INTERACTIONS, mine["id"]),
                                    key=self.rep_a_key), 403)
        self.assertEqual("reached", self.get(mine["id"])[2]["outcome"])

    def test_manager_changes_what_the_team_logged(self):
        logged = self.create({"contact_id": self.contact_id, "kind": "visit"}, key=self.rep_a_key)
        status, _, body = self.patch(logged["id"], {"outcome": "signed"}, key=self.manager_e_key)
        self.assertEqual(200, status, body)
        self.assertEqual(self.rep_a, body["user_id"])  # the logger stays
        self.assertProblem(self.patch(logged["id"], {"outcome": "x"}, key=self.manager_w_key),
                           403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (INTERACTIONS, logged["id"]),
                                    key=self.manager_w_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (INTERACTIONS, logged["id"]),
                                       key=self.manager_e_key)[0])
        west = self.create({"contact_id": self.contact_id, "kind": "visit"}, key=self.rep_w_key)
        self.assertProblem(self.patch(west["id"], {"outcome": "x"}, key=self.manager_e_key), 403)

    def test_viewer_reads_but_never_writes(self):
        record = self.create({"contact_id": self.contact_id, "kind": "call"})
        self.assertEqual(200, self.get(record["id"], key=self.viewer_key)[0])
        self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": self.contact_id,
                                                           "kind": "call"},
                                    key=self.viewer_key), 403)
        self.assertProblem(self.patch(record["id"], {"outcome": "x"}, key=self.viewer_key), 403)
        self.assertProblem(self.api("PUT", INTERACTIONS + "/external/v-1",
                                    {"contact_id": self.contact_id, "kind": "call"},
                                    key=self.viewer_key), 403)

    def test_read_scope_own_filters_and_hides(self):
        own_contact = self.contact(key=self.own_key)["id"]
        theirs = self.create({"contact_id": own_contact, "kind": "note", "body": "hushhush"},
                             key=self.rep_a_key)
        mine = self.create({"contact_id": own_contact, "kind": "note", "body": "hushhush"},
                           key=self.own_key)
        self.assertProblem(self.get(theirs["id"], key=self.own_key), 404)
        self.assertProblem(self.patch(theirs["id"], {"outcome": "x"}, key=self.own_key), 404)
        self.assertEqual([mine["id"]], self.list_ids("q=hushhush", key=self.own_key))
        ids = self.list_ids("", key=self.own_key)
        self.assertIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)
        self.assertEqual([], self.list_ids("user_id=%d" % self.rep_a, key=self.own_key))
        self.assertProblem(self.api("GET", INTERACTIONS, key=self.blind_key), 403)
        self.assertProblem(self.get(mine["id"], key=self.blind_key), 404)

    def test_unreadable_contact_is_422(self):
        # own reads own contacts only: rep B's contact is as good as absent
        self.assertProblem(self.api("POST", INTERACTIONS, {"contact_id": self.contact_id,
                                                           "kind": "call"},
                                    key=self.own_key), 422, "contact_id")
        own_contact = self.contact(key=self.own_key)["id"]
        record = self.create({"contact_id": own_contact, "kind": "call"}, key=self.own_key)
        self.assertProblem(self.patch(record["id"], {"contact_id": self.contact_id},
                                      key=self.own_key), 422, "contact_id")
