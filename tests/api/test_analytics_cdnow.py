"""test_analytics_cdnow.py - the end-to-end check of issue 4: the raw CDNOW transactions
(tests/data/cdnow, 2,357 customers) loaded as purchases must give, through the triggers that
keep contact_summaries current, the as-of history of the purchases table and the model
fit, the parameters published by Fader, Hardie & Lee (2005) for BG/NBD and by Fader & Hardie
(2013) for Gamma-Gamma, within 1 %.

Loading 2,357 contacts and ~6,900 purchase lines through the API is slow under sanitizers,
so the class loads them with SQL into the test database before crmd starts (the triggers
fire for SQL writes as for the API's); the test then adds purchases through
POST /api/v1/purchases and checks that the summaries moved with them.
"""
import datetime
import os
import sqlite3

import harness

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "cdnow")
TRANSACTIONS = os.path.join(DATA, "cdnow_sample_transactions.txt")

# Published values (FHL 2005, table 1; FH 2013: v in dollars, ours is in cents).
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 1544.0}


def load_cdnow(db_path, owner_id):
    """Inserts one contact per CDNOW customer (external_id cdnow-<id>) and one purchase per
    transaction line (several lines on a day stay separate records). Returns the number of
    purchase lines."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    with open(TRANSACTIONS) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) != 5:
                continue
            customer, _, day, _, dollars = fields
            occurred = "%s-%s-%sT12:00:00Z" % (day[:4], day[4:6], day[6:])
            rows.append((int(customer), occurred, int(round(float(dollars) * 100))))
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        with connection:
            customers = sorted({row[0] for row in rows})
            connection.executemany(
                "INSERT INTO contacts (id, first_name, last_name, owner_id, external_id, "
                "tags, custom, created_at, updated_at, version) "
                "VALUES (?, 'Customer', ?, ?, ?, '[]', '{}', ?, ?, 1)",
                [(c, str(c), owner_id, "cdnow-%d" % c, now, now) for c in customers])
            connection.executemany(
                "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
                "created_at, updated_at, version) VALUES (?, ?, 'USD', ?, ?, ?, 1)",
                [(c, cents, occurred, now, now) for c, occurred, cents in rows])
            harness.fts_flush(connection)  # as db_commit() does
    finally:
        connection.close()
    return len(rows), len(customers)


class CdnowEndToEndTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.lines, cls.customers = load_cdnow(cls.server.db_path, cls.admin_id)

    def sql(self, statement, *args):
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        try:
            return connection.execute(statement, args).fetchall()
        finally:
            connection.close()

    def assertWithin(self, expected, actual, tolerance, what):
        self.assertLessEqual(abs(actual - expected), tolerance * abs(expected),
                             "%s: expected %g within %g%%, got %g"
                             % (what, expected, tolerance * 100, actual))

    def test_1_summaries_match_the_raw_transactions(self):
        self.assertEqual(2357, self.customers)
        rows = self.sql("SELECT count(*), sum(purchases_count), sum(purchase_days), "
                        "sum(total_cents) FROM contact_summaries")
        count, lines, days, total = rows[0]
        self.assertEqual(2357, count)
        self.assertEqual(self.lines, lines)
        # Same-day lines are one purchase: fewer purchase days than lines.
        self.assertLess(days, lines)
        expected_days = self.sql("SELECT count(*) FROM (SELECT DISTINCT contact_id, "
                                 "substr(occurred_at, 1, 10) FROM purchases)")[0][0]
        self.assertEqual(expected_days, days)
        self.assertEqual(self.sql("SELECT sum(amount_cents) FROM purchases")[0][0], total)

    def test_2_ltv_as_of_end_of_calibration_gives_the_published_parameters(self):
        status, _, body = self.api("GET", "/api/v1/analytics/ltv?as_of=1997-09-30&limit=5",
                                   key=self.admin_key)
        self.assertEqual(200, status, body)
        model = body["model"]
        self.assertTrue(model["converged"], model)
        self.assertEqual("week", model["time_unit"])
        self.assertEqual(2357, model["customers"])
        self.assertEqual("1997-09-30", model["data_as_of"])
        for name, value in BGNBD.items():
            self.assertWithin(value, model["bgnbd"][name], 0.01, "BG/NBD " + name)
        self.assertEqual(946, model["bgnbd"]["repeat_customers"])
        for name, value in GAMMA_GAMMA.items():
            self.assertWithin(value, model["gamma_gamma"][name], 0.01, "Gamma-Gamma " + name)
        self.assertEqual(5, len(body["data"]))
        ranked = [row["predicted_ltv_cents"] for row in body["data"]]
        self.assertEqual(sorted(ranked, reverse=True), ranked)
        self.assertEqual("1997-09-30", body["as_of"])

    def test_3_customer_figures_follow_the_papers_formulas(self):
        # Customer 1 (ID 00004 in the raw file, contact 4 here): x = 2, t_x = 30.43,
        # T = 38.86 weeks as of 1997-09-30; FHL 2005 give P(alive) and E[Y(39)] with the
        # published parameters: recompute them here from the formulas.
        status, _, body = self.api("GET", "/api/v1/contacts/4/analytics?as_of=1997-09-30"
                                   "&horizon_days=273", key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual(3, body["purchases_count"])
        self.assertEqual(3, body["purchase_days"])
        self.assertEqual("1997-08-02T12:00:00Z", body["last_purchase_at"])
        self.assertEqual(59, body["recency_days"])
        bg = body["model"]["bgnbd"]
        r, alpha, a, b = bg["r"], bg["alpha"], bg["a"], bg["b"]
        x, t_x, T = 2, 213 / 7, 272 / 7
        p_alive = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        self.assertAlmostEqual(p_alive, body["p_alive"], places=6)
        self.assertAlmostEqual(1 - p_alive, body["churn_risk"], places=6)
        expected = expected_purchases(r, alpha, a, b, x, t_x, T, 39.0)
        self.assertAlmostEqual(expected, body["expected_purchases"], places=5)
        # FHL 2005 report about 1.23 purchases in the next 39 weeks for this customer.
        self.assertAlmostEqual(1.23, body["expected_purchases"], delta=0.02)

    def test_4_purchases_through_the_api_move_the_summaries(self):
        before = self.sql("SELECT purchases_count, purchase_days, total_cents "
                          "FROM contact_summaries WHERE contact_id = 4")[0]
        for occurred in ("2001-05-01T09:00:00Z", "2001-05-01T17:00:00Z", "2001-06-01T10:00:00Z"):
            status, _, body = self.api("POST", "/api/v1/purchases",
                                       {"contact_id": 4, "amount_cents": 1000,
                                        "currency": "USD", "occurred_at": occurred},
                                       key=self.admin_key)
            self.assertEqual(201, status, body)
        after = self.sql("SELECT purchases_count, purchase_days, total_cents, last_purchase_at "
                         "FROM contact_summaries WHERE contact_id = 4")[0]
        self.assertEqual((before[0] + 3, before[1] + 2, before[2] + 3000), after[:3])
        self.assertEqual("2001-06-01T10:00:00Z", after[3])
        status, _, body = self.api("GET", "/api/v1/contacts/4/analytics", key=self.admin_key)
        self.assertEqual(200, status, body)
        self.assertEqual(before[0] + 3, body["purchases_count"])
        # ... while the as-of view ignores them.
        status, _, body = self.api("GET", "/api/v1/contacts/4/analytics?as_of=1997-09-30",
                                   key=self.admin_key)
        self.assertEqual(3, body["purchases_count"])


def hyp2f1(a, b, c, z):
    term, total, n = 1.0, 1.0, 0
    while abs(term) > 1e-15 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
        if n > 100000:
            break
    return total


def expected_purchases(r, alpha, a, b, x, t_x, T, t):
    """E[Y(t) | x, t_x, T], eq. 10 of Fader, Hardie & Lee (2005)."""
    z = t / (alpha + T + t)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    third = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return first * second / third
