/*
 * contacts_import_columns.c - what the columns of an imported CSV file mean: the known
 * header names and their aliases, custom.<key> columns, and the explicit mapping
 * (--map / ?map=) that crmctl and the API give (contacts_import.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "core/contacts_import_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/banned.h"

/* Header names (normalized: lower case, '_' for spaces and '-') and what they mean. */
static const struct {
	const char *name;
	enum column_kind kind;
	const char *field; /* COLUMN_FIELD: the contact field */
} column_names[] = {
	{ "first_name", COLUMN_FIELD, "first_name" },
	{ "firstname", COLUMN_FIELD, "first_name" },
	{ "first", COLUMN_FIELD, "first_name" },
	{ "given_name", COLUMN_FIELD, "first_name" },
	{ "forename", COLUMN_FIELD, "first_name" },
	{ "last_name", COLUMN_FIELD, "last_name" },
	{ "lastname", COLUMN_FIELD, "last_name" },
	{ "last", COLUMN_FIELD, "last_name" },
	{ "surname", COLUMN_FIELD, "last_name" },
	{ "family_name", COLUMN_FIELD, "last_name" },
	{ "email", COLUMN_FIELD, "email" },
	{ "e_mail", COLUMN_FIELD, "email" },
	{ "email_address", COLUMN_FIELD, "email" },
	{ "e_mail_address", COLUMN_FIELD, "email" },
	{ "mail", COLUMN_FIELD, "email" },
	{ "phone", COLUMN_FIELD, "phone" },
	{ "phone_number", COLUMN_FIELD, "phone" },
	{ "telephone", COLUMN_FIELD, "phone" },
	{ "tel", COLUMN_FIELD, "phone" },
	{ "mobile", COLUMN_FIELD, "phone" },
	{ "title", COLUMN_FIELD, "title" },
	{ "job_title", COLUMN_FIELD, "title" },
	{ "position", COLUMN_FIELD, "title" },
	{ "company_id", COLUMN_FIELD, "company_id" },
	{ "owner_id", COLUMN_FIELD, "owner_id" },
	{ "lifecycle", COLUMN_FIELD, "lifecycle" },
	{ "lifecycle_stage", COLUMN_FIELD, "lifecycle" },
	{ "relationship_level", COLUMN_FIELD, "relationship_level" },
	{ "tags", COLUMN_FIELD, "tags" },
	{ "tag", COLUMN_FIELD, "tags" },
	{ "labels", COLUMN_FIELD, "tags" },
	{ "source", COLUMN_FIELD, "source" },
	{ "external_id", COLUMN_FIELD, "external_id" },
	{ "custom", COLUMN_FIELD, "custom" },
	{ "company", COLUMN_COMPANY, NULL },
	{ "company_name", COLUMN_COMPANY, NULL },
	{ "organization", COLUMN_COMPANY, NULL },
	{ "organisation", COLUMN_COMPANY, NULL },
	{ "owner_email", COLUMN_OWNER_EMAIL, NULL },
	{ "owner", COLUMN_OWNER_EMAIL, NULL },
	{ "consent_email", COLUMN_CONSENT_EMAIL, NULL },
	{ "consent.email", COLUMN_CONSENT_EMAIL, NULL },
	{ "email_consent", COLUMN_CONSENT_EMAIL, NULL },
	{ "consent_recorded_at", COLUMN_CONSENT_RECORDED_AT, NULL },
	{ "consent.recorded_at", COLUMN_CONSENT_RECORDED_AT, NULL },
	{ "id", COLUMN_IGNORED, NULL },
	{ "created_at", COLUMN_IGNORED, NULL },
	{ "updated_at", COLUMN_IGNORED, NULL },
	{ "version", COLUMN_IGNORED, NULL },
};

/* A header name for matching: trimmed, ASCII lower case, spaces and '-' as '_'. Caller frees. */
char *contacts_import_normalized_header(const char *header)
{
	while (*header == ' ' || *header == '\t')
		header++;
	size_t len = strlen(header);
	while (len && (header[len - 1] == ' ' || header[len - 1] == '\t'))
		len--;
	char *name = xstrndup(header, len);
	for (char *p = name; *p; p++) {
		if (*p == ' ' || *p == '-')
			*p = '_';
		else
			*p = (char)tolower((unsigned char)*p);
	}
	return name;
}

/* `text` without leading and trailing spaces and tabs. Caller frees. */
char *contacts_import_cell_trimmed(const char *text)
{
	while (*text == ' ' || *text == '\t')
		text++;
	size_t len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	return xstrndup(text, len);
}

/*
 * What the header (or mapping target) `written` means, into column->kind, ->field and
 * ->custom_key (owned). Returns false when it names no column.
 */
bool contacts_import_column_from_name(const char *written, struct column *column)
{
	char *name = contacts_import_normalized_header(written);
	bool known = false;
	if (strncmp(name, "custom.", 7) == 0 && name[7]) {
		/* the key as written, after "custom." */
		const char *key = strchr(written, '.') + 1;
		column->kind = COLUMN_CUSTOM_MEMBER;
		column->custom_key = xstrdup(key);
		known = true;
	}
	for (size_t n = 0; !known && n < sizeof(column_names) / sizeof(column_names[0]); n++) {
		if (strcmp(column_names[n].name, name) != 0)
			continue;
		column->kind = column_names[n].kind;
		if (column->kind == COLUMN_FIELD)
			column->field = resource_field_find(&contacts_resource, column_names[n].field);
		known = column->kind != COLUMN_FIELD || column->field;
	}
	free(name);
	return known;
}

/* ================================================================ explicit mapping */

void contacts_import_mapping_init(struct contacts_import_mapping *mapping)
{
	mapping->entries = NULL;
	mapping->count = 0;
}

void contacts_import_mapping_release(struct contacts_import_mapping *mapping)
{
	for (size_t i = 0; i < mapping->count; i++) {
		free(mapping->entries[i].header);
		free(mapping->entries[i].target);
	}
	free(mapping->entries);
	contacts_import_mapping_init(mapping);
}

/* The entry whose header matches `header` (normalized), or NULL. */
struct contacts_import_mapping_entry *
contacts_import_mapping_find(const struct contacts_import_mapping *mapping, const char *header)
{
	if (!mapping)
		return NULL;
	char *name = contacts_import_normalized_header(header);
	struct contacts_import_mapping_entry *found = NULL;
	for (size_t i = 0; !found && i < mapping->count; i++) {
		char *other = contacts_import_normalized_header(mapping->entries[i].header);
		if (strcmp(name, other) == 0)
			found = &mapping->entries[i];
		free(other);
	}
	free(name);
	return found;
}

int contacts_import_mapping_add(struct contacts_import_mapping *mapping, const char *spec,
				char separator, bool ignore, struct buf *error)
{
	char *header = NULL, *target = NULL;
	if (mapping->count >= CONTACTS_IMPORT_MAX_MAPPINGS) {
		buf_addf(error, "at most %d columns can be mapped or ignored",
			 CONTACTS_IMPORT_MAX_MAPPINGS);
		return -1;
	}
	if (ignore) {
		header = xstrdup(spec);
	} else {
		const char *split = strrchr(spec, separator);
		if (!split) {
			buf_addf(error, "a mapping is HEADER%cFIELD, not '%.200s'", separator, spec);
			return -1;
		}
		header = xstrndup(spec, (size_t)(split - spec));
		target = contacts_import_cell_trimmed(split + 1);
		struct column column = { .kind = COLUMN_IGNORED };
		bool known = contacts_import_column_from_name(target, &column);
		free(column.custom_key);
		if (!known || column.kind == COLUMN_IGNORED) {
			buf_addf(error, "unknown field '%.200s' to map column '%.200s' to", target,
				 header);
			goto failed;
		}
	}
	char *name = contacts_import_normalized_header(header);
	bool empty = !name[0];
	free(name);
	if (empty) {
		buf_addf(error, "a mapped or ignored column needs a name");
		goto failed;
	}
	if (contacts_import_mapping_find(mapping, header)) {
		buf_addf(error, "column '%.200s' is mapped or ignored twice", header);
		goto failed;
	}
	mapping->entries = xrealloc(mapping->entries, (mapping->count + 1) * sizeof(*mapping->entries));
	mapping->entries[mapping->count].header = header;
	mapping->entries[mapping->count].target = target;
	mapping->count++;
	return 0;
failed:
	free(header);
	free(target);
	return -1;
}

