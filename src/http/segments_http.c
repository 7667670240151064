/*
 * segments_http.c - the routes of segments: the segments as a generic resource (the
 * descriptor and its rules are src/core/segments.c), preview, members (list, add, remove)
 * and the CSV export, each with the caller's read scope on contacts.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/contacts.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/outcome.h"
#include "crm/reply.h"
#include "crm/resource_http.h"
#include "crm/resource_save.h"
#include "crm/resource_store.h"
#include "crm/router.h"
#include "crm/banned.h"


static bool json_value_absent(const json_t *value)
{
	return !value || json_is_null(value);
}

/* ================================================================ HTTP helpers */

static void reply_db_status(struct response *res, int status)
{
	if (status == SEGMENTS_RULE_INVALID)
		response_problem(res, HTTP_UNPROCESSABLE,
				 "the segment's rule is not valid any more; change it with PATCH");
	else
		operations_reply_db_status(res, status);
}

/*
 * The caller's view of the contacts: their read scope on contacts. Answers 403 and
 * returns -1 when it is none.
 */
static int viewer_or_reply(struct db *db, const struct auth_context *caller,
			   struct response *res, struct segments_viewer *viewer)
{
	viewer->scope = perm_scope_for(db, caller, "contacts", PERM_READ);
	viewer->user_id = caller->user_id;
	viewer->team = caller->team;
	viewer->company_scope = perm_scope_for(db, caller, "companies", PERM_READ);
	if (viewer->scope == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read contacts");
		return -1;
	}
	return 0;
}

/* Answers 422 naming the costliest part of a rule the budget cannot afford (the cost model). */
static int affordable_or_reply(struct db *db, const struct segment_rule_sql *rule,
			       struct response *res)
{
	struct outcome outcome = OUTCOME_INIT;
	if (segments_rule_affordable(db, rule, &outcome) == 0)
		return 0;
	outcome_reply(res, &outcome);
	return -1;
}

/* Refuses body members other than `allowed`: adds an error for each. */
static void check_body_members(const json_t *body, const char *allowed,
			       struct field_errors *errors)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)body, key, value)
		if (strcmp(key, allowed) != 0)
			field_errors_add(errors, key, "unknown field");
}

/* POST /api/v1/segments/preview {"rule":..} -> {"count":n,"sample":[..]} */
static void handle_preview(struct request *req, struct response *res)
{
	const struct auth_context *caller = req->auth;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct field_errors errors = { NULL };
	struct segment_rule_sql rule;
	segment_rule_sql_init(&rule);
	json_t *sample = NULL;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		goto cleanup;
	if (perm_scope_for(db, caller, "segments", PERM_READ) == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read segments");
		goto cleanup;
	}
	struct segments_member_query query = { .limit = SEGMENTS_PREVIEW_SAMPLE };
	if (viewer_or_reply(db, caller, res, &query.viewer) != 0)
		goto cleanup;
	check_body_members(body, "rule", &errors);
	const json_t *given = json_object_get(body, "rule");
	if (json_value_absent(given))
		field_errors_add(&errors, "rule", "is required");
	else
		segment_rule_compile(given, "rule", time(NULL), &rule, &errors);
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		goto cleanup;
	}
	query.rule = &rule;
	if (affordable_or_reply(db, &rule, res) != 0)
		goto cleanup;
	sample = json_array();
	bool more;
	int64_t count;
	int status = segments_read_members(db, &query, sample, &more, &count);
	if (status != DB_OK) {
		reply_db_status(res, status);
		goto cleanup;
	}
	response_json(res, HTTP_OK,
		      json_pack("{s:I, s:O}", "count", (json_int_t)count, "sample", sample));
cleanup:
	json_decref(sample);
	json_decref(body);
	segment_rule_sql_release(&rule);
	field_errors_release(&errors);
}

/* GET /api/v1/segments/{id}/members?limit=&cursor= */
static void handle_members_list(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", NULL };
	const char *values[3];
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct segments_member_query query = { .after_id = 0 };
	if (operations_limit_or_reply(res, values[0], &query.limit) != 0)
		return;
	if (values[1]) {
		json_t *sort_value = NULL;
		int decoded = cursor_decode(values[1], "id", &sort_value, &query.after_id);
		json_decref(sort_value);
		if (decoded != 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed or was made for "
								"another list");
			return;
		}
	}
	json_t *segment;
	if (resource_read_or_reply(&segments_resource, req, res, req->path_params[0], &segment) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	struct segment_rule_sql rule;
	segment_rule_sql_init(&rule);
	json_t *data = json_array();
	if (!db || viewer_or_reply(db, req->auth, res, &query.viewer) != 0)
		goto cleanup;
	query.segment_id = json_integer_value(json_object_get(segment, "id"));
	if (segments_is_dynamic(segment)) {
		if (segments_compile_stored_rule(segment, &rule) != 0) {
			reply_db_status(res, SEGMENTS_RULE_INVALID);
			goto cleanup;
		}
		query.rule = &rule;
		if (affordable_or_reply(db, &rule, res) != 0)
			goto cleanup;
	}
	bool more = false;
	int status = segments_read_members(db, &query, data, &more, NULL);
	if (status != DB_OK) {
		reply_db_status(res, status);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(data);
	if (more && count) {
		int64_t last = json_integer_value(json_object_get(json_array_get(data, count - 1), "id"));
		char *cursor = cursor_encode("id", NULL, last);
		next = json_string(cursor);
		free(cursor);
	}
	response_json(res, HTTP_OK, json_pack("{s:O, s:o}", "data", data, "next_cursor", next));
cleanup:
	json_decref(data);
	segment_rule_sql_release(&rule);
	json_decref(segment);
}

/* GET /api/v1/segments/{id}/export: the members the caller may read, as CSV. */
static void handle_export(struct request *req, struct response *res)
{
	json_t *segment;
	if (resource_read_or_reply(&segments_resource, req, res, req->path_params[0], &segment) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	struct buf csv = BUF_INIT;
	struct segments_viewer viewer;
	if (!db || viewer_or_reply(db, req->auth, res, &viewer) != 0)
		goto cleanup;
	if (segments_is_dynamic(segment)) {
		struct segment_rule_sql rule;
		segment_rule_sql_init(&rule);
		int compiled = segments_compile_stored_rule(segment, &rule);
		int affordable = compiled == 0 ? affordable_or_reply(db, &rule, res) : 0;
		segment_rule_sql_release(&rule);
		if (affordable != 0)
			goto cleanup;
	}
	int status = segments_export_csv(db, segment, &viewer, &csv);
	if (status != DB_OK) {
		reply_db_status(res, status);
		goto cleanup;
	}
	char disposition[96];
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"segment-%lld.csv\"",
		 (long long)json_integer_value(json_object_get(segment, "id")));
	response_set_header(res, "Content-Disposition", disposition);
	size_t len;
	char *text = buf_detach(&csv, &len);
	response_set_body(res, HTTP_OK, "text/csv; charset=utf-8", text, len);
cleanup:
	buf_release(&csv);
	json_decref(segment);
}

/*
 * Reads {"contact_ids":[..]} into a new array of distinct ids (*ids, the caller frees),
 * adding errors for a malformed body. Returns the number of ids (0 after errors).
 */
static size_t contact_ids_from_body(const json_t *body, int64_t **ids,
				    struct field_errors *errors)
{
	*ids = NULL;
	check_body_members(body, "contact_ids", errors);
	const json_t *list = json_object_get(body, "contact_ids");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > SEGMENTS_MEMBERS_MAX) {
		field_errors_add(errors, "contact_ids", "must be an array of 1 to %d contact ids",
				 SEGMENTS_MEMBERS_MAX);
		return 0;
	}
	*ids = xmalloc(sizeof(**ids) * json_array_size(list));
	size_t count = 0;
	size_t index;
	const json_t *item;
	json_array_foreach(list, index, item) {
		if (!json_is_integer(item) || json_integer_value(item) <= 0) {
			char field[48];
			snprintf(field, sizeof(field), "contact_ids[%zu]", index);
			field_errors_add(errors, field, "must be the id of a contact (an integer)");
			continue;
		}
		int64_t id = json_integer_value(item);
		bool seen = false;
		for (size_t i = 0; i < count && !seen; i++)
			seen = (*ids)[i] == id;
		if (!seen)
			(*ids)[count++] = id;
	}
	return field_errors_any(errors) ? 0 : count;
}

/*
 * Checks that every id names a contact the caller may read. Adds an error per bad one
 * ("contact_ids[i]", by its place in `body`) and lists them in `bad`. Returns 0, or a
 * negative db_status.
 */
static int check_contacts_usable(struct db *db, const struct auth_context *caller,
				 const json_t *body, struct field_errors *errors, struct buf *bad)
{
	const json_t *list = json_object_get(body, "contact_ids");
	size_t index;
	const json_t *item;
	json_array_foreach(list, index, item) {
		int64_t id = json_integer_value(item);
		int usable = resource_reference_usable(db, caller, "contacts", id);
		if (usable < 0)
			return usable;
		if (usable)
			continue;
		char field[48];
		snprintf(field, sizeof(field), "contact_ids[%zu]", index);
		field_errors_add(errors, field, "no such contact: %lld", (long long)id);
		buf_addf(bad, "%s%lld", bad->len ? ", " : "", (long long)id);
	}
	return 0;
}

/* Whether the caller's `action` scope on segments covers `segment`. */
static bool caller_may(struct db *db, const struct auth_context *caller,
		       enum perm_action action, const json_t *segment)
{
	enum perm_scope scope = perm_scope_for(db, caller, "segments", action);
	return perm_scope_covers(db, scope, caller,
				 resource_record_owner(&segments_resource, segment));
}

/*
 * The If-Match rule on the segment: 0 go on, -1 answered 400 or 412.
 */
static int check_if_match_or_reply(struct request *req, struct response *res,
				   const json_t *segment)
{
	const char *header = request_header(req, "If-Match");
	if (!header)
		return 0;
	int64_t version = json_integer_value(json_object_get(segment, "version"));
	int match = resource_if_match(header, version);
	if (match < 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "If-Match must be an entity tag such as \"3\" or *");
		return -1;
	}
	if (match == 0) {
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the segment is at version %lld, not the one in If-Match",
				  (long long)version);
		return -1;
	}
	return 0;
}

/*
 * POST (add) and DELETE (remove) /api/v1/segments/{id}/members {"contact_ids":[..]}:
 * one write transaction with the version bump of the segment and the audit entry.
 */
static void change_members(struct request *req, struct response *res, bool add)
{
	const struct auth_context *caller = req->auth;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int64_t segment_id;
	if (resource_parse_id(req->path_params[0], &segment_id) != 0) {
		response_problem(res, HTTP_NOT_FOUND, "no such segment");
		return;
	}
	struct field_errors errors = { NULL };
	struct buf bad = BUF_INIT;
	int64_t *ids = NULL;
	json_t *segment = NULL, *stored = NULL;
	bool in_transaction = false;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		goto cleanup;
	size_t count = contact_ids_from_body(body, &ids, &errors);

	int status = db_begin_write(db);
	if (status != DB_OK) {
		reply_db_status(res, status);
		goto cleanup;
	}
	in_transaction = true;
	status = resource_store_get(db, &segments_resource, segment_id, &segment);
	if (status == DB_OK && !caller_may(db, caller, PERM_READ, segment))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		if (status == DB_NOT_FOUND)
			response_problem(res, HTTP_NOT_FOUND, "no such segment");
		else
			reply_db_status(res, status);
		goto cleanup;
	}
	if (check_if_match_or_reply(req, res, segment) != 0)
		goto cleanup;
	if (!caller_may(db, caller, PERM_WRITE, segment)) {
		response_problem(res, HTTP_FORBIDDEN, "you may not change this segment");
		goto cleanup;
	}
	if (segments_is_dynamic(segment)) {
		response_problem(res, HTTP_CONFLICT,
				 "a dynamic segment's members follow its rule; only static "
				 "segments have members to add or remove");
		goto cleanup;
	}
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		goto cleanup;
	}
	status = check_contacts_usable(db, caller, body, &errors, &bad);
	if (status != DB_OK) {
		reply_db_status(res, status);
		goto cleanup;
	}
	if (field_errors_any(&errors)) {
		struct buf detail = BUF_INIT;
		buf_addf(&detail, "no such contacts: %s", bad.data);
		response_problem_errors(res, HTTP_UNPROCESSABLE, detail.data, json_incref(errors.list));
		buf_release(&detail);
		goto cleanup;
	}
	int64_t changed = 0;
	status = segments_change_members(db, caller->user_id, segment, ids, count,
					 json_object_get(body, "contact_ids"), add, &changed, &stored);
	if (status == DB_OK)
		status = db_commit(db);
	in_transaction = false;
	if (status != DB_OK) {
		db_rollback(db);
		reply_db_status(res, status);
		goto cleanup;
	}
	const json_t *now = stored ? stored : segment;
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"",
		 (long long)json_integer_value(json_object_get(now, "version")));
	response_set_header(res, "ETag", etag);
	response_json(res, HTTP_OK, json_pack("{s:I}", add ? "added" : "removed", (json_int_t)changed));
cleanup:
	if (in_transaction)
		db_rollback(db);
	json_decref(stored);
	json_decref(segment);
	json_decref(body);
	free(ids);
	buf_release(&bad);
	field_errors_release(&errors);
}

static void handle_members_add(struct request *req, struct response *res)
{
	change_members(req, res, true);
}

static void handle_members_remove(struct request *req, struct response *res)
{
	change_members(req, res, false);
}

/* ================================================================ registration */

void segments_routes_register(struct router *router)
{
	resource_routes_register(router, &segments_resource);
	router_add(router, "POST", "/api/v1/segments/preview", handle_preview, ROUTE_COSTLY);
	router_add(router, "GET", "/api/v1/segments/{id}/members", handle_members_list,
		   ROUTE_COSTLY);
	router_add(router, "POST", "/api/v1/segments/{id}/members", handle_members_add, 0);
	router_add(router, "DELETE", "/api/v1/segments/{id}/members", handle_members_remove, 0);
	router_add(router, "GET", "/api/v1/segments/{id}/export", handle_export,
		   ROUTE_COSTLY | ROUTE_BULK);
}
