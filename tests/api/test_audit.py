"""test_audit.py - GET /api/v1/audit: administrators only; every kind of change of every
resource (create, update, delete: three entries with the right before/after, user and
actor), user, role, key and session changes through the API and through crmctl; the
filters (entity, entity_id, user_id incl. me, action, since/until), newest-first keyset
paging without gaps or duplicates, bad parameters answering 400, and ids of deleted
records never given to new ones."""
import json
import time
import urllib.parse

import harness

AUDIT = "/api/v1/audit"
sql_rows = harness.sql_rows


class AuditTestCase(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.manager_id, cls.manager_key = cls.make_user("manager@example.com", "manager",
                                                        team="east")
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")

    def entries(self, query="", key=None, limit=500):
        """Every entry matching `query`, newest first, following next_cursor."""
        found, cursor = [], None
        for _ in range(200):
            path = "%s?limit=%d%s%s" % (AUDIT, limit, "&" if query else "", query)
            if cursor:
                path += "&cursor=" + urllib.parse.quote(cursor)
            status, _, page = self.api("GET", path, key=key or self.admin_key)
            self.assertEqual(200, status, page)
            self.assertLessEqual(len(page["data"]), limit)
            found += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found
        self.fail("paging does not end")

    def of(self, entity, entity_id):
        return self.entries("entity=%s&entity_id=%d" % (entity, entity_id))

    def create(self, resource, body, key=None):
        status, _, record = self.api("POST", "/api/v1/" + resource, body,
                                     key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record


class AuditAccessTest(AuditTestCase):
    def test_only_administrators_read_the_log(self):
        for key in (self.manager_key, self.rep_key, self.viewer_key):
            self.assertProblem(self.api("GET", AUDIT, key=key), 403)
        status, headers, _ = self.api("GET", AUDIT)
        self.assertEqual(401, status)
        self.assertIn("Bearer", headers.get("www-authenticate", ""))
        status, _, page = self.api("GET", AUDIT, key=self.admin_key)
        self.assertEqual(200, status, page)
        self.assertEqual({"data", "next_cursor"}, set(page))
        entry = page["data"][0]
        self.assertEqual({"id", "at", "user_id", "actor", "entity", "entity_id", "action",
                          "before", "after"}, set(entry))
        self.assertRegex(entry["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_bad_parameters_are_400(self):
        for query in ("entity_id=abc", "entity_id=0", "user_id=x", "since=yesterday",
                      "until=2026-13-01T00:00:00Z", "limit=0", "limit=501", "cursor=%%%",
                      "cursor=WyJpZCIsbnVsbCw0XQ", "entity=Contacts%20X", "action=",
                      "bogus=1", "entity=contacts&entity=users", "entity=" + "x" * 65):
            self.assertProblem(self.api("GET", AUDIT + "?" + query, key=self.admin_key), 400)


class AuditResourcesTest(AuditTestCase):
    """create, update (PATCH) and delete of each resource kind: three entries."""

    def check_three_entries(self, resource, body, patch):
        record = self.create(resource, body)
        path = "/api/v1/%s/%d" % (resource, record["id"])
        status, _, updated = self.api("PATCH", path, patch, key=self.admin_key)
        self.assertEqual(200, status, updated)
        status, _, _ = self.api("DELETE", path, key=self.admin_key)
        self.assertEqual(204, status)
        deleted, changed, created = self.of(resource, record["id"])
        self.assertEqual(["delete", "update", "create"],
                         [deleted["action"], changed["action"], created["action"]], resource)
        for entry in (created, changed, deleted):
            self.assertEqual((self.admin_id, "api", resource, record["id"]),
                             (entry["user_id"], entry["actor"], entry["entity"],
                              entry["entity_id"]), entry)
        self.assertIsNone(created["before"])
        self.assertEqual(record, created["after"], resource)
        self.assertEqual(record, changed["before"], resource)
        self.assertEqual(updated, changed["after"], resource)
        self.assertEqual(updated, deleted["before"], resource)
        self.assertIsNone(deleted["after"])
        self.assertLess(created["id"], changed["id"])
        self.assertLess(changed["id"], deleted["id"])

    def test_every_resource_kind(self):
        company = self.create("companies", {"name": "Audit Ltd"})
        contact = self.create("contacts", {"first_name": "Ada", "company_id": company["id"]})
        won = self.create("opportunities", {"name": "Won deal", "stage": "won",
                                            "amount_cents": 100})
        cases = [
            ("companies", {"name": "Acme", "tags": ["a"]}, {"industry": "retail"}),
            ("contacts", {"first_name": "Grace", "email": "grace@example.com"},
             {"last_name": "Hopper", "tags": ["vip"]}),
            ("interactions", {"contact_id": contact["id"], "kind": "call", "subject": "Hi"},
             {"body": "Talked about the renewal."}),
            ("tasks", {"title": "Call back", "contact_id": contact["id"]}, {"done": True}),
            ("opportunities", {"name": "Deal", "contact_id": contact["id"]},
             {"stage": "proposal"}),
            ("purchases", {"contact_id": contact["id"], "amount_cents": 1999},
             {"amount_cents": 2999, "opportunity_id": won["id"]}),
            ("segments", {"name": "VIPs", "kind": "static"}, {"description": "the best"}),
        ]
        for resource, body, patch in cases:
            with self.subTest(resource=resource):
                self.check_three_entries(resource, body, patch)

    def test_a_write_that_changes_nothing_writes_no_entry(self):
        contact = self.create("contacts", {"first_name": "Same"})
        self.api("PATCH", "/api/v1/contacts/%d" % contact["id"], {"first_name": "Same"},
                 key=self.admin_key)
        self.assertEqual(["create"], [e["action"] for e in self.of("contacts", contact["id"])])

    def test_segment_members_are_audited(self):
        segment = self.create("segments", {"name": "Static", "kind": "static"})
        contact = self.create("contacts", {"first_name": "Member"})
        status, _, body = self.api("POST", "/api/v1/segments/%d/members" % segment["id"],
                                   {"contact_ids": [contact["id"]]}, key=self.admin_key)
        self.assertEqual(200, status, body)
        entries = self.of("segments", segment["id"])
        self.assertEqual(["add_members", "create"], [e["action"] for e in entries])
        self.assertEqual(segment, entries[1]["after"])


class IdsNeverReusedTest(AuditTestCase):
    """The id of a deleted record, even the highest one, is never given to a new record:
    its audit entries, GDPR export and ETag stay the deleted record's (migration 0013)."""

    def delete(self, resource, record_id):
        status, _, body = self.api("DELETE", "/api/v1/%s/%d" % (resource, record_id),
                                   key=self.admin_key)
        self.assertEqual(204, status, body)

    def check_gone(self, resource, old):
        path = "/api/v1/%s/%d" % (resource, old["id"])
        self.assertEqual(404, self.api("GET", path, key=self.admin_key)[0])
        # a stale If-Match ("1", the old record's version) matches nothing
        status, _, _ = self.api("PATCH", path, {}, headers={"If-Match": '"1"'},
                                key=self.admin_key)
        self.assertEqual(404, status)

    def test_deleted_highest_contact_id_is_not_reused(self):
        old = self.create("contacts", {"first_name": "Olga", "last_name": "Deleted",
                                       "email": "olga.deleted@example.com"})
        self.create("interactions", {"contact_id": old["id"], "kind": "note",
                                     "subject": "olga-secret-note"})
        self.delete("contacts", old["id"])
        new = self.create("contacts", {"first_name": "Nina", "email": "nina@example.com"})
        self.assertGreater(new["id"], old["id"])
        self.check_gone("contacts", old)
        status, _, export = self.api("GET", "/api/v1/contacts/%d/export" % new["id"],
                                     key=self.admin_key)
        self.assertEqual(200, status, export)
        text = json.dumps(export)
        for trace in ("olga.deleted@example.com", "Olga", "olga-secret-note"):
            self.assertNotIn(trace, text)
        self.assertIn("nina@example.com", text)
        self.assertEqual(["create"], [e["action"] for e in self.of("contacts", new["id"])])
        self.assertEqual(["delete", "create"],
                         [e["action"] for e in self.of("contacts", old["id"])])

    def test_deleted_highest_task_and_interaction_ids_are_not_reused(self):
        contact = self.create("contacts", {"first_name": "Owner"})
        for resource, body in (("tasks", {"title": "Old task", "contact_id": contact["id"]}),
                               ("interactions", {"contact_id": contact["id"], "kind": "call",
                                                 "subject": "Old call"})):
            with self.subTest(resource=resource):
                old = self.create(resource, body)
                self.delete(resource, old["id"])
                new = self.create(resource, body)
                self.assertGreater(new["id"], old["id"])
                self.check_gone(resource, old)
                self.assertEqual(["create"],
                                 [e["action"] for e in self.of(resource, new["id"])])


class CascadedDeleteTest(AuditTestCase):
    """Deleting a record deletes (or detaches) what refers to it through the API's own
    path: each dependant gets its own audit entry and webhook event, in the delete's
    transaction."""

    @classmethod
    def setup_database(cls):
        super().setup_database()
        harness.crmctl(cls.server.db_path, "webhook", "private", "on")

    def test_deleting_a_contact_audits_its_dependants(self):
        status, _, hook = self.api("POST", "/api/v1/webhooks",
                                   {"url": "http://127.0.0.1:9/hook", "events": ["*"]},
                                   key=self.admin_key)
        self.assertEqual(201, status, hook)
        contact = self.create("contacts", {"first_name": "Cascade", "email": "cas@example.com"})
        kept = self.create("contacts", {"first_name": "Kept", "email": "kept@example.com"})
        cid = contact["id"]
        opportunity = self.create("opportunities", {"name": "Cascade deal", "contact_id": cid,
                                                    "stage": "won"})
        interaction = self.create("interactions", {"contact_id": cid, "kind": "call",
                                                   "subject": "cascade-call"})
        task = self.create("tasks", {"title": "Call back", "contact_id": cid,
                                     "opportunity_id": opportunity["id"]})
        purchase = self.create("purchases", {"contact_id": cid, "amount_cents": 500,
                                             "currency": "EUR",
                                             "opportunity_id": opportunity["id"]})
        first_event = sql_rows(self.server.db_path,
                               "SELECT coalesce(max(id), 0) FROM webhook_outbox")[0][0]
        status, _, body = self.api("DELETE", "/api/v1/contacts/%d" % cid, key=self.admin_key)
        self.assertEqual(204, status, body)

        for entity, record in (("interactions", interaction), ("tasks", task),
                               ("purchases", purchase), ("contacts", contact)):
            with self.subTest(entity=entity):
                entries = self.of(entity, record["id"])
                self.assertEqual(["delete", "create"], [e["action"] for e in entries])
                self.assertEqual((self.admin_id, record, None),
                                 (entries[0]["user_id"], entries[0]["before"],
                                  entries[0]["after"]))
                status, _, _ = self.api("GET", "/api/v1/%s/%d" % (entity, record["id"]),
                                        key=self.admin_key)
                self.assertEqual(404, status)
        entries = self.of("opportunities", opportunity["id"])
        self.assertEqual(["update", "create"], [e["action"] for e in entries])
        self.assertEqual((cid, None, opportunity["version"] + 1),
                         (entries[0]["before"]["contact_id"], entries[0]["after"]["contact_id"],
                          entries[0]["after"]["version"]))
        status, headers, stored = self.api("GET", "/api/v1/opportunities/%d" % opportunity["id"],
                                           key=self.admin_key)
        self.assertEqual((200, None, opportunity["version"] + 1),
                         (status, stored["contact_id"], stored["version"]))
        events = sql_rows(self.server.db_path,
                          "SELECT event, json_extract(data, '$.id') FROM webhook_outbox "
                          "WHERE id > ? ORDER BY id", first_event)
        self.assertEqual(sorted([("interaction.deleted", interaction["id"]),
                                 ("task.deleted", task["id"]),
                                 ("purchase.deleted", purchase["id"]),
                                 ("opportunity.updated", opportunity["id"]),
                                 ("contact.deleted", cid)]),
                         sorted((e[0], e[1]) for e in events))

        # the GDPR export of the deleted contact's entries and the erasure still work
        status, _, export = self.api("GET", "/api/v1/contacts/%d/export" % kept["id"],
                                     key=self.admin_key)
        self.assertEqual(200, status, export)
        self.assertNotIn("cascade-call", json.dumps(export))
        status, _, erased = self.api("POST", "/api/v1/contacts/%d/erase" % kept["id"],
                                     key=self.admin_key)
        self.assertEqual(204, status, erased)
        status, _, _ = self.api("GET", "/api/v1/contacts/%d/export" % cid, key=self.admin_key)
        self.assertEqual(404, status)

    def test_deleting_a_company_detaches_its_contacts_and_opportunities(self):
        company = self.create("companies", {"name": "Gone Ltd"})
        contact = self.create("contacts", {"first_name": "Staff", "company_id": company["id"]})
        deal = self.create("opportunities", {"name": "Gone deal", "company_id": company["id"]})
        status, _, body = self.api("DELETE", "/api/v1/companies/%d" % company["id"],
                                   key=self.admin_key)
        self.assertEqual(204, status, body)
        for entity, record, field in (("contacts", contact, "company_id"),
                                      ("opportunities", deal, "company_id")):
            entries = self.of(entity, record["id"])
            self.assertEqual(["update", "create"], [e["action"] for e in entries])
            self.assertEqual((company["id"], None, record["version"] + 1),
                             (entries[0]["before"][field], entries[0]["after"][field],
                              entries[0]["after"]["version"]))
        self.assertEqual(["delete", "create"],
                         [e["action"] for e in self.of("companies", company["id"])])


class AuditAccountsTest(AuditTestCase):
    """user, role, key and session changes, through the API and through crmctl."""

    def test_users_through_the_api(self):
        status, _, user = self.api("POST", "/api/v1/users",
                                   {"email": "new@example.com", "name": "New", "role": "rep",
                                    "password": "secret-password-1"}, key=self.admin_key)
        self.assertEqual(201, status, user)
        status, _, changed = self.api("PATCH", "/api/v1/users/%d" % user["id"],
                                      {"team": "west", "disabled": True}, key=self.admin_key)
        self.assertEqual(200, status, changed)
        updated, created = self.of("users", user["id"])
        self.assertEqual(("create", "update"), (created["action"], updated["action"]))
        self.assertEqual((self.admin_id, "api"), (updated["user_id"], updated["actor"]))
        self.assertEqual("west", updated["after"]["team"])
        self.assertIsNone(updated["before"]["team"])
        text = json.dumps([created, updated])
        self.assertNotIn("secret-password", text)
        self.assertNotIn("argon2", text)

    def test_api_keys_through_the_api(self):
        session = self.login(self.admin_email, self.admin_password)
        status, _, key = self.api("POST", "/api/v1/api-keys", {"name": "audit me"},
                                  session=session)
        self.assertEqual(201, status, key)
        status, _, _ = self.api("DELETE", "/api/v1/api-keys/%d" % key["id"], session=session)
        self.assertEqual(204, status)
        revoked, created = self.of("api_keys", key["id"])
        self.assertEqual(("create", "revoke"), (created["action"], revoked["action"]))
        self.assertEqual((self.admin_id, "api"), (created["user_id"], created["actor"]))
        self.assertNotIn(key["key"], json.dumps([created, revoked]))

    def test_crmctl_changes(self):
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        out = self.crmctl("user", "add", "cli@example.com", "--name", "Cli", "--role", "rep",
                          "--password-stdin", stdin="cli-password-123\n").stdout
        user_id = int(out.split("created user ")[1].split()[0])
        self.crmctl("user", "set", "cli@example.com", "--team", "north")
        self.crmctl("user", "passwd", "cli@example.com", "--password-stdin",
                    stdin="cli-password-456\n")
        self.crmctl("user", "disable", "cli@example.com")
        self.crmctl("user", "enable", "cli@example.com")
        self.crmctl("role", "create", "auditor", "--from", "viewer")
        self.crmctl("role", "grant", "auditor", "audit", "read", "all")
        key = self.crmctl("key", "create", "--user", "cli@example.com", "--name", "k").stdout.strip()
        listed = self.crmctl("key", "list").stdout
        key_id = max(int(line.split()[0]) for line in listed.splitlines()
                     if line.split() and line.split()[0].isdigit())
        self.crmctl("key", "revoke", str(key_id))
        self.crmctl("session", "revoke", "--user", "cli@example.com")

        user_entries = self.of("users", user_id)
        self.assertEqual(["create", "update", "update", "update", "update"],
                         [e["action"] for e in reversed(user_entries)])
        for entry in user_entries:
            self.assertEqual((None, "crmctl"), (entry["user_id"], entry["actor"]))
        self.assertNotIn("cli-password", json.dumps(user_entries))
        recent = self.entries("since=" + urllib.parse.quote(since))
        kinds = {(e["entity"], e["action"]) for e in recent}
        for expected in (("roles", "create"), ("grants", "grant"), ("api_keys", "create"),
                         ("api_keys", "revoke"), ("sessions", "revoke")):
            self.assertIn(expected, kinds)
        self.assertNotIn(key, json.dumps(recent))
        self.assertTrue(all(e["actor"] == "crmctl" for e in recent
                            if e["entity"] in ("roles", "grants", "sessions")))


class AuditFiltersTest(AuditTestCase):
    @classmethod
    def setup_database(cls):
        super().setup_database()

    def test_filters_and_paging(self):
        # a new second: entries written before it are all older than `before`
        time.sleep(1.02 - time.time() % 1)
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time()))
        mine = [self.create("contacts", {"first_name": "Rep %d" % i}, key=self.rep_key)
                for i in range(7)]
        company = self.create("companies", {"name": "Filter Inc"})
        self.api("PATCH", "/api/v1/companies/%d" % company["id"], {"industry": "x"},
                 key=self.admin_key)
        # user_id: the rep's entries only, newest first
        by_rep = self.entries("user_id=%d" % self.rep_id)
        self.assertEqual([c["id"] for c in reversed(mine)], [e["entity_id"] for e in by_rep])
        self.assertTrue(all(e["user_id"] == self.rep_id for e in by_rep))
        # me is the caller
        by_me = self.entries("user_id=me&since=" + urllib.parse.quote(before))
        self.assertEqual({("companies", "create"), ("companies", "update")},
                         {(e["entity"], e["action"]) for e in by_me})
        # action and entity
        updates = self.entries("action=update&entity=companies")
        self.assertIn(company["id"], [e["entity_id"] for e in updates])
        self.assertTrue(all(e["action"] == "update" for e in updates))
        # entity_id alone
        self.assertTrue(all(e["entity_id"] == mine[0]["id"]
                            for e in self.entries("entity_id=%d" % mine[0]["id"])))
        # since / until
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        self.assertEqual([], self.entries("since=" + urllib.parse.quote(future)))
        self.assertEqual([], self.entries("until=2000-01-01T00:00:00%2B01:00"))
        recent = self.entries("since=" + urllib.parse.quote(before))
        self.assertEqual(9, len(recent))
        # paging: small pages give the same entries, newest first, no duplicates
        paged = self.entries("since=" + urllib.parse.quote(before), limit=2)
        self.assertEqual([e["id"] for e in recent], [e["id"] for e in paged])
        ids = [e["id"] for e in self.entries()]
        self.assertEqual(sorted(ids, reverse=True), ids)
        self.assertEqual(len(ids), len(set(ids)))
        # a cursor keeps working while entries are added
        status, _, first = self.api("GET", AUDIT + "?limit=3", key=self.admin_key)
        self.create("contacts", {"first_name": "Later"})
        status, _, second = self.api("GET", AUDIT + "?limit=3&cursor=" +
                                     urllib.parse.quote(first["next_cursor"]), key=self.admin_key)
        self.assertEqual(200, status, second)
        self.assertLess(second["data"][0]["id"], first["data"][-1]["id"])
