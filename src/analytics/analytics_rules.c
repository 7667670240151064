/*
 * analytics_rules.c - the pure rules of customer analytics (analytics.h): settings and
 * their defaults, a contact's model input, the models' fit and predictions for one contact,
 * RFM and tier cut points over the customer base, value class, loyalty, churn risk and
 * relationship stage. No database and no global state: everything here is unit-tested on
 * hand-built histories (tests/unit/test_analytics.c). docs/analytics.md has the formulas.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define SECONDS_PER_DAY 86400
#define DAYS_PER_WEEK 7.0
#define DAYS_PER_MONTH 30.0 /* the discounting period */

/* ================================================================ settings */

static void tier_set(struct analytics_tier *tier, const char *name, int share_bp)
{
	snprintf(tier->name, sizeof(tier->name), "%s", name);
	tier->share_bp = share_bp;
	tier->min_cents = 0;
}

void analytics_settings_defaults(struct analytics_settings *settings)
{
	memset(settings, 0, sizeof(*settings));
	settings->gross_margin = 1.0;
	settings->horizon_days = ANALYTICS_HORIZON_DAYS_DEFAULT;
	settings->discount_rate = 0.0;
	settings->refit_change = 0.10;
	settings->refit_days = 30;
	settings->tier_basis = ANALYTICS_TIERS_BY_SHARE;
	settings->tier_metric = ANALYTICS_METRIC_PREDICTED_LTV;
	settings->tier_count = 4;
	tier_set(&settings->tiers[0], "platinum", 500);
	tier_set(&settings->tiers[1], "gold", 1500);
	tier_set(&settings->tiers[2], "silver", 3000);
	tier_set(&settings->tiers[3], "bronze", 0);
}

/* Parses a whole decimal number; false on anything else. */
static bool parse_number(const char *text, double *out)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (end == text || *end != '\0' || errno != 0 || !isfinite(value))
		return false;
	*out = value;
	return true;
}

/* A tier name: 1 to 31 characters of letters, digits, '-' and '_'. */
static bool tier_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= ANALYTICS_TIER_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

/*
 * "tiers": {"basis":"share"|"value", "metric":"predicted_ltv_cents"|"ltv_cents",
 *           "tiers":[{"name":"platinum","share":0.05} | {"name":..,"min_cents":N}, ...]}
 * 2 to ANALYTICS_TIERS_MAX tiers, best first; the last one takes the rest (no share/min).
 */
static int apply_tiers(struct analytics_settings *settings, const char *value, char *why,
		       size_t why_size)
{
	json_error_t error;
	json_t *root = json_loads(value, 0, &error);
	struct analytics_settings next = *settings;
	int result = -1;
	if (!json_is_object(root)) {
		snprintf(why, why_size, "tiers must be a JSON object");
		goto cleanup;
	}
	const char *basis = json_string_value(json_object_get(root, "basis"));
	const char *metric = json_string_value(json_object_get(root, "metric"));
	json_t *list = json_object_get(root, "tiers");
	if (!basis || strcmp(basis, "share") == 0)
		next.tier_basis = ANALYTICS_TIERS_BY_SHARE;
	else if (strcmp(basis, "value") == 0)
		next.tier_basis = ANALYTICS_TIERS_BY_VALUE;
	else {
		snprintf(why, why_size, "tiers.basis must be \"share\" or \"value\"");
		goto cleanup;
	}
	if (!metric || strcmp(metric, "predicted_ltv_cents") == 0)
		next.tier_metric = ANALYTICS_METRIC_PREDICTED_LTV;
	else if (strcmp(metric, "ltv_cents") == 0)
		next.tier_metric = ANALYTICS_METRIC_LTV;
	else {
		snprintf(why, why_size, "tiers.metric must be \"predicted_ltv_cents\" or \"ltv_cents\"");
		goto cleanup;
	}
	size_t count = json_array_size(list);
	if (!json_is_array(list) || count < 2 || count > ANALYTICS_TIERS_MAX) {
		snprintf(why, why_size, "tiers.tiers must be an array of 2 to %d tiers",
			 ANALYTICS_TIERS_MAX);
		goto cleanup;
	}
	int cumulative_bp = 0;
	for (size_t i = 0; i < count; i++) {
		json_t *tier = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(tier, "name"));
		if (!name || !tier_name_valid(name)) {
			snprintf(why, why_size, "tiers.tiers[%zu].name must be 1 to %d letters, "
				 "digits, '-' or '_'", i, ANALYTICS_TIER_NAME_MAX - 1);
			goto cleanup;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(next.tiers[j].name, name) == 0) {
				snprintf(why, why_size, "tiers.tiers[%zu].name is used twice", i);
				goto cleanup;
			}
		tier_set(&next.tiers[i], name, 0);
		if (i + 1 == count)
			break; /* the last tier takes the rest */
		if (next.tier_basis == ANALYTICS_TIERS_BY_SHARE) {
			json_t *share = json_object_get(tier, "share");
			double fraction = json_number_value(share);
			if (!json_is_number(share) || fraction <= 0.0 || fraction >= 1.0) {
				snprintf(why, why_size, "tiers.tiers[%zu].share must be a number "
					 "between 0 and 1", i);
				goto cleanup;
			}
			next.tiers[i].share_bp = (int)lround(fraction * 10000.0);
			cumulative_bp += next.tiers[i].share_bp;
			if (next.tiers[i].share_bp < 1 || cumulative_bp > 10000) {
				snprintf(why, why_size, "tiers: the shares must add up to at most 1 "
					 "(in steps of 0.0001)");
				goto cleanup;
			}
		} else {
			json_t *min = json_object_get(tier, "min_cents");
			if (!json_is_integer(min) ||
			    (i > 0 && json_integer_value(min) >= next.tiers[i - 1].min_cents)) {
				snprintf(why, why_size, "tiers.tiers[%zu].min_cents must be an integer "
					 "below the previous tier's", i);
				goto cleanup;
			}
			next.tiers[i].min_cents = json_integer_value(min);
		}
	}
	next.tier_count = (int)count;
	*settings = next;
	result = 0;
cleanup:
	json_decref(root);
	return result;
}

int analytics_settings_apply(struct analytics_settings *settings, const char *key,
			     const char *value, char *why, size_t why_size)
{
	double number = 0.0;
	if (strcmp(key, "tiers") == 0)
		return apply_tiers(settings, value, why, why_size);
	bool numeric = parse_number(value, &number);
	if (strcmp(key, "gross_margin") == 0) {
		if (!numeric || number <= 0.0 || number > 1.0)
			goto bad_number;
		settings->gross_margin = number;
	} else if (strcmp(key, "horizon_days") == 0) {
		if (!numeric || number != floor(number) || number < 1 ||
		    number > ANALYTICS_HORIZON_DAYS_MAX)
			goto bad_number;
		settings->horizon_days = (int)number;
	} else if (strcmp(key, "discount_rate") == 0) {
		if (!numeric || number < 0.0 || number >= 1.0)
			goto bad_number;
		settings->discount_rate = number;
	} else if (strcmp(key, "refit_change") == 0) {
		if (!numeric || number < 0.0 || number > 100.0)
			goto bad_number;
		settings->refit_change = number;
	} else if (strcmp(key, "refit_days") == 0) {
		if (!numeric || number != floor(number) || number < 1 || number > 3650)
			goto bad_number;
		settings->refit_days = (int)number;
	} else {
		snprintf(why, why_size, "unknown setting analytics.%s", key);
		return -1;
	}
	return 0;
bad_number:
	snprintf(why, why_size, "analytics.%s: %s is out of range (docs/analytics.md)", key, value);
	return -1;
}

/* ================================================================ one contact */

int64_t analytics_day_of(int64_t seconds)
{
	int64_t day = seconds / SECONDS_PER_DAY;
	if (seconds % SECONDS_PER_DAY < 0)
		day--;
	return day;
}

void analytics_customer_of(const struct analytics_history *history, int64_t as_of_day,
			   struct ltv_customer *customer)
{
	int64_t first = analytics_day_of(history->first_purchase_at);
	int64_t last = analytics_day_of(history->last_purchase_at);
	double x = history->purchase_days > 0 ? (double)(history->purchase_days - 1) : 0.0;
	customer->x = x;
	customer->t_x = x > 0 ? (double)(last - first) / DAYS_PER_WEEK : 0.0;
	customer->T = (double)(as_of_day - first) / DAYS_PER_WEEK;
	if (customer->T < customer->t_x)
		customer->T = customer->t_x;
	customer->zbar = 0.0;
	if (x > 0) {
		double zbar = (double)(history->total_cents - history->first_day_cents) / x;
		customer->zbar = zbar > 0.0 ? zbar : 0.0; /* refunds never make spend negative */
	}
}

static int64_t recency_days_of(const struct analytics_history *history, int64_t as_of_day)
{
	int64_t recency = as_of_day - analytics_day_of(history->last_purchase_at);
	return recency > 0 ? recency : 0;
}

double analytics_rhythm_days(const struct analytics_history *history)
{
	if (history->purchase_days < 2)
		return 0.0;
	double span = (double)(analytics_day_of(history->last_purchase_at) -
			       analytics_day_of(history->first_purchase_at));
	double gap = span / (double)(history->purchase_days - 1);
	return gap > ANALYTICS_MIN_GAP_DAYS ? gap : ANALYTICS_MIN_GAP_DAYS;
}

const char *analytics_loyalty(const struct analytics_history *history, int64_t as_of_day)
{
	if (history->purchase_days < 2)
		return "none";
	double rhythm = analytics_rhythm_days(history);
	double recency = (double)recency_days_of(history, as_of_day);
	if (recency <= ANALYTICS_OVERDUE_FACTOR * rhythm)
		return "active";
	if (recency <= ANALYTICS_LAPSED_FACTOR * rhythm)
		return "passive";
	return "none";
}

const char *analytics_relationship_stage(const struct analytics_history *history,
					 int64_t as_of_day)
{
	if (history->purchase_days == 0)
		return history->interactions_count >= ANALYTICS_INVOLVEMENT_INTERACTIONS
			       ? "involvement"
			       : "contact";
	double recency = (double)recency_days_of(history, as_of_day);
	if (history->purchase_days == 1)
		return recency > ANALYTICS_ONE_TIME_LAPSE_DAYS ? "dissolution" : "involvement";
	double rhythm = analytics_rhythm_days(history);
	if (recency > ANALYTICS_LAPSED_FACTOR * rhythm)
		return "dissolution";
	if (recency > ANALYTICS_OVERDUE_FACTOR * rhythm) {
		double overdue_day = (double)analytics_day_of(history->last_purchase_at) +
				     ANALYTICS_OVERDUE_FACTOR * rhythm;
		if (history->interactions_count > 0 &&
		    (double)analytics_day_of(history->last_interaction_at) > overdue_day)
			return "repair";
		return "deterioration";
	}
	if (history->purchase_days >= ANALYTICS_INTIMACY_PURCHASE_DAYS)
		return "intimacy";
	return "involvement";
}

bool analytics_high_service(const struct analytics_history *history)
{
	return history->service_count > 0 &&
	       (double)history->service_count >=
		       ANALYTICS_HIGH_SERVICE_RATIO * (double)history->purchase_days;
}

static const char *value_class_of(bool high_value, bool high_service)
{
	if (high_value)
		return high_service ? "high_value_high_service" : "high_value_low_service";
	return high_service ? "low_value_high_service" : "low_value_potential";
}

const char *analytics_value_class(const struct analytics_history *history, int m)
{
	if (history->purchase_days == 0)
		return NULL;
	return value_class_of(m >= ANALYTICS_HIGH_VALUE_M, analytics_high_service(history));
}

double analytics_fallback_p_alive(const struct analytics_history *history, int64_t as_of_day)
{
	if (history->purchase_days < 2)
		return 1.0; /* as BG/NBD: nobody drops out before a repeat purchase */
	double rhythm = analytics_rhythm_days(history);
	double late = (double)recency_days_of(history, as_of_day) - rhythm;
	return late <= 0.0 ? 1.0 : exp(-late / rhythm);
}

/* ================================================================ the models */

int analytics_model_fit(const struct ltv_customer *customers, size_t n,
			struct analytics_model *model)
{
	int64_t started = time_monotonic_us();
	struct ltv_customer *used = xmalloc((n ? n : 1) * sizeof(*used));
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (customers[i].T > 0.0)
			used[count++] = customers[i];
	ltv_bgnbd_fit(used, count, &model->bgnbd);
	ltv_gamma_gamma_fit(used, count, &model->gamma_gamma);
	model->mean_spend_cents = ltv_population_mean_spend(used, count);
	model->customers = (int64_t)count;
	time_now_rfc3339(model->fitted_at);
	model->duration_ms = (time_monotonic_us() - started) / 1000;
	free(used);
	return model->bgnbd.status == LTV_FIT_OK && model->gamma_gamma.status == LTV_FIT_OK ? 0
													   : -1;
}

static const char *fit_status_name(enum ltv_fit_status status)
{
	switch (status) {
	case LTV_FIT_OK: return "ok";
	case LTV_FIT_TOO_FEW: return "too_few_customers";
	case LTV_FIT_NOT_CONVERGED: return "not_converged";
	case LTV_FIT_DEGENERATE: return "degenerate";
	case LTV_FIT_INVALID_INPUT: return "invalid_input";
	}
	return "not_converged";
}

/* A number for JSON: null when not finite. New reference. */
static json_t *json_real_or_null(double value)
{
	return isfinite(value) ? json_real(value) : json_null();
}

json_t *analytics_model_to_json(const struct analytics_model *model)
{
	const struct ltv_bgnbd_fit *bg = &model->bgnbd;
	const struct ltv_gamma_gamma_fit *gg = &model->gamma_gamma;
	bool bg_ok = bg->status == LTV_FIT_OK, gg_ok = gg->status == LTV_FIT_OK;
	struct buf method = BUF_INIT;
	buf_addf(&method, "%s+%s", bg_ok ? LTV_METHOD_BGNBD : LTV_METHOD_FALLBACK_RATE,
		 gg_ok ? LTV_METHOD_GAMMA_GAMMA : LTV_METHOD_FALLBACK_SPEND);
	json_t *bgnbd = json_pack("{s:o,s:o,s:o,s:o,s:s,s:s,s:b,s:o,s:i,s:I}",
				  "r", json_real_or_null(bg->params.r),
				  "alpha", json_real_or_null(bg->params.alpha),
				  "a", json_real_or_null(bg->params.a),
				  "b", json_real_or_null(bg->params.b),
				  "method", bg_ok ? LTV_METHOD_BGNBD : LTV_METHOD_FALLBACK_RATE,
				  "status", fit_status_name(bg->status), "converged", bg_ok,
				  "log_likelihood", json_real_or_null(bg->log_likelihood),
				  "iterations", bg->iterations,
				  "repeat_customers", (json_int_t)bg->repeat_customers);
	if (!bg_ok)
		json_object_set_new(bgnbd, "message", json_string(bg->message));
	json_t *gamma_gamma = json_pack("{s:o,s:o,s:o,s:s,s:s,s:b,s:o,s:i,s:I}",
					"p", json_real_or_null(gg->params.p),
					"q", json_real_or_null(gg->params.q),
					"v", json_real_or_null(gg->params.v),
					"method", gg_ok ? LTV_METHOD_GAMMA_GAMMA
							: LTV_METHOD_FALLBACK_SPEND,
					"status", fit_status_name(gg->status), "converged", gg_ok,
					"log_likelihood", json_real_or_null(gg->log_likelihood),
					"iterations", gg->iterations,
					"customers", (json_int_t)gg->customers_used);
	if (!gg_ok)
		json_object_set_new(gamma_gamma, "message", json_string(gg->message));
	json_t *result = json_pack(
		"{s:s,s:b,s:s,s:s,s:o,s:o,s:f,s:I,s:I,s:s,s:s,s:I}", "method", method.data,
		"converged", bg_ok && gg_ok, "time_unit", "week", "spend_unit", "cents",
		"bgnbd", bgnbd, "gamma_gamma", gamma_gamma, "mean_spend_cents",
		isfinite(model->mean_spend_cents) ? model->mean_spend_cents : 0.0, "customers",
		(json_int_t)model->customers, "purchases", (json_int_t)model->purchases,
		"fitted_at", model->fitted_at, "data_as_of", model->data_as_of, "duration_ms",
		(json_int_t)model->duration_ms);
	buf_release(&method);
	return result;
}

/* ================================================================ predictions */

void analytics_figures_predict(const struct analytics_history *history, int64_t as_of_day,
			       const struct analytics_model *model,
			       const struct analytics_settings *settings, int horizon_days,
			       struct analytics_figures *figures)
{
	memset(figures, 0, sizeof(*figures));
	figures->expected_purchases = NAN;
	figures->expected_spend_cents = NAN;
	figures->p_alive = NAN;
	figures->churn_risk = NAN;
	figures->recency_days = -1;
	figures->tier = -1;
	figures->historical_ltv_cents =
		(int64_t)llround((double)history->total_cents * settings->gross_margin);
	if (history->purchase_days == 0)
		return;
	figures->recency_days = recency_days_of(history, as_of_day);

	struct ltv_customer customer;
	analytics_customer_of(history, as_of_day, &customer);
	if (customer.T <= 0.0)
		customer.T = 1.0 / DAYS_PER_WEEK; /* first purchase today: one day old */
	struct ltv_clv_options options = {
		.horizon = horizon_days / DAYS_PER_WEEK,
		.period_length = DAYS_PER_MONTH / DAYS_PER_WEEK,
		.discount_rate = settings->discount_rate,
	};
	bool bg_ok = model && model->bgnbd.status == LTV_FIT_OK;
	bool gg_ok = model && model->gamma_gamma.status == LTV_FIT_OK;
	double mean_spend = model && model->mean_spend_cents > 0.0
				    ? model->mean_spend_cents
				    : (double)history->total_cents / (double)history->purchase_days;
	if (mean_spend < 0.0)
		mean_spend = 0.0;

	/* The expected purchases once: ltv_clv_predict() evaluates the series twice. */
	double purchases = NAN, discounted = NAN;
	if (bg_ok) {
		purchases = ltv_bgnbd_expected_purchases(&model->bgnbd.params, &customer,
							 options.horizon);
		figures->p_alive = ltv_bgnbd_probability_alive(&model->bgnbd.params, &customer);
	}
	figures->purchases_method = LTV_METHOD_BGNBD;
	if (!isfinite(purchases)) { /* no usable fit, or the series gave up (huge horizon) */
		purchases = ltv_fallback_expected_purchases(&customer, options.horizon);
		figures->purchases_method = LTV_METHOD_FALLBACK_RATE;
		bg_ok = false;
	}
	if (!isfinite(figures->p_alive))
		figures->p_alive = analytics_fallback_p_alive(history, as_of_day);
	discounted = purchases;
	if (settings->discount_rate > 0.0) {
		struct ltv_prediction prediction;
		if (ltv_clv_predict(bg_ok ? &model->bgnbd : NULL, gg_ok ? &model->gamma_gamma : NULL,
				    &customer, mean_spend, &options, &prediction) == 0 &&
		    isfinite(prediction.clv) && prediction.expected_spend > 0.0)
			discounted = prediction.clv / prediction.expected_spend;
	}
	double spend = NAN;
	figures->spend_method = LTV_METHOD_GAMMA_GAMMA;
	if (gg_ok)
		spend = ltv_gamma_gamma_expected_spend(&model->gamma_gamma.params, &customer);
	if (!isfinite(spend)) {
		spend = ltv_fallback_expected_spend(&customer, mean_spend);
		figures->spend_method = LTV_METHOD_FALLBACK_SPEND;
	}
	if (!isfinite(spend) || spend < 0.0)
		spend = 0.0;
	figures->expected_purchases = purchases;
	figures->expected_spend_cents = spend;
	figures->churn_risk = 1.0 - figures->p_alive;
	double value = discounted * spend * settings->gross_margin;
	figures->predicted_ltv_cents = isfinite(value) && value > 0.0 ? (int64_t)llround(value) : 0;
}

/* ================================================================ cut points */

/* Sorts n signed 64-bit values ascending (LSD radix sort, 16 bits per pass). */
static void sort_int64(int64_t *values, size_t n)
{
	if (n < 2)
		return;
	uint64_t *keys = xmalloc(n * sizeof(*keys));
	uint64_t *spare = xmalloc(n * sizeof(*spare));
	size_t *counts = xmalloc(65536 * sizeof(*counts));
	for (size_t i = 0; i < n; i++)
		keys[i] = (uint64_t)values[i] ^ 0x8000000000000000ULL;
	for (int shift = 0; shift < 64; shift += 16) {
		memset(counts, 0, 65536 * sizeof(*counts));
		for (size_t i = 0; i < n; i++)
			counts[(keys[i] >> shift) & 0xFFFF]++;
		if (counts[(keys[0] >> shift) & 0xFFFF] == n)
			continue; /* every key has the same digit: nothing to do */
		size_t total = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = counts[d];
			counts[d] = total;
			total += c;
		}
		for (size_t i = 0; i < n; i++)
			spare[counts[(keys[i] >> shift) & 0xFFFF]++] = keys[i];
		uint64_t *swap = keys;
		keys = spare;
		spare = swap;
	}
	for (size_t i = 0; i < n; i++)
		values[i] = (int64_t)(keys[i] ^ 0x8000000000000000ULL);
	free(keys);
	free(spare);
	free(counts);
}

/* The number of customers a score s (2..5) needs strictly below: ceil((s - 1) n / 5). */
static size_t quintile_rank(int s, size_t n)
{
	return ((size_t)(s - 1) * n + 4) / 5;
}

void analytics_sort_int64(int64_t *values, size_t n)
{
	sort_int64(values, n);
}

int analytics_cuts_from_sorted(const int64_t *const sorted[ANALYTICS_METRICS], size_t n,
			       const struct analytics_settings *settings, struct analytics_cuts *cuts)
{
	memset(cuts, 0, sizeof(*cuts));
	cuts->customers = (int64_t)n;
	for (int i = 0; i < ANALYTICS_TIERS_MAX; i++)
		cuts->tier_min[i] = INT64_MIN;
	if (settings->tier_basis == ANALYTICS_TIERS_BY_VALUE)
		for (int i = 0; i + 1 < settings->tier_count; i++)
			cuts->tier_min[i] = settings->tiers[i].min_cents;
	if (n == 0)
		return 0;
	/* Recency: lower is better, so "strictly worse" means a longer recency. */
	for (int s = 2; s <= 5; s++) {
		cuts->recency[s - 2] = sorted[ANALYTICS_METRIC_RECENCY][n - quintile_rank(s, n)];
		cuts->frequency[s - 2] = sorted[ANALYTICS_METRIC_FREQUENCY][quintile_rank(s, n) - 1];
		cuts->monetary[s - 2] = sorted[ANALYTICS_METRIC_MONETARY][quintile_rank(s, n) - 1];
	}
	const int64_t *tier_sorted = sorted[ANALYTICS_METRIC_TIER];
	cuts->metric_min = tier_sorted[0];
	if (settings->tier_basis == ANALYTICS_TIERS_BY_SHARE) {
		int64_t cumulative_bp = 0;
		for (int i = 0; i + 1 < settings->tier_count; i++) {
			cumulative_bp += settings->tiers[i].share_bp;
			size_t rank = (size_t)(((int64_t)n * cumulative_bp + 9999) / 10000);
			if (rank > n)
				rank = n;
			/* rank 0 cannot happen: shares are >= 1 bp and n >= 1 */
			cuts->tier_min[i] = tier_sorted[n - rank];
		}
	}
	return 0;
}

int64_t analytics_metric_of(const struct analytics_metrics *metrics, int which)
{
	switch (which) {
	case ANALYTICS_METRIC_RECENCY: return metrics->recency_days;
	case ANALYTICS_METRIC_FREQUENCY: return metrics->purchase_days;
	case ANALYTICS_METRIC_MONETARY: return metrics->total_cents;
	default: return metrics->tier_metric;
	}
}

int analytics_cuts_build(const struct analytics_metrics *metrics, size_t n,
			 const struct analytics_settings *settings, struct analytics_cuts *cuts)
{
	int64_t *sorted[ANALYTICS_METRICS];
	for (int k = 0; k < ANALYTICS_METRICS; k++) {
		sorted[k] = xmalloc((n ? n : 1) * sizeof(int64_t));
		for (size_t i = 0; i < n; i++)
			sorted[k][i] = analytics_metric_of(&metrics[i], k);
		sort_int64(sorted[k], n);
	}
	analytics_cuts_from_sorted((const int64_t *const *)sorted, n, settings, cuts);
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		free(sorted[k]);
	return 0;
}

int analytics_quintile(int64_t value, const int64_t cuts[4], bool higher_is_better)
{
	int score = 1;
	for (int s = 0; s < 4; s++)
		if (higher_is_better ? value > cuts[s] : value < cuts[s])
			score++;
	return score;
}

void analytics_classify_relative(const struct analytics_metrics *metrics, bool high_service,
				 const struct analytics_cuts *cuts,
				 const struct analytics_settings *settings,
				 struct analytics_relative *out)
{
	out->r = out->f = out->m = 1;
	if (cuts && cuts->customers > 0) {
		out->r = analytics_quintile(metrics->recency_days, cuts->recency, false);
		out->f = analytics_quintile(metrics->purchase_days, cuts->frequency, true);
		out->m = analytics_quintile(metrics->total_cents, cuts->monetary, true);
	}
	out->tier = settings->tier_count - 1;
	if (cuts)
		for (int i = 0; i + 1 < settings->tier_count; i++)
			if (metrics->tier_metric >= cuts->tier_min[i]) {
				out->tier = i;
				break;
			}
	out->value_class = value_class_of(out->m >= ANALYTICS_HIGH_VALUE_M, high_service);
}

void analytics_figures_classify(const struct analytics_history *history, int64_t as_of_day,
				const struct analytics_cuts *cuts,
				const struct analytics_settings *settings,
				struct analytics_figures *figures)
{
	figures->loyalty = analytics_loyalty(history, as_of_day);
	figures->relationship_stage = analytics_relationship_stage(history, as_of_day);
	figures->rfm[0] = '\0';
	figures->r = figures->f = figures->m = 0;
	figures->tier = -1;
	figures->value_class = NULL;
	if (history->purchase_days == 0)
		return;
	struct analytics_metrics metrics = {
		.recency_days = recency_days_of(history, as_of_day),
		.purchase_days = history->purchase_days,
		.total_cents = history->total_cents,
		.tier_metric = settings->tier_metric == ANALYTICS_METRIC_LTV
				       ? figures->historical_ltv_cents
				       : figures->predicted_ltv_cents,
	};
	struct analytics_relative relative;
	analytics_classify_relative(&metrics, analytics_high_service(history), cuts, settings,
				    &relative);
	figures->r = relative.r;
	figures->f = relative.f;
	figures->m = relative.m;
	figures->tier = relative.tier;
	figures->value_class = relative.value_class;
	figures->rfm[0] = (char)('0' + figures->r);
	figures->rfm[1] = (char)('0' + figures->f);
	figures->rfm[2] = (char)('0' + figures->m);
	figures->rfm[3] = '\0';
}
