/*
 * reply.c - the HTTP layer's answers: JSON bodies, problem details (RFC 9457), JSON request
 * bodies, and the one place where a core outcome or a store status becomes an answer
 * (outcome_reply(), db_status_reply()).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/reply.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/outcome.h"
#include "crm/banned.h"

const char *http_status_title(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void response_json(struct response *res, int status, json_t *value)
{
	size_t len;
	char *text = json_to_text(value, &len);
	json_decref(value);
	response_set_body(res, status, "application/json", text, len);
}

void response_problem_errors(struct response *res, int status, const char *detail,
			     json_t *errors)
{
	json_t *problem = json_pack("{s:s, s:s, s:i, s:o}", "type", "about:blank", "title",
				    http_status_title(status), "status", status, "detail",
				    json_string_lossy(detail ? detail : http_status_title(status)));
	if (errors)
		json_object_set_new(problem, "errors", errors);
	size_t len;
	char *text = json_to_text(problem, &len);
	json_decref(problem);
	response_set_body(res, status, "application/problem+json", text, len);
}

void response_problem(struct response *res, int status, const char *detail)
{
	response_problem_errors(res, status, detail, NULL);
}

void response_problemf(struct response *res, int status, const char *format, ...)
{
	struct buf detail = BUF_INIT;
	va_list args;
	va_start(args, format);
	buf_vaddf(&detail, format, args);
	va_end(args);
	response_problem(res, status, detail.data);
	buf_release(&detail);
}

/* Whether `content_type` is the media type `type` (parameters such as charset allowed). */
static bool content_type_is(const char *content_type, const char *type)
{
	while (*content_type == ' ')
		content_type++;
	size_t len = strlen(type);
	if (strncasecmp(content_type, type, len) != 0)
		return false;
	char next = content_type[len];
	return next == '\0' || next == ';' || next == ' ';
}

/* JSON bodies: application/json, and application/merge-patch+json (RFC 7396) for PATCH. */
static bool is_json_content_type(const char *content_type)
{
	return content_type && (content_type_is(content_type, "application/json") ||
				content_type_is(content_type, "application/merge-patch+json"));
}

/*
 * The deepest nesting of arrays and objects in JSON text (brackets inside strings do not
 * count), stopping early once past `limit`. Runs before parsing, so a hostile body never
 * builds a deep tree.
 */
static int json_text_depth(const char *text, size_t len, int limit)
{
	int depth = 0, deepest = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > deepest && (deepest = depth) > limit)
				break;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return deepest;
}

json_t *request_json_object_or_reply(struct request *req, struct response *res)
{
	if (!is_json_content_type(request_header(req, "Content-Type"))) {
		response_problem(res, HTTP_UNSUPPORTED_MEDIA_TYPE,
				 "the body must be JSON with Content-Type: application/json");
		return NULL;
	}
	if (json_text_depth(req->body, req->body_len, JSON_MAX_DEPTH) > JSON_MAX_DEPTH) {
		response_problemf(res, HTTP_UNPROCESSABLE,
				  "the JSON body is nested more than %d levels deep", JSON_MAX_DEPTH);
		return NULL;
	}
	json_error_t error;
	json_t *value = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &error);
	if (!value) {
		response_problemf(res, HTTP_BAD_REQUEST, "malformed JSON at line %d, column %d: %s",
				  error.line, error.column, error.text);
		return NULL;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		response_problem(res, HTTP_UNPROCESSABLE, "the body must be a JSON object");
		return NULL;
	}
	return value;
}

void field_errors_reply(struct field_errors *errors, struct response *res)
{
	json_t *first = json_array_get(errors->list, 0);
	struct buf detail = BUF_INIT;
	buf_addf(&detail, "%s: %s", json_string_value(json_object_get(first, "field")),
		 json_string_value(json_object_get(first, "message")));
	if (json_array_size(errors->list) > 1)
		buf_addf(&detail, " (and %zu more)", json_array_size(errors->list) - 1);
	response_problem_errors(res, HTTP_UNPROCESSABLE, detail.data, errors->list);
	errors->list = NULL;
	buf_release(&detail);
}

/* The HTTP status of each outcome: the one mapping (API.md section 4). */
static int outcome_http_status(enum outcome_status status)
{
	switch (status) {
	case OUTCOME_OK: return HTTP_OK;
	case OUTCOME_BAD_REQUEST: return HTTP_BAD_REQUEST;
	case OUTCOME_INVALID: return HTTP_UNPROCESSABLE;
	case OUTCOME_FORBIDDEN: return HTTP_FORBIDDEN;
	case OUTCOME_NOT_FOUND: return HTTP_NOT_FOUND;
	case OUTCOME_CONFLICT: return HTTP_CONFLICT;
	case OUTCOME_STALE: return HTTP_PRECONDITION_FAILED;
	case OUTCOME_BUSY: return HTTP_SERVICE_UNAVAILABLE;
	case OUTCOME_UNAVAILABLE: return HTTP_SERVICE_UNAVAILABLE;
	case OUTCOME_TOO_COSTLY: return HTTP_SERVICE_UNAVAILABLE;
	case OUTCOME_TOO_MANY: return HTTP_TOO_MANY_REQUESTS;
	case OUTCOME_ERROR: return HTTP_INTERNAL_ERROR;
	}
	return HTTP_INTERNAL_ERROR;
}

void outcome_reply(struct response *res, struct outcome *outcome)
{
	int status = outcome_http_status(outcome->status);
	if (outcome->status == OUTCOME_BUSY)
		response_set_header(res, "Retry-After", "1");
	else if (outcome->status == OUTCOME_UNAVAILABLE || outcome->status == OUTCOME_TOO_COSTLY)
		response_set_header(res, "Retry-After", "5");
	else if (outcome->status == OUTCOME_TOO_MANY) {
		char seconds[16];
		snprintf(seconds, sizeof(seconds), "%d",
			 outcome->retry_after > 0 ? outcome->retry_after : 1);
		response_set_header(res, "Retry-After", seconds);
	}
	else if (outcome->status == OUTCOME_STALE && outcome->version > 0) {
		char etag[32];
		snprintf(etag, sizeof(etag), "\"%lld\"", (long long)outcome->version);
		response_set_header(res, "ETag", etag);
	}
	struct buf detail = BUF_INIT;
	outcome_detail_text(outcome, &detail);
	json_t *errors = outcome->errors.list;
	outcome->errors.list = NULL;
	response_problem_errors(res, status, detail.len ? detail.data : NULL, errors);
	buf_release(&detail);
	outcome_release(outcome);
}

void db_status_reply(struct response *res, int db_status, const char *singular)
{
	struct outcome outcome = OUTCOME_INIT;
	if (outcome_from_db(&outcome, db_status, singular) == 0)
		outcome_fail(&outcome, OUTCOME_ERROR, "database error");
	outcome_reply(res, &outcome);
}

void response_unavailable(struct response *res, const char *detail)
{
	struct outcome outcome = OUTCOME_INIT;
	outcome_fail(&outcome, OUTCOME_BUSY, "%s", detail);
	outcome_reply(res, &outcome);
}
