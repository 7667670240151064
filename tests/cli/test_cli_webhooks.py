"""test_cli_webhooks.py - crmctl webhook add|list|remove|private: the same rules as
the API (URL, events, secret, private addresses), the generated secret printed once and
never stored in the audit log, exit codes, --help, and an endpoint added with crmctl while
crmd runs receiving a signed delivery; contacts imported with crmctl are delivered by
crmd and a failed import queues nothing."""
import hashlib
import hmac
import http.server
import json
import os
import re
import sqlite3
import tempfile
import threading
import time
import unittest

import harness


class CliWebhooksTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.directory.name, "crm.db")
        harness.crmctl(self.db, "init")

    def tearDown(self):
        self.directory.cleanup()

    def run_fails(self, status, *args, message=None):
        result = harness.crmctl(self.db, *args, check=False)
        self.assertEqual(status, result.returncode, repr(result))
        self.assertTrue(result.stderr.startswith("crmctl: "), repr(result))
        if status == 1:
            self.assertEqual(1, len(result.stderr.strip().splitlines()), repr(result))
        if message:
            self.assertIn(message, result.stderr)
        return result

    def query(self, statement, *args):
        connection = sqlite3.connect(self.db)
        try:
            return connection.execute(statement, args).fetchall()
        finally:
            connection.close()

    def test_add_list_remove(self):
        added = harness.crmctl(self.db, "webhook", "add", "https://hooks.example.com/crm",
                               "--events", "contact.created, company.*",
                               "--description", "the data warehouse")
        match = re.fullmatch(r"created webhook (\d+)\nsecret (whsec_[0-9a-f]{64})\n", added.stdout)
        self.assertIsNotNone(match, repr(added))
        webhook_id, secret = int(match.group(1)), match.group(2)
        rows = self.query("SELECT url, events, secret, active, description FROM webhooks")
        self.assertEqual([("https://hooks.example.com/crm", '["contact.created","company.*"]',
                           secret, 1, "the data warehouse")], rows)
        given = harness.crmctl(self.db, "webhook", "add", "http://hooks.example.com/all",
                               "--secret", "my-own-secret-123", "--inactive")
        self.assertRegex(given.stdout, r"^created webhook \d+\n$")  # a given secret is not shown
        listed = harness.crmctl(self.db, "webhook", "list").stdout
        self.assertIn("https://hooks.example.com/crm", listed)
        self.assertIn("contact.created,company.*", listed)
        self.assertIn("http://hooks.example.com/all", listed)
        self.assertNotIn(secret, listed)
        self.assertNotIn("my-own-secret-123", listed)
        audit = self.query("SELECT action, actor, before, after FROM audit_log "
                           "WHERE entity = 'webhooks'")
        self.assertEqual(2, len(audit))
        self.assertTrue(all(actor == "crmctl" for _, actor, _, _ in audit))
        self.assertNotIn(secret, json.dumps(audit))
        self.assertNotIn("my-own-secret-123", json.dumps(audit))
        removed = harness.crmctl(self.db, "webhook", "remove", str(webhook_id))
        self.assertEqual("removed webhook %d\n" % webhook_id, removed.stdout)
        self.assertEqual(1, self.query("SELECT count(*) FROM webhooks")[0][0])
        self.run_fails(1, "webhook", "remove", str(webhook_id), message="no webhook")
        self.run_fails(2, "webhook", "remove", "abc")
        self.run_fails(2, "webhook", "remove")

    def test_bad_endpoints_fail(self):
        self.run_fails(1, "webhook", "add", "ftp://example.com/", message="url")
        self.run_fails(1, "webhook", "add", "https://example.com/", "--events", "contact.boom",
                       message="events")
        self.run_fails(1, "webhook", "add", "https://example.com/", "--events", " , ",
                       message="events")
        self.run_fails(1, "webhook", "add", "https://example.com/", "--secret", "short",
                       message="secret")
        self.run_fails(2, "webhook", "add")
        self.run_fails(2, "webhook", "add", "https://example.com/", "--colour", "red")
        self.assertEqual(0, self.query("SELECT count(*) FROM webhooks")[0][0])

    def test_private_addresses_need_the_operator(self):
        self.run_fails(1, "webhook", "add", "http://127.0.0.1:8080/", message="private")
        self.run_fails(1, "webhook", "add", "http://10.0.0.7/", message="private")
        self.run_fails(2, "webhook", "private", "maybe")
        on = harness.crmctl(self.db, "webhook", "private", "on")
        self.assertIn("allowed", on.stdout)
        harness.crmctl(self.db, "webhook", "add", "http://127.0.0.1:8080/")
        self.assertEqual([("true",)], self.query(
            "SELECT value FROM settings WHERE key = 'webhooks.allow_private'"))
        off = harness.crmctl(self.db, "webhook", "private", "off")
        self.assertIn("refused", off.stdout)
        self.run_fails(1, "webhook", "add", "http://127.0.0.1:8080/", message="private")
        self.assertEqual(2, self.query("SELECT count(*) FROM audit_log WHERE entity = 'settings'")[0][0])

    def test_help(self):
        for words in (["webhook", "add"], ["webhook", "list"], ["webhook", "remove"],
                      ["webhook", "private"]):
            result = harness.crmctl(self.db, *words, "--help")
            self.assertIn("usage: crmctl", result.stdout)
        overview = harness.crmctl(self.db, "--help").stdout
        self.assertIn("webhook add", overview)


class CliWebhookDeliveryTest(harness.ServerTestCase):
    """An endpoint added with crmctl while crmd runs gets the events."""

    def test_added_endpoint_receives_signed_events(self):
        received = []
        arrived = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.headers.get("X-CRM-Signature"), body))
                self.send_response(204)
                self.end_headers()
                arrived.set()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.crmctl("webhook", "private", "on")
        added = self.crmctl("webhook", "add", "http://127.0.0.1:%d/in" % server.server_address[1],
                            "--events", "contact.created")
        secret = re.search(r"secret (\S+)", added.stdout).group(1)
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Cli"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        self.assertTrue(arrived.wait(10), "nothing was delivered")
        signature, body = received[0]
        stamp, mac = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", signature).groups()
        self.assertEqual(hmac.new(secret.encode(), stamp.encode() + b"." + body,
                                  hashlib.sha256).hexdigest(), mac)
        self.assertEqual(contact["id"], json.loads(body)["data"]["id"])
        for _ in range(50):  # the result is recorded just after the answer
            listed = self.crmctl("webhook", "list").stdout
            if re.search(r"(?m)^\d+\s+yes\s+0\s+1\s+0\s", listed):
                break
            time.sleep(0.1)
        self.assertRegex(listed, r"(?m)^\d+\s+yes\s+0\s+1\s+0\s")

    def test_contacts_imported_with_crmctl_are_delivered(self):
        received = []
        condition = threading.Condition()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with condition:
                    received.append((self.headers.get("X-CRM-Event"), json.loads(body)))
                    condition.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.crmctl("webhook", "private", "on")
        self.crmctl("webhook", "add", "http://127.0.0.1:%d/in" % server.server_address[1],
                    "--events", "contact.*")
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        outbox = "SELECT count(*) FROM webhook_outbox"
        queued = harness.sql_rows(self.server.db_path, outbox)[0][0]
        bad = os.path.join(directory.name, "bad.csv")
        with open(bad, "w") as f:
            f.write("first_name,email\nGood,good@x.example\nBad,bad-address\n")
        failed = self.crmctl("import", "contacts", bad, check=False)
        self.assertEqual(1, failed.returncode, failed)
        self.assertEqual(queued, harness.sql_rows(self.server.db_path, outbox)[0][0])
        good = os.path.join(directory.name, "good.csv")
        with open(good, "w") as f:
            f.write("first_name,email\nAda,ada@cli-import.example\n"
                    "Grace,grace@cli-import.example\n")
        self.crmctl("import", "contacts", good)
        self.assertEqual(queued + 2, harness.sql_rows(self.server.db_path, outbox)[0][0])
        with condition:
            condition.wait_for(lambda: len(received) >= 2, 10)
            events = list(received)
        self.assertEqual(["contact.created", "contact.created"], [e for e, _ in events])
        self.assertEqual({"ada@cli-import.example", "grace@cli-import.example"},
                         {body["data"]["email"] for _, body in events})
        again = os.path.join(directory.name, "again.csv")
        with open(again, "w") as f:
            f.write("first_name,email\nAdele,ada@cli-import.example\n")
        self.crmctl("import", "contacts", again, "--dedupe", "email")
        with condition:
            condition.wait_for(lambda: len(received) >= 3, 10)
            events = list(received)
        self.assertEqual("contact.updated", events[2][0])
        self.assertEqual("Adele", events[2][1]["data"]["first_name"])


if __name__ == "__main__":
    unittest.main()
