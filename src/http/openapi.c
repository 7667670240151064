/*
 * openapi.c - assembles the OpenAPI 3.1 document (openapi.h) from the route table: each
 * route's operation comes from the generic resources (openapi_resources.c) or the
 * hand-written table (openapi_entries.c); this file adds what follows from the route
 * itself (path parameters, security, the errors every authenticated route or body can
 * give), the components (openapi_components.c) and the webhooks (openapi_webhooks.c), and
 * serves the result.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/openapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/json.h"
#include "crm/openapi_webhooks.h"
#include "crm/version.h"
#include "http/openapi_internal.h"
#include "crm/banned.h"

json_t *openapi_schema_from_text(const char *text)
{
	if (text[0] != '{' && text[0] != '[') {
		struct buf ref = BUF_INIT;
		buf_addf(&ref, "#/components/schemas/%s", text);
		json_t *schema = json_pack("{s:s}", "$ref", ref.data);
		buf_release(&ref);
		return schema;
	}
	char *json = xstrdup(text);
	for (char *p = json; *p; p++)
		if (*p == '`')
			*p = '"';
	json_error_t error;
	json_t *schema = json_loads(json, JSON_REJECT_DUPLICATES, &error);
	free(json);
	if (!schema)
		schema = json_pack("{s:s, s:s}", "x-invalid-schema", text, "x-error", error.text);
	return schema;
}

json_t *openapi_ref(const char *section, const char *name)
{
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "#/components/%s/%s", section, name);
	json_t *value = json_pack("{s:s}", "$ref", ref.data);
	buf_release(&ref);
	return value;
}

/* "stage change" -> "StageChange" appended to `out`. */
void openapi_add_pascal_case(struct buf *out, const char *words)
{
	bool upper = true;
	for (const char *p = words; *p; p++) {
		if (!isalnum((unsigned char)*p)) {
			upper = true;
			continue;
		}
		buf_addch(out, upper ? (char)toupper((unsigned char)*p) : *p);
		upper = false;
	}
}

bool openapi_is_safe_method(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	       strcmp(method, "OPTIONS") == 0;
}

/* "GET" -> "get" into `out` (at least 8 bytes); false for a method OpenAPI lacks. */
static bool operation_key(const char *method, char out[8])
{
	static const char *const methods[] = { "get",  "put",     "post", "delete",
					       "options", "head", "patch",   "trace" };
	size_t len = strlen(method);
	if (len >= 8)
		return false;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)method[i]);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i], out) == 0)
			return true;
	return false;
}

/* Error statuses of an operation, as a bit set over this list. */
static const int error_statuses[] = { 400, 401, 403, 404, 409, 412, 413,
				      414, 415, 422, 429, 503 };
#define ERROR_STATUS_COUNT (sizeof(error_statuses) / sizeof(error_statuses[0]))

void openapi_errors_add(unsigned *set, int status)
{
	for (size_t i = 0; i < ERROR_STATUS_COUNT; i++)
		if (error_statuses[i] == status)
			*set |= 1u << i;
}

/* Adds the statuses of a text like "404 409"; an unknown one leaves a marker the tests
 * refuse. */
void openapi_errors_add_text(unsigned *set, const char *text, json_t *operation)
{
	while (text && *text) {
		char *end;
		long status = strtol(text, &end, 10);
		if (end == text)
			break;
		bool known = false;
		for (size_t i = 0; i < ERROR_STATUS_COUNT; i++)
			known = known || error_statuses[i] == status;
		if (known)
			openapi_errors_add(set, (int)status);
		else
			json_object_set_new(operation, "x-invalid-error-status", json_integer(status));
		text = end;
	}
}

/* The declared path parameters of `pattern` that `params` does not declare already. */
static void add_path_parameters(json_t *params, const char *pattern)
{
	for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		if (!close)
			break;
		char *name = xstrndup(p + 1, (size_t)(close - p - 1));
		bool declared = false;
		size_t index;
		json_t *param;
		json_array_foreach(params, index, param) {
			declared = declared ||
				   (json_is_string(json_object_get(param, "name")) &&
				    strcmp(json_string_value(json_object_get(param, "name")), name) == 0 &&
				    strcmp(json_string_value(json_object_get(param, "in")), "path") == 0);
		}
		if (!declared) {
			size_t len = strlen(name);
			bool numeric = strcmp(name, "id") == 0 ||
				       (len > 3 && strcmp(name + len - 3, "_id") == 0 &&
					strcmp(name, "external_id") != 0);
			json_t *schema = numeric ? json_pack("{s:s, s:i}", "type", "integer",
							     "minimum", 1)
						 : json_pack("{s:s}", "type", "string");
			json_array_insert_new(params, 0,
					      json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in",
							"path", "required", 1, "schema", schema));
		}
		free(name);
	}
}

/* The security requirement of a route, from its flags. */
static json_t *route_security(const struct route *route)
{
	if (route->flags & ROUTE_PUBLIC)
		return json_array();
	if (openapi_is_safe_method(route->method) || (route->flags & ROUTE_NO_CSRF))
		return json_pack("[{s:[]}, {s:[]}]", "bearerKey", "sessionCookie");
	return json_pack("[{s:[]}, {s:[], s:[]}]", "bearerKey", "sessionCookie", "csrfToken");
}

static const char *error_response_name(int status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 413: return "ContentTooLarge";
	case 414: return "UriTooLong";
	case 415: return "UnsupportedMediaType";
	case 422: return "UnprocessableContent";
	case 429: return "TooManyRequests";
	default: return "ServiceUnavailable";
	}
}

/*
 * Declares the rate-limit headers on the operation's own answers (success, 304): every
 * answer after authentication carries them. The shared error answers declare them in
 * components.responses.
 */
static void add_rate_limit_headers(json_t *responses)
{
	const char *status;
	json_t *response;
	json_object_foreach(responses, status, response) {
		if (json_object_get(response, "$ref"))
			continue;
		json_t *headers = json_object_get(response, "headers");
		if (!headers) {
			headers = json_object();
			json_object_set_new(response, "headers", headers);
		}
		json_object_set_new(headers, "RateLimit-Policy",
				    openapi_ref("headers", "RateLimit-Policy"));
		json_object_set_new(headers, "RateLimit", openapi_ref("headers", "RateLimit"));
	}
}

struct build {
	json_t *paths;
	json_t *schemas;
};

static void visit_route(void *context, const struct route *route)
{
	struct build *build = context;
	char key[8];
	if (!operation_key(route->method, key))
		return;
	unsigned errors = 0;
	bool has_body = false;
	json_t *operation = openapi_entry_operation(route, &errors, &has_body);
	if (!operation)
		operation = openapi_generic_operation(route, build->schemas, &errors, &has_body);
	if (!operation) {
		operation = json_pack("{s:s, s:b, s:[], s:{s:{s:s}}}", "summary",
				      "Not documented yet: add an entry to openapi_entries[] in "
				      "src/http/openapi_entries.c",
				      "x-undocumented", 1, "parameters", "responses", "default",
				      "description", "not documented");
	}
	/* http.c answers these before any route: a path too long, a body too large */
	openapi_errors_add(&errors, 413);
	openapi_errors_add(&errors, 414);
	if (!(route->flags & ROUTE_PUBLIC)) {
		add_rate_limit_headers(json_object_get(operation, "responses"));
		openapi_errors_add(&errors, 401);
		openapi_errors_add(&errors, 429); /* over the caller's rate limit */
		openapi_errors_add(&errors, 503);
		if (!openapi_is_safe_method(route->method))
			openapi_errors_add(&errors, 403);
	}
	if (has_body) {
		openapi_errors_add(&errors, 400);
		openapi_errors_add(&errors, 413);
		openapi_errors_add(&errors, 415);
		openapi_errors_add(&errors, 422);
	}
	json_t *responses = json_object_get(operation, "responses");
	for (size_t i = 0; i < ERROR_STATUS_COUNT; i++) {
		if (!(errors & (1u << i)))
			continue;
		char status[8];
		snprintf(status, sizeof(status), "%d", error_statuses[i]);
		json_object_set_new(responses, status,
				    openapi_ref("responses", error_response_name(error_statuses[i])));
	}
	add_path_parameters(json_object_get(operation, "parameters"), route->pattern);
	json_object_set_new(operation, "security", route_security(route));
	json_t *path = json_object_get(build->paths, route->pattern);
	if (!path) {
		path = json_object();
		json_object_set_new(build->paths, route->pattern, path);
	}
	json_object_set_new(path, key, operation);
}

json_t *openapi_document(const struct router *router)
{
	json_t *schemas = json_object();
	struct build build = { json_object(), schemas };
	if (router)
		router_each(router, visit_route, &build);
	json_t *components = openapi_components(schemas);
	json_t *document = json_pack(
		"{s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:s}, s:[{s:s}], s:o, s:o}", "openapi",
		"3.1.0", "info", "title", "CRM server API", "version", CRM_VERSION, "license", "name",
		"MIT", "identifier", "MIT", "contact", "name", "The CRM server authors",
		"description",
		"JSON over HTTP, UTF-8. Errors are RFC 9457 problem details "
		"(application/problem+json). Records carry id, created_at, updated_at (RFC 3339 "
		"UTC) and version; GET of one record sends ETag: \"<version>\", and PATCH, PUT "
		"and DELETE honour If-Match. Lists are keyset-paged: "
		"{\"data\":[..],\"next_cursor\":..}. Authenticate with Authorization: Bearer "
		"<key>, or with the session cookie from POST /api/v1/auth/login plus the "
		"X-CSRF-Token header on unsafe methods. A method a path does not take is answered "
		"405 with Allow naming the ones it does (HEAD wherever GET is).",
		"servers", "url", "/", "paths", build.paths, "components", components);
	json_object_set_new(document, "tags", openapi_document_tags(build.paths));
	if (json_object_get(build.paths, "/api/v1/webhooks/events")) /* a build with webhooks */
		json_object_set_new(document, "webhooks", openapi_webhooks(schemas));
	openapi_add_referenced_schemas(document, schemas);
	json_decref(schemas);
	return document;
}

/* ================================================================ the route */

/*
 * The document of the served routes, made once: the route table and the settings it
 * depends on do not change after start-up, and a public route should cost little. The text
 * lives until the process ends.
 */
static char *served_text;
static size_t served_length;
static pthread_once_t served_once = PTHREAD_ONCE_INIT;

static void make_served_text(void)
{
	json_t *document = openapi_document(app_router());
	served_text = json_to_text(document, &served_length);
	json_decref(document);
}

static void handle_openapi(struct request *req, struct response *res)
{
	(void)req;
	pthread_once(&served_once, make_served_text);
	response_set_static_body(res, HTTP_OK, "application/json", served_text, served_length);
	response_set_header(res, "Cache-Control", "no-cache");
}

void openapi_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/openapi.json", handle_openapi, ROUTE_PUBLIC);
}