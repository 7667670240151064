/*
 * meta.c - GET /api/v1/meta (meta.h): the registered resources' descriptors as data, the
 * permission vocabulary and the roles, so that clients need not copy field lists or enums.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/meta.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/registry.h"
#include "crm/reply.h"
#include "crm/resource.h"
#include "crm/roles.h"
#include "crm/router.h"
#include "crm/web.h"
#include "crm/banned.h"

static const char *const type_names[] = {
	[RESOURCE_FIELD_STRING] = "string",       [RESOURCE_FIELD_TEXT] = "text",
	[RESOURCE_FIELD_EMAIL] = "email",         [RESOURCE_FIELD_INTEGER] = "integer",
	[RESOURCE_FIELD_BOOLEAN] = "boolean",     [RESOURCE_FIELD_TIMESTAMP] = "timestamp",
	[RESOURCE_FIELD_DATE] = "date",           [RESOURCE_FIELD_ENUM] = "enum",
	[RESOURCE_FIELD_CURRENCY] = "currency",   [RESOURCE_FIELD_REFERENCE] = "reference",
	[RESOURCE_FIELD_TAGS] = "tags",           [RESOURCE_FIELD_OBJECT] = "object",
};

static const struct {
	unsigned flag;
	const char *word;
} flag_words[] = {
	{ RESOURCE_FIELD_REQUIRED, "required" },
	{ RESOURCE_FIELD_READ_ONLY, "read_only" },
	{ RESOURCE_FIELD_FILTER, "filter" },
	{ RESOURCE_FIELD_SORT, "sort" },
	{ RESOURCE_FIELD_NOCASE, "case_insensitive" },
	{ RESOURCE_FIELD_LOWERCASE, "lowercase" },
	{ RESOURCE_FIELD_DEFAULT_CALLER, "default_caller" },
	{ RESOURCE_FIELD_UNIQUE, "unique" },
	{ RESOURCE_FIELD_DEFAULT_NOW, "default_now" },
	{ RESOURCE_FIELD_WRITE_ONLY, "write_only" },
};

static const char *const range_ops[] = {
	[RESOURCE_RANGE_FROM] = ">=", [RESOURCE_RANGE_BEFORE] = "<",
	[RESOURCE_RANGE_TO] = "<=",   [RESOURCE_RANGE_AFTER] = ">",
};

static json_t *strings_json(const char *const *strings)
{
	json_t *array = json_array();
	for (int i = 0; strings && strings[i]; i++)
		json_array_append_new(array, json_string(strings[i]));
	return array;
}

static json_t *fields_json(const struct resource_field *fields);

/* One field: its name, type, flags as words and the members that apply to its type. */
static json_t *field_json(const struct resource_field *field)
{
	json_t *flags = json_array();
	for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++)
		if (field->flags & flag_words[i].flag)
			json_array_append_new(flags, json_string(flag_words[i].word));
	json_t *entry = json_pack("{s:s, s:s, s:o}", "name", field->name, "type",
				  type_names[field->type], "flags", flags);
	if (field->type == RESOURCE_FIELD_STRING || field->type == RESOURCE_FIELD_EMAIL)
		json_object_set_new(entry, "max_length",
				    json_integer(field->max_length ? field->max_length
								   : RESOURCE_STRING_MAX_DEFAULT));
	if (field->type == RESOURCE_FIELD_TEXT)
		json_object_set_new(entry, "max_length",
				    json_integer(field->max_length ? field->max_length
								   : RESOURCE_TEXT_MAX_DEFAULT));
	if (field->type == RESOURCE_FIELD_INTEGER && (field->min || field->max)) {
		json_object_set_new(entry, "minimum", json_integer(field->min));
		json_object_set_new(entry, "maximum", json_integer(field->max));
	}
	if (field->type == RESOURCE_FIELD_ENUM)
		json_object_set_new(entry, "values", strings_json(field->values));
	if (field->type == RESOURCE_FIELD_REFERENCE)
		json_object_set_new(entry, "references", json_string(field->references));
	if (field->type == RESOURCE_FIELD_OBJECT && field->members)
		json_object_set_new(entry, "members", fields_json(field->members));
	return entry;
}

static json_t *fields_json(const struct resource_field *fields)
{
	json_t *array = json_array();
	for (const struct resource_field *field = fields; field->name; field++)
		json_array_append_new(array, field_json(field));
	return array;
}

/* The list parameters: equality filters, ?tag=, ?updated_since=, range filters, sorts. */
static void add_list_parameters(json_t *entry, const struct resource *resource)
{
	json_t *filters = json_array();
	json_t *sorts = json_pack("[s,s,s]", "id", "created_at", "updated_at");
	bool tags = false;
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (field->flags & RESOURCE_FIELD_FILTER)
			json_array_append_new(filters, json_string(field->name));
		if (field->flags & RESOURCE_FIELD_SORT)
			json_array_append_new(sorts, json_string(field->name));
		tags = tags || field->type == RESOURCE_FIELD_TAGS;
	}
	if (tags)
		json_array_append_new(filters, json_string("tag"));
	json_array_append_new(filters, json_string("updated_since"));
	json_t *ranges = json_array();
	for (const struct resource_range_filter *range = resource->range_filters;
	     range && range->param; range++)
		json_array_append_new(ranges, json_pack("{s:s, s:s, s:s}", "param", range->param,
							"field", range->field, "op",
							range_ops[range->range]));
	json_object_set_new(entry, "filters", filters);
	json_object_set_new(entry, "range_filters", ranges);
	json_object_set_new(entry, "sorts", sorts);
	json_object_set_new(entry, "search",
			    resource->fts_table
				    ? json_pack("{s:s, s:o}", "param", "q", "columns",
						strings_json(resource->search_columns))
				    : json_null());
}

json_t *meta_resource_json(const struct resource *resource)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "/api/v1/%s", resource->name);
	json_t *events = json_array();
	for (int i = 0; resource->events && resource->events[i]; i++) {
		struct buf event = BUF_INIT;
		buf_addf(&event, "%s.%s", resource->singular, resource->events[i]);
		json_array_append_new(events, json_string(event.data));
		buf_release(&event);
	}
	json_t *entry = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:o}", "name", resource->name, "singular",
		resource->singular, "path", path.data, "permission", resource->name, "owner_field",
		resource->owner_field ? json_string(resource->owner_field) : json_null(), "fields",
		fields_json(resource->fields));
	buf_release(&path);
	add_list_parameters(entry, resource);
	json_object_set_new(entry, "external_id",
			    json_boolean(resource_field_find(resource, "external_id") != NULL));
	json_object_set_new(entry, "events", events);
	json_object_set_new(entry, "description", resource->description
							  ? json_string(resource->description)
							  : json_null());
	return entry;
}

/* The permission vocabulary: resource names (with what the others cover), actions, scopes. */
static json_t *permissions_json(void)
{
	json_t *names = json_array();
	for (int i = 0; registry_permission_at(i); i++) {
		const char *name = registry_permission_at(i);
		const struct resource *resource = resource_find(name);
		const char *description = NULL;
		for (int o = 0; !resource && registry_other_permissions[o].name; o++)
			if (strcmp(registry_other_permissions[o].name, name) == 0)
				description = registry_other_permissions[o].description;
		json_array_append_new(names, json_pack("{s:s, s:b, s:s*}", "name", name, "resource",
						       resource != NULL, "description",
						       description));
	}
	return json_pack("{s:o, s:[s,s,s], s:[s,s,s,s]}", "resources", names, "actions",
			 perm_action_name(PERM_READ), perm_action_name(PERM_WRITE),
			 perm_action_name(PERM_DELETE), "scopes", perm_scope_name(PERM_SCOPE_ALL),
			 perm_scope_name(PERM_SCOPE_TEAM), perm_scope_name(PERM_SCOPE_OWN),
			 perm_scope_name(PERM_SCOPE_NONE));
}

static void add_role(void *context, const struct role_info *role)
{
	json_array_append_new(context, json_pack("{s:s, s:s?, s:b}", "name", role->name,
						 "description", role->description, "builtin",
						 role->builtin));
}

/* Sets ETag to a hash of `text` (in `etag`, quotes included). */
static void etag_of(const char *text, size_t len, char etag[36])
{
	unsigned char hash[16];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, len, NULL, 0);
	etag[0] = '"';
	sodium_bin2hex(etag + 1, 33, hash, sizeof(hash));
	etag[33] = '"';
	etag[34] = '\0';
}

/* GET /api/v1/meta */
static void handle_meta(struct request *req, struct response *res)
{
	static const char *const names[] = { NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return;
	}
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	json_t *roles = json_array();
	int status = roles_store_list(db, add_role, roles);
	if (status != DB_OK) {
		json_decref(roles);
		db_status_reply(res, status, "role");
		return;
	}
	json_t *resources = json_array();
	const struct resource *resource;
	for (int i = 0; (resource = resource_at(i)) != NULL; i++)
		json_array_append_new(resources, meta_resource_json(resource));
	json_t *meta = json_pack("{s:o, s:o, s:o}", "resources", resources, "permissions",
				 permissions_json(), "roles", roles);
	size_t len;
	char *text = json_to_text(meta, &len);
	json_decref(meta);
	char etag[36];
	etag_of(text, len, etag);
	response_set_header(res, "ETag", etag);
	response_set_header(res, "Cache-Control", "no-cache");
	const char *if_none_match = request_header(req, "If-None-Match");
	if (if_none_match && web_etag_matches(if_none_match, etag)) {
		free(text);
		response_set_static_body(res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		return;
	}
	response_set_body(res, HTTP_OK, "application/json", text, len);
}

void meta_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/meta", handle_meta, ROUTE_READ_SNAPSHOT);
}
