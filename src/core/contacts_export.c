/*
 * contacts_export.c - the CSV rows of a contacts export (contacts_import.h): the columns an
 * import reads back, each cell guarded by csv.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_import.h"

#include <stdio.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/csv.h"
#include "crm/json.h"
#include "crm/banned.h"

/* ================================================================ export rows */

static const char *const export_columns[] = {
	"id", "first_name", "last_name", "email", "phone", "title", "company_id", "company",
	"owner_id", "lifecycle", "relationship_level", "tags", "source", "consent_email",
	"consent_recorded_at", "external_id", "custom", "created_at", "updated_at", NULL,
};

void contacts_export_csv_header(struct buf *out)
{
	for (int i = 0; export_columns[i]; i++) {
		if (i)
			buf_addch(out, ',');
		buf_adds(out, export_columns[i]);
	}
	buf_adds(out, "\r\n");
}

/* Appends one value as a cell: strings guarded, numbers and booleans as text. */
static void add_value_cell(struct buf *out, const json_t *value)
{
	if (json_is_string(value)) {
		csv_add_cell(out, json_string_value(value));
	} else if (json_is_integer(value)) {
		buf_addf(out, "%lld", (long long)json_integer_value(value));
	} else if (json_is_boolean(value)) {
		buf_adds(out, json_is_true(value) ? "true" : "false");
	} else if (json_is_object(value) || json_is_array(value)) {
		char *text = json_to_text(value, NULL);
		csv_add_cell(out, text);
		free(text);
	}
}

void contacts_export_csv_row(struct buf *out, const json_t *contact, const char *company_name)
{
	const json_t *consent = json_object_get(contact, "consent");
	for (int i = 0; export_columns[i]; i++) {
		const char *name = export_columns[i];
		if (i)
			buf_addch(out, ',');
		if (strcmp(name, "company") == 0) {
			csv_add_cell(out, company_name);
		} else if (strcmp(name, "tags") == 0) {
			struct buf joined = BUF_INIT;
			size_t index;
			json_t *tag;
			json_array_foreach(json_object_get(contact, "tags"), index, tag)
				buf_addf(&joined, "%s%s", index ? ";" : "", json_string_value(tag));
			csv_add_cell(out, joined.data);
			buf_release(&joined);
		} else if (strcmp(name, "consent_email") == 0) {
			add_value_cell(out, json_object_get(consent, "email"));
		} else if (strcmp(name, "consent_recorded_at") == 0) {
			add_value_cell(out, json_object_get(consent, "recorded_at"));
		} else if (strcmp(name, "custom") == 0) {
			const json_t *custom = json_object_get(contact, "custom");
			if (json_object_size(custom))
				add_value_cell(out, custom);
		} else {
			add_value_cell(out, json_object_get(contact, name));
		}
	}
	buf_adds(out, "\r\n");
}

