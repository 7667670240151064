"""test_merge.py - POST /api/v1/contacts/{id}/merge and GET /api/v1/contacts/duplicates
(include/crm/contacts_merge.h): a merge moves every interaction, opportunity, purchase, task
and static segment membership to the kept contact, fills its empty fields, unites tags,
deletes the merged contacts, in one transaction with one audit entry, leaves the analytics
summaries equal to a recomputation, and refuses what it must; the duplicates report finds
groups by email, phone and name, only among readable contacts, paged."""

import harness

CONTACTS = "/api/v1/contacts"

# contact_summaries recomputed from the records (the definitions of 0004_analytics.sql)
RECOMPUTE = """
SELECT
  (SELECT count(*) FROM purchases WHERE contact_id = :id),
  (SELECT count(DISTINCT substr(occurred_at, 1, 10)) FROM purchases WHERE contact_id = :id),
  (SELECT coalesce(sum(amount_cents), 0) FROM purchases WHERE contact_id = :id),
  (SELECT min(occurred_at) FROM purchases WHERE contact_id = :id),
  (SELECT max(occurred_at) FROM purchases WHERE contact_id = :id),
  (SELECT coalesce(sum(amount_cents), 0) FROM purchases WHERE contact_id = :id
     AND substr(occurred_at, 1, 10) = (SELECT substr(min(occurred_at), 1, 10) FROM purchases
                                        WHERE contact_id = :id)),
  (SELECT count(*) FROM interactions WHERE contact_id = :id),
  (SELECT min(occurred_at) FROM interactions WHERE contact_id = :id),
  (SELECT max(occurred_at) FROM interactions WHERE contact_id = :id),
  (SELECT count(*) FROM interactions WHERE contact_id = :id AND kind = 'call'),
  (SELECT count(*) FROM interactions WHERE contact_id = :id AND kind = 'email'),
  (SELECT count(*) FROM interactions WHERE contact_id = :id AND kind = 'meeting'),
  (SELECT count(*) FROM interactions WHERE contact_id = :id AND kind = 'ticket'),
  (SELECT count(*) FROM interactions WHERE contact_id = :id AND direction IS 'inbound'),
  (SELECT count(*) FROM interactions WHERE contact_id = :id
     AND (kind = 'ticket' OR direction IS 'inbound'))
"""
STORED = """
SELECT purchases_count, purchase_days, total_cents, first_purchase_at, last_purchase_at,
       first_day_cents, interactions_count, first_interaction_at, last_interaction_at,
       call_count, email_count, meeting_count, ticket_count, inbound_count, service_count
FROM contact_summaries WHERE contact_id = :id
"""


sql = harness.sql_rows


class MergeTestCase(harness.ServerTestCase):
    def create(self, path, body, key=None):
        status, _, record = self.api("POST", path, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def contact(self, **fields):
        return self.create(CONTACTS, fields)

    def merge(self, kept_id, body, key=None, headers=None):
        return self.api("POST", "%s/%d/merge" % (CONTACTS, kept_id), body,
                        key=key or self.admin_key, headers=headers)


class MergeTest(MergeTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.manager_id, cls.manager_key = cls.make_user("manager@example.com", "manager",
                                                        team="east")

    def test_merge_moves_everything_and_is_audited(self):
        company = self.create("/api/v1/companies", {"name": "Merge Co"})
        kept = self.contact(first_name="Ann", tags=["vip"], custom={"size": "L"})
        first = self.contact(first_name="Anne", email="ann@merge.example", phone="+49 30 1",
                             company_id=company["id"], tags=["newsletter", "vip"],
                             custom={"size": "S", "shoe": 38}, external_id="crm-ann-1")
        second = self.contact(last_name="Lee", title="CEO", email="other@merge.example",
                              lifecycle="customer", tags=["event"])
        moved = {"interactions": [], "opportunities": [], "purchases": [], "tasks": []}
        for source, when in ((first, "2026-01-10T10:00:00Z"), (second, "2026-02-01T09:00:00Z"),
                             (kept, "2026-01-20T12:00:00Z")):
            interaction = self.create("/api/v1/interactions",
                                      {"contact_id": source["id"], "kind": "call",
                                       "direction": "inbound", "occurred_at": when})
            purchase = self.create("/api/v1/purchases",
                                   {"contact_id": source["id"], "amount_cents": 1500,
                                    "currency": "EUR", "occurred_at": when})
            if source is not kept:
                moved["interactions"].append(interaction["id"])
                moved["purchases"].append(purchase["id"])
        opportunity = self.create("/api/v1/opportunities",
                                  {"name": "Deal", "contact_id": second["id"]})
        task = self.create("/api/v1/tasks", {"title": "Call back", "contact_id": first["id"]})
        moved["opportunities"].append(opportunity["id"])
        moved["tasks"].append(task["id"])
        segment = self.create("/api/v1/segments", {"name": "Merged members", "kind": "static"})
        members = "/api/v1/segments/%d/members" % segment["id"]
        self.assertEqual(200, self.api("POST", members, {"contact_ids": [first["id"]]},
                                       key=self.admin_key)[0])

        status, headers, merged = self.merge(kept["id"], {"from": [first["id"], second["id"]]},
                                             headers={"If-Match": '"1"'})
        self.assertEqual(200, status, merged)
        self.assertEqual('"%d"' % merged["version"], headers["etag"])
        self.assertEqual(2, merged["version"])
        # empty fields from the first merged contact that has one; the kept one's win
        self.assertEqual("Ann", merged["first_name"])
        self.assertEqual("Lee", merged["last_name"])
        self.assertEqual("ann@merge.example", merged["email"])
        self.assertEqual("+49 30 1", merged["phone"])
        self.assertEqual("CEO", merged["title"])
        self.assertEqual(company["id"], merged["company_id"])
        self.assertEqual("customer", merged["lifecycle"])
        self.assertEqual("crm-ann-1", merged["external_id"])
        self.assertEqual(["vip", "newsletter", "event"], merged["tags"])
        self.assertEqual({"size": "L", "shoe": 38}, merged["custom"])
        status, _, again = self.api("GET", "%s/%d" % (CONTACTS, kept["id"]), key=self.admin_key)
        self.assertEqual(merged, again)
        for gone in (first, second):
            self.assertProblem(self.api("GET", "%s/%d" % (CONTACTS, gone["id"]),
                                        key=self.admin_key), 404)
        # everything moved
        for resource, ids in moved.items():
            for record_id in ids:
                status, _, record = self.api("GET", "/api/v1/%s/%d" % (resource, record_id),
                                             key=self.admin_key)
                self.assertEqual(200, status, record)
                self.assertEqual(kept["id"], record["contact_id"], resource)
                self.assertEqual(2, record["version"], resource)
        status, _, page = self.api("GET", members, key=self.admin_key)
        self.assertEqual([kept["id"]], [member["id"] for member in page["data"]])
        status, _, page = self.api("GET", "%s?tag=newsletter" % CONTACTS, key=self.admin_key)
        self.assertIn(kept["id"], [contact["id"] for contact in page["data"]])
        status, _, page = self.api("GET", "%s/external/crm-ann-1" % CONTACTS, key=self.admin_key)
        self.assertEqual(kept["id"], page["id"])
        # the analytics summaries equal a fresh recomputation, and the merged ones are gone
        stored = sql(self.server.db_path, STORED, id=kept["id"])
        self.assertEqual(sql(self.server.db_path, RECOMPUTE, id=kept["id"]), stored)
        self.assertEqual(3, stored[0][0])
        self.assertEqual(4500, stored[0][2])
        self.assertEqual(3, stored[0][6])
        for gone in (first, second):
            self.assertEqual([], sql(self.server.db_path, STORED, id=gone["id"]))
        status, _, analytics = self.api("GET", "%s/%d/analytics" % (CONTACTS, kept["id"]),
                                        key=self.admin_key)
        if status == 200:
            self.assertEqual(3, analytics["purchases_count"])
        # one audit entry with the ids and what moved
        status, _, audit = self.api("GET", "/api/v1/audit?entity=contacts&entity_id=%d&action=merge"
                                    % kept["id"], key=self.admin_key)
        self.assertEqual(200, status, audit)
        self.assertEqual(1, len(audit["data"]))
        entry = audit["data"][0]
        self.assertEqual(self.admin_id, entry["user_id"])
        self.assertEqual([first["id"], second["id"]], entry["after"]["merged_ids"])
        for resource, ids in moved.items():
            self.assertEqual(sorted(ids), sorted(entry["after"]["moved"][resource]), resource)
        self.assertEqual([segment["id"]], entry["after"]["moved"]["segments"])
        self.assertEqual("Ann", entry["before"]["contact"]["first_name"])
        self.assertEqual([first["id"], second["id"]],
                         [contact["id"] for contact in entry["before"]["merged"]])
        self.assertEqual("Lee", entry["after"]["contact"]["last_name"])

    def test_bad_merges_are_refused_and_change_nothing(self):
        kept = self.contact(first_name="Keep")
        other = self.contact(first_name="Other")
        path_kept = kept["id"]
        for body, field in (({"from": [kept["id"]]}, "from[0]"),
                            ({"from": [999999]}, "from[0]"),
                            ({"from": [other["id"], other["id"]]}, "from[1]"),
                            ({"from": []}, "from"),
                            ({"from": "all"}, "from"),
                            ({"from": [0]}, "from[0]"),
                            ({"from": ["7"]}, "from[0]"),
                            ({"from": list(range(1, 60))}, "from"),
                            ({}, "from"),
                            ({"from": [other["id"]], "into": 3}, "into")):
            self.assertProblem(self.merge(path_kept, body), 422, field)
        self.assertProblem(self.merge(999999, {"from": [other["id"]]}), 404)
        self.assertProblem(self.api("POST", "%s/abc/merge" % CONTACTS, {"from": [other["id"]]},
                                    key=self.admin_key), 404)
        self.assertProblem(self.merge(path_kept, {"from": [other["id"]]},
                                      headers={"If-Match": '"7"'}), 412)
        self.assertProblem(self.api("POST", "%s/%d/merge" % (CONTACTS, path_kept),
                                    raw=b"{not json", key=self.admin_key), 400)
        self.assertProblem(self.api("POST", "%s/%d/merge" % (CONTACTS, path_kept),
                                    raw=b"{}", content_type="text/plain",
                                    key=self.admin_key), 415)
        for record in (kept, other):
            status, _, now = self.api("GET", "%s/%d" % (CONTACTS, record["id"]),
                                      key=self.admin_key)
            self.assertEqual((200, 1), (status, now["version"]))

    def test_permissions(self):
        # a rep may change own contacts but deletes nothing
        mine = self.contact(first_name="Mine", owner_id=self.rep_id)
        also_mine = self.contact(first_name="Also mine", owner_id=self.rep_id)
        theirs = self.contact(first_name="Theirs")
        self.assertProblem(self.merge(mine["id"], {"from": [also_mine["id"]]}, key=self.rep_key),
                           403)
        self.assertProblem(self.merge(theirs["id"], {"from": [mine["id"]]}, key=self.rep_key),
                           403)
        # a manager deletes within the team only
        self.assertProblem(self.merge(mine["id"], {"from": [theirs["id"]]},
                                      key=self.manager_key), 403)
        status, _, merged = self.merge(mine["id"], {"from": [also_mine["id"]]},
                                       key=self.manager_key)
        self.assertEqual(200, status, merged)
        # a read-only key writes nothing
        _, read_only = self.make_user("viewer-key@example.com", "admin", read_only=True)
        self.assertProblem(self.merge(mine["id"], {"from": [theirs["id"]]}, key=read_only), 403)

    def test_erased_contacts_are_not_merged(self):
        kept = self.contact(first_name="Alive")
        erased = self.contact(first_name="Gone", email="gone@merge.example")
        status, _, _ = self.api("POST", "%s/%d/erase" % (CONTACTS, erased["id"]),
                                key=self.admin_key)
        self.assertEqual(204, status)
        self.assertProblem(self.merge(kept["id"], {"from": [erased["id"]]}), 422, "from[0]")
        self.assertProblem(self.merge(erased["id"], {"from": [kept["id"]]}), 422)


class DuplicatesTest(MergeTestCase):
    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "role", "create", "own-reader", "--from", "viewer")
        harness.crmctl(cls.server.db_path, "role", "grant", "own-reader", "contacts", "read",
                       "own")
        cls.reader_id, cls.reader_key = cls.make_user("reader@example.com", "own-reader")

    def groups(self, query="", key=None):
        """Every group over all pages (limit 1, so paging is exercised)."""
        found, cursor = [], None
        for _ in range(200):
            path = "%s/duplicates?limit=1%s%s" % (CONTACTS, query,
                                                  "&cursor=" + cursor if cursor else "")
            status, _, page = self.api("GET", path, key=key or self.admin_key)
            self.assertEqual(200, status, page)
            self.assertLessEqual(len(page["data"]), 1)
            found += page["data"]
            cursor = page["next_cursor"]
            if not cursor:
                return found
        self.fail("paging does not end")

    def group_of(self, groups, reason, contact_id):
        for group in groups:
            if group["reason"] == reason and contact_id in [c["id"] for c in group["contacts"]]:
                return group
        return None

    def test_duplicates_by_each_reason(self):
        company = self.create("/api/v1/companies", {"name": "Dupes Inc"})
        other_company = self.create("/api/v1/companies", {"name": "Elsewhere"})
        mail_a = self.contact(first_name="Bob", email="Bob.Dup@Example.com")
        mail_b = self.contact(last_name="Dup", email="bob.dup@example.com")
        phone_a = self.contact(first_name="Pia", phone="+49 30 7654321")
        phone_b = self.contact(first_name="Pia B", phone="030 / 765 43 21")
        phone_c = self.contact(first_name="Pia C", phone="0049-30-7654321")
        us_a = self.contact(first_name="Sam", phone="+1 (415) 555-0199")
        us_b = self.contact(first_name="Samuel", phone="415.555.0199")
        name_a = self.contact(first_name="Carla", last_name="Smith", company_id=company["id"])
        name_b = self.contact(first_name="karla", last_name="SMITH", company_id=company["id"])
        name_c = self.contact(first_name="Carla", last_name="Smiht", company_id=company["id"])
        name_elsewhere = self.contact(first_name="Carla", last_name="Smith",
                                      company_id=other_company["id"])
        loner = self.contact(first_name="Zed", email="zed@example.com", phone="12345")
        groups = self.groups()
        keys = [(group["reason"], group["contacts"][0]["id"]) for group in groups]
        self.assertEqual(len(keys), len(set(keys)), "a group came twice")
        self.assertEqual(sorted(keys, key=lambda k: (["email", "phone", "name"].index(k[0]), k[1])),
                         keys, "groups are not in order")
        group = self.group_of(groups, "email", mail_a["id"])
        self.assertEqual([mail_a["id"], mail_b["id"]], [c["id"] for c in group["contacts"]])
        self.assertEqual("bob.dup@example.com", group["key"])
        self.assertEqual(2, group["count"])
        group = self.group_of(groups, "phone", phone_a["id"])
        self.assertEqual([phone_a["id"], phone_b["id"], phone_c["id"]],
                         [c["id"] for c in group["contacts"]])
        group = self.group_of(groups, "phone", us_a["id"])
        self.assertEqual([us_a["id"], us_b["id"]], [c["id"] for c in group["contacts"]])
        group = self.group_of(groups, "name", name_a["id"])
        self.assertEqual([name_a["id"], name_b["id"], name_c["id"]],
                         [c["id"] for c in group["contacts"]])
        self.assertEqual(company["id"], group["company_id"])
        self.assertIsNone(self.group_of(groups, "name", name_elsewhere["id"]))
        for reason in ("email", "phone", "name"):
            self.assertIsNone(self.group_of(groups, reason, loner["id"]))
        # one reason only
        names = self.groups("&reason=name")
        self.assertEqual({"name"}, {group["reason"] for group in names})
        self.assertIsNotNone(self.group_of(names, "name", name_b["id"]))
        # the duplicates can then be merged away
        status, _, _ = self.merge(mail_a["id"], {"from": [mail_b["id"]]})
        self.assertEqual(200, status)
        self.assertIsNone(self.group_of(self.groups("&reason=email"), "email", mail_a["id"]))

    def test_answer_matches_the_openapi_schema(self):
        self.contact(first_name="Schema", email="schema.dup@example.com")
        self.contact(first_name="Schema 2", email="schema.dup@example.com")
        status, _, document = self.api("GET", "/api/v1/openapi.json")
        status, _, page = self.api("GET", "%s/duplicates?limit=5" % CONTACTS,
                                   key=self.admin_key)
        self.assertEqual(200, status, page)
        self.assertTrue(page["data"])
        self.assertMatchesSchema(document, "ContactDuplicates", page)

    def test_only_readable_contacts(self):
        own_a = self.contact(first_name="Own", email="own.dup@example.com",
                             owner_id=self.reader_id)
        own_b = self.contact(first_name="Own B", email="OWN.dup@example.com",
                             owner_id=self.reader_id)
        hidden = self.contact(first_name="Hidden", email="own.dup@example.com")
        group = self.group_of(self.groups(key=self.reader_key), "email", own_a["id"])
        self.assertEqual([own_a["id"], own_b["id"]], [c["id"] for c in group["contacts"]])
        group = self.group_of(self.groups(), "email", own_a["id"])
        self.assertEqual([own_a["id"], own_b["id"], hidden["id"]],
                         [c["id"] for c in group["contacts"]])
        visible = [c["id"] for g in self.groups(key=self.reader_key) for c in g["contacts"]]
        self.assertNotIn(hidden["id"], visible)

    def test_bad_queries_are_400(self):
        for query in ("?reason=age", "?limit=0", "?limit=501", "?cursor=abc", "?sort=id",
                      "?limit=1&limit=2"):
            self.assertProblem(self.api("GET", "%s/duplicates%s" % (CONTACTS, query),
                                        key=self.admin_key), 400)
        self.assertProblem(self.api("GET", "%s/duplicates" % CONTACTS), 401)
