/*
 * fts_pending.c - indexes the rows waiting in fts_pending (fts_pending.h): the data layer
 * behind the deferred full-text indexing of migration 0011, called by db_commit().
 *
 * One INSERT ... SELECT per FTS table indexes its pending rows in id order (FTS5 then
 * appends to its doclists and writes one segment for the lot), then one DELETE empties the
 * table. The column lists are those of the FTS tables (migrations 0001, 0003 and 0014).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/fts_pending.h"

#include <stdbool.h>
#include <stddef.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

/* In this order: the DELETE (table NULL) last, once every table has taken its rows. Each
 * INSERT runs only when rows of its table are pending: a database being migrated has no
 * table of a later migration (tasks_fts before 0014), and no rows pending for it. */
static const struct {
	const char *fts_table, *sql;
} index_statements[] = {
	{ "contacts_fts",
	  "INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title) "
	  "SELECT id, first_name, last_name, email, phone, title FROM contacts "
	  "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'contacts_fts')" },
	{ "companies_fts",
	  "INSERT INTO companies_fts (rowid, name, domain, industry) "
	  "SELECT id, name, domain, industry FROM companies "
	  "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'companies_fts')" },
	{ "interactions_fts",
	  "INSERT INTO interactions_fts (rowid, subject, body) "
	  "SELECT id, subject, body FROM interactions "
	  "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'interactions_fts')" },
	{ "tasks_fts",
	  "INSERT INTO tasks_fts (rowid, title) "
	  "SELECT id, title FROM tasks "
	  "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'tasks_fts')" },
	{ "opportunities_fts",
	  "INSERT INTO opportunities_fts (rowid, name, lost_reason) "
	  "SELECT id, name, lost_reason FROM opportunities "
	  "WHERE id IN (SELECT row_id FROM fts_pending WHERE fts_table = 'opportunities_fts')" },
	{ NULL, "DELETE FROM fts_pending" },
};

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

int fts_pending_flush(struct db *db)
{
	bool pending;
	int status = rows_pending(db, NULL, &pending);
	for (size_t i = 0; status == DB_OK && pending &&
			   i < sizeof(index_statements) / sizeof(*index_statements); i++) {
		bool rows = true;
		if (index_statements[i].fts_table)
			status = rows_pending(db, index_statements[i].fts_table, &rows);
		if (status == DB_OK && rows)
			status = db_run(db, index_statements[i].sql,
					"full-text indexing of new rows");
	}
	return status;
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
