/*
 * contacts_import.c - CSV import of contacts (contacts_import.h), shared by the API and
 * crmctl, the export rows crmctl prints, and the POST /api/v1/contacts/import handler.
 *
 * The import reads the text twice inside one write transaction: the first pass checks
 * every row with the contact resource's own rules (resource.h) and counts what would
 * happen; only when no row failed, the second pass writes each row, with its audit entry,
 * exactly as checked. Rows are never all held in memory at once, so a large file costs
 * the text and the small per-file sets (emails, external ids, company names) only.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_import.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/csv.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/router.h"
#include "crm/users.h"
#include "crm/banned.h"

/* ================================================================ columns */

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
static char *normalized_header(const char *header)
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

/* ================================================================ the import's state */

struct import_context {
	struct db *db;
	const struct contacts_import_options *options;
	struct contacts_import_report *report;
	const struct auth_context *caller;  /* the API caller, or the blank one of crmctl */
	struct auth_context cli_caller;     /* crmctl: nobody (for the prepare hook) */
	bool is_cli;
	int64_t actor_user_id;
	const char *actor;
	struct column *columns;
	size_t column_count;
	bool writing;                       /* the second pass */
	bool failed;                        /* a row or the header failed */
	/* sets over the file (first pass): JSON objects used as hash maps */
	json_t *emails;                     /* lower-case email -> line */
	json_t *external_ids;               /* external_id -> line */
	json_t *companies;                  /* name -> id (0: to be created) */
	json_t *owners;                     /* email -> user id */
	int may_create_companies;           /* -1 not asked yet, 0 no, 1 yes */
};

/* Adds an error (line, field, message) unless the list is full. */
static void import_error(struct import_context *ctx, size_t line, const char *field,
			 const char *format, ...) __attribute__((format(printf, 4, 5)));
static void import_error(struct import_context *ctx, size_t line, const char *field,
			 const char *format, ...)
{
	ctx->failed = true;
	if (json_array_size(ctx->report->errors) >= CONTACTS_IMPORT_MAX_ERRORS) {
		ctx->report->errors_truncated = true;
		return;
	}
	struct buf message = BUF_INIT;
	va_list args;
	va_start(args, format);
	buf_vaddf(&message, format, args);
	va_end(args);
	/* the field name comes from the header: keep it valid UTF-8 for the JSON answer */
	json_t *field_text = json_string(field);
	json_t *message_text = json_string(message.data);
	json_array_append_new(ctx->report->errors,
			      json_pack("{s:I, s:o, s:o}", "line", (json_int_t)line, "field",
					field_text ? field_text : json_string("?"), "message",
					message_text ? message_text : json_string("invalid text")));
	buf_release(&message);
}

static void add_field_errors(struct import_context *ctx, size_t line, struct field_errors *errors)
{
	size_t index;
	json_t *error;
	json_array_foreach(errors->list, index, error)
		import_error(ctx, line, json_string_value(json_object_get(error, "field")), "%s",
			     json_string_value(json_object_get(error, "message")));
	field_errors_release(errors);
}

static void columns_release(struct import_context *ctx)
{
	for (size_t i = 0; i < ctx->column_count; i++) {
		free(ctx->columns[i].custom_key);
		free(ctx->columns[i].header);
	}
	free(ctx->columns);
	ctx->columns = NULL;
	ctx->column_count = 0;
}

/* `text` without leading and trailing spaces and tabs. Caller frees. */
static char *cell_text_trimmed(const char *text)
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
static bool column_from_name(const char *written, struct column *column)
{
	char *name = normalized_header(written);
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
static struct contacts_import_mapping_entry *
mapping_find(const struct contacts_import_mapping *mapping, const char *header)
{
	if (!mapping)
		return NULL;
	char *name = normalized_header(header);
	struct contacts_import_mapping_entry *found = NULL;
	for (size_t i = 0; !found && i < mapping->count; i++) {
		char *other = normalized_header(mapping->entries[i].header);
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
		target = cell_text_trimmed(split + 1);
		struct column column = { .kind = COLUMN_IGNORED };
		bool known = column_from_name(target, &column);
		free(column.custom_key);
		if (!known || column.kind == COLUMN_IGNORED) {
			buf_addf(error, "unknown field '%.200s' to map column '%.200s' to", target,
				 header);
			goto failed;
		}
	}
	char *name = normalized_header(header);
	bool empty = !name[0];
	free(name);
	if (empty) {
		buf_addf(error, "a mapped or ignored column needs a name");
		goto failed;
	}
	if (mapping_find(mapping, header)) {
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

/* Maps the header row to columns (through the mapping first); errors name line 1. */
static void read_header(struct import_context *ctx, const struct csv_record *record)
{
	const struct contacts_import_mapping *mapping = ctx->options->mapping;
	bool *used = xcalloc(mapping ? mapping->count + 1 : 1, sizeof(*used));
	ctx->columns = xcalloc(record->count, sizeof(*ctx->columns));
	ctx->column_count = record->count;
	for (size_t i = 0; i < record->count; i++) {
		const char *header = csv_record_field(record, i);
		struct column *column = &ctx->columns[i];
		column->header = xstrdup(header);
		const struct contacts_import_mapping_entry *entry = mapping_find(mapping, header);
		bool known;
		if (entry) {
			used[entry - mapping->entries] = true;
			column->kind = COLUMN_IGNORED;
			known = !entry->target || column_from_name(entry->target, column);
		} else {
			known = column_from_name(header, column);
		}
		if (!known) {
			column->kind = COLUMN_IGNORED;
			import_error(ctx, record->line, header[0] ? header : "(empty)",
				     "unknown column: map it to a field or ignore it (crmctl import "
				     "contacts --map/--ignore, ?map=/?ignore=; see --help for the "
				     "column names)");
			continue;
		}
		/* a column given twice (also through aliases) */
		for (size_t j = 0; j < i; j++) {
			const struct column *other = &ctx->columns[j];
			bool same = other->kind == column->kind && column->kind != COLUMN_IGNORED &&
				    other->field == column->field &&
				    (column->kind != COLUMN_CUSTOM_MEMBER ||
				     strcmp(other->custom_key, column->custom_key) == 0);
			if (same)
				import_error(ctx, record->line, header, "the same column as '%s'",
					     other->header);
		}
	}
	for (size_t i = 0; mapping && i < mapping->count; i++)
		if (!used[i])
			import_error(ctx, record->line, mapping->entries[i].header,
				     "%s column that the file does not have",
				     mapping->entries[i].target ? "a mapped" : "an ignored");
	free(used);
}

/* ================================================================ one row */

/* Parses a whole decimal integer. Returns 0, or -1. */
static int parse_integer(const char *text, int64_t *out)
{
	if (!*text || strlen(text) > 20)
		return -1;
	errno = 0;
	char *end;
	long long value = strtoll(text, &end, 10);
	if (errno || *end)
		return -1;
	*out = value;
	return 0;
}

/* true/false and the usual spellings of yes and no. Returns 1, 0, or -1. */
static int parse_boolean(const char *text)
{
	static const char *const yes[] = { "true", "yes", "y", "1", "t", NULL };
	static const char *const no[] = { "false", "no", "n", "0", "f", NULL };
	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(text, yes[i]) == 0)
			return 1;
		if (strcasecmp(text, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* A cell's text for a field: trimmed of spaces and tabs, with the export's guard removed. */
static char *cell_text(const char *cell)
{
	cell = csv_cell_unguard(cell);
	while (*cell == ' ' || *cell == '\t')
		cell++;
	size_t len = strlen(cell);
	while (len && (cell[len - 1] == ' ' || cell[len - 1] == '\t'))
		len--;
	return xstrndup(cell, len);
}

/* The parts of one row that are not the contact's own fields. */
struct row_extras {
	char *company;     /* company name, or NULL */
	char *owner_email; /* or NULL */
};

static void row_extras_release(struct row_extras *extras)
{
	free(extras->company);
	free(extras->owner_email);
	extras->company = extras->owner_email = NULL;
}

/* Sets member `name` of the body's object member `object` ("consent", "custom"). Steals. */
static void set_nested(json_t *body, const char *object, const char *name, json_t *value)
{
	json_t *parent = json_object_get(body, object);
	if (!json_is_object(parent)) {
		parent = json_object();
		json_object_set_new(body, object, parent);
	}
	json_object_set_new(parent, name, value);
}

/* The JSON value of a cell for `field` (new reference), or NULL after an error. */
static json_t *cell_value(struct import_context *ctx, size_t line,
			  const struct resource_field *field, const char *text)
{
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
	case RESOURCE_FIELD_REFERENCE: {
		int64_t number;
		if (parse_integer(text, &number) != 0) {
			import_error(ctx, line, field->name, "must be a whole number");
			return NULL;
		}
		return json_integer(number);
	}
	case RESOURCE_FIELD_TAGS: {
		json_t *tags = json_array();
		char *copy = xstrdup(text);
		for (char *start = copy;;) {
			char *end = strchr(start, ';');
			if (end)
				*end = '\0';
			char *tag = cell_text(start);
			if (tag[0]) {
				json_t *value = json_string(tag);
				if (value)
					json_array_append_new(tags, value);
				else
					import_error(ctx, line, field->name, "must be UTF-8 text");
			}
			free(tag);
			if (!end)
				break;
			start = end + 1;
		}
		free(copy);
		return tags;
	}
	case RESOURCE_FIELD_OBJECT: {
		json_error_t error;
		json_t *value = json_loads(text, JSON_REJECT_DUPLICATES, &error);
		if (!json_is_object(value)) {
			json_decref(value);
			import_error(ctx, line, field->name, "must be a JSON object such as {\"a\":1}");
			return NULL;
		}
		return value;
	}
	default: {
		json_t *value = json_string(text);
		if (!value)
			import_error(ctx, line, field->name, "must be UTF-8 text");
		return value;
	}
	}
}

/*
 * Builds the JSON body of a row from its non-empty cells (new reference in *body, also
 * after errors) and its extras. Returns 0, or -1 when a cell was bad (errors added).
 */
static int row_body(struct import_context *ctx, const struct csv_record *record, json_t **body,
		    struct row_extras *extras)
{
	*body = json_object();
	bool bad = false;
	for (size_t i = 0; i < ctx->column_count; i++) {
		const struct column *column = &ctx->columns[i];
		char *text = cell_text(csv_record_field(record, i));
		if (!text[0] || column->kind == COLUMN_IGNORED) {
			free(text);
			continue;
		}
		json_t *value = NULL;
		switch (column->kind) {
		case COLUMN_FIELD:
			value = cell_value(ctx, record->line, column->field, text);
			if (value)
				json_object_set_new(*body, column->field->name, value);
			else
				bad = true;
			break;
		case COLUMN_COMPANY:
		case COLUMN_OWNER_EMAIL: {
			/* Used as names and JSON keys: refuse text that is not UTF-8 here. */
			json_t *checked = json_string(text);
			const char *field = column->kind == COLUMN_COMPANY ? "company" : "owner_email";
			if (!checked) {
				import_error(ctx, record->line, field, "is not valid UTF-8 text");
				bad = true;
				break;
			}
			json_decref(checked);
			if (column->kind == COLUMN_COMPANY)
				extras->company = xstrdup(text);
			else
				extras->owner_email = xstrdup(text);
			break;
		}
		case COLUMN_CONSENT_EMAIL: {
			int consent = parse_boolean(text);
			if (consent < 0) {
				import_error(ctx, record->line, "consent.email", "must be true or false");
				bad = true;
			} else {
				set_nested(*body, "consent", "email", json_boolean(consent));
			}
			break;
		}
		case COLUMN_CONSENT_RECORDED_AT:
		case COLUMN_CUSTOM_MEMBER:
			value = json_string(text);
			if (!value) {
				import_error(ctx, record->line, column->header, "must be UTF-8 text");
				bad = true;
			} else if (column->kind == COLUMN_CUSTOM_MEMBER) {
				set_nested(*body, "custom", column->custom_key, value);
			} else {
				set_nested(*body, "consent", "recorded_at", value);
			}
			break;
		case COLUMN_IGNORED:
			break;
		}
		free(text);
	}
	if (json_object_get(*body, "company_id") && extras->company) {
		/* company_id wins: an export has both, and its name is only for people */
		free(extras->company);
		extras->company = NULL;
	}
	if (json_object_get(*body, "owner_id") && extras->owner_email) {
		import_error(ctx, record->line, "owner_email", "give owner_id or owner_email, not both");
		bad = true;
	}
	return bad ? -1 : 0;
}

/* Whether the caller's write scope on `resource` covers a record owned by `owner_id`. */
static bool caller_may_write(struct import_context *ctx, const char *resource, int64_t owner_id)
{
	if (ctx->is_cli)
		return true;
	return perm_scope_covers(ctx->db, perm_scope_for(ctx->db, ctx->caller, resource, PERM_WRITE),
				 ctx->caller, owner_id);
}

/* The owner of records this import creates without one: the caller, or crmctl's --owner. */
static int64_t default_owner(const struct import_context *ctx)
{
	return ctx->is_cli ? ctx->options->default_owner_id : ctx->caller->user_id;
}

/*
 * The id of the company called `name`: found, already created by this import, or created
 * now (second pass). Sets *id (0 in the first pass for one still to be created). Returns
 * a db_status, or 1 after adding a row error.
 */
static int resolve_company(struct import_context *ctx, size_t line, const char *name, int64_t *id)
{
	*id = 0;
	json_t *known = json_object_get(ctx->companies, name);
	if (known && (json_integer_value(known) > 0 || !ctx->writing)) {
		*id = json_integer_value(known);
		return DB_OK;
	}
	int status = DB_OK;
	if (!known) {
		status = contacts_import_store_find_company(ctx->db, name, id);
		if (status != DB_OK)
			return status;
		if (*id) {
			json_object_set_new(ctx->companies, name, json_integer(*id));
			return DB_OK;
		}
		if (ctx->may_create_companies < 0)
			ctx->may_create_companies = caller_may_write(ctx, "companies", default_owner(ctx));
		if (!ctx->may_create_companies) {
			import_error(ctx, line, "company",
				     "no company is called '%s' and you may not create companies", name);
			return 1;
		}
		json_t *checked = json_pack("{s:s}", "name", name);
		struct field_errors errors = { NULL };
		json_t *record = resource_record_from_body(&companies_resource, checked, &errors);
		json_decref(checked);
		if (record) /* a name of white space only normalises to null */
			resource_record_check_required(&companies_resource, record, &errors);
		json_decref(record);
		if (field_errors_any(&errors)) {
			field_errors_release(&errors);
			import_error(ctx, line, "company", "'%s' cannot be a company's name", name);
			return 1;
		}
		field_errors_release(&errors);
		ctx->report->companies_created++;
		json_object_set_new(ctx->companies, name, json_integer(0));
		if (!ctx->writing)
			return DB_OK;
	}
	/* second pass: create it now, audited, owned like the contacts without an owner */
	json_t *body = json_pack("{s:s}", "name", name);
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(&companies_resource, body, &errors);
	field_errors_release(&errors);
	int64_t owner = default_owner(ctx);
	json_object_set_new(record, "owner_id", owner > 0 ? json_integer(owner) : json_null());
	json_t *stored = NULL;
	status = resource_store_insert(ctx->db, &companies_resource, record, &stored);
	if (status == DB_OK) {
		*id = json_integer_value(json_object_get(stored, "id"));
		status = resource_event_emit(ctx->db, &companies_resource, RESOURCE_EVENT_CREATED,
					     NULL, stored);
	}
	if (status == DB_OK) {
		status = audit_record(ctx->db, ctx->actor_user_id, ctx->actor, "companies", *id,
				      "create", NULL, stored);
		json_object_set_new(ctx->companies, name, json_integer(*id));
	}
	json_decref(stored);
	json_decref(record);
	json_decref(body);
	return status;
}

/* The user with e-mail `email`: *id, or 0 after a row error. Returns a db_status. */
static int resolve_owner(struct import_context *ctx, size_t line, const char *email, int64_t *id)
{
	*id = 0;
	json_t *known = json_object_get(ctx->owners, email);
	if (known) {
		*id = json_integer_value(known);
		return DB_OK;
	}
	struct user user;
	int status = users_store_get_by_email(ctx->db, email, &user, NULL, 0);
	if (status == DB_NOT_FOUND) {
		import_error(ctx, line, "owner_email", "no user has this address");
		return DB_OK;
	}
	if (status != DB_OK)
		return status;
	*id = user.id;
	json_object_set_new(ctx->owners, email, json_integer(user.id));
	return DB_OK;
}

/* Whether reference `value` of `field` may be used: exists (and is readable for the API). */
static int reference_usable(struct import_context *ctx, const struct resource_field *field,
			    int64_t value)
{
	if (!ctx->is_cli)
		return resource_reference_usable(ctx->db, ctx->caller, field->references, value);
	if (strcmp(field->references, "users") == 0) {
		char team[256];
		int status = users_store_team_of(ctx->db, value, team, sizeof(team));
		return status == DB_OK ? 1 : status == DB_NOT_FOUND ? 0 : status;
	}
	const struct resource *target = resource_find(field->references);
	int64_t owner;
	int status = target ? resource_store_owner_of(ctx->db, target, value, &owner) : DB_NOT_FOUND;
	return status == DB_OK ? 1 : status == DB_NOT_FOUND ? 0 : status;
}

static bool value_changed(const json_t *record, const json_t *before, const char *name)
{
	if (!before)
		return true;
	const json_t *a = json_object_get(record, name), *b = json_object_get(before, name);
	bool a_null = !a || json_is_null(a), b_null = !b || json_is_null(b);
	return a_null != b_null || (!a_null && !json_equal(a, b));
}

/* What to do with one checked row. */
struct row_plan {
	json_t *before; /* the contact it updates, or NULL to create */
	json_t *record; /* the writable fields to store */
	bool unchanged;
};

/*
 * Checks one row against the rules and the database and plans it. Returns DB_OK (a row
 * error, if any, is in the report: ctx->failed) or a db_status for a database failure.
 */
static int plan_row(struct import_context *ctx, const struct csv_record *record,
		    struct row_plan *plan)
{
	size_t line = record->line;
	json_t *body = NULL;
	struct row_extras extras = { NULL, NULL };
	struct field_errors errors = { NULL };
	bool failed_before = ctx->failed;
	ctx->failed = false;
	int status = DB_OK;
	bool company_pending = false;
	if (row_body(ctx, record, &body, &extras) != 0)
		goto done;
	if (extras.company) {
		int64_t company_id;
		status = resolve_company(ctx, line, extras.company, &company_id);
		if (status == 1) {
			status = DB_OK;
			goto done;
		}
		if (status != DB_OK)
			goto done;
		if (company_id)
			json_object_set_new(body, "company_id", json_integer(company_id));
		else
			company_pending = true;
	}
	if (extras.owner_email) {
		int64_t owner_id;
		status = resolve_owner(ctx, line, extras.owner_email, &owner_id);
		if (status != DB_OK || !owner_id)
			goto done;
		json_object_set_new(body, "owner_id", json_integer(owner_id));
	}

	/* dedupe: the existing contact with this email */
	const json_t *email = json_object_get(body, "email");
	if (ctx->options->dedupe == CONTACTS_IMPORT_DEDUPE_EMAIL && json_is_string(email)) {
		struct field_errors email_errors = { NULL };
		json_t *normalized = resource_field_normalize(
			resource_field_find(&contacts_resource, "email"), email, "email", &email_errors);
		field_errors_release(&email_errors);
		if (json_is_string(normalized)) {
			char *key = xstrdup(json_string_value(normalized));
			for (char *p = key; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			json_t *seen = json_object_get(ctx->emails, key);
			if (seen && !ctx->writing) {
				import_error(ctx, line, "email", "the same address as on line %lld",
					     (long long)json_integer_value(seen));
			} else {
				if (!ctx->writing)
					json_object_set_new(ctx->emails, key, json_integer((json_int_t)line));
				int64_t existing_id;
				status = contacts_import_store_find_email(ctx->db, key, &existing_id);
				if (status == DB_OK && existing_id)
					status = resource_store_get(ctx->db, &contacts_resource, existing_id,
								    &plan->before);
			}
			free(key);
		}
		json_decref(normalized);
		if (status != DB_OK || ctx->failed)
			goto done;
	}
	if (plan->before && !ctx->is_cli &&
	    !perm_scope_covers(ctx->db, perm_scope_for(ctx->db, ctx->caller, "contacts", PERM_READ),
			       ctx->caller, resource_record_owner(&contacts_resource, plan->before))) {
		/* a contact the caller may not see is not theirs to update: create anew */
		json_decref(plan->before);
		plan->before = NULL;
	}

	if (plan->before) {
		plan->record = resource_record_merge(&contacts_resource, plan->before, body, &errors);
	} else {
		plan->record = resource_record_from_body(&contacts_resource, body, &errors);
		if (!json_object_get(plan->record, "owner_id")) {
			int64_t owner = default_owner(ctx);
			json_object_set_new(plan->record, "owner_id",
					    owner > 0 ? json_integer(owner) : json_null());
		}
	}
	if (!field_errors_any(&errors) && contacts_resource.prepare) {
		struct resource_change change = {
			plan->before ? RESOURCE_UPDATE : RESOURCE_CREATE, ctx->db, ctx->caller, body,
			plan->before, plan->record,
		};
		contacts_resource.prepare(&change, &errors);
	}
	resource_record_check_required(&contacts_resource, plan->record, &errors);
	for (const struct resource_field *field = contacts_resource.fields; field->name; field++) {
		const json_t *value = json_object_get(plan->record, field->name);
		if (field->type != RESOURCE_FIELD_REFERENCE || !json_is_integer(value) ||
		    !value_changed(plan->record, plan->before, field->name))
			continue;
		int usable = reference_usable(ctx, field, json_integer_value(value));
		if (usable < 0) {
			status = usable;
			goto done;
		}
		if (!usable)
			field_errors_add(&errors, field->name, "no such %s",
					 strcmp(field->references, "users") == 0 ? "user" : "company");
	}
	if (field_errors_any(&errors)) {
		add_field_errors(ctx, line, &errors);
		goto done;
	}

	int64_t owner = resource_record_owner(&contacts_resource, plan->record);
	int64_t old_owner = plan->before ? resource_record_owner(&contacts_resource, plan->before) : 0;
	if (plan->before && !caller_may_write(ctx, "contacts", old_owner)) {
		import_error(ctx, line, "email", "you may not change the contact with this address");
		goto done;
	}
	if ((!plan->before || owner != old_owner) && !caller_may_write(ctx, "contacts", owner)) {
		import_error(ctx, line, "owner_id", "you may not %s a contact owned by that user",
			     plan->before ? "give" : "create");
		goto done;
	}

	const json_t *external_id = json_object_get(plan->record, "external_id");
	if (json_is_string(external_id) && value_changed(plan->record, plan->before, "external_id")) {
		const char *text = json_string_value(external_id);
		json_t *seen = json_object_get(ctx->external_ids, text);
		if (seen && !ctx->writing) {
			import_error(ctx, line, "external_id", "the same external_id as on line %lld",
				     (long long)json_integer_value(seen));
			goto done;
		}
		if (!ctx->writing)
			json_object_set_new(ctx->external_ids, text, json_integer((json_int_t)line));
		int taken = resource_store_value_taken(
			ctx->db, &contacts_resource, resource_field_find(&contacts_resource, "external_id"),
			external_id,
			plan->before ? json_integer_value(json_object_get(plan->before, "id")) : 0);
		if (taken < 0) {
			status = taken;
			goto done;
		}
		if (taken) {
			import_error(ctx, line, "external_id", "is already used by another contact");
			goto done;
		}
	}
	plan->unchanged = plan->before && !company_pending &&
			  resource_record_unchanged(&contacts_resource, plan->record, plan->before);
done:
	field_errors_release(&errors);
	row_extras_release(&extras);
	json_decref(body);
	bool row_failed = ctx->failed;
	ctx->failed = failed_before || row_failed;
	return status;
}

/* Writes a planned row with its audit entry. Returns a db_status. */
static int write_row(struct import_context *ctx, const struct row_plan *plan)
{
	if (plan->unchanged)
		return DB_OK;
	json_t *stored = NULL;
	int status;
	if (plan->before)
		status = resource_store_update(
			ctx->db, &contacts_resource, json_integer_value(json_object_get(plan->before, "id")),
			json_integer_value(json_object_get(plan->before, "version")), plan->record,
			&stored);
	else
		status = resource_store_insert(ctx->db, &contacts_resource, plan->record, &stored);
	if (status == DB_OK) /* contact.created / contact.updated to the webhooks, as the API */
		status = resource_event_emit(ctx->db, &contacts_resource,
					     plan->before ? RESOURCE_EVENT_UPDATED : RESOURCE_EVENT_CREATED,
					     plan->before, stored);
	if (status == DB_OK)
		status = audit_record(ctx->db, ctx->actor_user_id, ctx->actor, "contacts",
				      json_integer_value(json_object_get(stored, "id")),
				      plan->before ? "update" : "create", plan->before, stored);
	json_decref(stored);
	return status;
}

/* ================================================================ the passes */

/* Calls the progress callback every CONTACTS_IMPORT_PROGRESS_EVERY rows, and at the end. */
static void report_progress(struct import_context *ctx, const char *phase, size_t done,
			    size_t total, bool final)
{
	bool step = done % CONTACTS_IMPORT_PROGRESS_EVERY == 0;
	if (ctx->options->progress && done && (final ? !step : step))
		ctx->options->progress(ctx->options->progress_context, phase, done, total);
}

/*
 * One pass over the text: checks (and in the second pass writes) every data row.
 * Returns a db_status; row errors are in the report.
 */
static int run_pass(struct import_context *ctx, const char *data, size_t len)
{
	struct csv_reader reader;
	struct csv_record record;
	csv_reader_init(&reader, data, len);
	csv_record_init(&record);
	int status = DB_OK;
	size_t rows = 0;
	int read = csv_read_record(&reader, &record);
	if (read == 1 && !ctx->writing)
		read_header(ctx, &record);
	else if (read == 0)
		import_error(ctx, 1, "(header)", "the file is empty: a header row is needed");
	/* with a bad header the rows cannot be read as meant: report the header alone */
	bool header_failed = ctx->failed;
	while (status == DB_OK && read == 1 && !header_failed) {
		if (ctx->failed && json_array_size(ctx->report->errors) >= CONTACTS_IMPORT_MAX_ERRORS)
			break;
		read = csv_read_record(&reader, &record);
		if (read != 1)
			break;
		if (csv_record_blank(&record))
			continue;
		if (record.count > ctx->column_count) {
			import_error(ctx, record.line, "(row)", "more cells (%zu) than columns (%zu)",
				     record.count, ctx->column_count);
			continue;
		}
		rows++;
		struct row_plan plan = { NULL, NULL, false };
		status = plan_row(ctx, &record, &plan);
		if (status == DB_OK && !ctx->failed) {
			if (ctx->writing) {
				status = write_row(ctx, &plan);
			} else if (plan.unchanged) {
				ctx->report->unchanged++;
			} else if (plan.before) {
				ctx->report->updated++;
			} else {
				ctx->report->created++;
			}
		}
		if (status != DB_OK && ctx->writing)
			import_error(ctx, record.line, "(row)", "cannot be written (database status %d)",
				     status);
		json_decref(plan.before);
		json_decref(plan.record);
		report_progress(ctx, ctx->writing ? "written" : "checked", rows,
				ctx->writing ? ctx->report->rows : 0, false);
	}
	if (read < 0)
		import_error(ctx, reader.error_line, "(file)", "%s", reader.error);
	if (!ctx->writing)
		ctx->report->rows = rows;
	report_progress(ctx, ctx->writing ? "written" : "checked", rows, ctx->report->rows, true);
	csv_record_release(&record);
	return status;
}

void contacts_import_report_init(struct contacts_import_report *report)
{
	memset(report, 0, sizeof(*report));
	report->errors = json_array();
}

void contacts_import_report_release(struct contacts_import_report *report)
{
	json_decref(report->errors);
	memset(report, 0, sizeof(*report));
}

json_t *contacts_import_report_to_json(const struct contacts_import_report *report)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:O, s:b}", "rows",
			 (json_int_t)report->rows, "created", (json_int_t)report->created, "updated",
			 (json_int_t)report->updated, "unchanged", (json_int_t)report->unchanged,
			 "companies_created", (json_int_t)report->companies_created, "dry_run",
			 report->dry_run, "written", report->written, "errors", report->errors,
			 "errors_truncated", report->errors_truncated);
}

int contacts_import_csv(struct db *db, const char *data, size_t len,
			const struct contacts_import_options *options,
			struct contacts_import_report *report)
{
	report->dry_run = options->dry_run;
	struct import_context ctx = {
		.db = db,
		.options = options,
		.report = report,
		.caller = options->caller,
		.is_cli = options->caller == NULL,
		.actor_user_id = options->caller ? options->caller->user_id : 0,
		.actor = options->caller ? AUDIT_ACTOR_API : AUDIT_ACTOR_CLI,
		.emails = json_object(),
		.external_ids = json_object(),
		.companies = json_object(),
		.owners = json_object(),
		.may_create_companies = -1,
	};
	if (ctx.is_cli) {
		ctx.caller = &ctx.cli_caller;
		/* crmctl registers no routes: the references need the descriptors known */
		resource_register(&contacts_resource);
		resource_register(&companies_resource);
	}
	int status = db_begin_write(db);
	if (status != DB_OK)
		goto cleanup;
	status = run_pass(&ctx, data, len);
	if (status == DB_OK && !ctx.failed && !options->dry_run) {
		ctx.writing = true;
		/* the counts are the first pass's; companies are created again as they come */
		size_t companies = report->companies_created;
		status = run_pass(&ctx, data, len);
		report->companies_created = companies;
	}
	if (status == DB_OK && !ctx.failed && !options->dry_run) {
		status = db_commit(db);
		report->written = status == DB_OK;
	} else {
		db_rollback(db);
	}
cleanup:
	columns_release(&ctx);
	json_decref(ctx.emails);
	json_decref(ctx.external_ids);
	json_decref(ctx.companies);
	json_decref(ctx.owners);
	return status;
}

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

/* ================================================================ POST /api/v1/contacts/import */

/* Whether the body is CSV: text/csv (parameters such as charset allowed). */
static bool is_csv_content_type(const char *type)
{
	if (!type)
		return false;
	while (*type == ' ')
		type++;
	size_t len = strlen("text/csv");
	return strncasecmp(type, "text/csv", len) == 0 &&
	       (type[len] == '\0' || type[len] == ';' || type[len] == ' ');
}

/*
 * Answers 422: a problem+json whose "errors" are the rows' {line, field, message}, with
 * "rows", "written": false, "dry_run" and "errors_truncated".
 */
static void reply_import_errors(struct response *res, const struct contacts_import_report *report)
{
	size_t count = json_array_size(report->errors);
	json_t *first = json_array_get(report->errors, 0);
	struct buf detail = BUF_INIT;
	buf_addf(&detail, "line %lld: %s: %s",
		 (long long)json_integer_value(json_object_get(first, "line")),
		 json_string_value(json_object_get(first, "field")),
		 json_string_value(json_object_get(first, "message")));
	if (report->errors_truncated)
		buf_adds(&detail, " (and more)");
	else if (count > 1)
		buf_addf(&detail, " (and %zu more)", count - 1);
	buf_adds(&detail, "; nothing was imported");
	json_t *detail_text = json_string(detail.data);
	buf_release(&detail);
	json_t *problem = json_pack(
		"{s:s, s:s, s:i, s:o, s:O, s:I, s:b, s:b, s:b}", "type", "about:blank", "title",
		http_status_title(HTTP_UNPROCESSABLE), "status", HTTP_UNPROCESSABLE, "detail",
		detail_text ? detail_text : json_string("some rows are not valid"), "errors",
		report->errors, "rows", (json_int_t)report->rows, "written", false, "dry_run",
		report->dry_run, "errors_truncated", report->errors_truncated);
	size_t len;
	char *text = json_to_text(problem, &len);
	json_decref(problem);
	response_set_body(res, HTTP_UNPROCESSABLE, "application/problem+json", text, len);
}

/*
 * The import's query: dedupe and dry_run at most once each, map and ignore any number of
 * times (into `mapping`); the first problem goes into `error`.
 */
struct import_query {
	const char *dedupe, *dry_run;
	struct contacts_import_mapping *mapping;
	struct buf *error;
};

static int read_import_param(void *context, const char *name, const char *value)
{
	struct import_query *query = context;
	if (!name || !name[0]) /* "?a=1&&b=2": nothing asked */
		return 0;
	bool is_map = strcmp(name, "map") == 0, is_ignore = strcmp(name, "ignore") == 0;
	if (is_map || is_ignore)
		return contacts_import_mapping_add(query->mapping, value ? value : "", ':',
						   is_ignore, query->error) != 0;
	const char **slot = strcmp(name, "dedupe") == 0    ? &query->dedupe
			    : strcmp(name, "dry_run") == 0 ? &query->dry_run
							   : NULL;
	if (!slot) {
		buf_addf(query->error, "unknown query parameter '%.64s'", name);
		return 1;
	}
	if (*slot) {
		buf_addf(query->error, "query parameter '%.64s' is given twice", name);
		return 1;
	}
	*slot = value ? value : "";
	return 0;
}

static void handle_import(struct request *req, struct response *res)
{
	struct contacts_import_mapping mapping;
	contacts_import_mapping_init(&mapping);
	struct buf error = BUF_INIT;
	struct import_query query = { NULL, NULL, &mapping, &error };
	struct contacts_import_options options = { .caller = req->auth, .mapping = &mapping };
	struct contacts_import_report report;
	contacts_import_report_init(&report);
	if (request_query_each(req, read_import_param, &query) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, error.data);
		goto cleanup;
	}
	if (query.dedupe && strcmp(query.dedupe, "email") == 0) {
		options.dedupe = CONTACTS_IMPORT_DEDUPE_EMAIL;
	} else if (query.dedupe && strcmp(query.dedupe, "none") != 0) {
		response_problem(res, HTTP_BAD_REQUEST, "dedupe must be email or none");
		goto cleanup;
	}
	if (query.dry_run && strcmp(query.dry_run, "true") == 0) {
		options.dry_run = true;
	} else if (query.dry_run && strcmp(query.dry_run, "false") != 0) {
		response_problem(res, HTTP_BAD_REQUEST, "dry_run must be true or false");
		goto cleanup;
	}
	if (!is_csv_content_type(request_header(req, "Content-Type"))) {
		response_problem(res, HTTP_UNSUPPORTED_MEDIA_TYPE,
				 "the body must be CSV with Content-Type: text/csv");
		goto cleanup;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	if (perm_scope_for(db, req->auth, "contacts", PERM_WRITE) == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not create contacts");
		goto cleanup;
	}
	int status = contacts_import_csv(db, req->body, req->body_len, &options, &report);
	if (status != DB_OK) {
		operations_reply_db_status(res, status == DB_NOT_FOUND ? DB_ERROR : status);
	} else if (json_array_size(report.errors)) {
		reply_import_errors(res, &report);
	} else {
		response_json(res, HTTP_OK, contacts_import_report_to_json(&report));
	}
cleanup:
	contacts_import_report_release(&report);
	contacts_import_mapping_release(&mapping);
	buf_release(&error);
}

void contacts_import_routes_register(struct router *router)
{
	router_add(router, "POST", "/api/v1/contacts/import", handle_import, 0);
}
