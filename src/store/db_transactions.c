/*
 * db_transactions.c - transactions on a connection (db.h): write transactions behind the
 * process's write mutex, read transactions, the request's deferred read transaction, and
 * batches (group commit) in which each request's transaction is a savepoint. A commit
 * indexes the transaction's new rows for full-text search first (fts_pending.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "store/db_internal.h"

#include <pthread.h>
#include <time.h>

#include "crm/fts_pending.h"
#include "crm/log.h"
#include "crm/banned.h"

/* ---------------------------------------------------------------- request read transaction */

/*
 * A GET by id used to read in three transactions of its own (the API key, the grants, the
 * record), each taking and releasing SQLite's locks on the file and the WAL index: system
 * calls and, between two workers, futex hand-offs, about half of crmd's CPU time per request
 * (issue 6). One deferred transaction around the request reads everything from one snapshot
 * for the price of one. It never holds more than a read lock (a write, a write transaction
 * or an explicit read transaction ends it first, and is then exactly what it would have been
 * without it), and it never outlives the request: db_request_finished() commits it, so a
 * WAL checkpoint is never held back for longer than a request.
 */
int db_request_begin_read(struct db *db)
{
	if (db->request_read || !sqlite3_get_autocommit(db->handle))
		return DB_OK; /* already in one (or in the caller's own transaction) */
	int status = db_begin_read(db);
	db->request_read = status == DB_OK;
	return status;
}

void db_request_read_end(struct db *db)
{
	if (!db->request_read)
		return;
	db->request_read = false;
	if (sqlite3_get_autocommit(db->handle))
		return;
	sqlite3_stmt *stmt = db_prepare(db, "COMMIT");
	int rc = stmt ? sqlite3_step(stmt) : SQLITE_ERROR;
	if (stmt)
		sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) { /* cannot happen for a read; never leave it open */
		db_status_from_sqlite(db, rc, "end of the request's read transaction");
		db_rollback(db);
	}
}

bool db_request_reading(struct db *db)
{
	return db->request_read && !sqlite3_get_autocommit(db->handle);
}

bool db_in_write_transaction(struct db *db)
{
	return sqlite3_txn_state(db->handle, "main") == SQLITE_TXN_WRITE;
}

/* ---------------------------------------------------------------- the write mutex */

/*
 * The writers of one process queue on a mutex before BEGIN IMMEDIATE. Without it a worker
 * that finds SQLite's write lock taken is put to sleep by the busy handler (1, 2, 5, 10 ...
 * ms, polling) although the lock is free again within a millisecond: with two workers under
 * a write-heavy load, half the time no worker ran and p99 reached half a second (issue 6).
 * The mutex hands over at once. The wait is bounded like the busy timeout (then DB_BUSY);
 * other processes (crmctl) still meet SQLite's own lock and busy timeout.
 */
static pthread_mutex_t write_mutex = PTHREAD_MUTEX_INITIALIZER;

static int write_mutex_acquire(struct db *db)
{
	if (db->holds_write_mutex)
		return DB_OK;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DB_BUSY_TIMEOUT_MS / 1000;
	if (pthread_mutex_timedlock(&write_mutex, &deadline) != 0) {
		log_error("database busy: another write of this process took too long");
		return DB_BUSY;
	}
	db->holds_write_mutex = true;
	return DB_OK;
}

void db_write_mutex_release(struct db *db)
{
	if (!db->holds_write_mutex)
		return;
	db->holds_write_mutex = false;
	pthread_mutex_unlock(&write_mutex);
}

/* ---------------------------------------------------------------- batches (group commit) */

/*
 * In a batch, the transactions of the requests run as savepoints of one transaction (see
 * db.h). A request's "begin" opens the savepoint "request", its "commit" releases it and
 * its "rollback" undoes it. SQLite may end the whole transaction on its own after some
 * errors (disk full, I/O errors): db_batch_intact() tells the batch writer.
 */
static int batch_savepoint_begin(struct db *db)
{
	if (db->batch_savepoint || sqlite3_get_autocommit(db->handle))
		return DB_ERROR; /* nested, or the batch's transaction is gone */
	int status = db_run(db, "SAVEPOINT request", "begin (batch)");
	db->batch_savepoint = status == DB_OK;
	return status;
}

/* Releases the savepoint (rollback_sql NULL) or rolls back to it first. */
static int batch_savepoint_end(struct db *db, const char *rollback_sql)
{
	if (!db->batch_savepoint)
		return DB_OK;
	db->batch_savepoint = false;
	if (sqlite3_get_autocommit(db->handle))
		return DB_FULL; /* SQLite rolled the whole transaction back (see above) */
	if (rollback_sql)
		db_run(db, rollback_sql, "rollback (batch)");
	int status = db_run(db, "RELEASE request", "commit (batch)");
	if (status != DB_OK && !rollback_sql) {
		db_run(db, "ROLLBACK TO request", "rollback (batch)");
		db_run(db, "RELEASE request", "rollback (batch)");
	}
	return status;
}

void db_defer_fts(struct db *db, bool defer)
{
	db->fts_deferred = defer;
}

int db_batch_begin(struct db *db)
{
	if (db->batch)
		return DB_ERROR;
	int status = db_begin_write(db);
	if (status == DB_OK) {
		db->batch = true;
		db->batch_savepoint = false;
	}
	return status;
}

void db_batch_request_finished(struct db *db)
{
	db_reset_busy_statements(db);
	if (db->batch_savepoint) {
		log_error("a transaction was left open by a request in a batch; rolled back");
		batch_savepoint_end(db, "ROLLBACK TO request");
	}
}

bool db_batch_intact(struct db *db)
{
	return db->batch && !sqlite3_get_autocommit(db->handle);
}

int db_batch_commit(struct db *db)
{
	db_batch_request_finished(db);
	db->batch = false;
	if (sqlite3_get_autocommit(db->handle)) {
		db_write_mutex_release(db);
		return DB_FULL;
	}
	return db_commit(db);
}

void db_batch_rollback(struct db *db)
{
	db_batch_request_finished(db);
	db->batch = false;
	db_rollback(db);
}

/* ---------------------------------------------------------------- transactions */

int db_begin_write(struct db *db)
{
	if (db->batch)
		return batch_savepoint_begin(db);
	db_request_read_end(db);
	int status = write_mutex_acquire(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, "BEGIN IMMEDIATE");
	if (!stmt) {
		db_write_mutex_release(db);
		return DB_ERROR;
	}
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "begin");
	if (status != DB_OK && sqlite3_get_autocommit(db->handle))
		db_write_mutex_release(db);
	return status;
}

int db_begin_read(struct db *db)
{
	if (db->batch)
		return batch_savepoint_begin(db);
	db_request_read_end(db); /* a snapshot of its own, as without the request's */
	sqlite3_stmt *stmt = db_prepare(db, "BEGIN");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "begin");
}

int db_commit(struct db *db)
{
	if (db->batch)
		return batch_savepoint_end(db, NULL);
	/* the transaction's new rows into the full-text indexes first (fts_pending.h) */
	if (!db->fts_deferred && sqlite3_txn_state(db->handle, NULL) == SQLITE_TXN_WRITE) {
		int flushed = fts_pending_flush(db);
		if (flushed != DB_OK) {
			db_rollback(db);
			return flushed;
		}
	}
	sqlite3_stmt *stmt = db_prepare(db, "COMMIT");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "commit");
	if (status != DB_OK)
		db_rollback(db);
	else
		db_write_mutex_release(db);
	if (sqlite3_get_autocommit(db->handle))
		db->request_read = false;
	return status;
}

void db_rollback(struct db *db)
{
	if (db->batch) {
		batch_savepoint_end(db, "ROLLBACK TO request");
		return;
	}
	if (!sqlite3_get_autocommit(db->handle)) {
		sqlite3_stmt *stmt = db_prepare(db, "ROLLBACK");
		if (stmt) {
			sqlite3_step(stmt);
			sqlite3_reset(stmt);
		}
	}
	if (sqlite3_get_autocommit(db->handle)) {
		db_write_mutex_release(db);
		db->request_read = false;
	}
}
