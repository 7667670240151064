"""test_trusted_proxy.py - the client address behind a reverse proxy (crmd --trusted-proxy).

Without the option X-Forwarded-For is ignored: a client cannot choose the address that the
login throttle counts (nor the one in the access log). With --trusted-proxy 127.0.0.1 (the
test client plays the proxy) the right-most X-Forwarded-For entry that is not a trusted
proxy is the client: failed logins from different forwarded addresses are throttled apart.
"""
import http.client
import json
import os
import sqlite3
import subprocess
import time

import harness

LOGIN = "/api/v1/auth/login"


sql = harness.sql_run


class ProxyTestCase(harness.ServerTestCase):
    def setUp(self):
        sql(self.server.db_path, "DELETE FROM login_failures")

    def failed_login(self, forwarded, email="nobody@example.com", password="wrong"):
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        return self.api("POST", LOGIN, {"email": email, "password": password}, headers=headers)

    def address_subjects(self):
        with sqlite3.connect(self.server.db_path) as connection:
            rows = connection.execute("SELECT subject, count(*) FROM login_failures"
                                      " WHERE subject LIKE 'address:%' GROUP BY subject")
            return dict(rows.fetchall())

    def fill_address(self, address, count=50):
        """`count` recent failures of `address`: the address limit (50 in 15 min)."""
        now = int(time.time())
        with sqlite3.connect(self.server.db_path) as connection:
            connection.executemany("INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)",
                                   [("address:" + address, now - 100 + i) for i in range(count)])

    def access_log_clients(self, path_marker):
        """The client= values of the access log lines whose path contains `path_marker`."""
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = [line for line in list(self.server.log) if path_marker in line]
            if lines:
                return [part.split("=", 1)[1] for line in lines for part in line.split()
                        if part.startswith("client=")]
            time.sleep(0.05)
        return []


class DirectClientTest(ProxyTestCase):
    """No --trusted-proxy: the peer's address is the client, whatever the header says."""

    def test_a_spoofed_forwarded_for_does_not_change_the_throttled_address(self):
        self.assertEqual(401, self.failed_login("203.0.113.7")[0])
        self.assertEqual(401, self.failed_login("198.51.100.1, 203.0.113.8")[0])
        self.assertEqual({"address:127.0.0.1": 2}, self.address_subjects())

    def test_a_throttled_client_cannot_escape_with_another_forwarded_address(self):
        self.fill_address("127.0.0.1")
        for forwarded in ("203.0.113.9", "127.0.0.2", "::1"):
            status, headers, _ = self.failed_login(forwarded)
            self.assertEqual(429, status, forwarded)
            self.assertIn("retry-after", headers)
        self.assertEqual({"address:127.0.0.1": 50}, self.address_subjects())

    def test_the_session_and_the_access_log_have_the_peer_address(self):
        status, _, _ = self.api("POST", LOGIN, {"email": self.admin_email,
                                                "password": self.admin_password},
                                headers={"X-Forwarded-For": "203.0.113.10"})
        self.assertEqual(200, status)
        rows = harness.sql_rows(self.server.db_path, "SELECT DISTINCT client_address FROM sessions")
        self.assertEqual([("127.0.0.1",)], rows)
        self.api("GET", "/healthz?direct-log-probe", headers={"X-Forwarded-For": "203.0.113.11"})
        self.assertEqual(["127.0.0.1"], self.access_log_clients("/healthz")[-1:])


class TrustedProxyTest(ProxyTestCase):
    """--trusted-proxy 127.0.0.1: the test client is the proxy."""

    server_args = ("--trusted-proxy", "127.0.0.1,::1")

    def test_failures_from_different_forwarded_addresses_are_throttled_apart(self):
        self.assertEqual(401, self.failed_login("198.51.100.1")[0])
        self.assertEqual(401, self.failed_login("198.51.100.2")[0])
        self.assertEqual(401, self.failed_login("198.51.100.2")[0])
        self.assertEqual({"address:198.51.100.1": 1, "address:198.51.100.2": 2},
                         self.address_subjects())
        # One forwarded address at its limit is throttled; the others and the proxy are not.
        self.fill_address("198.51.100.1", 49)
        self.assertEqual(429, self.failed_login("198.51.100.1")[0])
        self.assertEqual(401, self.failed_login("198.51.100.2")[0])
        self.assertEqual(200, self.api("POST", LOGIN, {"email": self.admin_email,
                                                       "password": self.admin_password},
                                       headers={"X-Forwarded-For": "198.51.100.3"})[0])
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT client_address FROM sessions ORDER BY id DESC LIMIT 1")
        self.assertEqual([("198.51.100.3",)], rows)

    def test_the_right_most_untrusted_entry_is_the_client(self):
        # A client behind the proxy wrote the left entries itself: they do not count.
        self.failed_login("6.6.6.6, 198.51.100.4")
        # Several proxies: trusted entries on the right are skipped.
        self.failed_login("6.6.6.6, 198.51.100.5, 127.0.0.1, ::1")
        # Several headers are one list, in order.
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        body = json.dumps({"email": "x@example.com", "password": "wrong"}).encode()
        connection.putrequest("POST", LOGIN)
        for name, value in (("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))),
                            ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.6")):
            connection.putheader(name, value)
        connection.endheaders(body)
        self.assertEqual(401, connection.getresponse().status)
        connection.close()
        self.assertEqual({"address:198.51.100.4": 1, "address:198.51.100.5": 1,
                          "address:198.51.100.6": 1}, self.address_subjects())

    def test_forms_of_addresses_are_normalised_and_garbage_falls_back(self):
        self.failed_login("[2001:DB8::1]:4711")
        self.failed_login("2001:db8:0:0::1")
        self.failed_login("198.51.100.7:8080")
        self.failed_login("not-an-address")   # not written by a proxy: the proxy's address
        self.failed_login("")                 # empty: the same
        self.failed_login(None)               # absent: the proxy itself is the client
        self.assertEqual({"address:2001:db8::1": 2, "address:198.51.100.7": 1,
                          "address:127.0.0.1": 3}, self.address_subjects())

    def test_the_access_log_has_the_forwarded_client(self):
        self.api("GET", "/healthz?trusted-log-probe", headers={"X-Forwarded-For": "198.51.100.8"})
        self.assertEqual(["198.51.100.8"], self.access_log_clients("/healthz")[-1:])


class ConfigurationTest(harness.ServerTestCase):
    """The option is a key of the configuration file; bad values stop crmd."""

    def test_config_file_key(self):
        path = os.path.join(self.server.directory, "proxy.conf")
        with open(path, "w") as config:
            config.write("trusted-proxy = 127.0.0.1\n")
        server = harness.Server(db_path=self.server.db_path, extra_args=["--config", path])
        server.start()
        try:
            sql(server.db_path, "DELETE FROM login_failures")
            server.request("POST", LOGIN, {"email": "n@example.com", "password": "wrong"},
                           headers={"X-Forwarded-For": "192.0.2.44"})
            rows = harness.sql_rows(server.db_path, "SELECT subject FROM login_failures"
                                    " WHERE subject LIKE 'address:%'")
            self.assertEqual([("address:192.0.2.44",)], rows)
        finally:
            server.stop()
            server.cleanup()

    def test_bad_values_are_usage_errors(self):
        for value in ("", "localhost", "127.0.0.1,", "10.0.0.0/8", ",".join(["127.0.0.1"] * 33)):
            process = subprocess.run([harness.CRMD, "--db", self.server.db_path,
                                      "--trusted-proxy", value, "--listen", "127.0.0.1:0"],
                                     capture_output=True, text=True, timeout=30, env=harness.ENV)
            self.assertEqual(2, process.returncode, (value, process.stderr))
            self.assertIn("--trusted-proxy", process.stderr)
