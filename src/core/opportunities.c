/*
 * opportunities.c - the opportunities resource: its descriptor on the generic mechanism
 * (resource.h), its rules (stage defaults, probability following the stage, closed_at,
 * lost_reason; see opportunities.h), the stage history written in each write's
 * transaction (after_save hook). Its routes: src/http/opportunities_http.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/opportunities.h"

#include <stdlib.h>
#include <string.h>

#include "crm/auth.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/timeutil.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

const char *const opportunities_stages[] = { "lead", "qualified", "proposal", "negotiation",
					     "won", "lost", NULL };
static const int stage_probabilities[OPPORTUNITIES_STAGE_COUNT] = { 10, 25, 50, 75, 100, 0 };

int opportunities_stage_index(const char *stage)
{
	for (int i = 0; stage && opportunities_stages[i]; i++)
		if (strcmp(opportunities_stages[i], stage) == 0)
			return i;
	return -1;
}

int opportunities_stage_probability(const char *stage)
{
	int index = opportunities_stage_index(stage);
	return index < 0 ? -1 : stage_probabilities[index];
}

bool opportunities_stage_closed(const char *stage)
{
	return stage && (strcmp(stage, "won") == 0 || strcmp(stage, "lost") == 0);
}

static const struct resource_field opportunity_fields[] = {
	{ .name = "name", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = 200 },
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE, .flags = RESOURCE_FIELD_FILTER,
	  .references = "contacts" },
	{ .name = "company_id", .type = RESOURCE_FIELD_REFERENCE, .flags = RESOURCE_FIELD_FILTER,
	  .references = "companies" },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_DEFAULT_CALLER, .references = "users" },
	{ .name = "stage", .type = RESOURCE_FIELD_ENUM, .flags = RESOURCE_FIELD_FILTER,
	  .values = opportunities_stages },
	{ .name = "amount_cents", .type = RESOURCE_FIELD_INTEGER, .flags = RESOURCE_FIELD_SORT,
	  .min = 0, .max = OPPORTUNITIES_AMOUNT_MAX },
	{ .name = "currency", .type = RESOURCE_FIELD_CURRENCY, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "probability", .type = RESOURCE_FIELD_INTEGER, .flags = RESOURCE_FIELD_SORT,
	  .min = 0, .max = 100 },
	{ .name = "expected_close", .type = RESOURCE_FIELD_DATE, .flags = RESOURCE_FIELD_SORT },
	{ .name = "closed_at", .type = RESOURCE_FIELD_TIMESTAMP, .flags = RESOURCE_FIELD_SORT },
	{ .name = "lost_reason", .type = RESOURCE_FIELD_STRING, .max_length = 500 },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = "custom", .type = RESOURCE_FIELD_OBJECT },
	{ .name = NULL },
};

static const struct resource_range_filter opportunity_ranges[] = {
	{ .param = "expected_close_from", .field = "expected_close", .range = RESOURCE_RANGE_FROM },
	{ .param = "expected_close_to", .field = "expected_close", .range = RESOURCE_RANGE_TO },
	{ .param = NULL },
};

static bool is_null(const json_t *value)
{
	return !value || json_is_null(value);
}

/*
 * closed_at: the one sent when the stage is won or lost (a sync of an old deal), else the
 * current time when the stage becomes won or lost and the stored one while it stays so;
 * null on open stages, where sending one is a field error.
 */
static void set_closed_at(struct resource_change *change, const char *stage,
			  bool stage_changed, struct field_errors *errors)
{
	json_t *record = change->record;
	bool sent = !is_null(json_object_get(change->input, "closed_at"));
	if (!opportunities_stage_closed(stage)) {
		if (sent)
			field_errors_add(errors, "closed_at", "only won or lost opportunities have one");
		json_object_set_new(record, "closed_at", json_null());
		return;
	}
	if (sent)
		return;
	const json_t *kept = change->before ? json_object_get(change->before, "closed_at") : NULL;
	if (!stage_changed && !is_null(kept)) {
		json_object_set_new(record, "closed_at", json_deep_copy(kept));
		return;
	}
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	json_object_set_new(record, "closed_at", json_string(now));
}

/*
 * Defaults (stage, amount, currency, probability from the stage), closed_at and
 * lost_reason, as opportunities.h describes. Runs inside the write transaction; changes
 * change->record in place.
 */
static void opportunities_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	const char *stage = json_string_value(json_object_get(record, "stage"));
	if (!stage) {
		stage = opportunities_stages[0];
		json_object_set_new(record, "stage", json_string(stage));
	}
	const char *before_stage =
		change->before ? json_string_value(json_object_get(change->before, "stage")) : NULL;
	bool stage_changed = !before_stage || strcmp(before_stage, stage) != 0;

	if (is_null(json_object_get(record, "amount_cents")))
		json_object_set_new(record, "amount_cents", json_integer(0));
	if (is_null(json_object_get(record, "currency"))) {
		char currency[4];
		operations_store_default_currency(change->db, currency); /* EUR on failure */
		json_object_set_new(record, "currency", json_string(currency));
	}
	bool probability_sent = !is_null(json_object_get(change->input, "probability"));
	if (is_null(json_object_get(record, "probability")) ||
	    (change->before && stage_changed && !probability_sent))
		json_object_set_new(record, "probability",
				    json_integer(opportunities_stage_probability(stage)));

	set_closed_at(change, stage, stage_changed, errors);

	if (strcmp(stage, "lost") != 0) {
		if (json_object_get(change->input, "lost_reason") &&
		    !is_null(json_object_get(record, "lost_reason")))
			field_errors_add(errors, "lost_reason", "only lost opportunities have one");
		else
			json_object_set_new(record, "lost_reason", json_null());
	}
}

/*
 * Records the stage the opportunity entered, if it entered one (stage history), and emits
 * the webhook events opportunity.stage_changed (a change of stage, with the former one in
 * "previous") and opportunity.won / opportunity.lost (entering those stages).
 */
static int opportunities_after_save(const struct resource_change *change, const json_t *stored)
{
	const char *stage = json_string_value(json_object_get(stored, "stage"));
	const char *before_stage =
		change->before ? json_string_value(json_object_get(change->before, "stage")) : NULL;
	if (!stage || (before_stage && strcmp(before_stage, stage) == 0))
		return DB_OK;
	int status = operations_store_stage_change_add(
		change->db, json_integer_value(json_object_get(stored, "id")), before_stage, stage,
		json_string_value(json_object_get(stored, "updated_at")), change->user_id);
	if (status == DB_OK && before_stage) {
		json_t *previous = json_pack("{s:s}", "stage", before_stage);
		status = webhooks_emit_record(change->db, "opportunity.stage_changed",
					      &opportunities_resource, stored, previous);
		json_decref(previous);
	}
	if (status == DB_OK && opportunities_stage_closed(stage))
		status = webhooks_emit_record(change->db,
					      strcmp(stage, "won") == 0 ? "opportunity.won"
									: "opportunity.lost",
					      &opportunities_resource, stored, NULL);
	return status;
}

static const char *const opportunities_search_columns[] = { "name", "lost_reason", NULL };
static const char *const opportunities_events[] = {
	"created", "updated", "deleted", "stage_changed", "won", "lost", NULL,
};

const struct resource opportunities_resource = {
	.name = "opportunities",
	.singular = "opportunity",
	.table = "opportunities",
	.fields = opportunity_fields,
	.owner_field = "owner_id",
	.fts_table = "opportunities_fts",
	.search_columns = opportunities_search_columns,
	.events = opportunities_events,
	.range_filters = opportunity_ranges,
	.prepare = opportunities_prepare,
	.shape = NULL,
	.after_save = opportunities_after_save,
	.owner_via_reference = false,
};
