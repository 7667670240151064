"""test_cli_rate_limits.py - crmctl role limit and key limit: show, set (--rate N/min|N/s|N/h,
--burst N), clear (--inherit); the stored columns (migration 0019), audit entries, exit codes
(1 for an unknown role or key, 2 for bad options), and a change reaching a running crmd."""
import json

import harness
from test_cli_admin import CliTestCase


class RateLimitCommandsTest(CliTestCase):
    def key_id(self, name):
        return self.query("SELECT id FROM api_keys WHERE name = ?", name)[0][0]

    def test_role_limit_show_set_and_inherit(self):
        self.assertEqual("role rep: rate inherited, burst inherited\n",
                         self.run_ok("role", "limit", "rep").stdout)
        self.assertEqual("role rep: rate 600/min, burst 50\n",
                         self.run_ok("role", "limit", "rep", "--rate", "600/min",
                                     "--burst", "50").stdout)
        self.assertEqual([(600, 50)], self.query(
            "SELECT rate_per_minute, rate_burst FROM roles WHERE name = 'rep'"))
        # one part changes, the other stays
        self.assertEqual("role rep: rate 300/min, burst 50\n",
                         self.run_ok("role", "limit", "rep", "--rate", "5/s").stdout)
        self.assertEqual("role rep: rate 2/min, burst 50\n",
                         self.run_ok("role", "limit", "rep", "--rate", "120/h").stdout)
        self.assertEqual("role rep: rate inherited, burst inherited\n",
                         self.run_ok("role", "limit", "rep", "--inherit").stdout)
        self.assertEqual([(None, None)], self.query(
            "SELECT rate_per_minute, rate_burst FROM roles WHERE name = 'rep'"))
        rows = self.query("SELECT actor, before, after FROM audit_log WHERE entity = 'roles'"
                          " AND action = 'limit' ORDER BY id")
        self.assertEqual(4, len(rows))
        self.assertEqual("crmctl", rows[0][0])
        self.assertEqual({"name": "rep", "rate_per_minute": None, "rate_burst": None},
                         json.loads(rows[0][1]))
        self.assertEqual({"name": "rep", "rate_per_minute": 600, "rate_burst": 50},
                         json.loads(rows[0][2]))

    def test_key_limit_show_set_and_inherit(self):
        self.add_user("k@example.com")
        self.run_ok("key", "create", "--user", "k@example.com", "--name", "integration")
        key_id = str(self.key_id("integration"))
        self.assertEqual("key %s: rate inherited, burst inherited\n" % key_id,
                         self.run_ok("key", "limit", key_id).stdout)
        self.assertEqual("key %s: rate inherited, burst 20\n" % key_id,
                         self.run_ok("key", "limit", key_id, "--burst", "20").stdout)
        self.assertEqual([(None, 20)], self.query(
            "SELECT rate_per_minute, rate_burst FROM api_keys WHERE id = ?", int(key_id)))
        self.run_ok("key", "limit", key_id, "--inherit")
        self.assertEqual([(None, None)], self.query(
            "SELECT rate_per_minute, rate_burst FROM api_keys WHERE id = ?", int(key_id)))
        rows = self.query("SELECT entity_id, after FROM audit_log WHERE entity = 'api_keys'"
                          " AND action = 'limit' ORDER BY id")
        self.assertEqual([(int(key_id), {"rate_per_minute": None, "rate_burst": 20}),
                          (int(key_id), {"rate_per_minute": None, "rate_burst": None})],
                         [(row[0], json.loads(row[1])) for row in rows])

    def test_unknown_role_or_key_exits_1(self):
        self.run_fails(1, "role", "limit", "nobody", "--burst", "5", message="no such role")
        self.run_fails(1, "role", "limit", "Bad Name", message="no such role")
        self.run_fails(1, "key", "limit", "999", "--burst", "5", message="no API key with ID 999")
        self.assertEqual([], self.query("SELECT 1 FROM audit_log WHERE action = 'limit'"))

    def test_bad_options_exit_2(self):
        self.run_fails(2, "role", "limit", "rep", "--rate", "0/min", message="--rate")
        self.run_fails(2, "role", "limit", "rep", "--rate", "10/day", message="--rate")
        self.run_fails(2, "role", "limit", "rep", "--rate", "fast", message="--rate")
        self.run_fails(2, "role", "limit", "rep", "--burst", "0", message="--burst")
        self.run_fails(2, "role", "limit", "rep", "--burst", "60000001", message="--burst")
        self.run_fails(2, "role", "limit", "rep", "--inherit", "--burst", "3",
                       message="--inherit")
        self.run_fails(2, "role", "limit")
        self.run_fails(2, "key", "limit", "abc")
        self.run_fails(2, "key", "limit", "0")
        self.assertEqual([(None, None)], self.query(
            "SELECT rate_per_minute, rate_burst FROM roles WHERE name = 'rep'"))


class RateLimitRunningServerTest(harness.ServerTestCase):
    def test_a_role_limit_reaches_a_running_server(self):
        _, key = self.make_user("live@example.com", "viewer", key_name="live")
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        self.assertTrue(headers["ratelimit-policy"].startswith('"default";'), headers)
        self.crmctl("role", "create", "trickle", "--from", "viewer")
        self.crmctl("role", "limit", "trickle", "--rate", "1/min", "--burst", "1")
        self.crmctl("user", "set", "live@example.com", "--role", "trickle")
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(200, status)
        self.assertEqual('"role";q=1;w=60', headers["ratelimit-policy"])
        status, headers, _ = self.api("GET", "/api/v1/contacts", key=key)
        self.assertEqual(429, status)
        self.assertIn("retry-after", headers)
