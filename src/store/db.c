/*
 * db.c - SQLite connections, migrations, the prepared-statement cache and transactions,
 * online backup, and the checks and locks of a restore.
 *
 * Every connection runs in WAL mode with foreign keys on and a busy timeout. Statements
 * are cached per connection, keyed by their SQL text, so hot paths prepare nothing.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock() */
#include "crm/db.h"
#include "store/db_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/embed.h"
#include "crm/fts_pending.h"
#include "crm/log.h"
#include "crm/banned.h"

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
};

static void write_mutex_release(struct db *db);
static void request_read_end(struct db *db);

sqlite3 *db_handle(struct db *db)
{
	return db->handle;
}

static uint64_t hash_text(const char *text)
{
	uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
	for (; *text; text++) {
		hash ^= (unsigned char)*text;
		hash *= 1099511628211ULL;
	}
	return hash;
}

static int exec_plain(struct db *db, const char *sql)
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
	if (exec_plain(db, "PRAGMA journal_mode=WAL") != 0 ||
	    exec_plain(db, sync == DB_SYNC_FULL ? "PRAGMA synchronous=FULL"
						: "PRAGMA synchronous=NORMAL") != 0 ||
	    exec_plain(db, "PRAGMA foreign_keys=ON") != 0 ||
	    exec_plain(db, "PRAGMA temp_store=MEMORY") != 0 ||
	    /* No memory map (mmap_size stays 0): in WAL mode a connection that finds the
	     * database changed by another one since its last read drops its cache and unmaps
	     * the file, and under mixed reads and writes that is every request: 1M contacts,
	     * mixed 90/10 load, 15,489/s without the map, 12,036/s with 2 GiB mapped (pure
	     * GET by id was faster with it, 43,000 against 32,000/s; docs/performance.md). */
	    exec_plain(db, DB_CACHE_PRAGMA) != 0 ||
	    /* After a checkpoint has emptied it, a WAL that a burst of writes (an import) grew
	     * is cut back to 64 MiB instead of keeping its largest size on disk for good. */
	    exec_plain(db, "PRAGMA journal_size_limit=67108864") != 0 ||
	    /* erased personal data (gdpr.h) must not survive in freed pages */
	    exec_plain(db, "PRAGMA secure_delete=ON") != 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	write_mutex_release(db);
	for (size_t i = 0; i < db->cache_size; i++) {
		if (db->cache[i].sql) {
			sqlite3_finalize(db->cache[i].stmt);
			free(db->cache[i].sql);
		}
	}
	free(db->cache);
	sqlite3_close(db->handle);
	free(db);
}

/* ---------------------------------------------------------------- query plans (tests) */

/*
 * With CRM_QUERY_PLAN_LOG=<file> in the environment, the EXPLAIN QUERY PLAN of every
 * statement a connection prepares is appended to the file as one JSON line
 * {"sql": "...", "plan": ["SEARCH contacts USING INDEX ...", ...]}, so that
 * tests/api/test_query_plans.py can drive every list and filter of the API through crmd
 * and fail on a full scan of a big table: the plans checked are those of the SQL the stores
 * really build. Without the variable this costs one check per new statement (statements
 * are prepared once per connection and then cached).
 */
static pthread_once_t plan_log_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t plan_log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *plan_log;

static void plan_log_open(void)
{
	const char *path = getenv("CRM_QUERY_PLAN_LOG");
	if (path && path[0] && !(plan_log = fopen(path, "ae")))
		log_error("cannot open CRM_QUERY_PLAN_LOG %s: %s", path, strerror(errno));
}

static void plan_log_write(struct db *db, const char *sql)
{
	pthread_once(&plan_log_once, plan_log_open);
	if (!plan_log)
		return;
	struct buf explain = BUF_INIT;
	buf_addf(&explain, "EXPLAIN QUERY PLAN %s", sql);
	json_t *plan = json_array();
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(db->handle, explain.data, -1, &stmt, NULL) == SQLITE_OK)
		while (sqlite3_step(stmt) == SQLITE_ROW)
			json_array_append_new(plan, json_string(db_column_text(stmt, 3)));
	sqlite3_finalize(stmt);
	buf_release(&explain);
	json_t *line = json_pack("{s:s, s:o}", "sql", sql, "plan", plan);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	if (text) {
		pthread_mutex_lock(&plan_log_lock);
		fprintf(plan_log, "%s\n", text);
		fflush(plan_log);
		pthread_mutex_unlock(&plan_log_lock);
	}
	free(text);
	json_decref(line);
}

static void cache_insert(struct db *db, char *sql, uint64_t hash, sqlite3_stmt *stmt);

static void cache_grow(struct db *db)
{
	struct cached_statement *old = db->cache;
	size_t old_size = db->cache_size;
	db->cache_size = old_size ? old_size * 2 : 64;
	db->cache = xcalloc(db->cache_size, sizeof(*db->cache));
	db->cache_used = 0;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].sql)
			cache_insert(db, old[i].sql, old[i].hash, old[i].stmt);
	free(old);
}

static void cache_insert(struct db *db, char *sql, uint64_t hash, sqlite3_stmt *stmt)
{
	if ((db->cache_used + 1) * 4 > db->cache_size * 3)
		cache_grow(db);
	size_t mask = db->cache_size - 1;
	size_t slot = (size_t)hash & mask;
	while (db->cache[slot].sql)
		slot = (slot + 1) & mask;
	db->cache[slot].sql = sql;
	db->cache[slot].hash = hash;
	db->cache[slot].stmt = stmt;
	db->cache_used++;
}

/* The statement for `sql` from the cache, reset; NULL when it is not cached yet. */
static sqlite3_stmt *cache_find(struct db *db, const char *sql, uint64_t hash)
{
	if (!db->cache_size)
		return NULL;
	size_t mask = db->cache_size - 1;
	for (size_t slot = (size_t)hash & mask; db->cache[slot].sql; slot = (slot + 1) & mask) {
		if (db->cache[slot].hash == hash && strcmp(db->cache[slot].sql, sql) == 0) {
			sqlite3_stmt *stmt = db->cache[slot].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	return NULL;
}

sqlite3_stmt *db_prepare(struct db *db, const char *sql)
{
	uint64_t hash = hash_text(sql);
	sqlite3_stmt *stmt = cache_find(db, sql, hash);
	if (!stmt) {
		int rc = sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
					    NULL);
		if (rc != SQLITE_OK) {
			log_error("sqlite prepare failed: %s: %s", sqlite3_errmsg(db->handle), sql);
			sqlite3_finalize(stmt);
			return NULL;
		}
		plan_log_write(db, sql);
		cache_insert(db, xstrdup(sql), hash, stmt);
	}
	/* A statement that writes ends the request's read transaction first (see
	 * db_request_begin_read): it then runs on its own, as it would without one. */
	if (db->request_read && !sqlite3_stmt_readonly(stmt))
		request_read_end(db);
	return stmt;
}

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

static void request_read_end(struct db *db)
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

/* Resets the statements left mid-step (each holds its read snapshot). */
static void reset_busy_statements(struct db *db)
{
	for (sqlite3_stmt *stmt = sqlite3_next_stmt(db->handle, NULL); stmt;
	     stmt = sqlite3_next_stmt(db->handle, stmt))
		if (sqlite3_stmt_busy(stmt))
			sqlite3_reset(stmt);
}

void db_request_finished(struct db *db, size_t cache_limit)
{
	reset_busy_statements(db);
	request_read_end(db);
	if (!sqlite3_get_autocommit(db->handle)) {
		log_error("a transaction was left open after a request; rolled back");
		db_rollback(db);
	}
	write_mutex_release(db); /* held only inside a transaction: never past a request */
	if (db->cache_used <= cache_limit)
		return;
	for (size_t i = 0; i < db->cache_size; i++) {
		if (db->cache[i].sql) {
			sqlite3_finalize(db->cache[i].stmt);
			free(db->cache[i].sql);
		}
	}
	memset(db->cache, 0, db->cache_size * sizeof(*db->cache));
	db->cache_used = 0;
}

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
	exec_plain(db, "PRAGMA cache_size=-1048576"); /* allocated as used */
	return set_journal_mode(db, "PRAGMA journal_mode=DELETE", "delete");
}

void db_bulk_end(struct db *db)
{
	exec_plain(db, DB_CACHE_PRAGMA);
	if (!set_journal_mode(db, "PRAGMA journal_mode=WAL", "wal"))
		log_error("cannot switch the database back to WAL mode: %s",
			  sqlite3_errmsg(db->handle));
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

static void write_mutex_release(struct db *db)
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
	reset_busy_statements(db);
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
		write_mutex_release(db);
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

int db_begin_write(struct db *db)
{
	if (db->batch)
		return batch_savepoint_begin(db);
	request_read_end(db);
	int status = write_mutex_acquire(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, "BEGIN IMMEDIATE");
	if (!stmt) {
		write_mutex_release(db);
		return DB_ERROR;
	}
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "begin");
	if (status != DB_OK && sqlite3_get_autocommit(db->handle))
		write_mutex_release(db);
	return status;
}

int db_begin_read(struct db *db)
{
	if (db->batch)
		return batch_savepoint_begin(db);
	request_read_end(db); /* a snapshot of its own, as without the request's */
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
		write_mutex_release(db);
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
		write_mutex_release(db);
		db->request_read = false;
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

/* ---------------------------------------------------------------- migrations */

/* "0003_contacts.sql" -> 3; -1 when the name does not start with a number. */
static int migration_version(const char *name)
{
	int version = 0, digits = 0;
	for (; name[digits] >= '0' && name[digits] <= '9'; digits++)
		version = version * 10 + (name[digits] - '0');
	return digits ? version : -1;
}

int db_latest_migration(void)
{
	int latest = 0;
	for (const struct embedded_file *m = embedded_migrations; m->name; m++) {
		int version = migration_version(m->name);
		if (version > latest)
			latest = version;
	}
	return latest;
}

static int ensure_migrations_table(struct db *db)
{
	return exec_plain(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      " version INTEGER PRIMARY KEY,"
			      " name TEXT NOT NULL,"
			      " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))");
}

static int migration_is_applied(struct db *db, int version, bool *applied)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
	if (!stmt)
		return -1;
	sqlite3_bind_int(stmt, 1, version);
	int rc = sqlite3_step(stmt);
	*applied = rc == SQLITE_ROW;
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/*
 * A migration whose first line holds this marker rebuilds tables that others reference
 * (SQLite's 12-step ALTER TABLE): with foreign keys on, its DROP TABLE would delete, and
 * cascade to, the referencing rows. It runs with them off, checked before the commit.
 */
#define MIGRATION_FOREIGN_KEYS_OFF "-- crm:foreign-keys-off"

static bool migration_foreign_keys_off(const struct embedded_file *migration)
{
	const char *text = (const char *)migration->data;
	const char *end = strchr(text, '\n');
	const char *marker = strstr(text, MIGRATION_FOREIGN_KEYS_OFF);
	return marker && (!end || marker < end);
}

/* 0 when PRAGMA foreign_key_check finds nothing, -1 on a violation or an error. */
static int check_foreign_keys(struct db *db, const char *name)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(db->handle, "PRAGMA foreign_key_check", -1, &stmt, NULL) !=
	    SQLITE_OK) {
		log_error("migration %s: foreign key check: %s", name, sqlite3_errmsg(db->handle));
		return -1;
	}
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		log_error("migration %s breaks a foreign key: table %s, row %lld", name,
			  db_column_text(stmt, 0), (long long)sqlite3_column_int64(stmt, 1));
	else if (rc != SQLITE_DONE)
		log_error("migration %s: foreign key check: %s", name, sqlite3_errmsg(db->handle));
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Applies one migration in its own transaction; nothing remains of it on failure. */
static int apply_migration_transaction(struct db *db, const struct embedded_file *migration,
				       int version, bool foreign_keys_off, bool *applied_now)
{
	*applied_now = false;
	if (db_begin_write(db) != DB_OK)
		return -1;
	bool applied;
	if (migration_is_applied(db, version, &applied) != 0)
		goto fail;
	if (applied) { /* another process got there first */
		db_rollback(db);
		return 0;
	}
	char *message = NULL;
	if (sqlite3_exec(db->handle, (const char *)migration->data, NULL, NULL, &message) !=
	    SQLITE_OK) {
		log_error("migration %s failed: %s", migration->name, message ? message : "?");
		sqlite3_free(message);
		goto fail;
	}
	if (foreign_keys_off && check_foreign_keys(db, migration->name) != 0)
		goto fail;
	sqlite3_stmt *stmt =
		db_prepare(db, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
	if (!stmt)
		goto fail;
	sqlite3_bind_int(stmt, 1, version);
	db_bind_text(stmt, 2, migration->name);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE || db_commit(db) != DB_OK)
		goto fail;
	*applied_now = true;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* PRAGMA foreign_keys is a no-op inside a transaction: switched around it, when asked. */
static int apply_migration(struct db *db, const struct embedded_file *migration, int version,
			   bool *applied_now)
{
	*applied_now = false;
	bool foreign_keys_off = migration_foreign_keys_off(migration);
	if (foreign_keys_off && exec_plain(db, "PRAGMA foreign_keys=OFF") != 0)
		return -1;
	int rc = apply_migration_transaction(db, migration, version, foreign_keys_off,
					     applied_now);
	if (foreign_keys_off && exec_plain(db, "PRAGMA foreign_keys=ON") != 0)
		rc = -1;
	return rc;
}

int db_migrate(struct db *db, int *applied_out)
{
	return db_migrate_from(db, embedded_migrations, applied_out);
}

int db_migrate_from(struct db *db, const struct embedded_file *migrations, int *applied_out)
{
	int applied_count = 0;
	if (applied_out)
		*applied_out = 0;
	if (ensure_migrations_table(db) != 0)
		return -1;
	/* The table is ordered by the Makefile; apply by ascending version regardless. */
	int previous = 0;
	for (;;) {
		const struct embedded_file *next = NULL;
		int next_version = 0;
		for (const struct embedded_file *m = migrations; m->name; m++) {
			int version = migration_version(m->name);
			if (version > previous && (!next || version < next_version)) {
				next = m;
				next_version = version;
			}
		}
		if (!next)
			break;
		bool applied_now;
		if (apply_migration(db, next, next_version, &applied_now) != 0)
			return -1;
		if (applied_now)
			applied_count++;
		previous = next_version;
	}
	if (applied_out)
		*applied_out = applied_count;
	return 0;
}

int db_schema_version(struct db *db)
{
	if (ensure_migrations_table(db) != 0)
		return -1;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	int version = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return version;
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

/* ---------------------------------------------------------------- backup */

int db_backup(struct db *db, const char *destination)
{
	sqlite3 *target = NULL;
	int rc = sqlite3_open_v2(destination, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 NULL);
	if (rc != SQLITE_OK) {
		log_error("cannot create %s: %s", destination, sqlite3_errstr(rc));
		sqlite3_close(target);
		return -1;
	}
	sqlite3_backup *backup = sqlite3_backup_init(target, "main", db->handle, "main");
	if (!backup) {
		log_error("backup failed: %s", sqlite3_errmsg(target));
		sqlite3_close(target);
		return -1;
	}
	/* One step copies everything under one read transaction, opened explicitly first: in
	 * WAL mode writers go on, and the copy is the snapshot of the moment the transaction
	 * began (stepping in pieces would restart on every write by another process). Every
	 * transaction committed before the backup started is in it. */
	bool in_read = db_begin_read(db) == DB_OK;
	if (in_read) {
		sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM sqlite_master");
		if (stmt) { /* the snapshot starts with the first read */
			sqlite3_step(stmt);
			sqlite3_reset(stmt);
		}
	}
	int attempts = 0;
	do {
		rc = sqlite3_backup_step(backup, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++attempts < 250);
	sqlite3_backup_finish(backup);
	if (in_read)
		db_rollback(db);
	if (rc != SQLITE_DONE) {
		log_error("backup failed: %s", sqlite3_errstr(rc));
		sqlite3_close(target);
		return -1;
	}
	sqlite3_close(target);
	return 0;
}

/* ---------------------------------------------------------------- restore support */

int db_check_file(const char *path, int *schema_version, char *why, size_t why_size)
{
	*schema_version = 0;
	why[0] = '\0';
	sqlite3 *handle = NULL;
	int result = -1;
	int rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_size, "cannot open it: %s", sqlite3_errstr(rc));
		goto cleanup;
	}
	sqlite3_busy_timeout(handle, DB_BUSY_TIMEOUT_MS);
	sqlite3_stmt *stmt = NULL;
	rc = sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		snprintf(why, why_size, "it is not a readable database: %s", sqlite3_errmsg(handle));
		sqlite3_finalize(stmt);
		goto cleanup;
	}
	const char *verdict = (const char *)sqlite3_column_text(stmt, 0);
	if (!verdict || strcmp(verdict, "ok") != 0) {
		snprintf(why, why_size, "the integrity check failed: %s", verdict ? verdict : "?");
		sqlite3_finalize(stmt);
		goto cleanup;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	rc = sqlite3_prepare_v2(handle, "SELECT max(version) FROM schema_migrations", -1, &stmt,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (version <= 0) {
		snprintf(why, why_size, "it is not a CRM database (no schema version)");
		goto cleanup;
	}
	*schema_version = version;
	if (version > db_latest_migration()) {
		snprintf(why, why_size,
			 "its schema version %d is newer than this program's (%d): use a newer crmctl",
			 version, db_latest_migration());
		goto cleanup;
	}
	result = 0;
cleanup:
	sqlite3_close(handle);
	return result;
}

/* The database file's descriptor held by the serving process; never closed (closing any
 * descriptor of the file would drop SQLite's own POSIX locks on it in this process). */
static int server_lock_fd = -1;

int db_server_lock(const char *path)
{
	if (server_lock_fd >= 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* flock() locks are independent of the fcntl() locks SQLite uses, so this shared lock
	 * only excludes crmctl restore, which takes it exclusively. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		log_error("%s is being restored (crmctl restore holds it); try again later", path);
		close(fd);
		return -1;
	}
	server_lock_fd = fd;
	return 0;
}

int db_restore_lock(const char *path, int *fd_out)
{
	*fd_out = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* nothing to replace: nobody serves it */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		return saved == EWOULDBLOCK ? 1 : -1;
	}
	*fd_out = fd;
	return 0;
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
