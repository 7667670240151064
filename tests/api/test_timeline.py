"""test_timeline.py - GET /api/v1/contacts/{id}/timeline: interactions, opportunities,
their later stage changes, purchases and tasks merged newest first, ordered by (at desc,
type, id desc); keyset paging across mixed kinds with equal timestamps (no duplicates,
none missing, also while records are added); each item's record as its own GET shows it;
read scopes per kind; 404 for unreadable contacts; parameter checks."""
import urllib.parse

import harness

CONTACTS = "/api/v1/contacts"
INTERACTIONS = "/api/v1/interactions"
OPPORTUNITIES = "/api/v1/opportunities"
PURCHASES = "/api/v1/purchases"
TASKS = "/api/v1/tasks"
SAME = "2026-05-05T12:00:00Z"  # the timestamp many items share


sql = harness.sql_run


class TimelineTestCase(harness.ServerTestCase):
    def post(self, path, body, key=None):
        status, _, record = self.api("POST", path, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def timeline(self, contact_id, limit=50, key=None):
        """Every item, following next_cursor; also checks the page sizes."""
        items, cursor = [], None
        for _ in range(1000):
            url = "%s/%d/timeline?limit=%d" % (CONTACTS, contact_id, limit)
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor)
            status, _, body = self.api("GET", url, key=key or self.admin_key)
            self.assertEqual(200, status, body)
            self.assertLessEqual(len(body["data"]), limit)
            items += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return items
            self.assertEqual(limit, len(body["data"]))
        self.fail("pagination does not end")

    def expected(self, contact_id):
        """(type, id, at) of every item, in timeline order, straight from the database."""
        rows = sql(self.server.db_path, """
            SELECT 'interaction', id, occurred_at FROM interactions WHERE contact_id = ?1
            UNION ALL SELECT 'opportunity', id, created_at FROM opportunities WHERE contact_id = ?1
            UNION ALL SELECT 'stage_change', s.id, s.changed_at FROM opportunity_stage_changes s
                JOIN opportunities o ON o.id = s.opportunity_id
                WHERE o.contact_id = ?1 AND s.from_stage IS NOT NULL
            UNION ALL SELECT 'purchase', id, occurred_at FROM purchases WHERE contact_id = ?1
            UNION ALL SELECT 'task', id, created_at FROM tasks WHERE contact_id = ?1""",
                   contact_id)
        rows.sort(key=lambda row: row[1], reverse=True)
        rows.sort(key=lambda row: row[0])
        rows.sort(key=lambda row: row[2], reverse=True)
        return [tuple(row) for row in rows]


class TimelineOrderTest(TimelineTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        request = cls.server.request

        def post(path, body, key=None):
            status, _, record = request("POST", path, body, key=key or cls.admin_key)
            assert status == 201, record
            return record

        cls.contact_id = post(CONTACTS, {"first_name": "Busy"})["id"]
        cls.other_id = post(CONTACTS, {"first_name": "Other"})["id"]
        times = [SAME, SAME, "2026-05-06T08:00:00Z", "2026-05-04T08:00:00Z", SAME]
        for n in range(10):
            post(INTERACTIONS, {"contact_id": cls.contact_id, "kind": ["call", "email"][n % 2],
                                "occurred_at": times[n % 5], "subject": "I%d" % n},
                 key=cls.rep_key if n % 3 == 0 else None)
        cls.opportunity_ids = []
        for n in range(4):
            record = post(OPPORTUNITIES, {"name": "O%d" % n, "contact_id": cls.contact_id})
            cls.opportunity_ids.append(record["id"])
            for stage in ["qualified", "won"][:n % 3]:
                status, _, _ = request("PATCH", "%s/%d" % (OPPORTUNITIES, record["id"]),
                                       {"stage": stage}, key=cls.admin_key)
                assert status == 200
        won = post(OPPORTUNITIES, {"name": "Won", "stage": "won"})
        for n in range(6):
            post(PURCHASES, {"contact_id": cls.contact_id, "amount_cents": 100 * n,
                             "occurred_at": times[n % 5],
                             "opportunity_id": won["id"] if n % 2 else None})
        for n in range(5):
            post(TASKS, {"title": "T%d" % n, "contact_id": cls.contact_id})
        # the other contact's records never show up
        post(INTERACTIONS, {"contact_id": cls.other_id, "kind": "call", "occurred_at": SAME})
        post(PURCHASES, {"contact_id": cls.other_id, "amount_cents": 1, "occurred_at": SAME})
        post(TASKS, {"title": "Other", "contact_id": cls.other_id})
        post(OPPORTUNITIES, {"name": "Other", "contact_id": cls.other_id, "stage": "proposal"})
        # make opportunities, tasks and stage changes share timestamps with the rest
        db = cls.server.db_path
        sql(db, "UPDATE opportunities SET created_at = ? WHERE id % 2 = 0", SAME)
        sql(db, "UPDATE tasks SET created_at = ? WHERE id % 2 = 1", SAME)
        sql(db, "UPDATE opportunity_stage_changes SET changed_at = ? WHERE id % 2 = 0", SAME)

    def test_order_and_paging_across_kinds_with_equal_timestamps(self):
        expected = self.expected(self.contact_id)
        types = {row[0] for row in expected}
        self.assertEqual({"interaction", "opportunity", "stage_change", "purchase", "task"}, types)
        self.assertGreater(sum(1 for row in expected if row[2] == SAME), 10)
        for limit in (1, 2, 3, 5, 7, 50, 500):
            items = self.timeline(self.contact_id, limit=limit)
            self.assertEqual(expected, [(i["type"], i["id"], i["at"]) for i in items],
                             "limit %d" % limit)

    def test_records_are_the_resources_own(self):
        items = self.timeline(self.contact_id)
        paths = {"interaction": INTERACTIONS, "opportunity": OPPORTUNITIES,
                 "purchase": PURCHASES, "task": TASKS}
        seen = set()
        for item in items:
            if item["type"] == "stage_change":
                record = item["record"]
                self.assertIsNotNone(record["from_stage"])
                self.assertIn(record["opportunity_id"], self.opportunity_ids)
                self.assertEqual(item["at"], record["changed_at"])
                status, _, history = self.api("GET", "%s/%d/stages" % (
                    OPPORTUNITIES, record["opportunity_id"]), key=self.admin_key)
                self.assertIn(record, history["data"])
            elif item["type"] not in seen:
                seen.add(item["type"])
                status, _, record = self.api("GET", "%s/%d" % (paths[item["type"]], item["id"]),
                                             key=self.admin_key)
                self.assertEqual(200, status)
                self.assertEqual(record, item["record"])
            self.assertEqual(item["id"], item["record"]["id"])
            if item["type"] != "stage_change":
                self.assertEqual(self.contact_id, item["record"]["contact_id"])
        self.assertEqual({"interaction", "opportunity", "purchase", "task"}, seen)

    def test_first_stage_is_the_opportunity_itself(self):
        items = self.timeline(self.contact_id)
        changes = [i["record"] for i in items if i["type"] == "stage_change"]
        # O1 moved once, O2 twice, O0 and O3 never: three changes, none of them a creation
        self.assertEqual(3, len(changes))
        self.assertEqual([("lead", "qualified")] * 2 + [("qualified", "won")],
                         sorted((c["from_stage"], c["to_stage"]) for c in changes))
        self.assertEqual(4, len([i for i in items if i["type"] == "opportunity"]))

    def test_no_duplicates_while_records_are_added(self):
        contact_id = self.post(CONTACTS, {"first_name": "Growing"})["id"]
        original = {("interaction", self.post(INTERACTIONS, {"contact_id": contact_id,
                                                             "kind": "note",
                                                             "occurred_at": SAME})["id"])
                    for n in range(6)}
        status, _, page = self.api("GET", "%s/%d/timeline?limit=2" % (CONTACTS, contact_id),
                                   key=self.admin_key)
        seen = [(i["type"], i["id"]) for i in page["data"]]
        # newer items arrive meanwhile (they sort before the cursor); the next pages
        # continue where the first one ended
        added = {("interaction", self.post(INTERACTIONS, body)["id"]) for body in (
            {"contact_id": contact_id, "kind": "note", "occurred_at": "2027-01-01T00:00:00Z"},
            {"contact_id": contact_id, "kind": "note", "occurred_at": SAME})}
        cursor = page["next_cursor"]
        while cursor:
            status, _, page = self.api("GET", "%s/%d/timeline?limit=2&cursor=%s" % (
                CONTACTS, contact_id, urllib.parse.quote(cursor)), key=self.admin_key)
            self.assertEqual(200, status, page)
            seen += [(i["type"], i["id"]) for i in page["data"]]
            cursor = page["next_cursor"]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(original, set(seen))
        self.assertEqual(set(), added & set(seen))
        # a fresh read has everything, newest first
        self.assertEqual(self.expected(contact_id)[:2],
                         [(i["type"], i["id"], i["at"]) for i in self.timeline(contact_id)][:2])

    def test_empty_timeline(self):
        contact_id = self.post(CONTACTS, {"first_name": "Quiet"})["id"]
        status, _, body = self.api("GET", "%s/%d/timeline" % (CONTACTS, contact_id),
                                   key=self.admin_key)
        self.assertEqual((200, {"data": [], "next_cursor": None}), (status, body))

    def test_parameters_and_missing_contacts(self):
        base = "%s/%d/timeline" % (CONTACTS, self.contact_id)
        status, _, stages = self.api("GET", "%s/%d/stages?limit=1" % (
            OPPORTUNITIES, self.opportunity_ids[2]), key=self.admin_key)
        self.assertIsNotNone(stages["next_cursor"])
        for query in ("limit=0", "limit=501", "limit=ten", "cursor=xyz", "type=task",
                      "limit=1&limit=2", "cursor=" + urllib.parse.quote(stages["next_cursor"])):
            self.assertProblem(self.api("GET", base + "?" + query, key=self.admin_key), 400)
        for contact in ("999999", "abc", "0"):
            self.assertProblem(self.api("GET", "%s/%s/timeline" % (CONTACTS, contact),
                                        key=self.admin_key), 404)
        self.assertEqual(401, self.api("GET", base)[0])
        self.assertProblem(self.api("POST", base, {}, key=self.admin_key), 405)


class TimelineScopesTest(TimelineTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "mixed", "--from", "rep")
        harness.crmctl(db, "role", "grant", "mixed", "interactions", "read", "own")
        harness.crmctl(db, "role", "grant", "mixed", "opportunities", "read", "none")
        harness.crmctl(db, "role", "grant", "mixed", "purchases", "read", "own")
        harness.crmctl(db, "role", "grant", "mixed", "tasks", "read", "team")
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.west_id, cls.west_key = cls.make_user("west@example.com", "rep", team="west")
        cls.mixed_id, cls.mixed_key = cls.make_user("mixed@example.com", "mixed", team="east")
        cls.own_id, cls.own_key = cls.make_user("own@example.com", "ownreader", team="east")

    def fill(self, contact_id):
        """One of each kind by the admin, and an interaction by the mixed user."""
        records = {
            "interaction": self.post(INTERACTIONS, {"contact_id": contact_id, "kind": "call"}),
            "own_interaction": self.post(INTERACTIONS, {"contact_id": contact_id,
                                                        "kind": "note"}, key=self.mixed_key),
            "opportunity": self.post(OPPORTUNITIES, {"name": "D", "contact_id": contact_id}),
            "purchase": self.post(PURCHASES, {"contact_id": contact_id, "amount_cents": 5}),
            "team_task": self.post(TASKS, {"title": "East", "contact_id": contact_id,
                                           "assignee_id": self.rep_id}),
            "west_task": self.post(TASKS, {"title": "West", "contact_id": contact_id,
                                           "assignee_id": self.west_id}),
        }
        status, _, _ = self.api("PATCH", "%s/%d" % (OPPORTUNITIES, records["opportunity"]["id"]),
                                {"stage": "won"}, key=self.admin_key)
        self.assertEqual(200, status)
        return records

    def test_each_kind_follows_its_read_scope(self):
        contact_id = self.post(CONTACTS, {"first_name": "Shared"})["id"]
        records = self.fill(contact_id)
        everything = {(i["type"], i["id"]) for i in self.timeline(contact_id)}
        self.assertEqual(7, len(everything))
        seen = {(i["type"], i["id"]) for i in self.timeline(contact_id, key=self.mixed_key)}
        # own interactions only, no opportunities or stage changes, no purchases of a
        # contact someone else owns, the team's tasks
        self.assertEqual({("interaction", records["own_interaction"]["id"]),
                          ("task", records["team_task"]["id"])}, seen)
        # paging with scopes gives the same
        self.assertEqual(seen, {(i["type"], i["id"])
                                for i in self.timeline(contact_id, limit=1, key=self.mixed_key)})

    def test_purchases_of_own_contacts_are_readable(self):
        contact_id = self.post(CONTACTS, {"first_name": "Mine"}, key=self.mixed_key)["id"]
        purchase = self.post(PURCHASES, {"contact_id": contact_id, "amount_cents": 9})
        seen = {(i["type"], i["id"]) for i in self.timeline(contact_id, key=self.mixed_key)}
        self.assertIn(("purchase", purchase["id"]), seen)

    def test_unreadable_contact_is_404(self):
        contact_id = self.post(CONTACTS, {"first_name": "Hidden"})["id"]
        self.fill(contact_id)
        self.assertProblem(self.api("GET", "%s/%d/timeline" % (CONTACTS, contact_id),
                                    key=self.own_key), 404)
        own_contact = self.post(CONTACTS, {"first_name": "Own"}, key=self.own_key)["id"]
        self.post(INTERACTIONS, {"contact_id": own_contact, "kind": "call"}, key=self.own_key)
        self.assertEqual(1, len(self.timeline(own_contact, key=self.own_key)))
