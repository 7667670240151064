/*
 * pipeline.c - GET /api/v1/pipeline (pipeline.h): the opportunities the caller may read,
 * counted and summed per stage and currency by the data layer (operations_store.c) and
 * shaped here into all six stages in pipeline order.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/pipeline.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/operations.h"
#include "crm/opportunities.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* Adds `count`, `amount` and `weighted` to the figures of `entry` (borrowed). */
static void add_figures(json_t *entry, json_int_t count, json_int_t amount, json_int_t weighted)
{
	json_t *figure;
	figure = json_object_get(entry, "count");
	json_integer_set(figure, json_integer_value(figure) + count);
	figure = json_object_get(entry, "amount_cents");
	json_integer_set(figure, json_integer_value(figure) + amount);
	figure = json_object_get(entry, "weighted_amount_cents");
	json_integer_set(figure, json_integer_value(figure) + weighted);
}

static json_t *new_currency_entry(const char *currency)
{
	return json_pack("{s:s, s:I, s:I, s:I}", "currency", currency, "count", (json_int_t)0,
			 "amount_cents", (json_int_t)0, "weighted_amount_cents", (json_int_t)0);
}

/* The entry of `currency` in `list` (an array of currency entries), or NULL. Borrowed. */
static json_t *currency_entry(json_t *list, const char *currency)
{
	size_t index;
	json_t *entry;
	json_array_foreach(list, index, entry)
		if (strcmp(json_string_value(json_object_get(entry, "currency")), currency) == 0)
			return entry;
	return NULL;
}

/*
 * Builds the answer from the store's (stage, currency) rows (borrowed). `currency` is the
 * one asked for, or NULL. Returns a new object.
 */
static json_t *pipeline_shape(const json_t *rows, const char *currency)
{
	json_t *stages = json_array(), *totals = json_array();
	for (int i = 0; opportunities_stages[i]; i++)
		json_array_append_new(
			stages, json_pack("{s:s, s:i, s:I, s:n, s:n, s:[]}", "stage",
					  opportunities_stages[i], "default_probability",
					  opportunities_stage_probability(opportunities_stages[i]),
					  "count", (json_int_t)0, "amount_cents",
					  "weighted_amount_cents", "by_currency"));
	size_t index;
	const json_t *row;
	json_array_foreach(rows, index, row) {
		int stage = opportunities_stage_index(json_string_value(json_object_get(row, "stage")));
		const char *code = json_string_value(json_object_get(row, "currency"));
		if (stage < 0 || !code)
			continue;
		json_int_t count = json_integer_value(json_object_get(row, "count"));
		json_int_t amount = json_integer_value(json_object_get(row, "amount_cents"));
		json_int_t weighted = json_integer_value(json_object_get(row, "weighted_amount_cents"));
		json_t *entry = json_array_get(stages, (size_t)stage);
		json_t *by_currency = json_object_get(entry, "by_currency");
		json_t *stage_currency = new_currency_entry(code);
		add_figures(stage_currency, count, amount, weighted);
		json_array_append_new(by_currency, stage_currency);
		json_object_set_new(entry, "count",
				    json_integer(json_integer_value(json_object_get(entry, "count")) +
						 count));
		json_t *total = currency_entry(totals, code);
		if (!total) {
			total = new_currency_entry(code);
			json_array_append_new(totals, total);
		}
		add_figures(total, count, amount, weighted);
	}
	/* the answer's one currency: the one asked for, or the only one present */
	const char *single = currency;
	if (!single && json_array_size(totals) == 1)
		single = json_string_value(json_object_get(json_array_get(totals, 0), "currency"));
	bool flat = single || json_array_size(totals) == 0;
	json_t *entry;
	json_array_foreach(stages, index, entry) {
		if (!flat)
			continue;
		const json_t *figures =
			single ? currency_entry(json_object_get(entry, "by_currency"), single) : NULL;
		json_object_set_new(entry, "amount_cents",
				    json_integer(figures ? json_integer_value(json_object_get(
								   figures, "amount_cents"))
							 : 0));
		json_object_set_new(entry, "weighted_amount_cents",
				    json_integer(figures ? json_integer_value(json_object_get(
								   figures, "weighted_amount_cents"))
							 : 0));
	}
	return json_pack("{s:s?, s:o, s:o}", "currency", single, "stages", stages, "by_currency",
			 totals);
}

static bool currency_code_valid(const char *text)
{
	return strlen(text) == 3 && isupper((unsigned char)text[0]) &&
	       isupper((unsigned char)text[1]) && isupper((unsigned char)text[2]);
}

static void handle_pipeline(struct request *req, struct response *res)
{
	static const char *const names[] = { "owner_id", "expected_close_from",
					     "expected_close_to", "currency", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	const struct auth_context *caller = req->auth;
	if (!caller) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return;
	}
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct operations_pipeline_query query = {
		.expected_close_from = values[1],
		.expected_close_to = values[2],
		.currency = values[3],
	};
	if (values[0] &&
	    operations_user_param_or_reply(res, caller, "owner_id", values[0], &query.owner_id) != 0)
		return;
	for (int i = 1; i <= 2; i++) {
		time_t ignored;
		if (values[i] && !time_parse_date(values[i], &ignored)) {
			response_problemf(res, HTTP_BAD_REQUEST, "%s must be a date such as 2026-11-23",
					  names[i]);
			return;
		}
	}
	if (query.currency && !currency_code_valid(query.currency)) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "currency must be an ISO 4217 currency code such as EUR");
		return;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	query.read.scope = perm_scope_for(db, caller, "opportunities", PERM_READ);
	query.read.caller_id = caller->user_id;
	query.read.caller_team = caller->team;
	if (query.read.scope == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read opportunities");
		return;
	}
	json_t *rows;
	int status = operations_store_pipeline(db, &query, &rows);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		return;
	}
	response_json(res, HTTP_OK, pipeline_shape(rows, query.currency));
	json_decref(rows);
}

void pipeline_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/pipeline", handle_pipeline, 0);
}
