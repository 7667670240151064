/*
 * db_sqlite.h - the store layer's private view of a connection: SQLite's own API, the
 * statement cache and binding helpers. Included only by files under src/store/ (and unit
 * tests of them); everything above the store sees include/crm/db.h.
 */
#ifndef CRM_STORE_DB_SQLITE_H
#define CRM_STORE_DB_SQLITE_H

#include <sqlite3.h>
#include <stdint.h>

#include "crm/db.h"

sqlite3 *db_handle(struct db *db);

/*
 * Returns a prepared statement for `sql` from the connection's cache, preparing it on
 * first use. The statement is reset and its bindings cleared; the caller binds, steps and
 * must not finalize it. Returns NULL (and logs) if `sql` does not compile.
 * For tests: with CRM_QUERY_PLAN_LOG=<file> in the environment, the EXPLAIN QUERY PLAN of
 * each newly prepared statement is appended to that file as a JSON line (db_statements.c).
 */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);

/* Runs one statement without parameters or rows (cached, like db_prepare()); a db_status. */
int db_run(struct db *db, const char *sql, const char *context);

/* Maps a SQLite result code to a db_status, logging unexpected errors with `context`. */
int db_status_from_sqlite(struct db *db, int rc, const char *context);

/* The rowid of the last insert on this connection. */
int64_t db_last_insert_id(struct db *db);
/* Rows changed by the last statement. */
int db_changes(struct db *db);

/*
 * Steps `stmt` once (a statement without rows: an insert, update or delete) and resets
 * it. Returns the db_status of the step (unexpected errors logged with `context`).
 */
int db_step_done(struct db *db, sqlite3_stmt *stmt, const char *context);

/* Binds a NUL-terminated string or NULL at 1-based `index`. */
void db_bind_text(sqlite3_stmt *stmt, int index, const char *text);
struct json_t;
/* Binds a JSON string, integer or real (borrowed) at `index`; anything else as NULL. */
void db_bind_json_scalar(sqlite3_stmt *stmt, int index, const struct json_t *value);
/* Column text, or NULL. */
const char *db_column_text(sqlite3_stmt *stmt, int column);


#endif
