/*
 * fuzz_resource_body.c - JSON body validation of every registered resource: the input is
 * parsed as JSON and given to resource_record_from_body() (create/replace) and
 * resource_record_merge() (PATCH) of each resource crmd serves, and to
 * resource_merge_patch(). Properties: the results are objects; a body accepted without
 * errors normalises to a record that is accepted again unchanged (normalisation is
 * idempotent), and a merge with an empty patch changes nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crm/app.h"
#include "crm/resource.h"
#include "crm/router.h"
#include "fuzz.h"
#include "crm/banned.h"

static const struct resource *resources[RESOURCE_MAX_RESOURCES];
static int routed_count;

/* Collects the resources behind "/api/v1/<name>" routes. */
static void collect(void *context, const struct route *route)
{
	(void)context;
	const char *prefix = "/api/v1/";
	if (strncmp(route->pattern, prefix, strlen(prefix)) != 0)
		return;
	const char *name = route->pattern + strlen(prefix);
	if (strchr(name, '/'))
		return;
	const struct resource *resource = resource_find(name);
	for (int i = 0; i < routed_count; i++)
		if (resources[i] == resource)
			return;
	if (resource && routed_count < RESOURCE_MAX_RESOURCES)
		resources[routed_count++] = resource;
}

static void check_resource(const struct resource *resource, const json_t *body)
{
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(resource, body, &errors);
	if (!json_is_object(record))
		fuzz_fail("%s: record_from_body gave no object", resource->name);
	if (!field_errors_any(&errors)) {
		/* The record holds the read-only fields too (null: hooks set them). */
		json_t *input = json_deep_copy(record);
		for (const struct resource_field *field = resource->fields; field->name; field++)
			if (field->flags & RESOURCE_FIELD_READ_ONLY)
				json_object_del(input, field->name);
		struct field_errors again_errors = { NULL };
		json_t *again = resource_record_from_body(resource, input, &again_errors);
		json_decref(input);
		if (field_errors_any(&again_errors) || !json_equal(again, record)) {
			char *first = json_dumps(record, JSON_COMPACT);
			char *second = json_dumps(again, JSON_COMPACT);
			json_t *error = json_array_get(again_errors.list, 0);
			fuzz_fail("%s: normalising %s again gave %s (%s: %s)", resource->name, first,
				  second, json_string_value(json_object_get(error, "field")),
				  json_string_value(json_object_get(error, "message")));
		}
		json_decref(again);
		field_errors_release(&again_errors);
		json_t *empty = json_object();
		struct field_errors merge_errors = { NULL };
		json_t *same = resource_record_merge(resource, record, empty, &merge_errors);
		if (field_errors_any(&merge_errors) || !resource_record_unchanged(resource, same, record))
			fuzz_fail("%s: an empty patch changed the record", resource->name);
		json_decref(same);
		json_decref(empty);
		field_errors_release(&merge_errors);
	}
	/* The body as a PATCH of that record (or of an empty one). */
	struct field_errors patch_errors = { NULL };
	json_t *merged = resource_record_merge(resource, record, body, &patch_errors);
	if (!json_is_object(merged))
		fuzz_fail("%s: record_merge gave no object", resource->name);
	resource_record_check_required(resource, merged, &patch_errors);
	json_decref(merged);
	field_errors_release(&patch_errors);
	json_decref(record);
	field_errors_release(&errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!routed_count) {
		app_init();
		router_each(app_router(), collect, NULL);
		if (!routed_count)
			fuzz_fail("no resources registered");
	}
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	if (json_is_object(body)) {
		for (int i = 0; i < routed_count; i++)
			check_resource(resources[i], body);
	}
	json_t *target = json_pack("{s:s, s:{s:i}}", "a", "b", "c", "d", 1);
	json_t *patched = resource_merge_patch(target, body);
	if (!patched)
		fuzz_fail("resource_merge_patch gave NULL");
	json_decref(patched);
	json_decref(target);
	json_decref(body);
	return 0;
}
