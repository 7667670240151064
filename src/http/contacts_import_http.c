/*
 * contacts_import_http.c - POST /api/v1/contacts/import: a CSV body (text/csv) imported by
 * contacts_import_csv() as the caller, with ?dry_run, ?dedupe and column mapping; row
 * errors answer 422 with every {line, field, message}.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/reply.h"
#include "crm/router.h"
#include "crm/banned.h"

/* ================================================================ POST /api/v1/contacts/import */

/* Whether the body is CSV: text/csv (parameters such as charset allowed). */
static bool is_csv_content_type(const char *type)
{
	if (!type)
		return false;
	while (*type == ' ')
		type++;
	size_t len = strlen("text/csv");
	return strncasecmp(type, "text/csv", len) == 0 &&
	       (type[len] == '\0' || type[len] == ';' || type[len] == ' ');
}

/*
 * Answers 422: a problem+json whose "errors" are the rows' {line, field, message}, with
 * "rows", "written": false, "dry_run" and "errors_truncated".
 */
static void reply_import_errors(struct response *res, const struct contacts_import_report *report)
{
	size_t count = json_array_size(report->errors);
	json_t *first = json_array_get(report->errors, 0);
	struct buf detail = BUF_INIT;
	buf_addf(&detail, "line %lld: %s: %s",
		 (long long)json_integer_value(json_object_get(first, "line")),
		 json_string_value(json_object_get(first, "field")),
		 json_string_value(json_object_get(first, "message")));
	if (report->errors_truncated)
		buf_adds(&detail, " (and more)");
	else if (count > 1)
		buf_addf(&detail, " (and %zu more)", count - 1);
	buf_adds(&detail, "; nothing was imported");
	json_t *detail_text = json_string(detail.data);
	buf_release(&detail);
	json_t *problem = json_pack(
		"{s:s, s:s, s:i, s:o, s:O, s:I, s:b, s:b, s:b}", "type", "about:blank", "title",
		http_status_title(HTTP_UNPROCESSABLE), "status", HTTP_UNPROCESSABLE, "detail",
		detail_text ? detail_text : json_string("some rows are not valid"), "errors",
		report->errors, "rows", (json_int_t)report->rows, "written", false, "dry_run",
		report->dry_run, "errors_truncated", report->errors_truncated);
	size_t len;
	char *text = json_to_text(problem, &len);
	json_decref(problem);
	response_set_body(res, HTTP_UNPROCESSABLE, "application/problem+json", text, len);
}

/*
 * The import's query: dedupe and dry_run at most once each, map and ignore any number of
 * times (into `mapping`); the first problem goes into `error`.
 */
struct import_query {
	const char *dedupe, *dry_run;
	struct contacts_import_mapping *mapping;
	struct buf *error;
};

static int read_import_param(void *context, const char *name, const char *value)
{
	struct import_query *query = context;
	if (!name || !name[0]) /* "?a=1&&b=2": nothing asked */
		return 0;
	bool is_map = strcmp(name, "map") == 0, is_ignore = strcmp(name, "ignore") == 0;
	if (is_map || is_ignore)
		return contacts_import_mapping_add(query->mapping, value ? value : "", ':',
						   is_ignore, query->error) != 0;
	const char **slot = strcmp(name, "dedupe") == 0    ? &query->dedupe
			    : strcmp(name, "dry_run") == 0 ? &query->dry_run
							   : NULL;
	if (!slot) {
		buf_addf(query->error, "unknown query parameter '%.64s'", name);
		return 1;
	}
	if (*slot) {
		buf_addf(query->error, "query parameter '%.64s' is given twice", name);
		return 1;
	}
	*slot = value ? value : "";
	return 0;
}

static void handle_import(struct request *req, struct response *res)
{
	struct contacts_import_mapping mapping;
	contacts_import_mapping_init(&mapping);
	struct buf error = BUF_INIT;
	struct import_query query = { NULL, NULL, &mapping, &error };
	struct contacts_import_options options = { .caller = req->auth, .mapping = &mapping };
	struct contacts_import_report report;
	contacts_import_report_init(&report);
	if (request_query_each(req, read_import_param, &query) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, error.data);
		goto cleanup;
	}
	if (query.dedupe && strcmp(query.dedupe, "email") == 0) {
		options.dedupe = CONTACTS_IMPORT_DEDUPE_EMAIL;
	} else if (query.dedupe && strcmp(query.dedupe, "none") != 0) {
		response_problem(res, HTTP_BAD_REQUEST, "dedupe must be email or none");
		goto cleanup;
	}
	if (query.dry_run && strcmp(query.dry_run, "true") == 0) {
		options.dry_run = true;
	} else if (query.dry_run && strcmp(query.dry_run, "false") != 0) {
		response_problem(res, HTTP_BAD_REQUEST, "dry_run must be true or false");
		goto cleanup;
	}
	if (!is_csv_content_type(request_header(req, "Content-Type"))) {
		response_problem(res, HTTP_UNSUPPORTED_MEDIA_TYPE,
				 "the body must be CSV with Content-Type: text/csv");
		goto cleanup;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	if (perm_scope_for(db, req->auth, "contacts", PERM_WRITE) == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not create contacts");
		goto cleanup;
	}
	int status = contacts_import_csv(db, req->body, req->body_len, &options, &report);
	if (status != DB_OK) {
		operations_reply_db_status(res, status == DB_NOT_FOUND ? DB_ERROR : status);
	} else if (json_array_size(report.errors)) {
		reply_import_errors(res, &report);
	} else {
		response_json(res, HTTP_OK, contacts_import_report_to_json(&report));
	}
cleanup:
	contacts_import_report_release(&report);
	contacts_import_mapping_release(&mapping);
	buf_release(&error);
}

void contacts_import_routes_register(struct router *router)
{
	router_add(router, "POST", "/api/v1/contacts/import", handle_import,
		   ROUTE_COSTLY | ROUTE_BULK);
}

