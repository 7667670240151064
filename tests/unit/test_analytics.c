/*
 * test_analytics.c - the rules of customer analytics (src/analytics/analytics_rules.c) on small
 * hand-built histories whose answers are worked out here by hand: the model input, RFM
 * quintiles (with ties), tiers by share and by value, loyalty, relationship stage and value
 * class (one history per class and stage), the fallback P(alive) and prediction, settings,
 * dates, and the JSON round trips the scores cache relies on.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/analytics.h"
#include "crm/banned.h"

#define DAY 86400LL
/* The as-of day of every example: 2024-06-30 is day 19904. */
#define AS_OF 19904

/* A history with purchases on the given days (relative to AS_OF, negative = before) of
 * `cents` each, several on one day allowed. */
static struct analytics_history history_of(const int *days, int count, int64_t cents)
{
	struct analytics_history h;
	memset(&h, 0, sizeof(h));
	h.contact_id = 1;
	for (int i = 0; i < count; i++) {
		int64_t when = (AS_OF + days[i]) * DAY + 12 * 3600;
		bool new_day = h.purchases_count == 0 ||
			       analytics_day_of(when) != analytics_day_of(h.last_purchase_at);
		if (h.purchases_count == 0)
			h.first_purchase_at = when;
		if (new_day)
			h.purchase_days++;
		if (h.purchase_days == 1)
			h.first_day_cents += cents;
		h.purchases_count++;
		h.total_cents += cents;
		h.last_purchase_at = when;
	}
	return h;
}

/* Adds `count` interactions, the last one `last_day` days from AS_OF; `service` of them
 * tickets or inbound. */
static void add_interactions(struct analytics_history *h, int count, int last_day, int service)
{
	h->interactions_count = count;
	h->service_count = service;
	h->last_interaction_at = (AS_OF + last_day) * DAY + 9 * 3600;
}

static void test_dates(void)
{
	CHECK_INT(AS_OF, analytics_store_day_from_date(2024, 6, 30));
	CHECK_INT(0, analytics_store_day_from_date(1970, 1, 1));
	CHECK_INT(-1, analytics_day_of(-1));
	CHECK_INT(0, analytics_day_of(DAY - 1));
	char text[21], day[ANALYTICS_DATE_SIZE];
	analytics_store_format_time(AS_OF * DAY + 16 * 3600 + 5, text);
	CHECK_STR("2024-06-30T16:00:05Z", text);
	analytics_store_format_day(AS_OF + 1, day);
	CHECK_STR("2024-07-01", day);
	analytics_store_format_day(analytics_store_day_from_date(2000, 2, 29), day);
	CHECK_STR("2000-02-29", day);
	int64_t seconds = 0;
	CHECK(analytics_store_parse_time("2024-06-30T16:00:05Z", &seconds));
	CHECK_INT(AS_OF * DAY + 16 * 3600 + 5, seconds);
	CHECK(analytics_store_parse_time("2024-06-30", &seconds));
	CHECK_INT(AS_OF * DAY, seconds);
	CHECK(analytics_store_parse_time("2024-06-30T18:00:05+02:00", &seconds));
	CHECK_INT(AS_OF * DAY + 16 * 3600 + 5, seconds);
	CHECK(!analytics_store_parse_time("yesterday", &seconds));
	CHECK(!analytics_store_parse_time("2024-13-01", &seconds));
}

/* Purchases on days -140, -70 (twice), 0 of 10.00 each, as of day 0. */
static void test_customer_of(void)
{
	int days[] = { -140, -70, -70, 0 };
	struct analytics_history h = history_of(days, 4, 1000);
	CHECK_INT(4, h.purchases_count);
	CHECK_INT(3, h.purchase_days);
	CHECK_INT(1000, h.first_day_cents);
	struct ltv_customer c;
	analytics_customer_of(&h, AS_OF, &c);
	CHECK_NEAR(2.0, c.x, 1e-12);           /* 3 purchase days, the first is not a repeat */
	CHECK_NEAR(20.0, c.t_x, 1e-12);        /* 140 days = 20 weeks from first to last */
	CHECK_NEAR(20.0, c.T, 1e-12);          /* the last purchase is on the as-of day */
	CHECK_NEAR(1500.0, c.zbar, 1e-12);     /* (4000 - 1000) / 2 repeat purchase days */
	analytics_customer_of(&h, AS_OF + 70, &c);
	CHECK_NEAR(30.0, c.T, 1e-12);
	/* a purchase dated after the as-of day counts as on it: T >= t_x */
	analytics_customer_of(&h, AS_OF - 7, &c);
	CHECK_NEAR(20.0, c.T, 1e-12);
	/* refunds never make the spend negative */
	h.total_cents = 500;
	analytics_customer_of(&h, AS_OF, &c);
	CHECK_NEAR(0.0, c.zbar, 1e-12);
	/* one purchase day: x = 0, zbar = 0 */
	int once[] = { -14, -14 };
	h = history_of(once, 2, 700);
	analytics_customer_of(&h, AS_OF, &c);
	CHECK_NEAR(0.0, c.x, 1e-12);
	CHECK_NEAR(0.0, c.t_x, 1e-12);
	CHECK_NEAR(2.0, c.T, 1e-12);
	CHECK_NEAR(0.0, c.zbar, 1e-12);
}

static void test_rfm_distinct_values(void)
{
	/* Ten customers, values 1..10: w (strictly worse) = 0..9, score 1 + floor(5w/10). */
	struct analytics_metrics metrics[10];
	for (int i = 0; i < 10; i++) {
		metrics[i].recency_days = 100 - 10 * i; /* customer 9 is the most recent */
		metrics[i].purchase_days = i + 1;
		metrics[i].total_cents = (i + 1) * 1000;
		metrics[i].tier_metric = 0;
	}
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_cuts cuts;
	analytics_cuts_build(metrics, 10, &settings, &cuts);
	CHECK_INT(10, cuts.customers);
	static const int expected[10] = { 1, 1, 2, 2, 3, 3, 4, 4, 5, 5 };
	for (int i = 0; i < 10; i++) {
		CHECK_INT(expected[i], analytics_quintile(metrics[i].purchase_days, cuts.frequency, true));
		CHECK_INT(expected[i], analytics_quintile(metrics[i].total_cents, cuts.monetary, true));
		CHECK_INT(expected[i], analytics_quintile(metrics[i].recency_days, cuts.recency, false));
	}
}

static void test_rfm_ties(void)
{
	/* Purchase days 1,1,1,1,1,1,2,3,4,5: six tie at the bottom (w = 0: score 1); the 2 has
	 * six worse (1 + floor(30/10) = 4); the 3 has 7 (4); the 4 has 8 (5); the 5 has 9 (5). */
	static const int64_t frequency[10] = { 1, 1, 1, 1, 1, 1, 2, 3, 4, 5 };
	static const int expected[10] = { 1, 1, 1, 1, 1, 1, 4, 4, 5, 5 };
	struct analytics_metrics metrics[10];
	for (int i = 0; i < 10; i++) {
		metrics[i].purchase_days = frequency[i];
		metrics[i].recency_days = 30;   /* everybody equal: everybody R = 1 */
		metrics[i].total_cents = 5000;  /* and M = 1 */
		metrics[i].tier_metric = 0;
	}
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_cuts cuts;
	analytics_cuts_build(metrics, 10, &settings, &cuts);
	for (int i = 0; i < 10; i++) {
		CHECK_INT(expected[i], analytics_quintile(frequency[i], cuts.frequency, true));
		CHECK_INT(1, analytics_quintile(30, cuts.recency, false));
		CHECK_INT(1, analytics_quintile(5000, cuts.monetary, true));
	}
	/* A single customer is in the lowest quintile of everything: w = 0. */
	analytics_cuts_build(metrics, 1, &settings, &cuts);
	CHECK_INT(1, analytics_quintile(1, cuts.frequency, true));
	CHECK_INT(1, analytics_quintile(30, cuts.recency, false));
}

static void test_tiers_by_share(void)
{
	/* 20 customers with predicted LTV 100..2000: platinum is the top ceil(5% of 20) = 1,
	 * gold down to rank ceil(20% of 20) = 4, silver to rank ceil(50% of 20) = 10. */
	struct analytics_metrics metrics[20];
	memset(metrics, 0, sizeof(metrics));
	for (int i = 0; i < 20; i++)
		metrics[i].tier_metric = (i + 1) * 100;
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_cuts cuts;
	analytics_cuts_build(metrics, 20, &settings, &cuts);
	CHECK_INT(2000, cuts.tier_min[0]);
	CHECK_INT(1700, cuts.tier_min[1]);
	CHECK_INT(1100, cuts.tier_min[2]);
	CHECK_INT(100, cuts.metric_min);

	struct analytics_history h = history_of((int[]){ -10 }, 1, 1000);
	struct analytics_figures f;
	memset(&f, 0, sizeof(f));
	static const struct {
		int64_t predicted;
		int tier;
	} cases[] = { { 2000, 0 }, { 1999, 1 }, { 1700, 1 }, { 1699, 2 }, { 1100, 2 },
		      { 1099, 3 }, { 0, 3 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.predicted_ltv_cents = cases[i].predicted;
		analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
		CHECK_INT(cases[i].tier, f.tier);
	}
	CHECK_STR("bronze", settings.tiers[3].name);

	/* Ties at a threshold join the higher tier: everybody equal is everybody platinum. */
	for (int i = 0; i < 20; i++)
		metrics[i].tier_metric = 500;
	analytics_cuts_build(metrics, 20, &settings, &cuts);
	f.predicted_ltv_cents = 500;
	analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
	CHECK_INT(0, f.tier);
}

static void test_tiers_configured(void)
{
	struct analytics_settings settings;
	char why[200];
	analytics_settings_defaults(&settings);
	CHECK_INT(0, analytics_settings_apply(&settings, "tiers",
					      "{\"basis\":\"value\",\"metric\":\"ltv_cents\",\"tiers\":["
					      "{\"name\":\"vip\",\"min_cents\":100000},"
					      "{\"name\":\"regular\",\"min_cents\":1000},"
					      "{\"name\":\"casual\"}]}",
					      why, sizeof(why)));
	CHECK_INT(3, settings.tier_count);
	CHECK_INT(ANALYTICS_TIERS_BY_VALUE, settings.tier_basis);
	CHECK_INT(ANALYTICS_METRIC_LTV, settings.tier_metric);
	struct analytics_metrics metric = { 1, 1, 5000, 5000 };
	struct analytics_cuts cuts;
	analytics_cuts_build(&metric, 1, &settings, &cuts);
	CHECK_INT(100000, cuts.tier_min[0]);
	CHECK_INT(1000, cuts.tier_min[1]);
	struct analytics_history h = history_of((int[]){ -3 }, 1, 150000);
	struct analytics_figures f;
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
	CHECK_STR("vip", settings.tiers[f.tier].name); /* by historical LTV 1500.00 */
	h = history_of((int[]){ -3 }, 1, 999);
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
	CHECK_STR("casual", settings.tiers[f.tier].name);

	/* Bad configurations are refused and leave the settings alone. */
	static const char *const bad[] = {
		"[]", "{\"tiers\":[{\"name\":\"a\",\"share\":0.5}]}",
		"{\"tiers\":[{\"name\":\"a\",\"share\":0.7},{\"name\":\"b\",\"share\":0.7},{\"name\":\"c\"}]}",
		"{\"tiers\":[{\"name\":\"a b\",\"share\":0.1},{\"name\":\"c\"}]}",
		"{\"tiers\":[{\"name\":\"a\",\"share\":0.1},{\"name\":\"a\"}]}",
		"{\"basis\":\"value\",\"tiers\":[{\"name\":\"a\",\"min_cents\":5},{\"name\":\"b\",\"min_cents\":9},{\"name\":\"c\"}]}",
		"{\"basis\":\"rank\",\"tiers\":[{\"name\":\"a\",\"share\":0.1},{\"name\":\"c\"}]}",
		"not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(-1, analytics_settings_apply(&settings, "tiers", bad[i], why, sizeof(why)));
		CHECK_INT(3, settings.tier_count);
	}
}

static void test_settings(void)
{
	struct analytics_settings settings;
	char why[200];
	analytics_settings_defaults(&settings);
	CHECK_NEAR(1.0, settings.gross_margin, 0);
	CHECK_INT(365, settings.horizon_days);
	CHECK_INT(4, settings.tier_count);
	CHECK_INT(500, settings.tiers[0].share_bp);
	CHECK_INT(0, analytics_settings_apply(&settings, "gross_margin", "0.4", why, sizeof(why)));
	CHECK_NEAR(0.4, settings.gross_margin, 1e-12);
	CHECK_INT(0, analytics_settings_apply(&settings, "horizon_days", "730", why, sizeof(why)));
	CHECK_INT(730, settings.horizon_days);
	CHECK_INT(-1, analytics_settings_apply(&settings, "gross_margin", "1.5", why, sizeof(why)));
	CHECK_INT(-1, analytics_settings_apply(&settings, "gross_margin", "", why, sizeof(why)));
	CHECK_INT(-1, analytics_settings_apply(&settings, "horizon_days", "12.5", why, sizeof(why)));
	CHECK_INT(-1, analytics_settings_apply(&settings, "horizon_days", "0", why, sizeof(why)));
	CHECK_INT(-1, analytics_settings_apply(&settings, "discount_rate", "1", why, sizeof(why)));
	CHECK_INT(-1, analytics_settings_apply(&settings, "colour", "red", why, sizeof(why)));
	CHECK(strstr(why, "unknown") != NULL);
	CHECK_NEAR(0.4, settings.gross_margin, 1e-12);
}

/* Loyalty: rhythm g = max(7, span / (purchase days - 1)); active: recency <= 1.5 g;
 * passive: <= 4 g; none beyond, or fewer than two purchase days. */
static void test_loyalty(void)
{
	/* Every 30 days, last 40 days ago: g = 30, 40 <= 45: active. */
	struct analytics_history h = history_of((int[]){ -100, -70, -40 }, 3, 1000);
	CHECK_NEAR(30.0, analytics_rhythm_days(&h), 1e-12);
	CHECK_STR("active", analytics_loyalty(&h, AS_OF));
	/* The same, last 46 days ago (46 > 45, <= 120): passive. */
	h = history_of((int[]){ -106, -76, -46 }, 3, 1000);
	CHECK_STR("passive", analytics_loyalty(&h, AS_OF));
	/* 121 days ago (> 4 x 30): none, the customer lapsed. */
	h = history_of((int[]){ -181, -151, -121 }, 3, 1000);
	CHECK_STR("none", analytics_loyalty(&h, AS_OF));
	/* One purchase day (twice on it): none, there is no rhythm. */
	h = history_of((int[]){ -2, -2 }, 2, 1000);
	CHECK_STR("none", analytics_loyalty(&h, AS_OF));
	CHECK_NEAR(0.0, analytics_rhythm_days(&h), 0);
	/* Two purchases two days apart: the rhythm is at least a week (10.5 days overdue). */
	h = history_of((int[]){ -12, -10 }, 2, 1000);
	CHECK_NEAR(7.0, analytics_rhythm_days(&h), 1e-12);
	CHECK_STR("active", analytics_loyalty(&h, AS_OF));
	h = history_of((int[]){ -13, -11 }, 2, 1000);
	CHECK_STR("passive", analytics_loyalty(&h, AS_OF));
	/* No purchase at all. */
	memset(&h, 0, sizeof(h));
	CHECK_STR("none", analytics_loyalty(&h, AS_OF));
}

/* Relationship stage, one hand-built history per stage. */
static void test_relationship_stages(void)
{
	struct analytics_history h;
	/* contact: no purchase, two interactions. */
	memset(&h, 0, sizeof(h));
	add_interactions(&h, 2, -5, 0);
	CHECK_STR("contact", analytics_relationship_stage(&h, AS_OF));
	/* involvement: no purchase but three interactions ... */
	add_interactions(&h, 3, -5, 0);
	CHECK_STR("involvement", analytics_relationship_stage(&h, AS_OF));
	/* ... or a first purchase 200 days ago (not yet a year) ... */
	h = history_of((int[]){ -200 }, 1, 5000);
	CHECK_STR("involvement", analytics_relationship_stage(&h, AS_OF));
	/* ... or two purchases on rhythm (g = 60, 50 days ago <= 90). */
	h = history_of((int[]){ -110, -50 }, 2, 5000);
	CHECK_STR("involvement", analytics_relationship_stage(&h, AS_OF));
	/* intimacy: three purchase days on rhythm (g = 20, 25 days ago <= 30). */
	h = history_of((int[]){ -65, -45, -25 }, 3, 5000);
	CHECK_STR("intimacy", analytics_relationship_stage(&h, AS_OF));
	/* deterioration: overdue (g = 20, 31 days ago > 30, <= 80), nobody in touch since. */
	h = history_of((int[]){ -71, -51, -31 }, 3, 5000);
	add_interactions(&h, 4, -60, 0);
	CHECK_STR("deterioration", analytics_relationship_stage(&h, AS_OF));
	/* repair: the same, but an interaction after it became overdue: day -31 + 30 = -1, the
	 * last interaction is today (day 0 > -1). */
	add_interactions(&h, 5, 0, 1);
	CHECK_STR("repair", analytics_relationship_stage(&h, AS_OF));
	/* ... an interaction exactly on the overdue day is not after it. */
	add_interactions(&h, 5, -1, 1);
	CHECK_STR("deterioration", analytics_relationship_stage(&h, AS_OF));
	/* dissolution: a repeat customer lapsed (g = 20, 81 days ago > 80) ... */
	h = history_of((int[]){ -121, -101, -81 }, 3, 5000);
	add_interactions(&h, 1, 0, 0);
	CHECK_STR("dissolution", analytics_relationship_stage(&h, AS_OF));
	/* ... or a one-time customer more than a year ago. */
	h = history_of((int[]){ -366 }, 1, 5000);
	CHECK_STR("dissolution", analytics_relationship_stage(&h, AS_OF));
	h = history_of((int[]){ -365 }, 1, 5000);
	CHECK_STR("involvement", analytics_relationship_stage(&h, AS_OF));
}

/* Value class: high value is M >= 4; high service is service interactions >= purchase days. */
static void test_value_classes(void)
{
	struct analytics_history h = history_of((int[]){ -30, -20 }, 2, 5000);
	add_interactions(&h, 3, -1, 2);
	CHECK_STR("high_value_high_service", analytics_value_class(&h, 5));
	CHECK_STR("low_value_high_service", analytics_value_class(&h, 3));
	add_interactions(&h, 3, -1, 1); /* 1 service interaction for 2 purchase days */
	CHECK_STR("high_value_low_service", analytics_value_class(&h, 4));
	CHECK_STR("low_value_potential", analytics_value_class(&h, 1));
	memset(&h, 0, sizeof(h));
	CHECK(analytics_value_class(&h, 1) == NULL);

	/* Through classify: M comes from the cut points. Two customers, 100.00 and 900.00:
	 * the bigger one has w = 1 of n = 2, M = 1 + floor(5/2) = 3 < 4 ... */
	struct analytics_metrics metrics[5];
	memset(metrics, 0, sizeof(metrics));
	for (int i = 0; i < 5; i++) {
		metrics[i].purchase_days = 1;
		metrics[i].total_cents = (i + 1) * 10000;
	}
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_cuts cuts;
	analytics_cuts_build(metrics, 2, &settings, &cuts);
	h = history_of((int[]){ -5 }, 1, 20000);
	struct analytics_figures f;
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
	CHECK_INT(3, f.m);
	CHECK_STR("low_value_potential", f.value_class);
	/* ... among five (100 .. 500), 400.00 has w = 3: M = 1 + floor(15/5) = 4: high value. */
	analytics_cuts_build(metrics, 5, &settings, &cuts);
	h = history_of((int[]){ -5 }, 1, 40000);
	analytics_figures_classify(&h, AS_OF, &cuts, &settings, &f);
	CHECK_INT(4, f.m);
	CHECK_STR("high_value_low_service", f.value_class);
	/* The five had recency 0 and one purchase day: 5 days is not better (R 1), one purchase
	 * day is not more (F 1). */
	CHECK_STR("114", f.rfm);
}

static void test_fallback_prediction(void)
{
	/* Without a model: purchases on days -140, -70, 0 of 30.00: x = 2, T = 20 weeks, rate
	 * 0.1 per week; a year (365/7 weeks) gives 5.2142857 purchases of zbar 30.00 each. */
	struct analytics_history h = history_of((int[]){ -140, -70, 0 }, 3, 3000);
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_figures f;
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	CHECK_NEAR(365.0 / 7.0 * 0.1, f.expected_purchases, 1e-12);
	CHECK_NEAR(3000.0, f.expected_spend_cents, 1e-12);
	CHECK_INT(llround(365.0 / 70.0 * 3000.0), f.predicted_ltv_cents);
	CHECK_INT(9000, f.historical_ltv_cents);
	CHECK_INT(0, f.recency_days);
	CHECK_STR(LTV_METHOD_FALLBACK_RATE, f.purchases_method);
	CHECK_STR(LTV_METHOD_FALLBACK_SPEND, f.spend_method);
	CHECK_NEAR(1.0, f.p_alive, 0); /* on rhythm */
	CHECK_NEAR(0.0, f.churn_risk, 0);
	/* The margin applies to both values. */
	settings.gross_margin = 0.5;
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	CHECK_INT(4500, f.historical_ltv_cents);
	CHECK_INT(llround(365.0 / 70.0 * 1500.0), f.predicted_ltv_cents);

	/* Fallback P(alive) = exp(-(recency - g) / g) once overdue: g = 70, 105 days ago. */
	h = history_of((int[]){ -175, -105 }, 2, 3000);
	CHECK_NEAR(exp(-35.0 / 70.0), analytics_fallback_p_alive(&h, AS_OF), 1e-12);
	h = history_of((int[]){ -400 }, 1, 3000);
	CHECK_NEAR(1.0, analytics_fallback_p_alive(&h, AS_OF), 0);

	/* No purchase: zeros and no figures. */
	memset(&h, 0, sizeof(h));
	analytics_figures_predict(&h, AS_OF, NULL, &settings, 365, &f);
	CHECK_INT(0, f.predicted_ltv_cents);
	CHECK_INT(-1, f.recency_days);
	CHECK(isnan(f.p_alive));
	analytics_figures_classify(&h, AS_OF, NULL, &settings, &f);
	CHECK_INT(-1, f.tier);
	CHECK_STR("", f.rfm);
	CHECK(f.value_class == NULL);
}

/* With a model: the figures are the ltv_model functions' (checked there against the paper). */
static void test_model_prediction(void)
{
	struct analytics_model model;
	memset(&model, 0, sizeof(model));
	model.bgnbd.status = LTV_FIT_OK;
	model.bgnbd.params = (struct ltv_bgnbd_params){ 0.243, 4.414, 0.793, 2.426 };
	model.gamma_gamma.status = LTV_FIT_OK;
	model.gamma_gamma.params = (struct ltv_gamma_gamma_params){ 6.25, 3.74, 1544.0 };
	model.mean_spend_cents = 3500;
	struct analytics_history h = history_of((int[]){ -272, -255, -59 }, 3, 2000);
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	struct analytics_figures f;
	analytics_figures_predict(&h, AS_OF, &model, &settings, 273, &f);
	struct ltv_customer c;
	analytics_customer_of(&h, AS_OF, &c);
	CHECK_NEAR(ltv_bgnbd_expected_purchases(&model.bgnbd.params, &c, 39.0), f.expected_purchases,
		   1e-12);
	CHECK_NEAR(ltv_bgnbd_probability_alive(&model.bgnbd.params, &c), f.p_alive, 1e-12);
	CHECK_NEAR(ltv_gamma_gamma_expected_spend(&model.gamma_gamma.params, &c),
		   f.expected_spend_cents, 1e-12);
	CHECK_INT(llround(f.expected_purchases * f.expected_spend_cents), f.predicted_ltv_cents);
	CHECK_STR(LTV_METHOD_BGNBD, f.purchases_method);
	CHECK_STR(LTV_METHOD_GAMMA_GAMMA, f.spend_method);
	/* A discount makes it smaller. */
	settings.discount_rate = 0.01;
	struct analytics_figures discounted;
	analytics_figures_predict(&h, AS_OF, &model, &settings, 273, &discounted);
	CHECK(discounted.predicted_ltv_cents < f.predicted_ltv_cents);
	CHECK(discounted.predicted_ltv_cents > f.predicted_ltv_cents * 0.9);
}

static void test_round_trips(void)
{
	struct analytics_cuts cuts, back;
	memset(&cuts, 0, sizeof(cuts));
	cuts.customers = 12;
	for (int i = 0; i < 4; i++) {
		cuts.recency[i] = 100 - i;
		cuts.frequency[i] = i;
		cuts.monetary[i] = 1000 * i;
	}
	for (int i = 0; i < ANALYTICS_TIERS_MAX; i++)
		cuts.tier_min[i] = INT64_MIN;
	cuts.tier_min[0] = 5000;
	cuts.tier_min[1] = 700;
	cuts.metric_min = -3;
	char *text = analytics_cuts_to_text(&cuts, 3);
	CHECK_INT(0, analytics_cuts_from_text(&back, text));
	CHECK(memcmp(&cuts, &back, sizeof(cuts)) == 0);
	free(text);
	CHECK_INT(-1, analytics_cuts_from_text(&back, "{\"recency\":[1]}"));
	CHECK_INT(-1, analytics_cuts_from_text(&back, NULL));

	struct analytics_model model, restored;
	memset(&model, 0, sizeof(model));
	model.bgnbd.status = LTV_FIT_OK;
	model.bgnbd.params = (struct ltv_bgnbd_params){ 0.25, 4.5, 0.8, 2.5 };
	model.gamma_gamma.status = LTV_FIT_NOT_CONVERGED;
	snprintf(model.gamma_gamma.message, sizeof(model.gamma_gamma.message), "too flat");
	model.customers = 99;
	model.purchases = 250;
	snprintf(model.fitted_at, sizeof(model.fitted_at), "2026-01-02T03:04:05Z");
	snprintf(model.data_as_of, sizeof(model.data_as_of), "2026-01-02");
	char *bgnbd, *gamma_gamma;
	analytics_model_fits_to_text(&model, &bgnbd, &gamma_gamma);
	memset(&restored, 0, sizeof(restored));
	CHECK_INT(0, analytics_model_fits_from_text(&restored, bgnbd, gamma_gamma));
	CHECK_INT(LTV_FIT_OK, restored.bgnbd.status);
	CHECK_NEAR(4.5, restored.bgnbd.params.alpha, 1e-15);
	CHECK_STR(LTV_METHOD_BGNBD, restored.bgnbd.method);
	CHECK_INT(LTV_FIT_NOT_CONVERGED, restored.gamma_gamma.status);
	CHECK_STR(LTV_METHOD_FALLBACK_SPEND, restored.gamma_gamma.method);
	CHECK_STR("too flat", restored.gamma_gamma.message);
	free(bgnbd);
	free(gamma_gamma);
	json_t *json = analytics_model_to_json(&model);
	CHECK(json_is_false(json_object_get(json, "converged")));
	CHECK_STR("bgnbd-ml-bfgs+fallback-historical-spend",
		  json_string_value(json_object_get(json, "method")));
	char *whole = json_dumps(json, 0);
	CHECK_INT(0, analytics_model_from_text(&restored, whole));
	CHECK_INT(99, restored.customers);
	CHECK_STR("2026-01-02", restored.data_as_of);
	free(whole);
	json_decref(json);
}

int main(void)
{
	RUN(test_dates);
	RUN(test_customer_of);
	RUN(test_rfm_distinct_values);
	RUN(test_rfm_ties);
	RUN(test_tiers_by_share);
	RUN(test_tiers_configured);
	RUN(test_settings);
	RUN(test_loyalty);
	RUN(test_relationship_stages);
	RUN(test_value_classes);
	RUN(test_fallback_prediction);
	RUN(test_model_prediction);
	RUN(test_round_trips);
	return check_finish();
}
