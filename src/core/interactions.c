/*
 * interactions.c - the interactions resource: its descriptor on the generic mechanism
 * (resource.h) and its own rule, ticket status (interactions.h). user_id (the caller, kept
 * by the server) and occurred_at (default now) are field flags of the mechanism.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/interactions.h"

#include <string.h>

#include "crm/banned.h"

const char *const interactions_kinds[] = { "call", "email", "meeting", "note", "ticket",
					   "chat", "sms", "visit", NULL };
const char *const interactions_statuses[] = { "open", "pending", "closed", NULL };
static const char *const interaction_directions[] = { "inbound", "outbound", NULL };

static const struct resource_field interaction_fields[] = {
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_FILTER, .references = "contacts" },
	{ .name = "kind", .type = RESOURCE_FIELD_ENUM,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_FILTER, .values = interactions_kinds },
	{ .name = "direction", .type = RESOURCE_FIELD_ENUM, .flags = RESOURCE_FIELD_FILTER,
	  .values = interaction_directions },
	{ .name = "subject", .type = RESOURCE_FIELD_STRING, .max_length = 500 },
	{ .name = "body", .type = RESOURCE_FIELD_TEXT },
	{ .name = "occurred_at", .type = RESOURCE_FIELD_TIMESTAMP,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_DEFAULT_NOW | RESOURCE_FIELD_SORT },
	{ .name = "outcome", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_FILTER,
	  .max_length = 200 },
	{ .name = "status", .type = RESOURCE_FIELD_ENUM, .flags = RESOURCE_FIELD_FILTER,
	  .values = interactions_statuses },
	{ .name = "user_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_READ_ONLY | RESOURCE_FIELD_DEFAULT_CALLER | RESOURCE_FIELD_FILTER,
	  .references = "users" },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = NULL },
};

static const struct resource_range_filter interaction_ranges[] = {
	{ .param = "since", .field = "occurred_at", .range = RESOURCE_RANGE_FROM },
	{ .param = "until", .field = "occurred_at", .range = RESOURCE_RANGE_BEFORE },
	{ .param = NULL },
};

static bool is_null(const json_t *value)
{
	return !value || json_is_null(value);
}

/*
 * Ticket status: tickets always have one (open by default); other kinds never. A status
 * sent for another kind is an error; one left over from a ticket that changed kind is
 * dropped. Changes change->record in place.
 */
static void interactions_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	const char *kind = json_string_value(json_object_get(record, "kind"));
	bool ticket = kind && strcmp(kind, "ticket") == 0;
	if (ticket) {
		if (is_null(json_object_get(record, "status")))
			json_object_set_new(record, "status", json_string("open"));
		return;
	}
	if (json_object_get(change->input, "status") && !is_null(json_object_get(record, "status")))
		field_errors_add(errors, "status", "only tickets have a status");
	else
		json_object_set_new(record, "status", json_null());
}

static const char *const interactions_search_columns[] = { "subject", "body", NULL };

const struct resource interactions_resource = {
	.name = "interactions",
	.singular = "interaction",
	.table = "interactions",
	.fields = interaction_fields,
	.owner_field = "user_id",
	.fts_table = "interactions_fts",
	.search_columns = interactions_search_columns,
	.events = resource_change_events,
	.range_filters = interaction_ranges,
	.prepare = interactions_prepare,
	.shape = NULL,
	.after_save = NULL,
	.owner_via_reference = false,
};
