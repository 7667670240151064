/*
 * db_internal.h - private to the connection files src/store/db*.c (db.c, db_statements.c,
 * db_transactions.c, db_migrate.c, db_files.c, db_budget.c): the connection's fields and what these
 * files call of each other. Other stores see a connection through db_sqlite.h only.
 */
#ifndef CRM_STORE_DB_INTERNAL_H
#define CRM_STORE_DB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/db_sqlite.h"

/* Every connection's page cache: 64 MiB (db_bulk_begin() raises it for one load). */
#define DB_CACHE_PRAGMA "PRAGMA cache_size=-65536"

#define DB_BUSY_TIMEOUT_MS 5000
/* WAL frames (of 4 KiB) past which a committing crmd thread checkpoints itself (wal_hook) */
#define DB_WAL_FRAMES_MAX 16384

struct cached_statement {
	char *sql;
	uint64_t hash;
	sqlite3_stmt *stmt;
};

struct db {
	sqlite3 *handle;
	struct cached_statement *cache; /* open addressing; size is a power of two */
	size_t cache_size;
	size_t cache_used;
	bool holds_write_mutex;         /* between db_begin_write() and commit or rollback */
	bool request_read;              /* the open transaction is db_request_begin_read()'s */
	bool batch;                     /* in a batch (db_batch_begin): transactions are savepoints */
	bool batch_savepoint;           /* a request's savepoint is open inside the batch */
	bool fts_deferred;              /* db_commit() leaves pending FTS rows (db_defer_fts) */
	int budget_ms;                  /* db_set_budget(): 0 when none is armed */
	struct timespec budget_deadline; /* CLOCK_MONOTONIC: statements stop past it */
	bool budget_spent;              /* the progress handler stopped a statement */
};

/* Runs `sql` (no parameters, no rows) without the cache; 0, or -1 (logged). (db.c) */
int db_exec_plain(struct db *db, const char *sql);

/* Finalizes every cached statement and empties the cache. (db_statements.c) */
void db_statements_clear(struct db *db);
/* Resets the statements left mid-step (each holds its read snapshot). (db_statements.c) */
void db_reset_busy_statements(struct db *db);

/* Commits the request's read transaction when one is open. (db_transactions.c) */
void db_request_read_end(struct db *db);
/* Lets the next writer of this process in, when this connection held the mutex. */
void db_write_mutex_release(struct db *db);

#endif
