/*
 * fuzz_contacts_import.c - the contacts CSV import (contacts_import_csv) on an in-memory
 * database holding a company and a contact. The first byte picks dedupe (email or none)
 * and whether it is a dry run; the rest is the file. Properties: the database never
 * fails; a report with errors wrote nothing, and one without adds up (rows = created +
 * updated + unchanged) and was written unless it was a dry run; the report serialises.
 * FUZZ_VERBOSE=1 prints each report.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <string.h>

#include "crm/contacts_import.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/log.h"
#include "fuzz.h"
#include "crm/banned.h"

#define IMPORTS_PER_DATABASE 2000

static struct db *db;
static int imports;

static void database_setup(void)
{
	db_close(db);
	db = db_open(":memory:", DB_SYNC_NORMAL);
	if (!db || db_migrate(db, NULL) != 0)
		fuzz_fail("cannot create the database");
	static const char seed[] =
		"INSERT INTO companies (name, tags, custom, created_at, updated_at) VALUES "
		"('Acme', '[]', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
		"INSERT INTO contacts (first_name, email, tags, custom, created_at, updated_at) "
		"VALUES ('Ann', 'ann@example.com', '[]', '{}', '2026-01-01T00:00:00Z', "
		"'2026-01-01T00:00:00Z');";
	if (sqlite3_exec(db_handle(db), seed, NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail("cannot seed: %s", sqlite3_errmsg(db_handle(db)));
}

static int64_t count_contacts(void)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM contacts");
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		fuzz_fail("cannot count");
	int64_t count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db) {
		log_configure(LOG_FORMAT_TEXT, LOG_LEVEL_ERROR);
		database_setup();
	}
	if (size < 1)
		return 0;
	if (++imports % IMPORTS_PER_DATABASE == 0)
		database_setup();
	struct contacts_import_options options = {
		.dedupe = data[0] & 1 ? CONTACTS_IMPORT_DEDUPE_EMAIL : CONTACTS_IMPORT_DEDUPE_NONE,
		.dry_run = (data[0] & 6) != 0, /* three in four are dry runs */
	};
	int64_t before = count_contacts();
	struct contacts_import_report report;
	contacts_import_report_init(&report);
	int status = contacts_import_csv(db, (const char *)data + 1, size - 1, &options, &report);
	if (status != DB_OK)
		fuzz_fail("the import failed with database status %d", status);
	int64_t after = count_contacts();
	size_t errors = json_array_size(report.errors);
	if (errors || options.dry_run) {
		if (report.written || after != before)
			fuzz_fail("%zu errors (dry run %d) but %lld contacts written", errors,
				  options.dry_run, (long long)(after - before));
	} else {
		if (report.rows != report.created + report.updated + report.unchanged)
			fuzz_fail("%zu rows: %zu created, %zu updated, %zu unchanged", report.rows,
				  report.created, report.updated, report.unchanged);
		if (!report.written || after - before != (int64_t)report.created)
			fuzz_fail("%zu created, %lld more contacts", report.created,
				  (long long)(after - before));
	}
	json_t *answer = contacts_import_report_to_json(&report);
	char *text = json_dumps(answer, JSON_COMPACT);
	if (!text)
		fuzz_fail("the report does not serialise");
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "%s\n", text);
	free(text);
	json_decref(answer);
	contacts_import_report_release(&report);
	return 0;
}
