/*
 * contacts_merge_http.c - GET /api/v1/contacts/duplicates (the likely-duplicates report,
 * paged by group) and POST /api/v1/contacts/{id}/merge (the caller's rights on every
 * contact, then contacts_merge_apply() in one transaction). The rules are
 * src/core/contacts_merge.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/contacts.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/reply.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/router.h"
#include "crm/banned.h"

static const char *const reason_names[] = {
	[CONTACTS_DUPLICATE_EMAIL] = "email",
	[CONTACTS_DUPLICATE_PHONE] = "phone",
	[CONTACTS_DUPLICATE_NAME] = "name",
};

#define DUPLICATES_CURSOR_SORT "duplicates"

static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* A group as answered (new reference); the records are loaded now. */
static int group_to_json(struct db *db, const struct contacts_duplicate_group *group, json_t **out)
{
	*out = NULL;
	json_t *contacts = json_array();
	size_t shown = group->count < CONTACTS_DUPLICATES_GROUP_MAX ? group->count
								      : CONTACTS_DUPLICATES_GROUP_MAX;
	for (size_t i = 0; i < shown; i++) {
		json_t *record = NULL;
		int status = resource_store_get(db, &contacts_resource, group->ids[i], &record);
		if (status != DB_OK) {
			json_decref(contacts);
			return status;
		}
		json_array_append_new(contacts, resource_record_public(db, &contacts_resource, record));
		json_decref(record);
	}
	*out = json_pack("{s:s, s:s, s:I, s:o}", "reason", reason_names[group->reason], "key",
			 group->key, "count", (json_int_t)group->count, "contacts", contacts);
	if (group->reason == CONTACTS_DUPLICATE_NAME)
		json_object_set_new(*out, "company_id", json_integer(group->company_id));
	return DB_OK;
}

static void handle_duplicates(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", "reason", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	int limit;
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &limit) != 0)
		return;
	int only = -1;
	if (values[2]) {
		for (int i = 0; i < 3; i++)
			if (strcmp(values[2], reason_names[i]) == 0)
				only = i;
		if (only < 0) {
			response_problem(res, HTTP_BAD_REQUEST, "reason must be email, phone or name");
			return;
		}
	}
	int64_t after_reason = -1, after_id = 0;
	if (values[1]) {
		json_t *value = NULL;
		int decoded = cursor_decode(values[1], DUPLICATES_CURSOR_SORT, &value, &after_id);
		after_reason = json_is_integer(value) ? json_integer_value(value) : -1;
		json_decref(value);
		if (decoded != 0 || after_reason < 0 || after_reason > 2 || after_id <= 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct operations_scope scope = { perm_scope_for(db, caller, "contacts", PERM_READ),
					  caller->user_id, caller->team };
	if (scope.scope == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read contacts");
		return;
	}
	struct contacts_duplicate_groups groups = { NULL, 0, 0 };
	json_t *data = json_array();
	int status = db_begin_read(db);
	for (int reason = 0; reason < 3 && status == DB_OK; reason++)
		if ((only < 0 || only == reason) && reason >= after_reason)
			status = contacts_duplicates_collect(db, (enum contacts_duplicate_reason)reason, &scope,
						&groups);
	if (status == DB_OK)
		contacts_duplicates_sort(&groups);
	json_t *next = json_null();
	int taken = 0;
	for (size_t i = 0; i < groups.count && status == DB_OK; i++) {
		const struct contacts_duplicate_group *group = &groups.items[i];
		if ((int64_t)group->reason < after_reason ||
		    ((int64_t)group->reason == after_reason && group->min_id <= after_id))
			continue;
		if (taken == limit) {
			const struct contacts_duplicate_group *last = &groups.items[i - 1];
			json_t *value = json_integer(last->reason);
			char *cursor = cursor_encode(DUPLICATES_CURSOR_SORT, value, last->min_id);
			next = json_string(cursor);
			free(cursor);
			json_decref(value);
			break;
		}
		json_t *item;
		status = group_to_json(db, group, &item);
		if (status == DB_OK) {
			json_array_append_new(data, item);
			taken++;
		}
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	contacts_duplicate_groups_release(&groups);
	if (status != DB_OK) {
		json_decref(data);
		json_decref(next);
		operations_reply_db_status(res, status);
		return;
	}
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
}

/* Whether the caller's `action` scope on contacts covers `record`. */
static bool caller_may(struct db *db, const struct auth_context *caller, enum perm_action action,
		       const json_t *record)
{
	enum perm_scope scope = perm_scope_for(db, caller, "contacts", action);
	return perm_scope_covers(db, scope, caller,
				 resource_record_owner(&contacts_resource, record));
}

static void reply_status(struct response *res, int status)
{
	db_status_reply(res, status, NULL);
}

/*
 * Parses {"from":[ids]} into `ids` (room for CONTACTS_MERGE_MAX). Adds errors; repeated
 * ids are errors too. Returns the count.
 */
static size_t parse_from(const json_t *body, int64_t *ids, struct field_errors *errors)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)body, key, value)
		if (strcmp(key, "from") != 0)
			field_errors_add(errors, key, "unknown field");
	const json_t *from = json_object_get(body, "from");
	if (!json_is_array(from) || json_array_size(from) < 1 ||
	    json_array_size(from) > CONTACTS_MERGE_MAX) {
		field_errors_add(errors, "from", "must be an array of 1 to %d contact ids",
				 CONTACTS_MERGE_MAX);
		return 0;
	}
	size_t count = 0, index;
	const json_t *item;
	json_array_foreach(from, index, item) {
		char name[32];
		snprintf(name, sizeof(name), "from[%zu]", index);
		if (!json_is_integer(item) || json_integer_value(item) <= 0) {
			field_errors_add(errors, name, "must be a contact id");
			continue;
		}
		int64_t id = json_integer_value(item);
		bool repeated = false;
		for (size_t k = 0; k < count; k++)
			repeated = repeated || ids[k] == id;
		if (repeated)
			field_errors_add(errors, name, "is given twice");
		else
			ids[count++] = id;
	}
	return count;
}

/*
 * Loads and checks the merged contacts inside the transaction: 422 for the unusable ones,
 * then 403 for those the caller may not delete. Returns 0, or -1 after answering.
 */
static int load_others_or_reply(struct db *db, const struct auth_context *caller,
				struct response *res, struct contacts_merge *m, int64_t kept_id,
				const int64_t *ids, size_t count, struct field_errors *errors)
{
	for (size_t i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "from[%zu]", i);
		if (ids[i] == kept_id) {
			field_errors_add(errors, name, "is the kept contact: a contact cannot be "
						       "merged into itself");
			continue;
		}
		json_t *record = NULL;
		int status = resource_store_get(db, &contacts_resource, ids[i], &record);
		if (status == DB_OK && !caller_may(db, caller, PERM_READ, record))
			status = DB_NOT_FOUND;
		bool erased = false;
		if (status == DB_OK)
			status = contacts_merge_store_erased(db, ids[i], &erased);
		if (status == DB_NOT_FOUND) {
			field_errors_add(errors, name, "no such contact");
		} else if (status != DB_OK) {
			json_decref(record);
			reply_status(res, status);
			return -1;
		} else if (erased) {
			field_errors_add(errors, name, "is erased; erased contacts cannot be merged");
		}
		if (status != DB_OK || erased) {
			json_decref(record);
			continue;
		}
		m->ids[m->count] = ids[i];
		m->others[m->count++] = record;
	}
	if (field_errors_any(errors)) {
		field_errors_reply(errors, res);
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		if (!caller_may(db, caller, PERM_DELETE, m->others[i])) {
			response_problemf(res, HTTP_FORBIDDEN, "you may not delete contact %lld",
					  (long long)m->ids[i]);
			return -1;
		}
	}
	return 0;
}

/* Loads the kept contact with the rules of a change to it. Returns 0 or -1 (answered). */
static int load_kept_or_reply(struct db *db, struct request *req, struct response *res,
			      struct contacts_merge *m, int64_t kept_id)
{
	int status = resource_store_get(db, &contacts_resource, kept_id, &m->kept);
	if (status == DB_OK && !caller_may(db, req->auth, PERM_READ, m->kept))
		status = DB_NOT_FOUND;
	if (status == DB_NOT_FOUND) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return -1;
	}
	if (status != DB_OK) {
		reply_status(res, status);
		return -1;
	}
	int64_t version = json_integer_value(json_object_get(m->kept, "version"));
	const char *if_match = request_header(req, "If-Match");
	int match = if_match ? resource_if_match(if_match, version) : 1;
	if (match < 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "If-Match must be an entity tag such as \"3\" or *");
		return -1;
	}
	if (match == 0) {
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the contact is at version %lld, not the one in If-Match",
				  (long long)version);
		return -1;
	}
	if (!caller_may(db, req->auth, PERM_WRITE, m->kept)) {
		response_problem(res, HTTP_FORBIDDEN, "you may not change this contact");
		return -1;
	}
	bool erased = false;
	status = contacts_merge_store_erased(db, kept_id, &erased);
	if (status != DB_OK) {
		reply_status(res, status);
		return -1;
	}
	if (erased) {
		response_problem(res, HTTP_UNPROCESSABLE,
				 "the contact is erased; erased contacts cannot take others in");
		return -1;
	}
	return 0;
}

/* POST /api/v1/contacts/{id}/merge {"from":[ids]} */
static void handle_merge(struct request *req, struct response *res)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int64_t kept_id;
	if (resource_parse_id(req->path_params[0], &kept_id) != 0) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return;
	}
	struct contacts_merge m;
	memset(&m, 0, sizeof(m));
	struct field_errors errors = { NULL };
	m.body = request_json_object_or_reply(req, res);
	if (!m.body)
		return;
	int64_t ids[CONTACTS_MERGE_MAX];
	size_t count = parse_from(m.body, ids, &errors);
	int status = db_begin_write(db);
	if (status != DB_OK) {
		reply_status(res, status);
		goto cleanup;
	}
	/* The kept contact first: a caller who may not change it learns nothing more (404/403). */
	if (load_kept_or_reply(db, req, res, &m, kept_id) != 0) {
		db_rollback(db);
		goto cleanup;
	}
	if (field_errors_any(&errors)) {
		db_rollback(db);
		field_errors_reply(&errors, res);
		goto cleanup;
	}
	if (load_others_or_reply(db, caller, res, &m, kept_id, ids, count, &errors) != 0) {
		db_rollback(db);
		goto cleanup;
	}
	status = contacts_merge_apply(db, caller->user_id, &m, kept_id);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		reply_status(res, status);
		goto cleanup;
	}
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"",
		 (long long)json_integer_value(json_object_get(m.stored, "version")));
	response_set_header(res, "ETag", etag);
	response_json(res, HTTP_OK, resource_record_public(db, &contacts_resource, m.stored));
cleanup:
	field_errors_release(&errors);
	contacts_merge_release(&m);
}

void contacts_merge_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/contacts/duplicates", handle_duplicates, 0);
	router_add(router, "POST", "/api/v1/contacts/{id}/merge", handle_merge, 0);
}
