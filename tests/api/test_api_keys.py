"""test_api_keys.py - /api/v1/api-keys (users manage their own API keys, administrators
everybody's; the key text is answered once and works as a bearer key until revoked;
never a hash; audited) and /api/v1/users/directory (names and teams for everyone, no
e-mails)."""
import json
import re
import sqlite3
import time

import harness

KEYS = "/api/v1/api-keys"
DIRECTORY = "/api/v1/users/directory"


class ApiKeysTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="north",
                                                password="rep-password-1", name="Robin Rep")
        cls.other_id, cls.other_key = cls.make_user("other@example.com", "rep",
                                                    password="other-password-1",
                                                    name="Olga Other")
        cls.gone_id, _ = cls.make_user("gone@example.com", "viewer", name="Gus Gone")
        harness.crmctl(cls.server.db_path, "user", "disable", "gone@example.com")

    def setUp(self):
        self.admin = self.login(self.admin_email, self.admin_password)
        self.rep = self.login("rep@example.com", "rep-password-1")
        self.assertEqual(200, self.rep.status)

    def create(self, session, **fields):
        body = {"name": "integration"}
        body.update(fields)
        status, headers, created = self.api("POST", KEYS, body, session=session)
        self.assertEqual(201, status, created)
        return headers, created

    def assertNoSecrets(self, value):
        text = json.dumps(value)
        self.assertNotIn("hash", text)
        self.assertNotIn('"key"', text)

    # ---------------------------------------------------------------- create and use

    def test_create_answers_the_key_once_and_it_works(self):
        headers, created = self.create(self.rep, name="my laptop")
        self.assertEqual("%s/%d" % (KEYS, created["id"]), headers["location"])
        self.assertEqual("no-store", headers.get("cache-control"))
        key = created["key"]
        self.assertRegex(key, r"^crm_[A-Za-z0-9_-]{40,}$")
        self.assertEqual(key[:len(created["prefix"])], created["prefix"])
        self.assertEqual(self.rep_id, created["user_id"])
        self.assertEqual("Robin Rep", created["user_name"])
        self.assertEqual("my laptop", created["name"])
        self.assertFalse(created["read_only"])
        self.assertIsNone(created["expires_at"])
        self.assertIsNone(created["revoked_at"])
        self.assertEqual("active", created["status"])
        # It acts as its user.
        status, _, me = self.api("GET", "/api/v1/auth/me", key=key)
        self.assertEqual(200, status, me)
        self.assertEqual(self.rep_id, me["user"]["id"])
        # Reading it again never shows the key.
        status, _, again = self.api("GET", headers["location"], session=self.rep)
        self.assertEqual(200, status, again)
        self.assertNotIn("key", again)
        self.assertIsNotNone(again["last_used_at"])
        self.assertNoSecrets(again)
        with sqlite3.connect(self.server.db_path) as connection:
            stored = connection.execute("SELECT key_hash FROM api_keys WHERE id = ?",
                                        (created["id"],)).fetchone()[0]
        self.assertNotIn(key.encode(), bytes(stored))

    def test_read_only_and_expiring_keys(self):
        _, created = self.create(self.rep, read_only=True, expires_days=30)
        self.assertTrue(created["read_only"])
        expires = time.mktime(time.strptime(created["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
        created_at = time.mktime(time.strptime(created["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertAlmostEqual(30 * 86400, expires - created_at, delta=120)
        key = created["key"]
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])
        self.assertProblem(self.api("POST", "/api/v1/contacts", {"first_name": "X"}, key=key), 403)
        # null means the defaults
        _, created = self.create(self.rep, read_only=None, expires_days=None)
        self.assertFalse(created["read_only"])
        self.assertIsNone(created["expires_at"])

    def test_creating_needs_a_session_and_its_csrf_token(self):
        self.assertProblem(self.api("POST", KEYS, {"name": "x"}, key=self.rep_key), 403)
        self.assertProblem(self.api("POST", KEYS, {"name": "x"}, cookie=self.rep.cookie), 403)
        self.assertProblem(self.api("POST", KEYS, {"name": "x"}, cookie=self.rep.cookie,
                                    csrf="wrong"), 403)
        self.assertEqual(401, self.api("POST", KEYS, {"name": "x"})[0])
        self.assertEqual(401, self.api("GET", KEYS)[0])

    def test_validation_names_the_field(self):
        cases = [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": 7}, "name"),
            ({"name": "x" * 101}, "name"),
            ({"name": "tab\there"}, "name"),
            ({"name": "x", "read_only": "yes"}, "read_only"),
            ({"name": "x", "expires_days": 0}, "expires_days"),
            ({"name": "x", "expires_days": 3651}, "expires_days"),
            ({"name": "x", "expires_days": "30"}, "expires_days"),
            ({"name": "x", "expires_days": 1.5}, "expires_days"),
            ({"name": "x", "user_id": "me"}, "user_id"),
            ({"name": "x", "user_id": 0}, "user_id"),
            ({"name": "x", "color": "red"}, "color"),
            ({"name": "x", "key": "crm_mine"}, "key"),
            ({"name": "x", "prefix": "crm_"}, "prefix"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertProblem(self.api("POST", KEYS, body, session=self.rep), 422, field)
        self.assertProblem(self.api("POST", KEYS, raw=b"{", session=self.rep), 400)
        self.assertProblem(self.api("POST", KEYS, raw=b"[]", session=self.rep), 422)
        self.assertProblem(self.api("POST", KEYS, raw=b"{}", content_type="text/plain",
                                    session=self.rep), 415)
        self.assertEqual(0, self.count_keys("x"))

    def count_keys(self, name):
        with sqlite3.connect(self.server.db_path) as connection:
            return connection.execute("SELECT count(*) FROM api_keys WHERE name = ?",
                                      (name,)).fetchone()[0]

    # ---------------------------------------------------------------- who sees what

    def test_users_see_their_own_keys_and_admins_everybodys(self):
        _, mine = self.create(self.rep, name="rep's key")
        _, admins = self.create(self.admin, name="admin's key")
        _, for_other = self.create(self.admin, name="made for other", user_id=self.other_id)
        self.assertEqual(self.other_id, for_other["user_id"])
        self.assertEqual("Olga Other", for_other["user_name"])

        status, _, listing = self.api("GET", KEYS + "?limit=500", session=self.rep)
        self.assertEqual(200, status, listing)
        self.assertEqual({self.rep_id}, {key["user_id"] for key in listing["data"]})
        self.assertIn(mine["id"], [key["id"] for key in listing["data"]])
        self.assertNoSecrets(listing)
        status, _, listing = self.api("GET", KEYS + "?limit=500&user_id=me", session=self.rep)
        self.assertEqual({self.rep_id}, {key["user_id"] for key in listing["data"]})

        status, _, listing = self.api("GET", KEYS + "?limit=500", session=self.admin)
        ids = [key["id"] for key in listing["data"]]
        for key in (mine, admins, for_other):
            self.assertIn(key["id"], ids)
        self.assertEqual(sorted(ids), ids)
        self.assertNoSecrets(listing)
        status, _, listing = self.api("GET", "%s?user_id=%d" % (KEYS, self.other_id),
                                      session=self.admin)
        self.assertEqual({self.other_id}, {key["user_id"] for key in listing["data"]})

        # Others' keys do not exist for a rep.
        self.assertProblem(self.api("GET", "%s/%d" % (KEYS, admins["id"]), session=self.rep), 404)
        self.assertProblem(self.api("DELETE", "%s/%d" % (KEYS, admins["id"]), session=self.rep),
                           404)
        self.assertProblem(self.api("GET", "%s?user_id=%d" % (KEYS, self.admin_id),
                                    session=self.rep), 403)
        self.assertProblem(self.api("POST", KEYS, {"name": "for admin", "user_id": self.admin_id},
                                    session=self.rep), 403)
        # Naming yourself is fine.
        _, own = self.create(self.rep, name="explicit", user_id=self.rep_id)
        self.assertEqual(self.rep_id, own["user_id"])
        # The admin reads anyone's key.
        self.assertEqual(200, self.api("GET", "%s/%d" % (KEYS, mine["id"]), session=self.admin)[0])

    def test_admin_cannot_make_keys_for_unknown_or_disabled_users(self):
        self.assertProblem(self.api("POST", KEYS, {"name": "x", "user_id": 999999},
                                    session=self.admin), 422, "user_id")
        self.assertProblem(self.api("POST", KEYS, {"name": "x", "user_id": self.gone_id},
                                    session=self.admin), 422, "user_id")

    def test_list_parameters(self):
        for i in range(3):
            self.create(self.rep, name="paged %d" % i)
        seen, cursor = [], None
        for _ in range(20):
            path = KEYS + "?limit=1" + ("&cursor=" + cursor if cursor else "")
            status, _, page = self.api("GET", path, session=self.rep)
            self.assertEqual(200, status, page)
            self.assertLessEqual(len(page["data"]), 1)
            seen.extend(key["id"] for key in page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertGreaterEqual(len(seen), 3)
        self.assertEqual(sorted(set(seen)), seen, "no duplicates, in id order")
        for query in ("limit=0", "limit=501", "limit=x", "cursor=garbage", "user_id=abc",
                      "user_id=0", "sort=name", "limit=1&limit=2"):
            with self.subTest(query=query):
                self.assertProblem(self.api("GET", KEYS + "?" + query, session=self.rep), 400)
        self.assertProblem(self.api("GET", KEYS + "/abc", session=self.rep), 404)
        self.assertProblem(self.api("GET", KEYS + "/0", session=self.rep), 404)
        self.assertProblem(self.api("GET", KEYS + "/99999999999999999999", session=self.rep), 404)
        self.assertProblem(self.api("PATCH", KEYS + "/1", {"name": "y"}, session=self.rep), 405)

    # ---------------------------------------------------------------- revoke

    def test_revoke_stops_the_key_at_once_and_is_audited(self):
        _, created = self.create(self.rep, name="to revoke")
        key = created["key"]
        path = "%s/%d" % (KEYS, created["id"])
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])
        status, _, body = self.api("DELETE", path, session=self.rep)
        self.assertEqual(204, status, body)
        self.assertEqual(401, self.api("GET", "/api/v1/contacts", key=key)[0])
        status, _, again = self.api("GET", path, session=self.rep)
        self.assertEqual("revoked", again["status"])
        self.assertIsNotNone(again["revoked_at"])
        self.assertProblem(self.api("DELETE", path, session=self.rep), 409)
        with sqlite3.connect(self.server.db_path) as connection:
            rows = connection.execute(
                "SELECT user_id, actor, action, before, after FROM audit_log"
                " WHERE entity = 'api_keys' AND entity_id = ? ORDER BY id",
                (created["id"],)).fetchall()
        self.assertEqual(["create", "revoke"], [row[2] for row in rows])
        for user_id, actor, _, before, after in rows:
            self.assertEqual(self.rep_id, user_id)
            self.assertEqual("api", actor)
            self.assertNotIn(key, (before or "") + (after or ""))
            self.assertNotIn(key[len(created["prefix"]):], (before or "") + (after or ""))

    def test_a_key_may_revoke_itself_and_an_admin_any(self):
        _, created = self.create(self.rep, name="self-revoking")
        key = created["key"]
        status, _, body = self.api("DELETE", "%s/%d" % (KEYS, created["id"]), key=key)
        self.assertEqual(204, status, body)
        self.assertEqual(401, self.api("GET", KEYS, key=key)[0])
        _, created = self.create(self.rep, name="admin revokes")
        status, _, body = self.api("DELETE", "%s/%d" % (KEYS, created["id"]), session=self.admin)
        self.assertEqual(204, status, body)
        self.assertEqual(401, self.api("GET", KEYS, key=created["key"])[0])
        self.assertProblem(self.api("DELETE", KEYS + "/999999", session=self.admin), 404)

    def test_answers_match_the_openapi_document(self):
        document = self.api("GET", "/api/v1/openapi.json")[2]

        def validate(name, instance):
            self.assertMatchesSchema(document, name, instance)

        _, created = self.create(self.rep, name="schema", expires_days=5)
        validate("ApiKeyCreated", created)
        validate("ApiKeyInput", {"name": "x", "read_only": True, "expires_days": 3})
        validate("ApiKeyList", self.api("GET", KEYS, session=self.rep)[2])
        validate("ApiKey", self.api("GET", "%s/%d" % (KEYS, created["id"]), session=self.rep)[2])
        validate("UserDirectory", self.api("GET", DIRECTORY, session=self.rep)[2])
        paths = document["paths"]
        self.assertIn("post", paths[KEYS])
        self.assertIn("delete", paths[KEYS + "/{id}"])
        self.assertIn("get", paths[DIRECTORY])

    # ---------------------------------------------------------------- the user directory

    def test_directory_names_every_user_without_emails(self):
        status, _, directory = self.api("GET", DIRECTORY, key=self.rep_key)
        self.assertEqual(200, status, directory)
        people = {entry["id"]: entry for entry in directory["data"]}
        self.assertEqual({"id", "name", "team", "disabled"}, set(people[self.rep_id]))
        self.assertEqual("Robin Rep", people[self.rep_id]["name"])
        self.assertEqual("north", people[self.rep_id]["team"])
        self.assertIsNone(people[self.other_id]["team"])
        self.assertTrue(people[self.gone_id]["disabled"])
        self.assertFalse(people[self.admin_id]["disabled"])
        self.assertNotIn("@", json.dumps(directory))
        names = [(entry["name"], entry["id"]) for entry in directory["data"]]
        self.assertEqual(sorted(names), names, "by name")
        # Everyone may read it, with a key or a session; nobody without credentials.
        self.assertEqual(200, self.api("GET", DIRECTORY, session=self.rep)[0])
        self.assertEqual(401, self.api("GET", DIRECTORY)[0])
        self.assertProblem(self.api("GET", DIRECTORY + "?limit=5", key=self.rep_key), 400)
        # users/{id} is still for administrators only
        self.assertProblem(self.api("GET", "/api/v1/users/%d" % self.admin_id,
                                    key=self.rep_key), 403)


class UserDirectoryManyTest(harness.ServerTestCase):
    """More users than one batch of the store: all of them, each once, by name."""

    @classmethod
    def setup_database(cls):
        with sqlite3.connect(cls.server.db_path) as connection:
            for i in range(1203):
                connection.execute(
                    "INSERT INTO users (email, name, role, created_at, updated_at) VALUES"
                    " (?, ?, 'viewer', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                    ("u%04d@example.com" % i, "Same Name" if i % 7 == 0 else "User %04d" % i))

    def test_every_user_once(self):
        status, _, directory = self.api("GET", DIRECTORY, key=self.admin_key)
        self.assertEqual(200, status)
        ids = [entry["id"] for entry in directory["data"]]
        self.assertEqual(1204, len(ids))
        self.assertEqual(len(ids), len(set(ids)))
        names = [(entry["name"], entry["id"]) for entry in directory["data"]]
        self.assertEqual(sorted(names), names)
        self.assertTrue(all(re.match(r"^(Same Name|User \d{4}|Admin)$", n) for n, _ in names))


class NotUtf8NamesTest(harness.ServerTestCase):
    """A name stored in another encoding (crmctl takes bytes) does not break the answers."""

    @classmethod
    def setup_database(cls):
        cls.odd_id, cls.odd_key = cls.make_user("odd@example.com", "rep")
        with sqlite3.connect(cls.server.db_path) as connection:
            connection.execute("UPDATE users SET name = CAST(? AS TEXT), team = CAST(? AS TEXT)"
                               " WHERE id = ?", (b"Ren\xe9 Latin1", b"t\xe9am", cls.odd_id))

    def test_replacement_characters(self):
        status, _, directory = self.api("GET", DIRECTORY, key=self.odd_key)
        self.assertEqual(200, status, directory)
        odd = [entry for entry in directory["data"] if entry["id"] == self.odd_id][0]
        self.assertEqual("\ufffd", odd["name"])
        self.assertEqual("\ufffd", odd["team"])
        status, _, listing = self.api("GET", KEYS, key=self.admin_key)
        self.assertEqual(200, status, listing)
        mine = [key for key in listing["data"] if key["user_id"] == self.odd_id][0]
        self.assertEqual("\ufffd", mine["user_name"])


if __name__ == "__main__":
    import unittest
    unittest.main()
