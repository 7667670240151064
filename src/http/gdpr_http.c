/*
 * gdpr_http.c - GET /api/v1/contacts/{id}/export and POST /api/v1/contacts/{id}/erase: the
 * caller's rights on the contact, then gdpr_contact_export() / gdpr_contact_erase()
 * (src/core/gdpr.c) in one transaction.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/gdpr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/reply.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/router.h"
#include "crm/banned.h"

/* ================================================================ HTTP */

/*
 * The common start of both routes: the contact must be readable (404) and the caller's
 * delete scope must cover its owner (403). Returns 0 and sets *contact_id, or -1 after
 * answering. Runs inside the caller's transaction when there is one.
 */
static int check_contact_or_reply(struct request *req, struct response *res, struct db *db,
				  int64_t *contact_id, int64_t *version)
{
	const struct auth_context *caller = req->auth;
	json_t *contact = NULL;
	int status = DB_NOT_FOUND;
	if (resource_parse_id(req->path_params[0], contact_id) == 0)
		status = resource_store_get(db, &contacts_resource, *contact_id, &contact);
	int64_t owner = status == DB_OK ? resource_record_owner(&contacts_resource, contact) : 0;
	if (status == DB_OK &&
	    !perm_scope_covers(db, perm_scope_for(db, caller, "contacts", PERM_READ), caller, owner))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		json_decref(contact);
		if (status == DB_NOT_FOUND)
			response_problem(res, HTTP_NOT_FOUND, "no such contact");
		else
			operations_reply_db_status(res, status);
		return -1;
	}
	*version = json_integer_value(json_object_get(contact, "version"));
	json_decref(contact);
	if (!perm_scope_covers(db, perm_scope_for(db, caller, "contacts", PERM_DELETE), caller,
			       owner)) {
		response_problem(res, HTTP_FORBIDDEN,
				 "exporting or erasing a person's data needs the right to delete "
				 "the contact");
		return -1;
	}
	return 0;
}

static void handle_export(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int64_t contact_id, version;
	if (check_contact_or_reply(req, res, db, &contact_id, &version) != 0)
		return;
	json_t *document = NULL;
	int status = gdpr_contact_export(db, contact_id, &document);
	if (status == DB_NOT_FOUND) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return;
	}
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		return;
	}
	char disposition[96];
	snprintf(disposition, sizeof(disposition),
		 "attachment; filename=\"contact-%lld-export.json\"", (long long)contact_id);
	response_set_header(res, "Content-Disposition", disposition);
	response_set_header(res, "Cache-Control", "no-store");
	response_json(res, HTTP_OK, document);
}

/* POST erase takes no body, or an empty JSON object. Returns 0, or -1 after answering. */
static int empty_body_or_reply(struct request *req, struct response *res)
{
	bool blank = true;
	for (size_t i = 0; i < req->body_len; i++)
		if (!strchr(" \t\r\n", req->body[i]))
			blank = false;
	if (blank)
		return 0;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return -1;
	size_t size = json_object_size(body);
	json_decref(body);
	if (size) {
		response_problem(res, HTTP_UNPROCESSABLE, "erase takes no fields: send no body or {}");
		return -1;
	}
	return 0;
}

static void handle_erase(struct request *req, struct response *res)
{
	if (empty_body_or_reply(req, res) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int status = db_begin_write(db);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		return;
	}
	int64_t contact_id, version;
	if (check_contact_or_reply(req, res, db, &contact_id, &version) != 0)
		goto rollback;
	const char *if_match = request_header(req, "If-Match");
	if (if_match) {
		int match = resource_if_match(if_match, version);
		if (match < 0) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "If-Match must be an entity tag such as \"3\" or *");
			goto rollback;
		}
		if (match == 0) {
			response_problemf(res, HTTP_PRECONDITION_FAILED,
					  "the contact is at version %lld, not the one in If-Match",
					  (long long)version);
			goto rollback;
		}
	}
	struct gdpr_erase_counts counts;
	status = gdpr_contact_erase(db, contact_id, version, req->auth->user_id, AUDIT_ACTOR_API,
				    &counts);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		operations_reply_db_status(res, status == DB_STALE || status == DB_NOT_FOUND ? DB_ERROR
											     : status);
		return;
	}
	response_set_static_body(res, HTTP_NO_CONTENT, "application/json", "", 0);
	return;
rollback:
	db_rollback(db);
}

void gdpr_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/contacts/{id}/export", handle_export, 0);
	router_add(router, "POST", "/api/v1/contacts/{id}/erase", handle_erase, 0);
}
