"""test_gdpr_webhooks.py - erasing a contact also removes the webhook events that carry its
personal data (the outbox keeps payloads for up to 30 days), so nothing about the person is
sent or kept there after the erasure; and an erased contact leaves dynamic segments."""
import json
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
        # other systems are told to erase their copies: the id and time, nothing personal
        rows = harness.sql_rows(self.server.db_path, "SELECT data FROM webhook_outbox "
                                "WHERE event = 'contact.erased'")
        self.assertEqual(1, len(rows), rows)
        data = json.loads(rows[0][0])
        self.assertEqual(["erased_at", "id"], sorted(data))
        self.assertEqual(contact["id"], data["id"])


class GdprSegmentsTest(harness.ServerTestCase):
    def test_erased_contact_leaves_dynamic_segments(self):
        rule = {"rule": {"field": "lifecycle", "op": "eq", "value": "churned"}}
        ids = []
        for name in ("Kept", "Gone"):
            status, _, contact = self.api("POST", "/api/v1/contacts",
                                          {"first_name": name, "lifecycle": "churned"},
                                          key=self.admin_key)
            self.assertEqual(201, status)
            ids.append(contact["id"])
        status, _, preview = self.api("POST", "/api/v1/segments/preview", rule, key=self.admin_key)
        self.assertEqual((200, 2), (status, preview["count"]))
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % ids[1],
                                key=self.admin_key, raw=b"{}")
        self.assertEqual(204, status)
        status, _, preview = self.api("POST", "/api/v1/segments/preview", rule, key=self.admin_key)
        self.assertEqual((200, 1), (status, preview["count"]))
        self.assertEqual([ids[0]], [c["id"] for c in preview["sample"]])
