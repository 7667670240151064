/*
 * resource_http.c - the HTTP face of the generic resources (resource_http.h): create with
 * Idempotency-Key, read (ETag, If-None-Match), merge patch, replace, delete and
 * external-id upserts, and the route table of a descriptor. Lists are resource_list.c.
 *
 * Each handler parses the request, opens the write transaction, runs the write pipeline
 * (resource_save.h) and answers: outcomes through outcome_reply(), the one mapping.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource_http.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/reply.h"
#include "crm/resource_save.h"
#include "crm/resource_store.h"
#include "crm/router.h"
#include "http/resource_http_int.h"
#include "crm/banned.h"

#define API_PREFIX "/api/v1/"

static void set_etag_version(struct response *res, int64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	response_set_header(res, "ETag", etag);
}

static void set_etag(struct response *res, const json_t *record)
{
	set_etag_version(res, json_integer_value(json_object_get(record, "version")));
}

static int64_t record_id(const json_t *record)
{
	return json_integer_value(json_object_get(record, "id"));
}

/*
 * The record as answered (new reference, only serialised by the caller): the record itself
 * when the resource has neither WRITE_ONLY fields nor a shape hook, else
 * resource_record_public(). Copying every row was a fifth of the instructions of a list
 * page (callgrind, issue 6).
 */
json_t *resource_http_shaped(const struct resource *resource, struct db *db, const json_t *record)
{
	if (resource_answered_as_stored(resource))
		return json_incref((json_t *)record);
	return resource_record_public(db, resource, record);
}

/*
 * Sends one record with its ETag (and Location for 201). `record` is borrowed. WRITE_ONLY
 * fields are answered only with 201, the create that may have generated them.
 */
static void send_record(struct response *res, int status, const struct resource *resource,
			struct db *db, const json_t *record)
{
	set_etag(res, record);
	if (status == HTTP_CREATED) {
		char location[256];
		snprintf(location, sizeof(location), API_PREFIX "%s/%lld", resource->name,
			 (long long)record_id(record));
		response_set_header(res, "Location", location);
		json_t *copy = json_deep_copy(record);
		if (resource->shape)
			resource->shape(db, copy);
		response_json(res, status, copy);
		return;
	}
	response_json(res, status, resource_http_shaped(resource, db, record));
}

/* The If-Match rule on an existing record: 0 go on, -1 answered 400/412. */
static int check_if_match_or_reply(struct request *req, struct response *res,
				   const struct resource *resource, const json_t *record)
{
	const char *header = request_header(req, "If-Match");
	if (!header)
		return 0;
	int64_t version = json_integer_value(json_object_get(record, "version"));
	int match = resource_if_match(header, version);
	if (match < 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "If-Match must be an entity tag such as \"3\" or *");
		return -1;
	}
	if (match == 0) {
		set_etag(res, record);
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the %s is at version %lld, not the one in If-Match",
				  resource->singular, (long long)version);
		return -1;
	}
	return 0;
}

/*
 * Parses a PATCH body: application/json or application/merge-patch+json, a JSON object.
 * Returns a new reference, or NULL after answering 415/400/422.
 */
static json_t *patch_body_or_reply(struct request *req, struct response *res)
{
	/* both media types are JSON objects, with the same limits (reply.h) */
	return request_json_object_or_reply(req, res);
}

/* The resource named by the path's segment after /api/v1/, or NULL. */
static const struct resource *resource_of_path(const char *path)
{
	size_t prefix = strlen(API_PREFIX);
	if (strncmp(path, API_PREFIX, prefix) != 0)
		return NULL;
	const char *name = path + prefix;
	size_t len = strcspn(name, "/");
	for (int i = 0; i < resource_count(); i++) {
		const struct resource *resource = resource_at(i);
		if (strlen(resource->name) == len && strncmp(resource->name, name, len) == 0)
			return resource;
	}
	return NULL;
}

/*
 * Sets up a handler: the caller, the resource (from the path), the connection and the
 * write actor. Returns 0, or -1 after answering.
 */
int resource_http_context_or_reply(struct request *req, struct response *res,
				   struct resource_http_context *w)
{
	w->res = res;
	w->resource = resource_of_path(req->path);
	if (!w->resource) {
		response_problem(res, HTTP_NOT_FOUND, "no such resource");
		return -1;
	}
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return -1;
	}
	w->caller = req->auth;
	w->db = app_db_or_reply(res);
	if (!w->db)
		return -1;
	w->actor = write_actor_api(w->db, w->caller);
	return 0;
}

/* Opens the write transaction; answers 503 when the database stays busy. */
static int begin_write_or_reply(const struct resource_http_context *w)
{
	int status = db_begin_write(w->db);
	if (status != DB_OK) {
		db_status_reply(w->res, status, w->resource->singular);
		return -1;
	}
	return 0;
}

/* Commits; on failure answers (replacing whatever was prepared) and returns -1. */
static int commit_or_reply(const struct resource_http_context *w)
{
	int status = db_commit(w->db);
	if (status != DB_OK) {
		db_status_reply(w->res, status, w->resource->singular);
		return -1;
	}
	return 0;
}

/* Answers a failed pipeline step and rolls the transaction back. */
static void fail_and_rollback(const struct resource_http_context *w, struct outcome *outcome)
{
	db_rollback(w->db);
	outcome_reply(w->res, outcome);
}

/* ---------------------------------------------------------------- POST (create) */

static bool idempotency_key_valid(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len > RESOURCE_IDEMPOTENCY_KEY_MAX)
		return false;
	for (const char *p = key; *p; p++)
		if (*p < 0x21 || *p > 0x7E)
			return false;
	return true;
}

/* Hex BLAKE2b-256 of the request body. */
static void body_hash(const struct request *req, char out[65])
{
	unsigned char hash[32];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)req->body, req->body_len,
			   NULL, 0);
	sodium_bin2hex(out, 65, hash, sizeof(hash));
}

/* Sends a stored answer again. Consumes the answer's strings. */
static void replay_answer(struct response *res, struct resource_idempotent_answer *answer)
{
	json_t *body = json_loads(answer->body, 0, NULL);
	if (json_is_object(body) && json_is_integer(json_object_get(body, "version")))
		set_etag(res, body);
	json_decref(body);
	if (answer->location)
		response_set_header(res, "Location", answer->location);
	response_set_header(res, "Idempotent-Replayed", "true");
	size_t len = strlen(answer->body);
	response_set_body(res, answer->status, "application/json", answer->body, len);
	answer->body = NULL;
}

static void handle_create(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	const struct resource *resource = w.resource;
	if (perm_scope_for(w.db, w.caller, resource->name, PERM_WRITE) == PERM_SCOPE_NONE) {
		response_problemf(res, HTTP_FORBIDDEN, "you may not create %s", resource->name);
		return;
	}
	const char *key = request_header(req, "Idempotency-Key");
	if (key && !idempotency_key_valid(key)) {
		response_problemf(res, HTTP_BAD_REQUEST,
				  "Idempotency-Key must be 1 to %d visible ASCII characters",
				  RESOURCE_IDEMPOTENCY_KEY_MAX);
		return;
	}
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(resource, body, &errors);
	resource_fill_create_defaults(&w.actor, resource, record);
	json_t *stored = NULL;
	struct resource_idempotent_answer answer = { 0 };
	char hash[65];
	body_hash(req, hash);
	int64_t now = (int64_t)time(NULL);
	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	if (key) {
		int status = resource_store_idempotency_find(
			w.db, w.caller->user_id, key, now - RESOURCE_IDEMPOTENCY_SECONDS, &answer);
		if (status == DB_OK) {
			db_rollback(w.db);
			if (strcmp(answer.method, req->method) != 0 ||
			    strcmp(answer.path, req->path) != 0 ||
			    strcmp(answer.request_hash, hash) != 0)
				response_problem(res, HTTP_UNPROCESSABLE,
						 "this Idempotency-Key was used for another request");
			else
				replay_answer(res, &answer);
			goto cleanup;
		}
		if (status != DB_NOT_FOUND) {
			db_rollback(w.db);
			db_status_reply(res, status, resource->singular);
			goto cleanup;
		}
	}
	bool changed;
	struct outcome outcome = OUTCOME_INIT;
	if (resource_save(&w.actor, resource, RESOURCE_CREATE, body, NULL, record, &errors, &stored,
			  &changed, &outcome) != 0) {
		fail_and_rollback(&w, &outcome);
		goto cleanup;
	}
	send_record(res, HTTP_CREATED, resource, w.db, stored);
	if (key) {
		struct resource_idempotent_answer save = {
			.method = (char *)req->method,
			.path = (char *)req->path,
			.request_hash = hash,
			.body = res->body,
			.location = NULL,
			.status = HTTP_CREATED,
		};
		for (int i = 0; i < res->header_count; i++)
			if (strcmp(res->header_names[i], "Location") == 0)
				save.location = res->header_values[i];
		int status = resource_store_idempotency_save(w.db, w.caller->user_id, key, &save,
							     now, now - RESOURCE_IDEMPOTENCY_SECONDS);
		if (status != DB_OK) {
			db_rollback(w.db);
			db_status_reply(res, status, resource->singular);
			goto cleanup;
		}
	}
	commit_or_reply(&w);
cleanup:
	field_errors_release(&errors);
	resource_idempotent_answer_release(&answer);
	json_decref(stored);
	json_decref(record);
	json_decref(body);
}


/* ---------------------------------------------------------------- GET one */

/* Loads a record the caller may read; answers 404/503 otherwise. */
static int load_readable_or_reply(const struct resource_http_context *w, const char *id_text,
				  json_t **record)
{
	*record = NULL;
	int64_t id;
	if (resource_parse_id(id_text, &id) != 0) {
		response_problemf(w->res, HTTP_NOT_FOUND, "no such %s", w->resource->singular);
		return -1;
	}
	int status = resource_store_get(w->db, w->resource, id, record);
	if (status == DB_OK &&
	    !resource_actor_may(&w->actor, w->resource, PERM_READ,
			resource_record_owner_lookup(w->db, w->resource, *record)))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		json_decref(*record);
		*record = NULL;
		db_status_reply(w->res, status, w->resource->singular);
		return -1;
	}
	return 0;
}

int resource_read_or_reply(const struct resource *resource, struct request *req,
			   struct response *res, const char *id_text, json_t **record)
{
	*record = NULL;
	struct resource_http_context w = { .resource = resource, .res = res };
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return -1;
	}
	w.caller = req->auth;
	w.db = app_db_or_reply(res);
	if (!w.db)
		return -1;
	w.actor = write_actor_api(w.db, w.caller);
	return load_readable_or_reply(&w, id_text, record);
}

/* Sends a record read with GET, or 304 when If-None-Match names its version. */
static void send_read(struct request *req, const struct resource_http_context *w, const json_t *record)
{
	const char *none_match = request_header(req, "If-None-Match");
	if (none_match &&
	    resource_if_match(none_match, json_integer_value(json_object_get(record, "version"))) == 1) {
		set_etag(w->res, record);
		response_set_static_body(w->res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		return;
	}
	send_record(w->res, HTTP_OK, w->resource, w->db, record);
}

/*
 * handle_get() for records answered as stored (no shape hook, no WRITE_ONLY fields): the
 * record's JSON text is written straight from the row, as for list pages; the checks and
 * the answer are those of load_readable_or_reply() and send_read().
 */
static void send_read_text(struct request *req, const struct resource_http_context *w)
{
	int64_t id;
	if (resource_parse_id(req->path_params[0], &id) != 0) {
		response_problemf(w->res, HTTP_NOT_FOUND, "no such %s", w->resource->singular);
		return;
	}
	struct resource_record_text record;
	resource_record_text_init(&record);
	int status = resource_store_get_text(w->db, w->resource, id, &record);
	if (status == DB_OK &&
	    !resource_actor_may(&w->actor, w->resource, PERM_READ,
			resource_owner_through_reference(w->db, w->resource, record.owner)))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		db_status_reply(w->res, status, w->resource->singular);
		goto cleanup;
	}
	set_etag_version(w->res, record.version);
	const char *none_match = request_header(req, "If-None-Match");
	if (none_match && resource_if_match(none_match, record.version) == 1) {
		response_set_static_body(w->res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		goto cleanup;
	}
	size_t len;
	char *text = buf_detach(&record.text, &len);
	response_set_body(w->res, HTTP_OK, "application/json", text, len);
cleanup:
	resource_record_text_release(&record);
}

static void handle_get(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	if (resource_answered_as_stored(w.resource)) {
		send_read_text(req, &w);
		return;
	}
	json_t *record;
	if (load_readable_or_reply(&w, req->path_params[0], &record) != 0)
		return;
	send_read(req, &w, record);
	json_decref(record);
}

/* The external_id from the path, checked like the field. Answers 404 when it cannot be one. */
static json_t *external_id_or_reply(const struct resource_http_context *w, const char *text)
{
	const struct resource_field *field = resource_field_find(w->resource, "external_id");
	if (!field) {
		response_problem(w->res, HTTP_NOT_FOUND, "this resource has no external ids");
		return NULL;
	}
	json_t *raw = json_string(text);
	struct field_errors errors = { NULL };
	json_t *value = raw ? resource_field_normalize(field, raw, "external_id", &errors) : NULL;
	json_decref(raw);
	if (value && json_is_string(value) && strcmp(json_string_value(value), text) == 0 &&
	    !field_errors_any(&errors)) {
		field_errors_release(&errors);
		return value;
	}
	json_decref(value);
	field_errors_release(&errors);
	response_problemf(w->res, HTTP_NOT_FOUND, "no %s can have this external_id",
			  w->resource->singular);
	return NULL;
}

static void handle_get_external(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	json_t *external_id = external_id_or_reply(&w, req->path_params[0]);
	if (!external_id)
		return;
	json_t *record = NULL;
	int status = resource_store_get_by_external_id(w.db, w.resource,
						       json_string_value(external_id), &record);
	if (status == DB_OK && !resource_actor_may(&w.actor, w.resource, PERM_READ,
					   resource_record_owner_lookup(w.db, w.resource, record)))
		status = DB_NOT_FOUND;
	if (status == DB_OK)
		send_read(req, &w, record);
	else
		db_status_reply(res, status, w.resource->singular);
	json_decref(record);
	json_decref(external_id);
}


/* ---------------------------------------------------------------- PATCH, PUT, DELETE */

/*
 * The common start of a change to an existing record, inside the open transaction: load
 * (404), If-Match (412), and the `action` permission on the current owner (403).
 */
static int load_for_change_or_reply(struct request *req, const struct resource_http_context *w,
				    json_t *record, enum perm_action action)
{
	if (check_if_match_or_reply(req, w->res, w->resource, record) != 0)
		return -1;
	if (!resource_actor_may(&w->actor, w->resource, action,
			resource_record_owner_lookup(w->db, w->resource, record))) {
		response_problemf(w->res, HTTP_FORBIDDEN, "you may not %s this %s",
				  action == PERM_DELETE ? "delete" : "change", w->resource->singular);
		return -1;
	}
	return 0;
}

static void handle_change(struct request *req, struct response *res, bool patch)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	json_t *body = patch ? patch_body_or_reply(req, res) : request_json_object_or_reply(req, res);
	if (!body)
		return;
	json_t *before = NULL, *record = NULL, *stored = NULL;
	struct field_errors errors = { NULL };
	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	if (load_readable_or_reply(&w, req->path_params[0], &before) != 0 ||
	    load_for_change_or_reply(req, &w, before, PERM_WRITE) != 0)
		goto rollback;
	if (patch) {
		record = resource_record_merge(w.resource, before, body, &errors);
	} else {
		record = resource_record_from_body(w.resource, body, &errors);
		resource_keep_on_replace(w.resource, record, before);
	}
	bool changed;
	struct outcome outcome = OUTCOME_INIT;
	if (resource_save(&w.actor, w.resource, patch ? RESOURCE_UPDATE : RESOURCE_REPLACE, body,
			  before, record, &errors, &stored, &changed, &outcome) != 0) {
		fail_and_rollback(&w, &outcome);
		goto cleanup;
	}
	if (commit_or_reply(&w) == 0)
		send_record(res, HTTP_OK, w.resource, w.db, stored);
	goto cleanup;
rollback:
	db_rollback(w.db);
cleanup:
	field_errors_release(&errors);
	json_decref(stored);
	json_decref(record);
	json_decref(before);
	json_decref(body);
}

static void handle_patch(struct request *req, struct response *res)
{
	handle_change(req, res, true);
}

static void handle_replace(struct request *req, struct response *res)
{
	handle_change(req, res, false);
}

static void handle_delete(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	json_t *before = NULL;
	if (begin_write_or_reply(&w) != 0)
		return;
	if (load_readable_or_reply(&w, req->path_params[0], &before) != 0 ||
	    load_for_change_or_reply(req, &w, before, PERM_DELETE) != 0)
		goto rollback;
	struct outcome outcome = OUTCOME_INIT;
	if (resource_remove(&w.actor, w.resource, before, &outcome) != 0) {
		fail_and_rollback(&w, &outcome);
		json_decref(before);
		return;
	}
	if (commit_or_reply(&w) == 0)
		response_set_static_body(res, HTTP_NO_CONTENT, "application/json", "", 0);
	json_decref(before);
	return;
rollback:
	db_rollback(w.db);
	json_decref(before);
}

/* PUT /external/{external_id}: create (201) or replace (200), idempotently. */
static void handle_put_external(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
		return;
	const struct resource *resource = w.resource;
	json_t *external_id = external_id_or_reply(&w, req->path_params[0]);
	if (!external_id)
		return;
	json_t *body = request_json_object_or_reply(req, res);
	json_t *before = NULL, *record = NULL, *stored = NULL;
	struct field_errors errors = { NULL };
	if (!body)
		goto cleanup;
	record = resource_record_from_body(resource, body, &errors);
	const json_t *given = json_object_get(record, "external_id");
	if (json_object_get(body, "external_id") && !json_equal(given, external_id) &&
	    !json_is_null(json_object_get(body, "external_id")))
		field_errors_add(&errors, "external_id", "must be the one in the path");
	json_object_set(record, "external_id", external_id);

	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	int status = resource_store_get_by_external_id(w.db, resource,
						       json_string_value(external_id), &before);
	if (status == DB_OK && !resource_actor_may(&w.actor, resource, PERM_READ,
					   resource_record_owner_lookup(w.db, resource, before)))
		status = DB_NOT_FOUND; /* as if absent; it cannot be created either */
	if (status == DB_NOT_FOUND && before) {
		db_status_reply(res, status, resource->singular);
		goto rollback;
	}
	if (status != DB_OK && status != DB_NOT_FOUND) {
		db_status_reply(res, status, resource->singular);
		goto rollback;
	}
	bool changed;
	struct outcome outcome = OUTCOME_INIT;
	if (before) {
		if (load_for_change_or_reply(req, &w, before, PERM_WRITE) != 0)
			goto rollback;
		resource_keep_on_replace(w.resource, record, before);
		if (resource_save(&w.actor, resource, RESOURCE_REPLACE, body, before, record, &errors,
				  &stored, &changed, &outcome) != 0) {
			fail_and_rollback(&w, &outcome);
			goto cleanup;
		}
	} else {
		if (request_header(req, "If-Match")) {
			response_problemf(res, HTTP_PRECONDITION_FAILED,
					  "there is no %s with this external_id yet",
					  resource->singular);
			goto rollback;
		}
		if (perm_scope_for(w.db, w.caller, resource->name, PERM_WRITE) == PERM_SCOPE_NONE) {
			response_problemf(res, HTTP_FORBIDDEN, "you may not create %s", resource->name);
			goto rollback;
		}
		resource_fill_create_defaults(&w.actor, resource, record);
		if (resource_save(&w.actor, resource, RESOURCE_CREATE, body, NULL, record, &errors,
				  &stored, &changed, &outcome) != 0) {
			fail_and_rollback(&w, &outcome);
			goto cleanup;
		}
	}
	if (commit_or_reply(&w) == 0)
		send_record(res, before ? HTTP_OK : HTTP_CREATED, resource, w.db, stored);
	goto cleanup;
rollback:
	db_rollback(w.db);
cleanup:
	field_errors_release(&errors);
	json_decref(stored);
	json_decref(record);
	json_decref(before);
	json_decref(body);
	json_decref(external_id);
}


/* ================================================================ registration */

void resource_routes_register(struct router *router, const struct resource *resource)
{
	resource_register(resource);
	/* The router keeps pointers to the patterns: they live in static storage. */
	static char patterns[RESOURCE_MAX_RESOURCES][3][128];
	int slot = -1;
	for (int i = 0; i < resource_count(); i++)
		if (resource_at(i) == resource)
			slot = i;
	assert(slot >= 0 && strlen(resource->name) < 64);
	char *list = patterns[slot][0], *one = patterns[slot][1], *external = patterns[slot][2];
	snprintf(list, sizeof(patterns[slot][0]), API_PREFIX "%s", resource->name);
	snprintf(one, sizeof(patterns[slot][1]), API_PREFIX "%s/{id}", resource->name);
	snprintf(external, sizeof(patterns[slot][2]), API_PREFIX "%s/external/{external_id}",
		 resource->name);
	/* The reads share one read transaction with the authentication (db.h). */
	router_add(router, "GET", list, resource_http_handle_list, ROUTE_READ_SNAPSHOT);
	router_add(router, "POST", list, handle_create, ROUTE_WRITE_BATCH);
	router_add(router, "GET", one, handle_get, ROUTE_READ_SNAPSHOT);
	router_add(router, "PATCH", one, handle_patch, ROUTE_WRITE_BATCH);
	router_add(router, "PUT", one, handle_replace, ROUTE_WRITE_BATCH);
	router_add(router, "DELETE", one, handle_delete, ROUTE_WRITE_BATCH);
	if (resource_field_find(resource, "external_id")) {
		router_add(router, "GET", external, handle_get_external, ROUTE_READ_SNAPSHOT);
		router_add(router, "PUT", external, handle_put_external, ROUTE_WRITE_BATCH);
	}
}

