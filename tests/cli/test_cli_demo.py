"""test_cli_demo.py - the history crmctl demo-data gives its contacts: about 10 interactions
and 5 purchases per contact (options scale them), purchases only from customers and
churned contacts (who stopped half a year ago), buyers who differ in frequency and spend,
opportunities whose stage history is complete and consistent (closed_at, lost_reason,
probabilities), won deals with their purchase, tasks, the analytics summaries in step with
the records, the full-text index of interactions, the same data for the same seed, and the
API serving it (timeline, LTV model)."""
import json
import os
import statistics
import tempfile
import unittest

import harness

CONTACTS = 1500
STAGE_PROBABILITY = {"lead": 10, "qualified": 25, "proposal": 50, "negotiation": 75,
                     "won": 100, "lost": 0}


rows = harness.sql_rows


class DemoHistoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory()
        cls.db = os.path.join(cls.directory.name, "crm.db")
        harness.crmctl(cls.db, "init")
        cls.schema = rows(cls.db, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        cls.result = harness.crmctl(cls.db, "demo-data", "--contacts", str(CONTACTS),
                                    "--seed", "11")

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def one(self, statement, *args):
        return rows(self.db, statement, *args)[0][0]

    def test_counts_and_summary_line(self):
        interactions = self.one("SELECT count(*) FROM interactions")
        purchases = self.one("SELECT count(*) FROM purchases")
        self.assertIn("created 150 companies and %d contacts" % CONTACTS, self.result.stdout)
        self.assertIn("with %d interactions, %d purchases" % (interactions, purchases),
                      self.result.stdout)
        self.assertTrue(8.0 <= interactions / CONTACTS <= 12.0, interactions)
        self.assertTrue(4.0 <= purchases / CONTACTS <= 6.0, purchases)
        opportunities = self.one("SELECT count(*) FROM opportunities")
        self.assertTrue(0.12 <= opportunities / CONTACTS <= 0.3, opportunities)
        tasks = self.one("SELECT count(*) FROM tasks")
        self.assertTrue(0.2 <= tasks / CONTACTS <= 0.45, tasks)
        summary = json.loads(self.one("SELECT after FROM audit_log WHERE entity = 'demo-data'"))
        self.assertEqual((interactions, purchases), (summary["interactions"],
                                                     summary["purchases"]))
        self.assertEqual([], rows(self.db, "PRAGMA foreign_key_check"))
        self.assertEqual("ok", self.one("PRAGMA integrity_check"))

    def test_schema_is_as_before(self):
        """The load swaps two triggers for cheaper equivalents and puts them back."""
        after = rows(self.db, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        self.assertEqual([entry for entry in self.schema if entry[0] != "table" or
                          not entry[1].startswith("sqlite_stat")],
                         [entry for entry in after if entry[0] != "table" or
                          not entry[1].startswith("sqlite_stat")])
        # the log of changed contacts is trimmed as the triggers do it: the last 100,000
        count, newest = rows(self.db, "SELECT count(*), max(seq) FROM analytics_changes")[0]
        self.assertLessEqual(count, 101000)
        self.assertEqual(0, self.one("SELECT count(*) FROM analytics_changes WHERE seq <= ?",
                                     newest - 101000))

    def test_ids_follow_time(self):
        for table, column in (("interactions", "occurred_at"), ("purchases", "occurred_at")):
            self.assertEqual(0, self.one(
                "SELECT count(*) FROM %s a JOIN %s b ON b.id = a.id + 1 WHERE b.%s < a.%s"
                % (table, table, column, column)), table)

    def test_interactions_are_varied_and_searchable(self):
        kinds = dict(rows(self.db, "SELECT kind, count(*) FROM interactions GROUP BY kind"))
        self.assertEqual({"call", "email", "meeting", "note", "ticket", "chat", "sms", "visit"},
                         set(kinds))
        self.assertGreater(kinds["email"], kinds["visit"])
        # a ticket has a status, nothing else has one
        self.assertEqual(0, self.one("SELECT count(*) FROM interactions WHERE "
                                     "(kind = 'ticket') <> (status IS NOT NULL)"))
        # within the contact's life, before today
        self.assertEqual(0, self.one("SELECT count(*) FROM interactions i JOIN contacts c ON "
                                     "c.id = i.contact_id WHERE i.occurred_at < c.created_at "
                                     "OR i.occurred_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"))
        span = rows(self.db, "SELECT min(occurred_at), max(occurred_at) FROM interactions")[0]
        self.assertLess(span[0][:4], span[1][:4])
        word = "renewal"
        indexed = self.one("SELECT count(*) FROM interactions_fts WHERE interactions_fts "
                           "MATCH ?", word)
        stored = self.one("SELECT count(*) FROM interactions WHERE subject LIKE ? OR body "
                          "LIKE ?", "%" + word + "%", "%" + word + "%")
        self.assertEqual(stored, indexed)
        self.assertGreater(indexed, 0)

    def test_buyers_behave_like_the_models_assume(self):
        by_lifecycle = dict(rows(self.db, "SELECT c.lifecycle, count(p.id) FROM contacts c "
                                          "LEFT JOIN purchases p ON p.contact_id = c.id "
                                          "AND p.opportunity_id IS NULL GROUP BY c.lifecycle"))
        self.assertEqual(0, by_lifecycle.get("lead", 0))
        self.assertEqual(0, by_lifecycle.get("prospect", 0))
        self.assertGreater(by_lifecycle["customer"], by_lifecycle["churned"])
        # churned contacts stopped buying at least half a year ago
        self.assertEqual(0, self.one("SELECT count(*) FROM purchases p JOIN contacts c ON "
                                     "c.id = p.contact_id WHERE c.lifecycle = 'churned' AND "
                                     "p.opportunity_id IS NULL AND p.occurred_at > "
                                     "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-180 days')"))
        # buyers differ: in how often they buy and in what they spend
        counts = [n for (n,) in rows(self.db, "SELECT count(*) FROM purchases WHERE "
                                              "opportunity_id IS NULL GROUP BY contact_id")]
        self.assertGreater(max(counts), 4 * statistics.median(counts))
        self.assertGreater(counts.count(1), 0)
        spends = [a for (a,) in rows(self.db, "SELECT avg(amount_cents) FROM purchases WHERE "
                                              "opportunity_id IS NULL GROUP BY contact_id "
                                              "HAVING count(*) >= 3")]
        self.assertGreater(max(spends), 3 * min(spends))
        self.assertTrue(3000 < statistics.mean(spends) < 12000, statistics.mean(spends))
        # contact_summaries (kept by the triggers) agree with the records
        self.assertEqual(0, self.one(
            "SELECT count(*) FROM contact_summaries s WHERE purchases_count <> "
            "(SELECT count(*) FROM purchases p WHERE p.contact_id = s.contact_id) OR "
            "interactions_count <> (SELECT count(*) FROM interactions i "
            "WHERE i.contact_id = s.contact_id) OR total_cents <> "
            "(SELECT coalesce(sum(amount_cents), 0) FROM purchases p "
            "WHERE p.contact_id = s.contact_id)"))

    def test_opportunities_move_through_stages(self):
        for (opportunity_id, stage, probability, closed_at, lost_reason, created_at,
             updated_at) in rows(self.db, "SELECT id, stage, probability, closed_at, "
                                          "lost_reason, created_at, updated_at "
                                          "FROM opportunities"):
            history = rows(self.db, "SELECT from_stage, to_stage, changed_at FROM "
                                    "opportunity_stage_changes WHERE opportunity_id = ? "
                                    "ORDER BY id", opportunity_id)
            self.assertEqual((None, "lead", created_at), history[0])
            self.assertEqual(stage, history[-1][1])
            self.assertEqual(updated_at, history[-1][2])
            for before, after in zip(history, history[1:]):
                self.assertEqual(before[1], after[0])
                self.assertLess(before[2], after[2])
            self.assertEqual(STAGE_PROBABILITY[stage], probability)
            self.assertEqual(stage in ("won", "lost"), closed_at is not None)
            self.assertEqual(stage == "lost", lost_reason is not None)
        stages = dict(rows(self.db, "SELECT stage, count(*) FROM opportunities GROUP BY stage"))
        self.assertGreaterEqual(len(stages), 5, stages)
        # each won deal was paid: a purchase linked to it, at its close
        self.assertEqual(0, self.one("SELECT count(*) FROM opportunities o WHERE stage = 'won' "
                                     "AND NOT EXISTS (SELECT 1 FROM purchases p WHERE "
                                     "p.opportunity_id = o.id AND p.occurred_at = o.closed_at "
                                     "AND p.amount_cents = o.amount_cents)"))
        self.assertEqual(0, self.one("SELECT count(*) FROM tasks WHERE done <> "
                                     "(done_at IS NOT NULL)"))

    def test_same_seed_same_history_and_options(self):
        other = os.path.join(self.directory.name, "other.db")
        harness.crmctl(other, "init")
        harness.crmctl(other, "demo-data", "--contacts", str(CONTACTS), "--seed", "11")
        query = ("SELECT contact_id, kind, subject, body, occurred_at FROM interactions "
                 "ORDER BY id")
        self.assertEqual(rows(self.db, query), rows(other, query))
        query = "SELECT contact_id, amount_cents, occurred_at FROM purchases ORDER BY id"
        self.assertEqual(rows(self.db, query), rows(other, query))
        scaled = os.path.join(self.directory.name, "scaled.db")
        harness.crmctl(scaled, "init")
        harness.crmctl(scaled, "demo-data", "--contacts", "600", "--interactions-per-contact",
                       "0", "--purchases-per-contact", "2")
        self.assertEqual(0, rows(scaled, "SELECT count(*) FROM interactions")[0][0])
        per_contact = rows(scaled, "SELECT count(*) FROM purchases")[0][0] / 600
        self.assertTrue(1.2 <= per_contact <= 2.8, per_contact)
        for args in (["--interactions-per-contact", "-1"], ["--purchases-per-contact", "x"],
                     ["--purchases-per-contact", "5000"], ["--interactions-per-contact"]):
            result = harness.crmctl(scaled, "demo-data", *args, check=False)
            self.assertEqual(2, result.returncode, (args, result))


class DemoHistoryServedTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "demo-data", "--contacts", "400", "--seed", "5")

    def test_timeline_search_and_models(self):
        contact_id = rows(self.server.db_path, "SELECT contact_id FROM purchases GROUP BY "
                                               "contact_id ORDER BY count(*) DESC LIMIT 1")[0][0]
        status, _, timeline = self.api("GET", "/api/v1/contacts/%d/timeline?limit=100" %
                                       contact_id, key=self.admin_key)
        self.assertEqual(200, status, timeline)
        kinds = {item["type"] for item in timeline["data"]}
        self.assertTrue({"interaction", "purchase"} <= kinds, kinds)
        status, _, found = self.api("GET", "/api/v1/interactions?q=quote&limit=5",
                                    key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual(5, len(found["data"]))
        status, _, ranking = self.api("GET", "/api/v1/analytics/ltv?limit=10", key=self.admin_key)
        self.assertEqual(200, status, ranking)
        status, _, summary = self.api("GET", "/api/v1/analytics/summary", key=self.admin_key)
        self.assertEqual(200, status, summary)
        self.assertGreater(summary["purchases"], 400)
        status, _, pipeline = self.api("GET", "/api/v1/pipeline", key=self.admin_key)
        self.assertEqual(200, status)
        self.assertGreater(sum(stage["count"] for stage in pipeline["stages"]), 40)
