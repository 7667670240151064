"""test_throwaway_resource.py - a resource added with only a descriptor and a migration gets
everything else from the registry (docs/adding-a-resource.md, issue 14 point 3).

build/tests/crmd-throwaway and crmctl-throwaway are crmd and crmctl with one more resource,
notes: its descriptor is tests/resource/notes_resource.c and its migration
tests/resource/9001_notes.sql, which `crmctl resource sql notes` wrote from the descriptor.
Nothing else in the tree names notes. The test checks that it gets CRUD with versions and
external ids, ?q= search, permissions by role scope, audit entries, webhook events (named,
accepted in subscriptions, delivered), the OpenAPI document and GET /api/v1/meta."""
import json
import os
import time

import harness
import test_webhooks as webhooks_test

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATION = os.path.join(HERE, "..", "resource", "9001_notes.sql")
NOTES = "/api/v1/notes"


class ThrowawayResourceTest(harness.ServerTestCase):
    crmd_binary = os.path.join(harness.BUILD, "tests", "crmd-throwaway")
    crmctl_binary = os.path.join(harness.BUILD, "tests", "crmctl-throwaway")

    @classmethod
    def setup_database(cls):
        cls.crmctl_static("webhook", "private", "on")  # the receiver is on loopback
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.manager_id, cls.manager_key = cls.make_user("manager@example.com", "manager",
                                                        team="east")

    @classmethod
    def crmctl_static(cls, *args, **kwargs):
        return harness.crmctl(cls.server.db_path, *args, binary=cls.crmctl_binary, **kwargs)

    def create(self, body, key=None):
        status, headers, note = self.api("POST", NOTES, body, key=key or self.admin_key)
        self.assertEqual(201, status, note)
        self.assertEqual("%s/%d" % (NOTES, note["id"]), headers["location"])
        return note

    def wait_for_deliveries(self, webhook_id, count, timeout=10):
        """The deliveries of a webhook once there are `count` of them (polled)."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, page = self.api("GET", "/api/v1/webhooks/%d/deliveries" % webhook_id,
                                       key=self.admin_key)
            self.assertEqual(200, status, page)
            if len(page["data"]) >= count or time.monotonic() > deadline:
                return page["data"]
            time.sleep(0.05)

    # ---- the migration is what the descriptor writes

    def test_migration_is_written_from_the_descriptor(self):
        printed = self.crmctl("resource", "sql", "notes").stdout
        with open(MIGRATION, encoding="utf-8") as migration:
            self.assertEqual(printed, migration.read(),
                             "9001_notes.sql differs from `crmctl resource sql notes`")
        listed = self.crmctl("resource", "list").stdout.splitlines()
        self.assertTrue(listed[-1].startswith("notes\ttable notes\tsearch notes_fts\tevents "
                                              "note.created,note.updated,note.deleted"),
                        listed)

    # ---- CRUD

    def test_create_read_update_replace_delete(self):
        note = self.create({"title": "  Kick-off  ", "body": "Agenda\nfirst", "kind": "memo",
                            "tags": ["a", "a", "b"]})
        self.assertEqual("Kick-off", note["title"])
        self.assertEqual(["a", "b"], note["tags"])
        self.assertEqual(self.admin_id, note["owner_id"])  # DEFAULT_CALLER
        self.assertEqual(1, note["version"])
        status, headers, read = self.api("GET", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        self.assertEqual((200, '"1"'), (status, headers["etag"]))
        self.assertEqual(note, read)
        self.assertProblem(self.api("PATCH", "%s/%d" % (NOTES, note["id"]), {"kind": "idea"},
                                    headers={"If-Match": '"7"'}, key=self.admin_key), 412)
        status, _, patched = self.api("PATCH", "%s/%d" % (NOTES, note["id"]), {"kind": "idea"},
                                      headers={"If-Match": '"1"'}, key=self.admin_key)
        self.assertEqual((200, "idea", 2), (status, patched["kind"], patched["version"]))
        status, _, replaced = self.api("PUT", "%s/%d" % (NOTES, note["id"]), {"title": "Only"},
                                       key=self.admin_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual((None, None, [], 3), (replaced["body"], replaced["kind"],
                                               replaced["tags"], replaced["version"]))
        status, _, _ = self.api("DELETE", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        self.assertEqual(204, status)
        self.assertProblem(self.api("GET", "%s/%d" % (NOTES, note["id"]), key=self.admin_key),
                           404)

    def test_field_rules_come_from_the_descriptor(self):
        self.assertProblem(self.api("POST", NOTES, {"body": "no title"}, key=self.admin_key),
                           422, "title")
        self.assertProblem(self.api("POST", NOTES, {"title": "x", "kind": "poem"},
                                    key=self.admin_key), 422, "kind")
        self.assertProblem(self.api("POST", NOTES, {"title": "x", "colour": "red"},
                                    key=self.admin_key), 422, "colour")
        self.assertProblem(self.api("POST", NOTES, {"title": "x" * 121}, key=self.admin_key),
                           422, "title")
        self.assertProblem(self.api("POST", NOTES, {"title": "x", "contact_id": 999999},
                                    key=self.admin_key), 422, "contact_id")

    def test_lists_filter_sort_and_sync_by_external_id(self):
        status, _, first = self.api("PUT", NOTES + "/external/sync-1",
                                    {"title": "Synced", "kind": "minutes"}, key=self.admin_key)
        self.assertEqual(201, status, first)
        status, _, again = self.api("PUT", NOTES + "/external/sync-1",
                                    {"title": "Synced", "kind": "minutes"}, key=self.admin_key)
        self.assertEqual((200, 1), (status, again["version"]))  # nothing changed
        self.assertProblem(self.api("POST", NOTES, {"title": "Twin", "external_id": "sync-1"},
                                    key=self.admin_key), 409, "external_id")
        self.create({"title": "Another minute", "kind": "minutes"})
        ids = self.list_all_ids(NOTES, "kind=minutes&sort=-title")
        status, _, page = self.api("GET", NOTES + "?kind=minutes&sort=-title",
                                   key=self.admin_key)
        titles = [note["title"] for note in page["data"]]
        self.assertEqual(sorted(titles, reverse=True), titles)
        self.assertIn(first["id"], ids)
        self.assertProblem(self.api("GET", NOTES + "?colour=red", key=self.admin_key), 400)
        self.assertProblem(self.api("GET", NOTES + "?sort=body", key=self.admin_key), 400)

    def test_deleting_the_referenced_contact_clears_the_reference(self):
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Ref"},
                                      key=self.admin_key)
        self.assertEqual(201, status, contact)
        note = self.create({"title": "About Ref", "contact_id": contact["id"]})
        self.assertEqual(204, self.api("DELETE", "/api/v1/contacts/%d" % contact["id"],
                                       key=self.admin_key)[0])
        status, _, read = self.api("GET", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        self.assertEqual((200, None, 2), (status, read["contact_id"], read["version"]))

    def test_merging_contacts_moves_the_reference(self):
        ids = []
        for name in ("Kept", "Merged"):
            status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": name},
                                          key=self.admin_key)
            self.assertEqual(201, status, contact)
            ids.append(contact["id"])
        note = self.create({"title": "About the merged one", "contact_id": ids[1]})
        status, _, kept = self.api("POST", "/api/v1/contacts/%d/merge" % ids[0],
                                   {"from": [ids[1]]}, key=self.admin_key)
        self.assertEqual(200, status, kept)
        status, _, read = self.api("GET", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        self.assertEqual((200, ids[0], 2), (status, read["contact_id"], read["version"]))

    # ---- search

    def test_search_finds_new_and_changed_words(self):
        note = self.create({"title": "Quarterly zeppelin review", "body": "budget figures"})
        for query, expected in (("zeppelin", True), ("zepp", True), ("budget figures", True),
                                ("zeppelin nothing", False)):
            status, _, page = self.api("GET", NOTES + "?q=" + query.replace(" ", "+"),
                                       key=self.admin_key)
            self.assertEqual(200, status, page)
            self.assertEqual(expected, note["id"] in [n["id"] for n in page["data"]], query)
        self.api("PATCH", "%s/%d" % (NOTES, note["id"]), {"title": "Quarterly airship review"},
                 key=self.admin_key)
        status, _, old = self.api("GET", NOTES + "?q=zeppelin", key=self.admin_key)
        status, _, new = self.api("GET", NOTES + "?q=airship", key=self.admin_key)
        self.assertEqual(([], [note["id"]]), ([n["id"] for n in old["data"]],
                                               [n["id"] for n in new["data"]]))
        # the index is sound after inserts, updates and deletes
        self.api("DELETE", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM fts_pending WHERE fts_table = 'notes_fts'")
        self.assertEqual([(0,)], rows)

    # ---- permissions

    def test_role_scopes_apply(self):
        mine = self.create({"title": "Rep's own"}, key=self.rep_key)
        self.assertEqual(self.rep_id, mine["owner_id"])
        admins = self.create({"title": "Admin's"})
        # rep: read all, write own, delete none
        self.assertEqual(200, self.api("GET", "%s/%d" % (NOTES, admins["id"]),
                                       key=self.rep_key)[0])
        self.assertProblem(self.api("PATCH", "%s/%d" % (NOTES, admins["id"]), {"kind": "idea"},
                                    key=self.rep_key), 403)
        self.assertEqual(200, self.api("PATCH", "%s/%d" % (NOTES, mine["id"]), {"kind": "idea"},
                                       key=self.rep_key)[0])
        self.assertProblem(self.api("DELETE", "%s/%d" % (NOTES, mine["id"]), key=self.rep_key),
                           403)
        # viewer: read only
        self.assertProblem(self.api("POST", NOTES, {"title": "no"}, key=self.viewer_key), 403)
        # manager: delete within the team (the rep is in the manager's team)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (NOTES, mine["id"]),
                                       key=self.manager_key)[0])
        # a role whose grant on notes says none: lists answer 403
        self.crmctl("role", "create", "notes-less", "--from", "viewer")
        self.crmctl("role", "grant", "notes-less", "notes", "read", "none")
        _, key = self.make_user("nobody@example.com", "notes-less")
        self.assertEqual(403, self.api("GET", NOTES, key=key)[0])
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])

    # ---- audit

    def test_changes_are_audited(self):
        note = self.create({"title": "Audited"})
        self.api("PATCH", "%s/%d" % (NOTES, note["id"]), {"body": "more"}, key=self.admin_key)
        self.api("DELETE", "%s/%d" % (NOTES, note["id"]), key=self.admin_key)
        status, _, page = self.api("GET", "/api/v1/audit?entity=notes&entity_id=%d" % note["id"],
                                   key=self.admin_key)
        self.assertEqual(200, status, page)
        actions = sorted(entry["action"] for entry in page["data"])
        self.assertEqual(["create", "delete", "update"], actions)

    # ---- webhook events

    def test_events_are_named_subscribed_and_delivered(self):
        status, _, events = self.api("GET", "/api/v1/webhooks/events", key=self.admin_key)
        self.assertEqual(200, status, events)
        self.assertEqual(["note.created", "note.updated", "note.deleted"],
                         [e for e in events["data"] if e.startswith("note.")])
        self.assertEqual("note.deleted", events["data"][-1])  # registered last
        receiver = webhooks_test.Receiver()
        try:
            status, _, webhook = self.api("POST", "/api/v1/webhooks",
                                          {"url": receiver.url(), "events": ["note.*"]},
                                          key=self.admin_key)
            self.assertEqual(201, status, webhook)
            self.assertProblem(self.api("POST", "/api/v1/webhooks",
                                        {"url": receiver.url(), "events": ["note.exploded"]},
                                        key=self.admin_key), 422, "events")
            note = self.create({"title": "Announced"})
            self.api("PATCH", "%s/%d" % (NOTES, note["id"]), {"kind": "memo"},
                     key=self.admin_key)
            requests = receiver.wait_for(2)
            self.assertEqual(["note.created", "note.updated"], [e for e, _ in receiver.events()])
            body = json.loads(requests[1][1])
            self.assertEqual(note["id"], body["data"]["id"])
            self.assertEqual(2, len(self.wait_for_deliveries(webhook["id"], 2)))
        finally:
            receiver.server.shutdown()

    # ---- the OpenAPI document and GET /api/v1/meta

    def test_openapi_documents_the_resource(self):
        status, _, document = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status)
        for path, methods in ((NOTES, {"get", "post"}),
                              (NOTES + "/{id}", {"get", "patch", "put", "delete"}),
                              (NOTES + "/external/{external_id}", {"get", "put"})):
            self.assertTrue(methods <= set(document["paths"].get(path, {})), path)
        schemas = document["components"]["schemas"]
        self.assertEqual(["idea", "memo", "minutes"],
                         [v for v in schemas["Note"]["properties"]["kind"]["enum"] if v])
        self.assertIn("title", schemas["NoteInput"]["required"])
        names = [p["name"] for p in document["paths"][NOTES]["get"]["parameters"]
                 if "name" in p]
        self.assertTrue({"q", "kind", "contact_id", "owner_id", "tag"} <= set(names), names)
        self.assertIn("note.created", document["webhooks"])
        self.assertIn({"name": "notes",
                       "description": "Free-text notes, optionally about a contact."},
                      document["tags"])

    def test_meta_describes_the_resource(self):
        status, _, meta = self.api("GET", "/api/v1/meta", key=self.viewer_key)
        self.assertEqual(200, status, meta)
        notes = meta["resources"][-1]
        self.assertEqual(("notes", "note", "notes", NOTES),
                         (notes["name"], notes["singular"], notes["permission"], notes["path"]))
        kind = [f for f in notes["fields"] if f["name"] == "kind"][0]
        self.assertEqual({"name": "kind", "type": "enum", "flags": ["filter", "sort"],
                          "values": ["idea", "memo", "minutes"]}, kind)
        self.assertEqual({"param": "q", "columns": ["title", "body"]}, notes["search"])
        self.assertEqual(["note.created", "note.updated", "note.deleted"], notes["events"])
        self.assertEqual("Free-text notes, optionally about a contact.", notes["description"])
        self.assertIn({"name": "notes", "resource": True},
                      meta["permissions"]["resources"])
