/*
 * openapi_resources.c - the OpenAPI side of the generic resources (resource.h): from a
 * resource's field descriptors, the schemas Contact (a record as sent), ContactInput (a
 * create or replace body), ContactPatch (a merge patch) and ContactList (a page of a list),
 * the list parameters (limit, cursor, sort, q, tag, filters, ranges) and the operations of
 * the routes resource_routes_register() makes.
 */
#define _POSIX_C_SOURCE 200809L
#include "http/openapi_internal.h"

#include <stdlib.h>
#include <string.h>

#include "crm/resource.h"
#include "crm/banned.h"

/* The name of a generic resource's schema: Contact, ContactInput, ... (caller frees). */
static char *resource_schema_name(const struct resource *resource, const char *suffix)
{
	struct buf name = BUF_INIT;
	openapi_add_pascal_case(&name, resource->singular);
	buf_adds(&name, suffix);
	return buf_detach(&name, NULL);
}

static bool field_is_nullable_in_record(const struct resource_field *field)
{
	if (field->flags & RESOURCE_FIELD_REQUIRED)
		return false;
	if (field->type == RESOURCE_FIELD_TAGS)
		return false;
	if (field->type == RESOURCE_FIELD_OBJECT && !field->members && !field->normalize)
		return false; /* a normalized one (a segment's rule) may be null (resource.h) */
	return true;
}

/* {"type": type} or {"type": [type, "null"]}. */
static json_t *typed(const char *type, bool nullable)
{
	if (nullable)
		return json_pack("{s:[s,s]}", "type", type, "null");
	return json_pack("{s:s}", "type", type);
}

enum schema_mode {
	SCHEMA_RECORD, /* as the server sends it */
	SCHEMA_INPUT,  /* in a create or replace body */
	SCHEMA_PATCH,  /* in a merge patch */
};

static json_t *field_schema(const struct resource_field *field, enum schema_mode mode);

/* The properties (and required list) of an OBJECT field's typed members. */
static json_t *members_schema(const struct resource_field *field, bool nullable,
			      enum schema_mode mode)
{
	json_t *schema = typed("object", nullable);
	json_t *properties = json_object();
	for (const struct resource_field *member = field->members; member->name; member++)
		json_object_set_new(properties, member->name, field_schema(member, mode));
	json_object_set_new(schema, "properties", properties);
	json_object_set_new(schema, "additionalProperties", json_false());
	return schema;
}

static int default_max_length(const struct resource_field *field)
{
	if (field->max_length > 0)
		return field->max_length;
	return field->type == RESOURCE_FIELD_TEXT ? RESOURCE_TEXT_MAX_DEFAULT
						  : RESOURCE_STRING_MAX_DEFAULT;
}

/* Appends a sentence to a description, with a space after an earlier one. */
static void add_sentence(struct buf *description, const char *sentence)
{
	if (description->len)
		buf_addch(description, ' ');
	buf_adds(description, sentence);
}

/* The schema of a field's type, its description started in `description` (new
 * reference). */
static json_t *type_schema(const struct resource_field *field, enum schema_mode mode,
			   bool nullable, struct buf *description)
{
	json_t *schema = NULL;
	switch (field->type) {
	case RESOURCE_FIELD_STRING:
	case RESOURCE_FIELD_TEXT:
	case RESOURCE_FIELD_EMAIL:
		schema = typed("string", nullable);
		json_object_set_new(schema, "maxLength", json_integer(default_max_length(field)));
		if (field->type == RESOURCE_FIELD_EMAIL)
			json_object_set_new(schema, "format", json_string("email"));
		if (field->type == RESOURCE_FIELD_TEXT)
			buf_adds(description, "Multi-line text; \"\" means null.");
		else
			buf_adds(description, "A single line, trimmed; \"\" means null.");
		break;
	case RESOURCE_FIELD_INTEGER:
		schema = typed("integer", nullable);
		if (field->min || field->max) {
			json_object_set_new(schema, "minimum", json_integer(field->min));
			json_object_set_new(schema, "maximum", json_integer(field->max));
		}
		break;
	case RESOURCE_FIELD_BOOLEAN:
		schema = typed("boolean", nullable);
		break;
	case RESOURCE_FIELD_TIMESTAMP:
		schema = typed("string", nullable);
		json_object_set_new(schema, "format", json_string("date-time"));
		buf_adds(description, "RFC 3339; stored and answered in UTC (\"2026-11-23T16:00:00Z\").");
		break;
	case RESOURCE_FIELD_DATE:
		schema = typed("string", nullable);
		json_object_set_new(schema, "format", json_string("date"));
		break;
	case RESOURCE_FIELD_ENUM: {
		schema = typed("string", nullable);
		json_t *values = json_array();
		for (const char *const *value = field->values; value && *value; value++)
			json_array_append_new(values, json_string(*value));
		if (nullable)
			json_array_append_new(values, json_null());
		json_object_set_new(schema, "enum", values);
		break;
	}
	case RESOURCE_FIELD_CURRENCY:
		schema = typed("string", nullable);
		json_object_set_new(schema, "pattern", json_string("^[A-Z]{3}$"));
		buf_adds(description, "An ISO 4217 currency code (\"EUR\").");
		break;
	case RESOURCE_FIELD_REFERENCE:
		schema = typed("integer", nullable);
		json_object_set_new(schema, "minimum", json_integer(1));
		if (strcmp(field->references, "users") == 0)
			buf_adds(description, "The id of a user.");
		else
			buf_addf(description, "The id of a record of %s.", field->references);
		if (mode != SCHEMA_RECORD)
			add_sentence(description,
				     "It must exist and be readable by the caller (else 422).");
		json_object_set_new(schema, "x-references", json_string(field->references));
		break;
	case RESOURCE_FIELD_TAGS:
		schema = typed("array", nullable);
		json_object_set_new(schema, "items",
				    json_pack("{s:s, s:i, s:i}", "type", "string", "minLength", 1,
					      "maxLength", RESOURCE_TAG_MAX_LENGTH));
		json_object_set_new(schema, "maxItems", json_integer(RESOURCE_TAGS_MAX));
		buf_adds(description, "Trimmed; duplicates are dropped; null means [].");
		break;
	case RESOURCE_FIELD_OBJECT:
		if (field->members) {
			schema = members_schema(field, nullable, mode);
		} else {
			schema = typed("object", nullable);
			buf_addf(description,
				 "Free-form (at most %d bytes as JSON, %d levels deep); null means {}.",
				 RESOURCE_OBJECT_MAX_BYTES, RESOURCE_OBJECT_MAX_DEPTH);
		}
		break;
	}
	return schema ? schema : json_object();
}

/* The JSON schema of one field's value (new reference). */
static json_t *field_schema(const struct resource_field *field, enum schema_mode mode)
{
	/* In a body, null clears a field; a required one then fails with 422. */
	bool nullable = mode == SCHEMA_RECORD ? field_is_nullable_in_record(field)
					      : !(field->flags & RESOURCE_FIELD_REQUIRED);
	struct buf description = BUF_INIT;
	json_t *schema = type_schema(field, mode, nullable, &description);
	if (field->flags & RESOURCE_FIELD_UNIQUE)
		add_sentence(&description, "Unique (else 409).");
	if ((field->flags & RESOURCE_FIELD_DEFAULT_CALLER) && mode == SCHEMA_INPUT)
		add_sentence(&description, "Defaults to the caller on create.");
	if ((field->flags & RESOURCE_FIELD_DEFAULT_NOW) && mode == SCHEMA_INPUT)
		add_sentence(&description, "Defaults to now on create.");
	if ((field->flags & RESOURCE_FIELD_READ_ONLY) && mode == SCHEMA_RECORD)
		json_object_set_new(schema, "readOnly", json_true());
	if (field->flags & RESOURCE_FIELD_WRITE_ONLY) {
		json_object_set_new(schema, "writeOnly", json_true());
		if (mode == SCHEMA_RECORD)
			add_sentence(&description, "Answered only by the create that set it.");
	}
	if (description.len)
		json_object_set_new(schema, "description", json_string(description.data));
	buf_release(&description);
	return schema;
}

static bool field_is_writable(const struct resource_field *field)
{
	return !(field->flags & RESOURCE_FIELD_READ_ONLY);
}

/* The schema of a record, a create/replace body or a patch of `resource` (new reference). */
static json_t *resource_schema(const struct resource *resource, enum schema_mode mode)
{
	json_t *schema = json_pack("{s:s}", "type", "object");
	json_t *properties = json_object();
	json_t *required = json_array();
	if (mode == SCHEMA_RECORD) {
		json_object_set_new(properties, "id",
				    json_pack("{s:s, s:i, s:b}", "type", "integer", "minimum", 1,
					      "readOnly", 1));
		json_object_set_new(properties, "created_at",
				    json_pack("{s:s, s:s, s:b}", "type", "string", "format",
					      "date-time", "readOnly", 1));
		json_object_set_new(properties, "updated_at",
				    json_pack("{s:s, s:s, s:b}", "type", "string", "format",
					      "date-time", "readOnly", 1));
		json_object_set_new(properties, "version",
				    json_pack("{s:s, s:i, s:b, s:s}", "type", "integer", "minimum", 1,
					      "readOnly", 1, "description",
					      "1 on create, + 1 on each change; the ETag."));
		json_array_append_new(required, json_string("id"));
		json_array_append_new(required, json_string("created_at"));
		json_array_append_new(required, json_string("updated_at"));
		json_array_append_new(required, json_string("version"));
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (mode != SCHEMA_RECORD && !field_is_writable(field))
			continue;
		json_object_set_new(properties, field->name, field_schema(field, mode));
		if ((mode == SCHEMA_RECORD && !(field->flags & RESOURCE_FIELD_WRITE_ONLY)) ||
		    (mode == SCHEMA_INPUT && (field->flags & RESOURCE_FIELD_REQUIRED) &&
		     !(field->flags & (RESOURCE_FIELD_DEFAULT_CALLER | RESOURCE_FIELD_DEFAULT_NOW))))
			json_array_append_new(required, json_string(field->name));
	}
	json_object_set_new(schema, "properties", properties);
	if (json_array_size(required))
		json_object_set_new(schema, "required", required);
	else
		json_decref(required);
	if (mode != SCHEMA_RECORD)
		json_object_set_new(schema, "additionalProperties", json_false());
	if (mode == SCHEMA_INPUT)
		json_object_set_new(schema, "description",
				    json_string("Every writable field; the ones left out are cleared "
						"on a replacement. Unknown and read-only members are "
						"refused (422)."));
	if (mode == SCHEMA_PATCH)
		json_object_set_new(schema, "description",
				    json_string("A JSON merge patch (RFC 7396): members left out stay "
						"as they are, null clears a field, objects merge, arrays "
						"are replaced."));
	return schema;
}

/* Adds the four schemas of `resource` to `schemas` unless they are there already. */
static void add_resource_schemas(json_t *schemas, const struct resource *resource)
{
	char *record = resource_schema_name(resource, "");
	if (json_object_get(schemas, record)) {
		free(record);
		return;
	}
	char *input = resource_schema_name(resource, "Input");
	char *patch = resource_schema_name(resource, "Patch");
	char *list = resource_schema_name(resource, "List");
	json_object_set_new(schemas, record, resource_schema(resource, SCHEMA_RECORD));
	json_object_set_new(schemas, input, resource_schema(resource, SCHEMA_INPUT));
	json_object_set_new(schemas, patch, resource_schema(resource, SCHEMA_PATCH));
	json_object_set_new(schemas, list,
			    json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}}", "type",
				      "object", "required", "data", "next_cursor", "properties",
				      "data", "type", "array", "items", openapi_ref("schemas", record),
				      "next_cursor", "type", "string", "null", "description",
				      "pass as ?cursor= for the next page; null on the last page"));
	free(record);
	free(input);
	free(patch);
	free(list);
}

enum generic_kind {
	GENERIC_NONE,
	GENERIC_COLLECTION, /* /api/v1/<name> */
	GENERIC_ONE,        /* /api/v1/<name>/{id} */
	GENERIC_EXTERNAL,   /* /api/v1/<name>/external/{external_id} */
};

/* Whether `pattern` has the shape of a generic resource route; sets *resource. */
static enum generic_kind generic_kind_of(const char *pattern, const struct resource **resource)
{
	*resource = NULL;
	size_t prefix = strlen(OPENAPI_API_PREFIX);
	if (strncmp(pattern, OPENAPI_API_PREFIX, prefix) != 0)
		return GENERIC_NONE;
	const char *name = pattern + prefix;
	size_t len = strcspn(name, "/");
	if (len == 0 || len >= 64)
		return GENERIC_NONE;
	char buffer[64];
	memcpy(buffer, name, len);
	buffer[len] = '\0';
	const struct resource *found = resource_find(buffer);
	if (!found)
		return GENERIC_NONE;
	const char *rest = name + len;
	enum generic_kind kind = GENERIC_NONE;
	if (*rest == '\0')
		kind = GENERIC_COLLECTION;
	else if (strcmp(rest, "/{id}") == 0)
		kind = GENERIC_ONE;
	else if (strcmp(rest, "/external/{external_id}") == 0 &&
		 resource_field_find(found, "external_id"))
		kind = GENERIC_EXTERNAL;
	if (kind != GENERIC_NONE)
		*resource = found;
	return kind;
}

static json_t *query_param(const char *name, json_t *schema, const char *description)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", name, "in", "query", "required", 0,
			 "schema", schema, "description", description);
}

/* The schema of a filter's value in the query string (new reference). */
static json_t *filter_schema(const struct resource_field *field)
{
	json_t *schema = field_schema(field, SCHEMA_PATCH);
	json_t *type = json_object_get(schema, "type");
	if (json_is_array(type)) /* a filter value is never null */
		json_object_set_new(schema, "type", json_incref(json_array_get(type, 0)));
	json_t *values = json_object_get(schema, "enum");
	if (values && json_array_size(values) &&
	    json_is_null(json_array_get(values, json_array_size(values) - 1)))
		json_array_remove(values, json_array_size(values) - 1);
	json_object_del(schema, "description");
	if (field->type == RESOURCE_FIELD_REFERENCE && strcmp(field->references, "users") == 0) {
		json_t *either = json_pack("{s:[o,{s:s}]}", "anyOf", schema, "const", "me");
		return either;
	}
	return schema;
}

static const char *range_description(enum resource_range range)
{
	if (range == RESOURCE_RANGE_FROM)
		return "at or after (>=)";
	if (range == RESOURCE_RANGE_BEFORE)
		return "before (<)";
	if (range == RESOURCE_RANGE_TO)
		return "at or before (<=)";
	return "after (>)";
}

/* The schema of a built-in member or a field named `name` of `resource`, for ranges. */
static json_t *range_schema(const struct resource *resource, const char *name)
{
	if (strcmp(name, "created_at") == 0 || strcmp(name, "updated_at") == 0)
		return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
	const struct resource_field *field = resource_field_find(resource, name);
	return field ? filter_schema(field) : json_pack("{s:s}", "type", "string");
}

/* The parameters of a list of `resource`. */
static json_t *list_parameters(const struct resource *resource)
{
	json_t *params = json_array();
	json_array_append_new(params, openapi_ref("parameters", "Limit"));
	json_array_append_new(params, openapi_ref("parameters", "Cursor"));
	json_t *sorts = json_pack("[s,s,s,s,s,s]", "id", "-id", "created_at", "-created_at",
				  "updated_at", "-updated_at");
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (!(field->flags & RESOURCE_FIELD_SORT))
			continue;
		struct buf descending = BUF_INIT;
		buf_addf(&descending, "-%s", field->name);
		json_array_append_new(sorts, json_string(field->name));
		json_array_append_new(sorts, json_string(descending.data));
		buf_release(&descending);
	}
	json_array_append_new(
		params, query_param("sort",
				    json_pack("{s:s, s:o, s:s}", "type", "string", "enum", sorts,
					      "default", "id"),
				    "Order of the list; - for descending. NULLs come first ascending."));
	if (resource->fts_table)
		json_array_append_new(
			params,
			query_param("q",
				    json_pack("{s:s, s:i}", "type", "string", "maxLength",
					      RESOURCE_QUERY_TEXT_MAX),
				    "Full-text search: every word must match the start of a word."));
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (field->type == RESOURCE_FIELD_TAGS) {
			json_array_append_new(
				params, query_param("tag",
						    json_pack("{s:s, s:i}", "type", "string",
							      "maxLength", RESOURCE_TAG_MAX_LENGTH),
						    "Only records with this tag."));
			break;
		}
	}
	json_array_append_new(params,
			      query_param("updated_since",
					  json_pack("{s:s, s:s}", "type", "string", "format",
						    "date-time"),
					  "Only records changed at or after this time (RFC 3339)."));
	for (const struct resource_range_filter *filter = resource->range_filters;
	     filter && filter->param; filter++) {
		struct buf description = BUF_INIT;
		buf_addf(&description, "Only records whose %s is %s this value.", filter->field,
			 range_description(filter->range));
		json_array_append_new(params, query_param(filter->param,
							  range_schema(resource, filter->field),
							  description.data));
		buf_release(&description);
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (!(field->flags & RESOURCE_FIELD_FILTER))
			continue;
		struct buf description = BUF_INIT;
		buf_addf(&description, "Only records whose %s equals this value%s.", field->name,
			 field->flags & RESOURCE_FIELD_NOCASE ? " (ignoring ASCII case)" : "");
		if (field->type == RESOURCE_FIELD_REFERENCE && strcmp(field->references, "users") == 0)
			buf_adds(&description, " \"me\" is the caller.");
		json_array_append_new(params, query_param(field->name, filter_schema(field),
							  description.data));
		buf_release(&description);
	}
	return params;
}

/* A success answer with a record body and the headers `headers` ("ETag Location"). */
static json_t *record_response(const char *description, const char *schema, const char *headers)
{
	return json_pack("{s:s, s:o, s:{s:{s:o}}}", "description", description, "headers",
			 openapi_response_headers(headers), "content", "application/json", "schema",
			 openapi_ref("schemas", schema));
}

static json_t *json_body(const char *schema_name, bool merge_patch)
{
	json_t *content = json_pack("{s:{s:o}}", "application/json", "schema",
				    openapi_ref("schemas", schema_name));
	if (merge_patch)
		json_object_set_new(content, "application/merge-patch+json",
				    json_pack("{s:o}", "schema", openapi_ref("schemas", schema_name)));
	return json_pack("{s:b, s:o}", "required", 1, "content", content);
}

/* What one generic operation is being built from, and what it builds. */
struct generic_build {
	const struct resource *resource;
	char *record, *input, *patch, *list; /* the schema names */
	bool unique;                         /* a field is unique: 409 on writes */
	struct buf operation_id, summary, description;
	json_t *operation, *params, *responses;
	unsigned *errors;
	bool *has_body;
};

static void build_list(struct generic_build *b)
{
	buf_adds(&b->operation_id, "list");
	openapi_add_pascal_case(&b->operation_id, b->resource->name);
	buf_addf(&b->summary, "List %s", b->resource->name);
	buf_addf(&b->description,
		 "The %s the caller may read, filtered, in the order asked for, keyset-paged: "
		 "pass next_cursor as cursor for the next page (no duplicates or gaps while "
		 "records change).",
		 b->resource->name);
	json_decref(b->params);
	b->params = list_parameters(b->resource);
	json_object_set_new(b->responses, "200",
			    json_pack("{s:s, s:{s:{s:o}}}", "description",
				      "One page, and the cursor of the next", "content",
				      "application/json", "schema", openapi_ref("schemas", b->list)));
	openapi_errors_add(b->errors, 400);
	openapi_errors_add(b->errors, 403);
}

static void build_create(struct generic_build *b)
{
	buf_adds(&b->operation_id, "create");
	openapi_add_pascal_case(&b->operation_id, b->resource->singular);
	buf_addf(&b->summary, "Create a %s", b->resource->singular);
	buf_addf(&b->description,
		 "Answers the %s as stored, with its ETag and Location. Audited; webhooks "
		 "subscribed to %s.created are told. With Idempotency-Key, a repeat answers the "
		 "first answer again instead of creating another.",
		 b->resource->singular, b->resource->singular);
	json_array_append_new(b->params, openapi_ref("parameters", "IdempotencyKey"));
	json_object_set_new(b->operation, "requestBody", json_body(b->input, false));
	*b->has_body = true;
	json_object_set_new(b->responses, "201",
			    record_response("Created", b->record,
					    "ETag Location Idempotent-Replayed"));
	openapi_errors_add(b->errors, 403);
	if (b->unique)
		openapi_errors_add(b->errors, 409);
}

static void build_get(struct generic_build *b, bool external)
{
	buf_adds(&b->operation_id, "get");
	openapi_add_pascal_case(&b->operation_id, b->resource->singular);
	if (external)
		buf_adds(&b->operation_id, "ByExternalId");
	buf_addf(&b->summary, "One %s%s", b->resource->singular,
		 external ? ", by its external_id" : "");
	buf_addf(&b->description,
		 "The %s with its ETag (\"<version>\"); 304 when If-None-Match names it. 404 "
		 "also when the caller may not read it.",
		 b->resource->singular);
	json_array_append_new(b->params, openapi_ref("parameters", "IfNoneMatch"));
	json_object_set_new(b->responses, "200", record_response("The record", b->record, "ETag"));
	json_object_set_new(b->responses, "304", openapi_not_modified_response());
	openapi_errors_add(b->errors, 404);
}

static void build_change(struct generic_build *b, bool is_patch)
{
	buf_adds(&b->operation_id, is_patch ? "update" : "replace");
	openapi_add_pascal_case(&b->operation_id, b->resource->singular);
	buf_addf(&b->summary, "%s a %s", is_patch ? "Change" : "Replace", b->resource->singular);
	buf_addf(&b->description,
		 "%s With If-Match, only when the record still has that version (else 412). "
		 "Answers the record as stored; audited; webhooks subscribed to %s.updated are "
		 "told what changed.",
		 is_patch ? "A JSON merge patch: members left out stay as they are."
			  : "The whole record: writable fields left out are cleared.",
		 b->resource->singular);
	json_array_append_new(b->params, openapi_ref("parameters", "IfMatch"));
	json_object_set_new(b->operation, "requestBody",
			    json_body(is_patch ? b->patch : b->input, is_patch));
	*b->has_body = true;
	json_object_set_new(b->responses, "200",
			    record_response("The record as stored", b->record, "ETag"));
	openapi_errors_add(b->errors, 404);
	openapi_errors_add(b->errors, 412);
	if (b->unique)
		openapi_errors_add(b->errors, 409);
}

static void build_delete(struct generic_build *b)
{
	buf_adds(&b->operation_id, "delete");
	openapi_add_pascal_case(&b->operation_id, b->resource->singular);
	buf_addf(&b->summary, "Delete a %s", b->resource->singular);
	buf_addf(&b->description,
		 "With If-Match, only when the record still has that version (else 412; an "
		 "If-Match that is not an ETag is 400). 409 while other records refer to it. "
		 "Audited; webhooks subscribed to %s.deleted get the record as it was.",
		 b->resource->singular);
	json_array_append_new(b->params, openapi_ref("parameters", "IfMatch"));
	json_object_set_new(b->responses, "204", json_pack("{s:s}", "description", "Deleted"));
	openapi_errors_add(b->errors, 400);
	openapi_errors_add(b->errors, 404);
	openapi_errors_add(b->errors, 409);
	openapi_errors_add(b->errors, 412);
}

static void build_put_external(struct generic_build *b)
{
	buf_adds(&b->operation_id, "put");
	openapi_add_pascal_case(&b->operation_id, b->resource->singular);
	buf_adds(&b->operation_id, "ByExternalId");
	buf_addf(&b->summary, "Create or replace a %s by its external_id", b->resource->singular);
	buf_adds(&b->description, "Idempotent synchronisation from another system: creates the "
				  "record (201) or replaces it (200); a repeat with the same body "
				  "changes nothing.");
	json_array_append_new(b->params, openapi_ref("parameters", "IfMatch"));
	json_object_set_new(b->operation, "requestBody", json_body(b->input, false));
	*b->has_body = true;
	json_object_set_new(b->responses, "200", record_response("Replaced", b->record, "ETag"));
	json_object_set_new(b->responses, "201",
			    record_response("Created", b->record, "ETag Location"));
	openapi_errors_add(b->errors, 412);
	openapi_errors_add(b->errors, 409);
}

/* Builds the operation of `method` on a route of `kind`; false when there is none. */
static bool build_operation(struct generic_build *b, enum generic_kind kind, const char *method)
{
	bool one = kind == GENERIC_ONE;
	if (kind == GENERIC_COLLECTION && strcmp(method, "GET") == 0)
		build_list(b);
	else if (kind == GENERIC_COLLECTION && strcmp(method, "POST") == 0)
		build_create(b);
	else if ((one || kind == GENERIC_EXTERNAL) && strcmp(method, "GET") == 0)
		build_get(b, kind == GENERIC_EXTERNAL);
	else if (one && (strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0))
		build_change(b, strcmp(method, "PATCH") == 0);
	else if (one && strcmp(method, "DELETE") == 0)
		build_delete(b);
	else if (kind == GENERIC_EXTERNAL && strcmp(method, "PUT") == 0)
		build_put_external(b);
	else
		return false;
	return true;
}

/* The generic operation for `route` of `resource` (new reference, or NULL); sets *errors
 * and *has_body. */
static json_t *generic_operation(const struct route *route, const struct resource *resource,
				 enum generic_kind kind, unsigned *errors, bool *has_body)
{
	struct generic_build b = {
		.resource = resource,
		.record = resource_schema_name(resource, ""),
		.input = resource_schema_name(resource, "Input"),
		.patch = resource_schema_name(resource, "Patch"),
		.list = resource_schema_name(resource, "List"),
		.operation_id = BUF_INIT, .summary = BUF_INIT, .description = BUF_INIT,
		.operation = json_object(), .params = json_array(), .responses = json_object(),
		.errors = errors, .has_body = has_body,
	};
	for (const struct resource_field *field = resource->fields; field->name; field++)
		b.unique = b.unique || (field->flags & RESOURCE_FIELD_UNIQUE);
	*has_body = false;
	json_t *operation = NULL;
	if (build_operation(&b, kind, route->method)) {
		operation = b.operation;
		json_object_set_new(operation, "tags", json_pack("[s]", resource->name));
		json_object_set_new(operation, "operationId", json_string(b.operation_id.data));
		json_object_set_new(operation, "summary", json_string(b.summary.data));
		json_object_set_new(operation, "description", json_string(b.description.data));
		json_object_set_new(operation, "parameters", b.params);
		json_object_set_new(operation, "responses", b.responses);
	} else {
		json_decref(b.operation);
		json_decref(b.params);
		json_decref(b.responses);
	}
	buf_release(&b.operation_id);
	buf_release(&b.summary);
	buf_release(&b.description);
	free(b.record);
	free(b.input);
	free(b.patch);
	free(b.list);
	return operation;
}

json_t *openapi_generic_operation(const struct route *route, json_t *schemas, unsigned *errors,
				  bool *has_body)
{
	const struct resource *resource;
	enum generic_kind kind = generic_kind_of(route->pattern, &resource);
	if (kind == GENERIC_NONE)
		return NULL;
	json_t *operation = generic_operation(route, resource, kind, errors, has_body);
	if (operation)
		add_resource_schemas(schemas, resource);
	return operation;
}
