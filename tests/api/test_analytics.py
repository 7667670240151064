"""test_analytics.py - the analytics endpoints (API.md section 5, issue 4):
GET contacts/{id}/analytics, GET analytics/ltv, GET analytics/tiers, GET analytics/summary and
POST analytics/refit: the figures follow every write at once (purchases and interactions
through the API, deletes, settings), as_of ignores later history, horizon_days, the query
rules (400), 404 for unknown and unreadable contacts, rankings and counts only over the
contacts the caller may read, refit for administrators only, and the model's fallback
reported when there is too little data to fit."""
import concurrent.futures
import datetime
import sqlite3
import time

import harness

CONTACTS = "/api/v1/contacts"
PURCHASES = "/api/v1/purchases"
INTERACTIONS = "/api/v1/interactions"
TIER_NAMES = {"platinum", "gold", "silver", "bronze"}
STAGES = {"contact", "involvement", "intimacy", "deterioration", "repair", "dissolution"}
VALUE_CLASSES = {"high_value_high_service", "high_value_low_service", "low_value_potential",
                 "low_value_high_service"}


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def days_ago(days, hour=12):
    day = today() - datetime.timedelta(days=days)
    return "%sT%02d:00:00Z" % (day.isoformat(), hour)


class AnalyticsTestCase(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "analytics", "read", "own")
        harness.crmctl(db, "role", "create", "noanalytics", "--from", "rep")
        harness.crmctl(db, "role", "grant", "noanalytics", "analytics", "read", "none")
        cls.owner_id, cls.owner_key = cls.make_user("own@example.com", "ownreader")
        cls.blind_id, cls.blind_key = cls.make_user("blind@example.com", "noanalytics")
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.manager_id, cls.manager_key = cls.make_user("manager@example.com", "manager",
                                                        team="east")
        harness.crmctl(db, "role", "create", "teamreader", "--from", "manager")
        harness.crmctl(db, "role", "grant", "teamreader", "analytics", "read", "team")
        cls.team_id, cls.team_key = cls.make_user("team@example.com", "teamreader",
                                                  team="east")

    # ---- helpers

    def contact(self, owner_id=None, **fields):
        body = dict({"first_name": "Ann"}, **fields)
        if owner_id is not None:
            body["owner_id"] = owner_id
        status, _, record = self.api("POST", CONTACTS, body, key=self.admin_key)
        self.assertEqual(201, status, record)
        return record["id"]

    def purchase(self, contact_id, cents, occurred_at):
        status, _, record = self.api("POST", PURCHASES,
                                     {"contact_id": contact_id, "amount_cents": cents,
                                      "currency": "EUR", "occurred_at": occurred_at},
                                     key=self.admin_key)
        self.assertEqual(201, status, record)
        return record["id"]

    def interaction(self, contact_id, occurred_at, kind="call", direction="outbound"):
        status, _, record = self.api("POST", INTERACTIONS,
                                     {"contact_id": contact_id, "kind": kind,
                                      "direction": direction, "occurred_at": occurred_at},
                                     key=self.admin_key)
        self.assertEqual(201, status, record)
        return record["id"]

    def analytics(self, contact_id, query="", key=None, expect=200):
        status, _, body = self.api("GET", "%s/%d/analytics%s" % (CONTACTS, contact_id, query),
                                   key=key or self.admin_key)
        self.assertEqual(expect, status, body)
        return body

    def get(self, path, key=None, expect=200):
        status, _, body = self.api("GET", path, key=key or self.admin_key)
        self.assertEqual(expect, status, body)
        return body

    def sql(self, statement, *args):
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        try:
            with connection:
                return connection.execute(statement, args).fetchall()
        finally:
            connection.close()


class ContactAnalyticsTest(AnalyticsTestCase):
    def test_contact_without_history(self):
        contact = self.contact()
        body = self.analytics(contact)
        self.assertEqual(contact, body["contact_id"])
        self.assertEqual(today().isoformat(), body["as_of"])
        self.assertEqual(365, body["horizon_days"])
        self.assertEqual(0, body["historical_ltv_cents"])
        self.assertEqual(0, body["predicted_ltv_cents"])
        self.assertEqual(0, body["purchases_count"])
        for name in ("first_purchase_at", "last_purchase_at", "recency_days", "rfm", "p_alive",
                     "churn_risk", "tier", "value_class"):
            self.assertIsNone(body[name], name)
        self.assertEqual("none", body["loyalty"])
        self.assertEqual("contact", body["relationship_stage"])

    def test_figures_follow_purchases_at_once(self):
        contact = self.contact()
        # Every 30 days, the last 10 days ago: a repeat customer on rhythm.
        self.purchase(contact, 5000, days_ago(70))
        body = self.analytics(contact)
        self.assertEqual(1, body["purchases_count"])
        self.assertEqual(5000, body["historical_ltv_cents"])
        self.assertEqual("involvement", body["relationship_stage"])
        self.assertEqual("none", body["loyalty"])
        self.purchase(contact, 3000, days_ago(40))
        self.purchase(contact, 1000, days_ago(10, hour=8))
        self.purchase(contact, 1000, days_ago(10, hour=18))  # the same day: one purchase day
        body = self.analytics(contact)
        self.assertEqual(4, body["purchases_count"])
        self.assertEqual(3, body["purchase_days"])
        self.assertEqual(10000, body["historical_ltv_cents"])
        self.assertEqual(10000, body["total_cents"])
        self.assertEqual(2500, body["average_order_cents"])
        self.assertEqual(days_ago(70), body["first_purchase_at"])
        self.assertEqual(days_ago(10, hour=18), body["last_purchase_at"])
        self.assertEqual(10, body["recency_days"])
        self.assertEqual("active", body["loyalty"])
        self.assertEqual("intimacy", body["relationship_stage"])
        self.assertRegex(body["rfm"]["score"], r"^[1-5]{3}$")
        self.assertEqual("%d%d%d" % (body["rfm"]["r"], body["rfm"]["f"], body["rfm"]["m"]),
                         body["rfm"]["score"])
        self.assertGreaterEqual(body["p_alive"], 0.0)
        self.assertLessEqual(body["p_alive"], 1.0)
        self.assertAlmostEqual(1.0 - body["p_alive"], body["churn_risk"], places=12)
        self.assertIn(body["tier"], TIER_NAMES)
        self.assertIn(body["value_class"], VALUE_CLASSES)
        self.assertGreater(body["predicted_ltv_cents"], 0)
        self.assertIn("method", body["model"])
        self.assertIn("converged", body["model"])

    def test_interactions_count_and_change_the_stage(self):
        contact = self.contact()
        self.interaction(contact, days_ago(3))
        self.interaction(contact, days_ago(2), kind="ticket", direction="inbound")
        body = self.analytics(contact)
        self.assertEqual(2, body["interactions_count"])
        self.assertEqual(1, body["service_interactions"])
        self.assertEqual(days_ago(2), body["last_interaction_at"])
        self.assertEqual("contact", body["relationship_stage"])
        third = self.interaction(contact, days_ago(1))
        self.assertEqual("involvement", self.analytics(contact)["relationship_stage"])
        status, _, _ = self.api("DELETE", "%s/%d" % (INTERACTIONS, third), key=self.admin_key)
        self.assertEqual(204, status)
        body = self.analytics(contact)
        self.assertEqual(2, body["interactions_count"])
        self.assertEqual("contact", body["relationship_stage"])

    def test_overdue_customer_deteriorates_then_repair_starts_with_a_call(self):
        contact = self.contact()
        for days in (100, 80, 60):  # rhythm 20 days, 60 days ago: overdue (> 30, <= 80)
            self.purchase(contact, 2000, days_ago(days))
        body = self.analytics(contact)
        self.assertEqual("deterioration", body["relationship_stage"])
        self.assertEqual("passive", body["loyalty"])
        self.interaction(contact, days_ago(1), kind="call")
        self.assertEqual("repair", self.analytics(contact)["relationship_stage"])

    def test_deleting_and_changing_purchases(self):
        contact = self.contact()
        first = self.purchase(contact, 4000, days_ago(20))
        second = self.purchase(contact, 6000, days_ago(5))
        self.assertEqual(10000, self.analytics(contact)["historical_ltv_cents"])
        status, _, _ = self.api("PATCH", "%s/%d" % (PURCHASES, second), {"amount_cents": 1000},
                                key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(5000, self.analytics(contact)["historical_ltv_cents"])
        status, _, _ = self.api("DELETE", "%s/%d" % (PURCHASES, first), key=self.admin_key)
        self.assertEqual(204, status)
        body = self.analytics(contact)
        self.assertEqual(1, body["purchases_count"])
        self.assertEqual(1000, body["historical_ltv_cents"])
        self.assertEqual(days_ago(5), body["first_purchase_at"])
        status, _, _ = self.api("DELETE", "%s/%d" % (PURCHASES, second), key=self.admin_key)
        self.assertEqual(204, status)
        body = self.analytics(contact)
        self.assertEqual(0, body["purchases_count"])
        self.assertIsNone(body["tier"])
        self.assertEqual([], self.sql("SELECT * FROM contact_summaries WHERE contact_id = ?",
                                      contact))

    def test_as_of_ignores_later_history(self):
        contact = self.contact()
        self.purchase(contact, 1000, "2020-01-10T10:00:00Z")
        self.purchase(contact, 2000, "2020-03-10T10:00:00Z")
        self.purchase(contact, 4000, days_ago(1))
        self.interaction(contact, "2020-02-01T10:00:00Z")
        body = self.analytics(contact, "?as_of=2020-02-15")
        self.assertEqual("2020-02-15", body["as_of"])
        self.assertEqual(1, body["purchases_count"])
        self.assertEqual(1000, body["historical_ltv_cents"])
        self.assertEqual("2020-01-10T10:00:00Z", body["last_purchase_at"])
        self.assertEqual(36, body["recency_days"])
        self.assertEqual("2020-02-01T10:00:00Z", body["last_interaction_at"])
        # The as-of day counts to its end; a timestamp means its day.
        self.assertEqual(2, self.analytics(contact, "?as_of=2020-03-10")["purchases_count"])
        self.assertEqual(2, self.analytics(contact, "?as_of=2020-03-10T00:00:00Z")
                         ["purchases_count"])
        self.assertEqual(0, self.analytics(contact, "?as_of=2019-12-31")["purchases_count"])
        self.assertEqual(3, self.analytics(contact)["purchases_count"])

    def test_horizon_days(self):
        contact = self.contact()
        for days in (300, 200, 100, 10):
            self.purchase(contact, 2500, days_ago(days))
        short = self.analytics(contact, "?horizon_days=30")
        year = self.analytics(contact)
        longer = self.analytics(contact, "?horizon_days=730")
        self.assertEqual(30, short["horizon_days"])
        self.assertLessEqual(short["predicted_ltv_cents"], year["predicted_ltv_cents"])
        self.assertLess(year["predicted_ltv_cents"], longer["predicted_ltv_cents"])
        self.assertLess(short["expected_purchases"], longer["expected_purchases"])
        # The tier is the configured horizon's, whatever is asked.
        self.assertEqual(year["tier"], short["tier"])
        self.assertEqual(year["historical_ltv_cents"], longer["historical_ltv_cents"])

    def test_bad_queries_are_400(self):
        contact = self.contact()
        for query in ("?horizon_days=0", "?horizon_days=3651", "?horizon_days=abc",
                      "?horizon_days=1.5", "?horizon_days=", "?as_of=yesterday",
                      "?as_of=2020-02-30", "?as_of=1970-01-01", "?colour=red",
                      "?horizon_days=30&horizon_days=40", "?limit=5"):
            self.assertProblem(self.api("GET", "%s/%d/analytics%s" % (CONTACTS, contact, query),
                                        key=self.admin_key), 400)

    def test_unknown_and_unreadable_contacts_are_404(self):
        for path in ("/999999/analytics", "/abc/analytics", "/0/analytics"):
            self.assertProblem(self.api("GET", CONTACTS + path, key=self.admin_key), 404)
        theirs = self.contact(owner_id=self.admin_id)
        mine = self.contact(owner_id=self.owner_id)
        self.assertProblem(self.api("GET", "%s/%d/analytics" % (CONTACTS, theirs),
                                    key=self.owner_key), 404)
        self.analytics(mine, key=self.owner_key)
        # Contacts readable, analytics not: the same 404.
        self.assertProblem(self.api("GET", "%s/%d/analytics" % (CONTACTS, theirs),
                                    key=self.blind_key), 404)
        self.analytics(theirs, key=self.viewer_key)

    def test_needs_authentication(self):
        contact = self.contact()
        status, headers, _ = self.api("GET", "%s/%d/analytics" % (CONTACTS, contact))
        self.assertEqual(401, status)
        for path in ("/api/v1/analytics/ltv", "/api/v1/analytics/tiers",
                     "/api/v1/analytics/summary"):
            self.assertEqual(401, self.api("GET", path)[0])
        self.assertEqual(401, self.api("POST", "/api/v1/analytics/refit")[0])


class RankingsTest(AnalyticsTestCase):
    """A base of 30 customers: 20 of the admin's, 10 of the own-scope reader's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        test = cls("run")
        cls.admins, cls.owners = [], []
        for i in range(30):
            owner = cls.admin_id if i < 20 else cls.owner_id
            contact = test.contact(owner_id=owner, last_name="C%d" % i)
            (cls.admins if i < 20 else cls.owners).append(contact)
            for k in range(1 + i % 4):
                test.purchase(contact, 1000 * (1 + i), days_ago(200 - 40 * k - i))

    def test_ltv_ranking(self):
        body = self.get("/api/v1/analytics/ltv?limit=10")
        self.assertEqual(10, len(body["data"]))
        self.assertEqual(10, body["limit"])
        self.assertEqual(365, body["horizon_days"])
        values = [row["predicted_ltv_cents"] for row in body["data"]]
        self.assertEqual(sorted(values, reverse=True), values)
        row = body["data"][0]
        for name in ("contact_id", "historical_ltv_cents", "purchases_count", "tier", "rfm",
                     "p_alive", "churn_risk", "first_name", "last_name", "last_purchase_at"):
            self.assertIn(name, row)
        for name in ("r", "alpha", "a", "b"):
            self.assertIn(name, body["model"]["bgnbd"])
        for name in ("p", "q", "v"):
            self.assertIn(name, body["model"]["gamma_gamma"])
        self.assertEqual(100, self.get("/api/v1/analytics/ltv")["limit"])
        everybody = self.get("/api/v1/analytics/ltv?limit=500")["data"]
        self.assertGreaterEqual(len(everybody), 30)
        # Each row agrees with the contact's own analytics.
        one = self.analytics(row["contact_id"])
        self.assertEqual(one["predicted_ltv_cents"], row["predicted_ltv_cents"])
        self.assertEqual(one["tier"], row["tier"])
        self.assertEqual(one["rfm"]["score"], row["rfm"])

    def test_ltv_for_another_horizon(self):
        year = self.get("/api/v1/analytics/ltv?limit=500")["data"]
        month = self.get("/api/v1/analytics/ltv?limit=500&horizon_days=30")
        self.assertEqual(30, month["horizon_days"])
        values = [row["predicted_ltv_cents"] for row in month["data"]]
        self.assertEqual(sorted(values, reverse=True), values)
        self.assertEqual(len(year), len(month["data"]))
        by_id = {row["contact_id"]: row for row in year}
        for row in month["data"]:
            self.assertLessEqual(row["predicted_ltv_cents"],
                                 by_id[row["contact_id"]]["predicted_ltv_cents"])
            self.assertEqual(by_id[row["contact_id"]]["tier"], row["tier"])
        contact = month["data"][3]["contact_id"]
        self.assertEqual(self.analytics(contact, "?horizon_days=30")["predicted_ltv_cents"],
                         month["data"][3]["predicted_ltv_cents"])

    def test_rankings_cover_readable_contacts_only(self):
        for query in ("?limit=500", "?limit=500&horizon_days=90"):
            rows = self.get("/api/v1/analytics/ltv" + query, key=self.owner_key)["data"]
            self.assertEqual(sorted(self.owners), sorted(row["contact_id"] for row in rows))
        tiers = self.get("/api/v1/analytics/tiers", key=self.owner_key)
        self.assertEqual(10, tiers["customers"])
        summary = self.get("/api/v1/analytics/summary", key=self.owner_key)
        self.assertEqual(10, summary["customers"])
        self.assertEqual(10, summary["contacts"])
        # Team scope: the team "east" owns no customers at first: none, but no error ...
        self.assertEqual(0, self.get("/api/v1/analytics/tiers", key=self.team_key)["customers"])
        self.assertEqual([], self.get("/api/v1/analytics/ltv", key=self.team_key)["data"])
        self.assertEqual(0, self.get("/api/v1/analytics/summary", key=self.team_key)["customers"])
        # ... then the manager of the team gets a customer: the team member sees it.
        teams = self.contact(owner_id=self.manager_id)
        self.purchase(teams, 1234, days_ago(3))
        rows = self.get("/api/v1/analytics/ltv", key=self.team_key)["data"]
        self.assertEqual([teams], [row["contact_id"] for row in rows])
        self.assertEqual(1, self.get("/api/v1/analytics/tiers", key=self.team_key)["customers"])
        # A manager reads all (the default grants).
        for key in (self.viewer_key, self.manager_key):
            self.assertEqual(self.get("/api/v1/analytics/tiers")["customers"],
                             self.get("/api/v1/analytics/tiers", key=key)["customers"])

    def test_base_wide_metadata_only_for_the_whole_base(self):
        """Issue 16: the model (base-wide customer count, mean spend, parameters) and the tier
        thresholds (cut over the whole base) went to a rep scoped to their own contacts."""
        ltv = self.get("/api/v1/analytics/ltv?limit=500")
        self.assertEqual(30, ltv["model"]["customers"])
        self.assertIn("mean_spend_cents", ltv["model"])
        tiers = self.get("/api/v1/analytics/tiers")
        self.assertTrue(all(tier["threshold_cents"] is not None for tier in tiers["tiers"]))
        for key in (self.viewer_key, self.manager_key):  # read scope "all": as the admin
            self.assertEqual(ltv["model"], self.get("/api/v1/analytics/ltv", key=key)["model"])
            self.assertEqual(tiers["tiers"], self.get("/api/v1/analytics/tiers", key=key)["tiers"])
        brief = {name: ltv["model"][name] for name in ("method", "converged", "fitted_at")}
        for key, customers in ((self.owner_key, 10), (self.team_key, None)):
            for query in ("?limit=500", "?limit=500&horizon_days=90"):
                scoped = self.get("/api/v1/analytics/ltv" + query, key=key)
                self.assertEqual(brief, scoped["model"])  # how, not the base's figures
            scoped = self.get("/api/v1/analytics/tiers", key=key)
            self.assertEqual([None] * len(tiers["tiers"]),
                             [tier["threshold_cents"] for tier in scoped["tiers"]])
            if customers is not None:  # the counts are the caller's own
                self.assertEqual(customers, scoped["customers"])
        # one contact's analytics: the same model as the ranking shows the caller
        mine = self.owners[0]
        scoped = self.analytics(mine, key=self.owner_key)["model"]
        self.assertEqual(dict(brief, used=scoped["used"]), scoped)
        self.assertEqual(30, self.analytics(mine, key=self.viewer_key)["model"]["customers"])

    def test_no_analytics_scope_is_403(self):
        for path in ("/api/v1/analytics/ltv", "/api/v1/analytics/tiers",
                     "/api/v1/analytics/summary"):
            self.assertProblem(self.api("GET", path, key=self.blind_key), 403)

    def test_tiers(self):
        body = self.get("/api/v1/analytics/tiers")
        self.assertEqual("share", body["basis"])
        self.assertEqual("predicted_ltv_cents", body["metric"])
        self.assertEqual(["platinum", "gold", "silver", "bronze"],
                         [tier["name"] for tier in body["tiers"]])
        customers = self.sql("SELECT count(*) FROM contact_summaries WHERE purchases_count > 0")[0][0]
        self.assertEqual(customers, body["customers"])
        self.assertEqual(customers, sum(tier["members"] for tier in body["tiers"]))
        self.assertAlmostEqual(1.0, sum(tier["revenue_share"] for tier in body["tiers"]), places=9)
        revenue = self.sql("SELECT sum(total_cents) FROM contact_summaries")[0][0]
        self.assertEqual(revenue, body["revenue_cents"])
        thresholds = [tier["threshold_cents"] for tier in body["tiers"]]
        self.assertEqual(sorted(thresholds, reverse=True), thresholds)
        self.assertEqual([0.05, 0.15, 0.3, None], [tier["share"] for tier in body["tiers"]])
        # Top 5 % of n customers is ceil(0.05 n) (more only on ties at the threshold).
        self.assertGreaterEqual(body["tiers"][0]["members"], 1)

    def test_summary(self):
        contact = self.contact()
        self.purchase(contact, 777, days_ago(0))
        body = self.get("/api/v1/analytics/summary")
        self.assertEqual("month", body["period"])
        self.assertEqual(today().isoformat(), body["as_of"])
        self.assertEqual(today().replace(day=1).isoformat(), body["this_period"]["from"])
        self.assertEqual(today().isoformat(), body["this_period"]["to"])
        self.assertGreaterEqual(body["this_period"]["revenue_cents"], 777)
        self.assertGreaterEqual(body["this_period"]["new_customers"], 1)
        for name in ("customers", "contacts", "historical_ltv_cents", "predicted_ltv_cents",
                     "average_order_value_cents", "tiers", "churn_risk", "loyalty",
                     "relationship_stages", "value_classes", "last_period", "model"):
            self.assertIn(name, body)
        self.assertEqual(set(body["relationship_stages"]), STAGES)
        self.assertEqual(set(body["value_classes"]), VALUE_CLASSES)
        self.assertEqual(body["customers"], sum(body["churn_risk"].values()))
        self.assertEqual(body["customers"], sum(body["tiers"].values()))
        year = self.get("/api/v1/analytics/summary?period=year")
        self.assertEqual("%d-01-01" % today().year, year["this_period"]["from"])
        self.assertEqual("%d-01-01" % (today().year - 1), year["last_period"]["from"])
        self.assertEqual("%d-12-31" % (today().year - 1), year["last_period"]["to"])
        quarter = self.get("/api/v1/analytics/summary?period=quarter&as_of=2024-05-20")
        self.assertEqual("2024-04-01", quarter["this_period"]["from"])
        self.assertEqual("2024-01-01", quarter["last_period"]["from"])
        self.assertEqual("2024-03-31", quarter["last_period"]["to"])
        for query in ("?period=week", "?period=", "?as_of=x", "?limit=3"):
            self.assertProblem(self.api("GET", "/api/v1/analytics/summary" + query,
                                        key=self.admin_key), 400)

    def test_bad_ranking_queries_are_400(self):
        for query in ("?limit=0", "?limit=501", "?limit=x", "?horizon_days=-1", "?period=month",
                      "?as_of=2020-13-01"):
            self.assertProblem(self.api("GET", "/api/v1/analytics/ltv" + query,
                                        key=self.admin_key), 400)
        self.assertProblem(self.api("GET", "/api/v1/analytics/tiers?limit=3",
                                    key=self.admin_key), 400)
        self.assertProblem(self.api("DELETE", "/api/v1/analytics/tiers", key=self.admin_key), 405)

    def test_too_little_data_falls_back_and_says_so(self):
        # 30 customers, of whom fewer than 10 ... no: most have repeat purchases here. The
        # as-of view early in their history has too few repeat customers to fit.
        early = (today() - datetime.timedelta(days=185)).isoformat()
        body = self.get("/api/v1/analytics/ltv?as_of=" + early)
        model = body["model"]
        self.assertFalse(model["converged"])
        self.assertEqual("fallback-historical-rate", model["bgnbd"]["method"])
        self.assertEqual("too_few_customers", model["bgnbd"]["status"])
        self.assertIn("message", model["bgnbd"])
        self.assertTrue(model["method"].startswith("fallback-historical-rate+"))

    def test_refit_is_for_administrators(self):
        status, _, body = self.api("POST", "/api/v1/analytics/refit", key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertIn("bgnbd", body["model"])
        self.assertEqual(today().isoformat(), body["model"]["data_as_of"])
        status, _, body = self.api("POST", "/api/v1/analytics/refit", {}, key=self.admin_key)
        self.assertEqual(200, status, body)
        stored = self.sql("SELECT customers, data_as_of FROM analytics_fits WHERE key = 'live'")
        self.assertEqual([(body["model"]["customers"], today().isoformat())], stored)
        self.assertProblem(self.api("POST", "/api/v1/analytics/refit", {"force": True},
                                    key=self.admin_key), 422, field="force")
        for key in (self.manager_key, self.viewer_key, self.owner_key):
            self.assertProblem(self.api("POST", "/api/v1/analytics/refit", key=key), 403)

    def test_settings_apply_at_once(self):
        before = self.get("/api/v1/analytics/tiers")
        result = self.crmctl("analytics", "set", "tiers",
                             '{"basis":"value","metric":"ltv_cents","tiers":['
                             '{"name":"vip","min_cents":50000},{"name":"regular"}]}')
        self.assertIn("set analytics.tiers", result.stdout)
        try:
            body = self.get("/api/v1/analytics/tiers")
            self.assertEqual("value", body["basis"])
            self.assertEqual(["vip", "regular"], [tier["name"] for tier in body["tiers"]])
            self.assertEqual(50000, body["tiers"][0]["threshold_cents"])
            vip = self.sql("SELECT count(*) FROM contact_summaries WHERE total_cents >= 50000")[0][0]
            self.assertEqual(vip, body["tiers"][0]["members"])
            self.assertEqual(before["customers"], body["customers"])
            self.crmctl("analytics", "set", "gross_margin", "0.5")
            contact = self.admins[5]
            full = self.sql("SELECT total_cents FROM contact_summaries WHERE contact_id = ?",
                            contact)[0][0]
            self.assertEqual(round(full * 0.5), self.analytics(contact)["historical_ltv_cents"])
        finally:
            self.crmctl("analytics", "set", "tiers", "")
            self.crmctl("analytics", "set", "gross_margin", "")
        self.assertEqual([t["name"] for t in before["tiers"]],
                         [t["name"] for t in self.get("/api/v1/analytics/tiers")["tiers"]])


class IncrementalTest(AnalyticsTestCase):
    """After a few writes each connection updates just the changed contacts (and the rows
    whose quintile or tier moved); the result must be exactly a full build's."""

    def snapshot(self):
        ranking = self.get("/api/v1/analytics/ltv?limit=500")["data"]
        tiers = self.get("/api/v1/analytics/tiers")
        summary = self.get("/api/v1/analytics/summary")
        for body in (tiers, summary):
            body.pop("model", None)
        return ranking, tiers, summary

    def test_incremental_updates_equal_a_full_build(self):
        contacts = []
        for i in range(40):
            contact = self.contact(last_name="I%d" % i)
            contacts.append(contact)
            for k in range(1 + i % 5):
                self.purchase(contact, 500 * (1 + i % 7), days_ago(300 - 50 * k - i))
        for _ in range(8):  # every worker thread builds its table
            self.snapshot()
        log_before = len(self.server.log)
        purchases = []
        for round_number in range(3):
            # Writes that move cut points: a big spender, a new customer, a refund, a
            # deleted purchase, service interactions, a contact deleted.
            purchases.append(self.purchase(contacts[round_number], 900000, days_ago(1)))
            fresh = self.contact(last_name="new%d" % round_number)
            self.purchase(fresh, 1500, days_ago(2))
            self.purchase(contacts[10 + round_number], -300, days_ago(1))
            self.interaction(contacts[20 + round_number], days_ago(1), kind="ticket",
                             direction="inbound")
            self.interaction(contacts[20 + round_number], days_ago(0), kind="chat",
                             direction="inbound")
            status, _, _ = self.api("DELETE", "%s/%d" % (CONTACTS, contacts[30 + round_number]),
                                    key=self.admin_key)
            self.assertEqual(204, status)
            incremental = [self.snapshot() for _ in range(6)]
            for other in incremental[1:]:
                self.assertEqual(incremental[0], other)
        status, _, _ = self.api("DELETE", "%s/%d" % (PURCHASES, purchases[0]), key=self.admin_key)
        self.assertEqual(204, status)
        incremental = self.snapshot()
        updates = [line for line in self.server.log[log_before:]
                   if "changed contacts updated" in line]
        self.assertTrue(updates, "no incremental update happened")
        # A settings change rebuilds every table in full, with the same settings in effect.
        self.crmctl("analytics", "set", "horizon_days", "365")
        try:
            full = self.snapshot()
            builds = [line for line in self.server.log[log_before:] if "built in" in line]
            self.assertTrue(builds)
        finally:
            self.crmctl("analytics", "set", "horizon_days", "")
        self.assertEqual(full[1], incremental[1])
        self.assertEqual(full[2], incremental[2])
        self.assertEqual(full[0], incremental[0])


class SharedScoresTest(AnalyticsTestCase):
    """The scores are built once per process, by a warm-up at start, and shared by every
    worker thread (crmd runs 4 here): concurrent requests on all of them build nothing
    more; after a write, one incremental update serves every worker, and all answer the
    same, current figures."""

    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "demo-data", "--contacts", "300")

    def concurrent(self, path, count=24):
        def one(_):
            return self.get(path)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, range(count)))

    def lines(self, since, text):
        return [line for line in self.server.log[since:] if text in line]

    def test_built_once_and_shared_by_every_worker(self):
        deadline = time.monotonic() + 30
        while not self.lines(0, "scores warmed up") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(self.lines(0, "scores warmed up"), "no start-up warm-up")
        self.assertEqual(1, len(self.lines(0, "built in")), self.lines(0, "built in"))
        answers = self.concurrent("/api/v1/analytics/tiers")
        for answer in answers[1:]:
            self.assertEqual(answers[0], answer)
        self.concurrent("/api/v1/analytics/summary")
        self.assertEqual(1, len(self.lines(0, "built in")), "a worker built its own scores")
        self.assertEqual([], self.lines(0, "changed contacts updated"))

        # A new customer: every worker shows it after one update of the shared scores.
        members = sum(tier["members"] for tier in answers[0]["tiers"])
        contact = self.contact(last_name="Shared")
        self.purchase(contact, 123456, days_ago(3))
        log_before = len(self.server.log)
        after = self.concurrent("/api/v1/analytics/tiers")
        for answer in after[1:]:
            self.assertEqual(after[0], answer)
        self.assertEqual(members + 1, sum(tier["members"] for tier in after[0]["tiers"]))
        figures = self.concurrent("/api/v1/analytics/ltv?limit=500", count=8)
        for answer in figures:
            self.assertIn(contact, [row["contact_id"] for row in answer["data"]])
        self.assertEqual(1, len(self.lines(log_before, "changed contacts updated")),
                         self.server.log[log_before:])
        self.assertEqual([], self.lines(log_before, "built in"))
