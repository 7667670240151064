"""test_tasks.py - /api/v1/tasks: field rules and defaults (assignee is the caller, done is
false), done_at set and cleared by the server, references to missing or unreadable
contacts, opportunities and users, filters (assignee_id and assignee_id=me, done,
due_before, due_after, contact_id, opportunity_id), sorting by due_at with pagination,
If-Match, external-id upserts, audit entries, permission scopes (the assignee owns
the task), and ?q= full-text search of the title (migration 0014, also its backfill)."""
import json
import sqlite3
import time
import urllib.parse

import harness

TASKS = "/api/v1/tasks"
CONTACTS = "/api/v1/contacts"
OPPORTUNITIES = "/api/v1/opportunities"


sql_rows = harness.sql_rows


class TasksTestCase(harness.ServerTestCase):
    def contact(self, key=None):
        status, _, record = self.api("POST", CONTACTS, {"first_name": "Client"},
                                     key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def create(self, body, key=None, expect=201):
        status, headers, record = self.api("POST", TASKS, body, key=key or self.admin_key)
        self.assertEqual(expect, status, record)
        return record

    def get(self, record_id, key=None):
        return self.api("GET", "%s/%d" % (TASKS, record_id), key=key or self.admin_key)

    def patch(self, record_id, body, key=None, headers=None):
        return self.api("PATCH", "%s/%d" % (TASKS, record_id), body, key=key or self.admin_key,
                        headers=headers)

    def list_ids(self, query="", key=None):
        return self.list_all_ids(TASKS, query, key)


class TaskFieldsTest(TasksTestCase):
    def test_defaults_of_a_new_task(self):
        record = self.create({"title": "Call back"})
        self.assertEqual(self.admin_id, record["assignee_id"])
        self.assertIs(False, record["done"])
        for field in ("due_at", "contact_id", "opportunity_id", "done_at", "external_id"):
            self.assertIsNone(record[field], field)
        # an explicit null assignee means nobody
        self.assertIsNone(self.create({"title": "Unassigned", "assignee_id": None})["assignee_id"])

    def test_title_is_required_and_fields_are_checked(self):
        for body in ({}, {"title": "   "}, {"title": None}, {"due_at": "2026-01-01T00:00:00Z"}):
            self.assertProblem(self.api("POST", TASKS, body, key=self.admin_key), 422, "title")
        for extra, field in (({"title": "a\nb"}, "title"), ({"title": "x" * 501}, "title"),
                             ({"due_at": "tomorrow"}, "due_at"), ({"due_at": "2026-01-01"},
                                                                 "due_at"),
                             ({"done": "yes"}, "done"), ({"done": 1}, "done"),
                             ({"done_at": "2026-01-01T00:00:00Z"}, "done_at"),
                             ({"assignee_id": "me"}, "assignee_id"),
                             ({"priority": "high"}, "priority"), ({"version": 2}, "version")):
            self.assertProblem(self.api("POST", TASKS, dict({"title": "T"}, **extra),
                                        key=self.admin_key), 422, field)
        record = self.create({"title": "T", "due_at": "2026-06-01T09:00:00-05:00"})
        self.assertEqual("2026-06-01T14:00:00Z", record["due_at"])
        self.assertProblem(self.patch(record["id"], {"title": None}), 422, "title")
        self.assertProblem(self.patch(record["id"], {"done_at": None}), 422, "done_at")

    def test_references_must_exist(self):
        for field in ("contact_id", "opportunity_id", "assignee_id"):
            self.assertProblem(self.api("POST", TASKS, {"title": "R", field: 999999},
                                        key=self.admin_key), 422, field)
        contact = self.contact()
        status, _, opportunity = self.api("POST", OPPORTUNITIES, {"name": "Deal"},
                                          key=self.admin_key)
        record = self.create({"title": "R", "contact_id": contact["id"],
                              "opportunity_id": opportunity["id"]})
        self.assertEqual((contact["id"], opportunity["id"]),
                         (record["contact_id"], record["opportunity_id"]))
        # deleting the opportunity unlinks the task; deleting the contact deletes it
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (OPPORTUNITIES, opportunity["id"]),
                                       key=self.admin_key)[0])
        self.assertIsNone(self.get(record["id"])[2]["opportunity_id"])
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]),
                                       key=self.admin_key)[0])
        self.assertProblem(self.get(record["id"]), 404)

    def test_done_at_follows_done(self):
        record = self.create({"title": "Send quote"})
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        status, _, done = self.patch(record["id"], {"done": True})
        self.assertEqual(200, status, done)
        self.assertIs(True, done["done"])
        self.assertGreaterEqual(done["done_at"], before)
        # other changes keep done_at
        status, _, renamed = self.patch(record["id"], {"title": "Send the quote"})
        self.assertEqual(done["done_at"], renamed["done_at"])
        status, _, again = self.patch(record["id"], {"done": True})
        self.assertEqual(done["done_at"], again["done_at"])
        self.assertEqual(renamed["version"], again["version"])  # nothing changed
        status, _, undone = self.patch(record["id"], {"done": False})
        self.assertIs(False, undone["done"])
        self.assertIsNone(undone["done_at"])
        # created done: done_at is set; null done is false
        created_done = self.create({"title": "Already", "done": True})
        self.assertIsNotNone(created_done["done_at"])
        status, _, cleared = self.patch(created_done["id"], {"done": None})
        self.assertEqual(200, status, cleared)
        self.assertIs(False, cleared["done"])
        self.assertIsNone(cleared["done_at"])
        # a replacement keeps done_at while done stays true
        status, _, done = self.patch(record["id"], {"done": True})
        status, _, replaced = self.api("PUT", "%s/%d" % (TASKS, record["id"]),
                                       {"title": "Replaced", "done": True}, key=self.admin_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual(done["done_at"], replaced["done_at"])

    def test_if_match_and_audit(self):
        record = self.create({"title": "Audited"})
        self.assertProblem(self.patch(record["id"], {"done": True}, headers={"If-Match": '"5"'}),
                           412)
        status, _, patched = self.patch(record["id"], {"done": True}, headers={"If-Match": '"1"'})
        self.assertEqual(200, status, patched)
        self.assertProblem(self.api("DELETE", "%s/%d" % (TASKS, record["id"]), key=self.admin_key,
                                    headers={"If-Match": '"1"'}), 412)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (TASKS, record["id"]),
                                       key=self.admin_key, headers={"If-Match": '"2"'})[0])
        rows = sql_rows(self.server.db_path, "SELECT action, before, after FROM audit_log WHERE "
                        "entity = 'tasks' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update", "delete"], [row[0] for row in rows])
        self.assertIs(False, json.loads(rows[1][1])["done"])
        self.assertIs(True, json.loads(rows[1][2])["done"])
        self.assertIsNotNone(json.loads(rows[1][2])["done_at"])

    def test_external_id_upsert(self):
        path = TASKS + "/external/todo-7"
        body = {"title": "Synced task", "due_at": "2026-04-01T10:00:00Z"}
        status, _, created = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual(201, status, created)
        self.assertEqual(self.admin_id, created["assignee_id"])
        status, _, again = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual((200, created), (status, again))
        status, _, changed = self.api("PUT", path, dict(body, done=True), key=self.admin_key)
        self.assertEqual((200, 2, True), (status, changed["version"], changed["done"]))
        self.assertIsNotNone(changed["done_at"])
        self.assertProblem(self.api("POST", TASKS, {"title": "Dup", "external_id": "todo-7"},
                                    key=self.admin_key), 409, "external_id")


class TaskListTest(TasksTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.rep2_id, cls.rep2_key = cls.make_user("rep2@example.com", "rep", team="east")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        request = cls.server.request
        cls.contact_ids = [request("POST", CONTACTS, {"first_name": "C%d" % n},
                                   key=cls.admin_key)[2]["id"] for n in range(2)]
        cls.opportunity_id = request("POST", OPPORTUNITIES, {"name": "Deal"},
                                     key=cls.admin_key)[2]["id"]
        cls.records = []
        for n in range(26):
            key = [cls.admin_key, cls.rep_key, cls.rep2_key][n % 3]
            body = {"title": "Task %d" % n,
                    # several tasks share a due time; some have none
                    "due_at": None if n % 5 == 0 else "2026-03-%02dT09:00:00Z" % (1 + n % 7),
                    "contact_id": cls.contact_ids[n % 2] if n % 3 else None,
                    "opportunity_id": cls.opportunity_id if n % 4 == 0 else None,
                    "done": n % 6 == 0}
            status, _, record = request("POST", TASKS, body, key=key)
            assert status == 201, record
            cls.records.append(record)

    def mine(self, query, key=None):
        known = {r["id"] for r in self.records}
        return [i for i in self.list_ids(query, key=key) if i in known]

    def test_what_a_rep_has_due(self):
        cutoff = "2026-03-04T00:00:00Z"
        expected = sorted((r for r in self.records if r["assignee_id"] == self.rep_id
                           and r["due_at"] and r["due_at"] < cutoff),
                          key=lambda r: (r["due_at"], r["id"]))
        got = self.mine("assignee_id=me&due_before=%s&sort=due_at&limit=2" % cutoff,
                        key=self.rep_key)
        self.assertEqual([r["id"] for r in expected], got)
        self.assertTrue(got)
        # the same with done=false, and seen by the admin with the rep's id
        expected_open = [r["id"] for r in expected if not r["done"]]
        self.assertEqual(expected_open, self.mine("assignee_id=me&done=false&due_before=%s"
                                                  "&sort=due_at" % cutoff, key=self.rep_key))
        self.assertEqual(expected_open, self.mine("assignee_id=%d&done=false&due_before=%s"
                                                  "&sort=due_at" % (self.rep_id, cutoff)))

    def test_filters(self):
        def expect(query, predicate):
            self.assertEqual(sorted(r["id"] for r in self.records if predicate(r)),
                             self.mine(query), query)

        expect("assignee_id=me", lambda r: r["assignee_id"] == self.admin_id)
        expect("assignee_id=%d" % self.rep2_id, lambda r: r["assignee_id"] == self.rep2_id)
        expect("done=true", lambda r: r["done"])
        expect("done=false", lambda r: not r["done"])
        expect("due_after=2026-03-04T09:00:00Z",
               lambda r: r["due_at"] is not None and r["due_at"] > "2026-03-04T09:00:00Z")
        expect("due_before=2026-03-04T09:00:00Z",
               lambda r: r["due_at"] is not None and r["due_at"] < "2026-03-04T09:00:00Z")
        expect("due_after=2026-03-02T00:00:00Z&due_before=2026-03-05T00:00:00Z",
               lambda r: r["due_at"] is not None and "2026-03-02" < r["due_at"] < "2026-03-05")
        expect("contact_id=%d" % self.contact_ids[1], lambda r: r["contact_id"] == self.contact_ids[1])
        expect("opportunity_id=%d" % self.opportunity_id,
               lambda r: r["opportunity_id"] == self.opportunity_id)
        for query in ("assignee_id=you", "done=yes", "due_before=soon", "sort=colour",
                      "due_at=2026-03-01T09:00:00Z", "assignee_id=me&assignee_id=me"):
            self.assertProblem(self.api("GET", TASKS + "?" + query, key=self.admin_key), 400)

    def test_sort_by_due_at_pages_without_duplicates_or_gaps(self):
        by_id = {r["id"]: r for r in self.records}

        def key(i):
            due = by_id[i]["due_at"]
            return (due is not None, due or "", i)

        for limit in (1, 3, 5, 100):
            ids = self.mine("sort=due_at&limit=%d" % limit)
            self.assertEqual(sorted(by_id, key=key), ids)
            ids = self.mine("sort=-due_at&limit=%d" % limit)
            self.assertEqual(sorted(by_id, key=key, reverse=True), ids)


class TaskPermissionsTest(TasksTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "tasks", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "opportunities", "read", "own")
        cls.rep_a, cls.rep_a_key = cls.make_user("rep-a@example.com", "rep", team="east")
        cls.rep_b, cls.rep_b_key = cls.make_user("rep-b@example.com", "rep", team="east")
        cls.rep_w, cls.rep_w_key = cls.make_user("rep-w@example.com", "rep", team="west")
        cls.manager_e, cls.manager_e_key = cls.make_user("mgr-e@example.com", "manager",
                                                         team="east")
        cls.viewer, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.own, cls.own_key = cls.make_user("own@example.com", "ownreader", team="east")

    def test_rep_works_on_tasks_assigned_to_them(self):
        mine = self.create({"title": "Mine"}, key=self.rep_a_key)
        self.assertEqual(self.rep_a, mine["assignee_id"])
        self.assertProblem(self.api("POST", TASKS, {"title": "For B", "assignee_id": self.rep_b},
                                    key=self.rep_a_key), 403)
        self.assertProblem(self.patch(mine["id"], {"assignee_id": self.rep_b},
                                      key=self.rep_a_key), 403)
        self.assertProblem(self.patch(mine["id"], {"done": True}, key=self.rep_b_key), 403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (TASKS, mine["id"]), key=self.rep_a_key),
                           403)
        # a task the manager assigned to rep A is rep A's to close
        given = self.create({"title": "From the manager", "assignee_id": self.rep_a},
                            key=self.manager_e_key)
        status, _, body = self.patch(given["id"], {"done": True}, key=self.rep_a_key)
        self.assertEqual(200, status, body)

    def test_manager_assigns_within_the_team(self):
        task = self.create({"title": "Team", "assignee_id": self.rep_a}, key=self.manager_e_key)
        status, _, body = self.patch(task["id"], {"assignee_id": self.rep_b},
                                     key=self.manager_e_key)
        self.assertEqual((200, self.rep_b), (status, body["assignee_id"]))
        self.assertProblem(self.patch(task["id"], {"assignee_id": self.rep_w},
                                      key=self.manager_e_key), 403)
        self.assertProblem(self.api("POST", TASKS, {"title": "W", "assignee_id": self.rep_w},
                                    key=self.manager_e_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (TASKS, task["id"]),
                                       key=self.manager_e_key)[0])

    def test_viewer_reads_only(self):
        task = self.create({"title": "Seen"})
        self.assertEqual(200, self.get(task["id"], key=self.viewer_key)[0])
        self.assertProblem(self.api("POST", TASKS, {"title": "V"}, key=self.viewer_key), 403)
        self.assertProblem(self.patch(task["id"], {"done": True}, key=self.viewer_key), 403)

    def test_read_scope_own(self):
        theirs = self.create({"title": "Theirs"}, key=self.rep_a_key)
        mine = self.create({"title": "Mine"}, key=self.own_key)
        self.assertProblem(self.get(theirs["id"], key=self.own_key), 404)
        ids = self.list_ids("", key=self.own_key)
        self.assertIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)
        self.assertEqual([], self.list_ids("assignee_id=%d" % self.rep_a, key=self.own_key))

    def test_unreadable_references_are_422(self):
        contact = self.contact(key=self.rep_a_key)
        status, _, opportunity = self.api("POST", OPPORTUNITIES, {"name": "Theirs"},
                                          key=self.rep_a_key)
        self.assertProblem(self.api("POST", TASKS, {"title": "R", "contact_id": contact["id"]},
                                    key=self.own_key), 422, "contact_id")
        self.assertProblem(self.api("POST", TASKS, {"title": "R",
                                                    "opportunity_id": opportunity["id"]},
                                    key=self.own_key), 422, "opportunity_id")
        # everyone else reads them
        self.create({"title": "R", "contact_id": contact["id"],
                     "opportunity_id": opportunity["id"]}, key=self.rep_b_key)


class TaskSearchTest(TasksTestCase):
    """?q= full-text search of the title (migration 0014): prefixes, edits, deletes, other
    filters, and the read scope."""

    def search(self, text, extra="", key=None):
        query = "q=" + urllib.parse.quote(text) + ("&" + extra if extra else "")
        return set(self.list_ids(query, key=key))

    def test_search_follows_writes_and_combines_with_filters(self):
        first = self.create({"title": "Call Wexmoorlund about the renewal"})
        second = self.create({"title": "Send wexmoorlund the quote", "done": True})
        other = self.create({"title": "Unrelated chore"})
        self.assertEqual({first["id"], second["id"]}, self.search("wexmoorlund"))
        self.assertEqual({first["id"], second["id"]}, self.search("wexm"))  # word prefix
        self.assertEqual({first["id"]}, self.search("wexmoorlund renewal"))  # every word
        self.assertEqual(set(), self.search("wexmoorlunds"))
        # with filters
        self.assertEqual({second["id"]}, self.search("wexmoorlund", "done=true"))
        self.assertEqual({first["id"]}, self.search("wexmoorlund", "done=false"))
        # an edit: the old words are gone, the new ones found
        status, _, _ = self.patch(first["id"], {"title": "Call Plinthgrove back"})
        self.assertEqual(200, status)
        self.assertEqual({second["id"]}, self.search("wexmoorlund"))
        self.assertEqual({first["id"]}, self.search("plinthgrove"))
        # a delete
        status, _, _ = self.api("DELETE", "%s/%d" % (TASKS, second["id"]), key=self.admin_key)
        self.assertEqual(204, status)
        self.assertEqual(set(), self.search("wexmoorlund"))
        self.assertNotIn(other["id"], self.search("call"))
        check_fts(self, "tasks_fts")

    def test_search_keeps_the_read_scope(self):
        _, rep_key = self.make_user("searcher@example.com", "rep")
        mine = self.create({"title": "Zorvane follow-up"}, key=rep_key)
        theirs = self.create({"title": "Zorvane contract"})
        self.assertEqual({mine["id"], theirs["id"]}, self.search("zorvane"))
        visible = set(self.list_ids(key=rep_key)) & {mine["id"], theirs["id"]}
        self.assertIn(mine["id"], visible)
        self.assertEqual(visible, self.search("zorvane", key=rep_key))


def check_fts(test, table):
    """FTS5 integrity check of `table` against its content table, and nothing pending."""
    db_path = test.server.db_path
    harness.sql_rows(db_path, "INSERT INTO %s (%s, rank) VALUES ('integrity-check', 1)"
                     % (table, table))
    test.assertEqual([], harness.sql_rows(db_path, "SELECT * FROM fts_pending"))


class TaskSearchMigrationTest(TasksTestCase):
    """Tasks written before migration 0014 are found after it (the backfill)."""

    @classmethod
    def setUpClass(cls):
        from test_search_prefixes import apply_migrations
        cls.server = harness.Server(extra_args=cls.server_args)
        apply_migrations(cls.server.db_path, 1, 14)
        now = "2026-12-01T00:00:00Z"
        connection = sqlite3.connect(cls.server.db_path, isolation_level=None)
        connection.execute("INSERT INTO tasks (title, created_at, updated_at) VALUES "
                           "('Older Quillaberk task', ?, ?)", (now, now))
        connection.close()
        harness.crmctl(cls.server.db_path, "migrate")
        cls.admin_id, cls.admin_key = cls.make_user(cls.admin_email, "admin",
                                                    password=cls.admin_password, name="Admin")
        cls.server.start()

    def test_old_tasks_are_found(self):
        found = self.list_ids("q=quillaberk")
        self.assertEqual(1, len(found))
        new = self.create({"title": "Newer Quillaberk task"})
        self.assertEqual(set(found) | {new["id"]}, set(self.list_ids("q=quillab")))
        check_fts(self, "tasks_fts")
