/*
 * notes_resource.c - a throw-away resource for tests/api/test_throwaway_resource.py: notes
 * with only this descriptor and the migration 9001_notes.sql, built into
 * build/tests/crmd-throwaway (crmd's own main and libcrm.a). Everything the test checks
 * (CRUD, ?q= search, permissions by role scope, audit, webhook events, OpenAPI, GET
 * /api/v1/meta) comes from the generic mechanism and the registry: nothing else in the
 * tree names notes.
 *
 * The descriptor is registered before main() runs (a constructor), after the built-in
 * ones, as its line at the end of routes.c's list would register it; routes_register_all()
 * then gives every registered resource without module routes the generic ones. The same
 * file is linked into build/tests/crmctl-throwaway, whose `resource sql notes` wrote
 * 9001_notes.sql.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource.h"
#include "crm/routes.h"
#include "crm/banned.h"

static const char *const note_kinds[] = { "idea", "memo", "minutes", NULL };

static const struct resource_field note_fields[] = {
	{ .name = "title", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = 120 },
	{ .name = "body", .type = RESOURCE_FIELD_TEXT },
	{ .name = "kind", .type = RESOURCE_FIELD_ENUM,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT, .values = note_kinds },
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE, .flags = RESOURCE_FIELD_FILTER,
	  .references = "contacts" },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT | RESOURCE_FIELD_DEFAULT_CALLER,
	  .references = "users" },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = NULL },
};

static const char *const note_search_columns[] = { "title", "body", NULL };

const struct resource notes_resource = {
	.name = "notes",
	.singular = "note",
	.description = "Free-text notes, optionally about a contact.",
	.table = "notes",
	.fields = note_fields,
	.owner_field = "owner_id",
	.fts_table = "notes_fts",
	.search_columns = note_search_columns,
	.events = resource_change_events,
};

static void register_notes(void) __attribute__((constructor));
static void register_notes(void)
{
	routes_register_resources(); /* the built-in ones first: notes comes last, as its line
					would in routes.c's list */
	resource_register(&notes_resource);
}
