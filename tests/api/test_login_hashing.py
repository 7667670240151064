"""test_login_hashing.py - logins hash their password off the HTTP workers: while a login's
Argon2id check runs (on a hash thread, its connection suspended), the one worker of this
crmd keeps answering other requests; when the hash threads' queue is full, a login is
answered 503 with Retry-After at once; suspended logins are answered when crmd stops, which
then exits cleanly."""
import json
import os
import select
import socket
import sqlite3
import time

import harness

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
QUEUE_PER_THREAD = 4  # AUTH_LOGIN_QUEUE_PER_THREAD (include/crm/auth.h)


def hash_threads():
    cores = os.cpu_count() or 1
    return cores - 1 if cores > 1 else 1


def login_bytes(email, password):
    body = json.dumps({"email": email, "password": password}).encode()
    return (b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def send_logins(port, count, email, password, source="127.0.0.1"):
    """Opens `count` connections (from the loopback address `source`) first, then writes a
    login on each as fast as possible."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=120,
                                        source_address=(source, 0)) for _ in range(count)]
    request = login_bytes(email, password)
    for connection in sockets:
        connection.sendall(request)
    return sockets


def read_answer(connection):
    """The whole answer of a Connection: close request: (status, headers, body) or None
    when the connection closed without an answer."""
    data = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    connection.close()
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


class LoginHashingTest(harness.ServerTestCase):
    server_args = ("--threads", "1")  # one worker: a hash on it would stall everything

    def setUp(self):
        with sqlite3.connect(self.server.db_path, timeout=30) as connection:
            connection.execute("DELETE FROM login_failures")

    def test_the_worker_answers_other_requests_while_a_login_hashes(self):
        [login] = send_logins(self.server.port, 1, self.admin_email, self.admin_password)
        answered_meanwhile = 0
        while True:
            status, _, body = self.api("GET", ME, key=self.admin_key)
            self.assertEqual(status, 200, body)
            readable, _, _ = select.select([login], [], [], 0)
            if readable:
                break
            answered_meanwhile += 1
        answer = read_answer(login)
        self.assertIsNotNone(answer, "the login got no answer")
        self.assertEqual(answer[0], 200, answer)
        self.assertIn("csrf_token", json.loads(answer[2]))
        # A hash takes tens of milliseconds at least; a GET a millisecond or two. Hashing on
        # the one worker answered none of them until the login was done.
        self.assertGreaterEqual(answered_meanwhile, 3,
                                "only %d requests answered while the login hashed"
                                % answered_meanwhile)

    def test_a_full_hash_queue_answers_503_with_retry_after_at_once(self):
        capacity = hash_threads() * QUEUE_PER_THREAD
        sockets = send_logins(self.server.port, capacity + 8, self.admin_email,
                              self.admin_password)
        answers = [read_answer(connection) for connection in sockets]
        self.assertNotIn(None, answers)
        statuses = sorted(answer[0] for answer in answers)
        self.assertEqual(set(statuses) - {200, 503}, set(), statuses)
        self.assertIn(200, statuses)
        self.assertIn(503, statuses, "no login was refused with %d admitted at once" % capacity)
        self.assertLessEqual(statuses.count(200), len(answers) - statuses.count(503))
        for status, headers, body in answers:
            if status == 503:
                self.assertEqual(headers.get("retry-after"), "1", headers)
                self.assertIn("too many logins at once", json.loads(body)["detail"])
        # A refused login is no failed login: nothing is recorded against the account, but
        # each refusal counts toward the throttle of its address (issue 16).
        failures = harness.sql_rows(self.server.db_path, "SELECT subject, count(*) FROM "
                                    "login_failures GROUP BY subject")
        self.assertEqual([("address:127.0.0.1", statuses.count(503))], failures)
        # And the queue is free again afterwards.
        self.assertEqual(self.login(self.admin_email, self.admin_password).status, 200)

    def test_a_flooding_address_cannot_keep_another_from_logging_in(self):
        """Issue 16: a login flood filled the hash queue and every other login got 503.
        Now the places are shared among addresses and the least recently served address
        hashes first: during a flood from 127.0.0.1 (more logins than places, again and
        again), each login from 127.0.0.2 succeeds, after at most the hash running and its
        own."""
        capacity = hash_threads() * QUEUE_PER_THREAD
        self.make_user("flood@example.com", "rep", password="flood-password-1")
        hash_seconds = self.hash_seconds()
        took = []
        for _ in range(5):
            flood = send_logins(self.server.port, capacity + 4, "flood@example.com",
                                "flood-password-1")
            # the flood holds every place once its logins are read: wait until one hashes
            harness.wait_until(lambda: select.select(flood, [], [], 0)[0], timeout=30,
                               what="the flood's first answer")
            started = time.monotonic()
            login = self.login(self.admin_email, self.admin_password, source="127.0.0.2")
            took.append(time.monotonic() - started)
            self.assertEqual(200, login.status, login.body)
            answers = [read_answer(connection) for connection in flood]
            self.assertNotIn(None, answers)
            self.assertIn(503, [answer[0] for answer in answers])
        self.assertLess(max(took), 2 * hash_seconds + 1.0, (took, hash_seconds))
        # the flood's refusals count toward its address, none toward the other
        refused = harness.sql_rows(self.server.db_path, "SELECT subject FROM login_failures")
        self.assertIn(("address:127.0.0.1",), refused)
        self.assertNotIn(("address:127.0.0.2",), refused)

    def test_refusals_are_recorded_up_to_the_address_limit_only(self):
        """A flood of refused logins costs a write each only while its address is under
        its limit (50 in 15 minutes), not one per refusal."""
        now = int(time.time())
        with sqlite3.connect(self.server.db_path, timeout=30) as connection:
            connection.executemany("INSERT INTO login_failures (subject, failed_at) VALUES "
                                   "(?, ?)", [("address:127.0.0.1", now - 60)] * 40)
        capacity = hash_threads() * QUEUE_PER_THREAD
        sockets = send_logins(self.server.port, capacity + 20, self.admin_email,
                              self.admin_password)
        statuses = [read_answer(connection)[0] for connection in sockets]
        self.assertGreater(statuses.count(503), 10, statuses)
        (rows,), = harness.sql_rows(self.server.db_path, "SELECT count(*) FROM login_failures "
                                    "WHERE subject = ?", "address:127.0.0.1")
        self.assertLessEqual(rows, 50, statuses)

    def hash_seconds(self):
        """How long one login takes here when nothing else logs in (the median of 3)."""
        took = []
        for _ in range(3):
            started = time.monotonic()
            self.assertEqual(200, self.login(self.admin_email, self.admin_password).status)
            took.append(time.monotonic() - started)
        return sorted(took)[1]

    def test_wrong_passwords_are_still_counted_and_throttled(self):
        self.make_user("throttled@example.com", "rep", password="right-password-1")
        for _ in range(10):
            self.assertEqual(self.login("throttled@example.com", "wrong-password").status, 401)
        self.assertEqual(self.login("throttled@example.com", "right-password-1").status, 429)


class LoginStopTest(harness.ServerTestCase):
    def test_crmd_answers_suspended_logins_and_stops_cleanly(self):
        sockets = send_logins(self.server.port, 10, self.admin_email, self.admin_password)
        readable, _, _ = select.select(sockets, [], [], 60)
        self.assertTrue(readable, "no login was answered within a minute")
        # every login has been read (answered, or in flight: the admitted ones hashing)
        # before crmd is told to stop; answered first, so that none is counted twice
        def all_read():
            answered = len(select.select(sockets, [], [], 0)[0])
            status, _, text = self.api("GET", "/metrics")
            self.assertEqual(200, status, text)
            (in_flight,) = [float(line.split()[1]) for line in text.splitlines()
                            if line.startswith("crmd_http_requests_in_flight ")]
            return answered + int(in_flight) - 1 >= len(sockets)  # less this scrape
        harness.wait_until(all_read, timeout=30, what="crmd reading every login")
        self.server.stop()  # SIGTERM: exit status 0 and no sanitizer report, or it raises
        answers = [read_answer(connection) for connection in sockets]
        self.assertNotIn(None, answers, "a login in flight got no answer when crmd stopped")
        statuses = [answer[0] for answer in answers]
        self.assertEqual(set(statuses) - {200, 503}, set(), statuses)
        self.assertIn(200, statuses)
