"""test_openapi_headers.py - what crmd sends is what its OpenAPI document declares: each
request below is sent to a real crmd, and its answer is compared with the operation the
document has for it. The status must be one of the operation's responses; every header of
a watched kind the answer carries (ETag, Location, Idempotent-Replayed, Set-Cookie,
Content-Disposition, Cache-Control, Retry-After, WWW-Authenticate, RateLimit-Policy,
RateLimit) must be declared on that
response; and every header a success response declares must be sent (Idempotent-Replayed
and Retry-After only where they apply). Also: a 304 carries no Content-Length: 0, and a 405
names in Allow what the path takes (HEAD with GET)."""
import socket
import unittest

import harness

WATCHED = {"etag", "location", "idempotent-replayed", "set-cookie", "content-disposition",
           "cache-control", "retry-after", "www-authenticate", "ratelimit-policy", "ratelimit"}
SOMETIMES = {"idempotent-replayed", "retry-after"}  # declared, sent only where they apply


class OpenApiHeadersTest(harness.ServerTestCase):
    def setUp(self):
        self.problems = []
        status, _, self.document = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status)

    def resolve(self, value):
        while "$ref" in value:
            target = self.document
            for part in value["$ref"][2:].split("/"):
                target = target[part]
            value = target
        return value

    def check(self, method, template, path, body=None, **kwargs):
        """Sends the request; records where the answer and the document disagree. Returns
        (status, headers, body)."""
        status, headers, answer = self.api(method, path, body, **kwargs)
        where = "%s %s (%s) -> %d" % (method, template, path, status)
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            self.problems.append("%s: the document has no such operation" % where)
            return status, headers, answer
        response = operation["responses"].get(str(status))
        if response is None:
            self.problems.append("%s: status not declared (declared: %s)"
                                 % (where, sorted(operation["responses"])))
            return status, headers, answer
        declared = {name.lower() for name in self.resolve(response).get("headers", {})}
        for name in sorted((set(headers) & WATCHED) - declared):
            self.problems.append("%s: sends %s, not declared" % (where, name))
        if 200 <= status < 300 or status == 304:
            for name in sorted(declared - set(headers) - SOMETIMES):
                self.problems.append("%s: declares %s, not sent" % (where, name))
        return status, headers, answer

    def test_answers_are_declared(self):
        key = self.admin_key
        contacts, one = "/api/v1/contacts", "/api/v1/contacts/{id}"
        external = "/api/v1/contacts/external/{external_id}"
        status, _, contact = self.check("POST", contacts, contacts, {"first_name": "Ada"}, key=key)
        self.assertEqual(201, status, contact)
        path = "%s/%d" % (contacts, contact["id"])
        idempotent = {"Idempotency-Key": "headers-test-1"}
        for _ in range(2):  # the second answer is the first one again, replayed
            replayed = self.check("POST", contacts, contacts, {"first_name": "Once"}, key=key,
                                  headers=idempotent)[1]
        self.assertEqual("true", replayed.get("idempotent-replayed"))
        self.check("GET", contacts, contacts, key=key)
        self.check("GET", contacts, contacts + "?limit=0", key=key)
        self.check("POST", contacts, contacts, {"first_name": "Ada"})  # no credentials
        self.check("POST", contacts, contacts, raw=b"{", key=key)
        self.check("POST", contacts, contacts, raw=b"{}", content_type="text/plain", key=key)
        self.check("POST", contacts, contacts, {"email": "not an address"}, key=key)
        self.check("POST", contacts, contacts, raw=b"x" * (1024 * 1024 + 1), key=key)
        self.check("GET", contacts, contacts + "?q=" + "a" * 70000, key=key)
        self.check("GET", one, path, key=key)
        self.check("GET", one, path, key=key, headers={"If-None-Match": '"1"'})
        self.check("GET", one, contacts + "/999999", key=key)
        self.check("PATCH", one, path, {"last_name": "L"}, key=key, headers={"If-Match": '"9"'})
        self.check("PATCH", one, path, {"last_name": "L"}, key=key, headers={"If-Match": "x"})
        self.check("PATCH", one, path, {"last_name": "Lovelace"}, key=key)
        self.check("PUT", one, path, {"first_name": "Ada", "last_name": "Lovelace"}, key=key)
        self.check("DELETE", one, path, key=key, headers={"If-Match": "x"})
        self.check("DELETE", one, path, key=key, headers={"If-Match": '"99"'})
        self.check("DELETE", one, contacts + "/999999", key=key)
        self.check("PUT", external, contacts + "/external/erp-1", {"first_name": "E"}, key=key)
        self.check("PUT", external, contacts + "/external/erp-1", {"first_name": "E"}, key=key)
        self.check("GET", external, contacts + "/external/erp-1", key=key)
        self.check("GET", external, contacts + "/external/none-such", key=key)
        self.check("GET", "/api/v1/openapi.json", "/api/v1/openapi.json")
        self.check_segments(contact["id"])
        self.check_contact_operations(contact["id"])
        self.check("DELETE", one, path, key=key)
        self.check_users_and_sessions()
        self.assertEqual([], self.problems, "\n" + "\n".join(self.problems))

    def check_segments(self, contact_id):
        key = self.admin_key
        status, _, segment = self.check("POST", "/api/v1/segments", "/api/v1/segments",
                                        {"name": "Picked", "kind": "static"}, key=key)
        self.assertEqual(201, status, segment)
        members = "/api/v1/segments/%d/members" % segment["id"]
        template = "/api/v1/segments/{id}/members"
        self.check("POST", template, members, {"contact_ids": [contact_id]}, key=key)
        self.check("GET", template, members, key=key)
        self.check("GET", "/api/v1/segments/{id}/export",
                   "/api/v1/segments/%d/export" % segment["id"], key=key)
        self.check("DELETE", template, members, {"contact_ids": [contact_id]}, key=key)

    def check_contact_operations(self, contact_id):
        key = self.admin_key
        status, _, other = self.api("POST", "/api/v1/contacts", {"first_name": "Twin"}, key=key)
        self.assertEqual(201, status)
        self.check("GET", "/api/v1/contacts/{id}/export",
                   "/api/v1/contacts/%d/export" % contact_id, key=key)
        self.check("POST", "/api/v1/contacts/{id}/merge",
                   "/api/v1/contacts/%d/merge" % contact_id, {"from": [other["id"]]}, key=key)
        self.check("GET", "/api/v1/contacts/{id}/timeline",
                   "/api/v1/contacts/%d/timeline" % contact_id, key=key)

    def check_users_and_sessions(self):
        key = self.admin_key
        users, one = "/api/v1/users", "/api/v1/users/{id}"
        status, _, user = self.check("POST", users, users,
                                     {"email": "u@example.com", "name": "U", "role": "rep",
                                      "password": "password-123"}, key=key)
        self.assertEqual(201, status, user)
        path = "%s/%d" % (users, user["id"])
        self.check("GET", one, path, key=key)
        self.check("GET", one, path, key=key, headers={"If-None-Match": '"%d"' % user["version"]})
        self.check("PATCH", one, path, {"name": "You"}, key=key)
        login = "/api/v1/auth/login"
        self.check("POST", login, login, {"email": self.admin_email, "password": "wrong-one"})
        status, headers, body = self.check("POST", login, login,
                                           {"email": self.admin_email,
                                            "password": self.admin_password})
        self.assertEqual(200, status, body)
        session = harness.LoginSession(status, headers, body,
                                       harness.session_cookie_from(headers), body["csrf_token"])
        keys = "/api/v1/api-keys"
        self.check("POST", keys, keys, {"name": "k"}, session=session)
        self.check("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", session=session)

    def test_not_modified_has_no_content_length_of_zero(self):
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "C"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        status, headers, body = self.api("GET", "/api/v1/contacts/%d" % contact["id"],
                                         key=self.admin_key, headers={"If-None-Match": '"1"'})
        self.assertEqual(304, status)
        self.assertEqual('"1"', headers.get("etag"))
        self.assertNotEqual("0", headers.get("content-length"), headers)
        self.assertIsNone(body)
        status, headers, _ = self.api("GET", "/", headers={"If-None-Match": "*"})
        self.assertEqual(304, status)
        self.assertNotEqual("0", headers.get("content-length"), headers)
        # on the wire: a 304 ends with its header block (RFC 9112 6.3), nothing follows it
        for path, key in (("/api/v1/contacts/%d" % contact["id"], self.admin_key), ("/", None)):
            head, rest = self.raw_get(path, key, '"1"' if key else "*")
            self.assertTrue(head.startswith(b"HTTP/1.1 304 "), head)
            self.assertNotIn(b"\r\ncontent-length:", head.lower())
            self.assertNotIn(b"\r\ntransfer-encoding:", head.lower())
            self.assertTrue(rest == b"" or rest.startswith(b"HTTP/1.1 "), rest[:40])

    def raw_get(self, path, key, if_none_match):
        """Two GETs on one connection; the bytes of the first answer's header block and what
        came after it (the second answer, or nothing when the server closed)."""
        request = ("GET %s HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: %s\r\n%s\r\n" % (
            path, if_none_match, "Authorization: Bearer %s\r\n" % key if key else "")).encode()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
            try:
                sock.sendall(request)
            except OSError:
                pass  # closed after the 304
            sock.settimeout(2)
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        head, _, rest = data.partition(b"\r\n\r\n")
        return head + b"\r\n", rest

    def test_every_405_names_what_the_path_takes(self):
        """Allow lists the methods of the path's routes, HEAD wherever GET is; HEAD and GET
        of a listing agree."""
        cases = [("DELETE", "/api/v1/contacts", {"GET", "HEAD", "POST"}),
                 ("PUT", "/api/v1/users", {"GET", "HEAD", "POST"}),
                 ("POST", "/api/v1/contacts/1/timeline", {"GET", "HEAD"}),
                 ("GET", "/api/v1/segments/preview", {"POST"}),
                 ("HEAD", "/api/v1/auth/login", {"POST"}),
                 ("DELETE", "/api/v1/openapi.json", {"GET", "HEAD"}),
                 ("POST", "/healthz", {"GET", "HEAD"}),
                 ("POST", "/", {"GET", "HEAD"})]
        for method, path, allowed in cases:
            status, headers, _ = self.api(method, path, key=self.admin_key)
            self.assertEqual(405, status, (method, path))
            self.assertEqual(allowed, set(headers.get("allow", "").split(", ")), (method, path))
        get = self.api("GET", "/api/v1/contacts", key=self.admin_key)
        head = self.api("HEAD", "/api/v1/contacts", key=self.admin_key)
        self.assertEqual((200, 200), (get[0], head[0]))
        self.assertEqual(get[1]["content-length"], head[1]["content-length"])
        self.assertIsNone(head[2])


if __name__ == "__main__":
    unittest.main()
