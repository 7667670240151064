"""test_conventions.py - API.md section 4 as every resource gets it from the generic
mechanism (src/core/resource.c): status codes and problem details, ETag/If-Match/versions,
JSON merge patch, Idempotency-Key, keyset pagination, query validation, audit entries,
concurrency (If-Match races, busy database -> 503). Exercised on contacts and companies."""
import json
import sqlite3
import threading
import time

import harness

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


sql_rows = harness.sql_rows


class ConventionsTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.other_rep_id, cls.other_rep_key = cls.make_user("rep2@example.com", "rep",
                                                            team="east")

    def create(self, path=CONTACTS, body=None, key=None, headers=None):
        status, response_headers, record = self.api("POST", path, body or {"first_name": "Ann"},
                                                    key=key or self.admin_key, headers=headers)
        self.assertEqual(201, status, record)
        return record, response_headers

    def count(self, table):
        return sql_rows(self.server.db_path, "SELECT count(*) FROM %s" % table)[0][0]

    # ---- 201, Location, ETag, GET, 204, 404

    def test_create_answers_201_with_location_and_etag(self):
        record, headers = self.create(body={"first_name": "Ann", "last_name": "Lee"})
        self.assertEqual("/api/v1/contacts/%d" % record["id"], headers["location"])
        self.assertEqual('"1"', headers["etag"])
        self.assertEqual(1, record["version"])
        self.assertRegex(record["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(record["created_at"], record["updated_at"])
        status, headers, fetched = self.api("GET", headers["location"], key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(record, fetched)
        self.assertEqual('"1"', headers["etag"])

    def test_get_with_if_none_match_is_304(self):
        record, _ = self.create()
        status, headers, _ = self.api("GET", "%s/%d" % (CONTACTS, record["id"]),
                                      key=self.admin_key, headers={"If-None-Match": '"1"'})
        self.assertEqual(304, status)
        self.assertEqual('"1"', headers["etag"])
        status, _, _ = self.api("GET", "%s/%d" % (CONTACTS, record["id"]), key=self.admin_key,
                                headers={"If-None-Match": '"7"'})
        self.assertEqual(200, status)

    def test_delete_answers_204_then_404(self):
        record, _ = self.create()
        path = "%s/%d" % (CONTACTS, record["id"])
        status, _, body = self.api("DELETE", path, key=self.admin_key)
        self.assertEqual(204, status)
        self.assertIsNone(body)
        self.assertProblem(self.api("GET", path, key=self.admin_key), 404)
        self.assertProblem(self.api("DELETE", path, key=self.admin_key), 404)
        self.assertProblem(self.api("PATCH", path, {"first_name": "X"}, key=self.admin_key), 404)

    def test_unknown_and_malformed_ids_are_404(self):
        for path in ("/999999", "/abc", "/0", "/-1", "/1.5", "/99999999999999999999999"):
            self.assertProblem(self.api("GET", CONTACTS + path, key=self.admin_key), 404)

    # ---- 400, 401, 403, 405, 413, 415, 422

    def test_malformed_json_is_400(self):
        for raw in (b"{", b"{\"first_name\": }", b"nul", b"{\"a\":1}{", b"\xff\xfe"):
            self.assertProblem(self.api("POST", CONTACTS, raw=raw, key=self.admin_key), 400)
        self.assertProblem(self.api("POST", CONTACTS, raw=b'{"first_name":"a","first_name":"b"}',
                                    key=self.admin_key), 400)

    def test_body_that_is_not_an_object_is_422(self):
        for raw in (b"[]", b"[{\"first_name\": \"A\"}]"):
            self.assertProblem(self.api("POST", CONTACTS, raw=raw, key=self.admin_key), 422)
        for raw in (b"\"x\"", b"42", b"null"):  # a bare scalar: 400 or 422, never 2xx/500
            status, _, _ = self.api("POST", CONTACTS, raw=raw, key=self.admin_key)
            self.assertIn(status, (400, 422))

    def test_wrong_content_type_is_415(self):
        self.assertProblem(self.api("POST", CONTACTS, raw=b'{"first_name":"A"}',
                                    content_type="text/plain", key=self.admin_key), 415)
        self.assertProblem(self.api("POST", CONTACTS, raw=b'{"first_name":"A"}',
                                    content_type=None, key=self.admin_key), 415)
        record, _ = self.create()
        self.assertProblem(self.api("PATCH", "%s/%d" % (CONTACTS, record["id"]),
                                    raw=b'{"first_name":"A"}', content_type="text/plain",
                                    key=self.admin_key), 415)

    def test_merge_patch_content_type_is_accepted(self):
        record, _ = self.create()
        status, _, body = self.api("PATCH", "%s/%d" % (CONTACTS, record["id"]),
                                   raw=b'{"last_name":"Merge"}',
                                   content_type="application/merge-patch+json",
                                   key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual("Merge", body["last_name"])

    def test_oversized_body_is_413(self):
        big = json.dumps({"first_name": "A", "custom": {"x": "y" * (1024 * 1024)}}).encode()
        self.assertProblem(self.api("POST", CONTACTS, raw=big, key=self.admin_key), 413)

    def test_large_custom_object_is_422(self):
        body = {"first_name": "A", "custom": {"x": "y" * 20000}}
        self.assertProblem(self.api("POST", CONTACTS, body, key=self.admin_key), 422, "custom")

    def test_no_or_bad_credentials_are_401(self):
        for method, path in (("GET", CONTACTS), ("POST", CONTACTS), ("GET", CONTACTS + "/1"),
                             ("DELETE", COMPANIES + "/1")):
            response = self.api(method, path, {} if method == "POST" else None)
            self.assertProblem(response, 401)
            self.assertTrue(response[1].get("www-authenticate", "").startswith("Bearer"))
            self.assertProblem(self.api(method, path, {} if method == "POST" else None,
                                        key="crm_not-a-real-key"), 401)

    def test_method_not_allowed_is_405_with_allow(self):
        response = self.api("DELETE", CONTACTS, key=self.admin_key)
        self.assertProblem(response, 405)
        # HEAD is served wherever GET is, so Allow names it too (RFC 9110 10.2.1)
        self.assertEqual({"GET", "HEAD", "POST"}, set(response[1]["allow"].split(", ")))
        response = self.api("POST", CONTACTS + "/1", {}, key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual({"GET", "HEAD", "PATCH", "PUT", "DELETE"},
                         set(response[1]["allow"].split(", ")))
        response = self.api("DELETE", CONTACTS + "/external/x", key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual({"GET", "HEAD", "PUT"}, set(response[1]["allow"].split(", ")))

    def test_literal_path_segments_are_never_ids(self):
        """/contacts/import and /contacts/external/... are not contacts "import" and
        "external": other methods there are 405 with the literal route's Allow."""
        response = self.api("GET", CONTACTS + "/import", key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual("POST", response[1]["allow"])
        response = self.api("DELETE", CONTACTS + "/duplicates", key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual({"GET", "HEAD"}, set(response[1]["allow"].split(", ")))
        response = self.api("POST", CONTACTS + "/external/merge", {"from": [1]},
                            key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual({"GET", "HEAD", "PUT"}, set(response[1]["allow"].split(", ")))
        status, _, contact = self.api("PUT", CONTACTS + "/external/timeline",
                                      {"first_name": "Tim"}, key=self.admin_key)
        self.assertEqual(201, status, contact)
        status, _, same = self.api("GET", CONTACTS + "/external/timeline", key=self.admin_key)
        self.assertEqual((200, contact["id"]), (status, same["id"]))

    def test_unknown_and_read_only_fields_are_422_each_named(self):
        body = {"first_name": "A", "nickname": "x", "id": 5, "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2020-01-01T00:00:00Z", "version": 9}
        problem = self.assertProblem(self.api("POST", CONTACTS, body, key=self.admin_key), 422)
        fields = {error["field"] for error in problem["errors"]}
        self.assertEqual({"nickname", "id", "created_at", "updated_at", "version"}, fields)
        record, _ = self.create()
        for member in ("id", "version", "created_at", "updated_at", "nickname"):
            self.assertProblem(self.api("PATCH", "%s/%d" % (CONTACTS, record["id"]),
                                        {member: 1}, key=self.admin_key), 422, member)
        self.assertEqual(1, self.api("GET", "%s/%d" % (CONTACTS, record["id"]),
                                     key=self.admin_key)[2]["version"])

    def test_every_bad_field_is_listed(self):
        body = {"first_name": 5, "email": "no", "lifecycle": "king", "relationship_level": 7,
                "tags": "vip", "custom": [], "consent": {"email": "yes"}, "company_id": "x"}
        problem = self.assertProblem(self.api("POST", CONTACTS, body, key=self.admin_key), 422)
        fields = {error["field"] for error in problem["errors"]}
        self.assertEqual({"first_name", "email", "lifecycle", "relationship_level", "tags",
                          "custom", "consent.email", "company_id"}, fields)
        for error in problem["errors"]:
            self.assertTrue(error["message"])

    def test_hostile_input_never_crashes(self):
        bodies = [{"first_name": "\u0000"}, {"first_name": "x" * 100000},
                  {"first_name": "A", "custom": {"a": [[[[[[[[[[[]]]]]]]]]]]}},
                  {"first_name": "A", "tags": ["x"] * 1000}, {"first_name": "A", "tags": [[]]},
                  {"first_name": "Robert'); DROP TABLE contacts;--"},
                  {"first_name": "A", "relationship_level": 1e308},
                  {"first_name": "A", "relationship_level": 99999999999999999999999},
                  {"first_name": "A", "company_id": -1}, {"first_name": "A", "owner_id": 0},
                  {"first_name": "A", "consent": {"recorded_at": "2026-13-45T99:00:00Z"}},
                  {"": 1}, {"first_name": {"a": 1}}]
        for body in bodies:
            status, _, problem = self.api("POST", CONTACTS, body, key=self.admin_key)
            self.assertIn(status, (201, 400, 422), "%r -> %d %r" % (body, status, problem))
        status, _, _ = self.api("GET", CONTACTS + "?limit=1", key=self.admin_key)
        self.assertEqual(200, status)

    # ---- versions, ETag, If-Match, 412

    def test_patch_bumps_version_and_updated_at(self):
        record, _ = self.create(body={"first_name": "Ann", "email": "ann@example.com"})
        path = "%s/%d" % (CONTACTS, record["id"])
        time.sleep(1.1)
        status, headers, patched = self.api("PATCH", path, {"email": None, "title": "CEO"},
                                            key=self.admin_key, headers={"If-Match": '"1"'})
        self.assertEqual(200, status, patched)
        self.assertEqual(2, patched["version"])
        self.assertEqual('"2"', headers["etag"])
        self.assertIsNone(patched["email"])
        self.assertEqual("CEO", patched["title"])
        self.assertEqual("Ann", patched["first_name"])
        self.assertGreater(patched["updated_at"], record["updated_at"])
        self.assertEqual(record["created_at"], patched["created_at"])

    def test_patch_that_changes_nothing_keeps_the_version(self):
        record, _ = self.create(body={"first_name": "Same", "tags": ["a"]})
        path = "%s/%d" % (CONTACTS, record["id"])
        audits = self.count("audit_log")
        for patch in ({}, {"first_name": "Same"}, {"first_name": "  Same "}, {"tags": ["a", "a"]}):
            status, _, body = self.api("PATCH", path, patch, key=self.admin_key)
            self.assertEqual(200, status, body)
            self.assertEqual(1, body["version"], patch)
        self.assertEqual(audits, self.count("audit_log"))

    def test_if_match_mismatch_is_412_for_patch_put_delete(self):
        record, _ = self.create()
        path = "%s/%d" % (CONTACTS, record["id"])
        for method, body in (("PATCH", {"first_name": "B"}), ("PUT", {"first_name": "B"}),
                             ("DELETE", None)):
            response = self.api(method, path, body, key=self.admin_key, headers={"If-Match": '"2"'})
            self.assertProblem(response, 412)
            self.assertEqual('"1"', response[1]["etag"])
        self.assertProblem(self.api("PATCH", path, {"first_name": "B"}, key=self.admin_key,
                                    headers={"If-Match": "W/\"1\""}), 412)
        self.assertProblem(self.api("PATCH", path, {"first_name": "B"}, key=self.admin_key,
                                    headers={"If-Match": "garbage"}), 400)
        status, _, body = self.api("PATCH", path, {"first_name": "B"}, key=self.admin_key,
                                   headers={"If-Match": "*"})
        self.assertEqual(200, status, body)
        status, _, body = self.api("PATCH", path, {"first_name": "C"}, key=self.admin_key,
                                   headers={"If-Match": '"1", "2"'})
        self.assertEqual(200, status, body)
        self.assertEqual(3, body["version"])
        status, _, _ = self.api("DELETE", path, key=self.admin_key, headers={"If-Match": '"3"'})
        self.assertEqual(204, status)

    def test_concurrent_patches_with_the_same_if_match_one_wins(self):
        record, _ = self.create()
        path = "%s/%d" % (CONTACTS, record["id"])
        results = []

        def patch(number):
            status, _, _ = self.api("PATCH", path, {"title": "writer %d" % number},
                                    key=self.admin_key, headers={"If-Match": '"1"'})
            results.append(status)

        threads = [threading.Thread(target=patch, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(1, results.count(200), results)
        self.assertEqual(7, results.count(412), results)
        self.assertEqual(2, self.api("GET", path, key=self.admin_key)[2]["version"])

    def test_put_replaces_the_whole_record(self):
        record, _ = self.create(body={"first_name": "Ann", "title": "CEO", "tags": ["x"],
                                      "custom": {"a": 1}})
        path = "%s/%d" % (CONTACTS, record["id"])
        status, _, replaced = self.api("PUT", path, {"last_name": "Lee"}, key=self.admin_key,
                                       headers={"If-Match": '"1"'})
        self.assertEqual(200, status, replaced)
        self.assertIsNone(replaced["first_name"])
        self.assertIsNone(replaced["title"])
        self.assertEqual([], replaced["tags"])
        self.assertEqual({}, replaced["custom"])
        self.assertEqual("Lee", replaced["last_name"])
        self.assertEqual(record["owner_id"], replaced["owner_id"])  # absent owner is kept
        self.assertEqual(2, replaced["version"])
        self.assertProblem(self.api("PUT", path, {}, key=self.admin_key), 422, "first_name")

    # ---- Idempotency-Key

    def test_idempotency_key_replays_the_first_answer(self):
        before = self.count("contacts")
        headers = {"Idempotency-Key": "create-ann-%f" % time.time()}
        body = {"first_name": "Idem", "email": "idem@example.com"}
        first = self.api("POST", CONTACTS, body, key=self.admin_key, headers=headers)
        self.assertEqual(201, first[0], first[2])
        second = self.api("POST", CONTACTS, body, key=self.admin_key, headers=headers)
        self.assertEqual(201, second[0])
        self.assertEqual(first[2], second[2])
        self.assertEqual(first[1]["location"], second[1]["location"])
        self.assertEqual("true", second[1].get("idempotent-replayed"))
        self.assertEqual(before + 1, self.count("contacts"))
        # same key, another body or another path: refused, nothing created
        self.assertProblem(self.api("POST", CONTACTS, {"first_name": "Other"}, key=self.admin_key,
                                    headers=headers), 422)
        self.assertProblem(self.api("POST", COMPANIES, {"name": "Idem"}, key=self.admin_key,
                                    headers=headers), 422)
        self.assertEqual(before + 1, self.count("contacts"))
        # keys are per user
        status, _, other = self.api("POST", CONTACTS, body, key=self.rep_key, headers=headers)
        self.assertEqual(201, status, other)
        self.assertNotEqual(first[2]["id"], other["id"])

    def test_idempotency_key_after_24_hours_is_new(self):
        headers = {"Idempotency-Key": "old-key"}
        first = self.api("POST", COMPANIES, {"name": "Old"}, key=self.admin_key, headers=headers)
        self.assertEqual(201, first[0])
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        with connection:
            connection.execute("UPDATE idempotency_keys SET created_at = created_at - 90000 "
                               "WHERE key = 'old-key'")
        connection.close()
        second = self.api("POST", COMPANIES, {"name": "Old"}, key=self.admin_key, headers=headers)
        self.assertEqual(201, second[0])
        self.assertNotEqual(first[2]["id"], second[2]["id"])

    def test_failed_create_is_not_remembered(self):
        headers = {"Idempotency-Key": "fails-first"}
        self.assertProblem(self.api("POST", CONTACTS, {"email": "bad"}, key=self.admin_key,
                                    headers=headers), 422)
        self.assertProblem(self.api("POST", CONTACTS, {"email": "bad"}, key=self.admin_key,
                                    headers=headers), 422)

    def test_bad_idempotency_key_is_400(self):
        for key in ("", "x" * 256, "has space"):
            self.assertProblem(self.api("POST", CONTACTS, {"first_name": "A"}, key=self.admin_key,
                                        headers={"Idempotency-Key": key}), 400)

    def test_concurrent_repeats_with_one_key_create_one_record(self):
        before = self.count("companies")
        headers = {"Idempotency-Key": "race-%f" % time.time()}
        answers = []

        def post():
            answers.append(self.api("POST", COMPANIES, {"name": "Race"}, key=self.admin_key,
                                    headers=headers))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([201] * 8, [answer[0] for answer in answers])
        self.assertEqual(1, len({answer[2]["id"] for answer in answers}))
        self.assertEqual(before + 1, self.count("companies"))

    # ---- lists

    def test_list_shape_and_limit(self):
        for n in range(3):
            self.create(COMPANIES, {"name": "Shape %d" % n})
        status, _, body = self.api("GET", COMPANIES + "?limit=2", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual({"data", "next_cursor"}, set(body))
        self.assertEqual(2, len(body["data"]))
        self.assertIsInstance(body["next_cursor"], str)
        status, _, body = self.api("GET", COMPANIES + "?limit=500", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertIsNone(body["next_cursor"])

    def test_bad_query_parameters_are_400(self):
        status, _, page = self.api("GET", CONTACTS + "?limit=1", key=self.admin_key)
        self.create()
        self.create()
        status, _, page = self.api("GET", CONTACTS + "?limit=1", key=self.admin_key)
        cursor = page["next_cursor"]
        for query in ("limit=0", "limit=501", "limit=abc", "limit=", "limit=1.5", "limit=-1",
                      "sort=nickname", "sort=tags", "sort=-", "sort=", "nickname=x",
                      "limit=1&limit=2", "cursor=garbage", "cursor=", "sort=-id&cursor=" + cursor,
                      "updated_since=yesterday", "owner_id=abc", "owner_id=", "lifecycle=king",
                      "company_id=1.5", "relationship_level=x", "tag=", "q=" + "x" * 300,
                      "%FF=1", "%C3%A9" * 40 + "=1", "sort=%C3%A9" * 40, "q=%FF", "tag=%FF",
                      "lifecycle=%FF", "email=%FF%FE", "sort=%00"):
            self.assertProblem(self.api("GET", CONTACTS + "?" + query, key=self.admin_key), 400)

    # ---- audit

    def test_create_update_delete_are_audited_with_before_and_after(self):
        record, _ = self.create(COMPANIES, {"name": "Audited"})
        path = "%s/%d" % (COMPANIES, record["id"])
        self.api("PATCH", path, {"industry": "tech"}, key=self.admin_key)
        self.api("DELETE", path, key=self.admin_key)
        rows = sql_rows(self.server.db_path,
                        "SELECT action, user_id, actor, before, after FROM audit_log "
                        "WHERE entity = 'companies' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update", "delete"], [row[0] for row in rows])
        self.assertTrue(all(row[1] == self.admin_id and row[2] == "api" for row in rows))
        create, update, delete = rows
        self.assertIsNone(create[3])
        self.assertEqual("Audited", json.loads(create[4])["name"])
        self.assertIsNone(json.loads(update[3])["industry"])
        self.assertEqual("tech", json.loads(update[4])["industry"])
        self.assertEqual(2, json.loads(delete[3])["version"])
        self.assertIsNone(delete[4])

    # ---- busy database

    def test_locked_database_answers_503_not_500(self):
        self.api("GET", CONTACTS + "?limit=1", key=self.admin_key)  # recent key use
        connection = sqlite3.connect(self.server.db_path, timeout=1, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            response = self.api("POST", COMPANIES, {"name": "Blocked"}, key=self.admin_key)
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        self.assertProblem(response, 503)
        status, _, _ = self.api("POST", COMPANIES, {"name": "After"}, key=self.admin_key)
        self.assertEqual(201, status)
        self.assertEqual([], sql_rows(self.server.db_path,
                                      "SELECT id FROM companies WHERE name = 'Blocked'"))
