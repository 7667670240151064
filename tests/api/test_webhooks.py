"""test_webhooks.py - outgoing webhooks (include/crm/webhooks.h, webhook_delivery.h): the
/api/v1/webhooks resource with its write-only secret, events written in the change's own
transaction (nothing for a rolled-back change, nothing lost when crmd is killed between the
commit and the send), delivery within a second to a real receiver on loopback with a
signature the test recomputes, retries, giving up, the delivery log and redelivery, and the
refusal of private addresses (literal ones at registration, resolved ones at delivery)."""
import hashlib
import hmac
import http.server
import json
import re
import threading
import time

import harness

WEBHOOKS = "/api/v1/webhooks"
RETRY_ARGS = ("--webhook-retry-delays", "1", "--webhook-retry-for", "3")


class Receiver:
    """A webhook receiver: python's http.server on a free loopback port, in a thread.
    requests: [(headers with lower-case names, body bytes, monotonic time)]. answers:
    statuses to answer first (then 200). block: a threading.Event the handler waits for
    (at most 30 s) before answering, or None. reply_headers: headers sent with every
    answer."""

    def __init__(self, port=0):
        self.requests = []
        self.answers = []
        self.block = None
        self.reply_headers = {}
        self.condition = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.condition:
                    receiver.requests.append((headers, body, time.monotonic()))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    block = receiver.block
                    receiver.condition.notify_all()
                if block is not None:
                    block.wait(30)
                try:
                    self.send_response(status)
                    for name, value in receiver.reply_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait_for(self, count, timeout=10):
        """Waits until `count` requests came (or the timeout); returns them all."""
        with self.condition:
            self.condition.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def events(self):
        """[(X-CRM-Event, parsed body)] of the requests so far."""
        with self.condition:
            return [(headers.get("x-crm-event"), json.loads(body))
                    for headers, body, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


sql_rows = harness.sql_rows


class WebhookTestCase(harness.ServerTestCase):
    """Helpers: endpoints pointing at fresh receivers, removed after each test."""
    server_args = RETRY_ARGS

    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "webhook", "private", "on")

    def hook(self, events=("*",), receiver=None, **fields):
        """Registers an endpoint at a new receiver; returns (webhook as created, receiver)."""
        if receiver is None:
            receiver = Receiver()
            self.addCleanup(receiver.close)
        body = dict({"url": receiver.url(), "events": list(events)}, **fields)
        status, headers, webhook = self.api("POST", WEBHOOKS, body, key=self.admin_key)
        self.assertEqual(201, status, webhook)
        self.addCleanup(self.api, "DELETE", "%s/%d" % (WEBHOOKS, webhook["id"]),
                        key=self.admin_key)
        return webhook, receiver

    def create(self, path, body):
        status, _, record = self.api("POST", path, body, key=self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def deliveries(self, webhook_id, query=""):
        status, _, page = self.api("GET", "%s/%d/deliveries%s" % (WEBHOOKS, webhook_id, query),
                                   key=self.admin_key)
        self.assertEqual(200, status, page)
        return page["data"]

    def wait_deliveries(self, webhook_id, predicate, timeout=15, query=""):
        """Polls the delivery log until predicate(deliveries) holds; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.deliveries(webhook_id, query)
            if predicate(data) or time.monotonic() > deadline:
                return data
            time.sleep(0.1)

    def wait_settled(self, *webhooks, timeout=15):
        """Waits until every delivery queued for these endpoints is finished (none pending
        or being sent). Events are queued in the transaction of their change, so once the
        changes are answered and their deliveries finished, each receiver has everything
        it will get: a test that checks that nothing more came waits for this, not for a
        fixed time."""
        ids = [webhook["id"] for webhook in webhooks]
        marks = ",".join("?" * len(ids))
        harness.wait_until(lambda: sql_rows(
            self.server.db_path, "SELECT count(*) FROM webhook_deliveries WHERE webhook_id IN "
            "(%s) AND status IN ('pending', 'sending')" % marks, *ids)[0][0] == 0,
            timeout=timeout, what="finishing the deliveries of webhooks %s" % ids)

    def verify_signature(self, secret, headers, body):
        match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers.get("x-crm-signature", ""))
        self.assertIsNotNone(match, headers)
        expected = hmac.new(secret.encode(), match.group(1).encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(expected, match.group(2)),
                        "the signature does not verify")
        self.assertLess(abs(time.time() - int(match.group(1))), 300)


class WebhooksTest(WebhookTestCase):
    @classmethod
    def setup_database(cls):
        super().setup_database()
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")

    # ---- the endpoints

    def test_secret_is_shown_once_and_never_again(self):
        webhook, _ = self.hook(events=["contact.created"], description="CRM sync")
        secret = webhook["secret"]
        self.assertRegex(secret, r"^whsec_[0-9a-f]{64}$")
        self.assertEqual(["contact.created"], webhook["events"])
        self.assertTrue(webhook["active"])
        path = "%s/%d" % (WEBHOOKS, webhook["id"])
        status, headers, again = self.api("GET", path, key=self.admin_key)
        self.assertEqual(200, status)
        self.assertNotIn("secret", again)
        self.assertEqual('"1"', headers["etag"])
        status, _, page = self.api("GET", WEBHOOKS, key=self.admin_key)
        self.assertTrue(all("secret" not in item for item in page["data"]))
        status, _, patched = self.api("PATCH", path, {"description": "renamed"},
                                      key=self.admin_key)
        self.assertEqual(200, status, patched)
        self.assertNotIn("secret", patched)
        status, _, audit = self.api("GET", "/api/v1/audit?entity=webhooks&entity_id=%d"
                                    % webhook["id"], key=self.admin_key)
        self.assertEqual(200, status, audit)
        self.assertEqual(["update", "create"], [entry["action"] for entry in audit["data"][:2]])
        self.assertNotIn(secret, json.dumps(audit))
        # a replacement without the secret keeps it; a patch may rotate it
        status, _, _ = self.api("PUT", path, {"url": webhook["url"], "events": ["*"]},
                                key=self.admin_key)
        self.assertEqual(200, status)
        stored = sql_rows(self.server.db_path, "SELECT secret FROM webhooks WHERE id = ?",
                          webhook["id"])[0][0]
        self.assertEqual(secret, stored)
        status, _, rotated = self.api("PATCH", path, {"secret": "another-secret-of-24-ch"},
                                      key=self.admin_key)
        self.assertEqual(200, status, rotated)
        self.assertNotIn("secret", rotated)

    def test_given_secret_and_defaults(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        status, _, webhook = self.api("POST", WEBHOOKS,
                                      {"url": receiver.url(), "secret": "s3cret-given-by-me"},
                                      key=self.admin_key)
        self.assertEqual(201, status, webhook)
        self.addCleanup(self.api, "DELETE", "%s/%d" % (WEBHOOKS, webhook["id"]),
                        key=self.admin_key)
        self.assertEqual("s3cret-given-by-me", webhook["secret"])
        self.assertEqual(["*"], webhook["events"])

    def test_bad_endpoints_are_422(self):
        receiver_url = "http://127.0.0.1:9/hook"
        cases = [
            ({"events": ["*"]}, "url"),
            ({"url": "ftp://example.com/x"}, "url"),
            ({"url": "not a url"}, "url"),
            ({"url": "https://user:pw@example.com/hook"}, "url"),
            ({"url": "https://example.com/hook#part"}, "url"),
            ({"url": "https://" + "a" * 2100 + ".com/"}, "url"),
            ({"url": receiver_url, "events": ["contact.exploded"]}, "events"),
            ({"url": receiver_url, "events": []}, "events"),
            ({"url": receiver_url, "events": "contact.created"}, "events"),
            ({"url": receiver_url, "secret": "short"}, "secret"),
            ({"url": receiver_url, "active": "yes"}, "active"),
            ({"url": receiver_url, "colour": "blue"}, "colour"),
            ({"url": receiver_url, "id": 4}, "id"),
        ]
        for body, field in cases:
            response = self.api("POST", WEBHOOKS, body, key=self.admin_key)
            self.assertProblem(response, 422, field)

    def test_events_list_and_permissions(self):
        status, _, events = self.api("GET", WEBHOOKS + "/events", key=self.admin_key)
        self.assertEqual(200, status)
        for name in ("contact.created", "company.deleted", "opportunity.stage_changed",
                     "opportunity.won", "segment.member_added", "task.created",
                     "purchase.created", "interaction.created", "contact.merged"):
            self.assertIn(name, events["data"])
        webhook, _ = self.hook(events=["contact.*"])
        self.assertProblem(self.api("GET", WEBHOOKS, key=self.rep_key), 403)
        self.assertProblem(self.api("GET", WEBHOOKS + "/events", key=self.rep_key), 403)
        self.assertProblem(self.api("POST", WEBHOOKS, {"url": "http://127.0.0.1:9/"},
                                    key=self.rep_key), 403)
        self.assertProblem(self.api("GET", "%s/%d" % (WEBHOOKS, webhook["id"]),
                                    key=self.rep_key), 404)
        self.assertProblem(self.api("GET", "%s/%d/deliveries" % (WEBHOOKS, webhook["id"]),
                                    key=self.rep_key), 404)

    # ---- delivery

    def test_delivery_within_a_second_with_a_valid_signature(self):
        webhook, receiver = self.hook(events=["contact.created"])
        started = time.monotonic()
        contact = self.create("/api/v1/contacts", {"first_name": "Quick", "email": "q@example.com"})
        requests = receiver.wait_for(1, timeout=10)
        self.assertEqual(1, len(requests), "nothing was delivered")
        headers, body, arrived = requests[0]
        self.assertLess(arrived - started, 1.0, "the delivery took longer than a second")
        self.assertEqual("contact.created", headers["x-crm-event"])
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.verify_signature(webhook["secret"], headers, body)
        payload = json.loads(body)
        self.assertEqual({"id", "event", "occurred_at", "data"}, set(payload))
        self.assertEqual("contact.created", payload["event"])
        self.assertRegex(payload["occurred_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(contact, payload["data"])
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "delivered")
        self.assertEqual(1, len(log))
        self.assertEqual(int(headers["x-crm-delivery"]), log[0]["id"])
        self.assertEqual(payload["id"], log[0]["event_id"])
        self.assertEqual(200, log[0]["last_status_code"])
        self.assertEqual(1, log[0]["attempts"])
        # a signature made with another secret does not verify
        with self.assertRaises(AssertionError):
            self.verify_signature("whsec_wrong", headers, body)

    def test_only_subscribed_events_are_sent(self):
        companies_hook, companies = self.hook(events=["company.created"])
        everything_hook, everything = self.hook(events=["*"])
        self.create("/api/v1/contacts", {"first_name": "Sub"})
        company = self.create("/api/v1/companies", {"name": "Subscribed Ltd"})
        self.wait_settled(companies_hook, everything_hook)
        requests = companies.wait_for(1)
        self.assertEqual([("company.created", company["id"])],
                         [(event, payload["data"]["id"]) for event, payload in companies.events()])
        self.assertEqual(["contact.created", "company.created"],
                         [event for event, _ in everything.events()])
        self.assertEqual(1, len(requests))

    def test_updates_deletes_and_previous_values(self):
        webhook, receiver = self.hook(events=["contact.*"])
        contact = self.create("/api/v1/contacts", {"first_name": "Old", "last_name": "Name"})
        path = "/api/v1/contacts/%d" % contact["id"]
        status, _, _ = self.api("PATCH", path, {"first_name": "New"}, key=self.admin_key)
        self.assertEqual(200, status)
        status, _, _ = self.api("PATCH", path, {"first_name": "New"}, key=self.admin_key)
        self.assertEqual(200, status)  # changes nothing: no event
        status, _, _ = self.api("DELETE", path, key=self.admin_key)
        self.assertEqual(204, status)
        self.wait_settled(webhook)
        events = receiver.events()
        self.assertEqual(["contact.created", "contact.updated", "contact.deleted"],
                         [event for event, _ in events])
        updated = events[1][1]
        self.assertEqual("New", updated["data"]["first_name"])
        self.assertEqual({"first_name": "Old"}, updated["previous"])
        self.assertEqual(contact["id"], events[2][1]["data"]["id"])

    def test_csv_imports_send_events_and_dry_runs_none(self):
        webhook, receiver = self.hook(events=["contact.*", "company.created"])
        existing = self.create("/api/v1/contacts", {"first_name": "Kept", "email": "kept@imp.example"})
        receiver.wait_for(1)
        text = ("first_name,email,company\nNew,new@imp.example,Imported Co\n"
                "Renamed,kept@imp.example,\n").encode()
        status, _, report = self.api("POST", "/api/v1/contacts/import?dedupe=email&dry_run=true",
                                     raw=text, content_type="text/csv", key=self.admin_key)
        self.assertEqual(200, status, report)
        self.wait_settled(webhook)
        self.assertEqual(1, len(receiver.events()), "a dry run sent events")
        status, _, report = self.api("POST", "/api/v1/contacts/import?dedupe=email",
                                     raw=text, content_type="text/csv", key=self.admin_key)
        self.assertEqual(200, status, report)
        self.wait_settled(webhook)
        events = receiver.events()[1:]
        self.assertEqual(sorted(["company.created", "contact.created", "contact.updated"]),
                         sorted(event for event, _ in events))
        by_event = {event: payload for event, payload in events}
        self.assertEqual("Imported Co", by_event["company.created"]["data"]["name"])
        self.assertEqual("new@imp.example", by_event["contact.created"]["data"]["email"])
        self.assertEqual(existing["id"], by_event["contact.updated"]["data"]["id"])
        self.assertEqual({"first_name": "Kept"}, by_event["contact.updated"]["previous"])

    def test_rolled_back_changes_send_nothing(self):
        webhook, receiver = self.hook(events=["*"])
        self.assertProblem(self.api("POST", "/api/v1/contacts", {"email": "not-an-address"},
                                    key=self.admin_key), 422)
        contact = self.create("/api/v1/contacts", {"first_name": "Kept"})
        path = "/api/v1/contacts/%d" % contact["id"]
        self.assertProblem(self.api("PATCH", path, {"first_name": "Stale"},
                                    headers={"If-Match": '"99"'}, key=self.admin_key), 412)
        self.assertProblem(self.api("POST", "/api/v1/contacts",
                                    {"first_name": "X", "company_id": 999999},
                                    key=self.admin_key), 422)
        marker = self.create("/api/v1/companies", {"name": "Marker Ltd"})
        self.wait_settled(webhook)
        self.assertEqual([("contact.created", contact["id"]), ("company.created", marker["id"])],
                         [(event, payload["data"]["id"]) for event, payload in receiver.events()])
        rows = sql_rows(self.server.db_path,
                        "SELECT count(*) FROM webhook_outbox WHERE data LIKE '%Stale%' "
                        "OR data LIKE '%not-an-address%'")
        self.assertEqual(0, rows[0][0])

    def test_retry_after_a_receiver_failure(self):
        webhook, receiver = self.hook(events=["company.created"])
        receiver.answers = [500]
        self.create("/api/v1/companies", {"name": "Retry Ltd"})
        requests = receiver.wait_for(2, timeout=15)
        self.assertEqual(2, len(requests), "no second attempt")
        self.assertEqual(requests[0][0]["x-crm-delivery"], requests[1][0]["x-crm-delivery"])
        self.assertEqual(requests[0][1], requests[1][1])
        self.assertGreater(requests[1][2] - requests[0][2], 0.5, "retried without a delay")
        self.verify_signature(webhook["secret"], requests[1][0], requests[1][1])
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "delivered")
        self.assertEqual("delivered", log[0]["status"])
        self.assertEqual(2, log[0]["attempts"])
        attempts = log[0]["attempt_log"]
        self.assertEqual([500, 200], [attempt["status_code"] for attempt in attempts])
        self.assertIn("500", attempts[0]["error"])
        self.assertIsNone(attempts[1]["error"])

    def test_gives_up_after_the_retry_window(self):
        webhook, receiver = self.hook(events=["company.created"])
        receiver.answers = [503] * 50
        self.create("/api/v1/companies", {"name": "Failing Ltd"})
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "failed",
                                   timeout=20)
        self.assertEqual("failed", log[0]["status"])
        self.assertGreaterEqual(log[0]["attempts"], 2)
        self.assertIsNone(log[0]["next_attempt_at"])
        self.assertEqual(503, log[0]["last_status_code"])
        self.assertEqual(log[0]["attempts"], len(log[0]["attempt_log"]))
        failed = self.deliveries(webhook["id"], "?status=failed")
        self.assertEqual([log[0]["id"]], [item["id"] for item in failed])
        self.assertEqual([], self.deliveries(webhook["id"], "?status=delivered"))

    def test_delivery_log_paging_and_redelivery(self):
        webhook, receiver = self.hook(events=["company.created"])
        for number in range(3):
            self.create("/api/v1/companies", {"name": "Logged %d" % number})
        receiver.wait_for(3)
        log = self.wait_deliveries(
            webhook["id"], lambda d: len(d) == 3 and all(x["status"] == "delivered" for x in d))
        ids = [item["id"] for item in log]
        self.assertEqual(sorted(ids, reverse=True), ids)  # newest first
        status, _, page = self.api("GET", "%s/%d/deliveries?limit=2" % (WEBHOOKS, webhook["id"]),
                                   key=self.admin_key)
        self.assertEqual(ids[:2], [item["id"] for item in page["data"]])
        status, _, rest = self.api("GET", "%s/%d/deliveries?limit=2&cursor=%s"
                                   % (WEBHOOKS, webhook["id"], page["next_cursor"]),
                                   key=self.admin_key)
        self.assertEqual(ids[2:], [item["id"] for item in rest["data"]])
        self.assertIsNone(rest["next_cursor"])
        one_path = "%s/%d/deliveries/%d" % (WEBHOOKS, webhook["id"], ids[-1])
        status, _, one = self.api("GET", one_path, key=self.admin_key)
        self.assertEqual(200, status, one)
        self.assertEqual("Logged 0", one["payload"]["data"]["name"])
        status, _, again = self.api("POST", one_path + "/redeliver", key=self.admin_key)
        self.assertEqual(200, status, again)
        requests = receiver.wait_for(4)
        self.assertEqual(4, len(requests))
        self.assertEqual(str(ids[-1]), requests[3][0]["x-crm-delivery"])
        self.assertEqual("Logged 0", json.loads(requests[3][1])["data"]["name"])
        redelivered = self.wait_deliveries(
            webhook["id"], lambda d: any(x["id"] == ids[-1] and x["attempts"] == 2 for x in d))
        item = [x for x in redelivered if x["id"] == ids[-1]][0]
        self.assertEqual("delivered", item["status"])
        self.assertEqual(2, len(item["attempt_log"]))
        status, _, audit = self.api("GET", "/api/v1/audit?entity=webhooks&action=redeliver",
                                    key=self.admin_key)
        self.assertEqual(webhook["id"], audit["data"][0]["entity_id"])
        # unknown ids, another webhook's delivery, bad parameters, reps
        self.assertProblem(self.api("POST", "%s/%d/deliveries/999999/redeliver"
                                    % (WEBHOOKS, webhook["id"]), key=self.admin_key), 404)
        other, _ = self.hook(events=["task.created"])
        self.assertProblem(self.api("GET", "%s/%d/deliveries/%d" % (WEBHOOKS, other["id"],
                                                                     ids[0]),
                                    key=self.admin_key), 404)
        self.assertProblem(self.api("POST", one_path + "/redeliver", {"now": True},
                                    key=self.admin_key), 422)
        for query in ("?status=lost", "?limit=0", "?cursor=xyz", "?event=nothing", "?foo=1"):
            self.assertProblem(self.api("GET", "%s/%d/deliveries%s"
                                        % (WEBHOOKS, webhook["id"], query),
                                        key=self.admin_key), 400)
        self.assertProblem(self.api("POST", one_path + "/redeliver", key=self.rep_key), 404)

    def test_answers_match_the_openapi_schemas(self):
        status, _, document = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status)

        def validate(name, instance):
            self.assertMatchesSchema(document, name, instance)

        webhook, receiver = self.hook(events=["company.created"])
        validate("Webhook", webhook)
        status, _, again = self.api("GET", "%s/%d" % (WEBHOOKS, webhook["id"]),
                                    key=self.admin_key)
        validate("Webhook", again)
        receiver.answers = [500]
        self.create("/api/v1/companies", {"name": "Schema Hooks Ltd"})
        receiver.wait_for(2)
        self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "delivered")
        status, _, page = self.api("GET", "%s/%d/deliveries" % (WEBHOOKS, webhook["id"]),
                                   key=self.admin_key)
        validate("WebhookDeliveryList", page)
        status, _, one = self.api("GET", "%s/%d/deliveries/%d"
                                  % (WEBHOOKS, webhook["id"], page["data"][0]["id"]),
                                  key=self.admin_key)
        validate("WebhookDelivery", one)

    def test_inactive_endpoints_get_nothing_and_webhooks_emit_nothing(self):
        webhook, receiver = self.hook(events=["*"], active=False)
        watcher_hook, watcher = self.hook(events=["*"])
        self.create("/api/v1/companies", {"name": "Unseen Ltd"})
        self.wait_settled(watcher_hook, webhook)
        self.assertEqual([], receiver.requests)
        self.assertEqual([], self.deliveries(webhook["id"]))
        # changes of webhooks themselves are no events
        self.assertEqual(["company.created"], [event for event, _ in watcher.events()])

    def test_opportunity_stages_and_segment_members(self):
        webhook, receiver = self.hook(events=["opportunity.stage_changed", "opportunity.won",
                                        "segment.member_added", "segment.member_removed"])
        opportunity = self.create("/api/v1/opportunities", {"name": "Deal", "stage": "lead"})
        path = "/api/v1/opportunities/%d" % opportunity["id"]
        self.assertEqual(200, self.api("PATCH", path, {"stage": "qualified"},
                                       key=self.admin_key)[0])
        self.assertEqual(200, self.api("PATCH", path, {"stage": "won"}, key=self.admin_key)[0])
        contacts = [self.create("/api/v1/contacts", {"first_name": "Member %d" % i})
                    for i in range(2)]
        segment = self.create("/api/v1/segments", {"name": "Hooked", "kind": "static"})
        members = "/api/v1/segments/%d/members" % segment["id"]
        ids = [contact["id"] for contact in contacts]
        status, _, added = self.api("POST", members, {"contact_ids": ids[:1]},
                                    key=self.admin_key)
        self.assertEqual((200, 1), (status, added["added"]))
        status, _, added = self.api("POST", members, {"contact_ids": ids}, key=self.admin_key)
        self.assertEqual((200, 1), (status, added["added"]))
        status, _, removed = self.api("DELETE", members, {"contact_ids": ids[1:]},
                                      key=self.admin_key)
        self.assertEqual((200, 1), (status, removed["removed"]))
        self.wait_settled(webhook)
        events = receiver.events()
        self.assertEqual(["opportunity.stage_changed", "opportunity.stage_changed",
                          "opportunity.won", "segment.member_added", "segment.member_added",
                          "segment.member_removed"], [event for event, _ in events])
        self.assertEqual({"stage": "lead"}, events[0][1]["previous"])
        self.assertEqual("qualified", events[0][1]["data"]["stage"])
        self.assertEqual({"stage": "qualified"}, events[1][1]["previous"])
        self.assertEqual("won", events[2][1]["data"]["stage"])
        self.assertEqual([{"segment_id": segment["id"], "contact_id": ids[0]},
                          {"segment_id": segment["id"], "contact_id": ids[1]},
                          {"segment_id": segment["id"], "contact_id": ids[1]}],
                         [payload["data"] for _, payload in events[3:]])

    def test_a_slow_receiver_does_not_hold_up_the_others(self):
        slow_hook, slow = self.hook(events=["company.created"])
        _, fast = self.hook(events=["company.created"])
        slow.block = threading.Event()
        self.addCleanup(slow.block.set)
        started = time.monotonic()
        first = self.create("/api/v1/companies", {"name": "Slow One Ltd"})
        requests = fast.wait_for(1, timeout=10)
        self.assertEqual(1, len(requests), "nothing was delivered to the fast receiver")
        self.assertLess(requests[0][2] - started, 1.5, "the slow receiver held up the fast one")
        self.assertEqual(1, len(slow.wait_for(1)))
        # while the slow receiver still answers, a new event reaches the fast one at once
        started = time.monotonic()
        second = self.create("/api/v1/companies", {"name": "Slow Two Ltd"})
        requests = fast.wait_for(2, timeout=10)
        self.assertEqual(2, len(requests))
        self.assertLess(requests[1][2] - started, 1.5, "the slow receiver held up the fast one")
        # one delivery at a time per endpoint: the second waits for the first's answer (the
        # claim that sent the fast receiver its second event passed over the slow one's)
        self.assertEqual([("sending",), ("pending",)],
                         sql_rows(self.server.db_path, "SELECT status FROM webhook_deliveries "
                                  "WHERE webhook_id = ? ORDER BY id", slow_hook["id"]))
        self.assertEqual(1, len(slow.requests))
        slow.block.set()
        slow.wait_for(2)
        self.assertEqual([first["id"], second["id"]],
                         [payload["data"]["id"] for _, payload in slow.events()])
        log = self.wait_deliveries(slow_hook["id"],
                                   lambda d: len(d) == 2 and
                                   all(x["status"] == "delivered" for x in d))
        self.assertEqual(["delivered", "delivered"], [x["status"] for x in log])

    def test_interactions_purchases_lost_deals_and_merges_are_delivered(self):
        webhook, receiver = self.hook(events=["interaction.created", "purchase.created",
                                        "opportunity.lost", "contact.merged"])
        kept = self.create("/api/v1/contacts", {"first_name": "Kept"})
        other = self.create("/api/v1/contacts", {"first_name": "Other"})
        interaction = self.create("/api/v1/interactions",
                                  {"contact_id": other["id"], "kind": "call",
                                   "direction": "inbound",
                                   "occurred_at": "2026-01-10T10:00:00Z"})
        purchase = self.create("/api/v1/purchases",
                               {"contact_id": kept["id"], "amount_cents": 1500,
                                "currency": "EUR", "occurred_at": "2026-01-11T10:00:00Z"})
        opportunity = self.create("/api/v1/opportunities", {"name": "Lost deal", "stage": "lead"})
        status, _, lost = self.api("PATCH", "/api/v1/opportunities/%d" % opportunity["id"],
                                   {"stage": "lost", "lost_reason": "price"}, key=self.admin_key)
        self.assertEqual(200, status, lost)
        status, _, merged = self.api("POST", "/api/v1/contacts/%d/merge" % kept["id"],
                                     {"from": [other["id"]]}, key=self.admin_key)
        self.assertEqual(200, status, merged)
        self.wait_settled(webhook)
        events = receiver.events()
        self.assertEqual(["interaction.created", "purchase.created", "opportunity.lost",
                          "contact.merged"], [event for event, _ in events])
        self.assertEqual(interaction["id"], events[0][1]["data"]["id"])
        self.assertEqual(purchase["id"], events[1][1]["data"]["id"])
        self.assertEqual(1500, events[1][1]["data"]["amount_cents"])
        self.assertEqual(opportunity["id"], events[2][1]["data"]["id"])
        self.assertEqual("lost", events[2][1]["data"]["stage"])
        self.assertEqual("price", events[2][1]["data"]["lost_reason"])
        data = events[3][1]["data"]
        self.assertEqual(kept["id"], data["contact"]["id"])
        self.assertEqual([other["id"]], [contact["id"] for contact in data["merged"]])

    def test_redirects_are_not_followed(self):
        _, target = self.hook(events=["company.updated"])  # a receiver that must stay unhit
        webhook, receiver = self.hook(events=["company.created"])
        receiver.answers = [302] * 50
        receiver.reply_headers = {"Location": target.url("/stolen")}
        self.create("/api/v1/companies", {"name": "Redirected Ltd"})
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "failed",
                                   timeout=20)
        self.assertEqual("failed", log[0]["status"])
        self.assertEqual(302, log[0]["last_status_code"])
        self.assertTrue(all(attempt["status_code"] == 302 and "302" in attempt["error"]
                            for attempt in log[0]["attempt_log"]), log[0]["attempt_log"])
        self.assertGreaterEqual(len(receiver.requests), 1)
        self.assertEqual([], target.requests, "the redirect was followed")

    def test_queue_depth_is_in_metrics(self):
        closed = Receiver()
        closed.close()  # nothing listens there any more: every attempt fails
        webhook, _ = self.hook(events=["company.created"], receiver=closed)
        self.create("/api/v1/companies", {"name": "Queued Ltd"})
        status, _, text = self.api("GET", "/metrics")
        self.assertEqual(200, status)
        match = re.search(r"(?m)^crmd_webhook_queue_depth (\d+)", text)
        self.assertIsNotNone(match, text[-2000:])
        self.assertGreaterEqual(int(match.group(1)), 1)
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["attempts"] >= 1)
        self.assertIsNone(log[0]["attempt_log"][0]["status_code"])
        self.assertTrue(log[0]["attempt_log"][0]["error"])


class WebhookSsrfTest(WebhookTestCase):
    """Without the operator's switch for private addresses."""
    server_args = RETRY_ARGS

    @classmethod
    def setup_database(cls):
        pass  # private addresses stay refused

    def test_private_literal_addresses_are_refused_at_registration(self):
        for url in ("http://10.1.2.3/hook", "http://127.0.0.1:8080/", "http://[::1]/",
                    "https://169.254.169.254/latest/meta-data", "http://192.168.0.10/",
                    "http://172.16.5.4/", "http://0.0.0.0/", "http://[fd00::1]/",
                    "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/",
                    "http://100.64.0.1/"):
            body = self.assertProblem(self.api("POST", WEBHOOKS, {"url": url},
                                               key=self.admin_key), 422, "url")
            self.assertIn("private", body["errors"][0]["message"])

    def test_a_host_resolving_to_loopback_is_refused_at_delivery(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        # a host name is accepted at registration (DNS may change): checked at each delivery
        webhook, _ = self.hook(events=["company.created"], receiver=receiver,
                               url="http://localhost:%d/hook" % receiver.port)
        self.create("/api/v1/companies", {"name": "Internal Ltd"})
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["attempts"] >= 1)
        attempt = log[0]["attempt_log"][0]
        self.assertIsNone(attempt["status_code"])
        self.assertIn("refused", attempt["error"])
        self.assertEqual([], receiver.requests)
        path = "%s/%d" % (WEBHOOKS, webhook["id"])
        self.assertProblem(self.api("PATCH", path, {"url": "http://127.0.0.1:%d/hook"
                                                    % receiver.port}, key=self.admin_key),
                           422, "url")
        # the operator allows private addresses: it applies at once, also to a running crmd
        self.crmctl("webhook", "private", "on")
        try:
            status, _, _ = self.api("PATCH", path, {"url": receiver.url()}, key=self.admin_key)
            self.assertEqual(200, status)
            # the next retry goes through, or, once given up, a redelivery does
            log = self.wait_deliveries(webhook["id"],
                                       lambda d: d[0]["status"] in ("delivered", "failed"))
            if log[0]["status"] == "failed":
                status, _, _ = self.api("POST", "%s/deliveries/%d/redeliver"
                                        % (path, log[0]["id"]), key=self.admin_key)
                self.assertEqual(200, status)
            requests = receiver.wait_for(1)
            self.assertGreaterEqual(len(requests), 1, "not delivered once allowed")
        finally:
            self.crmctl("webhook", "private", "off")


class WebhookCrashTest(WebhookTestCase):
    """crmd killed (SIGKILL) between the commit of a change and the send of its event."""
    server_args = RETRY_ARGS

    def restart(self):
        self.server.kill()
        self.server.start()

    def test_a_send_cut_short_by_a_crash_is_sent_after_the_restart(self):
        webhook, receiver = self.hook(events=["company.created"])
        receiver.block = threading.Event()
        company = self.create("/api/v1/companies", {"name": "Crash Ltd"})
        first = receiver.wait_for(1)
        self.assertEqual(1, len(first), "nothing was sent")
        self.server.kill()  # while the receiver holds the request
        receiver.block.set()
        receiver.block = None
        self.server.start()
        requests = receiver.wait_for(2, timeout=15)
        self.assertEqual(2, len(requests), "not sent again after the restart")
        self.assertEqual(first[0][0]["x-crm-delivery"], requests[1][0]["x-crm-delivery"])
        self.assertEqual(company["id"], json.loads(requests[1][1])["data"]["id"])
        log = self.wait_deliveries(webhook["id"], lambda d: d and d[0]["status"] == "delivered")
        self.assertEqual("delivered", log[0]["status"])

    def test_a_committed_event_survives_a_crash_while_the_receiver_is_down(self):
        down = Receiver()
        port = down.port
        down.close()
        webhook, _ = self.hook(events=["company.created"], receiver=down)
        company = self.create("/api/v1/companies", {"name": "Down Ltd"})
        self.server.kill()  # right after the commit
        receiver = Receiver(port)  # the receiver comes back on the same address
        self.addCleanup(receiver.close)
        self.server.start()
        requests = receiver.wait_for(1, timeout=15)
        self.assertEqual(1, len(requests), "the event was lost")
        self.assertEqual(company["id"], json.loads(requests[0][1])["data"]["id"])
        self.verify_signature(webhook["secret"], requests[0][0], requests[0][1])
