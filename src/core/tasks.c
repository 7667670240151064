/*
 * tasks.c - the tasks resource: its descriptor on the generic mechanism (resource.h) and
 * its own rule: done_at follows done (tasks.h). The assignee is the owner and defaults to
 * the caller, by field flags.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/tasks.h"

#include "crm/timeutil.h"
#include "crm/banned.h"

static const struct resource_field task_fields[] = {
	{ .name = "title", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = 500 },
	{ .name = "due_at", .type = RESOURCE_FIELD_TIMESTAMP, .flags = RESOURCE_FIELD_SORT },
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE, .flags = RESOURCE_FIELD_FILTER,
	  .references = "contacts" },
	{ .name = "opportunity_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER, .references = "opportunities" },
	{ .name = "assignee_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_DEFAULT_CALLER, .references = "users" },
	{ .name = "done", .type = RESOURCE_FIELD_BOOLEAN, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "done_at", .type = RESOURCE_FIELD_TIMESTAMP,
	  .flags = RESOURCE_FIELD_READ_ONLY | RESOURCE_FIELD_SORT },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = NULL },
};

static const struct resource_range_filter task_ranges[] = {
	{ .param = "due_before", .field = "due_at", .range = RESOURCE_RANGE_BEFORE },
	{ .param = "due_after", .field = "due_at", .range = RESOURCE_RANGE_AFTER },
	{ .param = NULL },
};

/*
 * done is false unless said otherwise; done_at is stamped when done becomes true and
 * cleared when it becomes false. Changes change->record in place.
 */
static void tasks_prepare(struct resource_change *change, struct field_errors *errors)
{
	(void)errors;
	json_t *record = change->record;
	bool done = json_is_true(json_object_get(record, "done"));
	json_object_set_new(record, "done", json_boolean(done));
	bool was_done = change->before && json_is_true(json_object_get(change->before, "done"));
	if (!done) {
		json_object_set_new(record, "done_at", json_null());
	} else if (!was_done) {
		char now[TIME_RFC3339_SIZE];
		time_now_rfc3339(now);
		json_object_set_new(record, "done_at", json_string(now));
	}
}

static const char *const tasks_search_columns[] = { "title", NULL };

const struct resource tasks_resource = {
	.name = "tasks",
	.singular = "task",
	.table = "tasks",
	.fields = task_fields,
	.owner_field = "assignee_id",
	.fts_table = "tasks_fts",
	.search_columns = tasks_search_columns,
	.events = resource_change_events,
	.range_filters = task_ranges,
	.prepare = tasks_prepare,
	.shape = NULL,
	.after_save = NULL,
	.owner_via_reference = false,
};
