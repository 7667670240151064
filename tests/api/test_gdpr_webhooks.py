"""test_gdpr_webhooks.py - erasing a contact also removes the webhook events that carry its
personal data (the outbox keeps payloads for up to 30 days), so nothing about the person is
sent or kept there after the erasure."""
import sqlite3

import harness


class GdprWebhookOutboxTest(harness.ServerTestCase):
    MARKER = "Zqxmarker"

    def outbox_rows_with_marker(self):
        with sqlite3.connect(self.server.db_path) as connection:
            return connection.execute(
                "SELECT count(*) FROM webhook_outbox WHERE data LIKE ? OR previous LIKE ?",
                ("%" + self.MARKER + "%", "%" + self.MARKER + "%")).fetchone()[0]

    def test_erase_removes_outbox_events_about_the_person(self):
        status, _, _ = self.api("POST", "/api/v1/webhooks",
                                {"url": "https://hooks.example.com/crm", "events": ["*"]},
                                key=self.admin_key)
        self.assertEqual(201, status)
        status, _, contact = self.api("POST", "/api/v1/contacts",
                                      {"first_name": self.MARKER, "email": "z@example.com"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        status, _, _ = self.api("POST", "/api/v1/interactions",
                                {"contact_id": contact["id"], "kind": "note",
                                 "subject": "about " + self.MARKER}, key=self.admin_key)
        self.assertEqual(201, status)
        self.assertGreater(self.outbox_rows_with_marker(), 0)
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % contact["id"],
                                key=self.admin_key, raw=b"{}")
        self.assertEqual(204, status)
        self.assertEqual(0, self.outbox_rows_with_marker())
