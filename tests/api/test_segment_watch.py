"""test_segment_watch.py - membership events of dynamic segments (include/crm/segment_watch.h):
crmd's periodic pass (here every second) takes a baseline that emits nothing, then announces
each contact that enters or leaves a dynamic segment (edits of contacts, a PATCH of the rule)
as segment.member_added / member_removed, signed and in the static segments' payload shape,
to a real receiver on loopback; without a subscriber it emits and keeps nothing."""
import json
import subprocess
import time

import harness
from test_webhooks import RETRY_ARGS, WebhookTestCase

SEGMENTS = "/api/v1/segments"
CONTACTS = "/api/v1/contacts"
MEMBER_EVENTS = ("segment.member_added", "segment.member_removed")


class SegmentWatchTest(WebhookTestCase):
    server_args = RETRY_ARGS + ("--segment-watch-interval", "1")

    # ---- helpers

    def state(self, segment_id):
        """(baseline_at, checked_at) of the segment's kept set, or None."""
        rows = harness.sql_rows(self.server.db_path, "SELECT baseline_at, checked_at FROM "
                                "segment_watch_state WHERE segment_id = ?", segment_id)
        return rows[0] if rows else None

    def kept(self, segment_id):
        return sorted(row[0] for row in harness.sql_rows(
            self.server.db_path, "SELECT contact_id FROM segment_watch_members "
            "WHERE segment_id = ?", segment_id))

    def passes(self):
        """crmd_segment_watch_passes_total: the passes run to their end so far."""
        status, _, text = self.api("GET", "/metrics")
        self.assertEqual(200, status, text)
        (value,) = [line.split()[1] for line in text.splitlines()
                    if line.startswith("crmd_segment_watch_passes_total ")]
        return int(value)

    def wait_baseline(self, segment_id, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(segment_id)
            if state and state[0]:
                return state
            time.sleep(0.1)
        self.fail("no baseline of segment %d after %d s" % (segment_id, timeout))

    def wait_passes(self, segment_id, count=2, timeout=15):
        """Waits until `count` more passes completed over the segment, so that one of them
        started after the changes made before this call."""
        seen = self.state(segment_id)
        deadline = time.monotonic() + timeout
        while count > 0:
            self.assertLess(time.monotonic(), deadline, "the pass does not come round")
            time.sleep(0.1)
            now = self.state(segment_id)
            if now is not None and now != seen:
                seen = now
                count -= 1

    def member_events(self, receiver, segment_id):
        """[(event, contact_id)] the receiver got about the segment, in arrival order."""
        return [(event, body["data"]["contact_id"]) for event, body in receiver.events()
                if event in MEMBER_EVENTS and body["data"].get("segment_id") == segment_id]

    def wait_member_events(self, receiver, segment_id, count, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.member_events(receiver, segment_id)
            if len(events) >= count:
                return events
            time.sleep(0.1)
        return self.member_events(receiver, segment_id)

    def contact(self, **fields):
        return self.create(CONTACTS, fields)

    def patch(self, path, body):
        status, _, record = self.api("PATCH", path, body, key=self.admin_key)
        self.assertEqual(200, status, record)
        return record

    # ---- tests

    def test_baseline_then_entering_and_leaving_contacts(self):
        webhook, receiver = self.hook(events=list(MEMBER_EVENTS))
        stays = self.contact(first_name="Stays", tags=["watch-a"], lifecycle="customer")
        leaves = self.contact(first_name="Leaves", tags=["watch-a"], lifecycle="customer")
        enters = self.contact(first_name="Enters", tags=["watch-a"], lifecycle="lead")
        self.contact(first_name="Other", tags=["watch-other"], lifecycle="customer")
        segment = self.create(SEGMENTS, {"name": "Watched customers", "rule": {"all": [
            {"field": "tags", "op": "contains", "value": "watch-a"},
            {"field": "lifecycle", "op": "eq", "value": "customer"}]}})
        self.assertEqual("dynamic", segment["kind"])
        self.wait_baseline(segment["id"])
        self.assertEqual(sorted([stays["id"], leaves["id"]]), self.kept(segment["id"]))
        self.wait_passes(segment["id"])
        self.assertEqual([], self.member_events(receiver, segment["id"]),
                         "the baseline announced members")

        self.patch("%s/%d" % (CONTACTS, enters["id"]), {"lifecycle": "customer"})
        self.patch("%s/%d" % (CONTACTS, leaves["id"]), {"lifecycle": "churned"})
        events = self.wait_member_events(receiver, segment["id"], 2)
        self.assertEqual(sorted([("segment.member_added", enters["id"]),
                                 ("segment.member_removed", leaves["id"])]), sorted(events))
        self.assertEqual(sorted([stays["id"], enters["id"]]), self.kept(segment["id"]))
        for headers, body, _ in receiver.wait_for(2):
            self.verify_signature(webhook["secret"], headers, body)
            payload = json.loads(body)
            self.assertEqual(headers["x-crm-event"], payload["event"])
            self.assertEqual({"id", "event", "occurred_at", "data"}, set(payload))
            self.assertEqual({"segment_id", "contact_id"}, set(payload["data"]))

        # nothing more while nothing changes: no event twice
        self.wait_passes(segment["id"])
        self.assertEqual(2, len(self.member_events(receiver, segment["id"])))

        # the static segments' events have the same shape
        static = self.create(SEGMENTS, {"name": "Hand-picked", "kind": "static"})
        status, _, _ = self.api("POST", "%s/%d/members" % (SEGMENTS, static["id"]),
                                {"contact_ids": [stays["id"]]}, key=self.admin_key)
        self.assertEqual(200, status)
        [(event, contact_id)] = self.wait_member_events(receiver, static["id"], 1)
        self.assertEqual(("segment.member_added", stays["id"]), (event, contact_id))
        dynamic_body = [body for event, body in receiver.events()
                        if body["data"].get("segment_id") == segment["id"]][0]
        static_body = [body for event, body in receiver.events()
                       if body["data"].get("segment_id") == static["id"]][0]
        self.assertEqual(set(dynamic_body), set(static_body))
        self.assertEqual(set(dynamic_body["data"]), set(static_body["data"]))
        # a static segment has no kept set: it announces at once
        self.assertIsNone(self.state(static["id"]))

    def test_rule_change_is_announced(self):
        _, receiver = self.hook(events=["*"])
        lead = self.contact(first_name="Lead", tags=["watch-b"], lifecycle="lead")
        customer = self.contact(first_name="Customer", tags=["watch-b"], lifecycle="customer")
        segment = self.create(SEGMENTS, {"name": "Watched leads", "rule": {"all": [
            {"field": "tags", "op": "contains", "value": "watch-b"},
            {"field": "lifecycle", "op": "eq", "value": "lead"}]}})
        self.wait_baseline(segment["id"])
        self.assertEqual([lead["id"]], self.kept(segment["id"]))
        self.patch("%s/%d" % (SEGMENTS, segment["id"]), {"rule": {"all": [
            {"field": "tags", "op": "contains", "value": "watch-b"},
            {"field": "lifecycle", "op": "in", "value": ["customer"]}]}})
        events = self.wait_member_events(receiver, segment["id"], 2)
        self.assertEqual(sorted([("segment.member_added", customer["id"]),
                                 ("segment.member_removed", lead["id"])]), sorted(events))
        self.wait_passes(segment["id"])
        self.assertEqual(2, len(self.member_events(receiver, segment["id"])))
        # a rule over the computed fields (the scores of the pass's own snapshot)
        self.patch("%s/%d" % (SEGMENTS, segment["id"]), {"rule": {"all": [
            {"field": "tags", "op": "contains", "value": "watch-b"},
            {"field": "ltv_cents", "op": "eq", "value": 0}]}})
        events = self.wait_member_events(receiver, segment["id"], 3)
        self.assertEqual(("segment.member_added", lead["id"]), events[2])
        self.assertEqual(sorted([lead["id"], customer["id"]]), self.kept(segment["id"]))

    def test_deleted_segment_and_contact_leave_no_rows(self):
        _, receiver = self.hook(events=["segment.member_removed"])
        contact = self.contact(first_name="Gone", tags=["watch-c"])
        segment = self.create(SEGMENTS, {"name": "Watched gone", "rule": {
            "field": "tags", "op": "contains", "value": "watch-c"}})
        self.wait_baseline(segment["id"])
        self.assertEqual([contact["id"]], self.kept(segment["id"]))
        status, _, _ = self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]), key=self.admin_key)
        self.assertEqual(204, status)
        self.assertEqual([], self.kept(segment["id"]))  # the cascade, at once
        self.wait_passes(segment["id"])
        # its contact.deleted says it (not subscribed here); no member event for it
        self.assertEqual([], self.member_events(receiver, segment["id"]))
        status, _, _ = self.api("DELETE", "%s/%d" % (SEGMENTS, segment["id"]), key=self.admin_key)
        self.assertEqual(204, status)
        self.assertIsNone(self.state(segment["id"]))

    def test_no_subscriber_no_events_and_nothing_kept(self):
        # an endpoint for other events only: the member events have no subscriber
        _, receiver = self.hook(events=["contact.*"])
        member = self.contact(first_name="Unwatched", tags=["watch-d"])
        segment = self.create(SEGMENTS, {"name": "Unwatched", "rule": {
            "field": "tags", "op": "contains", "value": "watch-d"}})
        deadline = time.monotonic() + 15
        while self.state_count() and time.monotonic() < deadline:
            time.sleep(0.1)  # the sets kept for the tests before are forgotten
        self.assertEqual(0, self.state_count())
        passes = self.passes()
        self.patch("%s/%d" % (CONTACTS, member["id"]), {"tags": ["watch-none"]})
        # two passes end: the second started after the change
        harness.wait_until(lambda: self.passes() >= passes + 2, timeout=15,
                           what="two passes of the segment watch")
        self.assertEqual(0, self.state_count())
        self.assertEqual([], harness.sql_rows(self.server.db_path,
                                              "SELECT contact_id FROM segment_watch_members"))
        self.assertEqual([], harness.sql_rows(
            self.server.db_path, "SELECT id FROM webhook_outbox WHERE event IN (?, ?) AND "
            "json_extract(data, '$.segment_id') = ?", *MEMBER_EVENTS, segment["id"]))
        self.assertEqual([], self.member_events(receiver, segment["id"]))

        # a subscriber appears: a baseline first, then the changes; it goes: all forgotten
        webhook, watcher = self.hook(events=["segment.*"])
        self.wait_baseline(segment["id"])
        self.assertEqual([], self.kept(segment["id"]))
        self.patch("%s/%d" % (CONTACTS, member["id"]), {"tags": ["watch-d"]})
        self.assertEqual([("segment.member_added", member["id"])],
                         self.wait_member_events(watcher, segment["id"], 1))
        status, _, _ = self.api("DELETE", "%s/%d" % (WEBHOOKS_PATH, webhook["id"]),
                                key=self.admin_key)
        self.assertEqual(204, status)
        deadline = time.monotonic() + 15
        while self.state_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(0, self.state_count())
        self.assertEqual([], harness.sql_rows(self.server.db_path,
                                              "SELECT contact_id FROM segment_watch_members"))

    def test_bad_interval_is_refused(self):
        for value in ("0", "-1", "soon", "86401", ""):
            process = subprocess.run([harness.CRMD, "--segment-watch-interval", value,
                                      "--db", self.server.db_path], env=harness.ENV,
                                     capture_output=True, text=True, timeout=30)
            self.assertEqual(2, process.returncode, (value, process.stderr))
            self.assertIn("--segment-watch-interval", process.stderr)
            harness.check_sanitizer_output(process.stderr, "crmd")

    def state_count(self):
        return harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM segment_watch_state")[0][0]


WEBHOOKS_PATH = "/api/v1/webhooks"

if __name__ == "__main__":
    import unittest
    unittest.main()
