/*
 * db.h - the storage seam: a database connection, its status codes, migrations and
 * transactions, with nothing of the engine in it.
 *
 * crmd keeps one connection per worker thread (db_thread()); crmctl opens one. Everything
 * above the store layer (core, http, jobs, analytics, cli) sees a `struct db` only through
 * this header and passes it to store functions; the SQL and the engine's own API live in
 * src/store/ (its private header src/store/db_sqlite.h).
 */
#ifndef CRM_DB_H
#define CRM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Errors a store reports to its caller (negative, 0 is success). */
enum db_status {
	DB_OK = 0,
	DB_ERROR = -1,      /* an unexpected database error (logged) */
	DB_NOT_FOUND = -2,  /* no such record */
	DB_CONFLICT = -3,   /* a unique constraint failed */
	DB_STALE = -4,      /* the record's version is not the one expected (If-Match) */
	DB_BUSY = -5,       /* the database stayed locked past the busy timeout */
	DB_FULL = -6,       /* disk full or an I/O error: the write did not happen */
	DB_INVALID = -7,    /* a reference or constraint failed: bad input */
	DB_TOO_COSTLY = -8, /* the request's budget of database work ran out (db_set_budget):
			       the statement was stopped and its transaction rolled back */
};

enum db_sync_mode {
	DB_SYNC_NORMAL, /* WAL + synchronous=NORMAL: a process crash loses nothing committed */
	DB_SYNC_FULL,   /* WAL + synchronous=FULL: a power loss loses nothing committed */
};

/*
 * Opens (creating if needed) the database at `path` with WAL, foreign keys and a busy
 * timeout. Does not migrate. Returns NULL and prints why on failure. Free with db_close().
 */
struct db *db_open(const char *path, enum db_sync_mode sync);
/* The same through the registered SQLite VFS named `vfs` (NULL: the default; for tests). */
struct db *db_open_vfs(const char *path, enum db_sync_mode sync, const char *vfs);
void db_close(struct db *db);

/*
 * Applies the embedded migrations that the database has not recorded yet, each in its
 * own transaction. On failure the failing migration leaves nothing behind; returns -1
 * and prints why. `applied_out` (optional) receives how many were applied.
 */
int db_migrate(struct db *db, int *applied_out);
/* The same with another table of migrations (for tests). */
struct embedded_file;
int db_migrate_from(struct db *db, const struct embedded_file *migrations, int *applied_out);
/* The highest migration version applied, or 0; -1 on error. */
int db_schema_version(struct db *db);
/* The highest migration version compiled into this binary. */
int db_latest_migration(void);

/*
 * Tidies the connection between two requests: resets statements left mid-step (a
 * statement that is not reset holds its read snapshot, which stops WAL checkpoints and
 * lets the WAL grow), rolls back a transaction left open (and logs it: a bug), and
 * finalizes every cached statement when the cache holds more than `cache_limit`, so that
 * SQL text shaped by clients (segment rules, filter combinations) cannot grow memory
 * without bound. Call only when no statement is in use.
 */
void db_request_finished(struct db *db, size_t cache_limit);

/*
 * Starts the read transaction of a request that only reads (crmd: GET of the generic
 * resources, before authentication), so that all of its statements read one snapshot in
 * one transaction instead of one each. Deferred: it takes SQLite's read lock at the first
 * read. It ends (commits) at db_request_finished() at the latest, and earlier, before
 * anything else, when the request writes after all: db_prepare() of a statement that is
 * not read-only (an API key's last-use touch), db_begin_write() and db_begin_read() end it
 * first. Does nothing inside another transaction. Returns a db_status (on failure the
 * request reads without it).
 */
int db_request_begin_read(struct db *db);
/* Whether the request's read transaction is open (for tests). */
bool db_request_reading(struct db *db);

/*
 * The budget of database work of the request running on this connection: from now on,
 * a statement still running `milliseconds` after this call is stopped (SQLite: a
 * progress handler; PostgreSQL would set statement_timeout) and reports DB_TOO_COSTLY; a
 * write transaction it was part of is rolled back whole. 0 disarms it (background jobs and
 * crmctl run without a budget). crmd arms it before each request's handler and disarms it
 * after (app.c); db_request_finished() disarms it too.
 */
void db_set_budget(struct db *db, int milliseconds);
/* The budget armed on this connection in milliseconds, or 0 when none is. */
int db_budget(struct db *db);
/*
 * Whether a statement was stopped because the budget ran out since db_set_budget() armed
 * it (a store that reported DB_ERROR for it is then known to mean DB_TOO_COSTLY).
 */
bool db_budget_spent(struct db *db);

/* Write transactions (BEGIN IMMEDIATE), and read transactions for consistent reads. */
int db_begin_write(struct db *db);
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/*
 * Whether a write transaction is open on this connection and has written (or holds the
 * write lock): what it reads then includes its own uncommitted changes.
 */
bool db_in_write_transaction(struct db *db);

/*
 * Batches (group commit, crmd's batch writer, write_batch.h): many requests' writes in one
 * transaction. db_batch_begin() opens it (BEGIN IMMEDIATE); until db_batch_commit() or
 * db_batch_rollback(), each db_begin_write()/db_begin_read() on this connection opens a
 * savepoint instead, db_commit() releases it and db_rollback() undoes only it, so a request
 * that fails takes nothing of the others with it, and the batch pays for one commit.
 * db_batch_request_finished() tidies after each request (rolls back a savepoint left
 * open). db_batch_intact() is false once SQLite itself rolled the whole transaction back
 * (disk full, I/O error): the requests before lost their writes too. db_batch_commit()
 * returns a db_status; on failure nothing of the batch is stored.
 */
int db_batch_begin(struct db *db);
/*
 * With `defer` true, db_commit() on this connection leaves the rows pending full-text
 * indexing (fts_pending.h) for a later flush instead of indexing them before COMMIT: the
 * batch writer flushes every few hundred milliseconds, and a search flushes first.
 */
void db_defer_fts(struct db *db, bool defer);
void db_batch_request_finished(struct db *db);
bool db_batch_intact(struct db *db);
int db_batch_commit(struct db *db);
void db_batch_rollback(struct db *db);

/*
 * Bulk mode, for one very large transaction on a database nobody else has open (crmctl
 * demo-data): a rollback journal instead of the WAL and a 1 GiB page cache. In WAL mode the
 * pages of a transaction that outgrows the cache spill into the WAL, and every later read
 * of a page searches the WAL's index from its newest end: at millions of pages that search
 * is most of the time. A rollback journal writes spilled pages to the database file itself
 * (new pages are not journaled at all), so the transaction stays all-or-nothing. Returns
 * true when the rollback journal is on (false, still in WAL mode with the larger cache,
 * when another connection has the database open). db_bulk_end(), called either way, goes
 * back to WAL mode and the usual cache.
 */
bool db_bulk_begin(struct db *db);
void db_bulk_end(struct db *db);

/*
 * Per-thread connections for the server: db_thread_setup() records the path and mode once
 * at start-up; db_thread() opens this thread's connection on first use and returns it
 * (NULL if it cannot be opened). db_thread_close() closes the calling thread's connection.
 */
void db_thread_setup(const char *path, enum db_sync_mode sync);
/*
 * crmd: the connections db_thread() opens from now on run no WAL checkpoint themselves
 * (a checkpoint fsyncs, and would stall the request, or the whole batch writer, that
 * happened to commit past the threshold); after each commit they call `wal_grew` with the
 * number of frames in the WAL instead, from the committing thread (checkpointer.h). Only
 * a WAL of 64 MiB or more (writes faster than the checkpoints) is checkpointed by the
 * committing thread itself, which bounds the WAL.
 */
void db_thread_checkpoints_elsewhere(void (*wal_grew)(int frames));
struct db *db_thread(void);
/*
 * One checkpoint that waits for nobody (the checkpointer thread): copies what it can of the
 * WAL into the database. Returns the frames left in the WAL after it, or -1 on an error
 * (logged); a busy database is not an error.
 */
int db_checkpoint_passive(struct db *db);
void db_thread_close(void);

/*
 * Online, consistent copy of the database into `destination` (SQLite backup API): one
 * step inside one read transaction, so the copy is the snapshot of the moment it began.
 */
int db_backup(struct db *db, const char *destination);

/*
 * Checks a database file before it replaces the live one (crmctl restore): it opens,
 * PRAGMA integrity_check says ok, and its schema version is one this binary can run
 * (1 .. db_latest_migration(); older ones are migrated by crmd at start). Opens the file
 * read-write: pass a private copy. Sets *schema_version when known. Returns 0, or -1
 * with a one-line reason in `why`.
 */
int db_check_file(const char *path, int *schema_version, char *why, size_t why_size);

/*
 * crmd calls this once at start: a shared flock() on the database file for the life of
 * the process (SQLite's own locks are fcntl() locks and unaffected), so that a restore
 * can tell that a server uses the file. Returns 0, or -1 (logged) when a restore holds
 * the file or it cannot be opened.
 */
int db_server_lock(const char *path);

/*
 * For crmctl restore: takes the exclusive flock() on the database file at `path`.
 * Returns 0 (*fd_out holds the lock, or -1 when the file does not exist; close it when
 * done), 1 when a running crmd holds the file, -1 on another error (errno).
 */
int db_restore_lock(const char *path, int *fd_out);


#endif
