/*
 * webhooks_http.c - the routes of webhooks: the endpoints as a generic resource
 * (src/core/webhooks.c has the descriptor and its rules), the list of event names, and the
 * delivery log with redelivery.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/registry.h"
#include "crm/reply.h"
#include "crm/resource_http.h"
#include "crm/router.h"
#include "crm/webhook_delivery.h"
#include "crm/banned.h"

/* ================================================================ routes */

static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* GET /api/v1/webhooks/events: the event names. */
static void handle_events(struct request *req, struct response *res)
{
	static const char *const names[] = { NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (perm_scope_for(db, caller, "webhooks", PERM_READ) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read webhooks");
		return;
	}
	response_json(res, HTTP_OK, json_pack("{s:o}", "data", registry_events_json()));
}

#define DELIVERIES_CURSOR_SORT "deliveries"

static const char *const delivery_statuses[] = { "pending", "sending", "delivered", "failed",
						 NULL };

/* GET /api/v1/webhooks/{id}/deliveries: the delivery log, newest first, paged. */
static void handle_deliveries(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", "status", "event", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	int limit;
	int64_t before_id = 0;
	if (operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &limit) != 0)
		return;
	if (values[1]) {
		json_t *ignored = NULL;
		int decoded = cursor_decode(values[1], DELIVERIES_CURSOR_SORT, &ignored, &before_id);
		json_decref(ignored);
		if (decoded != 0 || before_id <= 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	if (values[2]) {
		bool known = false;
		for (int i = 0; delivery_statuses[i]; i++)
			known = known || strcmp(delivery_statuses[i], values[2]) == 0;
		if (!known) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "status must be pending, sending, delivered or failed");
			return;
		}
	}
	if (values[3] && !webhooks_event_known(values[3])) {
		response_problem(res, HTTP_BAD_REQUEST, "event must be an event name");
		return;
	}
	json_t *webhook = NULL, *rows = NULL;
	if (resource_read_or_reply(&webhooks_resource, req, res, req->path_params[0], &webhook) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	bool more;
	int status = webhooks_store_deliveries(db, json_integer_value(json_object_get(webhook, "id")),
					       values[2], values[3], before_id, limit, &rows, &more);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		char *cursor = cursor_encode(
			DELIVERIES_CURSOR_SORT, NULL,
			json_integer_value(json_object_get(json_array_get(rows, count - 1), "id")));
		next = json_string(cursor);
		free(cursor);
	}
	response_json(res, HTTP_OK, json_pack("{s:O, s:o}", "data", rows, "next_cursor", next));
cleanup:
	json_decref(rows);
	json_decref(webhook);
}

/*
 * Loads the webhook of the path (readable, else answered) and parses the delivery id.
 * Returns 0 with *webhook (new reference) and *delivery_id, or -1 after answering.
 */
static int delivery_path_or_reply(struct request *req, struct response *res, json_t **webhook,
				  int64_t *delivery_id)
{
	if (resource_read_or_reply(&webhooks_resource, req, res, req->path_params[0], webhook) != 0)
		return -1;
	if (resource_parse_id(req->path_params[1], delivery_id) != 0) {
		json_decref(*webhook);
		*webhook = NULL;
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
		return -1;
	}
	return 0;
}

/* Answers delivery `delivery_id` of `webhook_id` as stored now. */
static void send_delivery(struct db *db, struct response *res, int64_t webhook_id,
			  int64_t delivery_id)
{
	json_t *delivery = NULL;
	int status = webhooks_store_delivery_get(db, webhook_id, delivery_id, &delivery);
	if (status == DB_NOT_FOUND)
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
	else if (status != DB_OK)
		operations_reply_db_status(res, status);
	else
		response_json(res, HTTP_OK, delivery);
}

/* GET /api/v1/webhooks/{id}/deliveries/{delivery_id}: one delivery, its payload, attempts. */
static void handle_delivery(struct request *req, struct response *res)
{
	static const char *const names[] = { NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	json_t *webhook;
	int64_t delivery_id;
	if (delivery_path_or_reply(req, res, &webhook, &delivery_id) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (db)
		send_delivery(db, res, json_integer_value(json_object_get(webhook, "id")),
			      delivery_id);
	json_decref(webhook);
}

/* Accepts an empty body or {}; anything else answers. Returns 0 or -1. */
static int empty_body_or_reply(struct request *req, struct response *res)
{
	if (req->body_len == 0)
		return 0;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return -1;
	int result = 0;
	if (json_object_size(body) > 0) {
		struct field_errors errors = { NULL };
		const char *key;
		json_t *value;
		json_object_foreach(body, key, value)
			field_errors_add(&errors, key, "unknown field");
		field_errors_reply(&errors, res);
		result = -1;
	}
	json_decref(body);
	return result;
}

/* POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver: send it again now. */
static void handle_redeliver(struct request *req, struct response *res)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || empty_body_or_reply(req, res) != 0)
		return;
	json_t *webhook;
	int64_t delivery_id;
	if (delivery_path_or_reply(req, res, &webhook, &delivery_id) != 0)
		return;
	int64_t webhook_id = json_integer_value(json_object_get(webhook, "id"));
	json_decref(webhook);
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (perm_scope_for(db, caller, "webhooks", PERM_WRITE) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN, "you may not change webhooks");
		return;
	}
	int status = db_begin_write(db);
	if (status == DB_OK)
		status = webhooks_store_redeliver(db, webhook_id, delivery_id, (int64_t)time(NULL));
	if (status == DB_OK) {
		json_t *after = json_pack("{s:I}", "delivery_id", (json_int_t)delivery_id);
		status = audit_record(db, caller->user_id, AUDIT_ACTOR_API, "webhooks", webhook_id,
				      "redeliver", NULL, after);
		json_decref(after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status == DB_NOT_FOUND) {
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
		return;
	}
	if (status == DB_CONFLICT) {
		response_problem(res, HTTP_CONFLICT,
				 "an attempt to send this delivery is in progress; try again later");
		return;
	}
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		return;
	}
	webhook_delivery_notify();
	send_delivery(db, res, webhook_id, delivery_id);
}

void webhooks_routes_register(struct router *router)
{
	resource_routes_register(router, &webhooks_resource);
	webhooks_install_event_hook();
	router_add(router, "GET", "/api/v1/webhooks/events", handle_events, 0);
	router_add(router, "GET", "/api/v1/webhooks/{id}/deliveries", handle_deliveries, 0);
	router_add(router, "GET", "/api/v1/webhooks/{id}/deliveries/{delivery_id}", handle_delivery,
		   0);
	router_add(router, "POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
		   handle_redeliver, 0);
}
