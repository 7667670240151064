"""test_opportunities.py - /api/v1/opportunities and /api/v1/pipeline: field rules and
defaults (stage lead, probability from the stage, amount 0, the default currency from the
settings), probability following stage changes, closed_at and lost_reason, the stage
history (GET .../{id}/stages, written in the same transaction), filters, pagination,
If-Match, external-id upserts, audit entries, permission scopes, and the pipeline sums
against a hand-computed fixture (stages, owners, currencies, expected-close period, read
scopes), and ?q= full-text search of name and lost_reason (migration 0014, also its
backfill)."""
import json
import sqlite3
import time
import urllib.parse

import harness

OPPORTUNITIES = "/api/v1/opportunities"
PIPELINE = "/api/v1/pipeline"
CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
DEFAULT_PROBABILITY = {"lead": 10, "qualified": 25, "proposal": 50, "negotiation": 75,
                       "won": 100, "lost": 0}


sql_rows = harness.sql_rows


def now_minus(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds))


class OpportunitiesTestCase(harness.ServerTestCase):
    def create(self, body, key=None, expect=201):
        status, headers, record = self.api("POST", OPPORTUNITIES, body, key=key or self.admin_key)
        self.assertEqual(expect, status, record)
        return record

    def get(self, record_id, key=None):
        return self.api("GET", "%s/%d" % (OPPORTUNITIES, record_id), key=key or self.admin_key)

    def patch(self, record_id, body, key=None, headers=None):
        return self.api("PATCH", "%s/%d" % (OPPORTUNITIES, record_id), body,
                        key=key or self.admin_key, headers=headers)

    def patched(self, record_id, body, key=None):
        status, _, record = self.patch(record_id, body, key=key)
        self.assertEqual(200, status, record)
        return record

    def stages(self, record_id, key=None, query=""):
        """The whole stage history, following next_cursor."""
        changes, cursor = [], None
        for _ in range(100):
            url = "%s/%d/stages?%s" % (OPPORTUNITIES, record_id, query)
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor)
            status, _, body = self.api("GET", url, key=key or self.admin_key)
            self.assertEqual(200, status, body)
            changes += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return changes
        self.fail("pagination does not end")

    def list_ids(self, query="", key=None):
        return self.list_all_ids(OPPORTUNITIES, query, key)


class OpportunityFieldsTest(OpportunitiesTestCase):
    def test_defaults_of_a_new_opportunity(self):
        record = self.create({"name": "Deal"})
        self.assertEqual({"stage": "lead", "probability": 10, "amount_cents": 0,
                          "currency": "EUR", "owner_id": self.admin_id, "closed_at": None,
                          "lost_reason": None, "tags": [], "custom": {}, "expected_close": None,
                          "contact_id": None, "company_id": None, "external_id": None},
                         {k: record[k] for k in ("stage", "probability", "amount_cents",
                                                 "currency", "owner_id", "closed_at",
                                                 "lost_reason", "tags", "custom",
                                                 "expected_close", "contact_id", "company_id",
                                                 "external_id")})

    def test_field_rules(self):
        for body, field in (({}, "name"), ({"name": " "}, "name"),
                            ({"name": "D", "stage": "closed"}, "stage"),
                            ({"name": "D", "amount_cents": -1}, "amount_cents"),
                            ({"name": "D", "amount_cents": 10 ** 13 + 1}, "amount_cents"),
                            ({"name": "D", "amount_cents": 12.5}, "amount_cents"),
                            ({"name": "D", "amount_cents": "100"}, "amount_cents"),
                            ({"name": "D", "probability": 101}, "probability"),
                            ({"name": "D", "probability": -1}, "probability"),
                            ({"name": "D", "currency": "eur"}, "currency"),
                            ({"name": "D", "currency": "EURO"}, "currency"),
                            ({"name": "D", "expected_close": "2026-02-30"}, "expected_close"),
                            ({"name": "D", "expected_close": "2026-02-01T00:00:00Z"},
                             "expected_close"),
                            ({"name": "D", "closed_at": "2026-01-01T00:00:00Z"}, "closed_at"),
                            ({"name": "D", "lost_reason": "price"}, "lost_reason"),
                            ({"name": "D", "stage": "won", "lost_reason": "price"}, "lost_reason"),
                            ({"name": "D", "tags": "hot"}, "tags"),
                            ({"name": "D", "value": 5}, "value")):
            self.assertProblem(self.api("POST", OPPORTUNITIES, body, key=self.admin_key), 422,
                               field)
        record = self.create({"name": "Big", "amount_cents": 10 ** 13, "currency": "JPY",
                              "expected_close": "2026-12-31", "tags": ["hot", "hot", "q4"]})
        self.assertEqual((10 ** 13, "JPY", "2026-12-31", ["hot", "q4"]),
                         (record["amount_cents"], record["currency"], record["expected_close"],
                          record["tags"]))
        self.assertEqual(0, self.patched(record["id"], {"amount_cents": None})["amount_cents"])

    def test_references_must_exist(self):
        for field in ("contact_id", "company_id", "owner_id"):
            self.assertProblem(self.api("POST", OPPORTUNITIES, {"name": "R", field: 999999},
                                        key=self.admin_key), 422, field)
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "Buyer"}, key=self.admin_key)
        status, _, company = self.api("POST", COMPANIES, {"name": "Buyer Inc"}, key=self.admin_key)
        record = self.create({"name": "R", "contact_id": contact["id"],
                              "company_id": company["id"]})
        self.assertEqual((contact["id"], company["id"]),
                         (record["contact_id"], record["company_id"]))

    def test_probability_defaults_from_the_stage(self):
        for stage in STAGES:
            body = {"name": stage, "stage": stage}
            if stage == "lost":
                body["lost_reason"] = "budget"
            record = self.create(body)
            self.assertEqual(DEFAULT_PROBABILITY[stage], record["probability"], stage)
            self.assertEqual(stage in ("won", "lost"), record["closed_at"] is not None, stage)
        self.assertEqual(33, self.create({"name": "Own guess", "stage": "proposal",
                                          "probability": 33})["probability"])

    def test_probability_follows_stage_changes(self):
        record = self.create({"name": "Moving"})
        self.assertEqual(25, self.patched(record["id"], {"stage": "qualified"})["probability"])
        self.assertEqual(40, self.patched(record["id"], {"probability": 40})["probability"])
        # unrelated changes keep a chosen probability
        self.assertEqual(40, self.patched(record["id"], {"amount_cents": 500})["probability"])
        self.assertEqual(40, self.patched(record["id"], {"stage": "qualified"})["probability"])
        # a stage change without a probability takes the new stage's default
        self.assertEqual(50, self.patched(record["id"], {"stage": "proposal"})["probability"])
        # ... unless one is sent with it
        self.assertEqual(60, self.patched(record["id"], {"stage": "negotiation",
                                                         "probability": 60})["probability"])
        # null means the stage's default
        self.assertEqual(75, self.patched(record["id"], {"probability": None})["probability"])
        self.assertEqual(0, self.patched(record["id"], {"probability": 0})["probability"])
        # a replacement without probability: the stage's default
        status, _, replaced = self.api("PUT", "%s/%d" % (OPPORTUNITIES, record["id"]),
                                       {"name": "Moving", "stage": "negotiation"},
                                       key=self.admin_key)
        self.assertEqual((200, 75), (status, replaced["probability"]))

    def test_closed_at_and_lost_reason(self):
        record = self.create({"name": "Closing", "stage": "negotiation"})
        before = now_minus(2)
        won = self.patched(record["id"], {"stage": "won"})
        self.assertEqual(100, won["probability"])
        self.assertGreaterEqual(won["closed_at"], before)
        # other changes keep closed_at
        self.assertEqual(won["closed_at"], self.patched(record["id"], {"amount_cents": 9})
                         ["closed_at"])
        self.assertProblem(self.patch(record["id"], {"lost_reason": "price"}), 422, "lost_reason")
        lost = self.patched(record["id"], {"stage": "lost", "lost_reason": "went with a rival"})
        self.assertEqual((0, "went with a rival"), (lost["probability"], lost["lost_reason"]))
        self.assertGreaterEqual(lost["closed_at"], won["closed_at"])
        self.assertEqual("cheaper", self.patched(record["id"], {"lost_reason": "cheaper"})
                         ["lost_reason"])
        # reopening clears closed_at and lost_reason
        reopened = self.patched(record["id"], {"stage": "proposal"})
        self.assertEqual((None, None, 50), (reopened["closed_at"], reopened["lost_reason"],
                                            reopened["probability"]))
        self.assertProblem(self.patch(record["id"], {"closed_at": "2026-01-01T00:00:00Z"}), 422,
                           "closed_at")
        self.assertIsNone(self.patched(record["id"], {"closed_at": None})["closed_at"])

    def test_closed_at_may_be_sent_when_won_or_lost(self):
        # a sync of a deal won last year keeps its date (offsets are stored as UTC)
        won = self.create({"name": "Old win", "stage": "won",
                           "closed_at": "2025-03-04T12:00:00+02:00"})
        self.assertEqual("2025-03-04T10:00:00Z", won["closed_at"])
        self.assertEqual("2025-03-04T10:00:00Z", self.get(won["id"])[2]["closed_at"])
        # other changes keep it; a PATCH may correct it
        self.assertEqual("2025-03-04T10:00:00Z",
                         self.patched(won["id"], {"amount_cents": 5})["closed_at"])
        self.assertEqual("2025-05-06T00:00:00Z",
                         self.patched(won["id"], {"closed_at": "2025-05-06T00:00:00Z"})
                         ["closed_at"])
        # a full replacement without it keeps it while the stage stays closed
        status, _, replaced = self.api("PUT", "%s/%d" % (OPPORTUNITIES, won["id"]),
                                       {"name": "Old win", "stage": "won"}, key=self.admin_key)
        self.assertEqual((200, "2025-05-06T00:00:00Z"), (status, replaced["closed_at"]))
        # moving to lost with a date takes it, without one takes now
        lost = self.patched(won["id"], {"stage": "lost", "closed_at": "2025-07-01T00:00:00Z"})
        self.assertEqual("2025-07-01T00:00:00Z", lost["closed_at"])
        before = now_minus(2)
        self.patched(won["id"], {"stage": "proposal"})
        self.assertGreaterEqual(self.patched(won["id"], {"stage": "won"})["closed_at"], before)
        # an external-id sync sets it too
        status, _, synced = self.api("PUT", OPPORTUNITIES + "/external/crm-old-1",
                                     {"name": "Synced", "stage": "lost",
                                      "closed_at": "2024-12-31T23:00:00Z"}, key=self.admin_key)
        self.assertEqual((201, "2024-12-31T23:00:00Z"), (status, synced["closed_at"]))
        # validated as a timestamp; refused on an open stage
        for body in ({"name": "D", "stage": "won", "closed_at": "2025-02-30T00:00:00Z"},
                     {"name": "D", "stage": "won", "closed_at": "yesterday"},
                     {"name": "D", "stage": "won", "closed_at": "2025-01-01"},
                     {"name": "D", "stage": "negotiation", "closed_at": "2025-01-01T00:00:00Z"}):
            self.assertProblem(self.api("POST", OPPORTUNITIES, body, key=self.admin_key), 422,
                               "closed_at")
        self.assertProblem(self.api("PUT", "%s/%d" % (OPPORTUNITIES, won["id"]),
                                    {"name": "Old win", "stage": "lead",
                                     "closed_at": "2025-01-01T00:00:00Z"}, key=self.admin_key),
                           422, "closed_at")

    def test_stage_history(self):
        rep_id, rep_key = self.make_user("historian@example.com", "rep")
        record = self.create({"name": "History"}, key=rep_key)
        self.patched(record["id"], {"stage": "qualified"}, key=rep_key)
        self.patched(record["id"], {"amount_cents": 100}, key=rep_key)  # no stage change
        self.assertProblem(self.patch(record["id"], {"stage": "won", "probability": 500},
                                      key=rep_key), 422, "probability")  # nothing written
        self.patched(record["id"], {"stage": "won"})  # by the admin
        status, _, _ = self.api("PUT", "%s/%d" % (OPPORTUNITIES, record["id"]),
                                {"name": "History", "stage": "negotiation"}, key=self.admin_key)
        self.assertEqual(200, status)
        changes = self.stages(record["id"])
        self.assertEqual([(None, "lead", rep_id), ("lead", "qualified", rep_id),
                          ("qualified", "won", self.admin_id),
                          ("won", "negotiation", self.admin_id)],
                         [(c["from_stage"], c["to_stage"], c["user_id"]) for c in changes])
        self.assertEqual({record["id"]}, {c["opportunity_id"] for c in changes})
        self.assertEqual(sorted(c["id"] for c in changes), [c["id"] for c in changes])
        for change in changes:
            self.assertRegex(change["changed_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # the change and its history entry are one: the latest entry has the record's time
        self.assertEqual(self.get(record["id"])[2]["updated_at"], changes[-1]["changed_at"])
        # paged one by one, the same
        self.assertEqual(changes, self.stages(record["id"], query="limit=1"))
        status, _, page = self.api("GET", "%s/%d/stages?limit=3" % (OPPORTUNITIES, record["id"]),
                                   key=self.admin_key)
        self.assertEqual(3, len(page["data"]))
        self.assertIsNotNone(page["next_cursor"])
        # deleting the opportunity deletes its history
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (OPPORTUNITIES, record["id"]),
                                       key=self.admin_key)[0])
        self.assertEqual([], sql_rows(self.server.db_path, "SELECT * FROM opportunity_stage_changes"
                                      " WHERE opportunity_id = ?", record["id"]))
        self.assertProblem(self.api("GET", "%s/%d/stages" % (OPPORTUNITIES, record["id"]),
                                    key=self.admin_key), 404)

    def test_stage_history_parameters(self):
        record = self.create({"name": "Params"})
        base = "%s/%d/stages" % (OPPORTUNITIES, record["id"])
        for query in ("limit=0", "limit=501", "limit=x", "cursor=garbage", "sort=id", "limit=1&limit=2"):
            self.assertProblem(self.api("GET", base + "?" + query, key=self.admin_key), 400)
        for path in ("%s/999999/stages" % OPPORTUNITIES, "%s/abc/stages" % OPPORTUNITIES):
            self.assertProblem(self.api("GET", path, key=self.admin_key), 404)
        self.assertProblem(self.api("POST", base, {}, key=self.admin_key), 405)
        self.assertEqual(401, self.api("GET", base)[0])

    def test_if_match_upsert_and_audit(self):
        record = self.create({"name": "Audited"})
        self.assertProblem(self.patch(record["id"], {"stage": "won"}, headers={"If-Match": '"3"'}),
                           412)
        self.assertEqual(1, len(self.stages(record["id"])))  # the refused change left nothing
        status, _, won = self.patch(record["id"], {"stage": "won"}, headers={"If-Match": '"1"'})
        self.assertEqual(200, status, won)
        rows = sql_rows(self.server.db_path, "SELECT action, before, after FROM audit_log WHERE "
                        "entity = 'opportunities' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update"], [row[0] for row in rows])
        self.assertEqual(("lead", "won"), (json.loads(rows[1][1])["stage"],
                                           json.loads(rows[1][2])["stage"]))
        self.api("DELETE", "%s/%d" % (OPPORTUNITIES, record["id"]), key=self.admin_key)
        rows = sql_rows(self.server.db_path, "SELECT action FROM audit_log WHERE "
                        "entity = 'opportunities' AND entity_id = ? ORDER BY id", record["id"])
        self.assertEqual(["create", "update", "delete"], [row[0] for row in rows])

        path = OPPORTUNITIES + "/external/crm-9"
        body = {"name": "Synced", "stage": "proposal", "amount_cents": 5000}
        status, _, created = self.api("PUT", path, body, key=self.admin_key)
        self.assertEqual((201, 50), (status, created["probability"]))
        for _ in range(2):
            status, _, again = self.api("PUT", path, body, key=self.admin_key)
            self.assertEqual((200, created), (status, again))
        status, _, moved = self.api("PUT", path, dict(body, stage="won"), key=self.admin_key)
        self.assertEqual((200, 100, 2), (status, moved["probability"], moved["version"]))
        self.assertEqual([(None, "proposal"), ("proposal", "won")],
                         [(c["from_stage"], c["to_stage"]) for c in self.stages(created["id"])])
        self.assertProblem(self.api("POST", OPPORTUNITIES, {"name": "Dup", "external_id": "crm-9"},
                                    key=self.admin_key), 409, "external_id")


class DefaultCurrencyTest(OpportunitiesTestCase):
    @classmethod
    def setup_database(cls):
        connection = sqlite3.connect(cls.server.db_path)
        connection.execute("INSERT INTO settings (key, value) VALUES ('default_currency', 'CHF')")
        connection.commit()
        connection.close()

    def test_default_currency_comes_from_the_settings(self):
        self.assertEqual("CHF", self.create({"name": "Swiss"})["currency"])
        self.assertEqual("EUR", self.create({"name": "Euro", "currency": "EUR"})["currency"])
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "P"}, key=self.admin_key)
        status, _, purchase = self.api("POST", "/api/v1/purchases",
                                       {"contact_id": contact["id"], "amount_cents": 100},
                                       key=self.admin_key)
        self.assertEqual((201, "CHF"), (status, purchase["currency"]))


class OpportunityListTest(OpportunitiesTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("rep@example.com", "rep", team="east")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        request = cls.server.request
        cls.contact_id = request("POST", CONTACTS, {"first_name": "C"}, key=cls.admin_key)[2]["id"]
        cls.company_id = request("POST", COMPANIES, {"name": "Co"}, key=cls.admin_key)[2]["id"]
        cls.records = []
        for n in range(25):
            stage = STAGES[n % 6]
            body = {"name": "Deal %d" % n, "stage": stage, "amount_cents": (n % 7) * 1000,
                    "currency": ["EUR", "USD"][n % 2],
                    "expected_close": None if n % 8 == 0 else "2026-%02d-%02d" % (1 + n % 4,
                                                                                 1 + n % 28),
                    "contact_id": cls.contact_id if n % 3 == 0 else None,
                    "company_id": cls.company_id if n % 4 == 0 else None,
                    "tags": ["hot"] if n % 5 == 0 else []}
            if stage == "lost":
                body["lost_reason"] = "price"
            status, _, record = request("POST", OPPORTUNITIES, body,
                                        key=cls.rep_key if n % 2 else cls.admin_key)
            assert status == 201, record
            cls.records.append(record)

    def test_filters(self):
        def expect(query, predicate, key=None):
            self.assertEqual(sorted(r["id"] for r in self.records if predicate(r)),
                             self.list_ids(query, key=key), query)

        expect("stage=proposal", lambda r: r["stage"] == "proposal")
        expect("owner_id=%d" % self.rep_id, lambda r: r["owner_id"] == self.rep_id)
        expect("owner_id=me", lambda r: r["owner_id"] == self.rep_id, key=self.rep_key)
        expect("contact_id=%d" % self.contact_id, lambda r: r["contact_id"] == self.contact_id)
        expect("company_id=%d" % self.company_id, lambda r: r["company_id"] == self.company_id)
        expect("currency=USD", lambda r: r["currency"] == "USD")
        expect("tag=hot", lambda r: "hot" in r["tags"])
        expect("expected_close_from=2026-02-05",
               lambda r: r["expected_close"] is not None and r["expected_close"] >= "2026-02-05")
        expect("expected_close_to=2026-02-05",
               lambda r: r["expected_close"] is not None and r["expected_close"] <= "2026-02-05")
        expect("expected_close_from=2026-02-01&expected_close_to=2026-03-31&stage=won",
               lambda r: r["expected_close"] is not None
               and "2026-02-01" <= r["expected_close"] <= "2026-03-31" and r["stage"] == "won")
        for query in ("stage=open", "expected_close_from=2026-02-30", "expected_close_to=soon",
                      "owner_id=someone", "currency=usd", "probability=10"):
            self.assertProblem(self.api("GET", OPPORTUNITIES + "?" + query, key=self.admin_key),
                               400)

    def test_pagination_by_amount_and_expected_close(self):
        by_id = {r["id"]: r for r in self.records}
        for sort in ("amount_cents", "-amount_cents", "expected_close", "-expected_close",
                     "probability", "closed_at", "-closed_at", "name"):
            field = sort.lstrip("-")

            def key(i):
                value = by_id[i][field]
                return (value is not None, value if value is not None else 0, i)

            for limit in (1, 4, 100):
                ids = self.list_ids("sort=%s&limit=%d" % (sort, limit))
                self.assertEqual(sorted(by_id, key=key, reverse=sort.startswith("-")), ids, sort)


class OpportunityPermissionsTest(OpportunitiesTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "opportunities", "read", "own")
        harness.crmctl(db, "role", "grant", "ownreader", "contacts", "read", "own")
        cls.rep_a, cls.rep_a_key = cls.make_user("rep-a@example.com", "rep", team="east")
        cls.rep_b, cls.rep_b_key = cls.make_user("rep-b@example.com", "rep", team="east")
        cls.rep_w, cls.rep_w_key = cls.make_user("rep-w@example.com", "rep", team="west")
        cls.manager_e, cls.manager_e_key = cls.make_user("mgr-e@example.com", "manager",
                                                         team="east")
        cls.viewer, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")
        cls.own, cls.own_key = cls.make_user("own@example.com", "ownreader", team="east")

    def test_rep_writes_own_opportunities(self):
        mine = self.create({"name": "Mine"}, key=self.rep_a_key)
        self.assertEqual(self.rep_a, mine["owner_id"])
        self.assertEqual("won", self.patched(mine["id"], {"stage": "won"}, key=self.rep_a_key)
                         ["stage"])
        self.assertProblem(self.patch(mine["id"], {"stage": "lost"}, key=self.rep_b_key), 403)
        self.assertProblem(self.patch(mine["id"], {"owner_id": self.rep_b}, key=self.rep_a_key),
                           403)
        self.assertProblem(self.api("POST", OPPORTUNITIES, {"name": "X", "owner_id": self.rep_b},
                                    key=self.rep_a_key), 403)
        self.assertProblem(self.api("DELETE", "%s/%d" % (OPPORTUNITIES, mine["id"]),
                                    key=self.rep_a_key), 403)
        self.assertEqual(2, len(self.stages(mine["id"], key=self.rep_b_key)))

    def test_manager_within_the_team(self):
        deal = self.create({"name": "Team"}, key=self.rep_a_key)
        self.assertEqual(self.rep_b, self.patched(deal["id"], {"owner_id": self.rep_b},
                                                  key=self.manager_e_key)["owner_id"])
        self.assertProblem(self.patch(deal["id"], {"owner_id": self.rep_w},
                                      key=self.manager_e_key), 403)
        west = self.create({"name": "West"}, key=self.rep_w_key)
        self.assertProblem(self.patch(west["id"], {"stage": "won"}, key=self.manager_e_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (OPPORTUNITIES, deal["id"]),
                                       key=self.manager_e_key)[0])

    def test_viewer_reads_only(self):
        deal = self.create({"name": "Seen"})
        self.assertEqual(200, self.get(deal["id"], key=self.viewer_key)[0])
        self.assertEqual(200, self.api("GET", PIPELINE, key=self.viewer_key)[0])
        self.assertProblem(self.api("POST", OPPORTUNITIES, {"name": "V"}, key=self.viewer_key), 403)
        self.assertProblem(self.patch(deal["id"], {"stage": "won"}, key=self.viewer_key), 403)

    def test_read_scope_own(self):
        theirs = self.create({"name": "Theirs"}, key=self.rep_a_key)
        mine = self.create({"name": "Mine"}, key=self.own_key)
        self.assertProblem(self.get(theirs["id"], key=self.own_key), 404)
        self.assertProblem(self.api("GET", "%s/%d/stages" % (OPPORTUNITIES, theirs["id"]),
                                    key=self.own_key), 404)
        self.assertEqual(1, len(self.stages(mine["id"], key=self.own_key)))
        ids = self.list_ids("", key=self.own_key)
        self.assertIn(mine["id"], ids)
        self.assertNotIn(theirs["id"], ids)

    def test_unreadable_contact_is_422(self):
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "Theirs"},
                                      key=self.rep_a_key)
        self.assertProblem(self.api("POST", OPPORTUNITIES, {"name": "R",
                                                            "contact_id": contact["id"]},
                                    key=self.own_key), 422, "contact_id")
        self.create({"name": "R", "contact_id": contact["id"]}, key=self.rep_b_key)


# The pipeline fixture: (name, owner, stage, amount_cents, currency, probability or None for
# the stage's default, expected_close).
FIXTURE = [
    ("A1", "rep_a", "lead", 10000, "EUR", None, "2026-01-15"),
    ("A2", "rep_a", "lead", 333, "EUR", 25, "2026-02-10"),
    ("A3", "rep_a", "qualified", 2, "EUR", None, "2026-03-01"),
    ("B1", "rep_b", "proposal", 55555, "EUR", None, "2026-01-31"),
    ("B2", "rep_b", "negotiation", 100000, "USD", None, "2026-02-28"),
    ("B3", "rep_b", "won", 70000, "EUR", None, "2026-01-20"),
    ("W1", "rep_w", "lost", 90000, "EUR", None, "2026-02-01"),
    ("W2", "rep_w", "proposal", 1, "EUR", None, None),
    ("W3", "rep_w", "proposal", 12345, "USD", 33, "2026-01-01"),
    ("X1", "admin", "qualified", 999, "GBP", None, "2026-03-31"),
    ("O1", "own", "lead", 500, "CHF", None, "2026-01-10"),
]


class PipelineTest(OpportunitiesTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "ownreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownreader", "opportunities", "read", "own")
        harness.crmctl(db, "role", "create", "teamreader", "--from", "rep")
        harness.crmctl(db, "role", "grant", "teamreader", "opportunities", "read", "team")
        harness.crmctl(db, "role", "create", "blind", "--from", "rep")
        harness.crmctl(db, "role", "grant", "blind", "opportunities", "read", "none")
        cls.users = {"admin": (cls.admin_id, cls.admin_key)}
        cls.users["rep_a"] = cls.make_user("a@example.com", "rep", team="east")
        cls.users["rep_b"] = cls.make_user("b@example.com", "rep", team="east")
        cls.users["rep_w"] = cls.make_user("w@example.com", "rep", team="west")
        cls.users["own"] = cls.make_user("own@example.com", "ownreader", team="east")
        cls.users["team_w"] = cls.make_user("tw@example.com", "teamreader", team="west")
        cls.users["blind"] = cls.make_user("blind@example.com", "blind")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, owner, stage, amount, currency, probability, close in FIXTURE:
            body = {"name": name, "stage": stage, "amount_cents": amount, "currency": currency,
                    "expected_close": close}
            if probability is not None:
                body["probability"] = probability
            status, _, record = cls.server.request("POST", OPPORTUNITIES, body,
                                                   key=cls.users[owner][1])
            assert status == 201, record

    def pipeline(self, query="", key=None):
        status, _, body = self.api("GET", PIPELINE + ("?" + query if query else ""),
                                   key=key or self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual(STAGES, [s["stage"] for s in body["stages"]])
        self.assertEqual([DEFAULT_PROBABILITY[s] for s in STAGES],
                         [s["default_probability"] for s in body["stages"]])
        return body

    def figures(self, body):
        """{stage: (count, amount, weighted)} of the flat figures."""
        return {s["stage"]: (s["count"], s["amount_cents"], s["weighted_amount_cents"])
                for s in body["stages"]}

    def by_currency(self, body):
        """{stage: {currency: (count, amount, weighted)}}."""
        return {s["stage"]: {c["currency"]: (c["count"], c["amount_cents"],
                                             c["weighted_amount_cents"])
                             for c in s["by_currency"]}
                for s in body["stages"]}

    def test_everything_by_hand(self):
        body = self.pipeline()
        # computed by hand from FIXTURE; weighted = round_half_up(sum(amount x p) / 100)
        self.assertEqual({
            "lead": {"CHF": (1, 500, 50), "EUR": (2, 10333, 1083)},    # 100000 + 8325
            "qualified": {"EUR": (1, 2, 1), "GBP": (1, 999, 250)},     # 50 -> 0.5 -> 1; 249.75
            "proposal": {"EUR": (2, 55556, 27778), "USD": (1, 12345, 4074)},  # 2777800; 4073.85
            "negotiation": {"USD": (1, 100000, 75000)},
            "won": {"EUR": (1, 70000, 70000)},
            "lost": {"EUR": (1, 90000, 0)},
        }, self.by_currency(body))
        self.assertEqual([2 + 1, 2, 3, 1, 1, 1], [s["count"] for s in body["stages"]])
        self.assertEqual([{"currency": "CHF", "count": 1, "amount_cents": 500,
                           "weighted_amount_cents": 50},
                          {"currency": "EUR", "count": 7, "amount_cents": 225891,
                           "weighted_amount_cents": 98862},
                          {"currency": "GBP", "count": 1, "amount_cents": 999,
                           "weighted_amount_cents": 250},
                          {"currency": "USD", "count": 2, "amount_cents": 112345,
                           "weighted_amount_cents": 79074}], body["by_currency"])
        # several currencies and none asked for: no flat money figures
        self.assertIsNone(body["currency"])
        self.assertEqual({None}, {s["amount_cents"] for s in body["stages"]}
                         | {s["weighted_amount_cents"] for s in body["stages"]})

    def test_one_currency(self):
        body = self.pipeline("currency=EUR")
        self.assertEqual("EUR", body["currency"])
        self.assertEqual({"lead": (2, 10333, 1083), "qualified": (1, 2, 1),
                          "proposal": (2, 55556, 27778), "negotiation": (0, 0, 0),
                          "won": (1, 70000, 70000), "lost": (1, 90000, 0)}, self.figures(body))
        self.assertEqual(["EUR"], [c["currency"] for c in body["by_currency"]])
        body = self.pipeline("currency=SEK")
        self.assertEqual("SEK", body["currency"])
        self.assertEqual({s: (0, 0, 0) for s in STAGES}, self.figures(body))
        self.assertEqual([], body["by_currency"])

    def test_owner_filter(self):
        rep_a, rep_a_key = self.users["rep_a"]
        body = self.pipeline("owner_id=%d" % rep_a)
        # only euros: the answer's currency is the one present
        self.assertEqual("EUR", body["currency"])
        self.assertEqual({"lead": (2, 10333, 1083), "qualified": (1, 2, 1),
                          "proposal": (0, 0, 0), "negotiation": (0, 0, 0), "won": (0, 0, 0),
                          "lost": (0, 0, 0)}, self.figures(body))
        self.assertEqual(body, self.pipeline("owner_id=me", key=rep_a_key))
        body = self.pipeline("owner_id=%d" % self.users["rep_b"][0])
        self.assertIsNone(body["currency"])
        self.assertEqual({"proposal": {"EUR": (1, 55555, 27778)},  # 27777.5 rounds up
                          "negotiation": {"USD": (1, 100000, 75000)},
                          "won": {"EUR": (1, 70000, 70000)}},
                         {k: v for k, v in self.by_currency(body).items() if v})
        body = self.pipeline("owner_id=999999")
        self.assertEqual({s: (0, 0, 0) for s in STAGES}, self.figures(body))
        self.assertIsNone(body["currency"])

    def test_expected_close_period(self):
        # inclusive at both ends: A1 (01-15), B3 (01-20), B1 (01-31)
        body = self.pipeline("expected_close_from=2026-01-15&expected_close_to=2026-01-31")
        self.assertEqual("EUR", body["currency"])
        self.assertEqual({"lead": (1, 10000, 1000), "qualified": (0, 0, 0),
                          "proposal": (1, 55555, 27778), "negotiation": (0, 0, 0),
                          "won": (1, 70000, 70000), "lost": (0, 0, 0)}, self.figures(body))
        # from only: everything closing in February or later (W2 has no date)
        body = self.pipeline("expected_close_from=2026-02-01")
        self.assertEqual({"lead": {"EUR": (1, 333, 83)}, "qualified": {"EUR": (1, 2, 1),
                                                                       "GBP": (1, 999, 250)},
                          "negotiation": {"USD": (1, 100000, 75000)},
                          "lost": {"EUR": (1, 90000, 0)}},
                         {k: v for k, v in self.by_currency(body).items() if v})
        # combined with owner and currency
        body = self.pipeline("expected_close_to=2026-01-31&owner_id=%d&currency=USD"
                             % self.users["rep_w"][0])
        self.assertEqual({"lead": (0, 0, 0), "qualified": (0, 0, 0), "proposal": (1, 12345, 4074),
                          "negotiation": (0, 0, 0), "won": (0, 0, 0), "lost": (0, 0, 0)},
                         self.figures(body))

    def test_read_scopes(self):
        body = self.pipeline(key=self.users["own"][1])
        self.assertEqual("CHF", body["currency"])
        self.assertEqual([1, 0, 0, 0, 0, 0], [s["count"] for s in body["stages"]])
        body = self.pipeline(key=self.users["team_w"][1])
        self.assertEqual({"proposal": {"EUR": (1, 1, 1), "USD": (1, 12345, 4074)},  # 0.5 -> 1
                          "lost": {"EUR": (1, 90000, 0)}},
                         {k: v for k, v in self.by_currency(body).items() if v})
        # an owner filter cannot reach past the scope
        body = self.pipeline("owner_id=%d" % self.users["rep_a"][0], key=self.users["team_w"][1])
        self.assertEqual([0] * 6, [s["count"] for s in body["stages"]])
        self.assertProblem(self.api("GET", PIPELINE, key=self.users["blind"][1]), 403)
        self.assertEqual(401, self.api("GET", PIPELINE)[0])

    def test_bad_parameters_are_400(self):
        for query in ("owner_id=abc", "owner_id=-1", "expected_close_from=2026-02-30",
                      "expected_close_to=2026-01-01T00:00:00Z", "currency=eur", "currency=EURO",
                      "stage=lead", "currency=EUR&currency=USD"):
            self.assertProblem(self.api("GET", PIPELINE + "?" + query, key=self.admin_key), 400)
        self.assertProblem(self.api("POST", PIPELINE, {}, key=self.admin_key), 405)

    def test_pipeline_follows_changes(self):
        rep_a_key = self.users["rep_a"][1]
        record = self.create({"name": "Fresh", "amount_cents": 1000, "currency": "NOK"},
                             key=rep_a_key)
        body = self.pipeline("currency=NOK")
        self.assertEqual((1, 1000, 100), self.figures(body)["lead"])
        self.patched(record["id"], {"stage": "negotiation"}, key=rep_a_key)
        body = self.pipeline("currency=NOK")
        self.assertEqual((0, 0, 0), self.figures(body)["lead"])
        self.assertEqual((1, 1000, 750), self.figures(body)["negotiation"])
        self.api("DELETE", "%s/%d" % (OPPORTUNITIES, record["id"]), key=self.admin_key)
        self.assertEqual({s: (0, 0, 0) for s in STAGES}, self.figures(self.pipeline("currency=NOK")))


class OpportunitySearchTest(OpportunitiesTestCase):
    """?q= full-text search of name and lost_reason (migration 0014): prefixes, edits,
    deletes, other filters, and the GDPR erasure."""

    def search(self, text, extra=""):
        return set(self.list_ids("q=" + urllib.parse.quote(text) + ("&" + extra if extra else "")))

    def test_search_follows_writes_and_combines_with_filters(self):
        first = self.create({"name": "Brennholt fleet deal", "stage": "proposal"})
        second = self.create({"name": "Second Brennholt order", "stage": "lost",
                              "lost_reason": "Price above Quorresk offer"})
        other = self.create({"name": "Unrelated deal"})
        self.assertEqual({first["id"], second["id"]}, self.search("brennholt"))
        self.assertEqual({first["id"], second["id"]}, self.search("bren"))
        self.assertEqual({second["id"]}, self.search("quorresk"))  # the lost reason
        self.assertEqual({first["id"]}, self.search("brennholt fleet"))
        self.assertEqual({first["id"]}, self.search("brennholt", "stage=proposal"))
        self.assertEqual({second["id"]}, self.search("brennholt", "stage=lost"))
        self.assertIn(other["id"], self.search("deal"))
        # edits
        self.patched(first["id"], {"name": "Fenwhistle fleet deal"})
        self.assertEqual({second["id"]}, self.search("brennholt"))
        self.assertEqual({first["id"]}, self.search("fenwhistle"))
        self.patched(second["id"], {"lost_reason": "Timing"})
        self.assertEqual(set(), self.search("quorresk"))
        # a delete
        status, _, _ = self.api("DELETE", "%s/%d" % (OPPORTUNITIES, second["id"]),
                                key=self.admin_key)
        self.assertEqual(204, status)
        self.assertEqual(set(), self.search("brennholt"))
        check_fts(self, "opportunities_fts")

    def test_erasure_takes_the_words_out_of_the_index(self):
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Erin"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        deal = self.create({"name": "Deal with Vaskelund", "contact_id": contact["id"],
                            "stage": "lost", "lost_reason": "Vaskelund moved"})
        self.assertEqual({deal["id"]}, self.search("vaskelund"))
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % contact["id"],
                                key=self.admin_key)
        self.assertEqual(204, status)
        self.assertEqual(set(), self.search("vaskelund"))
        self.assertEqual({deal["id"]}, self.search("erased"))
        check_fts(self, "opportunities_fts")


def check_fts(test, table):
    """FTS5 integrity check of `table` against its content table, and nothing pending."""
    db_path = test.server.db_path
    harness.sql_rows(db_path, "INSERT INTO %s (%s, rank) VALUES ('integrity-check', 1)"
                     % (table, table))
    test.assertEqual([], harness.sql_rows(db_path, "SELECT * FROM fts_pending"))


class OpportunitySearchMigrationTest(OpportunitiesTestCase):
    """Opportunities written before migration 0014 are found after it (the backfill)."""

    @classmethod
    def setUpClass(cls):
        from test_search_prefixes import apply_migrations
        cls.server = harness.Server(extra_args=cls.server_args)
        apply_migrations(cls.server.db_path, 1, 14)
        now = "2026-12-01T00:00:00Z"
        connection = sqlite3.connect(cls.server.db_path, isolation_level=None)
        connection.execute("INSERT INTO opportunities (name, stage, probability, lost_reason,"
                           " created_at, updated_at) VALUES ('Older Dravenmoor deal', 'lost',"
                           " 0, 'Budget of Ostrelin', ?, ?)", (now, now))
        connection.close()
        harness.crmctl(cls.server.db_path, "migrate")
        cls.admin_id, cls.admin_key = cls.make_user(cls.admin_email, "admin",
                                                    password=cls.admin_password, name="Admin")
        cls.server.start()

    def test_old_opportunities_are_found(self):
        found = self.list_ids("q=dravenmoor")
        self.assertEqual(1, len(found))
        self.assertEqual(found, self.list_ids("q=ostrelin"))
        new = self.create({"name": "Newer Dravenmoor deal"})
        self.assertEqual(set(found) | {new["id"]}, set(self.list_ids("q=draven")))
        check_fts(self, "opportunities_fts")
