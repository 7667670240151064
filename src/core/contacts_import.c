/*
 * contacts_import.c - CSV import of contacts (contacts_import.h), shared by the API and
 * crmctl. Columns and mapping: contacts_import_columns.c; export rows: contacts_export.c;
 * the HTTP handler: src/http/contacts_import_http.c.
 *
 * The import reads the text twice inside one write transaction: the first pass checks
 * every row with the contact resource's own rules (resource.h) and counts what would
 * happen; only when no row failed, the second pass writes each row, with its audit entry,
 * exactly as checked. Rows are never all held in memory at once, so a large file costs
 * the text and the small per-file sets (emails, external ids, company names) only.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_import.h"
#include "core/contacts_import_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
#include "crm/resource_save.h"
#include "crm/resource_store.h"
#include "crm/users.h"
#include "crm/banned.h"

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
		const struct contacts_import_mapping_entry *entry = contacts_import_mapping_find(mapping, header);
		bool known;
		if (entry) {
			used[entry - mapping->entries] = true;
			column->kind = COLUMN_IGNORED;
			known = !entry->target || contacts_import_column_from_name(entry->target, column);
		} else {
			known = contacts_import_column_from_name(header, column);
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

/* A cell's text for a field: the export's guards removed, trimmed of spaces and tabs. */
static char *cell_text(const char *cell)
{
	char *unguarded = csv_cell_unguard(cell);
	char *text = contacts_import_cell_trimmed(unguarded);
	free(unguarded);
	return text;
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
			char *tag = contacts_import_cell_trimmed(start); /* unguarded already */
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

/* The import's writer for the write pipeline: the API caller, or crmctl (trusted). */
static struct write_actor import_actor(const struct import_context *ctx)
{
	return (struct write_actor){ ctx->db, ctx->is_cli ? NULL : ctx->caller,
				     ctx->actor_user_id, ctx->actor };
}

/*
 * Stores a checked record through the write pipeline (resource_apply(): store, event,
 * audit). Sets *stored (new reference) when not NULL. Returns a db_status.
 */
static int import_apply(const struct import_context *ctx, const struct resource *resource,
			const json_t *before, const json_t *record, json_t **stored)
{
	struct write_actor actor = import_actor(ctx);
	struct outcome outcome = OUTCOME_INIT;
	json_t *written = NULL;
	bool changed;
	int status = DB_OK;
	if (resource_apply(&actor, resource, before ? RESOURCE_UPDATE : RESOURCE_CREATE, record,
			   before, record, &written, &changed, &outcome) != 0)
		status = outcome.db_status != DB_OK ? outcome.db_status : DB_ERROR;
	outcome_release(&outcome);
	if (stored)
		*stored = written;
	else
		json_decref(written);
	return status;
}

/* Whether the caller's write scope on `resource` covers a record owned by `owner_id`. */
static bool caller_may_write(struct import_context *ctx, const char *resource, int64_t owner_id)
{
	struct write_actor actor = import_actor(ctx);
	return resource_actor_may(&actor, resource_find(resource), PERM_WRITE, owner_id);
}

/* The owner of records this import creates without one: the caller, or crmctl's --owner. */
static int64_t default_owner(const struct import_context *ctx)
{
	return ctx->is_cli ? ctx->options->default_owner_id : ctx->caller->user_id;
}

/*
 * The oldest company called `name` that the caller may read (crmctl: any): *id, 0 when none.
 * One the caller may not read counts as absent, as everywhere in the API, so that the
 * import's answer does not tell whether a hidden one exists. Returns a db_status.
 */
static int find_readable_company(struct import_context *ctx, const char *name, int64_t *id)
{
	for (int64_t after = 0;; after = *id) {
		int status = contacts_import_store_find_company(ctx->db, name, after, id);
		if (status != DB_OK || !*id || ctx->is_cli)
			return status;
		int usable = resource_reference_usable(ctx->db, ctx->caller, "companies", *id);
		if (usable != 0)
			return usable > 0 ? DB_OK : usable;
	}
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
		status = find_readable_company(ctx, name, id);
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
	status = import_apply(ctx, &companies_resource, NULL, record, &stored);
	if (status == DB_OK) {
		*id = json_integer_value(json_object_get(stored, "id"));
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
	if (status != DB_OK && status != DB_NOT_FOUND)
		return status;
	/* one answer whether or not an account outside the caller's scope has the address */
	if (status == DB_NOT_FOUND || !caller_may_write(ctx, "contacts", user.id)) {
		import_error(ctx, line, "owner_email",
			     "is not the address of a user you may give contacts to");
		return DB_OK;
	}
	*id = user.id;
	json_object_set_new(ctx->owners, email, json_integer(user.id));
	return DB_OK;
}

/* Whether reference `value` of `field` may be used: exists (and is readable for the API). */
static int reference_usable(struct import_context *ctx, const struct resource_field *field,
			    int64_t value)
{
	return resource_reference_usable(ctx->db, ctx->is_cli ? NULL : ctx->caller,
					 field->references, value);
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
 * The row's company (by name) and owner (by email) as ids in `body`. Sets *company_pending
 * when the company is still to be created (first pass). Returns a db_status, or 1 when the
 * row stops here (after a row error).
 */
static int resolve_row_names(struct import_context *ctx, size_t line, json_t *body,
			     const struct row_extras *extras, bool *company_pending)
{
	if (extras->company) {
		int64_t company_id;
		int status = resolve_company(ctx, line, extras->company, &company_id);
		if (status != DB_OK)
			return status;
		if (company_id)
			json_object_set_new(body, "company_id", json_integer(company_id));
		else
			*company_pending = true;
	}
	if (extras->owner_email) {
		int64_t owner_id;
		int status = resolve_owner(ctx, line, extras->owner_email, &owner_id);
		if (status != DB_OK || !owner_id)
			return status != DB_OK ? status : 1;
		json_object_set_new(body, "owner_id", json_integer(owner_id));
	}
	return DB_OK;
}

/*
 * With --dedupe email: the existing contact with the row's address, into plan->before (a
 * contact the caller may not see is not theirs to update: the row creates anew). Returns
 * a db_status; a repeated address within the file is a row error.
 */
static int find_existing(struct import_context *ctx, size_t line, const json_t *body,
			 struct row_plan *plan)
{
	const json_t *email = json_object_get(body, "email");
	if (ctx->options->dedupe != CONTACTS_IMPORT_DEDUPE_EMAIL || !json_is_string(email))
		return DB_OK;
	int status = DB_OK;
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
	if (status == DB_OK && plan->before && !ctx->is_cli &&
	    !perm_scope_covers(ctx->db, perm_scope_for(ctx->db, ctx->caller, "contacts", PERM_READ),
			       ctx->caller, resource_record_owner(&contacts_resource, plan->before))) {
		json_decref(plan->before);
		plan->before = NULL;
	}
	return status;
}

/*
 * plan->record from the row's `body`: merged into the existing contact, or a new one
 * owned by the default owner; then the contacts' own rules and REQUIRED (into `errors`).
 */
static void build_record(struct import_context *ctx, const json_t *body, struct row_plan *plan,
			 struct field_errors *errors)
{
	if (plan->before) {
		plan->record = resource_record_merge(&contacts_resource, plan->before, body, errors);
	} else {
		plan->record = resource_record_from_body(&contacts_resource, body, errors);
		if (!json_object_get(plan->record, "owner_id")) {
			int64_t owner = default_owner(ctx);
			json_object_set_new(plan->record, "owner_id",
					    owner > 0 ? json_integer(owner) : json_null());
		}
	}
	if (!field_errors_any(errors) && contacts_resource.prepare) {
		struct resource_change change = {
			.operation = plan->before ? RESOURCE_UPDATE : RESOURCE_CREATE,
			.db = ctx->db, .caller = ctx->caller, .user_id = ctx->actor_user_id,
			.input = body, .before = plan->before, .record = plan->record,
		};
		contacts_resource.prepare(&change, errors);
	}
	resource_record_check_required(&contacts_resource, plan->record, errors);
}

/* Changed references must name records the caller may use (errors). A db_status. */
static int check_references(struct import_context *ctx, const struct row_plan *plan,
			    struct field_errors *errors)
{
	for (const struct resource_field *field = contacts_resource.fields; field->name; field++) {
		const json_t *value = json_object_get(plan->record, field->name);
		if (field->type != RESOURCE_FIELD_REFERENCE || !json_is_integer(value) ||
		    !value_changed(plan->record, plan->before, field->name))
			continue;
		int usable = reference_usable(ctx, field, json_integer_value(value));
		if (usable < 0)
			return usable;
		if (!usable)
			field_errors_add(errors, field->name, "no such %s",
					 strcmp(field->references, "users") == 0 ? "user" : "company");
	}
	return DB_OK;
}

/* Whether the caller may change the existing contact and give it (or a new one) its owner. */
static bool owner_allowed(struct import_context *ctx, size_t line, const struct row_plan *plan)
{
	int64_t owner = resource_record_owner(&contacts_resource, plan->record);
	int64_t old_owner = plan->before ? resource_record_owner(&contacts_resource, plan->before) : 0;
	if (plan->before && !caller_may_write(ctx, "contacts", old_owner)) {
		import_error(ctx, line, "email", "you may not change the contact with this address");
		return false;
	}
	if ((!plan->before || owner != old_owner) && !caller_may_write(ctx, "contacts", owner)) {
		import_error(ctx, line, "owner_id", "you may not %s a contact owned by that user",
			     plan->before ? "give" : "create");
		return false;
	}
	return true;
}

/* A changed external_id must be unique in the file and among the contacts. A db_status. */
static int check_external_id(struct import_context *ctx, size_t line, const struct row_plan *plan)
{
	const json_t *external_id = json_object_get(plan->record, "external_id");
	if (!json_is_string(external_id) || !value_changed(plan->record, plan->before, "external_id"))
		return DB_OK;
	const char *text = json_string_value(external_id);
	json_t *seen = json_object_get(ctx->external_ids, text);
	if (seen && !ctx->writing) {
		import_error(ctx, line, "external_id", "the same external_id as on line %lld",
			     (long long)json_integer_value(seen));
		return DB_OK;
	}
	if (!ctx->writing)
		json_object_set_new(ctx->external_ids, text, json_integer((json_int_t)line));
	int taken = resource_store_value_taken(
		ctx->db, &contacts_resource, resource_field_find(&contacts_resource, "external_id"),
		external_id, plan->before ? json_integer_value(json_object_get(plan->before, "id")) : 0);
	if (taken < 0)
		return taken;
	if (taken)
		import_error(ctx, line, "external_id", "is already used by another contact");
	return DB_OK;
}

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
	status = resolve_row_names(ctx, line, body, &extras, &company_pending);
	if (status == 1)
		status = DB_OK;
	if (status != DB_OK || ctx->failed)
		goto done;
	status = find_existing(ctx, line, body, plan);
	if (status != DB_OK || ctx->failed)
		goto done;
	build_record(ctx, body, plan, &errors);
	status = check_references(ctx, plan, &errors);
	if (status != DB_OK)
		goto done;
	if (field_errors_any(&errors)) {
		add_field_errors(ctx, line, &errors);
		goto done;
	}
	if (!owner_allowed(ctx, line, plan))
		goto done;
	status = check_external_id(ctx, line, plan);
	if (status != DB_OK || ctx->failed)
		goto done;
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

/* Writes a planned row (contact.created / .updated and its audit entry, as the API). */
static int write_row(struct import_context *ctx, const struct row_plan *plan)
{
	if (plan->unchanged)
		return DB_OK;
	return import_apply(ctx, &contacts_resource, plan->before, plan->record, NULL);
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

