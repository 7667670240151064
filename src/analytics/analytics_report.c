/*
 * analytics_report.c - what the analytics endpoints answer, as JSON: one contact's figures,
 * the LTV ranking, the tiers and the dashboard summary. Each report runs in ONE read
 * transaction: the scores are brought up to date inside it (analytics_scores_prepare_in_
 * transaction) and read in the same snapshot, so every figure is consistent with the data
 * of that moment. The SQL is in analytics_store.c; the rules in analytics_rules.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/perm.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* ================================================================ shared steps */

/* What a report works from: the settings, the model and the cut points of the scores. */
struct report_context {
	struct analytics_settings settings;
	struct analytics_scores_state state;
	struct analytics_model model;
	bool have_model;
	struct analytics_cuts cuts;
	char as_of[ANALYTICS_DATE_SIZE];
};

/* Opens the read transaction and brings the scores up to date. Returns a db_status; on
 * success the caller ends with report_end(). */
static int report_begin(struct db *db, int64_t as_of, struct report_context *context)
{
	memset(context, 0, sizeof(*context));
	int status = analytics_scores_ensure(db);
	if (status != DB_OK)
		return status;
	status = db_begin_read(db);
	if (status != DB_OK)
		return status;
	status = analytics_scores_prepare_in_transaction(db, as_of);
	if (status == DB_OK)
		status = analytics_store_settings(db, &context->settings);
	if (status == DB_OK)
		status = analytics_scores_state_get(db, &context->state);
	if (status != DB_OK) {
		db_rollback(db);
		analytics_scores_state_release(&context->state);
		return status == DB_NOT_FOUND ? DB_ERROR : status;
	}
	context->have_model =
		analytics_model_from_text(&context->model, context->state.model_json) == 0;
	if (analytics_cuts_from_text(&context->cuts, context->state.cuts_json) != 0)
		memset(&context->cuts, 0, sizeof(context->cuts));
	analytics_store_format_day(context->state.as_of_day, context->as_of);
	return DB_OK;
}

/* Ends the read transaction (committing when status is DB_OK) and stores a new fit. */
static int report_end(struct db *db, struct report_context *context, int status)
{
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	analytics_scores_state_release(&context->state);
	if (status == DB_OK)
		analytics_scores_finish(db);
	return status;
}

static json_t *real_or_null(double value)
{
	return isfinite(value) ? json_real(value) : json_null();
}

static json_t *time_or_null(bool present, int64_t seconds)
{
	if (!present)
		return json_null();
	char text[TIME_RFC3339_SIZE];
	analytics_store_format_time(seconds, text);
	return json_string(text);
}

static json_t *string_or_null(const char *text)
{
	return text ? json_string(text) : json_null();
}

/* The model as reports show it (new reference). */
static json_t *model_json(const struct report_context *context)
{
	if (!context->have_model)
		return json_null();
	return analytics_model_to_json(&context->model);
}

/*
 * The model for a caller with read scope `scope`: in full for the scope "all"; otherwise
 * only how the figures were made (method, converged, fitted_at), without the whole base's
 * customer and purchase counts, mean spend and fitted parameters (issue 16). New reference.
 */
static json_t *model_json_for(const struct report_context *context, int scope)
{
	json_t *full = model_json(context);
	if (scope == PERM_SCOPE_ALL || !json_is_object(full))
		return full;
	static const char *const shown[] = { "method", "converged", "fitted_at", NULL };
	json_t *brief = json_object();
	for (int i = 0; shown[i]; i++) {
		json_t *value = json_object_get(full, shown[i]);
		if (value)
			json_object_set(brief, shown[i], value);
	}
	json_decref(full);
	return brief;
}

/* ================================================================ one contact */

int analytics_contact_json(struct db *db, int64_t contact_id, int64_t as_of, int horizon_days,
			   int scope, json_t **out)
{
	struct report_context context;
	struct analytics_history history;
	struct analytics_figures figures;
	*out = NULL;
	int status = report_begin(db, as_of, &context);
	if (status != DB_OK)
		return status;
	int64_t day = context.state.as_of_day;
	const struct analytics_model *model = context.have_model ? &context.model : NULL;
	status = analytics_store_history(db, contact_id, context.state.live ? -1 : day, &history);
	if (status != DB_OK)
		return report_end(db, &context, status);

	analytics_figures_predict(&history, day, model, &context.settings,
				  context.settings.horizon_days, &figures);
	analytics_figures_classify(&history, day, &context.cuts, &context.settings, &figures);
	if (horizon_days != context.settings.horizon_days) {
		struct analytics_figures other;
		analytics_figures_predict(&history, day, model, &context.settings, horizon_days,
					  &other);
		figures.predicted_ltv_cents = other.predicted_ltv_cents;
		figures.expected_purchases = other.expected_purchases;
	}
	bool customer = history.purchase_days > 0;
	json_t *result = json_pack("{s:I,s:s,s:i,s:I,s:I,s:I,s:I,s:I}", "contact_id",
				   (json_int_t)contact_id, "as_of", context.as_of, "horizon_days",
				   horizon_days, "historical_ltv_cents",
				   (json_int_t)figures.historical_ltv_cents, "predicted_ltv_cents",
				   (json_int_t)figures.predicted_ltv_cents, "purchases_count",
				   (json_int_t)history.purchases_count, "purchase_days",
				   (json_int_t)history.purchase_days, "total_cents",
				   (json_int_t)history.total_cents);
	json_object_set_new(result, "average_order_cents",
			    history.purchases_count > 0
				    ? json_integer(history.total_cents / history.purchases_count)
				    : json_null());
	json_object_set_new(result, "first_purchase_at",
			    time_or_null(customer, history.first_purchase_at));
	json_object_set_new(result, "last_purchase_at",
			    time_or_null(customer, history.last_purchase_at));
	json_object_set_new(result, "recency_days",
			    customer ? json_integer(figures.recency_days) : json_null());
	json_object_set_new(result, "rfm",
			    customer ? json_pack("{s:i,s:i,s:i,s:s}", "r", figures.r, "f", figures.f,
						 "m", figures.m, "score", figures.rfm)
				     : json_null());
	json_object_set_new(result, "p_alive", customer ? real_or_null(figures.p_alive) : json_null());
	json_object_set_new(result, "churn_risk",
			    customer ? real_or_null(figures.churn_risk) : json_null());
	json_object_set_new(result, "tier",
			    figures.tier >= 0 ? json_string(context.settings.tiers[figures.tier].name)
					      : json_null());
	json_object_set_new(result, "value_class", string_or_null(figures.value_class));
	json_object_set_new(result, "loyalty", json_string(figures.loyalty));
	json_object_set_new(result, "relationship_stage", json_string(figures.relationship_stage));
	json_object_set_new(result, "expected_purchases",
			    customer ? real_or_null(figures.expected_purchases) : json_null());
	json_object_set_new(result, "expected_spend_cents",
			    customer ? real_or_null(figures.expected_spend_cents) : json_null());
	json_object_set_new(result, "interactions_count", json_integer(history.interactions_count));
	json_object_set_new(result, "service_interactions", json_integer(history.service_count));
	json_object_set_new(result, "last_interaction_at",
			    time_or_null(history.interactions_count > 0, history.last_interaction_at));
	json_t *model_info = model_json_for(&context, scope);
	if (customer && json_is_object(model_info))
		json_object_set_new(model_info, "used",
				    json_pack("{s:s,s:s}", "purchases", figures.purchases_method,
					      "spend", figures.spend_method));
	json_object_set_new(result, "model", model_info);
	*out = result;
	return report_end(db, &context, DB_OK);
}

/* ================================================================ the LTV ranking */

/* A customer's position in a ranking computed for another horizon than the tiers'. */
struct ranked {
	int64_t predicted_ltv_cents;
	size_t index;
};

static int compare_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->predicted_ltv_cents != y->predicted_ltv_cents)
		return x->predicted_ltv_cents > y->predicted_ltv_cents ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index); /* histories are in id order */
}

/*
 * The ranking for a horizon other than the tiers' one: predicts every customer again (the
 * temp table holds the tiers' horizon only) and walks down the ranking checking the
 * caller's scope. Costs one pass over the customer base.
 */
static int ranking_for_horizon(struct db *db, const struct analytics_scope *scope,
			       const struct report_context *context, int horizon_days, int limit,
			       json_t *rows)
{
	struct analytics_history *histories = NULL;
	size_t count = 0, customers = 0;
	int64_t day = context->state.as_of_day;
	const struct analytics_model *model = context->have_model ? &context->model : NULL;
	int status = analytics_store_histories(db, context->state.live ? -1 : day, &histories,
					       &count);
	if (status != DB_OK)
		return status;
	struct ranked *ranking = xmalloc((count ? count : 1) * sizeof(*ranking));
	for (size_t i = 0; i < count; i++) {
		if (histories[i].purchase_days == 0)
			continue;
		struct analytics_figures figures;
		analytics_figures_predict(&histories[i], day, model, &context->settings, horizon_days,
					  &figures);
		ranking[customers].predicted_ltv_cents = figures.predicted_ltv_cents;
		ranking[customers++].index = i;
	}
	qsort(ranking, customers, sizeof(*ranking), compare_ranked);
	for (size_t i = 0; i < customers && json_array_size(rows) < (size_t)limit; i++) {
		const struct analytics_history *h = &histories[ranking[i].index];
		bool readable = true;
		if (scope->scope != PERM_SCOPE_ALL) {
			status = analytics_store_contact_readable(db, scope, h->contact_id, &readable);
			if (status != DB_OK)
				break;
		}
		if (!readable)
			continue;
		struct analytics_figures tiers_view, figures;
		analytics_figures_predict(h, day, model, &context->settings,
					  context->settings.horizon_days, &tiers_view);
		analytics_figures_classify(h, day, &context->cuts, &context->settings, &tiers_view);
		analytics_figures_predict(h, day, model, &context->settings, horizon_days, &figures);
		json_t *row = json_pack("{s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:s,s:o}", "contact_id",
					(json_int_t)h->contact_id, "predicted_ltv_cents",
					(json_int_t)figures.predicted_ltv_cents,
					"historical_ltv_cents", (json_int_t)figures.historical_ltv_cents,
					"purchases_count", (json_int_t)h->purchases_count,
					"expected_purchases", real_or_null(figures.expected_purchases),
					"p_alive", real_or_null(figures.p_alive), "churn_risk",
					real_or_null(figures.churn_risk), "tier",
					tiers_view.tier >= 0
						? json_string(context->settings.tiers[tiers_view.tier].name)
						: json_null(),
					"rfm", tiers_view.rfm, "last_purchase_at",
					time_or_null(true, h->last_purchase_at));
		status = analytics_store_contact_names(db, h->contact_id, row);
		json_array_append_new(rows, row);
		if (status != DB_OK)
			break;
	}
	free(ranking);
	free(histories);
	return status;
}

/*
 * Adds expected_purchases and the exact p_alive to the rows of a ranking (borrowed): the
 * table keeps only what segments and the counts need, the top rows are few.
 */
static int ranking_add_predictions(struct db *db, const struct report_context *context,
				   json_t *rows)
{
	const struct analytics_model *model = context->have_model ? &context->model : NULL;
	int64_t day = context->state.as_of_day;
	size_t index;
	json_t *row;
	json_array_foreach(rows, index, row) {
		struct analytics_history history;
		struct analytics_figures figures;
		int64_t contact_id = json_integer_value(json_object_get(row, "contact_id"));
		int status = analytics_store_history(db, contact_id, context->state.live ? -1 : day,
						     &history);
		if (status != DB_OK)
			return status;
		analytics_figures_predict(&history, day, model, &context->settings,
					  context->settings.horizon_days, &figures);
		json_object_set_new(row, "expected_purchases", real_or_null(figures.expected_purchases));
		json_object_set_new(row, "p_alive", real_or_null(figures.p_alive));
	}
	return DB_OK;
}

int analytics_ltv_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
		       int horizon_days, int limit, json_t **out)
{
	struct report_context context;
	json_t *rows = NULL;
	*out = NULL;
	int status = report_begin(db, as_of, &context);
	if (status != DB_OK)
		return status;
	if (horizon_days == context.settings.horizon_days) {
		status = analytics_store_ranking(db, scope, limit, &rows);
		if (status == DB_OK)
			status = ranking_add_predictions(db, &context, rows);
	} else {
		rows = json_array();
		status = ranking_for_horizon(db, scope, &context, horizon_days, limit, rows);
	}
	if (status == DB_OK)
		*out = json_pack("{s:s,s:i,s:i,s:o,s:o}", "as_of", context.as_of, "horizon_days",
				 horizon_days, "limit", limit, "model",
				 model_json_for(&context, scope->scope), "data", json_incref(rows));
	json_decref(rows);
	return report_end(db, &context, status);
}

/* ================================================================ tiers */

/*
 * Per tier name: {"members","revenue","predicted"} (*by_tier new). For the scope "all" a
 * pass over the shared scores in memory (no SQL: tens of milliseconds per million); other
 * scopes join the contacts (analytics_store_tier_counts()).
 */
static int tier_counts(struct db *db, const struct analytics_scope *scope,
		       const struct analytics_settings *settings, json_t **by_tier)
{
	if (scope->scope != PERM_SCOPE_ALL)
		return analytics_store_tier_counts(db, scope, settings, by_tier);
	int64_t members[ANALYTICS_TIERS_MAX], revenue[ANALYTICS_TIERS_MAX],
		predicted[ANALYTICS_TIERS_MAX];
	*by_tier = NULL;
	int status = analytics_scores_tier_totals(db, settings->tier_count, members, revenue,
						  predicted);
	if (status != DB_OK)
		return status == DB_NOT_FOUND ? DB_ERROR : status;
	*by_tier = json_object();
	for (int i = 0; i < settings->tier_count; i++)
		json_object_set_new(*by_tier, settings->tiers[i].name,
				    json_pack("{s:I,s:f,s:f}", "members", (json_int_t)members[i],
					      "revenue", (double)revenue[i], "predicted",
					      (double)predicted[i]));
	return DB_OK;
}

int analytics_tiers_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
			 json_t **out)
{
	struct report_context context;
	json_t *by_tier = NULL;
	*out = NULL;
	int status = report_begin(db, as_of, &context);
	if (status != DB_OK)
		return status;
	status = tier_counts(db, scope, &context.settings, &by_tier);
	if (status != DB_OK)
		goto cleanup;
	const struct analytics_settings *settings = &context.settings;
	double revenue = 0.0, predicted = 0.0;
	json_int_t members = 0;
	for (int i = 0; i < settings->tier_count; i++) {
		json_t *counts = json_object_get(by_tier, settings->tiers[i].name);
		revenue += json_number_value(json_object_get(counts, "revenue"));
		predicted += json_number_value(json_object_get(counts, "predicted"));
		members += json_integer_value(json_object_get(counts, "members"));
	}
	json_t *tiers = json_array();
	for (int i = 0; i < settings->tier_count; i++) {
		json_t *counts = json_object_get(by_tier, settings->tiers[i].name);
		double tier_revenue = json_number_value(json_object_get(counts, "revenue"));
		double tier_predicted = json_number_value(json_object_get(counts, "predicted"));
		json_int_t tier_members = json_integer_value(json_object_get(counts, "members"));
		bool last = i + 1 == settings->tier_count;
		json_t *threshold = json_null(); /* cut over the whole base: not for scoped callers */
		if (context.cuts.customers > 0 && scope->scope == PERM_SCOPE_ALL)
			threshold = json_integer(last ? context.cuts.metric_min
						      : context.cuts.tier_min[i]);
		json_t *tier = json_pack("{s:s,s:o,s:I,s:I,s:f,s:I,s:f}", "name",
					 settings->tiers[i].name, "threshold_cents", threshold,
					 "members", tier_members, "revenue_cents",
					 (json_int_t)llround(tier_revenue), "revenue_share",
					 revenue > 0.0 ? tier_revenue / revenue : 0.0,
					 "predicted_ltv_cents", (json_int_t)llround(tier_predicted),
					 "member_share",
					 members > 0 ? (double)tier_members / (double)members : 0.0);
		if (settings->tier_basis == ANALYTICS_TIERS_BY_SHARE)
			json_object_set_new(tier, "share",
					    last ? json_null()
						 : json_real(settings->tiers[i].share_bp / 10000.0));
		else
			json_object_set_new(tier, "min_cents",
					    last ? json_null()
						 : json_integer(settings->tiers[i].min_cents));
		json_array_append_new(tiers, tier);
	}
	*out = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:o}", "as_of", context.as_of, "basis",
			 settings->tier_basis == ANALYTICS_TIERS_BY_SHARE ? "share" : "value",
			 "metric",
			 settings->tier_metric == ANALYTICS_METRIC_LTV ? "ltv_cents"
								       : "predicted_ltv_cents",
			 "horizon_days", settings->horizon_days, "customers", members,
			 "revenue_cents", (json_int_t)llround(revenue), "predicted_ltv_cents",
			 (json_int_t)llround(predicted), "tiers", tiers);
cleanup:
	json_decref(by_tier);
	return report_end(db, &context, status);
}

/* ================================================================ summary */

/* The first day of the period ("month", "quarter", "year") containing `day`, and of the
 * one before it. */
static void period_bounds(const char *period, int64_t day, int64_t *start, int64_t *previous)
{
	int year, month, mday;
	analytics_store_date_of_day(day, &year, &month, &mday);
	int first_month = month, length = 1;
	if (strcmp(period, "quarter") == 0) {
		first_month = (month - 1) / 3 * 3 + 1;
		length = 3;
	} else if (strcmp(period, "year") == 0) {
		first_month = 1;
		length = 12;
	}
	*start = analytics_store_day_from_date(year, first_month, 1);
	int previous_month = first_month - length, previous_year = year;
	if (previous_month < 1) {
		previous_month += 12;
		previous_year--;
	}
	*previous = analytics_store_day_from_date(previous_year, previous_month, 1);
}

static json_t *period_json(int64_t from_day, int64_t to_day, const struct analytics_period *p,
			   double new_customers)
{
	char from[ANALYTICS_DATE_SIZE], to[ANALYTICS_DATE_SIZE];
	analytics_store_format_day(from_day, from);
	analytics_store_format_day(to_day - 1, to);
	return json_pack("{s:s,s:s,s:I,s:I,s:o,s:I,s:I,s:I}", "from", from, "to", to,
			 "revenue_cents", (json_int_t)llround(p->revenue_cents), "orders",
			 (json_int_t)p->orders, "average_order_value_cents",
			 p->orders > 0 ? json_integer((json_int_t)llround(p->revenue_cents /
									  (double)p->orders))
				       : json_null(),
			 "buyers", (json_int_t)p->buyers, "new_customers",
			 (json_int_t)llround(new_customers), "interactions",
			 (json_int_t)p->interactions);
}

int analytics_summary_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
			   const char *period, json_t **out)
{
	struct report_context context;
	struct analytics_period this_period, last_period;
	double counts[ANALYTICS_SCORE_COUNTS];
	json_t *by_tier = NULL;
	int64_t contacts = 0, start, previous;
	*out = NULL;
	int status = report_begin(db, as_of, &context);
	if (status != DB_OK)
		return status;
	int64_t day = context.state.as_of_day;
	period_bounds(period, day, &start, &previous);
	char start_text[ANALYTICS_DATE_SIZE], end_text[ANALYTICS_DATE_SIZE],
		previous_text[ANALYTICS_DATE_SIZE];
	analytics_store_format_day(start, start_text);
	analytics_store_format_day(day + 1, end_text);
	analytics_store_format_day(previous, previous_text);

	status = analytics_store_score_counts(db, scope, start_text, end_text, previous_text, counts);
	if (status == DB_OK)
		status = analytics_store_period(db, scope, start_text, end_text, &this_period);
	if (status == DB_OK)
		status = analytics_store_period(db, scope, previous_text, start_text, &last_period);
	if (status == DB_OK)
		status = analytics_store_contacts_count(db, scope, &contacts);
	if (status == DB_OK)
		status = tier_counts(db, scope, &context.settings, &by_tier);
	if (status != DB_OK)
		goto cleanup;

	json_t *result = json_pack("{s:s,s:s,s:I}", "as_of", context.as_of, "period", period,
				   "contacts", (json_int_t)contacts);
	/* The plain counts first, then the groups ("loyalty.active" -> loyalty: {active}). */
	for (int i = 0; i < ANALYTICS_SCORE_COUNTS; i++) {
		const char *name = analytics_score_count_names[i];
		const char *dot = strchr(name, '.');
		json_t *value = json_integer((json_int_t)llround(counts[i]));
		if (strncmp(name, "new_customers", 13) == 0) {
			json_decref(value);
			continue;
		}
		if (!dot) {
			json_object_set_new(result, name, value);
			continue;
		}
		char group[40];
		snprintf(group, sizeof(group), "%.*s", (int)(dot - name), name);
		if (strcmp(group, "stage") == 0)
			snprintf(group, sizeof(group), "relationship_stages");
		else if (strcmp(group, "value_class") == 0)
			snprintf(group, sizeof(group), "value_classes");
		json_t *object = json_object_get(result, group);
		if (!object) {
			object = json_object();
			json_object_set_new(result, group, object);
		}
		json_object_set_new(object, dot + 1, value);
	}
	double purchases = counts[3], historical = counts[1];
	double margin = context.settings.gross_margin;
	json_object_set_new(result, "average_order_value_cents",
			    purchases > 0 ? json_integer((json_int_t)llround(historical / margin /
									      purchases))
					  : json_null());
	json_t *tiers = json_object();
	for (int i = 0; i < context.settings.tier_count; i++) {
		json_t *tier_counts = json_object_get(by_tier, context.settings.tiers[i].name);
		json_object_set_new(tiers, context.settings.tiers[i].name,
				    json_integer(json_integer_value(json_object_get(tier_counts,
										    "members"))));
	}
	json_object_set_new(result, "tiers", tiers);
	json_object_set_new(result, "this_period", period_json(start, day + 1, &this_period, counts[4]));
	json_object_set_new(result, "last_period",
			    period_json(previous, start, &last_period, counts[5]));
	json_t *model = json_object();
	if (context.have_model) {
		json_t *full = analytics_model_to_json(&context.model);
		json_object_set(model, "method", json_object_get(full, "method"));
		json_object_set(model, "converged", json_object_get(full, "converged"));
		json_object_set(model, "fitted_at", json_object_get(full, "fitted_at"));
		json_decref(full);
	}
	json_object_set_new(result, "model", model);
	*out = result;
cleanup:
	json_decref(by_tier);
	return report_end(db, &context, status);
}
