"""test_gdpr.py - GET contacts/{id}/export and POST contacts/{id}/erase: the export holds
everything about the person; erasure removes the personal data everywhere (record, search,
interactions, tasks, opportunities, audit before/after, segment memberships, stored
Idempotency-Key answers) and, once crmd's background purge has merged the full-text indexes
(or after `crmctl gdpr purge`), no byte of a unique marker is left in the database file or
its WAL, while consent, source and the anonymous revenue stay
(analytics totals unchanged); permissions (delete scope), If-Match, bodies, the audit
entry of the erasure, and crmctl gdpr export/erase."""
import json
import os
import sqlite3
import time
import urllib.parse

import harness

MARKER = "zqxgdpr7marker"       # the person to erase: in names, email, bodies, custom, ...
KEEP = "zqxkeep9control"        # another person: must survive (proves the byte check works)


sql_rows = harness.sql_rows


def pending_purges(db):
    """The setting gdpr.purge_pending: [] when no erasure waits for a purge."""
    return sql_rows(db, "SELECT value FROM settings WHERE key = 'gdpr.purge_pending'")


def traces(data, needle):
    """Where `needle` occurs in `data`, with a little context (for failure messages)."""
    found, start = [], 0
    while len(found) < 5:
        index = data.find(needle, start)
        if index < 0:
            break
        found.append((index, data[max(0, index - 60):index + len(needle) + 30]))
        start = index + 1
    return found


def file_bytes(path):
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as handle:
        return handle.read()


class GdprTestCase(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.manager_id, cls.manager_key = cls.make_user("manager@example.com", "manager",
                                                        team="east")
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        cls.west_id, cls.west_key = cls.make_user("west@example.com", "manager", team="west")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")

    def post(self, resource, body, key=None, headers=None, expect=201):
        status, _, record = self.api("POST", "/api/v1/" + resource, body,
                                     key=key or self.admin_key, headers=headers)
        self.assertEqual(expect, status, record)
        return record

    def person(self, word, key=None):
        """A contact with `word` in every personal field, and a history around it."""
        company = self.post("companies", {"name": "Works Ltd"})
        contact = self.post("contacts", {
            "first_name": word.capitalize(), "last_name": word + "son",
            "email": word + "@mail.example", "phone": "+1 555 " + word, "title": word + " lead",
            "company_id": company["id"], "tags": [word], "source": "fair 2026",
            "consent": {"email": True}, "external_id": "ext-" + word,
            "custom": {"note": word + " likes tea"}}, key=key,
            headers={"Idempotency-Key": "create-%d" % len(word)})
        path = "/api/v1/contacts/%d" % contact["id"]
        status, _, _ = self.api("PATCH", path, {"title": "Chief " + word}, key=key or self.admin_key)
        self.assertEqual(200, status)
        notes = [self.post("interactions", {"contact_id": contact["id"], "kind": kind,
                                            "subject": "About " + word,
                                            "body": "Met %s at the fair.\n%s" % (word, word)})
                 for kind in ("note", "call", "email")]
        status, _, _ = self.api("PATCH", "/api/v1/interactions/%d" % notes[0]["id"],
                                {"outcome": word + " agreed"}, key=self.admin_key)
        self.assertEqual(200, status)
        status, _, _ = self.api("DELETE", "/api/v1/interactions/%d" % notes[2]["id"],
                                key=self.admin_key)
        self.assertEqual(204, status)
        opportunity = self.post("opportunities", {"name": "Deal with " + word,
                                                  "contact_id": contact["id"], "stage": "lost",
                                                  "lost_reason": word + " said no",
                                                  "amount_cents": 50000})
        won = self.post("opportunities", {"name": word + " renewal", "contact_id": contact["id"],
                                          "stage": "won", "amount_cents": 70000})
        self.post("tasks", {"title": "Call " + word, "contact_id": contact["id"]})
        self.post("tasks", {"title": "Quote for " + word, "opportunity_id": opportunity["id"]})
        purchases = [self.post("purchases", {"contact_id": contact["id"], "amount_cents": cents,
                                             "reference": "order " + word,
                                             "opportunity_id": won["id"] if cents == 70000
                                             else None})
                     for cents in (1999, 70000)]
        segment = self.post("segments", {"name": "Fair visitors", "kind": "static"})
        status, _, _ = self.api("POST", "/api/v1/segments/%d/members" % segment["id"],
                                {"contact_ids": [contact["id"]]}, key=self.admin_key)
        self.assertEqual(200, status)
        return {"contact": contact, "company": company, "notes": notes, "segment": segment,
                "opportunities": [opportunity, won], "purchases": purchases}

    def wait_for_background_purge(self, timeout=30.0):
        """Polls (bounded) until crmd's checkpointer thread has purged every erasure."""
        deadline = time.monotonic() + timeout
        while pending_purges(self.server.db_path):
            self.assertLess(time.monotonic(), deadline, "no background purge after the erasure")
            time.sleep(0.2)

    def assert_no_trace(self, db, vacuum):
        """No byte of the marker in the database file and its WAL (after a VACUUM and a
        checkpoint with `vacuum`), the other person's still there, and consistent files."""
        if vacuum:
            connection = sqlite3.connect(db)
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
        data = file_bytes(db) + file_bytes(db + "-wal")
        for needle in (MARKER, MARKER.upper(), MARKER.capitalize()):
            self.assertEqual([], traces(data, needle.encode()), "left in the file")
        self.assertIn(KEEP.encode(), data)
        self.assertEqual([("ok",)], sql_rows(db, "PRAGMA integrity_check"))
        self.assertEqual([], sql_rows(db, "PRAGMA foreign_key_check"))
        # the full-text indexes are consistent with their tables
        for table in ("contacts_fts", "interactions_fts", "tasks_fts", "opportunities_fts"):
            sql_rows(db, "INSERT INTO %s (%s) VALUES ('integrity-check')" % (table, table))


class GdprEraseTest(GdprTestCase):
    def revenue(self):
        status, _, summary = self.api("GET", "/api/v1/analytics/summary", key=self.admin_key)
        self.assertEqual(200, status, summary)
        figures = (summary["historical_ltv_cents"], summary["purchases"], summary["customers"],
                   summary["this_period"]["revenue_cents"])
        total = sql_rows(self.server.db_path, "SELECT count(*), sum(amount_cents) FROM purchases")
        status, _, pipeline = self.api("GET", "/api/v1/pipeline", key=self.admin_key)
        return figures, total, [(s["stage"], s["count"], s["amount_cents"])
                                for s in pipeline["stages"]]

    def test_erasure_leaves_no_trace(self):
        target = self.person(MARKER)
        keep = self.person(KEEP)
        contact_id = target["contact"]["id"]
        before = self.revenue()
        status, _, found = self.api("GET", "/api/v1/contacts?q=" + MARKER, key=self.admin_key)
        self.assertEqual([contact_id], [c["id"] for c in found["data"]])
        audit_ids = [row[0] for row in sql_rows(self.server.db_path,
                                                "SELECT id FROM audit_log ORDER BY id")]

        status, headers, body = self.api("POST", "/api/v1/contacts/%d/erase" % contact_id,
                                         key=self.admin_key)
        self.assertEqual(204, status, body)
        # the audit log is redacted, never cut: every entry stays under its id (so no id is
        # ever handed out again), and the erase entry comes after them all
        audit_after = [row[0] for row in sql_rows(self.server.db_path,
                                                  "SELECT id FROM audit_log ORDER BY id")]
        self.assertEqual(audit_ids, audit_after[:len(audit_ids)])
        self.assertGreater(len(audit_after), len(audit_ids))

        # the record: anonymous, consent and source kept, version up
        status, _, erased = self.api("GET", "/api/v1/contacts/%d" % contact_id, key=self.admin_key)
        self.assertEqual(200, status)
        for field in ("first_name", "last_name", "email", "phone", "title", "company_id",
                      "external_id"):
            self.assertIsNone(erased[field], field)
        self.assertEqual(([], {}), (erased["tags"], erased["custom"]))
        self.assertEqual("fair 2026", erased["source"])
        self.assertTrue(erased["consent"]["email"])
        self.assertEqual(target["contact"]["version"] + 2, erased["version"])
        # gone from lists and searches, everywhere
        for path in ("/api/v1/contacts?limit=500", "/api/v1/contacts?q=" + MARKER,
                     "/api/v1/interactions?q=" + MARKER, "/api/v1/contacts?tag=" + MARKER,
                     "/api/v1/contacts/external/ext-" + MARKER):
            status, _, page = self.api("GET", path, key=self.admin_key)
            self.assertNotIn(MARKER, json.dumps(page), path)
            if status == 200 and "data" in page:
                self.assertNotIn(contact_id, [r.get("id") for r in page["data"]], path)
        status, _, page = self.api("GET", "/api/v1/contacts?q=" + KEEP, key=self.admin_key)
        self.assertEqual([keep["contact"]["id"]], [c["id"] for c in page["data"]])
        # everything about the person is anonymous, and the revenue is the same
        status, _, document = self.api("GET", "/api/v1/contacts/%d/export" % contact_id,
                                       key=self.admin_key)
        self.assertEqual(200, status)
        self.assertNotIn(MARKER, json.dumps(document))
        self.assertIsNotNone(document["contact"]["erased_at"])
        self.assertEqual(2, len(document["purchases"]))
        self.assertEqual([], document["segments"])
        status, _, audit = self.api("GET", "/api/v1/audit?limit=500", key=self.admin_key)
        self.assertNotIn(MARKER, json.dumps(audit))
        self.assertIn(KEEP, json.dumps(audit))
        erase = [e for e in audit["data"] if e["action"] == "erase"]
        self.assertEqual(1, len(erase))
        self.assertEqual((self.admin_id, "api", "contacts", contact_id, None),
                         (erase[0]["user_id"], erase[0]["actor"], erase[0]["entity"],
                          erase[0]["entity_id"], erase[0]["before"]))
        self.assertEqual((2, 2, 2), (erase[0]["after"]["interactions"],
                                     erase[0]["after"]["purchases_kept"],
                                     erase[0]["after"]["opportunities"]))
        self.assertEqual(before, self.revenue())
        timeline = self.api("GET", "/api/v1/contacts/%d/timeline" % contact_id,
                            key=self.admin_key)[2]
        self.assertNotIn(MARKER, json.dumps(timeline))
        # a repeated POST with the Idempotency-Key of the contact's creation creates anew
        # rather than replaying the stored answer with the personal data
        status, _, replay = self.api("POST", "/api/v1/contacts", {"first_name": "Someone"},
                                     key=self.admin_key,
                                     headers={"Idempotency-Key": "create-%d" % len(MARKER)})
        self.assertEqual(201, status, replay)
        self.assertNotIn(MARKER, json.dumps(replay))

        # the files: crmd merges the erased words out of the full-text indexes itself soon
        # after the erasure (no crmctl gdpr purge); then no byte of the marker is left after
        # a WAL checkpoint and a VACUUM (the recipe of the issue), the other person's are
        self.wait_for_background_purge()
        self.server.stop()
        self.assert_no_trace(self.server.db_path, vacuum=True)
        self.server.start()
        status, _, page = self.api("GET", "/api/v1/contacts?q=" + KEEP, key=self.admin_key)
        self.assertEqual([keep["contact"]["id"]], [c["id"] for c in page["data"]])

class GdprPurgeCommandTest(GdprTestCase):
    def test_crmctl_purge(self):
        """crmctl gdpr purge does the same merge (offline here: no background purge runs),
        truncates the WAL and counts the pending erasures down."""
        target = self.person(MARKER)
        self.person(KEEP)
        self.server.stop()
        db = self.server.db_path
        self.crmctl("gdpr", "erase", str(target["contact"]["id"]))
        self.assertEqual([("1",)], pending_purges(db))
        result = self.crmctl("gdpr", "purge")
        self.assertIn("merged the full-text index interactions_fts", result.stdout)
        self.assertIn("purged after 1 erasure in", result.stdout)
        self.assertIn("write-ahead log is truncated", result.stdout)
        self.assertEqual([], pending_purges(db))
        self.assert_no_trace(db, vacuum=False)
        result = self.crmctl("gdpr", "purge", "--vacuum")
        self.assertIn("vacuumed the database", result.stdout)
        self.assertIn("purged after 0 erasures in", result.stdout)
        self.assert_no_trace(db, vacuum=False)
        self.server.start()


class GdprExportTest(GdprTestCase):
    def test_export_holds_everything_about_the_person(self):
        made = self.person("alicia")
        contact_id = made["contact"]["id"]
        status, headers, document = self.api("GET", "/api/v1/contacts/%d/export" % contact_id,
                                             key=self.admin_key)
        self.assertEqual(200, status, document)
        self.assertEqual("no-store", headers.get("cache-control"))
        self.assertIn("attachment", headers.get("content-disposition", ""))
        self.assertEqual("crm-gdpr-export/1", document["format"])
        self.assertEqual(contact_id, document["contact"]["id"])
        self.assertEqual("Chief alicia", document["contact"]["title"])
        self.assertIsNone(document["contact"]["erased_at"])
        self.assertEqual(made["company"]["id"], document["company"]["id"])
        self.assertEqual([made["notes"][0]["id"], made["notes"][1]["id"]],
                         [i["id"] for i in document["interactions"]])
        self.assertEqual({"Call alicia", "Quote for alicia"},
                         {t["title"] for t in document["tasks"]})
        self.assertEqual(2, len(document["opportunities"]))
        lost = document["opportunities"][0]
        self.assertEqual(["lost"], [c["to_stage"] for c in lost["stage_changes"]])
        self.assertEqual([1999, 70000], sorted(p["amount_cents"] for p in document["purchases"]))
        self.assertEqual([made["segment"]["id"]], [s["segment_id"] for s in document["segments"]])
        audit = document["audit"]
        self.assertEqual(sorted(e["id"] for e in audit), [e["id"] for e in audit])
        kinds = {(e["entity"], e["action"]) for e in audit}
        for expected in (("contacts", "create"), ("contacts", "update"),
                         ("interactions", "create"), ("interactions", "update"),
                         ("interactions", "delete"), ("opportunities", "create"),
                         ("tasks", "create"), ("purchases", "create")):
            self.assertIn(expected, kinds)
        # the other contact's records are not in it
        other = self.post("contacts", {"first_name": "Bystander"})
        self.post("interactions", {"contact_id": other["id"], "kind": "note", "body": "x"})
        status, _, again = self.api("GET", "/api/v1/contacts/%d/export" % contact_id,
                                    key=self.admin_key)
        self.assertEqual(len(document["audit"]), len(again["audit"]))
        self.assertNotIn("Bystander", json.dumps(again))

    def test_crmctl_export_and_erase(self):
        made = self.person("cecilia")
        contact_id = str(made["contact"]["id"])
        document = json.loads(self.crmctl("gdpr", "export", contact_id).stdout)
        self.assertEqual("cecilia@mail.example", document["contact"]["email"])
        result = self.crmctl("gdpr", "erase", contact_id)
        self.assertIn("erased contact " + contact_id, result.stdout)
        document = json.loads(self.crmctl("gdpr", "export", contact_id).stdout)
        self.assertNotIn("cecilia", json.dumps(document).lower())
        erase = [e for e in document["audit"] if e["action"] == "erase"][0]
        self.assertEqual((None, "crmctl"), (erase["user_id"], erase["actor"]))
        for args in (["gdpr", "erase", "999999"], ["gdpr", "export", "999999"]):
            self.assertEqual(1, self.crmctl(*args, check=False).returncode)
        for args in (["gdpr", "erase"], ["gdpr", "erase", "x"], ["gdpr", "export", "1", "2"],
                     ["gdpr", "purge", "--bogus"]):
            self.assertEqual(2, self.crmctl(*args, check=False).returncode, args)


class GdprPermissionsTest(GdprTestCase):
    def test_who_may_export_and_erase(self):
        east = self.post("contacts", {"first_name": "East", "owner_id": self.rep_id})
        west = self.post("contacts", {"first_name": "West", "owner_id": self.west_id})
        for key in (self.rep_key, self.viewer_key):
            for contact in (east, west):
                self.assertProblem(self.api("GET", "/api/v1/contacts/%d/export" % contact["id"],
                                            key=key), 403)
                self.assertProblem(self.api("POST", "/api/v1/contacts/%d/erase" % contact["id"],
                                            key=key), 403)
        # a manager: the team's contacts, not another team's
        self.assertProblem(self.api("POST", "/api/v1/contacts/%d/erase" % west["id"],
                                    key=self.manager_key), 403)
        status, _, _ = self.api("GET", "/api/v1/contacts/%d/export" % east["id"],
                                key=self.manager_key)
        self.assertEqual(200, status)
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % east["id"],
                                key=self.manager_key)
        self.assertEqual(204, status)
        self.assertEqual("West", self.api("GET", "/api/v1/contacts/%d" % west["id"],
                                          key=self.admin_key)[2]["first_name"])
        # read-only keys, no credentials, unknown records
        _, read_only = self.make_user("ro@example.com", "admin", read_only=True)
        self.assertProblem(self.api("POST", "/api/v1/contacts/%d/erase" % west["id"],
                                    key=read_only), 403)
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % west["id"])
        self.assertEqual(401, status)
        for path in ("/api/v1/contacts/999999/export", "/api/v1/contacts/abc/export"):
            self.assertProblem(self.api("GET", path, key=self.admin_key), 404)
        self.assertProblem(self.api("POST", "/api/v1/contacts/999999/erase", key=self.admin_key),
                           404)

    def test_if_match_and_bodies(self):
        contact = self.post("contacts", {"first_name": "Versioned"})
        path = "/api/v1/contacts/%d/erase" % contact["id"]
        self.assertProblem(self.api("POST", path, key=self.admin_key,
                                    headers={"If-Match": '"7"'}), 412)
        self.assertProblem(self.api("POST", path, key=self.admin_key,
                                    headers={"If-Match": "x"}), 400)
        self.assertProblem(self.api("POST", path, {"reason": "asked"}, key=self.admin_key), 422)
        self.assertProblem(self.api("POST", path, key=self.admin_key, raw=b"nope",
                                    content_type="text/plain"), 415)
        self.assertEqual("Versioned", self.api("GET", "/api/v1/contacts/%d" % contact["id"],
                                               key=self.admin_key)[2]["first_name"])
        status, _, _ = self.api("POST", path, {}, key=self.admin_key,
                                headers={"If-Match": '"1"'})
        self.assertEqual(204, status)
        # erasing again is harmless
        status, _, _ = self.api("POST", path, key=self.admin_key)
        self.assertEqual(204, status)
