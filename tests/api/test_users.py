"""test_users.py - the users resource (admin only): create, read with ETag, merge-patch with
If-Match, validation (422), duplicates (409), keyset paging, passwords never returned and
never audited, and non-admins refused."""
import json
import sqlite3

import harness

USERS = "/api/v1/users"


class UsersTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.manager_id, cls.manager_key = cls.make_user("boss@example.com", "manager",
                                                        team="east")

    def create(self, **fields):
        body = {"name": "Some One", "role": "viewer"}
        body.update(fields)
        status, headers, created = self.api("POST", USERS, body, key=self.admin_key)
        self.assertEqual(201, status, created)
        return headers, created

    def assertNoSecrets(self, value):
        text = json.dumps(value)
        self.assertNotIn("\"password\"", text)
        self.assertNotIn("password_hash", text)
        self.assertNotIn("$argon2", text)

    def test_create_returns_201_location_etag_and_no_password(self):
        headers, user = self.create(email="new@example.com", name="New Person", role="rep",
                                    team="west", password="secret-password-1")
        self.assertEqual("%s/%d" % (USERS, user["id"]), headers["location"])
        self.assertEqual('"1"', headers["etag"])
        self.assertEqual(1, user["version"])
        self.assertEqual("new@example.com", user["email"])
        self.assertEqual("New Person", user["name"])
        self.assertEqual("rep", user["role"])
        self.assertEqual("west", user["team"])
        self.assertFalse(user["disabled"])
        self.assertTrue(user["has_password"])
        self.assertRegex(user["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(user["created_at"], user["updated_at"])
        self.assertNoSecrets(user)
        # The password works for logging in.
        self.assertEqual(200, self.login("new@example.com", "secret-password-1").status)

    def test_get_one_with_etag_and_404(self):
        status, headers, user = self.api("GET", "%s/%d" % (USERS, self.rep_id), key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual('"%d"' % user["version"], headers["etag"])
        self.assertEqual("rep@example.com", user["email"])
        self.assertNoSecrets(user)
        self.assertProblem(self.api("GET", USERS + "/999999", key=self.admin_key), 404)
        self.assertProblem(self.api("GET", USERS + "/abc", key=self.admin_key), 404)
        self.assertProblem(self.api("GET", USERS + "/-1", key=self.admin_key), 404)

    def test_patch_is_a_merge_patch_with_versions(self):
        _, user = self.create(email="patch@example.com", team="red")
        path = "%s/%d" % (USERS, user["id"])
        status, headers, changed = self.api("PATCH", path, {"name": "Renamed", "team": None},
                                            key=self.admin_key, headers={"If-Match": '"1"'})
        self.assertEqual(200, status, changed)
        self.assertEqual(2, changed["version"])
        self.assertEqual('"2"', headers["etag"])
        self.assertEqual("Renamed", changed["name"])
        self.assertIsNone(changed["team"])
        self.assertEqual("viewer", changed["role"])  # untouched
        # A stale If-Match is refused and changes nothing.
        self.assertProblem(self.api("PATCH", path, {"name": "Lost"}, key=self.admin_key,
                                    headers={"If-Match": '"1"'}), 412)
        self.assertProblem(self.api("PATCH", path, {"name": "Lost"}, key=self.admin_key,
                                    headers={"If-Match": 'garbage'}), 412)
        status, _, now = self.api("GET", path, key=self.admin_key)
        self.assertEqual("Renamed", now["name"])
        # Without If-Match the change applies; a no-op keeps the version.
        status, _, changed = self.api("PATCH", path, {"role": "manager"}, key=self.admin_key)
        self.assertEqual(3, changed["version"])
        status, _, same = self.api("PATCH", path, {"role": "manager"}, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(3, same["version"])
        self.assertProblem(self.api("PATCH", USERS + "/999999", {"name": "x"},
                                    key=self.admin_key), 404)

    def test_validation_errors_are_422_with_fields(self):
        def post(body, field):
            self.assertProblem(self.api("POST", USERS, body, key=self.admin_key), 422, field)
        base = {"email": "valid@example.com", "name": "V", "role": "viewer"}
        post({"name": "V", "role": "viewer"}, "email")
        post(dict(base, email="not-an-address"), "email")
        post(dict(base, email="two@@example.com"), "email")
        post(dict(base, name=""), "name")
        post(dict(base, name=None), "name")
        post(dict(base, role="emperor"), "role")
        post(dict(base, role=7), "role")
        post(dict(base, password="short"), "password")
        post(dict(base, disabled="yes"), "disabled")
        post(dict(base, nickname="unknown"), "nickname")
        post(dict(base, id=5), "id")
        post(dict(base, version=1), "version")
        post(dict(base, created_at="2020-01-01T00:00:00Z"), "created_at")
        post(dict(base, team="t" * 101), "team")
        path = "%s/%d" % (USERS, self.rep_id)
        for body, field in (({"email": None}, "email"), ({"role": "nope"}, "role"),
                            ({"id": 1}, "id"), ({"updated_at": "x"}, "updated_at"),
                            ({"whatever": 1}, "whatever")):
            self.assertProblem(self.api("PATCH", path, body, key=self.admin_key), 422, field)
        self.assertProblem(self.api("POST", USERS, raw=b"[1]", key=self.admin_key), 422)
        self.assertProblem(self.api("POST", USERS, raw=b"{nope", key=self.admin_key), 400)
        self.assertProblem(self.api("POST", USERS, raw=b"{}", content_type="text/plain",
                                    key=self.admin_key), 415)

    def test_duplicate_email_is_409_case_insensitive(self):
        self.create(email="dup@example.com")
        self.assertProblem(self.api("POST", USERS, {"email": "DUP@example.com", "name": "D",
                                                    "role": "viewer"}, key=self.admin_key), 409)
        _, other = self.create(email="dup2@example.com")
        self.assertProblem(self.api("PATCH", "%s/%d" % (USERS, other["id"]),
                                    {"email": "dup@example.com"}, key=self.admin_key), 409)

    def test_non_admins_are_refused(self):
        for key in (self.rep_key, self.manager_key):
            self.assertProblem(self.api("GET", USERS, key=key), 403)
            self.assertProblem(self.api("GET", "%s/%d" % (USERS, self.admin_id), key=key), 403)
            self.assertProblem(self.api("POST", USERS, {"email": "x@example.com", "name": "X",
                                                        "role": "admin"}, key=key), 403)
            self.assertProblem(self.api("PATCH", "%s/%d" % (USERS, self.rep_id),
                                        {"role": "admin"}, key=key), 403)
        status, _, me = self.api("GET", "%s/%d" % (USERS, self.rep_id), key=self.admin_key)
        self.assertEqual("rep", me["role"])

    def test_admin_cannot_lock_themselves_out(self):
        path = "%s/%d" % (USERS, self.admin_id)
        self.assertProblem(self.api("PATCH", path, {"disabled": True}, key=self.admin_key),
                           422, "disabled")
        self.assertProblem(self.api("PATCH", path, {"role": "viewer"}, key=self.admin_key),
                           422, "role")

    def test_password_can_be_set_and_cleared_but_is_never_returned(self):
        _, user = self.create(email="pwd@example.com")
        self.assertFalse(user["has_password"])
        path = "%s/%d" % (USERS, user["id"])
        status, _, changed = self.api("PATCH", path, {"password": "brand-new-pass"},
                                      key=self.admin_key)
        self.assertEqual(200, status, changed)
        self.assertTrue(changed["has_password"])
        self.assertNoSecrets(changed)
        self.assertEqual(200, self.login("pwd@example.com", "brand-new-pass").status)
        status, _, changed = self.api("PATCH", path, {"password": None}, key=self.admin_key)
        self.assertFalse(changed["has_password"])
        self.assertEqual(401, self.login("pwd@example.com", "brand-new-pass").status)
        status, _, listing = self.api("GET", USERS + "?limit=500", key=self.admin_key)
        self.assertNoSecrets(listing)

    def test_changes_are_audited_without_secrets(self):
        _, user = self.create(email="audited@example.com", password="audit-password-1")
        self.api("PATCH", "%s/%d" % (USERS, user["id"]), {"password": "audit-password-2",
                                                           "team": "blue"}, key=self.admin_key)
        with sqlite3.connect(self.server.db_path) as connection:
            rows = connection.execute(
                "SELECT user_id, actor, action, before, after FROM audit_log"
                " WHERE entity = 'users' AND entity_id = ? ORDER BY id", (user["id"],)).fetchall()
        self.assertEqual(["create", "update"], [row[2] for row in rows])
        for user_id, actor, _, before, after in rows:
            self.assertEqual(self.admin_id, user_id)
            self.assertEqual("api", actor)
            for text in (before or "", after or ""):
                self.assertNotIn("argon2", text)
                self.assertNotIn("audit-password", text)
        after = json.loads(rows[1][4])
        self.assertEqual("blue", after["team"])
        self.assertTrue(after["password_changed"])
        self.assertIsNone(json.loads(rows[1][3])["team"])


class UsersPagingTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        with sqlite3.connect(cls.server.db_path) as connection:
            for i in range(12):
                connection.execute(
                    "INSERT INTO users (email, name, role, team, created_at, updated_at)"
                    " VALUES (?, ?, 'rep', ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                    ("user%02d@example.com" % i, "Name %02d" % (11 - i),
                     "even" if i % 2 == 0 else "odd"))

    def collect(self, query, limit):
        seen, cursor, pages = [], None, 0
        while True:
            path = "%s?limit=%d%s" % (USERS, limit, query)
            if cursor:
                path += "&cursor=" + cursor
            status, _, page = self.api("GET", path, key=self.admin_key)
            self.assertEqual(200, status, page)
            self.assertLessEqual(len(page["data"]), limit)
            seen.extend(page["data"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                return seen, pages

    def test_pages_by_id_without_gaps_or_duplicates(self):
        users, pages = self.collect("", 5)
        ids = [user["id"] for user in users]
        self.assertEqual(13, len(ids))  # 12 + the admin
        self.assertEqual(sorted(ids), ids)
        self.assertEqual(3, pages)

    def test_default_limit_and_shape(self):
        status, _, page = self.api("GET", USERS, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(13, len(page["data"]))
        self.assertIsNone(page["next_cursor"])

    def test_sort_by_name_descending_and_filters(self):
        users, _ = self.collect("&sort=-name&role=rep", 4)
        names = [user["name"] for user in users]
        self.assertEqual(sorted(names, reverse=True), names)
        self.assertEqual(12, len(names))
        users, _ = self.collect("&team=odd&sort=email", 2)
        self.assertEqual(["user%02d@example.com" % i for i in range(1, 12, 2)],
                         [user["email"] for user in users])
        users, _ = self.collect("&disabled=true", 10)
        self.assertEqual([], users)

    def test_bad_query_is_400(self):
        for query in ("limit=0", "limit=501", "limit=x", "sort=password_hash", "cursor=zzz",
                      "disabled=maybe", "frobnicate=1"):
            self.assertProblem(self.api("GET", USERS + "?" + query, key=self.admin_key), 400)
        # A cursor made for another sort order is refused.
        _, _, page = self.api("GET", USERS + "?limit=2", key=self.admin_key)
        self.assertProblem(self.api("GET", USERS + "?sort=email&cursor=" + page["next_cursor"],
                                    key=self.admin_key), 400)
