"""test_auth.py - authentication against a running crmd: browser login/logout/me with the
session cookie and CSRF token, bearer API keys (read-only, expired, revoked), disabled
users, and login throttling. Revocations made by crmctl must be honoured by the RUNNING
server on the very next request."""
import re
import sqlite3
import statistics
import threading
import time

import harness

ME = "/api/v1/auth/me"
SESSION = "/api/v1/auth/session"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
USERS = "/api/v1/users"


sql = harness.sql_run


class AuthTestCase(harness.ServerTestCase):
    def setUp(self):
        # Failed logins from other tests must not throttle this one (all come from 127.0.0.1).
        sql(self.server.db_path, "DELETE FROM login_failures")

    def assertUnauthorized(self, response):
        body = self.assertProblem(response, 401)
        self.assertTrue(response[1].get("www-authenticate", "").startswith("Bearer"),
                        "401 without WWW-Authenticate: Bearer: %r" % (response[1],))
        return body


class LoginTest(AuthTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")

    def test_login_sets_hardened_cookie_and_returns_user_and_csrf(self):
        session = self.login("admin@example.com", self.admin_password)
        self.assertEqual(200, session.status, session.body)
        cookie_header = session.headers["set-cookie"]
        self.assertIn("HttpOnly", cookie_header)
        self.assertIn("SameSite=Strict", cookie_header)
        self.assertIn("Path=/", cookie_header)
        self.assertNotIn("Secure", cookie_header)
        self.assertGreaterEqual(len(session.cookie), 40)
        self.assertGreaterEqual(len(session.csrf_token), 40)
        user = session.body["user"]
        self.assertEqual("admin@example.com", user["email"])
        self.assertEqual("admin", user["role"])
        self.assertNotIn("password", user)
        self.assertNotIn("password_hash", user)

    def test_email_is_case_insensitive(self):
        self.assertEqual(200, self.login("ADMIN@Example.com", self.admin_password).status)

    def test_each_login_is_a_new_session(self):
        first = self.login("rep@example.com", "password-123")
        second = self.login("rep@example.com", "password-123")
        self.assertNotEqual(first.cookie, second.cookie)
        self.assertNotEqual(first.csrf_token, second.csrf_token)
        for session in (first, second):
            status, _, body = self.api("GET", ME, session=session)
            self.assertEqual(200, status)
            self.assertEqual(session.csrf_token, body["csrf_token"])

    def test_me_with_cookie_and_with_key(self):
        session = self.login("rep@example.com", "password-123")
        status, _, body = self.api("GET", ME, cookie=session.cookie)
        self.assertEqual(200, status, body)
        self.assertEqual("rep@example.com", body["user"]["email"])
        self.assertEqual("east", body["user"]["team"])
        self.assertEqual(session.csrf_token, body["csrf_token"])
        status, _, body = self.api("GET", ME, key=self.rep_key)
        self.assertEqual(200, status, body)
        self.assertEqual(self.rep_id, body["user"]["id"])
        self.assertNotIn("csrf_token", body)

    def test_me_tells_the_callers_permissions(self):
        """issue 18: a client shows only what the caller may do (rep: write own, delete none)."""
        status, _, body = self.api("GET", ME, key=self.rep_key)
        self.assertEqual(200, status, body)
        self.assertEqual({"read": "all", "write": "own", "delete": "none"},
                         body["permissions"]["contacts"])
        self.assertEqual({"read": "all", "write": "own", "delete": "none"},
                         body["permissions"]["opportunities"])
        self.assertEqual("none", body["permissions"]["users"]["read"])
        status, _, admin = self.api("GET", ME, key=self.admin_key)
        self.assertEqual({"read": "all", "write": "all", "delete": "all"},
                         admin["permissions"]["contacts"])
        # A read-only key may not write, whatever the role says.
        read_only = self.crmctl("key", "create", "--user", "rep@example.com", "--name",
                                "reader", "--read-only").stdout.strip()
        status, _, body = self.api("GET", ME, key=read_only)
        self.assertEqual({"read": "all", "write": "none", "delete": "none"},
                         body["permissions"]["contacts"])
        # A grant changed by crmctl shows at once.
        self.crmctl("role", "grant", "rep", "contacts", "delete", "own")
        try:
            body = self.api("GET", ME, key=self.rep_key)[2]
            self.assertEqual("own", body["permissions"]["contacts"]["delete"])
        finally:
            self.crmctl("role", "grant", "rep", "contacts", "delete", "none")

    def test_session_answers_without_an_error(self):
        """issue 18: the page asks whether it is logged in without a 401 in the console."""
        status, headers, body = self.api("GET", SESSION)
        self.assertEqual(200, status, body)
        self.assertEqual({"user": None}, body)
        self.assertNotIn("set-cookie", headers)
        session = self.login("rep@example.com", "password-123")
        status, _, body = self.api("GET", SESSION, cookie=session.cookie)
        self.assertEqual(200, status, body)
        self.assertEqual("rep@example.com", body["user"]["email"])
        self.assertEqual(session.csrf_token, body["csrf_token"])
        self.assertEqual("own", body["permissions"]["contacts"]["write"])
        # After logout the stale cookie is answered with no user, and cleared.
        self.assertEqual(204, self.api("POST", LOGOUT, session=session)[0])
        status, headers, body = self.api("GET", SESSION, cookie=session.cookie)
        self.assertEqual(200, status, body)
        self.assertEqual({"user": None}, body)
        self.assertIn("Max-Age=0", headers.get("set-cookie", ""))
        status, _, body = self.api("GET", SESSION, cookie="forged-session-token")
        self.assertEqual((200, {"user": None}), (status, body))
        # Only GET.
        self.assertEqual(405, self.api("POST", SESSION, {})[0])

    def test_wrong_password_and_unknown_email_get_the_same_401(self):
        wrong = self.login("rep@example.com", "not-the-password")
        unknown = self.login("nobody@example.com", "not-the-password")
        for attempt in (wrong, unknown):
            self.assertEqual(401, attempt.status)
            self.assertIsNone(harness.session_cookie_from(attempt.headers))
            self.assertTrue(attempt.headers["www-authenticate"].startswith("Bearer"))
        self.assertEqual(wrong.body, unknown.body)

    def test_unknown_email_takes_as_long_as_a_wrong_password(self):
        def timed(email):
            started = time.monotonic()
            self.assertEqual(401, self.login(email, "wrong-password").status)
            return time.monotonic() - started
        wrong = statistics.median(timed("rep@example.com") for _ in range(3))
        unknown = statistics.median(timed("ghost%d@example.com" % i) for i in range(3))
        # Both verify an Argon2id hash (~0.1 s); without the dummy hash an unknown email
        # would answer in about a millisecond.
        self.assertGreater(unknown, 0.5 * wrong, "unknown %.3fs vs wrong %.3fs" % (unknown, wrong))

    def test_login_body_is_validated(self):
        self.assertProblem(self.api("POST", LOGIN, {"email": "rep@example.com"}), 422, "password")
        self.assertProblem(self.api("POST", LOGIN, {"email": "rep@example.com",
                                                    "password": "password-123", "remember": 1}),
                           422, "remember")
        self.assertProblem(self.api("POST", LOGIN, {"email": 5, "password": "x"}), 422, "email")
        self.assertProblem(self.api("POST", LOGIN, raw=b"{", content_type="application/json"), 400)
        self.assertProblem(self.api("POST", LOGIN, raw=b"email=a", content_type="text/plain"), 415)

    def test_logout_revokes_the_session_on_the_server(self):
        session = self.login("rep@example.com", "password-123")
        status, headers, _ = self.api("POST", LOGOUT, session=session)
        self.assertEqual(204, status)
        self.assertIn("Max-Age=0", headers.get("set-cookie", ""))
        # A client that keeps the cookie anyway is refused.
        self.assertUnauthorized(self.api("GET", ME, cookie=session.cookie))

    def test_no_credentials_is_401_with_www_authenticate(self):
        self.assertUnauthorized(self.api("GET", ME))
        self.assertUnauthorized(self.api("GET", USERS))

    def test_bad_credentials_are_401(self):
        self.assertUnauthorized(self.api("GET", ME, key="crm_not-a-real-key-at-all-000000000000000"))
        self.assertUnauthorized(self.api("GET", ME, key="x"))
        self.assertUnauthorized(self.api("GET", ME, cookie="forged-session-token"))
        self.assertUnauthorized(self.api("GET", ME, headers={"Authorization": "Basic YTpi"}))
        # A wrong Authorization header is not rescued by a valid cookie.
        session = self.login("rep@example.com", "password-123")
        self.assertUnauthorized(self.api("GET", ME, cookie=session.cookie,
                                         headers={"Authorization": "Bearer crm_wrong"}))

    def test_health_and_login_need_no_credentials(self):
        self.assertEqual(200, self.api("GET", "/healthz")[0])
        self.assertEqual(401, self.login("rep@example.com", "bad-password").status)


class CsrfTest(AuthTestCase):
    def test_unsafe_cookie_requests_need_the_csrf_token(self):
        session = self.login("admin@example.com", self.admin_password)
        new_user = {"email": "csrf@example.com", "name": "C", "role": "viewer"}
        body = self.assertProblem(self.api("POST", USERS, new_user, cookie=session.cookie), 403)
        self.assertIn("CSRF", body["detail"])
        self.assertProblem(self.api("POST", USERS, new_user, cookie=session.cookie,
                                    csrf="wrong" + session.csrf_token[5:]), 403)
        self.assertProblem(self.api("POST", USERS, new_user, cookie=session.cookie, csrf=""), 403)
        self.assertProblem(self.api("POST", LOGOUT, cookie=session.cookie), 403)
        status, _, created = self.api("POST", USERS, new_user, session=session)
        self.assertEqual(201, status, created)
        status, _, _ = self.api("PATCH", "%s/%d" % (USERS, created["id"]), {"name": "D"},
                                cookie=session.cookie)
        self.assertEqual(403, status)
        status, _, _ = self.api("PATCH", "%s/%d" % (USERS, created["id"]), {"name": "D"},
                                session=session)
        self.assertEqual(200, status)

    def test_safe_requests_need_no_csrf_token(self):
        session = self.login("admin@example.com", self.admin_password)
        self.assertEqual(200, self.api("GET", USERS, cookie=session.cookie)[0])

    def test_another_sessions_csrf_token_is_refused(self):
        first = self.login("admin@example.com", self.admin_password)
        second = self.login("admin@example.com", self.admin_password)
        self.assertProblem(self.api("POST", LOGOUT, cookie=first.cookie,
                                    csrf=second.csrf_token), 403)

    def test_bearer_keys_need_no_csrf_token(self):
        status, _, body = self.api("POST", USERS, {"email": "viakey@example.com", "name": "K",
                                                   "role": "viewer"}, key=self.admin_key)
        self.assertEqual(201, status, body)


class SecureCookieTest(AuthTestCase):
    server_args = ("--secure-cookies",)

    def test_secure_flag_when_configured(self):
        session = self.login("admin@example.com", self.admin_password)
        self.assertEqual(200, session.status)
        self.assertIn("Secure", session.headers["set-cookie"])


class ShortIdleTest(AuthTestCase):
    server_args = ("--session-idle", "120")

    def active_sessions(self):
        status, _, body = self.api("GET", "/metrics")
        self.assertEqual(200, status, body)
        match = re.search(r"^crmd_sessions_active (\S+)$", body, re.M)
        self.assertIsNotNone(match, body)
        return float(match.group(1))

    def test_metrics_count_sessions_with_the_configured_idle_limit(self):
        session = self.login("admin@example.com", self.admin_password)
        self.assertEqual(200, session.status)
        before = self.active_sessions()
        five_minutes_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
        sql(self.server.db_path, "UPDATE sessions SET last_seen_at = ? WHERE csrf_token = ?",
            five_minutes_ago, session.csrf_token)
        self.assertUnauthorized(self.api("GET", ME, session=session))
        self.assertEqual(before - 1, self.active_sessions())


class KeyTest(AuthTestCase):
    @classmethod
    def setup_database(cls):
        cls.reader_id, cls.reader_key = cls.make_user("reader@example.com", "admin",
                                                      read_only=True)

    def test_admin_key_works(self):
        status, _, body = self.api("GET", ME, key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual("admin@example.com", body["user"]["email"])

    def test_key_is_random_256_bit_and_stored_only_as_hash(self):
        self.assertRegex(self.admin_key, r"^crm_[A-Za-z0-9_-]{43}$")
        with sqlite3.connect(self.server.db_path) as connection:
            for row in connection.execute("SELECT prefix, key_hash FROM api_keys"):
                self.assertNotIn(self.admin_key.encode(), bytes(row[1]))
                self.assertEqual(32, len(row[1]))
                self.assertLessEqual(len(row[0]), 12)
            dump = "\n".join(connection.iterdump())
        self.assertNotIn(self.admin_key, dump)

    def test_read_only_key_reads_but_never_writes(self):
        self.assertEqual(200, self.api("GET", USERS, key=self.reader_key)[0])
        body = self.assertProblem(self.api("POST", USERS, {"email": "ro@example.com", "name": "R",
                                                           "role": "viewer"},
                                           key=self.reader_key), 403)
        self.assertIn("read-only", body["detail"])
        self.assertProblem(self.api("PATCH", "%s/%d" % (USERS, self.reader_id), {"name": "x"},
                                    key=self.reader_key), 403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (USERS, self.reader_id),
                                    key=self.reader_key), 405)
        self.assertProblem(self.api("POST", LOGOUT, key=self.reader_key), 403)

    def test_expired_key_is_refused(self):
        created = self.crmctl("key", "create", "--user", "admin@example.com", "--name", "short",
                              "--expires-days", "1")
        key = created.stdout.strip()
        self.assertEqual(200, self.api("GET", ME, key=key)[0])
        sql(self.server.db_path, "UPDATE api_keys SET expires_at = '2020-01-01T00:00:00Z'"
            " WHERE name = 'short'")
        body = self.assertUnauthorized(self.api("GET", ME, key=key))
        self.assertIn("expired", body["detail"])

    def test_revoked_key_is_refused_by_the_running_server_at_once(self):
        key = self.crmctl("key", "create", "--user", "admin@example.com", "--name",
                          "to-revoke").stdout.strip()
        self.assertEqual(200, self.api("GET", ME, key=key)[0])
        listing = self.crmctl("key", "list").stdout
        key_id = re.search(r"^(\d+)\s+\S+\s+to-revoke\s", listing, re.M).group(1)
        self.crmctl("key", "revoke", key_id)
        self.assertUnauthorized(self.api("GET", ME, key=key))
        self.assertEqual(200, self.api("GET", ME, key=self.admin_key)[0])

    def test_key_use_is_recorded(self):
        self.api("GET", ME, key=self.reader_key)
        with sqlite3.connect(self.server.db_path) as connection:
            used = connection.execute("SELECT last_used_at FROM api_keys WHERE user_id = ?",
                                      (self.reader_id,)).fetchone()[0]
        self.assertRegex(used or "", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class RevocationTest(AuthTestCase):
    """crmctl changes reach the running crmd on the very next request."""

    def test_session_revoke_ends_sessions_at_once(self):
        self.make_user("sess@example.com", "rep")
        session = self.login("sess@example.com", "password-123")
        self.assertEqual(200, self.api("GET", ME, session=session)[0])
        result = self.crmctl("session", "revoke", "--user", "sess@example.com")
        self.assertIn("revoked 1 session", result.stdout)
        self.assertUnauthorized(self.api("GET", ME, session=session))

    def test_disabled_user_is_refused_at_once_and_enabled_again(self):
        _, key = self.make_user("dis@example.com", "rep")
        session = self.login("dis@example.com", "password-123")
        self.assertEqual(200, self.api("GET", ME, key=key)[0])
        self.crmctl("user", "disable", "dis@example.com")
        self.assertUnauthorized(self.api("GET", ME, key=key))
        self.assertUnauthorized(self.api("GET", ME, session=session))
        self.assertEqual(401, self.login("dis@example.com", "password-123").status)
        self.crmctl("user", "enable", "dis@example.com")
        self.assertEqual(200, self.api("GET", ME, key=key)[0])
        # Disabling ended the sessions for good; a new login works.
        self.assertUnauthorized(self.api("GET", ME, session=session))
        self.assertEqual(200, self.login("dis@example.com", "password-123").status)

    def test_disabling_through_the_api_refuses_the_user_at_once(self):
        user_id, key = self.make_user("apidis@example.com", "manager")
        self.assertEqual(200, self.api("GET", ME, key=key)[0])
        status, _, body = self.api("PATCH", "%s/%d" % (USERS, user_id), {"disabled": True},
                                   key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertTrue(body["disabled"])
        self.assertUnauthorized(self.api("GET", ME, key=key))

    def test_password_change_ends_sessions(self):
        self.make_user("pw@example.com", "rep")
        session = self.login("pw@example.com", "password-123")
        self.crmctl("user", "passwd", "pw@example.com", "--password-stdin",
                    stdin="new-password-456\n")
        self.assertUnauthorized(self.api("GET", ME, session=session))
        self.assertEqual(401, self.login("pw@example.com", "password-123").status)
        self.assertEqual(200, self.login("pw@example.com", "new-password-456").status)

    def test_idle_and_expired_sessions_are_refused(self):
        self.make_user("idle@example.com", "rep")
        idle = self.login("idle@example.com", "password-123")
        old = self.login("idle@example.com", "password-123")
        with sqlite3.connect(self.server.db_path) as connection:
            rows = connection.execute("SELECT id, csrf_token FROM sessions WHERE user_id ="
                                      " (SELECT id FROM users WHERE email = 'idle@example.com')")
            by_csrf = {csrf: session_id for session_id, csrf in rows}
            connection.execute("UPDATE sessions SET last_seen_at = '2020-01-01T00:00:00Z'"
                               " WHERE id = ?", (by_csrf[idle.csrf_token],))
            connection.execute("UPDATE sessions SET expires_at = '2020-01-01T00:00:00Z'"
                               " WHERE id = ?", (by_csrf[old.csrf_token],))
        self.assertUnauthorized(self.api("GET", ME, session=idle))
        self.assertUnauthorized(self.api("GET", ME, session=old))

    def test_default_idle_limit_is_thirty_minutes(self):
        self.make_user("idle30@example.com", "rep")
        recent = self.login("idle30@example.com", "password-123")
        stale = self.login("idle30@example.com", "password-123")
        now = time.time()
        stamp = lambda minutes: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime(now - minutes * 60))
        with sqlite3.connect(self.server.db_path) as connection:
            for session, minutes in ((recent, 29), (stale, 31)):
                connection.execute("UPDATE sessions SET last_seen_at = ? WHERE csrf_token = ?",
                                   (stamp(minutes), session.csrf_token))
        self.assertEqual(200, self.api("GET", ME, session=recent)[0])
        self.assertUnauthorized(self.api("GET", ME, session=stale))

    def test_session_token_is_stored_only_as_hash(self):
        session = self.login("admin@example.com", self.admin_password)
        with sqlite3.connect(self.server.db_path) as connection:
            dump = "\n".join(connection.iterdump())
        self.assertNotIn(session.cookie, dump)


class ThrottleTest(AuthTestCase):
    @classmethod
    def setup_database(cls):
        cls.make_user("victim@example.com", "rep")
        cls.make_user("other@example.com", "rep")

    def failures(self, subject):
        with sqlite3.connect(self.server.db_path) as connection:
            return connection.execute("SELECT count(*) FROM login_failures WHERE subject = ?",
                                      (subject,)).fetchone()[0]

    def test_ten_failures_for_an_account_then_429_until_the_window_passes(self):
        for attempt in range(10):
            self.assertEqual(401, self.login("victim@example.com", "wrong-%d" % attempt).status)
        blocked = self.login("victim@example.com", "password-123")  # even the right password
        self.assertEqual(429, blocked.status, blocked.body)
        self.assertEqual("application/problem+json", blocked.headers["content-type"])
        retry_after = int(blocked.headers["retry-after"])
        self.assertTrue(0 < retry_after <= 900, retry_after)
        self.assertEqual(429, self.login("VICTIM@example.com", "wrong").status)
        # Another account from the same address is not affected.
        self.assertEqual(200, self.login("other@example.com", "password-123").status)
        # The window passes (moved back in time rather than waiting 15 minutes).
        sql(self.server.db_path, "UPDATE login_failures SET failed_at = failed_at - 901")
        self.assertEqual(200, self.login("victim@example.com", "password-123").status)

    def test_a_lockout_holds_for_that_address_only(self):
        """Issue 16: anyone could lock any account with 10 failures from anywhere."""
        for attempt in range(10):
            self.assertEqual(401, self.login("victim@example.com", "wrong-%d" % attempt,
                                             source="127.0.0.7").status)
        self.assertEqual(429, self.login("victim@example.com", "password-123",
                                         source="127.0.0.7").status)
        # the owner, from their own address, is not locked out
        self.assertEqual(200, self.login("victim@example.com", "password-123").status)
        self.assertEqual(10, self.failures("pair:victim@example.com|127.0.0.7"))
        self.assertEqual(429, self.login("victim@example.com", "password-123",
                                         source="127.0.0.7").status)

    def test_success_resets_the_count_of_its_address(self):
        now = int(time.time())
        with sqlite3.connect(self.server.db_path) as connection:
            connection.executemany(
                "INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)",
                [("pair:victim@example.com|127.0.0.1", now - 60)] * 9)
        self.assertEqual(200, self.login("victim@example.com", "password-123").status)
        self.assertEqual(0, self.failures("pair:victim@example.com|127.0.0.1"))
        self.assertEqual(401, self.login("victim@example.com", "wrong").status)
        self.assertEqual(200, self.login("victim@example.com", "password-123").status)

    def test_fifty_failures_from_one_address_then_429(self):
        now = int(time.time())
        with sqlite3.connect(self.server.db_path) as connection:
            connection.executemany(
                "INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)",
                [("address:127.0.0.1", now - 100 + i) for i in range(50)])
        blocked = self.login("other@example.com", "password-123")
        self.assertEqual(429, blocked.status)
        # The oldest of the 50 leaves the window first: in about 800 seconds.
        self.assertTrue(780 <= int(blocked.headers["retry-after"]) <= 801,
                        blocked.headers["retry-after"])

    def test_throttled_attempts_do_not_extend_the_window(self):
        now = int(time.time())
        with sqlite3.connect(self.server.db_path) as connection:
            connection.executemany(
                "INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)",
                [("pair:victim@example.com|127.0.0.1", now - 10)] * 10)
        for _ in range(3):
            self.assertEqual(429, self.login("victim@example.com", "wrong").status)
        self.assertEqual(10, self.failures("pair:victim@example.com|127.0.0.1"))

    def burst(self, passwords):
        """Logs in to victim@example.com with each password at once; returns the statuses."""
        statuses = []
        start = threading.Barrier(len(passwords))

        def attempt(password):
            start.wait()
            statuses.append(self.login("victim@example.com", password).status)
        threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(statuses)

    def test_concurrent_wrong_logins_cannot_pass_the_limit(self):
        for attempt in range(9):
            self.assertEqual(401, self.login("victim@example.com", "wrong-%d" % attempt).status)
        statuses = self.burst(["burst-%d" % i for i in range(4)])
        self.assertLessEqual(statuses.count(401), 1, statuses)
        self.assertEqual(len(statuses) - statuses.count(401), statuses.count(429), statuses)
        self.assertLessEqual(self.failures("pair:victim@example.com|127.0.0.1"), 10)
        self.assertEqual(429, self.login("victim@example.com", "password-123").status)

    def test_right_password_in_a_burst_at_the_limit_is_refused_or_alone(self):
        for attempt in range(9):
            self.assertEqual(401, self.login("victim@example.com", "wrong-%d" % attempt).status)
        statuses = self.burst(["password-123"] + ["burst-%d" % i for i in range(3)])
        # Only the attempt that took the last place is checked: 200 or 401, never both.
        self.assertEqual(3, statuses.count(429), statuses)
        self.assertLessEqual(self.failures("pair:victim@example.com|127.0.0.1"), 10)

    def test_a_failure_that_cannot_be_recorded_refuses_the_login(self):
        sql(self.server.db_path, "CREATE TRIGGER full BEFORE INSERT ON login_failures"
                                 " BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
        try:
            for password in ("wrong", "password-123"):
                answer = self.login("victim@example.com", password)
                self.assertProblem((answer.status, answer.headers, answer.body), 503)
                self.assertIsNone(answer.cookie)
        finally:
            sql(self.server.db_path, "DROP TRIGGER full")
        self.assertEqual(0, self.failures("account:victim@example.com"))
        self.assertEqual(200, self.login("victim@example.com", "password-123").status)
