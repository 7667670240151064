/*
 * openapi_internal.h - what the files of the OpenAPI generator (openapi.h) share; private
 * to src/http. The files, one job each:
 *   openapi.c             assembles the document from the route table and serves it
 *   openapi_entries.c     the operations of the hand-written routes (openapi_entries[])
 *   openapi_resources.c   the schemas and operations of the generic resources, from their
 *                         descriptors
 *   openapi_components.c  the hand-written schemas, the shared responses, parameters,
 *                         headers and security schemes, and the tags
 *   openapi_webhooks.c    the top-level webhooks section
 *
 * Schema texts in the tables are JSON with ` in place of " (so that they read well as C
 * strings); a text that does not start with { names a schema of components.schemas
 * ("User" is {"$ref":"#/components/schemas/User"}).
 */
#ifndef CRM_HTTP_OPENAPI_INTERNAL_H
#define CRM_HTTP_OPENAPI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "crm/buf.h"
#include "crm/router.h"

#define OPENAPI_API_PREFIX "/api/v1/"
#define OPENAPI_STRINGIFY_(x) #x
#define OPENAPI_STRINGIFY(x) OPENAPI_STRINGIFY_(x)

/* A parameter of a hand-written operation or of components.parameters. */
struct openapi_param {
	const char *name;
	const char *in;          /* "query" when NULL, or "header" or "path" */
	const char *schema;      /* schema text (see above) */
	const char *description;
	bool required;
};

#define OPENAPI_TIMESTAMP_SCHEMA "{`type`:`string`,`format`:`date-time`}"
#define OPENAPI_LIMIT_PARAM                                                                   \
	{ "limit", NULL, "{`type`:`integer`,`minimum`:1,`maximum`:500,`default`:50}",         \
	  "Records per page.", false }
#define OPENAPI_CURSOR_PARAM                                                                  \
	{ "cursor", NULL, "{`type`:`string`}", "The next_cursor of the previous page.", false }
#define OPENAPI_IF_MATCH_PARAM                                                                \
	{ "If-Match", "header", "{`type`:`string`,`examples`:[`\\\"3\\\"`]}",                  \
	  "The version the change applies to (\"3\"); 412 when the record has another.",      \
	  false }

/* ---- openapi.c: helpers */

/* Parses a schema text; a malformed one yields {"x-invalid-schema": text}, which the tests
 * refuse. New reference. */
json_t *openapi_schema_from_text(const char *text);
/* {"$ref": "#/components/<section>/<name>"} (new reference). */
json_t *openapi_ref(const char *section, const char *name);
/* "stage change" -> "StageChange" appended to `out`. */
void openapi_add_pascal_case(struct buf *out, const char *words);
bool openapi_is_safe_method(const char *method);

/* The error statuses of an operation, as a bit set (400, 401, 403, 404, 409, 412, 413, 414,
 * 415, 422, 429, 503). */
void openapi_errors_add(unsigned *set, int status);
/* Adds the statuses of a text like "404 409"; an unknown one leaves a marker in
 * `operation` that the tests refuse. */
void openapi_errors_add_text(unsigned *set, const char *text, json_t *operation);

/* ---- openapi_entries.c */

/* The operation of the hand-written route `route`, or NULL when the table has none. Sets
 * the error statuses it declares and whether it takes a body. New reference. */
json_t *openapi_entry_operation(const struct route *route, unsigned *errors, bool *has_body);
/* A parameter object (new reference). */
json_t *openapi_parameter(const struct openapi_param *param);

/* ---- openapi_resources.c */

/* The operation of a generic resource route (resource.h), or NULL when `route` is not one;
 * adds the resource's schemas to `schemas`. New reference. */
json_t *openapi_generic_operation(const struct route *route, json_t *schemas, unsigned *errors,
				  bool *has_body);

/* ---- openapi_components.c */

/* The components object around `schemas` (borrowed; the object keeps a reference). */
json_t *openapi_components(json_t *schemas);
/* Adds the hand-written schemas the document refers to, until nothing more is needed. */
void openapi_add_referenced_schemas(json_t *document, json_t *schemas);
/* The "headers" of a response: each of `names` ("ETag Location") refers to
 * components.headers (new reference). */
json_t *openapi_response_headers(const char *names);
/* The 304 answer to If-None-Match naming the current version (new reference). */
json_t *openapi_not_modified_response(void);
/* The tags the operations of `paths` use, described ones first (new reference). */
json_t *openapi_document_tags(const json_t *paths);

#endif
