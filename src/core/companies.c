/*
 * companies.c - the companies resource: its descriptor on the generic mechanism
 * (resource.h) and its own rule: `domain` must be a host name ("example.com"; stored in
 * lower case). `name` is required and `owner_id` defaults to the caller, by field flags.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/companies.h"

#include <ctype.h>
#include <string.h>

#include "crm/banned.h"

static const struct resource_field company_fields[] = {
	{ .name = "name", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = 200 },
	{ .name = "domain", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT | RESOURCE_FIELD_LOWERCASE,
	  .max_length = 253 },
	{ .name = "industry", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT, .max_length = 100 },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT | RESOURCE_FIELD_DEFAULT_CALLER,
	  .references = "users" },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = "custom", .type = RESOURCE_FIELD_OBJECT },
	{ .name = NULL },
};

bool companies_domain_valid(const char *domain)
{
	size_t len = strlen(domain), label = 0;
	int labels = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)domain[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || domain[i - label] == '-' || domain[i - 1] == '-')
				return false;
			labels++;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c < 0x80)
			return false;
		label++;
	}
	return labels >= 2;
}

/* `domain` must be a host name, not a URL or an address. */
static void companies_prepare(struct resource_change *change, struct field_errors *errors)
{
	const json_t *domain = json_object_get(change->record, "domain");
	if (json_is_string(domain) && !companies_domain_valid(json_string_value(domain)))
		field_errors_add(errors, "domain", "must be a domain name such as example.com");
}

static const char *const companies_search_columns[] = { "name", "domain", "industry", NULL };

const struct resource companies_resource = {
	.name = "companies",
	.singular = "company",
	.table = "companies",
	.fields = company_fields,
	.owner_field = "owner_id",
	.fts_table = "companies_fts",
	.search_columns = companies_search_columns,
	.events = resource_change_events,
	.range_filters = NULL,
	.prepare = companies_prepare,
	.shape = NULL,
};
