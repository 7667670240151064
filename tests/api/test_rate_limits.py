"""test_rate_limits.py - API rate limits (issue 16, point 3): a token bucket per API key and
per signed-in user. Every authenticated answer carries RateLimit-Policy and RateLimit
(draft-ietf-httpapi-ratelimit-headers, structured fields); a request over the limit gets
429 problem+json with Retry-After and changes nothing; limits are set per role and per key
with crmctl and apply to the running crmd at once; one key's exhaustion leaves another's
alone. The buckets are driven with requests only: the rates used here (1 a minute) refill
nothing while a test runs, so no test depends on timing."""
import os
import re
import shutil
import tempfile
import threading

import harness

POLICY = re.compile(r'^"(default|role|key)";q=(\d+);w=(\d+)$')
REMAINING = re.compile(r'^"(default|role|key)";r=(\d+);t=(\d+)$')


def parse_headers(headers):
    """(policy name, q, w, r, t) from an answer's RateLimit-Policy and RateLimit."""
    policy = POLICY.match(headers.get("ratelimit-policy", ""))
    remaining = REMAINING.match(headers.get("ratelimit", ""))
    if not policy or not remaining:
        raise AssertionError("no rate-limit headers in %r" % headers)
    if policy.group(1) != remaining.group(1):
        raise AssertionError("the two headers name different policies: %r" % headers)
    return (policy.group(1), int(policy.group(2)), int(policy.group(3)),
            int(remaining.group(2)), int(remaining.group(3)))


class DefaultLimitsTest(harness.ServerTestCase):
    """crmd's built-in defaults: high enough for people and for this test suite."""

    def test_headers_on_every_authenticated_answer(self):
        key = self.admin_key
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        name, quota, window, remaining, reset = parse_headers(headers)
        self.assertEqual(("default", 10000, 10), (name, quota, window))
        self.assertLess(remaining, quota)
        self.assertGreaterEqual(reset, 0)
        # a batched write, errors after authentication, a 304: the same headers
        status, headers, contact = self.api("POST", "/api/v1/contacts", {"first_name": "R"},
                                            key=key)
        self.assertEqual(201, status, contact)
        parse_headers(headers)
        for method, path, body, extra, expected in (
                ("GET", "/api/v1/contacts/999999", None, None, 404),
                ("GET", "/api/v1/contacts/%d" % contact["id"], None, {"If-None-Match": '"1"'},
                 304),
                ("POST", "/api/v1/contacts", {"email": "bad"}, None, 422),
                ("DELETE", "/api/v1/contacts", None, None, 405)):
            status, headers, _ = self.api(method, path, body, key=key, headers=extra)
            self.assertEqual(expected, status, path)
            if expected != 405:  # refused by the router, before authentication
                self.assertLessEqual(parse_headers(headers)[3], quota)

    def test_no_headers_without_authentication(self):
        for path, key in (("/api/v1/openapi.json", None), ("/api/v1/contacts", None),
                          ("/api/v1/contacts", "crm_not-a-key"), ("/healthz", None)):
            status, headers, _ = self.api("GET", path, key=key)
            self.assertIn(status, (200, 401))
            self.assertNotIn("ratelimit", headers, path)
            self.assertNotIn("ratelimit-policy", headers, path)


class KeyLimitsOverApiTest(harness.ServerTestCase):
    """POST /api/v1/api-keys takes the key's own limit from administrators; every key answer
    shows it (null: inherited from the role)."""

    KEYS = "/api/v1/api-keys"

    def test_an_administrator_creates_a_key_with_its_own_limit(self):
        admin = self.login(self.admin_email, self.admin_password)
        status, _, created = self.api("POST", self.KEYS, {"name": "erp", "rate_per_minute": 1,
                                                          "rate_burst": 2}, session=admin)
        self.assertEqual(201, status, created)
        self.assertEqual((1, 2), (created["rate_per_minute"], created["rate_burst"]))
        key = created["key"]
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        self.assertEqual(("key", 2, 120, 1), parse_headers(headers)[:4])
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])
        self.assertEqual(429, self.api("GET", "/api/v1/contacts", key=key)[0])
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT actor, after FROM audit_log WHERE entity = 'api_keys'"
                                " AND action = 'limit' AND entity_id = ?", created["id"])
        self.assertEqual([("api", '{"rate_per_minute":1,"rate_burst":2}')],
                         [(actor, after.replace(" ", "")) for actor, after in rows])

    def test_others_may_not_set_a_limit_and_bad_values_are_422(self):
        self.make_user("plain@example.com", "rep", key_name="plain")
        rep = self.login("plain@example.com", "password-123")
        response = self.api("POST", self.KEYS, {"name": "mine", "rate_burst": 100000},
                            session=rep)
        self.assertProblem(response, 403)
        self.assertIn("administrators", response[2]["detail"])
        admin = self.login(self.admin_email, self.admin_password)
        for field, value in (("rate_burst", 0), ("rate_per_minute", "fast"),
                             ("rate_per_minute", 60000001), ("rate_burst", 2.5)):
            self.assertProblem(self.api("POST", self.KEYS, {"name": "bad", field: value},
                                        session=admin), 422, field)
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM api_keys WHERE name IN ('mine', 'bad')")
        self.assertEqual(0, rows[0][0])

    def test_key_answers_show_the_limit(self):
        admin = self.login(self.admin_email, self.admin_password)
        status, _, created = self.api("POST", self.KEYS, {"name": "shown"}, session=admin)
        self.assertEqual(201, status, created)
        self.assertEqual((None, None), (created["rate_per_minute"], created["rate_burst"]))
        self.crmctl("key", "limit", str(created["id"]), "--rate", "10/s")
        status, _, key = self.api("GET", "%s/%d" % (self.KEYS, created["id"]),
                                  key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual((600, None), (key["rate_per_minute"], key["rate_burst"]))


class ExceededLimitsTest(harness.ServerTestCase):
    """Defaults of 1 a minute with bursts of 5: a bucket empties after 5 requests."""

    server_args = ("--rate-limit", "1/min", "--rate-burst", "5")

    def key_id(self, name):
        rows = harness.sql_rows(self.server.db_path, "SELECT id FROM api_keys WHERE name = ?",
                                name)
        return rows[0][0]

    def drain(self, key, count):
        """Sends `count` GETs with `key`; returns the r of each answer (all must pass)."""
        seen = []
        for _ in range(count):
            status, headers, body = self.api("GET", "/api/v1/contacts?limit=1", key=key)
            self.assertEqual(200, status, body)
            seen.append(parse_headers(headers)[3])
        return seen

    def assertThrottled(self, response, policy_name=None):
        self.assertProblem(response, 429)
        _, headers, body = response
        retry_after = int(headers["retry-after"])
        self.assertTrue(1 <= retry_after <= 60, retry_after)
        self.assertIn("too many requests", body["detail"])
        name, _, _, remaining, _ = parse_headers(headers)
        self.assertEqual(0, remaining)
        if policy_name:
            self.assertEqual(policy_name, name)

    def test_over_the_limit_answers_429_and_changes_nothing(self):
        _, key = self.make_user("over@example.com", "rep", key_name="over")
        self.assertEqual([4, 3, 2, 1], self.drain(key, 4))
        status, headers, created = self.api("POST", "/api/v1/contacts",
                                            {"first_name": "Last one"}, key=key)
        self.assertEqual(201, status, created)
        self.assertEqual(0, parse_headers(headers)[3])
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=key), "default")
        self.assertThrottled(self.api("POST", "/api/v1/contacts", {"first_name": "Refused"},
                                      key=key))
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM contacts WHERE first_name = 'Refused'")
        self.assertEqual(0, rows[0][0])

    def test_one_key_does_not_drain_another(self):
        _, first = self.make_user("two@example.com", "rep", key_name="first")
        second = self.crmctl("key", "create", "--user", "two@example.com",
                             "--name", "second").stdout.strip()
        self.drain(first, 5)
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=first))
        self.assertEqual([4, 3], self.drain(second, 2))
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=first))

    def test_concurrent_requests_take_one_token_each(self):
        _, key = self.make_user("burst@example.com", "rep",
                                                  key_name="burst")
        statuses = []
        lock = threading.Lock()

        def get():
            status = self.api("GET", "/api/v1/contacts?limit=1", key=key)[0]
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=get) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([200] * 5 + [429] * 3, sorted(statuses))

    def test_sessions_of_a_user_share_one_bucket(self):
        self.make_user("browser@example.com", "rep")
        session = self.login("browser@example.com", "password-123")
        self.assertEqual(200, session.status)
        self.assertNotIn("ratelimit", session.headers)  # the login itself is public
        status, headers, _ = self.api("GET", "/api/v1/contacts", session=session)
        self.assertEqual(200, status)
        self.assertEqual(("default", 5, 300, 4), parse_headers(headers)[:4])
        again = self.login("browser@example.com", "password-123")
        status, headers, _ = self.api("GET", "/api/v1/contacts", session=again)
        self.assertEqual(200, status)
        self.assertEqual(3, parse_headers(headers)[3])

    def bucket_gauge(self):
        status, _, text = self.api("GET", "/metrics")
        self.assertEqual(200, status)
        return int(re.search(r"^crmd_rate_limit_buckets (\d+)$", text, re.M).group(1))

    def test_metrics_count_the_buckets(self):
        before = self.bucket_gauge()
        _, key = self.make_user("counted@example.com", "rep", key_name="counted")
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])
        self.assertEqual(before + 1, self.bucket_gauge())
        self.assertEqual(200, self.api("GET", "/api/v1/contacts", key=key)[0])
        self.assertEqual(before + 1, self.bucket_gauge())  # the same bucket again

    def test_role_limit(self):
        self.crmctl("role", "create", "throttled", "--from", "rep")
        out = self.crmctl("role", "limit", "throttled", "--rate", "1/min", "--burst", "2")
        self.assertIn("role throttled: rate 1/min, burst 2", out.stdout)
        _, key = self.make_user("slow@example.com", "throttled",
                                                  key_name="slow")
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        self.assertEqual(("role", 2, 120, 1), parse_headers(headers)[:4])
        self.drain(key, 1)
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=key), "role")
        # a session of a user of that role is limited the same way
        session = self.login("slow@example.com", "password-123")
        status, headers, _ = self.api("GET", "/api/v1/contacts", session=session)
        self.assertEqual(200, status)
        self.assertEqual(("role", 2), parse_headers(headers)[:2])

    def test_key_limit_and_inherit(self):
        _, key = self.make_user("own@example.com", "rep", key_name="own")
        key_id = self.key_id("own")
        self.crmctl("key", "limit", str(key_id), "--burst", "8")
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        self.assertEqual(("key", 8, 480, 7), parse_headers(headers)[:4])
        # a key's limit applies at the next request; --inherit returns to the defaults
        self.crmctl("key", "limit", str(key_id), "--burst", "2")  # 7 left: 2 now
        self.assertEqual([1, 0], self.drain(key, 2))
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=key), "key")
        # the bucket keeps what was taken under the new policy: still empty
        self.crmctl("key", "limit", str(key_id), "--inherit")
        response = self.api("GET", "/api/v1/contacts", key=key)
        self.assertThrottled(response, "default")
        self.assertEqual(("default", 5, 300), parse_headers(response[1])[:3])

    def test_key_limit_wins_over_its_role(self):
        self.crmctl("role", "create", "capped", "--from", "rep")
        self.crmctl("role", "limit", "capped", "--burst", "1")
        _, key = self.make_user("vip@example.com", "capped", key_name="vip")
        self.crmctl("key", "limit", str(self.key_id("vip")), "--burst", "3")
        self.assertEqual([2, 1, 0], self.drain(key, 3))
        self.assertThrottled(self.api("GET", "/api/v1/contacts", key=key), "key")


class ConfigFileLimitsTest(harness.ServerTestCase):
    """rate-limit and rate-burst in crmd's configuration file set the defaults."""

    @classmethod
    def setUpClass(cls):
        cls.config_directory = tempfile.mkdtemp(prefix="crm-rate-")
        path = os.path.join(cls.config_directory, "crmd.conf")
        with open(path, "w") as config:
            config.write("rate-limit = 2/min\nrate-burst = 3\n")
        cls.server_args = ("--config", path)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.config_directory, ignore_errors=True)

    def test_the_files_defaults_apply(self):
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(("default", 3, 90, 2), parse_headers(headers)[:4])
