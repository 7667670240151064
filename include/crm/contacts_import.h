/*
 * contacts_import.h - contacts in and out as CSV: the import shared by
 * POST /api/v1/contacts/import and `crmctl import contacts`, and the export rows of
 * `crmctl export contacts`.
 *
 *   POST /api/v1/contacts/import?dedupe=email&dry_run=true&map=H:F&ignore=H   (text/csv)
 *   -> 200 {"rows","created","updated","unchanged","companies_created","dry_run",
 *           "written","errors":[]}
 *   -> 422 problem+json with "errors":[{"line","field","message"}], "rows" and
 *      "written": false when any row is bad: then nothing was written.
 * The body is at most 1 MiB (HTTP_MAX_BODY; larger files: crmctl import contacts).
 * dedupe is email or none (the default); dry_run is true or false (the default).
 *
 * The file. RFC 4180 (csv.h): a header row, then one contact per row; CRLF or LF, a UTF-8
 * BOM, quoted cells with commas and line breaks. Header names are matched without case,
 * with spaces and '-' read as '_', to the contact's fields and common aliases:
 *   first_name (First Name, firstname, given_name), last_name (Last Name, surname,
 *   family_name), email (E-mail, email_address), phone (telephone, mobile), title
 *   (job_title, position), company_id, company (a company name: company_name,
 *   organization), owner_id, owner_email (owner), lifecycle, relationship_level, tags
 *   (separated by ';'), source, consent_email (true/false/yes/no/1/0), consent_recorded_at,
 *   external_id, custom (a JSON object), custom.<key> (one custom member, as text).
 * The read-only columns of an export (id, created_at, updated_at, version) are ignored,
 * so that an export imports again; any other unknown column is an error (line 1), as is a
 * column given twice. An empty cell means "no value": null on create, unchanged on update.
 *
 * Explicit mapping (struct contacts_import_mapping; crmctl --map "HEADER=FIELD" and
 * --ignore HEADER, the API's ?map=HEADER:FIELD and ?ignore=HEADER, each repeatable): a
 * mapped header (matched like the names above) means FIELD, any of the names above or
 * custom.<key>, whatever its own name would mean; an ignored one is skipped. A target
 * that is no field, a header mapped or ignored twice, more than CONTACTS_IMPORT_MAX_MAPPINGS
 * entries, and (at line 1) a mapped or ignored header that the file does not have are
 * errors.
 * A cell that export guarded against formulas ('=..., x;'+..., ...) loses its guard quotes.
 *
 * Rows are checked with the contact's own rules (resource.h: the same validation,
 * normalization and prepare hook as the API), plus: company by name is the company with
 * exactly that name (the oldest of namesakes), created when there is none (audited, owned
 * like the contact); company_id wins over company when both are given. owner_email names
 * a user. external_id must be unique, in the database and in the file.
 *
 * All or nothing: every row is checked first, inside one write transaction; if any row
 * has an error, nothing is written and the report lists the errors (line, field, message;
 * at most CONTACTS_IMPORT_MAX_ERRORS). Otherwise every row is written in that same
 * transaction, each create or update with its own audit entry (actor "api" or "crmctl").
 * With dedupe on email, a row whose email (without case) belongs to an existing contact
 * updates that contact (the oldest one with that address) instead of creating another;
 * the same email twice in one file is an error. A dry run checks everything, reports what
 * would happen, and writes nothing. Erased contacts are never matched.
 *
 * Permissions (API): the caller's write scope on contacts must cover the owner of each
 * created contact and of each updated one (and its new owner); creating a company needs
 * the write scope on companies; owner_id defaults to the caller. crmctl checks none and
 * its contacts have no owner unless given (--owner).
 */
#ifndef CRM_CONTACTS_IMPORT_H
#define CRM_CONTACTS_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/buf.h"

struct db;
struct router;
struct auth_context;

#define CONTACTS_IMPORT_MAX_ERRORS 100
#define CONTACTS_IMPORT_MAX_MAPPINGS 200 /* --map/--ignore (?map=/?ignore=) entries */
#define CONTACTS_IMPORT_PROGRESS_EVERY 10000

enum contacts_import_dedupe {
	CONTACTS_IMPORT_DEDUPE_NONE,
	CONTACTS_IMPORT_DEDUPE_EMAIL,
};

/* Header mapping: header -> target column name, or NULL target for an ignored header. */
struct contacts_import_mapping_entry {
	char *header; /* owned */
	char *target; /* owned; NULL: ignored */
};
struct contacts_import_mapping {
	struct contacts_import_mapping_entry *entries; /* owned */
	size_t count;
};

void contacts_import_mapping_init(struct contacts_import_mapping *mapping);
void contacts_import_mapping_release(struct contacts_import_mapping *mapping);
/*
 * Adds `spec`, "HEADER<separator>FIELD" split at the last `separator` ('=' for crmctl,
 * ':' for the API), or with `ignore` the header `spec` to skip. Returns 0, or -1 with a
 * message for the user in `error` (unknown target field, empty header, header twice).
 */
int contacts_import_mapping_add(struct contacts_import_mapping *mapping, const char *spec,
				char separator, bool ignore, struct buf *error);

struct contacts_import_options {
	enum contacts_import_dedupe dedupe;
	/* Optional explicit header mapping (NULL: none). Borrowed. */
	const struct contacts_import_mapping *mapping;
	bool dry_run;
	/* The API caller (permissions, defaults, audit), or NULL for crmctl. Borrowed. */
	const struct auth_context *caller;
	/* crmctl: the owner of contacts and companies without one (0: none). */
	int64_t default_owner_id;
	/*
	 * Optional: called every CONTACTS_IMPORT_PROGRESS_EVERY rows of each phase and once
	 * at its end. `phase` is "checked" or "written"; `total` is 0 while unknown.
	 */
	void (*progress)(void *context, const char *phase, size_t done, size_t total);
	void *progress_context;
};

/* What an import did (or, on a dry run or with errors, would have done). */
struct contacts_import_report {
	size_t rows;              /* data rows (blank rows are skipped) */
	size_t created, updated, unchanged, companies_created;
	bool dry_run;
	bool written;             /* the rows were committed */
	json_t *errors;           /* array of {"line","field","message"}; owned */
	bool errors_truncated;    /* more errors than listed */
};

void contacts_import_report_init(struct contacts_import_report *report);
void contacts_import_report_release(struct contacts_import_report *report);
/* The report as the API answers it (new reference). */
json_t *contacts_import_report_to_json(const struct contacts_import_report *report);

/*
 * Imports `len` bytes of CSV at `data` as described above. Opens and ends its own write
 * transaction. Returns DB_OK with the report filled (check report->errors: when it is not
 * empty nothing was written), or a db_status when the database failed (DB_BUSY, DB_FULL,
 * ...; nothing was written, report->errors may name the row).
 */
int contacts_import_csv(struct db *db, const char *data, size_t len,
			const struct contacts_import_options *options,
			struct contacts_import_report *report);

/*
 * Export: the CSV header row (with CRLF) of the columns below, and one row per contact
 * (`contact` a stored record, borrowed; `company_name` its company's name or NULL).
 * Columns: id, first_name, last_name, email, phone, title, company_id, company, owner_id,
 * lifecycle, relationship_level, tags (joined with ';'), source, consent_email,
 * consent_recorded_at, external_id, custom (JSON), created_at, updated_at. Text cells are
 * guarded against formulas (csv_add_cell).
 */
void contacts_export_csv_header(struct buf *out);
void contacts_export_csv_row(struct buf *out, const json_t *contact, const char *company_name);

/* Registers POST /api/v1/contacts/import. */
void contacts_import_routes_register(struct router *router);

/* ---- the data layer (src/store/contacts_import_store.c) ----------------------------------------- */

/*
 * The oldest contact that is not erased whose email equals `email` without ASCII case:
 * *id (0 when none). Returns a db_status.
 */
int contacts_import_store_find_email(struct db *db, const char *email, int64_t *id);
/*
 * The oldest company named exactly `name` whose id is above `after_id` (0: any): *id (0 when
 * none). Returns a db_status.
 */
int contacts_import_store_find_company(struct db *db, const char *name, int64_t after_id,
				       int64_t *id);

#endif
