/*
 * analytics_model.c - the fitted models: which fit serves a day (the live one is refitted
 * when the purchases moved enough or it grew old; an as-of fit is exact for its data),
 * fitting on histories, refits on request, storing a fit that a build made inside a
 * caller's transaction, and the JSON serialisation of fits and cut points that the fit
 * cache (analytics_fits) and the per-connection scores state use.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define LIVE_KEY "live"

/* ================================================================ serialisation */

static enum ltv_fit_status fit_status_parse(const char *text)
{
	static const struct {
		const char *name;
		enum ltv_fit_status status;
	} names[] = {
		{ "ok", LTV_FIT_OK },
		{ "too_few_customers", LTV_FIT_TOO_FEW },
		{ "not_converged", LTV_FIT_NOT_CONVERGED },
		{ "degenerate", LTV_FIT_DEGENERATE },
		{ "invalid_input", LTV_FIT_INVALID_INPUT },
	};
	for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, text) == 0)
			return names[i].status;
	return LTV_FIT_NOT_CONVERGED;
}

/* A member as a double: NAN when absent or null. */
static double member_real(const json_t *object, const char *name)
{
	const json_t *value = json_object_get(object, name);
	return json_is_number(value) ? json_number_value(value) : NAN;
}

static void bgnbd_from_json(struct ltv_bgnbd_fit *fit, const json_t *object)
{
	memset(fit, 0, sizeof(*fit));
	fit->params.r = member_real(object, "r");
	fit->params.alpha = member_real(object, "alpha");
	fit->params.a = member_real(object, "a");
	fit->params.b = member_real(object, "b");
	fit->status = fit_status_parse(json_string_value(json_object_get(object, "status")));
	fit->converged = fit->status == LTV_FIT_OK;
	fit->iterations = (int)json_integer_value(json_object_get(object, "iterations"));
	fit->log_likelihood = member_real(object, "log_likelihood");
	fit->gradient_norm = NAN;
	fit->repeat_customers = (size_t)json_integer_value(json_object_get(object, "repeat_customers"));
	fit->method = fit->status == LTV_FIT_OK ? LTV_METHOD_BGNBD : LTV_METHOD_FALLBACK_RATE;
	const char *message = json_string_value(json_object_get(object, "message"));
	snprintf(fit->message, sizeof(fit->message), "%s", message ? message : "");
}

static void gamma_gamma_from_json(struct ltv_gamma_gamma_fit *fit, const json_t *object)
{
	memset(fit, 0, sizeof(*fit));
	fit->params.p = member_real(object, "p");
	fit->params.q = member_real(object, "q");
	fit->params.v = member_real(object, "v");
	fit->status = fit_status_parse(json_string_value(json_object_get(object, "status")));
	fit->converged = fit->status == LTV_FIT_OK;
	fit->iterations = (int)json_integer_value(json_object_get(object, "iterations"));
	fit->log_likelihood = member_real(object, "log_likelihood");
	fit->gradient_norm = NAN;
	fit->customers_used = (size_t)json_integer_value(json_object_get(object, "customers"));
	fit->repeat_customers = fit->customers_used;
	fit->method = fit->status == LTV_FIT_OK ? LTV_METHOD_GAMMA_GAMMA : LTV_METHOD_FALLBACK_SPEND;
	const char *message = json_string_value(json_object_get(object, "message"));
	snprintf(fit->message, sizeof(fit->message), "%s", message ? message : "");
}

void analytics_model_fits_to_text(const struct analytics_model *model, char **bgnbd,
				  char **gamma_gamma)
{
	json_t *all = analytics_model_to_json(model);
	*bgnbd = json_to_text(json_object_get(all, "bgnbd"), NULL);
	*gamma_gamma = json_to_text(json_object_get(all, "gamma_gamma"), NULL);
	json_decref(all);
}

int analytics_model_fits_from_text(struct analytics_model *model, const char *bgnbd,
				   const char *gamma_gamma)
{
	json_t *bg = bgnbd ? json_loads(bgnbd, 0, NULL) : NULL;
	json_t *gg = gamma_gamma ? json_loads(gamma_gamma, 0, NULL) : NULL;
	int result = -1;
	if (json_is_object(bg) && json_is_object(gg)) {
		bgnbd_from_json(&model->bgnbd, bg);
		gamma_gamma_from_json(&model->gamma_gamma, gg);
		result = 0;
	}
	json_decref(bg);
	json_decref(gg);
	return result;
}

int analytics_model_from_text(struct analytics_model *model, const char *text)
{
	json_t *root = text ? json_loads(text, 0, NULL) : NULL;
	int result = -1;
	if (!json_is_object(root))
		goto cleanup;
	memset(model, 0, sizeof(*model));
	bgnbd_from_json(&model->bgnbd, json_object_get(root, "bgnbd"));
	gamma_gamma_from_json(&model->gamma_gamma, json_object_get(root, "gamma_gamma"));
	model->mean_spend_cents = member_real(root, "mean_spend_cents");
	model->customers = json_integer_value(json_object_get(root, "customers"));
	model->purchases = json_integer_value(json_object_get(root, "purchases"));
	model->purchase_generation = json_integer_value(json_object_get(root, "purchase_generation"));
	model->duration_ms = json_integer_value(json_object_get(root, "duration_ms"));
	const char *fitted_at = json_string_value(json_object_get(root, "fitted_at"));
	const char *data_as_of = json_string_value(json_object_get(root, "data_as_of"));
	snprintf(model->fitted_at, sizeof(model->fitted_at), "%s", fitted_at ? fitted_at : "");
	snprintf(model->data_as_of, sizeof(model->data_as_of), "%s", data_as_of ? data_as_of : "");
	result = 0;
cleanup:
	json_decref(root);
	return result;
}

char *analytics_model_to_text(const struct analytics_model *model)
{
	json_t *json = analytics_model_to_json(model);
	json_object_set_new(json, "purchase_generation", json_integer(model->purchase_generation));
	char *text = json_to_text(json, NULL);
	json_decref(json);
	return text;
}

static json_t *int64_array(const int64_t *values, int count)
{
	json_t *array = json_array();
	for (int i = 0; i < count; i++)
		json_array_append_new(array, json_integer(values[i]));
	return array;
}

static int int64_array_read(const json_t *array, int64_t *values, int count)
{
	if (!json_is_array(array) || json_array_size(array) != (size_t)count)
		return -1;
	for (int i = 0; i < count; i++) {
		json_t *value = json_array_get(array, (size_t)i);
		if (!json_is_integer(value))
			return -1;
		values[i] = json_integer_value(value);
	}
	return 0;
}

char *analytics_cuts_to_text(const struct analytics_cuts *cuts, int tier_count)
{
	json_t *json = json_pack("{s:I,s:o,s:o,s:o,s:o,s:I}", "customers", (json_int_t)cuts->customers,
				 "recency", int64_array(cuts->recency, 4), "frequency",
				 int64_array(cuts->frequency, 4), "monetary",
				 int64_array(cuts->monetary, 4), "tier_min",
				 int64_array(cuts->tier_min, tier_count), "metric_min",
				 (json_int_t)cuts->metric_min);
	char *text = json_to_text(json, NULL);
	json_decref(json);
	return text;
}

int analytics_cuts_from_text(struct analytics_cuts *cuts, const char *text)
{
	json_t *root = text ? json_loads(text, 0, NULL) : NULL;
	int result = -1;
	memset(cuts, 0, sizeof(*cuts));
	for (int i = 0; i < ANALYTICS_TIERS_MAX; i++)
		cuts->tier_min[i] = INT64_MIN;
	json_t *tiers = json_object_get(root, "tier_min");
	size_t tier_count = json_array_size(tiers);
	if (!json_is_object(root) || tier_count > ANALYTICS_TIERS_MAX ||
	    int64_array_read(json_object_get(root, "recency"), cuts->recency, 4) != 0 ||
	    int64_array_read(json_object_get(root, "frequency"), cuts->frequency, 4) != 0 ||
	    int64_array_read(json_object_get(root, "monetary"), cuts->monetary, 4) != 0 ||
	    int64_array_read(tiers, cuts->tier_min, (int)tier_count) != 0)
		goto cleanup;
	cuts->customers = json_integer_value(json_object_get(root, "customers"));
	cuts->metric_min = json_integer_value(json_object_get(root, "metric_min"));
	result = 0;
cleanup:
	json_decref(root);
	return result;
}

/* ================================================================ which fit */

int64_t analytics_today(void)
{
	return analytics_day_of((int64_t)time(NULL));
}

/* Whether a live fit must be redone: the purchases moved enough, or it is too old. */
static bool live_fit_stale(const struct analytics_model *model,
			   const struct analytics_settings *settings, int64_t purchase_generation)
{
	double moved = (double)(purchase_generation - model->purchase_generation);
	double base = model->purchases > 0 ? (double)model->purchases : 1.0;
	if (moved > settings->refit_change * base)
		return true;
	int64_t fitted = 0;
	if (!analytics_store_parse_time(model->fitted_at, &fitted))
		return true;
	return (int64_t)time(NULL) - fitted > (int64_t)settings->refit_days * 86400;
}

/* Whether `model` can serve `key` with the data at `purchase_generation`. */
bool analytics_model_usable(const struct analytics_model *model, bool live,
			    const struct analytics_settings *settings, int64_t purchase_generation)
{
	if (live)
		return !live_fit_stale(model, settings, purchase_generation);
	return model->purchase_generation == purchase_generation;
}

void analytics_model_fit_histories(const struct analytics_history *histories, size_t count,
			  int64_t as_of_day, int64_t purchase_generation,
			  struct analytics_model *model)
{
	struct ltv_customer *customers = xmalloc((count ? count : 1) * sizeof(*customers));
	size_t n = 0;
	int64_t purchases = 0;
	for (size_t i = 0; i < count; i++) {
		if (histories[i].purchase_days == 0)
			continue;
		analytics_customer_of(&histories[i], as_of_day, &customers[n++]);
		purchases += histories[i].purchases_count;
	}
	memset(model, 0, sizeof(*model));
	if (analytics_model_fit(customers, n, model) != 0)
		log_info("analytics: model fit fell back: %s%s%s", model->bgnbd.message,
			 model->bgnbd.message[0] && model->gamma_gamma.message[0] ? "; " : "",
			 model->gamma_gamma.message);
	model->purchases = purchases;
	model->purchase_generation = purchase_generation;
	analytics_store_format_day(as_of_day, model->data_as_of);
	free(customers);
}

/* ================================================================ storing a pending fit */

/*
 * Stores a fit that a build made but could not store, unless a newer one is stored
 * already. Outside any transaction; failures are only logged (the fit is redone later).
 */
void analytics_model_flush(struct db *db)
{
	struct analytics_scores_state state;
	struct analytics_model model, stored;
	if (analytics_scores_state_get(db, &state) != DB_OK)
		return;
	if (!state.model_unsaved || analytics_model_from_text(&model, state.model_json) != 0)
		goto cleanup;
	if (db_begin_write(db) != DB_OK)
		goto cleanup;
	int status = analytics_store_fit_get(db, state.fit_key, &stored);
	if (status == DB_NOT_FOUND ||
	    (status == DB_OK && stored.purchase_generation < model.purchase_generation))
		status = analytics_store_fit_put(db, state.fit_key, &model);
	if (status == DB_OK)
		status = analytics_scores_model_saved(db);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK)
		log_warn("analytics: could not store the model fit (will refit later)");
cleanup:
	analytics_scores_state_release(&state);
}

/* ================================================================ refit on request */

int analytics_refit(struct db *db, struct analytics_model *model)
{
	int64_t config_generation, purchase_generation, purchases;
	struct analytics_history *histories = NULL;
	size_t count = 0;
	int status = db_begin_read(db);
	if (status != DB_OK)
		return status;
	status = analytics_store_state(db, &config_generation, &purchase_generation, &purchases);
	if (status == DB_OK)
		status = analytics_store_histories(db, -1, &histories, &count);
	db_rollback(db);
	if (status != DB_OK)
		goto cleanup;
	analytics_model_fit_histories(histories, count, analytics_today(), purchase_generation, model);
	status = db_begin_write(db);
	if (status != DB_OK)
		goto cleanup;
	status = analytics_store_fit_put(db, LIVE_KEY, model);
	if (status == DB_OK)
		status = analytics_store_bump_generation(db); /* every connection rebuilds */
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
cleanup:
	free(histories);
	return status;
}
