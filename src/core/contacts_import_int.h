/*
 * contacts_import_int.h - private to the CSV import (src/core/contacts_import*.c): what a
 * column of the file means, and the header and mapping helpers that decide it.
 */
#ifndef CRM_CORE_CONTACTS_IMPORT_INT_H
#define CRM_CORE_CONTACTS_IMPORT_INT_H

#include <stdbool.h>

#include "crm/contacts_import.h"
#include "crm/resource.h"


enum column_kind {
	COLUMN_FIELD,               /* a contact field of the same name */
	COLUMN_COMPANY,             /* a company by name */
	COLUMN_OWNER_EMAIL,         /* a user by email */
	COLUMN_CONSENT_EMAIL,       /* consent.email */
	COLUMN_CONSENT_RECORDED_AT, /* consent.recorded_at */
	COLUMN_CUSTOM_MEMBER,       /* custom.<key> */
	COLUMN_IGNORED,             /* read-only columns of an export */
};

struct column {
	enum column_kind kind;
	const struct resource_field *field; /* COLUMN_FIELD */
	char *custom_key;                   /* COLUMN_CUSTOM_MEMBER, owned */
	char *header;                       /* as written, owned */
};

/* A header name for matching: trimmed, ASCII lower case, spaces and '-' as '_'. Caller frees. */
char *contacts_import_normalized_header(const char *header);
/* `text` without leading and trailing spaces and tabs. Caller frees. */
char *contacts_import_cell_trimmed(const char *text);
/*
 * What the header (or mapping target) `written` means, into column->kind, ->field and
 * ->custom_key (owned). Returns false when it names no column.
 */
bool contacts_import_column_from_name(const char *written, struct column *column);
/* The mapping entry whose header matches `header` (normalized), or NULL. */
struct contacts_import_mapping_entry *
contacts_import_mapping_find(const struct contacts_import_mapping *mapping, const char *header);

#endif
