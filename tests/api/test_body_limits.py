"""test_body_limits.py - a request body over the 1 MiB limit (API.md section 4; the CSV import
has the same limit) answers 413 problem+json, whatever its size and however it is framed:
with a Content-Length or chunked, on the JSON resources and on the CSV import. crmd reads
and drops such a body instead of keeping it (its memory does not grow with the body) and
answers once it is in, so that a client that sends the whole body first (Python's
http.client, most libraries) reads the 413 instead of a broken pipe; a client that asks
with "Expect: 100-continue" gets the 413 before it sends anything. The connection and the
server stay usable."""
import http.client
import json
import socket

import harness

MIB = 1024 * 1024
CONTACTS = "/api/v1/contacts"
IMPORT = "/api/v1/contacts/import"


class BodyLimitTest(harness.ServerTestCase):
    def post(self, path, body, content_type="application/json", chunked=False, connection=None):
        """POSTs `body` (bytes, or an iterable of bytes when chunked) on `connection` (a new
        one when None). Returns (status, headers, parsed body)."""
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                              timeout=60)
        headers = {"Content-Type": content_type, "Authorization": "Bearer " + self.admin_key}
        try:
            connection.request("POST", path, body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            payload = response.read()
            answer = json.loads(payload) if payload else None
            return (response.status, {k.lower(): v for k, v in response.getheaders()}, answer)
        finally:
            if own:
                connection.close()

    @staticmethod
    def chunks(total, size=64 * 1024, fill=b"x"):
        sent = 0
        while sent < total:
            part = min(size, total - sent)
            sent += part
            yield (fill * (part // len(fill) + 1))[:part]  # `total` bytes in all

    def assertTooLarge(self, answer):
        body = self.assertProblem(answer, 413)
        self.assertEqual("Content Too Large", body["title"])
        self.assertIn("1 MiB", body["detail"])

    def test_declared_length_of_9_mib_is_413(self):
        self.assertTooLarge(self.post(CONTACTS, b"x" * (9 * MIB)))

    def test_chunked_body_of_9_mib_is_413(self):
        self.assertTooLarge(self.post(CONTACTS, self.chunks(9 * MIB), chunked=True))

    def test_csv_import_over_the_limit_is_413_either_way(self):
        before = len(self.api("GET", CONTACTS + "?limit=500", key=self.admin_key)[2]["data"])
        row = b"first_name,last_name,email\n" + b"Ann,Lee,ann@example.com\n" * (9 * MIB // 24)
        self.assertTooLarge(self.post(IMPORT, row, content_type="text/csv"))
        self.assertTooLarge(self.post(IMPORT, self.chunks(9 * MIB, fill=b"a,b\n" * 16),
                                      content_type="text/csv", chunked=True))
        status, _, body = self.api("GET", CONTACTS + "?limit=500", key=self.admin_key)
        self.assertEqual(before, len(body["data"]), "nothing of a refused import is kept")

    def test_just_over_and_at_the_limit(self):
        self.assertTooLarge(self.post(CONTACTS, b" " * (MIB + 1)))
        # exactly 1 MiB is read and judged as JSON: a contact whose padding is blanks
        record = json.dumps({"first_name": "Exactly"}).encode()
        body = record + b" " * (MIB - len(record))
        self.assertEqual(MIB, len(body))
        status, _, created = self.post(CONTACTS, body)
        self.assertEqual(201, status, created)
        self.assertEqual("Exactly", created["first_name"])

    def test_connection_serves_the_next_request_after_a_413(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            self.assertTooLarge(self.post(CONTACTS, b"x" * (9 * MIB), connection=connection))
            self.assertTooLarge(self.post(CONTACTS, self.chunks(2 * MIB), chunked=True,
                                          connection=connection))
            status, _, created = self.post(CONTACTS, json.dumps({"first_name": "Next"}).encode(),
                                           connection=connection)
            self.assertEqual(201, status, created)
        finally:
            connection.close()

    def test_expect_100_continue_gets_the_413_before_the_body(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            sock.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                          % (CONTACTS, self.admin_key, 9 * MIB)).encode())
            received = b""
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            status_line = received.split(b"\r\n", 1)[0]
            self.assertIn(b" 413 ", status_line, received[:300])
            self.assertNotIn(b"100 Continue", received)
            self.assertIn(b"application/problem+json", received.lower())
        # a small body with the same header is let in (100 Continue) and served
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            body = json.dumps({"first_name": "Continued"}).encode()
            sock.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                          % (CONTACTS, self.admin_key, len(body))).encode())
            interim = sock.recv(65536)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim[:100])
            sock.sendall(body)
            received = interim
            while received.count(b"\r\n\r\n") < 2:  # the 100's head, then the answer's
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            final = received.split(b"\r\n\r\n", 1)[1]
            self.assertTrue(final.startswith(b"HTTP/1.1 201"), final[:100])

    def test_a_large_body_is_not_kept_in_memory(self):
        def peak_kib():
            with open("/proc/%d/status" % self.server.process.pid) as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
            self.fail("no VmHWM in /proc/<pid>/status")
        self.assertTooLarge(self.post(CONTACTS, self.chunks(4 * MIB), chunked=True))  # warm up
        before = peak_kib()
        self.assertTooLarge(self.post(CONTACTS, self.chunks(60 * MIB), chunked=True))
        body = b"y" * (60 * MIB)
        self.assertTooLarge(self.post(CONTACTS, body))
        del body
        grown = peak_kib() - before
        self.assertLess(grown, 24 * 1024, "crmd's peak memory grew by %d KiB" % grown)

    def test_a_body_past_the_drain_limit_is_not_read(self):
        # declared: the 413 comes before any of the body is sent
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                          % (CONTACTS, self.admin_key, 200 * MIB)).encode())
            received = b""
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            self.assertTrue(received.startswith(b"HTTP/1.1 413"), received[:100])
        # chunked without end: crmd stops reading after 64 MiB and closes the connection
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                          % (CONTACTS, self.admin_key)).encode())
            chunk = b"%x\r\n%s\r\n" % (MIB, b"z" * MIB)
            sent = 0
            with self.assertRaises(OSError):
                while sent < 200:  # 200 MiB: never reached
                    sock.sendall(chunk)
                    sent += 1
                    if sent > 70:
                        # past the limit: the peer has closed; reading gives EOF or reset
                        if sock.recv(65536, socket.MSG_DONTWAIT) == b"":
                            raise ConnectionResetError("closed")
            self.assertLess(sent, 200)
        # the server still serves
        status, _, _ = self.post(CONTACTS, b'{"first_name":"After"}')
        self.assertEqual(status, 201)


if __name__ == "__main__":
    import unittest
    unittest.main()
