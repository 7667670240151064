/*
 * fts_pending.c - indexes the rows waiting in fts_pending (fts_pending.h): the data layer
 * behind the deferred full-text indexing of migration 0011, called by db_commit().
 *
 * One INSERT ... SELECT per FTS table indexes its pending rows in id order (FTS5 then
 * appends to its doclists and writes one segment for the lot), then a DELETE forgets them.
 * The tables and their columns come from the resource descriptors (fts_table,
 * search_columns), registered with resource_register(); the statements are built from
 * those compiled-in names once, at registration.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/fts_pending.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/log.h"
#include "crm/banned.h"

/* The full-text tables of the registered resources (fts_pending_register()), each with the
 * statements that index its pending rows and forget them. Filled at start-up, read-only
 * while serving. */
#define FTS_TABLES_MAX 32
static struct {
	const char *fts_table;
	char index_sql[1024], forget_sql[160];
} fts_tables[FTS_TABLES_MAX];
static int fts_table_count;

/* Appends `text` to `out` (of `size` bytes, NUL-terminated); false when it does not fit. */
static bool append(char *out, size_t size, const char *text)
{
	size_t used = strlen(out), len = strlen(text);
	if (used + len >= size)
		return false;
	memcpy(out + used, text, len + 1);
	return true;
}

/* Appends "a, b, c" from a NULL-terminated list of names. */
static bool append_columns(char *out, size_t size, const char *const *columns)
{
	bool fits = true;
	for (int i = 0; columns[i]; i++)
		fits = fits && append(out, size, i ? ", " : "") && append(out, size, columns[i]);
	return fits;
}

void fts_pending_register(const char *fts_table, const char *table, const char *const *columns)
{
	for (int i = 0; i < fts_table_count; i++)
		if (strcmp(fts_tables[i].fts_table, fts_table) == 0)
			return;
	assert(fts_table_count < FTS_TABLES_MAX && columns && columns[0]);
	char *sql = fts_tables[fts_table_count].index_sql;
	size_t size = sizeof(fts_tables[fts_table_count].index_sql);
	sql[0] = '\0';
	bool fits = append(sql, size, "INSERT INTO ") && append(sql, size, fts_table) &&
		    append(sql, size, " (rowid, ") && append_columns(sql, size, columns) &&
		    append(sql, size, ") SELECT id, ") && append_columns(sql, size, columns) &&
		    append(sql, size, " FROM ") && append(sql, size, table) &&
		    append(sql, size, " WHERE id IN (SELECT row_id FROM fts_pending WHERE "
				      "fts_table = '") &&
		    append(sql, size, fts_table) && append(sql, size, "')");
	char *forget = fts_tables[fts_table_count].forget_sql;
	forget[0] = '\0';
	fits = fits && append(forget, sizeof(fts_tables[0].forget_sql),
			      "DELETE FROM fts_pending WHERE fts_table = '") &&
	       append(forget, sizeof(fts_tables[0].forget_sql), fts_table) &&
	       append(forget, sizeof(fts_tables[0].forget_sql), "'");
	if (!fits || strchr(fts_table, '\'') != NULL) {
		log_error("full-text table %s: names too long for its statements", fts_table);
		return;
	}
	fts_tables[fts_table_count++].fts_table = fts_table;
}

/* Whether the table exists: no before migration 0011 (a fresh database being migrated). */
static bool pending_table_exists(struct db *db)
{
	return sqlite3_table_column_metadata(db_handle(db), "main", "fts_pending", NULL, NULL,
					     NULL, NULL, NULL, NULL) == SQLITE_OK;
}

/* Whether rows are pending: of `fts_table`, or of any table when it is NULL. */
static int rows_pending(struct db *db, const char *fts_table, bool *pending)
{
	*pending = false;
	if (!pending_table_exists(db))
		return DB_OK;
	sqlite3_stmt *stmt = db_prepare(
		db, fts_table ? "SELECT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = ?)"
			      : "SELECT EXISTS (SELECT 1 FROM fts_pending)");
	if (!stmt)
		return DB_ERROR;
	if (fts_table)
		db_bind_text(stmt, 1, fts_table);
	int rc = sqlite3_step(stmt);
	*pending = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK
				: db_status_from_sqlite(db, rc, "full-text indexing: pending rows");
}

/*
 * Rows still pending after every registered table took its own: rows of a table that no
 * registered resource has (a database of another build). They stay pending, which keeps
 * the invariant (they are not in their index), and are reported once.
 */
static int report_unknown_rows(struct db *db)
{
	static atomic_bool reported;
	bool pending;
	int status = rows_pending(db, NULL, &pending);
	if (status == DB_OK && pending && !atomic_exchange(&reported, true))
		log_error("full-text indexing: fts_pending holds rows of a table that no registered "
			  "resource searches; they are left unindexed");
	return status;
}

int fts_pending_flush(struct db *db)
{
	bool pending;
	int status = rows_pending(db, NULL, &pending);
	if (status != DB_OK || !pending)
		return status;
	for (int i = 0; status == DB_OK && i < fts_table_count; i++) {
		bool rows = true;
		status = rows_pending(db, fts_tables[i].fts_table, &rows);
		if (status == DB_OK && rows)
			status = db_run(db, fts_tables[i].index_sql, "full-text indexing of new rows");
		if (status == DB_OK && rows)
			status = db_run(db, fts_tables[i].forget_sql, "full-text indexing of new rows");
	}
	return status == DB_OK ? report_unknown_rows(db) : status;
}

int fts_pending_flush_now(struct db *db)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	status = fts_pending_flush(db);
	if (status != DB_OK) {
		db_rollback(db);
		return status;
	}
	return db_commit(db);
}

int fts_pending_index_for_search(struct db *db, const char *fts_table)
{
	bool pending;
	int status = rows_pending(db, fts_table, &pending);
	return status == DB_OK && pending ? fts_pending_flush_now(db) : status;
}
