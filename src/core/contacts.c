/*
 * contacts.c - the contacts resource: its descriptor on the generic mechanism
 * (resource.h) and its own rules: a contact needs a first name, a last name or an e-mail
 * address; consent records when it was given. Everything else (validation of the field
 * types, permissions, lists, search, versions, audit) is the generic mechanism's.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts.h"

#include "crm/segments.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

const char *const contacts_lifecycles[] = { "lead", "prospect", "customer", "churned", NULL };

static const struct resource_field consent_members[] = {
	{ .name = "email", .type = RESOURCE_FIELD_BOOLEAN },
	{ .name = "recorded_at", .type = RESOURCE_FIELD_TIMESTAMP },
	{ .name = NULL },
};

static const struct resource_field contact_fields[] = {
	{ .name = "first_name", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_SORT,
	  .max_length = 100 },
	{ .name = "last_name", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_SORT,
	  .max_length = 100 },
	{ .name = "email", .type = RESOURCE_FIELD_EMAIL,
	  .flags = RESOURCE_FIELD_SORT | RESOURCE_FIELD_FILTER | RESOURCE_FIELD_NOCASE,
	  .max_length = 254 },
	{ .name = "phone", .type = RESOURCE_FIELD_STRING, .max_length = 50 },
	{ .name = "title", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_SORT | RESOURCE_FIELD_NOCASE, .max_length = 200 },
	{ .name = "company_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT, .references = "companies" },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT | RESOURCE_FIELD_DEFAULT_CALLER,
	  .references = "users" },
	/* sorted by its text (churned, customer, lead, prospect): the index's order */
	{ .name = "lifecycle", .type = RESOURCE_FIELD_ENUM,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT, .values = contacts_lifecycles },
	{ .name = "relationship_level", .type = RESOURCE_FIELD_INTEGER,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT, .min = 1, .max = 6 },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "source", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_SORT | RESOURCE_FIELD_NOCASE, .max_length = 200 },
	{ .name = "consent", .type = RESOURCE_FIELD_OBJECT, .members = consent_members },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = "custom", .type = RESOURCE_FIELD_OBJECT },
	{ .name = NULL },
};

static bool is_null(const json_t *value)
{
	return !value || json_is_null(value);
}

/*
 * A contact needs a name or an address. Consent given without a time is recorded now.
 * Runs inside the write transaction; changes change->record in place.
 */
static void contacts_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	if (is_null(json_object_get(record, "first_name")) &&
	    is_null(json_object_get(record, "last_name")) &&
	    is_null(json_object_get(record, "email")))
		field_errors_add(errors, "first_name",
				 "a contact needs at least one of first_name, last_name or email");

	json_t *consent = json_object_get(record, "consent");
	const json_t *before = change->before ? json_object_get(change->before, "consent") : NULL;
	if (json_is_object(consent) && !is_null(json_object_get(consent, "email")) &&
	    is_null(json_object_get(consent, "recorded_at")) &&
	    !(before && json_equal(json_object_get(before, "email"),
				   json_object_get(consent, "email")) &&
	      is_null(json_object_get(before, "recorded_at")))) {
		char now[TIME_RFC3339_SIZE];
		time_now_rfc3339(now);
		json_object_set_new(consent, "recorded_at", json_string(now));
	}
}

static const char *const contacts_search_columns[] = {
	"first_name", "last_name", "email", "phone", "title", NULL,
};
static const char *const contacts_events[] = {
	"created", "updated", "deleted", "merged", "erased", NULL,
};

const struct resource contacts_resource = {
	.name = "contacts",
	.singular = "contact",
	.table = "contacts",
	.fields = contact_fields,
	.owner_field = "owner_id",
	.fts_table = "contacts_fts",
	.search_columns = contacts_search_columns,
	.events = contacts_events,
	.range_filters = NULL,
	.prepare = contacts_prepare,
	.shape = NULL,
	.list_filter = "erased_at IS NULL", /* erased contacts (gdpr.h) are not listed */
	.delete_dependants = segments_contact_deleted, /* static memberships, audited */
};
