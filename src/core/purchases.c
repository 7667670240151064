/*
 * purchases.c - the purchases resource (revenue events): its descriptor on the generic
 * mechanism (resource.h) and its own rules (purchases.h): the default currency, and an
 * opportunity_id must name a won opportunity. The owner is the contact's owner, through
 * the mechanism's owner_via_reference.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/purchases.h"
#include "crm/resource_save.h"
#include "crm/resource_store.h"

#include <string.h>

#include "crm/db.h"
#include "crm/operations.h"
#include "crm/opportunities.h"
#include "crm/banned.h"

static const struct resource_field purchase_fields[] = {
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_FILTER, .references = "contacts" },
	{ .name = "amount_cents", .type = RESOURCE_FIELD_INTEGER,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .min = -PURCHASES_AMOUNT_MAX,
	  .max = PURCHASES_AMOUNT_MAX },
	{ .name = "currency", .type = RESOURCE_FIELD_CURRENCY, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "occurred_at", .type = RESOURCE_FIELD_TIMESTAMP,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_DEFAULT_NOW | RESOURCE_FIELD_SORT },
	{ .name = "opportunity_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER, .references = "opportunities" },
	{ .name = "reference", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_FILTER,
	  .max_length = 200 },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = NULL },
};

static const struct resource_range_filter purchase_ranges[] = {
	{ .param = "since", .field = "occurred_at", .range = RESOURCE_RANGE_FROM },
	{ .param = "until", .field = "occurred_at", .range = RESOURCE_RANGE_BEFORE },
	{ .param = NULL },
};

/*
 * The default currency, and a newly set opportunity must be won. An opportunity the
 * caller may not read is left to the generic reference check (the same 422 as a missing
 * one), so that this rule reveals nothing. Changes change->record in place.
 */
static void purchases_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	const json_t *currency_value = json_object_get(record, "currency");
	if (!currency_value || json_is_null(currency_value)) {
		char currency[4];
		operations_store_default_currency(change->db, currency); /* EUR on failure */
		json_object_set_new(record, "currency", json_string(currency));
	}
	const json_t *opportunity_id = json_object_get(record, "opportunity_id");
	const json_t *before_id =
		change->before ? json_object_get(change->before, "opportunity_id") : NULL;
	if (!json_is_integer(opportunity_id) || (before_id && json_equal(opportunity_id, before_id)))
		return;
	int64_t id = json_integer_value(opportunity_id);
	if (resource_reference_usable(change->db, change->caller, "opportunities", id) != 1)
		return;
	json_t *opportunity = NULL;
	if (resource_store_get(change->db, &opportunities_resource, id, &opportunity) == DB_OK) {
		const char *stage = json_string_value(json_object_get(opportunity, "stage"));
		if (!stage || strcmp(stage, "won") != 0)
			field_errors_add(errors, "opportunity_id",
					 "must be a won opportunity (this one is %s)",
					 stage ? stage : "without stage");
	}
	json_decref(opportunity);
}

const struct resource purchases_resource = {
	.name = "purchases",
	.singular = "purchase",
	.table = "purchases",
	.fields = purchase_fields,
	.owner_field = "contact_id",
	.fts_table = NULL,
	.events = resource_change_events,
	.range_filters = purchase_ranges,
	.prepare = purchases_prepare,
	.shape = NULL,
	.after_save = NULL,
	.owner_via_reference = true,
};
