"""test_purchases.py - /api/v1/purchases: field rules and defaults (refunds are negative
amounts, currency and occurred_at defaults), the opportunity must be won, references to
missing or unreadable records, filters (contact_id, opportunity_id, since/until),
pagination, If-Match, external-id upserts, Idempotency-Key, audit entries, and permissions
derived from the contact's owner (which follow a change of that owner at once)."""
import json
import time

import harness

PURCHASES = "/api/v1/purchases"
CONTACTS = "/api/v1/contacts"
OPPORTUNITIES = "/api/v1/opportunities"


sql_rows = harness.sql_rows


class PurchasesTestCase(harness.ServerTestCase):
    def contact(self, key=None):
        status, _, record = self.api("POST", CONTACTS, {"first_name": "Buyer"},
                                     key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def opportunity(self, stage="won", key=None, **fields):
        body = dict({"name": "Deal", "stage": stage}, **fields)
        if stage == "lost":
            body["lost_reason"] = "price"
        status, _, record = self.api("POST", OPPORTUNITIES, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def create(self, body, key=None, expect=201):
        status, headers, record = self.api("POST", PURCHASES, body, key=key or self.admin_key)
        self.assertEqual(expect, status, record)
        return record

    def get(self, record_id, key=None):
        return self.api("GET", "%s/%d" % (PURCHASES, record_id), key=key or self.admin_key)

    def patch(self, record_id, body, key=None, headers=None):
        return self.api("PATCH", "%s/%d" % (PURCHASES, record_id), body,
                        key=key or self.admin_key, headers=headers)

    def list_ids(self, query="", key=None):
        return self.list_all_ids(PURCHASES, query, key)


class PurchaseFieldsTest(PurchasesTestCase):
    def test_defaults_of_a_new_purchase(self):
        contact = self.contact()
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        record = self.create({"contact_id": contact["id"], "amount_cents": 4999})
        self.assertEqual((contact["id"], 4999, "EUR"),
                         (record["contact_id"], record["amount_cents"], record["currency"]))
        self.assertGreaterEqual(record["occurred_at"], before)
        for field in ("opportunity_id", "reference", "external_id"):
            self.assertIsNone(record[field], field)
        self.assertNotIn("owner_id", record)

    def test_field_rules(self):
        contact = self.contact()
        base = {"contact_id": contact["id"], "amount_cents": 100}
        problem = self.assertProblem(self.api("POST", PURCHASES, {}, key=self.admin_key), 422)
        self.assertEqual({"contact_id", "amount_cents"}, {e["field"] for e in problem["errors"]})
        for extra, field in (({"amount_cents": None}, "amount_cents"),
                             ({"amount_cents": 1.5}, "amount_cents"),
                             ({"amount_cents": "100"}, "amount_cents"),
                             ({"amount_cents": 10 ** 13 + 1}, "amount_cents"),
                             ({"amount_cents": -(10 ** 13) - 1}, "amount_cents"),
                             ({"currency": "usd"}, "currency"),
                             ({"currency": 978}, "currency"),
                             ({"occurred_at": "2026-01-01"}, "occurred_at"),
                             ({"occurred_at": None}, "occurred_at"),
                             ({"reference": "a\tb"}, "reference"),
                             ({"contact_id": None}, "contact_id"),
                             ({"owner_id": 1}, "owner_id"),
                             ({"id": 1}, "id")):
            self.assertProblem(self.api("POST", PURCHASES, dict(base, **extra),
                                        key=self.admin_key), 422, field)
        # refunds are negative amounts; free orders are zero
        self.assertEqual(-2500, self.create(dict(base, amount_cents=-2500))["amount_cents"])
        self.assertEqual(0, self.create(dict(base, amount_cents=0))["amount_cents"])
        record = self.create(dict(base, currency="USD", reference=" INV-1 ",
                                  occurred_at="2025-12-31T23:30:00-01:00"))
        self.assertEqual(("USD", "INV-1", "2026-01-01T00:30:00Z"),
                         (record["currency"], record["reference"], record["occurred_at"]))

    def test_references_must_exist(self):
        contact = self.contact()
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": 999999, "amount_cents": 1},
                                    key=self.admin_key), 422, "contact_id")
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": contact["id"],
                                                        "amount_cents": 1,
                                                        "opportunity_id": 999999},
                                    key=self.admin_key), 422, "opportunity_id")

    def test_opportunity_must_be_won(self):
        contact = self.contact()
        won = self.opportunity("won")
        record = self.create({"contact_id": contact["id"], "amount_cents": 100,
                              "opportunity_id": won["id"]})
        self.assertEqual(won["id"], record["opportunity_id"])
        for stage in ("lead", "qualified", "proposal", "negotiation", "lost"):
            open_one = self.opportunity(stage)
            problem = self.assertProblem(self.api("POST", PURCHASES, {
                "contact_id": contact["id"], "amount_cents": 100,
                "opportunity_id": open_one["id"]}, key=self.admin_key), 422, "opportunity_id")
            self.assertIn("won", problem["errors"][0]["message"])
            self.assertProblem(self.patch(record["id"], {"opportunity_id": open_one["id"]}), 422,
                               "opportunity_id")
        # reopening the opportunity later keeps the purchase writable
        status, _, _ = self.api("PATCH", "%s/%d" % (OPPORTUNITIES, won["id"]),
                                {"stage": "negotiation"}, key=self.admin_key)
        self.assertEqual(200, status)
        status, _, patched = self.patch(record["id"], {"reference": "R-2"})
        self.assertEqual(200, status, patched)
        # deleting the opportunity unlinks the purchase and keeps the revenue
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (OPPORTUNITIES, won["id"]),
                                       key=self.admin_key)[0])
        self.assertIsNone(self.get(record["id"])[2]["opportunity_id"])

    def test_occurred_at_kept_by_a_replacement(self):
        contact = self.contact()
        record = self.create({"contact_id": contact["id"], "amount_cents": 100,
                              "occurred_at": "2025-01-01T00:00:00Z"})
        status, _, replaced = self.api("PUT", "%s/%d" % (PURCHASES, record["id"]),
                                       {"contact_id": contact["id"], "amount_cents": 200},
                                       key=self.admin_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual(("2025-01-01T00:00:00Z", 200, "EUR"),
                         (replaced["occurred_at"], replaced["amount_cents"], replaced["currency"]))

    def test_if_match_upsert_idempotency_and_audit(self):
        contact = self.contact()
        record = self.create({"contact_id": contact["id"], "amount_cents": 100})
        self.assertProblem(self.patch(record["id"], {"amount_cents": 1},
                                      headers={"If-Match": '"2"'}), 412)
        status, headers, patched = self.patch(record["id"], {"amount_cents": 150},
                                              headers={"If-Match": '"1"'})
        self.assertEqual((200, '"2"'), (status, headers["etag"]))
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (PURCHASES, record["id"]),
                                       key=self.admin_key, headers={"If-Match": "*"})[0])
        rows = sql_rows(self.server.db_path, "SELECT action, before, after FROM audit_log WHERE "
                        "entity = 'purchases' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update", "delete"], [row[0] for row in rows])
        self.assertEqual((100, 150), (json.loads(rows[1][1])["amount_cents"],
                                      json.loads(rows[1][2])["amount_cents"]))

        path = PURCHASES + "/external/shop-order-77"
        body = {"contact_id": contact["id"], "amount_cents": 12900, "currency": "EUR",
                "occurred_at": "2026-02-03T04:05:06Z", "reference": "77"}
        status, _, created = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual(201, status, created)
        for _ in range(2):
            status, _, again = self.api("PUT", path, body, key=self.admin_key)
            self.assertEqual((200, created), (status, again))
        status, _, refunded = self.api("PUT", path, dict(body, amount_cents=0), key=self.admin_key)
        self.assertEqual((200, 0, 2), (status, refunded["amount_cents"], refunded["version"]))
        self.assertProblem(self.api("POST", PURCHASES, dict(body, external_id="shop-order-77"),
                                    key=self.admin_key), 409, "external_id")

        headers = {"Idempotency-Key": "order-78"}
        body = {"contact_id": contact["id"], "amount_cents": 700}
        status, _, first = self.api("POST", PURCHASES, body, key=self.admin_key, headers=headers)
        status, _, second = self.api("POST", PURCHASES, body, key=self.admin_key, headers=headers)
        self.assertEqual((201, first), (status, second))
        self.assertEqual(1, sql_rows(self.server.db_path, "SELECT count(*) FROM purchases WHERE "
                                     "amount_cents = 700")[0][0])


class PurchaseListTest(PurchasesTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        request = cls.server.request
        cls.contact_ids = [request("POST", CONTACTS, {"first_name": "C%d" % n},
                                   key=cls.admin_key)[2]["id"] for n in range(3)]
        cls.opportunity_id = request("POST", OPPORTUNITIES, {"name": "Won", "stage": "won"},
                                     key=cls.admin_key)[2]["id"]
        cls.records = []
        for n in range(24):
            body = {"contact_id": cls.contact_ids[n % 3], "amount_cents": (n % 5 - 1) * 1000,
                    "currency": ["EUR", "USD"][n % 2],
                    "occurred_at": "2026-01-%02dT12:00:00Z" % (1 + n // 3),
                    "opportunity_id": cls.opportunity_id if n % 4 == 0 else None}
            status, _, record = request("POST", PURCHASES, body, key=cls.admin_key)
            assert status == 201, record
            cls.records.append(record)

    def test_filters(self):
        def expect(query, predicate):
            self.assertEqual(sorted(r["id"] for r in self.records if predicate(r)),
                             self.list_ids(query), query)

        expect("contact_id=%d" % self.contact_ids[2], lambda r: r["contact_id"] == self.contact_ids[2])
        expect("opportunity_id=%d" % self.opportunity_id,
               lambda r: r["opportunity_id"] == self.opportunity_id)
        expect("since=2026-01-04T12:00:00Z", lambda r: r["occurred_at"] >= "2026-01-04T12:00:00Z")
        expect("until=2026-01-04T12:00:00Z", lambda r: r["occurred_at"] < "2026-01-04T12:00:00Z")
        expect("since=2026-01-02T00:00:00Z&until=2026-01-05T00:00:00Z&contact_id=%d"
               % self.contact_ids[0],
               lambda r: "2026-01-02" <= r["occurred_at"] < "2026-01-05"
               and r["contact_id"] == self.contact_ids[0])
        expect("currency=USD", lambda r: r["currency"] == "USD")
        for query in ("since=last-week", "contact_id=x", "amount_cents=100", "sort=reference"):
            self.assertProblem(self.api("GET", PURCHASES + "?" + query, key=self.admin_key), 400)

    def test_pagination(self):
        by_id = {r["id"]: r for r in self.records}
        for sort in ("occurred_at", "-occurred_at", "amount_cents", "-amount_cents", "id"):
            field = sort.lstrip("-")
            for limit in (1, 5, 100):
                ids = self.list_ids("sort=%s&limit=%d" % (sort, limit))
                self.assertEqual(sorted(by_id, key=lambda i: (by_id[i][field], i),
                                        reverse=sort.startswith("-")), ids, sort)


class PurchasePermissionsTest(PurchasesTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "purchases", "read", "own")
        harness.crmctl(db, "role", "create", "teamreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "teamreader", "purchases", "read", "team")
        harness.crmctl(db, "role", "create", "contactblind", "--from", "rep")
        harness.crmctl(db, "role", "grant", "contactblind", "contacts", "read", "own")
        harness.crmctl(db, "role", "grant", "contactblind", "opportunities", "read", "own")
        cls.rep_a, cls.rep_a_key = cls.make_user("rep-a@example.com", "rep", team="east")
        cls.rep_b, cls.rep_b_key = cls.make_user("rep-b@example.com", "rep", team="east")
        cls.rep_w, cls.rep_w_key = cls.make_user("rep-w@example.com", "rep", team="west")
        cls.manager_e, cls.manager_e_key = cls.make_user("mgr-e@example.com", "manager",
                                                         team="east")
        cls.viewer, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.own, cls.own_key = cls.make_user("own@example.com", "ownreader", team="east")
        cls.team_w, cls.team_w_key = cls.make_user("tw@example.com", "teamreader", team="west")
        cls.cblind, cls.cblind_key = cls.make_user("cb@example.com", "contactblind", team="east")

    def test_purchases_belong_to_the_contacts_owner(self):
        contact_a = self.contact(key=self.rep_a_key)
        contact_b = self.contact(key=self.rep_b_key)
        mine = self.create({"contact_id": contact_a["id"], "amount_cents": 100},
                           key=self.rep_a_key)
        # rep A may not record revenue of rep B's contact, nor move a purchase there
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": contact_b["id"],
                                                        "amount_cents": 100},
                                    key=self.rep_a_key), 403)
        self.assertProblem(self.patch(mine["id"], {"contact_id": contact_b["id"]},
                                      key=self.rep_a_key), 403)
        self.assertProblem(self.patch(mine["id"], {"amount_cents": 1}, key=self.rep_b_key), 403)
        status, _, body = self.patch(mine["id"], {"amount_cents": 120}, key=self.rep_a_key)
        self.assertEqual(200, status, body)
        # the manager moves the contact to rep B: the purchase follows at once
        status, _, _ = self.api("PATCH", "%s/%d" % (CONTACTS, contact_a["id"]),
                                {"owner_id": self.rep_b}, key=self.manager_e_key)
        self.assertEqual(200, status)
        self.assertProblem(self.patch(mine["id"], {"amount_cents": 130}, key=self.rep_a_key), 403)
        status, _, body = self.patch(mine["id"], {"amount_cents": 140}, key=self.rep_b_key)
        self.assertEqual(200, status, body)
        # reps delete nothing; the team's manager may
        self.assertProblem(self.api("DELETE", "%s/%d" % (PURCHASES, mine["id"]),
                                    key=self.rep_b_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (PURCHASES, mine["id"]),
                                       key=self.manager_e_key)[0])

    def test_manager_within_the_team(self):
        contact_w = self.contact(key=self.rep_w_key)
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": contact_w["id"],
                                                        "amount_cents": 100},
                                    key=self.manager_e_key), 403)
        contact_a = self.contact(key=self.rep_a_key)
        record = self.create({"contact_id": contact_a["id"], "amount_cents": 100},
                             key=self.manager_e_key)
        self.assertProblem(self.patch(record["id"], {"contact_id": contact_w["id"]},
                                      key=self.manager_e_key), 403)

    def test_viewer_reads_only(self):
        record = self.create({"contact_id": self.contact()["id"], "amount_cents": 100})
        self.assertEqual(200, self.get(record["id"], key=self.viewer_key)[0])
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": record["contact_id"],
                                                        "amount_cents": 1},
                                    key=self.viewer_key), 403)
        self.assertProblem(self.patch(record["id"], {"amount_cents": 1}, key=self.viewer_key), 403)

    def test_read_scopes_follow_the_contacts_owner(self):
        own_contact = self.contact(key=self.own_key)
        other_contact = self.contact(key=self.rep_a_key)
        west_contact = self.contact(key=self.rep_w_key)
        mine = self.create({"contact_id": own_contact["id"], "amount_cents": 1})
        theirs = self.create({"contact_id": other_contact["id"], "amount_cents": 2})
        west = self.create({"contact_id": west_contact["id"], "amount_cents": 3})
        self.assertEqual(200, self.get(mine["id"], key=self.own_key)[0])
        self.assertProblem(self.get(theirs["id"], key=self.own_key), 404)
        self.assertProblem(self.patch(theirs["id"], {"amount_cents": 5}, key=self.own_key), 404)
        ids = self.list_ids("", key=self.own_key)
        self.assertIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)
        self.assertEqual([], self.list_ids("contact_id=%d" % other_contact["id"],
                                           key=self.own_key))
        ids = self.list_ids("", key=self.team_w_key)
        self.assertIn(west["id"], ids)
        self.assertNotIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)
        self.assertProblem(self.get(theirs["id"], key=self.team_w_key), 404)
        # a new owner of the contact: the purchase is readable for them at once
        status, _, _ = self.api("PATCH", "%s/%d" % (CONTACTS, other_contact["id"]),
                                {"owner_id": self.own}, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(200, self.get(theirs["id"], key=self.own_key)[0])
        self.assertIn(theirs["id"], self.list_ids("", key=self.own_key))

    def test_unreadable_references_are_422(self):
        contact = self.contact(key=self.rep_a_key)
        self.assertProblem(self.api("POST", PURCHASES, {"contact_id": contact["id"],
                                                        "amount_cents": 1},
                                    key=self.cblind_key), 422, "contact_id")
        own_contact = self.contact(key=self.cblind_key)
        self.create({"contact_id": own_contact["id"], "amount_cents": 1}, key=self.cblind_key)
        # someone else's opportunity, won or not, is as good as absent: the same answer
        answers = []
        for stage in ("won", "proposal"):
            theirs = self.opportunity(stage, key=self.rep_a_key)
            problem = self.assertProblem(self.api("POST", PURCHASES, {
                "contact_id": own_contact["id"], "amount_cents": 1,
                "opportunity_id": theirs["id"]}, key=self.cblind_key), 422, "opportunity_id")
            answers.append(problem["errors"])
        self.assertEqual(answers[0], answers[1])
        self.assertNotIn("won", json.dumps(answers[0]))
        mine = self.opportunity("won", key=self.cblind_key)
        self.create({"contact_id": own_contact["id"], "amount_cents": 1,
                     "opportunity_id": mine["id"]}, key=self.cblind_key)
