"""test_analytics_revenue.py - GET /api/v1/analytics/revenue (revenue over time): purchases
built by hand over several months and currencies, summed per day, week (from Monday),
month, quarter and year with the buckets worked out here; empty buckets listed as zeros;
the first and last bucket clipped to from..to; the defaults (twelve months to today,
as_of); only the contacts the caller's read scope covers (team, own); erased contacts'
anonymous purchases still counted, like analytics/summary counts them; bad values are a
422 naming the parameter, unknown or repeated parameters a 400."""
import datetime
import sqlite3

import harness

REVENUE = "/api/v1/analytics/revenue"
CONTACTS = "/api/v1/contacts"
PURCHASES = "/api/v1/purchases"
DAY = datetime.timedelta(days=1)
HOUSE_CURRENCY = "CHF"  # the setting default_currency of the test database


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def month_after(day):
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_start(by, day):
    """The first day of the calendar period of size `by` that holds `day`."""
    if by == "day":
        return day
    if by == "week":
        return day - datetime.timedelta(days=day.weekday())  # Monday
    if by == "month":
        return day.replace(day=1)
    if by == "quarter":
        return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return datetime.date(day.year, 1, 1)


def period_after(by, start):
    if by == "day":
        return start + DAY
    if by == "week":
        return start + 7 * DAY
    steps = {"month": 1, "quarter": 3, "year": 12}[by]
    for _ in range(steps):
        start = month_after(start)
    return start


def expected_buckets(by, first, last, purchases, currency=None):
    """The buckets from `first` to `last` (dates, both counted) of `purchases`, a list of
    (contact_id, cents, currency, occurred_at), worked out independently of the server."""
    buckets = []
    start = first
    while start <= last:
        end = min(period_after(by, period_start(by, start)), last + DAY)
        inside = [p for p in purchases
                  if start <= parse_time(p[3]).date() < end and currency in (None, p[2])]
        buckets.append({"start": start.isoformat(), "end": end.isoformat(),
                        "revenue_cents": sum(p[1] for p in inside),
                        "purchases": len(inside),
                        "customers": len({p[0] for p in inside})})
        start = end
    return buckets


class RevenueTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        db = cls.server.db_path
        harness.crmctl(db, "role", "create", "teamrep", "--from", "rep")
        harness.crmctl(db, "role", "grant", "teamrep", "contacts", "read", "team")
        harness.crmctl(db, "role", "create", "ownrep", "--from", "rep")
        harness.crmctl(db, "role", "grant", "ownrep", "contacts", "read", "own")
        harness.crmctl(db, "role", "create", "noanalytics", "--from", "rep")
        harness.crmctl(db, "role", "grant", "noanalytics", "analytics", "read", "none")
        cls.east_id, cls.east_key = cls.make_user("east@example.com", "teamrep", team="east")
        cls.east2_id, cls.east2_key = cls.make_user("east2@example.com", "ownrep", team="east")
        cls.west_id, cls.west_key = cls.make_user("west@example.com", "teamrep", team="west")
        cls.blind_id, cls.blind_key = cls.make_user("blind@example.com", "noanalytics")
        connection = sqlite3.connect(db)
        with connection:
            connection.execute("INSERT INTO settings (key, value) VALUES ('default_currency', ?)",
                               (HOUSE_CURRENCY,))
        connection.close()

    # ---- helpers

    def contact(self, owner_id=None):
        body = {"first_name": "Buyer"}
        if owner_id is not None:
            body["owner_id"] = owner_id
        status, _, record = self.api("POST", CONTACTS, body, key=self.admin_key)
        self.assertEqual(201, status, record)
        return record["id"]

    def purchases(self, rows):
        """Records (contact_id, cents, currency, occurred_at) rows; returns them."""
        for contact_id, cents, currency, occurred_at in rows:
            status, _, record = self.api("POST", PURCHASES, {
                "contact_id": contact_id, "amount_cents": cents, "currency": currency,
                "occurred_at": occurred_at}, key=self.admin_key)
            self.assertEqual(201, status, record)
        return rows

    def revenue(self, query="", key=None):
        status, _, body = self.api("GET", REVENUE + query, key=key or self.admin_key)
        self.assertEqual(200, status, body)
        return body

    # ---- sums per bucket

    def test_months_and_currencies(self):
        a, b, c = self.contact(), self.contact(), self.contact()
        rows = self.purchases([
            (a, 1000, "EUR", "2021-01-15T10:00:00Z"),
            (a, 500, "EUR", "2021-01-31T23:59:59Z"),   # the last second of January
            (b, 700, "EUR", "2021-01-20T08:00:00Z"),
            (c, 9999, "USD", "2021-02-10T12:00:00Z"),
            (a, 2000, "EUR", "2021-03-01T00:00:00Z"),   # the first second of March
            (b, -300, "EUR", "2021-03-15T09:30:00Z"),   # a refund
            (a, 400, "USD", "2021-03-02T17:00:00Z"),
            (c, 123, "EUR", "2020-12-31T23:59:59Z"),   # before the range
            (c, 456, "EUR", "2021-05-01T00:00:00Z"),   # after it
        ])
        body = self.revenue("?by=month&from=2021-01-01&to=2021-04-30")
        self.assertEqual(("month", "2021-01-01", "2021-04-30", HOUSE_CURRENCY),
                         (body["by"], body["from"], body["to"], body["currency"]))
        # without ?currency= every amount is summed as stored, like the analytics totals
        self.assertEqual([
            {"start": "2021-01-01", "end": "2021-02-01", "revenue_cents": 2200, "purchases": 3,
             "customers": 2},
            {"start": "2021-02-01", "end": "2021-03-01", "revenue_cents": 9999, "purchases": 1,
             "customers": 1},
            {"start": "2021-03-01", "end": "2021-04-01", "revenue_cents": 2100, "purchases": 3,
             "customers": 2},
            {"start": "2021-04-01", "end": "2021-05-01", "revenue_cents": 0, "purchases": 0,
             "customers": 0},
        ], body["buckets"])
        euros = self.revenue("?by=month&from=2021-01-01&to=2021-04-30&currency=EUR")
        self.assertEqual("EUR", euros["currency"])
        self.assertEqual([2200, 0, 1700, 0], [b["revenue_cents"] for b in euros["buckets"]])
        self.assertEqual([3, 0, 2, 0], [b["purchases"] for b in euros["buckets"]])
        dollars = self.revenue("?from=2021-01-01&to=2021-04-30&currency=USD")
        self.assertEqual("month", dollars["by"])
        self.assertEqual(expected_buckets("month", datetime.date(2021, 1, 1),
                                          datetime.date(2021, 4, 30), rows, "USD"),
                         dollars["buckets"])
        self.assertEqual([0, 9999, 400, 0], [b["revenue_cents"] for b in dollars["buckets"]])
        none = self.revenue("?from=2021-01-01&to=2021-04-30&currency=JPY")
        self.assertEqual([0, 0, 0, 0], [b["revenue_cents"] for b in none["buckets"]])

    def test_weeks_start_on_monday_and_the_ends_are_clipped(self):
        a, b = self.contact(), self.contact()
        rows = self.purchases([
            (a, 100, "EUR", "2022-01-02T23:59:59Z"),   # Sunday: the first (clipped) week
            (b, 200, "EUR", "2022-01-03T00:00:00Z"),   # Monday: the next week
            (a, 300, "EUR", "2022-01-09T12:00:00Z"),   # Sunday
            (a, 400, "EUR", "2022-01-10T12:00:00Z"),   # Monday
            (b, 500, "EUR", "2022-01-31T06:00:00Z"),   # Monday 31: the last (clipped) week
            (b, 600, "EUR", "2022-02-01T06:00:00Z"),   # after to
            (b, 700, "EUR", "2021-12-31T06:00:00Z"),   # before from (same ISO week)
        ])
        body = self.revenue("?by=week&from=2022-01-01&to=2022-01-31")
        expected = expected_buckets("week", datetime.date(2022, 1, 1), datetime.date(2022, 1, 31),
                                    rows)
        self.assertEqual(expected, body["buckets"])
        self.assertEqual([("2022-01-01", "2022-01-03"), ("2022-01-03", "2022-01-10"),
                          ("2022-01-10", "2022-01-17"), ("2022-01-17", "2022-01-24"),
                          ("2022-01-24", "2022-01-31"), ("2022-01-31", "2022-02-01")],
                         [(b["start"], b["end"]) for b in body["buckets"]])
        self.assertEqual([100, 500, 400, 0, 0, 500],
                         [b["revenue_cents"] for b in body["buckets"]])
        # a week that starts on a Monday is a whole week
        whole = self.revenue("?by=week&from=2022-01-03&to=2022-01-09")
        self.assertEqual([{"start": "2022-01-03", "end": "2022-01-10", "revenue_cents": 500,
                           "purchases": 2, "customers": 2}], whole["buckets"])

    def test_quarters_years_and_days(self):
        a, b = self.contact(), self.contact()
        rows = self.purchases([
            (a, 1000, "EUR", "2019-11-14T23:59:59Z"),  # before from
            (a, 1100, "EUR", "2019-11-15T00:00:00Z"),
            (b, 1200, "EUR", "2020-03-31T23:59:59Z"),  # the last second of Q1
            (a, 1300, "EUR", "2020-04-01T00:00:00Z"),  # the first of Q2
            (b, 1400, "EUR", "2020-08-10T23:59:59Z"),  # the last second of the range
            (b, 1500, "EUR", "2020-08-11T00:00:00Z"),  # after it
            (a, 1600, "EUR", "2020-02-29T12:00:00Z"),  # a leap day
        ])
        first, last = datetime.date(2019, 11, 15), datetime.date(2020, 8, 10)
        for by, spans in (
                ("quarter", [("2019-11-15", "2020-01-01"), ("2020-01-01", "2020-04-01"),
                             ("2020-04-01", "2020-07-01"), ("2020-07-01", "2020-08-11")]),
                ("year", [("2019-11-15", "2020-01-01"), ("2020-01-01", "2020-08-11")])):
            body = self.revenue("?by=%s&from=%s&to=%s" % (by, first, last))
            self.assertEqual(spans, [(b["start"], b["end"]) for b in body["buckets"]], by)
            self.assertEqual(expected_buckets(by, first, last, rows), body["buckets"], by)
        quarters = self.revenue("?by=quarter&from=%s&to=%s" % (first, last))["buckets"]
        self.assertEqual([1100, 2800, 1300, 1400], [b["revenue_cents"] for b in quarters])
        days = self.revenue("?by=day&from=2020-02-28&to=2020-03-01")["buckets"]
        self.assertEqual([("2020-02-28", 0), ("2020-02-29", 1600), ("2020-03-01", 0)],
                         [(b["start"], b["revenue_cents"]) for b in days])
        self.assertEqual(["2020-02-29", "2020-03-01", "2020-03-02"], [b["end"] for b in days])
        one = self.revenue("?by=day&from=2020-03-31&to=2020-03-31")["buckets"]
        self.assertEqual([{"start": "2020-03-31", "end": "2020-04-01", "revenue_cents": 1200,
                           "purchases": 1, "customers": 1}], one)

    # ---- defaults and as_of

    def test_defaults_are_twelve_months_to_today(self):
        contact = self.contact()
        today = utc_today()
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        first = period_start("month", today)
        for _ in range(11):
            first = (first - DAY).replace(day=1)
        rows = self.purchases([
            (contact, 4242, "EUR", max(now - datetime.timedelta(minutes=1),
                                       now.replace(hour=0, minute=0, second=0))
             .strftime("%Y-%m-%dT%H:%M:%SZ")),
            (contact, 5000, "EUR", "%sT12:00:00Z" % first.isoformat()),
            (contact, 6000, "EUR", "%sT23:59:59Z" % (first - DAY).isoformat()),  # before
        ])
        body = self.revenue()
        self.assertEqual(("month", first.isoformat(), today.isoformat(), today.isoformat()),
                         (body["by"], body["from"], body["to"], body["as_of"]))
        self.assertEqual(12, len(body["buckets"]))
        self.assertEqual(expected_buckets("month", first, today, rows), body["buckets"])
        self.assertEqual((today + DAY).isoformat(), body["buckets"][-1]["end"])
        self.assertEqual(4242, body["buckets"][-1]["revenue_cents"])
        self.assertEqual(5000, body["buckets"][0]["revenue_cents"])
        # by week the default range starts on the Monday of the week that holds `first`
        weeks = self.revenue("?by=week")
        monday = period_start("week", first)
        self.assertEqual(("week", monday.isoformat()), (weeks["by"], weeks["from"]))
        self.assertEqual(expected_buckets("week", monday, today, rows), weeks["buckets"])
        self.assertEqual(monday.isoformat(), weeks["buckets"][0]["start"])

    def test_as_of_is_the_default_end_and_a_limit(self):
        contact = self.contact()
        rows = self.purchases([
            (contact, 700, "EUR", "2016-03-15T23:59:59Z"),
            (contact, 800, "EUR", "2016-03-16T00:00:00Z"),  # after as_of
            (contact, 900, "EUR", "2015-04-01T00:00:00Z"),
            (contact, 1000, "EUR", "2015-03-31T23:59:59Z"),  # before the twelve months
        ])
        body = self.revenue("?as_of=2016-03-15")
        self.assertEqual(("2015-04-01", "2016-03-15", "2016-03-15"),
                         (body["from"], body["to"], body["as_of"]))
        self.assertEqual(expected_buckets("month", datetime.date(2015, 4, 1),
                                          datetime.date(2016, 3, 15), rows), body["buckets"])
        self.assertEqual({"start": "2016-03-01", "end": "2016-03-16", "revenue_cents": 700,
                          "purchases": 1, "customers": 1}, body["buckets"][-1])
        self.assertEqual(900, body["buckets"][0]["revenue_cents"])
        # an RFC 3339 time counts by its UTC day
        later = self.revenue("?as_of=2016-03-16T00:30:00%2B01:00")
        self.assertEqual("2016-03-15", later["to"])
        self.assertProblem(self.api("GET", REVENUE + "?as_of=2016-03-15&to=2016-03-16",
                                    key=self.admin_key), 422, "to")

    # ---- who sees what

    def test_a_rep_sees_the_revenue_of_the_contacts_they_may_read(self):
        east = self.contact(self.east_id)
        east2 = self.contact(self.east2_id)
        west = self.contact(self.west_id)
        admins = self.contact()
        self.purchases([
            (east, 1000, "EUR", "2017-05-03T10:00:00Z"),
            (east2, 2000, "EUR", "2017-05-04T10:00:00Z"),
            (west, 4000, "EUR", "2017-05-05T10:00:00Z"),
            (west, 8000, "EUR", "2017-06-05T10:00:00Z"),
            (admins, 16000, "EUR", "2017-05-06T10:00:00Z"),
        ])
        query = "?from=2017-05-01&to=2017-06-30"

        def figures(key):
            return [(b["revenue_cents"], b["purchases"], b["customers"])
                    for b in self.revenue(query, key=key)["buckets"]]

        self.assertEqual([(23000, 4, 4), (8000, 1, 1)], figures(self.admin_key))
        self.assertEqual([(4000, 1, 1), (8000, 1, 1)], figures(self.west_key))   # team west
        self.assertEqual([(3000, 2, 2), (0, 0, 0)], figures(self.east_key))      # team east
        self.assertEqual([(2000, 1, 1), (0, 0, 0)], figures(self.east2_key))     # own only
        self.assertEqual([(0, 0, 0), (0, 0, 0)],
                         [(b["revenue_cents"], b["purchases"], b["customers"])
                          for b in self.revenue(query + "&currency=USD",
                                                key=self.west_key)["buckets"]])
        self.assertProblem(self.api("GET", REVENUE, key=self.blind_key), 403)
        status, headers, _ = self.api("GET", REVENUE)
        self.assertEqual(401, status)

    def test_erased_contacts_revenue_is_still_counted_like_the_summary(self):
        kept, erased = self.contact(), self.contact()
        self.purchases([
            (kept, 1500, "EUR", "2018-05-02T10:00:00Z"),
            (erased, 2500, "EUR", "2018-05-20T10:00:00Z"),
            (erased, 3500, "EUR", "2018-06-20T10:00:00Z"),
        ])
        query = "?by=month&from=2018-05-01&to=2018-06-30"
        before = self.revenue(query)
        status, _, body = self.api("POST", "%s/%d/erase" % (CONTACTS, erased), key=self.admin_key)
        self.assertEqual(204, status, body)
        after = self.revenue(query)
        self.assertEqual(before, after)
        self.assertEqual([(4000, 2, 2), (3500, 1, 1)],
                         [(b["revenue_cents"], b["purchases"], b["customers"])
                          for b in after["buckets"]])
        status, _, summary = self.api("GET", "/api/v1/analytics/summary?period=month&"
                                      "as_of=2018-06-30", key=self.admin_key)
        self.assertEqual(200, status, summary)
        self.assertEqual((summary["last_period"]["revenue_cents"],
                          summary["this_period"]["revenue_cents"]),
                         tuple(b["revenue_cents"] for b in after["buckets"]))
        self.assertEqual((summary["last_period"]["buyers"], summary["this_period"]["buyers"]),
                         tuple(b["customers"] for b in after["buckets"]))

    # ---- bad queries

    def test_bad_values_are_422_naming_the_parameter(self):
        for query, field in (
                ("?by=fortnight", "by"), ("?by=", "by"), ("?by=Month", "by"),
                ("?from=2021-13-01", "from"), ("?from=yesterday", "from"), ("?from=", "from"),
                ("?from=1969-12-31", "from"), ("?to=2021-02-30", "to"),
                ("?to=2021-01-01T00:00:00Z", "to"), ("?to=9999-01-01", "to"),
                ("?from=2021-05-01&to=2021-04-30", "from"),
                ("?by=day&from=2020-01-01&to=2022-12-31", "from"),  # 1096 buckets
                ("?currency=eur", "currency"), ("?currency=EURO", "currency"),
                ("?currency=", "currency"), ("?as_of=soon", "as_of"),
                ("?as_of=1970-01-01", "as_of"),
                ("?as_of=2021-01-31&to=2021-02-01", "to")):
            body = self.assertProblem(self.api("GET", REVENUE + query, key=self.admin_key),
                                      422, field)
            self.assertEqual("Unprocessable Content", body["title"], query)
        # a bad value of each parameter at once: every one is named
        body = self.assertProblem(self.api(
            "GET", REVENUE + "?by=hour&currency=x&as_of=x", key=self.admin_key), 422)
        self.assertEqual({"by", "currency", "as_of"}, {e["field"] for e in body["errors"]})
        # the longest ranges that are allowed
        self.assertEqual(1000, len(self.revenue("?by=day&from=2020-01-01&to=2022-09-26")
                                   ["buckets"]))
        self.assertEqual(8, len(self.revenue("?by=year&from=1970-01-01&to=1977-12-31")
                                ["buckets"]))

    def test_unknown_and_repeated_parameters_are_400(self):
        for query in ("?period=month", "?limit=10", "?by=month&by=week",
                      "?from=2021-01-01&from=2021-02-01"):
            self.assertProblem(self.api("GET", REVENUE + query, key=self.admin_key), 400)


if __name__ == "__main__":
    import unittest
    unittest.main()
