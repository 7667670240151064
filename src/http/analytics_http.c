/*
 * analytics_http.c - the analytics endpoints (API.md section 5):
 *
 *   GET  /api/v1/contacts/{id}/analytics   ?horizon_days=365&as_of=DATE
 *   GET  /api/v1/analytics/ltv             ?horizon_days=365&limit=100&as_of=DATE
 *   GET  /api/v1/analytics/tiers           ?as_of=DATE
 *   GET  /api/v1/analytics/summary         ?period=month|quarter|year&as_of=DATE
 *   GET  /api/v1/analytics/revenue         ?by=day|week|month|quarter|year&from=DATE&to=DATE
 *                                          &currency=EUR&as_of=DATE (analytics_revenue.h)
 *   POST /api/v1/analytics/refit           (analytics write scope "all": administrators)
 *
 * Handlers check the query and the caller's scope and shape problems; the figures come
 * from analytics_report.c. Reading needs the read scope of both "analytics" and
 * "contacts": a contact outside it is 404; rankings and counts cover only the contacts in
 * it (the narrower of the two scopes).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/analytics_revenue.h"
#include "crm/app.h"
#include "crm/auth.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/resource_http.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define LTV_LIMIT_DEFAULT 100
#define LTV_LIMIT_MAX 500

/* ================================================================ query parameters */

struct analytics_query {
	const char *allowed[4]; /* the parameter names this endpoint takes, NULL-terminated */
	int64_t as_of;          /* 0: now */
	int horizon_days;       /* 0: the configured horizon */
	int limit;
	const char *period;
	char error[200];
	bool seen[4];
};

/* A whole number from 1 to max written in plain digits; -1 otherwise. */
static int parse_count(const char *text, int max)
{
	if (!text || !*text || strlen(text) > 9)
		return -1;
	int value = 0;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		value = value * 10 + (*p - '0');
	}
	return value >= 1 && value <= max ? value : -1;
}

static int visit_query(void *context, const char *name, const char *value)
{
	struct analytics_query *q = context;
	int index = -1;
	for (int i = 0; q->allowed[i]; i++)
		if (strcmp(q->allowed[i], name) == 0)
			index = i;
	if (index < 0) {
		snprintf(q->error, sizeof(q->error), "unknown query parameter \"%.60s\"", name);
		return 1;
	}
	if (q->seen[index]) {
		snprintf(q->error, sizeof(q->error), "query parameter %s is repeated", name);
		return 1;
	}
	q->seen[index] = true;
	if (!value)
		value = "";
	if (strcmp(name, "as_of") == 0) {
		time_t when;
		if (!time_parse_rfc3339(value, true, &when) || when < 86400) {
			snprintf(q->error, sizeof(q->error),
				 "as_of must be a date (YYYY-MM-DD) or an RFC 3339 timestamp after "
				 "1970-01-01");
			return 1;
		}
		q->as_of = (int64_t)when;
	} else if (strcmp(name, "horizon_days") == 0) {
		q->horizon_days = parse_count(value, ANALYTICS_HORIZON_DAYS_MAX);
		if (q->horizon_days < 0) {
			snprintf(q->error, sizeof(q->error), "horizon_days must be a whole number of "
				 "days from 1 to %d", ANALYTICS_HORIZON_DAYS_MAX);
			return 1;
		}
	} else if (strcmp(name, "limit") == 0) {
		q->limit = parse_count(value, LTV_LIMIT_MAX);
		if (q->limit < 0) {
			snprintf(q->error, sizeof(q->error), "limit must be from 1 to %d", LTV_LIMIT_MAX);
			return 1;
		}
	} else if (strcmp(name, "period") == 0) {
		if (strcmp(value, "month") != 0 && strcmp(value, "quarter") != 0 &&
		    strcmp(value, "year") != 0) {
			snprintf(q->error, sizeof(q->error), "period must be month, quarter or year");
			return 1;
		}
		q->period = value;
	}
	return 0;
}

/* Parses the query string; answers 400 and returns -1 when it is not acceptable. */
static int query_parse_or_reply(struct request *req, struct response *res,
				struct analytics_query *q)
{
	q->limit = LTV_LIMIT_DEFAULT;
	q->period = "month";
	if (request_query_each(req, visit_query, q) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, q->error);
		return -1;
	}
	return 0;
}

/* ================================================================ callers and answers */

/* The caller, or NULL after answering 401. */
static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* The narrower of the caller's read scopes on analytics and on contacts. */
static enum perm_scope read_scope(struct db *db, const struct auth_context *caller)
{
	enum perm_scope analytics = perm_scope_for(db, caller, "analytics", PERM_READ);
	enum perm_scope contacts = perm_scope_for(db, caller, "contacts", PERM_READ);
	return analytics < contacts ? analytics : contacts;
}

/* Sends the answer of a report: 200 with `body` (steals), or a problem for `status`. */
static void reply_report(struct response *res, int status, json_t *body)
{
	if (status == DB_OK && body) {
		response_json(res, HTTP_OK, body);
		return;
	}
	json_decref(body);
	if (status == DB_OK || status == DB_ERROR)
		response_problem(res, HTTP_INTERNAL_ERROR, "the analytics could not be computed");
	else
		db_status_reply(res, status, NULL);
}

/*
 * The common start of the list endpoints: caller, database, query and scope. Returns the
 * database, or NULL after answering.
 */
static struct db *list_start_or_reply(struct request *req, struct response *res,
				      struct analytics_query *q, struct analytics_scope *scope)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return NULL;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return NULL;
	if (query_parse_or_reply(req, res, q) != 0)
		return NULL;
	enum perm_scope granted = read_scope(db, caller);
	if (granted == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read analytics");
		return NULL;
	}
	scope->scope = (int)granted;
	scope->user_id = caller->user_id;
	scope->team = caller->team;
	return db;
}

/* ================================================================ handlers */

static void handle_contact_analytics(struct request *req, struct response *res)
{
	struct analytics_query q = { .allowed = { "horizon_days", "as_of", NULL } };
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return;
	if (query_parse_or_reply(req, res, &q) != 0)
		return;
	json_t *record = NULL;
	if (resource_read_or_reply(&contacts_resource, req, res, req->path_params[0], &record) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db) {
		json_decref(record);
		return;
	}
	int64_t contact_id = json_integer_value(json_object_get(record, "id"));
	int64_t owner = resource_record_owner(&contacts_resource, record);
	json_decref(record);
	if (!perm_scope_covers(db, perm_scope_for(db, caller, "analytics", PERM_READ), caller,
			       owner)) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return;
	}
	struct analytics_settings settings;
	if (analytics_store_settings(db, &settings) != DB_OK) {
		reply_report(res, DB_ERROR, NULL);
		return;
	}
	json_t *body = NULL;
	int status = analytics_contact_json(db, contact_id, q.as_of,
					    q.horizon_days ? q.horizon_days : settings.horizon_days,
					    (int)read_scope(db, caller), &body);
	reply_report(res, status, body);
}

static void handle_ltv(struct request *req, struct response *res)
{
	struct analytics_query q = { .allowed = { "horizon_days", "limit", "as_of", NULL } };
	struct analytics_scope scope;
	struct db *db = list_start_or_reply(req, res, &q, &scope);
	if (!db)
		return;
	struct analytics_settings settings;
	if (analytics_store_settings(db, &settings) != DB_OK) {
		reply_report(res, DB_ERROR, NULL);
		return;
	}
	json_t *body = NULL;
	int status = analytics_ltv_json(db, &scope, q.as_of,
					q.horizon_days ? q.horizon_days : settings.horizon_days,
					q.limit, &body);
	reply_report(res, status, body);
}

static void handle_tiers(struct request *req, struct response *res)
{
	struct analytics_query q = { .allowed = { "as_of", NULL } };
	struct analytics_scope scope;
	struct db *db = list_start_or_reply(req, res, &q, &scope);
	if (!db)
		return;
	json_t *body = NULL;
	int status = analytics_tiers_json(db, &scope, q.as_of, &body);
	reply_report(res, status, body);
}

static void handle_summary(struct request *req, struct response *res)
{
	struct analytics_query q = { .allowed = { "as_of", "period", NULL } };
	struct analytics_scope scope;
	struct db *db = list_start_or_reply(req, res, &q, &scope);
	if (!db)
		return;
	json_t *body = NULL;
	int status = analytics_summary_json(db, &scope, q.as_of, q.period, &body);
	reply_report(res, status, body);
}

static void handle_refit(struct request *req, struct response *res)
{
	struct analytics_query q = { .allowed = { NULL } };
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (query_parse_or_reply(req, res, &q) != 0)
		return;
	if (perm_scope_for(db, caller, "analytics", PERM_WRITE) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN,
				 "refitting the models needs the analytics write scope \"all\"");
		return;
	}
	if (req->body_len > 0) { /* an optional empty object */
		json_t *body = request_json_object_or_reply(req, res);
		if (!body)
			return;
		if (json_object_size(body) > 0) {
			struct field_errors errors = { NULL };
			const char *key;
			json_t *value;
			json_object_foreach(body, key, value)
				field_errors_add(&errors, key, "unknown field");
			json_decref(body);
			field_errors_reply(&errors, res);
			return;
		}
		json_decref(body);
	}
	struct analytics_model model;
	int status = analytics_refit(db, &model);
	reply_report(res, status,
		     status == DB_OK ? json_pack("{s:o}", "model", analytics_model_to_json(&model))
				     : NULL);
}

/* ================================================================ revenue over time */

/* The parameters of GET analytics/revenue, in this order; values borrowed, NULL: absent. */
static const char *const revenue_param_names[] = { "by", "from", "to", "currency", "as_of", NULL };
enum { REVENUE_BY, REVENUE_FROM, REVENUE_TO, REVENUE_CURRENCY, REVENUE_AS_OF, REVENUE_PARAMS };

struct revenue_params {
	const char *values[REVENUE_PARAMS];
	char error[200];
};

static int visit_revenue_param(void *context, const char *name, const char *value)
{
	struct revenue_params *params = context;
	for (int i = 0; revenue_param_names[i]; i++) {
		if (strcmp(revenue_param_names[i], name) != 0)
			continue;
		if (params->values[i]) {
			snprintf(params->error, sizeof(params->error),
				 "query parameter %s is repeated", name);
			return 1;
		}
		params->values[i] = value ? value : "";
		return 0;
	}
	snprintf(params->error, sizeof(params->error), "unknown query parameter \"%.60s\"", name);
	return 1;
}

/* The day number of a date "YYYY-MM-DD" from 1970-01-01 to 9998-12-31, or -1. */
static int64_t revenue_day_of(const char *text)
{
	time_t when;
	if (!time_parse_date(text, &when) || when < 0)
		return -1;
	int64_t day = analytics_day_of((int64_t)when);
	return day <= ANALYTICS_REVENUE_LAST_DAY ? day : -1;
}

static bool currency_code_valid(const char *text)
{
	return strlen(text) == 3 && isupper((unsigned char)text[0]) &&
	       isupper((unsigned char)text[1]) && isupper((unsigned char)text[2]);
}

/*
 * The range of the request: to (default: as_of's day, else today; not after as_of) and
 * from (default: twelve calendar months up to to), at most ANALYTICS_REVENUE_BUCKETS_MAX
 * buckets. Bad values are added to `errors`, naming the parameter.
 */
static void revenue_range_check(const struct revenue_params *params,
				struct analytics_revenue_request *request,
				struct field_errors *errors)
{
	const char *from = params->values[REVENUE_FROM], *to = params->values[REVENUE_TO];
	static const char date_rule[] = "must be a date such as 2026-01-31, from 1970-01-01 to "
					"9998-12-31";
	request->to_day = to ? revenue_day_of(to) : request->as_of_day;
	if (request->to_day < 0)
		field_errors_add(errors, "to", "%s", date_rule);
	else if (to && params->values[REVENUE_AS_OF] && request->to_day > request->as_of_day)
		field_errors_add(errors, "to", "must not be after as_of");
	request->from_day = from ? revenue_day_of(from) : -1;
	if (from && request->from_day < 0)
		field_errors_add(errors, "from", "%s", date_rule);
	if (field_errors_any(errors))
		return;
	if (!from)
		request->from_day = analytics_revenue_default_from(request->by, request->to_day);
	if (request->from_day > request->to_day) {
		field_errors_add(errors, "from", "must not be after to");
		return;
	}
	int64_t buckets =
		analytics_revenue_bucket_count(request->by, request->from_day, request->to_day);
	if (buckets > ANALYTICS_REVENUE_BUCKETS_MAX) {
		char first[ANALYTICS_DATE_SIZE], last[ANALYTICS_DATE_SIZE];
		analytics_store_format_day(request->from_day, first);
		analytics_store_format_day(request->to_day, last);
		field_errors_add(errors, "from",
				 "%s to %s makes %lld buckets by %s, more than %d: choose a later "
				 "from or a longer period (by)",
				 first, last, (long long)buckets,
				 analytics_revenue_by_name(request->by), ANALYTICS_REVENUE_BUCKETS_MAX);
	}
}

/* Checks the parameters into *request (values borrowed); bad values go to `errors`. */
static void revenue_request_check(const struct revenue_params *params,
				  struct analytics_revenue_request *request,
				  struct field_errors *errors)
{
	memset(request, 0, sizeof(*request));
	request->by = ANALYTICS_REVENUE_BY_MONTH;
	const char *by = params->values[REVENUE_BY];
	bool by_valid = !by || analytics_revenue_by_parse(by, &request->by);
	if (!by_valid)
		field_errors_add(errors, "by", "must be day, week, month, quarter or year");
	const char *as_of = params->values[REVENUE_AS_OF];
	request->as_of_day = analytics_today();
	if (as_of) {
		time_t when;
		if (time_parse_rfc3339(as_of, true, &when) && when >= 86400)
			request->as_of_day = analytics_day_of((int64_t)when);
		else
			field_errors_add(errors, "as_of", "must be a date (YYYY-MM-DD) or an RFC 3339 "
				  "timestamp after 1970-01-01");
	}
	const char *currency = params->values[REVENUE_CURRENCY];
	if (currency && !currency_code_valid(currency))
		field_errors_add(errors, "currency", "must be an ISO 4217 code such as EUR");
	request->currency = currency;
	if (by_valid && !field_errors_any(errors))
		revenue_range_check(params, request, errors);
}

static void handle_revenue(struct request *req, struct response *res)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct revenue_params params = { .values = { NULL } };
	if (request_query_each(req, visit_revenue_param, &params) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, params.error);
		return;
	}
	struct analytics_revenue_request request;
	struct field_errors errors = { NULL };
	revenue_request_check(&params, &request, &errors);
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		return;
	}
	enum perm_scope granted = read_scope(db, caller);
	if (granted == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read analytics");
		return;
	}
	struct analytics_scope scope = { .scope = (int)granted, .user_id = caller->user_id,
					 .team = caller->team };
	json_t *body = NULL;
	int status = analytics_revenue_json(db, &scope, &request, &body);
	reply_report(res, status, body);
}

void analytics_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/contacts/{id}/analytics", handle_contact_analytics, 0);
	router_add(router, "GET", "/api/v1/analytics/ltv", handle_ltv, 0);
	router_add(router, "GET", "/api/v1/analytics/tiers", handle_tiers, 0);
	router_add(router, "GET", "/api/v1/analytics/summary", handle_summary, 0);
	router_add(router, "GET", "/api/v1/analytics/revenue", handle_revenue, 0);
	router_add(router, "POST", "/api/v1/analytics/refit", handle_refit,
		   ROUTE_COSTLY | ROUTE_BULK);
}
