/*
 * fts_pending.c - indexes the rows waiting in fts_pending (fts_pending.h): the data layer
 * behind the deferred full-text indexing of migration 0011, called by db_commit().
 *
 * One INSERT ... SELECT per FTS table indexes its pending rows in id order (FTS5 then
 * appends to its doclists and writes one segment for the lot), then one DELETE empties the
 * table. The column lists are those of the FTS tables (migrations 0001 and 0003).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/fts_pending.h"

#include <stddef.h>

#include "crm/db.h"
#include "crm/banned.h"

/* In this order: the DELETE last, once every table has taken its rows. */
static const char *const index_statements[] = {
	"INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title) "
	"SELECT id, first_name, last_name, email, phone, title FROM contacts "
	"WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'contacts_fts')",
	"INSERT INTO companies_fts (rowid, name, domain, industry) "
	"SELECT id, name, domain, industry FROM companies "
	"WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'companies_fts')",
	"INSERT INTO interactions_fts (rowid, subject, body) "
	"SELECT id, subject, body FROM interactions "
	"WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'interactions_fts')",
	"DELETE FROM fts_pending",
};

/* Whether the table exists: no before migration 0011 (a fresh database being migrated). */
static int pending_table_exists(struct db *db)
{
	return sqlite3_table_column_metadata(db_handle(db), "main", "fts_pending", NULL, NULL,
					     NULL, NULL, NULL, NULL) == SQLITE_OK;
}

static int run(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "full-text indexing of new rows");
}

int fts_pending_flush(struct db *db)
{
	if (!pending_table_exists(db))
		return DB_OK;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM fts_pending)");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	int pending = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "full-text indexing: pending rows");
	if (!pending)
		return DB_OK;
	int status = DB_OK;
	for (size_t i = 0;
	     status == DB_OK && i < sizeof(index_statements) / sizeof(*index_statements); i++)
		status = run(db, index_statements[i]);
	return status;
}

int fts_pending_index_for_search(struct db *db, const char *fts_table)
{
	if (!pending_table_exists(db))
		return DB_OK;
	sqlite3_stmt *stmt =
		db_prepare(db, "SELECT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = ?)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, fts_table);
	int rc = sqlite3_step(stmt);
	int pending = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "full-text indexing: pending rows");
	if (!pending)
		return DB_OK;
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
