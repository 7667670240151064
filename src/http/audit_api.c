/*
 * audit_api.c - GET /api/v1/audit (audit_api.h): checks the caller and the query
 * parameters, runs the data layer's query and pages with an opaque cursor.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/audit_api.h"

#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define AUDIT_CURSOR_SORT "audit"

/* Entity and action names: 1..AUDIT_NAME_MAX of [a-z0-9_-] (what the writers use). */
static bool name_valid(const char *text)
{
	size_t len = strlen(text);
	if (len == 0 || len > AUDIT_NAME_MAX)
		return false;
	for (const char *p = text; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/*
 * Parses an RFC 3339 time parameter into `out` as stored (UTC, seconds). Returns 0, or -1
 * after answering 400 naming `name`.
 */
static int time_param_or_reply(struct response *res, const char *name, const char *text,
			       char out[TIME_RFC3339_SIZE])
{
	time_t when;
	if (!time_parse_rfc3339(text, false, &when)) {
		response_problemf(res, HTTP_BAD_REQUEST,
				  "%s must be an RFC 3339 timestamp such as 2026-11-23T16:00:00Z", name);
		return -1;
	}
	time_format_rfc3339(when, out);
	return 0;
}

static void handle_audit_list(struct request *req, struct response *res)
{
	static const char *const names[] = { "entity", "entity_id", "user_id", "action", "since",
					     "until",  "limit",     "cursor",  NULL };
	enum { ENTITY, ENTITY_ID, USER_ID, ACTION, SINCE, UNTIL, LIMIT, CURSOR };
	const char *values[OPERATIONS_MAX_PARAMS];
	const struct auth_context *caller = req->auth;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (perm_scope_for(db, caller, "audit", PERM_READ) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN, "only administrators may read the audit log");
		return;
	}
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct audit_query query = { .limit = RESOURCE_LIST_LIMIT_DEFAULT };
	char since[TIME_RFC3339_SIZE], until[TIME_RFC3339_SIZE];
	if (operations_limit_or_reply(res, values[LIMIT], &query.limit) != 0)
		return;
	if (values[ENTITY]) {
		if (!name_valid(values[ENTITY])) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "entity must be a name such as contacts or users");
			return;
		}
		query.entity = values[ENTITY];
	}
	if (values[ACTION]) {
		if (!name_valid(values[ACTION])) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "action must be a name such as create, update or delete");
			return;
		}
		query.action = values[ACTION];
	}
	if (values[ENTITY_ID] && resource_parse_id(values[ENTITY_ID], &query.entity_id) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, "entity_id must be a record id");
		return;
	}
	if (values[USER_ID] && operations_user_param_or_reply(res, caller, "user_id",
							      values[USER_ID], &query.user_id) != 0)
		return;
	if (values[SINCE]) {
		if (time_param_or_reply(res, "since", values[SINCE], since) != 0)
			return;
		query.since = since;
	}
	if (values[UNTIL]) {
		if (time_param_or_reply(res, "until", values[UNTIL], until) != 0)
			return;
		query.until = until;
	}
	if (values[CURSOR]) {
		json_t *ignored = NULL;
		int status = cursor_decode(values[CURSOR], AUDIT_CURSOR_SORT, &ignored, &query.before_id);
		json_decref(ignored);
		if (status != 0 || query.before_id <= 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	json_t *rows = NULL;
	bool more;
	int status = audit_store_list(db, &query, &rows, &more);
	if (status != DB_OK) {
		operations_reply_db_status(res, status == DB_NOT_FOUND ? DB_ERROR : status);
		return;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		json_t *last = json_array_get(rows, count - 1);
		char *cursor = cursor_encode(AUDIT_CURSOR_SORT, NULL,
					     json_integer_value(json_object_get(last, "id")));
		next = json_string(cursor);
		free(cursor);
	}
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", rows, "next_cursor", next));
}

void audit_api_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/audit", handle_audit_list, 0);
}
