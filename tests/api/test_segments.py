"""test_segments.py - segments (API.md section 5; include/crm/segments.h, segment_rule.h):
the rule language (every op, nesting, relative dates, computed fields), compiled into one
parameterised query (injection attempts in fields, ops and values are refused or treated as
data), 422 naming the faulty node, preview, dynamic and static members (add, remove,
paging), permissions (read scope on contacts), CSV export from the API and crmctl."""
import csv
import datetime
import io
import json
import sqlite3

import harness

SEGMENTS = "/api/v1/segments"
CONTACTS = "/api/v1/contacts"
PREVIEW = SEGMENTS + "/preview"


def utc(days_ago=0):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf(field, op, value=None, **extra):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    node.update(extra)
    return node


class SegmentsTest(harness.ServerTestCase):
    """A fixed set of contacts (created once) that every rule is evaluated against."""

    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")
        harness.crmctl(cls.server.db_path, "role", "create", "ownrep", "--from", "rep")
        harness.crmctl(cls.server.db_path, "role", "grant", "ownrep", "contacts", "read", "own")
        cls.own_id, cls.own_key = cls.make_user("own@example.com", "ownrep", team="west")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = {}
        specs = [
            ("ann", {"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com",
                     "lifecycle": "customer", "relationship_level": 4,
                     "tags": ["vip", "berlin"], "source": "web",
                     "consent": {"email": True, "recorded_at": "2020-01-01T00:00:00Z"},
                     "custom": {"plan": "pro", "seats": 12, "trial": False}}),
            ("bob", {"first_name": "Bob", "last_name": "Stone", "email": "bob@example.org",
                     "lifecycle": "lead", "relationship_level": 1, "tags": ["berlin"],
                     "source": "fair", "custom": {"plan": "free", "seats": 1, "trial": True}}),
            ("cy", {"first_name": "Cy", "phone": "+49 30 1234", "lifecycle": "prospect",
                    "relationship_level": 2, "tags": [], "title": "CTO",
                    "consent": {"email": False}}),
            ("dee", {"last_name": "O'Hara", "email": "dee@example.com", "tags": ["vip"],
                     "owner": "own"}),
            ("eve", {"first_name": "x' OR '1'='1", "email": "eve@example.net",
                     "lifecycle": "churned", "owner": "own", "custom": {"plan": "pro"}}),
        ]
        for name, spec in specs:
            body = dict(spec)
            owner = body.pop("owner", None)
            if owner == "own":
                body["owner_id"] = cls.own_id
            status, _, record = cls.server.request("POST", CONTACTS, body, key=cls.admin_key)
            assert status == 201, record
            cls.people[name] = record
        cls.ids = {name: record["id"] for name, record in cls.people.items()}
        # purchases: ann spends 1500.00 in two purchases (latest 10 days ago), bob 20.00
        # 100 days ago; interactions: cy was called 3 days ago
        for contact, cents, days in (("ann", 100000, 40), ("ann", 50000, 10), ("bob", 2000, 100)):
            status, _, record = cls.server.request(
                "POST", "/api/v1/purchases",
                {"contact_id": cls.ids[contact], "amount_cents": cents, "currency": "EUR",
                 "occurred_at": utc(days)}, key=cls.admin_key)
            assert status == 201, record
        status, _, record = cls.server.request(
            "POST", "/api/v1/interactions",
            {"contact_id": cls.ids["cy"], "kind": "call", "occurred_at": utc(3)},
            key=cls.admin_key)
        assert status == 201, record

    # ---- helpers

    def preview(self, rule, key=None):
        status, _, body = self.api("POST", PREVIEW, {"rule": rule}, key=key or self.admin_key)
        self.assertEqual(200, status, body)
        return body

    def matches(self, rule, key=None):
        """The fixture names the rule selects (among the fixture's contacts)."""
        body = self.preview(rule, key)
        by_id = {v: k for k, v in self.ids.items()}
        names = {by_id[c["id"]] for c in body["sample"] if c["id"] in by_id}
        self.assertLessEqual(len(body["sample"]), 10)
        self.assertEqual(body["count"], len(body["sample"]), "fixture fits in one sample")
        return names

    def assertMatches(self, expected, rule, key=None):
        self.assertEqual(set(expected), self.matches(rule, key), json.dumps(rule))

    def assertBadRule(self, rule, field, message_part=None):
        body = self.assertProblem(self.api("POST", PREVIEW, {"rule": rule}, key=self.admin_key),
                                  422, field)
        if message_part:
            messages = [e["message"] for e in body["errors"] if e["field"] == field]
            self.assertTrue(any(message_part in m for m in messages), body)
        return body

    def create_segment(self, body, key=None):
        status, headers, record = self.api("POST", SEGMENTS, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        return record

    def members(self, segment_id, key=None, limit=None):
        """All member ids, following the cursor; checks the pages."""
        ids, cursor = [], None
        while True:
            query = []
            if limit:
                query.append("limit=%d" % limit)
            if cursor:
                query.append("cursor=" + cursor)
            path = "%s/%d/members%s" % (SEGMENTS, segment_id, "?" + "&".join(query) if query else "")
            status, _, page = self.api("GET", path, key=key or self.admin_key)
            self.assertEqual(200, status, page)
            if limit:
                self.assertLessEqual(len(page["data"]), limit)
            ids += [c["id"] for c in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids

    # ---- each operator

    def test_eq_and_ne(self):
        self.assertMatches({"ann"}, leaf("first_name", "eq", "Ann"))
        self.assertMatches(set(), leaf("first_name", "eq", "ann"))  # text is exact
        self.assertMatches({"ann"}, leaf("email", "eq", "ann@example.COM"))  # email ignores case
        self.assertMatches({"bob"}, leaf("lifecycle", "eq", "lead"))
        self.assertMatches({"ann"}, leaf("relationship_level", "eq", 4))
        self.assertMatches({"ann"}, leaf("consent.email", "eq", True))
        self.assertMatches({"cy"}, leaf("consent.email", "eq", False))
        self.assertMatches({"dee", "eve"}, leaf("owner_id", "eq", self.own_id))
        self.assertMatches({"dee"}, {"all": [leaf("owner_id", "eq", self.own_id),
                                             leaf("last_name", "eq", "O'Hara")]})
        self.assertMatches({"ann", "eve"}, leaf("custom.plan", "eq", "pro"))
        self.assertMatches({"bob"}, leaf("custom.trial", "eq", True))
        self.assertMatches({"ann"}, leaf("custom.seats", "eq", 12))
        # ne also holds where the field is absent
        self.assertMatches({"bob", "cy", "dee", "eve"}, leaf("first_name", "ne", "Ann"))
        self.assertMatches({"ann", "cy", "dee", "eve"}, leaf("lifecycle", "ne", "lead"))
        self.assertMatches({"bob", "cy", "dee"}, leaf("custom.plan", "ne", "pro"))

    def test_ordering_ops(self):
        self.assertMatches({"bob", "cy"}, leaf("relationship_level", "lt", 4))
        self.assertMatches({"ann", "bob", "cy"}, leaf("relationship_level", "lte", 4))
        self.assertMatches({"cy"}, {"all": [leaf("relationship_level", "gt", 1),
                                            leaf("relationship_level", "lt", 4)]})
        self.assertMatches({"ann", "cy"}, leaf("relationship_level", "gte", 2))
        self.assertMatches({"ann"}, leaf("custom.seats", "gt", 1))
        self.assertMatches({"bob", "cy", "eve"}, leaf("first_name", "gte", "B"))
        self.assertMatches({"ann", "bob"}, leaf("custom.seats", "gte", 1))

    def test_in(self):
        self.assertMatches({"ann", "bob"}, leaf("lifecycle", "in", ["customer", "lead"]))
        self.assertMatches({"ann", "cy"}, leaf("relationship_level", "in", [2, 4, 6]))
        self.assertMatches({"ann", "bob"}, leaf("email", "in", ["ANN@example.com",
                                                                "bob@example.org"]))
        self.assertMatches({"ann", "eve", "bob"}, leaf("custom.plan", "in", ["pro", "free"]))
        self.assertMatches({"ann", "dee"}, leaf("tags", "in", ["vip", "nowhere"]))
        self.assertMatches({"ann", "bob", "dee"}, leaf("tags", "in", ["vip", "berlin"]))

    def test_contains(self):
        self.assertMatches({"ann", "dee"}, leaf("email", "contains", "EXAMPLE.c"))
        self.assertMatches({"dee"}, leaf("last_name", "contains", "'h"))
        self.assertMatches({"ann", "dee"}, leaf("tags", "contains", "vip"))
        self.assertMatches(set(), leaf("tags", "contains", "VIP"))  # tags are exact
        self.assertMatches({"ann", "bob"}, leaf("tags", "contains", "berlin"))
        self.assertMatches({"bob"}, leaf("custom.plan", "contains", "fre"))
        # LIKE wildcards are plain characters
        self.assertMatches(set(), leaf("email", "contains", "%"))
        self.assertMatches(set(), leaf("email", "contains", "_"))

    def test_exists(self):
        self.assertMatches({"cy"}, leaf("phone", "exists"))
        self.assertMatches({"cy"}, leaf("title", "exists", True))
        self.assertMatches({"ann", "bob", "cy", "eve"}, leaf("first_name", "exists"))
        self.assertMatches({"dee"}, leaf("first_name", "exists", False))
        self.assertMatches({"ann", "bob", "dee"}, leaf("tags", "exists"))
        self.assertMatches({"cy", "eve"}, leaf("tags", "exists", False))
        self.assertMatches({"ann", "bob", "eve"}, leaf("custom.plan", "exists"))
        self.assertMatches({"ann", "cy"}, leaf("consent.email", "exists"))
        self.assertMatches({"ann", "bob", "cy", "dee", "eve"}, leaf("created_at", "exists"))

    def test_before_and_after_with_absolute_and_relative_times(self):
        everyone = {"ann", "bob", "cy", "dee", "eve"}
        self.assertMatches(everyone, leaf("created_at", "after", "-1d"))
        self.assertMatches(everyone, leaf("created_at", "after", "2020-01-01"))
        self.assertMatches(everyone, leaf("created_at", "lte", "now"))
        self.assertMatches(set(), leaf("created_at", "before", "-2h"))
        self.assertMatches(set(), leaf("updated_at", "after", "+1d"))
        self.assertMatches(everyone, leaf("updated_at", "before", "+1w"))
        self.assertMatches(set(), leaf("created_at", "before", "2020-01-01T00:00:00Z"))
        self.assertMatches({"ann"}, leaf("consent.recorded_at", "before", "-1y"))
        self.assertMatches({"ann"}, leaf("consent.recorded_at", "before", "-12m"))
        self.assertMatches({"ann"}, leaf("consent.recorded_at", "lt", "2020-01-02"))
        self.assertMatches({"ann"}, leaf("consent.recorded_at", "eq", "2020-01-01T01:00:00+01:00"))
        self.assertMatches({"ann", "cy"}, leaf("consent.recorded_at", "after", "2019-12-31T23:59:59Z"))
        self.assertMatches({"cy"}, leaf("consent.recorded_at", "after", "-1h"))

    def test_computed_fields(self):
        self.assertMatches({"ann"}, leaf("ltv_cents", "gte", 150000))
        self.assertMatches({"ann", "bob"}, leaf("ltv_cents", "gt", 0))
        self.assertMatches({"cy", "dee", "eve"}, leaf("ltv_cents", "eq", 0))
        self.assertMatches({"ann"}, leaf("purchases_count", "eq", 2))
        self.assertMatches({"cy", "dee", "eve"}, leaf("purchases_count", "lt", 1))
        self.assertMatches({"ann"}, leaf("last_purchase_at", "after", "-30d"))
        self.assertMatches({"bob"}, leaf("last_purchase_at", "before", "-90d"))
        self.assertMatches({"ann", "bob"}, leaf("last_purchase_at", "exists"))
        self.assertMatches({"cy"}, leaf("last_interaction_at", "after", "-1w"))
        # figures that only customers have
        self.assertMatches({"ann", "bob"}, leaf("tier", "exists"))
        self.assertMatches({"ann", "bob"}, leaf("churn_risk", "exists"))
        predicted = self.matches(leaf("predicted_ltv_cents", "gt", 0))
        self.assertIn("ann", predicted)
        self.assertLessEqual(predicted, {"ann", "bob"})
        self.assertEqual({"cy", "dee", "eve"} | ({"bob"} - predicted),
                         self.matches(leaf("predicted_ltv_cents", "eq", 0)))
        self.assertMatches({"ann", "bob"}, {"all": [leaf("churn_risk", "gte", 0),
                                                    leaf("churn_risk", "lte", 1)]})
        # mixed with own fields and nesting
        self.assertMatches({"ann"}, {"all": [leaf("tags", "contains", "berlin"),
                                             {"not": leaf("ltv_cents", "lt", 100000)}]})
        # the figures a contact shows in its analytics are the ones the rule sees
        for name in ("ann", "bob"):
            status, _, figures = self.api("GET", "%s/%d/analytics" % (CONTACTS, self.ids[name]),
                                          key=self.admin_key)
            if status != 200:
                continue  # the analytics routes are not registered in this build
            self.assertIn(name, self.matches(leaf("tier", "eq", figures["tier"])))
            self.assertIn(name, self.matches(leaf("predicted_ltv_cents", "eq",
                                                  figures["predicted_ltv_cents"])))
            self.assertIn(name, self.matches(leaf("rfm", "eq", figures["rfm"]["score"])))

    # ---- nesting

    def test_nesting_all_any_not(self):
        self.assertMatches({"ann", "bob"}, {"all": [leaf("tags", "contains", "berlin")]})
        self.assertMatches({"ann", "cy"}, {"any": [leaf("first_name", "eq", "Ann"),
                                                   leaf("phone", "exists")]})
        self.assertMatches({"bob", "cy", "dee", "eve"}, {"not": leaf("first_name", "eq", "Ann")})
        self.assertMatches({"ann"}, {"not": {"not": leaf("first_name", "eq", "Ann")}})
        self.assertMatches({"ann", "dee"}, {"all": [
            {"any": [leaf("tags", "contains", "vip"), leaf("lifecycle", "eq", "lead")]},
            {"not": {"all": [leaf("lifecycle", "eq", "lead")]}},
        ]})
        self.assertMatches({"bob", "cy", "dee", "eve"},
                           {"any": [{"not": leaf("custom.plan", "eq", "pro")},
                                    leaf("lifecycle", "eq", "churned")]})

    def test_not_is_the_exact_complement_also_for_absent_fields(self):
        rules = [leaf("relationship_level", "gt", 1), leaf("first_name", "eq", "Ann"),
                 leaf("custom.seats", "gte", 5), leaf("consent.email", "eq", True),
                 leaf("tier", "eq", "gold"), leaf("last_purchase_at", "after", "-30d"),
                 {"any": [leaf("phone", "exists"), leaf("lifecycle", "eq", "lead")]}]
        everyone = set(self.ids)
        for rule in rules:
            selected = self.matches(rule)
            self.assertEqual(everyone - selected, self.matches({"not": rule}), rule)

    # ---- injection attempts: refused, or plain data

    def test_injection_in_field_names_is_refused(self):
        for field in ("email) OR 1=1 --", "email OR 1", "c.email", "email;DROP TABLE contacts",
                      "EMAIL", "s.tier", "consent", "custom", "custom.", "custom.a b",
                      "custom.x') OR 1=1 --", "custom.\"", "password_hash"):
            self.assertBadRule(leaf(field, "eq", "x"), "rule.field")
        self.assertBadRule({"all": [leaf("first_name", "eq", "x"),
                                    leaf("1=1 --", "eq", "x")]}, "rule.all[1].field")

    def test_injection_in_ops_is_refused(self):
        for op in ("= 1 OR 1=1 --", "=", "EQ", "like", "", "eq "):
            self.assertBadRule(leaf("email", op, "x"), "rule.op")

    def test_injection_in_values_is_data(self):
        self.assertMatches(set(), leaf("email", "eq", "x' OR '1'='1"))
        self.assertMatches(set(), leaf("email", "eq", "' OR 1=1 --"))
        self.assertMatches({"eve"}, leaf("first_name", "eq", "x' OR '1'='1"))
        self.assertMatches(set(), leaf("email", "in", ["') OR 1=1 --", "\"); DROP TABLE x"]))
        self.assertMatches(set(), leaf("custom.plan", "eq", "pro' OR '1'='1"))
        self.assertMatches({"dee"}, leaf("last_name", "contains", "O'H"))
        # the table is still there
        self.assertEqual(5, self.preview(leaf("id", "in", list(self.ids.values())))["count"])

    # ---- 422 naming the faulty node

    def test_bad_rules_name_the_node(self):
        cases = [
            ("all", "rule", "must be an object"),
            ([], "rule", "must be an object"),
            ({}, "rule", None),
            ({"all": leaf("email", "exists")}, "rule.all", "array"),
            ({"all": []}, "rule.all", "at least one"),
            ({"any": [leaf("email", "exists"), 7]}, "rule.any[1]", "must be an object"),
            ({"all": [leaf("email", "exists")], "any": [leaf("email", "exists")]}, "rule",
             "exactly one"),
            ({"not": leaf("email", "exists"), "field": "email"}, "rule", "exactly one"),
            ({"not": [leaf("email", "exists")]}, "rule.not", "must be an object"),
            (leaf("email", "exists", extra=1), "rule.extra", "unknown member"),
            ({"op": "eq", "value": 1}, "rule.field", None),
            (leaf("email", "almost"), "rule.op", "must be one of"),
            ({"field": "email", "value": "x"}, "rule.op", None),
            (leaf("ltv_cents", "contains", "1"), "rule.op", "does not apply"),
            (leaf("tags", "eq", "vip"), "rule.op", "does not apply"),
            (leaf("first_name", "before", "-1d"), "rule.op", "does not apply"),
            (leaf("consent.email", "gt", True), "rule.op", "does not apply"),
            (leaf("relationship_level", "eq", "4"), "rule.value", "integer"),
            (leaf("relationship_level", "eq", 4.5), "rule.value", "integer"),
            (leaf("churn_risk", "gt", "high"), "rule.value", "number"),
            (leaf("consent.email", "eq", "yes"), "rule.value", "true or false"),
            (leaf("lifecycle", "eq", "vip"), "rule.value", "one of"),
            (leaf("lifecycle", "in", ["lead", "vip"]), "rule.value[1]", "one of"),
            (leaf("email", "eq"), "rule.value", "required"),
            ({"field": "email", "op": "eq", "value": None}, "rule.value", "required"),
            (leaf("email", "eq", ""), "rule.value", "non-empty"),
            (leaf("email", "eq", "x" * 1001), "rule.value", "1000"),
            (leaf("email", "in", []), "rule.value", "array"),
            (leaf("email", "in", "a"), "rule.value", "array"),
            (leaf("email", "in", ["a"] * 501), "rule.value", "array"),
            (leaf("email", "exists", "yes"), "rule.value", "true or false"),
            (leaf("created_at", "after", "-90"), "rule.value", "relative"),
            (leaf("created_at", "after", "90d"), "rule.value", "relative"),
            (leaf("created_at", "after", "-90x"), "rule.value", "relative"),
            (leaf("created_at", "after", "-101y"), "rule.value", "relative"),
            (leaf("created_at", "after", "-99999999d"), "rule.value", "relative"),
            (leaf("created_at", "after", "2026-02-30"), "rule.value", "relative"),
            (leaf("created_at", "after", 1700000000), "rule.value", "relative"),
            (leaf("custom.plan", "eq", {"a": 1}), "rule.value", None),
            (leaf("custom.plan", "eq", [1]), "rule.value", None),
            ({"all": [leaf("email", "exists"), {"any": [leaf("email", "exists"),
                                                        leaf("lifecycle", "eq", "x")]}]},
             "rule.all[1].any[1].value", "one of"),
            ({"any": [{"not": leaf("email", "is", 1)}]}, "rule.any[0].not.op", None),
        ]
        for rule, field, part in cases:
            with self.subTest(rule=json.dumps(rule)[:80]):
                self.assertBadRule(rule, field, part)

    def test_every_error_is_listed(self):
        body = self.assertBadRule({"all": [leaf("nope", "eq", 1), leaf("email", "bad", 1),
                                           leaf("relationship_level", "eq", "x")]},
                                  "rule.all[0].field")
        fields = {e["field"] for e in body["errors"]}
        self.assertEqual({"rule.all[0].field", "rule.all[1].op", "rule.all[2].value"}, fields)
        self.assertIn("rule.all[0].field", body["detail"])

    def test_limits_of_depth_and_size(self):
        rule = leaf("email", "exists")
        for _ in range(10):
            rule = {"not": rule}
        self.preview(rule)  # ten levels are fine
        self.assertBadRule({"not": rule}, "rule" + ".not" * 10, "levels")
        rule = leaf("email", "exists")
        for _ in range(200):
            rule = {"all": [rule]}
        self.assertProblem(self.api("POST", PREVIEW, {"rule": rule}, key=self.admin_key), 422)
        wide = {"any": [leaf("email", "eq", "a%d@example.com" % i) for i in range(99)]}
        self.assertEqual(0, self.preview(wide)["count"])
        wide["any"].append(leaf("email", "exists"))
        body = self.assertBadRule(wide, "rule.any[99]", "more than 100")
        self.assertLessEqual(len(body["errors"]), 20)
        many = {"any": [leaf("nope%d" % i, "eq", 1) for i in range(60)]}
        body = self.assertProblem(self.api("POST", PREVIEW, {"rule": many}, key=self.admin_key),
                                  422)
        self.assertEqual(20, len(body["errors"]))

    def test_preview_body_rules(self):
        self.assertProblem(self.api("POST", PREVIEW, {}, key=self.admin_key), 422, "rule")
        self.assertProblem(self.api("POST", PREVIEW, {"rule": None}, key=self.admin_key), 422,
                           "rule")
        self.assertProblem(self.api("POST", PREVIEW, {"rule": leaf("email", "exists"), "x": 1},
                                    key=self.admin_key), 422, "x")
        self.assertProblem(self.api("POST", PREVIEW, raw=b"{", key=self.admin_key), 400)
        self.assertProblem(self.api("POST", PREVIEW, raw=b"{}", content_type="text/plain",
                                    key=self.admin_key), 415)
        self.assertProblem(self.api("POST", PREVIEW, {"rule": leaf("email", "exists")}), 401)
        # a path of its own (POST only), never a segment called "preview"
        response = self.api("GET", PREVIEW, key=self.admin_key)
        self.assertProblem(response, 405)
        self.assertEqual("POST", response[1]["allow"])

    def test_preview_counts_everything_and_samples_ten(self):
        created = []
        for i in range(12):
            status, _, record = self.api("POST", CONTACTS, {"first_name": "Many", "last_name":
                                                            "N%02d" % i,
                                                            "tags": ["bulk-preview"]},
                                         key=self.admin_key)
            self.assertEqual(201, status)
            created.append(record["id"])
        try:
            body = self.preview(leaf("tags", "contains", "bulk-preview"))
            self.assertEqual(12, body["count"])
            self.assertEqual(created[:10], [c["id"] for c in body["sample"]])
            self.assertEqual("Many", body["sample"][0]["first_name"])
        finally:
            for contact_id in created:
                self.api("DELETE", "%s/%d" % (CONTACTS, contact_id), key=self.admin_key)

    # ---- the resource

    def test_create_dynamic_and_static_segments(self):
        rule = {"all": [leaf("tags", "contains", "vip")]}
        record = self.create_segment({"name": "VIPs", "rule": rule, "description": "top"})
        self.assertEqual("dynamic", record["kind"])
        self.assertEqual(rule, record["rule"])
        self.assertEqual(self.admin_id, record["owner_id"])
        self.assertEqual(1, record["version"])
        status, headers, fetched = self.api("GET", "%s/%d" % (SEGMENTS, record["id"]),
                                            key=self.admin_key)
        self.assertEqual(record, fetched)
        self.assertEqual('"1"', headers["etag"])
        static = self.create_segment({"name": "Hand-picked"})
        self.assertEqual("static", static["kind"])
        self.assertIsNone(static["rule"])
        explicit = self.create_segment({"name": "Empty dynamic?", "kind": "static"})
        self.assertEqual("static", explicit["kind"])
        status, _, page = self.api("GET", SEGMENTS + "?kind=static", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertTrue(all(s["kind"] == "static" for s in page["data"]))

    def test_segment_rules_on_write(self):
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "x", "kind": "dynamic"},
                                    key=self.admin_key), 422, "rule")
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "x", "kind": "static",
                                                       "rule": leaf("email", "exists")},
                                    key=self.admin_key), 422, "rule")
        self.assertProblem(self.api("POST", SEGMENTS, {"rule": leaf("email", "exists")},
                                    key=self.admin_key), 422, "name")
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "x", "kind": "sometimes"},
                                    key=self.admin_key), 422, "kind")
        body = self.assertProblem(self.api("POST", SEGMENTS, {
            "name": "x", "rule": {"all": [leaf("email", "exists"), leaf("email", "is", 1)]}},
            key=self.admin_key), 422, "rule.all[1].op")
        self.assertNotIn("rule", [e["field"] for e in body["errors"]])
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "x", "rule": "email = 1"},
                                    key=self.admin_key), 422, "rule")
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "x", "members": [1]},
                                    key=self.admin_key), 422, "members")

    def test_change_rule_and_kind(self):
        record = self.create_segment({"name": "Changing", "rule": leaf("first_name", "eq",
                                                                       "Ann")})
        path = "%s/%d" % (SEGMENTS, record["id"])
        status, _, changed = self.api("PATCH", path, {"rule": {"field": "first_name",
                                                               "value": "Bob"}},
                                      key=self.admin_key)
        self.assertEqual(200, status, changed)
        self.assertEqual(leaf("first_name", "eq", "Bob"), changed["rule"])
        self.assertEqual([self.ids["bob"]], self.members(record["id"]))
        self.assertProblem(self.api("PATCH", path, {"rule": {"op": "almost"}},
                                    key=self.admin_key), 422, "rule.op")
        self.assertProblem(self.api("PATCH", path, {"kind": "static"}, key=self.admin_key), 422,
                           "kind")
        self.assertProblem(self.api("PATCH", path, {"rule": None}, key=self.admin_key), 422,
                           "rule")
        status, _, replaced = self.api("PUT", path, {"name": "Replaced",
                                                     "rule": {"any": [leaf("phone", "exists")]}},
                                       key=self.admin_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual("dynamic", replaced["kind"])
        self.assertEqual([self.ids["cy"]], self.members(record["id"]))

    # ---- members

    def test_dynamic_members_are_evaluated_now_and_paged(self):
        record = self.create_segment({"name": "Berlin or VIP",
                                      "rule": leaf("tags", "in", ["berlin", "vip"])})
        expected = sorted([self.ids["ann"], self.ids["bob"], self.ids["dee"]])
        self.assertEqual(expected, self.members(record["id"]))
        self.assertEqual(expected, self.members(record["id"], limit=1))
        self.assertEqual(expected, self.members(record["id"], limit=2))
        status, _, page = self.api("GET", "%s/%d/members?limit=500" % (SEGMENTS, record["id"]),
                                   key=self.admin_key)
        self.assertEqual("Ann", page["data"][0]["first_name"])
        self.assertIsNone(page["next_cursor"])
        # a new matching contact is a member at once
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "New", "tags": ["vip"]},
                                      key=self.admin_key)
        try:
            self.assertEqual(expected + [contact["id"]], self.members(record["id"]))
        finally:
            self.api("DELETE", "%s/%d" % (CONTACTS, contact["id"]), key=self.admin_key)
        self.assertEqual(expected, self.members(record["id"]))

    def test_members_query_parameters(self):
        record = self.create_segment({"name": "params", "rule": leaf("email", "exists")})
        base = "%s/%d/members" % (SEGMENTS, record["id"])
        for query in ("?limit=0", "?limit=501", "?limit=x", "?cursor=nonsense", "?sort=id",
                      "?limit=1&limit=2"):
            self.assertProblem(self.api("GET", base + query, key=self.admin_key), 400)
        for path in ("%s/999999/members" % SEGMENTS, "%s/abc/members" % SEGMENTS,
                     "%s/999999/export" % SEGMENTS):
            self.assertProblem(self.api("GET", path, key=self.admin_key), 404)

    def test_static_members_add_list_remove(self):
        record = self.create_segment({"name": "Static"})
        path = "%s/%d/members" % (SEGMENTS, record["id"])
        self.assertEqual([], self.members(record["id"]))
        some = [self.ids["eve"], self.ids["ann"], self.ids["cy"], self.ids["ann"]]
        status, headers, body = self.api("POST", path, {"contact_ids": some}, key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual({"added": 3}, body)
        self.assertEqual('"2"', headers["etag"])
        status, _, body = self.api("POST", path, {"contact_ids": [self.ids["ann"]]},
                                   key=self.admin_key)
        self.assertEqual({"added": 0}, body)
        expected = sorted([self.ids["ann"], self.ids["cy"], self.ids["eve"]])
        self.assertEqual(expected, self.members(record["id"]))
        self.assertEqual(expected, self.members(record["id"], limit=1))
        self.assertEqual(expected, self.members(record["id"], limit=2))
        status, _, segment = self.api("GET", "%s/%d" % (SEGMENTS, record["id"]),
                                      key=self.admin_key)
        self.assertEqual(2, segment["version"])
        status, _, body = self.api("DELETE", path, {"contact_ids": [self.ids["ann"],
                                                                    self.ids["bob"]]},
                                   key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual({"removed": 1}, body)
        self.assertEqual(sorted([self.ids["cy"], self.ids["eve"]]), self.members(record["id"]))
        # If-Match on the segment's version
        self.assertProblem(self.api("POST", path, {"contact_ids": [self.ids["bob"]]},
                                    key=self.admin_key, headers={"If-Match": '"1"'}), 412)
        status, _, body = self.api("POST", path, {"contact_ids": [self.ids["bob"]]},
                                   key=self.admin_key, headers={"If-Match": '"3"'})
        self.assertEqual(200, status, body)
        # audited
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        try:
            actions = [row[0] for row in connection.execute(
                "SELECT action FROM audit_log WHERE entity = 'segments' AND entity_id = ? "
                "ORDER BY id", (record["id"],))]
        finally:
            connection.close()
        self.assertEqual(["create", "add_members", "remove_members", "add_members"], actions)
        # a deleted contact leaves the segment
        status, _, temp = self.api("POST", CONTACTS, {"first_name": "Temp"}, key=self.admin_key)
        self.api("POST", path, {"contact_ids": [temp["id"]]}, key=self.admin_key)
        self.assertIn(temp["id"], self.members(record["id"]))
        self.api("DELETE", "%s/%d" % (CONTACTS, temp["id"]), key=self.admin_key)
        self.assertNotIn(temp["id"], self.members(record["id"]))
        # deleting the segment removes its members
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (SEGMENTS, record["id"]),
                                       key=self.admin_key)[0])
        self.assertProblem(self.api("GET", path, key=self.admin_key), 404)

    def test_bad_member_changes(self):
        record = self.create_segment({"name": "Static 2"})
        path = "%s/%d/members" % (SEGMENTS, record["id"])
        body = self.assertProblem(self.api("POST", path, {"contact_ids": [self.ids["ann"], 999999,
                                                                          888888]},
                                           key=self.admin_key), 422, "contact_ids[1]")
        self.assertIn("contact_ids[2]", [e["field"] for e in body["errors"]])
        self.assertIn("999999", body["detail"])
        self.assertIn("888888", body["detail"])
        self.assertEqual([], self.members(record["id"]))  # nothing was added
        for bad, field in (({}, "contact_ids"), ({"contact_ids": []}, "contact_ids"),
                           ({"contact_ids": "1"}, "contact_ids"),
                           ({"contact_ids": [1, "2"]}, "contact_ids[1]"),
                           ({"contact_ids": [0]}, "contact_ids[0]"),
                           ({"contact_ids": [1.5]}, "contact_ids[0]"),
                           ({"contact_ids": list(range(1, 1002))}, "contact_ids"),
                           ({"contact_ids": [1], "x": 1}, "x")):
            self.assertProblem(self.api("POST", path, bad, key=self.admin_key), 422, field)
            self.assertProblem(self.api("DELETE", path, bad, key=self.admin_key), 422, field)
        self.assertProblem(self.api("POST", "%s/999999/members" % SEGMENTS,
                                    {"contact_ids": [1]}, key=self.admin_key), 404)
        self.assertProblem(self.api("POST", path, raw=b"[1", key=self.admin_key), 400)
        dynamic = self.create_segment({"name": "dyn", "rule": leaf("email", "exists")})
        self.assertProblem(self.api("POST", "%s/%d/members" % (SEGMENTS, dynamic["id"]),
                                    {"contact_ids": [self.ids["ann"]]}, key=self.admin_key), 409)
        self.assertProblem(self.api("DELETE", "%s/%d/members" % (SEGMENTS, dynamic["id"]),
                                    {"contact_ids": [self.ids["ann"]]}, key=self.admin_key), 409)

    # ---- permissions

    def test_read_scope_on_contacts_limits_counts_members_and_export(self):
        own_contacts = {"dee", "eve"}
        rule = leaf("id", "in", list(self.ids.values()))
        self.assertEqual(5, self.preview(rule)["count"])
        self.assertEqual(own_contacts, self.matches(rule, key=self.own_key))
        self.assertEqual(2, self.preview(rule, key=self.own_key)["count"])
        self.assertMatches({"eve"}, leaf("lifecycle", "eq", "churned"), key=self.own_key)
        self.assertMatches(set(), leaf("first_name", "eq", "Ann"), key=self.own_key)
        dynamic = self.create_segment({"name": "all five", "rule": rule})
        own_ids = sorted(self.ids[n] for n in own_contacts)
        self.assertEqual(own_ids, self.members(dynamic["id"], key=self.own_key))
        self.assertEqual(sorted(self.ids.values()), self.members(dynamic["id"], key=self.rep_key))
        static = self.create_segment({"name": "static five"})
        self.api("POST", "%s/%d/members" % (SEGMENTS, static["id"]),
                 {"contact_ids": list(self.ids.values())}, key=self.admin_key)
        self.assertEqual(own_ids, self.members(static["id"], key=self.own_key, limit=1))
        status, _, text = self.api("GET", "%s/%d/export" % (SEGMENTS, static["id"]),
                                   key=self.own_key)
        self.assertEqual(200, status)
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(own_ids, [int(r["id"]) for r in rows])

    def test_member_changes_need_write_scope_and_readable_contacts(self):
        admins = self.create_segment({"name": "admin's"})
        path = "%s/%d/members" % (SEGMENTS, admins["id"])
        self.assertProblem(self.api("POST", path, {"contact_ids": [self.ids["ann"]]},
                                    key=self.rep_key), 403)
        self.assertProblem(self.api("POST", path, {"contact_ids": [self.ids["ann"]]},
                                    key=self.viewer_key), 403)
        own = self.create_segment({"name": "own's"}, key=self.own_key)
        self.assertEqual(self.own_id, own["owner_id"])
        own_path = "%s/%d/members" % (SEGMENTS, own["id"])
        body = self.assertProblem(self.api("POST", own_path,
                                           {"contact_ids": [self.ids["dee"], self.ids["ann"]]},
                                           key=self.own_key), 422, "contact_ids[1]")
        self.assertIn(str(self.ids["ann"]), body["detail"])
        status, _, body = self.api("POST", own_path, {"contact_ids": [self.ids["dee"]]},
                                   key=self.own_key)
        self.assertEqual(200, status, body)
        self.assertEqual([self.ids["dee"]], self.members(own["id"], key=self.own_key))

    def test_viewer_may_preview_but_not_create(self):
        self.assertMatches({"ann"}, leaf("first_name", "eq", "Ann"), key=self.viewer_key)
        self.assertProblem(self.api("POST", SEGMENTS, {"name": "v"}, key=self.viewer_key), 403)

    def test_no_read_scope_on_contacts_is_403(self):
        harness.crmctl(self.server.db_path, "role", "create", "blind", "--from", "viewer")
        harness.crmctl(self.server.db_path, "role", "grant", "blind", "contacts", "read", "none")
        _, key = self.make_user("blind@example.com", "blind")
        self.assertProblem(self.api("POST", PREVIEW, {"rule": leaf("email", "exists")}, key=key),
                           403)
        record = self.create_segment({"name": "for blind", "rule": leaf("email", "exists")})
        self.assertProblem(self.api("GET", "%s/%d/members" % (SEGMENTS, record["id"]), key=key),
                           403)
        self.assertProblem(self.api("GET", "%s/%d/export" % (SEGMENTS, record["id"]), key=key),
                           403)

    # ---- CSV export

    def test_csv_export_escapes_cells(self):
        tricky = [
            {"first_name": "=HYPERLINK(\"http://evil\")", "last_name": "+1", "title": "-2",
             "source": "@SUM(A1)", "tags": ["a,b", "q\"uote"], "external_id": "csv-1"},
            {"first_name": "Multi", "last_name": "Comma, Quote \"x\"", "phone": "+49 30 5",
             "email": "multi@example.com", "external_id": "csv-2"},
        ]
        ids = []
        for body in tricky:
            status, _, record = self.api("POST", CONTACTS, body, key=self.admin_key)
            self.assertEqual(201, status, record)
            ids.append(record["id"])
        segment = self.create_segment({"name": "csv", "rule": leaf("external_id", "in",
                                                                   ["csv-1", "csv-2"])})
        try:
            status, headers, text = self.api("GET", "%s/%d/export" % (SEGMENTS, segment["id"]),
                                             key=self.admin_key)
            self.assertEqual(200, status, text)
            self.assertTrue(headers["content-type"].startswith("text/csv"))
            self.assertIn("attachment", headers.get("content-disposition", ""))
            self.assertTrue(text.startswith("id,first_name,last_name,email,"))
            self.assertIn("\r\n", text)
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            self.assertEqual(ids, [int(r["id"]) for r in rows])
            first, second = rows
            self.assertEqual("'=HYPERLINK(\"http://evil\")", first["first_name"])
            self.assertEqual("'+1", first["last_name"])
            self.assertEqual("'-2", first["title"])
            self.assertEqual("'@SUM(A1)", first["source"])
            self.assertEqual("a,b; q\"uote", first["tags"])
            self.assertEqual("", first["email"])
            self.assertEqual("Comma, Quote \"x\"", second["last_name"])
            # issue 18: a phone number is text to a spreadsheet, shown without a quote
            self.assertEqual("=\"+49 30 5\"", second["phone"])
            self.assertEqual("multi@example.com", second["email"])
            for row in rows:
                for name, value in row.items():
                    if name == "phone" and value:
                        self.assertRegex(value, r'^="[+-][0-9 ()./+-]*"$')
                        continue
                    self.assertFalse(value[:1] in ("=", "+", "-", "@", "\t", "\r"),
                                     "%s=%r" % (name, value))
            # crmctl prints the same (the harness reads its stdout with universal newlines)
            result = self.crmctl("segment", "export", str(segment["id"]))
            self.assertEqual(text.replace("\r\n", "\n"), result.stdout)
        finally:
            for contact_id in ids:
                self.api("DELETE", "%s/%d" % (CONTACTS, contact_id), key=self.admin_key)

    def test_csv_export_for_people(self):
        """issue 18: company and owner names beside their ids, tier and predicted LTV; phone
        numbers that cannot be formulas need no quote, others keep their guard."""
        status, _, company = self.api("POST", "/api/v1/companies",
                                      {"name": "Acme, Inc.", "owner_id": self.admin_id},
                                      key=self.admin_key)
        self.assertEqual(201, status, company)
        self.assertEqual(200, self.api("PATCH", "%s/%d" % (CONTACTS, self.ids["ann"]),
                                       {"company_id": company["id"], "phone": "+1 (555) 010-0"},
                                       key=self.admin_key)[0])
        self.assertEqual(200, self.api("PATCH", "%s/%d" % (CONTACTS, self.ids["bob"]),
                                       {"phone": "+cmd|' /C calc'!A0"}, key=self.admin_key)[0])
        try:
            segment = self.create_segment({"name": "people csv", "rule": leaf(
                "id", "in", [self.ids["ann"], self.ids["bob"], self.ids["dee"]])})
            path = "%s/%d/export" % (SEGMENTS, segment["id"])
            status, _, text = self.api("GET", path, key=self.admin_key)
            self.assertEqual(200, status, text)
            header = text.split("\r\n", 1)[0].split(",")
            self.assertEqual(["company_id", "company", "owner_id", "owner"], header[6:10])
            self.assertIn("tier", header)
            self.assertIn("predicted_ltv_cents", header)
            rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(text, newline=""))}
            ann, bob, dee = (rows[self.ids[n]] for n in ("ann", "bob", "dee"))
            self.assertEqual("Acme, Inc.", ann["company"])
            self.assertEqual("Admin", ann["owner"])
            self.assertEqual("own", dee["owner"])
            self.assertEqual("", dee["company"])
            analytics = self.api("GET", "%s/%d/analytics" % (CONTACTS, self.ids["ann"]),
                                 key=self.admin_key)[2]
            self.assertEqual(analytics["tier"], ann["tier"])
            self.assertEqual(str(analytics["predicted_ltv_cents"]), ann["predicted_ltv_cents"])
            self.assertEqual(("", ""), (dee["tier"], dee["predicted_ltv_cents"]))
            self.assertEqual("=\"+1 (555) 010-0\"", ann["phone"])
            self.assertEqual("'+cmd|' /C calc'!A0", bob["phone"], "a formula stays guarded")
            # A caller who may read only their own companies sees no other company's name.
            harness.crmctl(self.server.db_path, "role", "grant", "ownrep", "companies", "read",
                           "own")
            status, _, own_text = self.api("GET", path, key=self.rep_key)
            self.assertEqual(200, status)
            self.assertIn("Acme, Inc.", own_text, "a rep reads every company")
            status, _, own_text = self.api("GET", path, key=self.own_key)
            self.assertEqual(200, status)
            self.assertNotIn("Acme", own_text)
        finally:
            harness.crmctl(self.server.db_path, "role", "grant", "ownrep", "companies", "read",
                           "all")
            self.api("PATCH", "%s/%d" % (CONTACTS, self.ids["ann"]),
                     {"company_id": None, "phone": None}, key=self.admin_key)
            self.api("PATCH", "%s/%d" % (CONTACTS, self.ids["bob"]), {"phone": None},
                     key=self.admin_key)

    def test_crmctl_segment_export_errors(self):
        result = self.crmctl("segment", "export", "999999", check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("no segment", result.stderr)
        self.assertEqual(2, self.crmctl("segment", "export", "abc", check=False).returncode)
        self.assertEqual(2, self.crmctl("segment", "export", check=False).returncode)
        help_result = self.crmctl("segment", "export", "--help")
        self.assertIn("segment export ID", help_result.stdout)
        static = self.create_segment({"name": "static csv"})
        self.api("POST", "%s/%d/members" % (SEGMENTS, static["id"]),
                 {"contact_ids": [self.ids["bob"], self.ids["ann"]]}, key=self.admin_key)
        lines = self.crmctl("segment", "export", str(static["id"])).stdout.splitlines()
        self.assertEqual(3, len(lines))
        self.assertEqual([str(self.ids["ann"]), str(self.ids["bob"])],
                         [line.split(",")[0] for line in lines[1:]])


from test_webhooks import WebhookTestCase  # noqa: E402 (the receiver and its helpers)


class MembershipsGoWithTheirContactTest(WebhookTestCase):
    """A static membership that a contact's delete or merge takes away (or moves) is a
    member change of its segment like a manual one: version + 1, an audit entry (segments,
    remove_members / add_members) and the segment.member_removed / member_added event."""

    def audit(self, segment_id):
        return [(action, json.loads(before) if before else None,
                 json.loads(after) if after else None)
                for action, before, after in harness.sql_rows(
                    self.server.db_path, "SELECT action, before, after FROM audit_log WHERE "
                    "entity = 'segments' AND entity_id = ? AND action LIKE '%_members' "
                    "ORDER BY id", segment_id)]

    def segment_with(self, name, contact_ids):
        segment = self.create(SEGMENTS, {"name": name, "kind": "static"})
        status, _, added = self.api("POST", "%s/%d/members" % (SEGMENTS, segment["id"]),
                                    {"contact_ids": contact_ids}, key=self.admin_key)
        self.assertEqual((200, len(contact_ids)), (status, added["added"]), added)
        return segment

    def version(self, segment_id):
        status, _, segment = self.api("GET", "%s/%d" % (SEGMENTS, segment_id),
                                      key=self.admin_key)
        self.assertEqual(200, status, segment)
        return segment["version"]

    def test_deleting_a_contact_audits_and_announces_each_membership(self):
        webhook, receiver = self.hook(events=["segment.member_removed"])
        gone = self.create(CONTACTS, {"first_name": "Gone"})
        stays = self.create(CONTACTS, {"first_name": "Stays"})
        first = self.segment_with("Cascade one", [gone["id"], stays["id"]])
        second = self.segment_with("Cascade two", [gone["id"]])
        versions = (self.version(first["id"]), self.version(second["id"]))
        status, _, _ = self.api("DELETE", "%s/%d" % (CONTACTS, gone["id"]), key=self.admin_key)
        self.assertEqual(204, status)
        for segment in (first, second):
            self.assertEqual(("remove_members", {"contact_ids": [gone["id"]], "removed": 1},
                              None), self.audit(segment["id"])[-1])
        user_ids = harness.sql_rows(self.server.db_path,
                                    "SELECT DISTINCT user_id, actor FROM audit_log WHERE "
                                    "entity = 'segments' AND action = 'remove_members'")
        self.assertEqual([(self.admin_id, "api")], user_ids)
        self.assertEqual((versions[0] + 1, versions[1] + 1),
                         (self.version(first["id"]), self.version(second["id"])))
        self.wait_settled(webhook)
        self.assertEqual([("segment.member_removed", {"segment_id": first["id"],
                                                      "contact_id": gone["id"]}),
                          ("segment.member_removed", {"segment_id": second["id"],
                                                      "contact_id": gone["id"]})],
                         [(event, payload["data"]) for event, payload in receiver.events()])
        status, _, page = self.api("GET", "%s/%d/members" % (SEGMENTS, first["id"]),
                                   key=self.admin_key)
        self.assertEqual([stays["id"]], [contact["id"] for contact in page["data"]])

    def test_erasing_a_contact_audits_and_announces_each_membership(self):
        _, receiver = self.hook(events=["segment.member_removed"])
        erased = self.create(CONTACTS, {"first_name": "Erased"})
        segment = self.segment_with("Erasure", [erased["id"]])
        version = self.version(segment["id"])
        status, _, body = self.api("POST", "%s/%d/erase" % (CONTACTS, erased["id"]), {},
                                   key=self.admin_key)
        self.assertEqual(204, status, body)
        self.assertEqual(("remove_members", {"contact_ids": [erased["id"]], "removed": 1},
                          None), self.audit(segment["id"])[-1])
        self.assertEqual(version + 1, self.version(segment["id"]))
        receiver.wait_for(1)
        self.assertEqual([("segment.member_removed", {"segment_id": segment["id"],
                                                      "contact_id": erased["id"]})],
                         [(event, payload["data"]) for event, payload in receiver.events()])
        (summary,) = harness.sql_rows(self.server.db_path, "SELECT after FROM audit_log WHERE "
                                      "entity = 'contacts' AND entity_id = ? AND action = "
                                      "'erase'", erased["id"])[0]
        self.assertEqual(1, json.loads(summary)["segment_memberships"])

    def test_a_merge_moves_memberships_audited_and_announced(self):
        kept = self.create(CONTACTS, {"first_name": "Kept"})
        other = self.create(CONTACTS, {"first_name": "Other"})
        both = self.segment_with("Both in it", [kept["id"], other["id"]])
        only_other = self.segment_with("Only the other", [other["id"]])
        webhook, receiver = self.hook(events=["segment.member_removed", "segment.member_added"])
        status, _, merged = self.api("POST", "%s/%d/merge" % (CONTACTS, kept["id"]),
                                     {"from": [other["id"]]}, key=self.admin_key)
        self.assertEqual(200, status, merged)
        self.assertEqual([("add_members", None, {"contact_ids": [kept["id"], other["id"]],
                                                 "added": 2}),
                          ("remove_members", {"contact_ids": [other["id"]], "removed": 1},
                           None)], self.audit(both["id"]))
        self.assertEqual([("add_members", None, {"contact_ids": [other["id"]], "added": 1}),
                          ("remove_members", {"contact_ids": [other["id"]], "removed": 1},
                           None),
                          ("add_members", None, {"contact_ids": [kept["id"]], "added": 1})],
                         self.audit(only_other["id"]))
        self.wait_settled(webhook)
        self.assertEqual(
            [("segment.member_removed", {"segment_id": both["id"], "contact_id": other["id"]}),
             ("segment.member_removed", {"segment_id": only_other["id"],
                                         "contact_id": other["id"]}),
             ("segment.member_added", {"segment_id": only_other["id"],
                                       "contact_id": kept["id"]})],
            [(event, payload["data"]) for event, payload in receiver.events()])
        for segment in (both, only_other):
            status, _, page = self.api("GET", "%s/%d/members" % (SEGMENTS, segment["id"]),
                                       key=self.admin_key)
            self.assertEqual([kept["id"]], [contact["id"] for contact in page["data"]])
