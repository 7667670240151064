/*
 * db.c - SQLite connections (db.h, db_sqlite.h): opening one with its pragmas, closing it,
 * result codes as db_status, binding helpers, bulk mode, and the per-thread connections of
 * crmd with their WAL hook and checkpoint. Beside it, sharing db_internal.h:
 * db_statements.c (the statement cache), db_transactions.c (transactions, batches, the
 * request's read transaction), db_migrate.c (migrations) and db_files.c (backup and the
 * checks and locks of a restore).
 *
 * Every connection runs in WAL mode with foreign keys on and a busy timeout.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/db_internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/log.h"
#include "crm/banned.h"

sqlite3 *db_handle(struct db *db)
{
	return db->handle;
}

int db_exec_plain(struct db *db, const char *sql)
{
	char *message = NULL;
	int rc = sqlite3_exec(db->handle, sql, NULL, NULL, &message);
	if (rc != SQLITE_OK) {
		log_error("sqlite: %s: %s", sql, message ? message : sqlite3_errstr(rc));
		sqlite3_free(message);
		return -1;
	}
	return 0;
}

/*
 * Process-wide SQLite settings, before its first use. Memory statistics off: with them every
 * allocation of every connection takes one global mutex, and the worker threads queued on it
 * (futex calls on every request under load; nothing here reads the statistics).
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

struct db *db_open(const char *path, enum db_sync_mode sync)
{
	return db_open_vfs(path, sync, NULL);
}

struct db *db_open_vfs(const char *path, enum db_sync_mode sync, const char *vfs)
{
	pthread_once(&sqlite_once, sqlite_configure);
	sqlite3 *handle = NULL;
	int rc = sqlite3_open_v2(path, &handle,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
	if (rc != SQLITE_OK) {
		log_error("cannot open database %s: %s", path,
			  handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
		sqlite3_close(handle);
		return NULL;
	}
	struct db *db = xcalloc(1, sizeof(*db));
	db->handle = handle;
	sqlite3_busy_timeout(handle, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(handle, 1);
	if (db_exec_plain(db, "PRAGMA journal_mode=WAL") != 0 ||
	    db_exec_plain(db, sync == DB_SYNC_FULL ? "PRAGMA synchronous=FULL"
						   : "PRAGMA synchronous=NORMAL") != 0 ||
	    db_exec_plain(db, "PRAGMA foreign_keys=ON") != 0 ||
	    db_exec_plain(db, "PRAGMA temp_store=MEMORY") != 0 ||
	    /* No memory map (mmap_size stays 0): in WAL mode a connection that finds the
	     * database changed by another one since its last read drops its cache and unmaps
	     * the file, and under mixed reads and writes that is every request: 1M contacts,
	     * mixed 90/10 load, 15,489/s without the map, 12,036/s with 2 GiB mapped (pure
	     * GET by id was faster with it, 43,000 against 32,000/s; docs/performance.md). */
	    db_exec_plain(db, DB_CACHE_PRAGMA) != 0 ||
	    /* After a checkpoint has emptied it, a WAL that a burst of writes (an import) grew
	     * is cut back to 64 MiB instead of keeping its largest size on disk for good. */
	    db_exec_plain(db, "PRAGMA journal_size_limit=67108864") != 0 ||
	    /* erased personal data (gdpr.h) must not survive in freed pages */
	    db_exec_plain(db, "PRAGMA secure_delete=ON") != 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	db_write_mutex_release(db);
	db_statements_clear(db);
	free(db->cache);
	sqlite3_close(db->handle);
	free(db);
}

int db_run(struct db *db, const char *sql, const char *context)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, context);
}

int db_status_from_sqlite(struct db *db, int rc, const char *context)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return DB_OK;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return DB_CONFLICT;
		return DB_INVALID;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_error("database busy: %s", context);
		return DB_BUSY;
	case SQLITE_INTERRUPT:
		log_info("statement stopped: the request's budget of %d ms ran out (%s)",
			 db->budget_ms, context);
		return DB_TOO_COSTLY;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		log_error("database write failed (%s): %s", context, sqlite3_errmsg(db->handle));
		return DB_FULL;
	default:
		log_error("database error (%s): %s", context, sqlite3_errmsg(db->handle));
		return DB_ERROR;
	}
}

int64_t db_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->handle);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->handle);
}

void db_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text)
		sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, index);
}

void db_bind_json_scalar(sqlite3_stmt *stmt, int index, const json_t *value)
{
	if (json_is_string(value))
		sqlite3_bind_text(stmt, index, json_string_value(value),
				  (int)json_string_length(value), SQLITE_TRANSIENT);
	else if (json_is_integer(value))
		sqlite3_bind_int64(stmt, index, json_integer_value(value));
	else if (json_is_real(value))
		sqlite3_bind_double(stmt, index, json_real_value(value));
	else
		sqlite3_bind_null(stmt, index);
}

const char *db_column_text(sqlite3_stmt *stmt, int column)
{
	return (const char *)sqlite3_column_text(stmt, column);
}

/* ---------------------------------------------------------------- bulk mode */

/* Sets the journal mode; true when the database is then in `mode`. */
static bool set_journal_mode(struct db *db, const char *pragma, const char *mode)
{
	sqlite3_stmt *stmt = NULL;
	bool done = false;
	if (sqlite3_prepare_v2(db->handle, pragma, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW) {
		const char *now = (const char *)sqlite3_column_text(stmt, 0);
		done = now && strcmp(now, mode) == 0;
	}
	sqlite3_finalize(stmt);
	return done;
}

bool db_bulk_begin(struct db *db)
{
	db_exec_plain(db, "PRAGMA cache_size=-1048576"); /* allocated as used */
	return set_journal_mode(db, "PRAGMA journal_mode=DELETE", "delete");
}

void db_bulk_end(struct db *db)
{
	db_exec_plain(db, DB_CACHE_PRAGMA);
	if (!set_journal_mode(db, "PRAGMA journal_mode=WAL", "wal"))
		log_error("cannot switch the database back to WAL mode: %s",
			  sqlite3_errmsg(db->handle));
}

/* ---------------------------------------------------------------- per-thread connections */

static char *thread_db_path;
static enum db_sync_mode thread_db_sync;
static pthread_key_t thread_db_key;
static pthread_once_t thread_db_once = PTHREAD_ONCE_INIT;

static void close_thread_connection(void *db)
{
	db_close(db);
}

static void create_thread_key(void)
{
	pthread_key_create(&thread_db_key, close_thread_connection);
}

void db_thread_setup(const char *path, enum db_sync_mode sync)
{
	pthread_once(&thread_db_once, create_thread_key);
	free(thread_db_path);
	thread_db_path = xstrdup(path);
	thread_db_sync = sync;
}

/* See db_thread_checkpoints_elsewhere(); set once before the threads start. */
static void (*thread_wal_grew)(int frames);

/*
 * After each commit of a db_thread() connection. Past DB_WAL_FRAMES_MAX the committing
 * thread checkpoints itself, as SQLite's automatic checkpoint would: when writes come
 * faster than the checkpoint thread can copy them back (random pages into a large file,
 * and its fsync), the WAL would otherwise grow without bound (1.5 GiB in 15 s of creates
 * at 1,000,000 contacts); this way the writers are slowed down to what the disk takes.
 * RESTART waits (busy timeout) for a checkpoint the checkpoint thread is running and for
 * readers of older snapshots, so that the next write starts the WAL from its beginning.
 */
static int wal_hook(void *unused, sqlite3 *handle, const char *name, int frames)
{
	(void)unused;
	if (thread_wal_grew)
		thread_wal_grew(frames);
	if (frames >= DB_WAL_FRAMES_MAX)
		sqlite3_wal_checkpoint_v2(handle, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	return SQLITE_OK;
}

void db_thread_checkpoints_elsewhere(void (*wal_grew)(int frames))
{
	thread_wal_grew = wal_grew;
}

struct db *db_thread(void)
{
	struct db *db = pthread_getspecific(thread_db_key);
	if (!db) {
		db = db_open(thread_db_path, thread_db_sync);
		if (db && thread_wal_grew) {
			/* no checkpoint in this thread: the checkpointer does them */
			sqlite3_wal_autocheckpoint(db->handle, 0);
			sqlite3_wal_hook(db->handle, wal_hook, NULL);
		}
		if (db)
			pthread_setspecific(thread_db_key, db);
	}
	return db;
}

void db_thread_close(void)
{
	struct db *db = pthread_getspecific(thread_db_key);
	if (db) {
		pthread_setspecific(thread_db_key, NULL);
		db_close(db);
	}
}

int db_checkpoint_passive(struct db *db)
{
	int wal_frames = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(db_handle(db), NULL, SQLITE_CHECKPOINT_PASSIVE,
					   &wal_frames, &copied);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		log_warn("WAL checkpoint failed: %s", sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	return wal_frames - copied;
}
