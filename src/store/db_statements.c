/*
 * db_statements.c - the per-connection cache of prepared statements (db_prepare()), keyed
 * by their SQL text (open addressing on an FNV-1a hash), so that hot paths prepare
 * nothing; its limit between requests (db_request_finished()); and the query-plan log of
 * the tests.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/db_internal.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/log.h"
#include "crm/banned.h"

static uint64_t hash_text(const char *text)
{
	uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
	for (; *text; text++) {
		hash ^= (unsigned char)*text;
		hash *= 1099511628211ULL;
	}
	return hash;
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
		db_request_read_end(db);
	return stmt;
}

void db_statements_clear(struct db *db)
{
	if (!db->cache_size)
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

/* Resets the statements left mid-step (each holds its read snapshot). */
void db_reset_busy_statements(struct db *db)
{
	for (sqlite3_stmt *stmt = sqlite3_next_stmt(db->handle, NULL); stmt;
	     stmt = sqlite3_next_stmt(db->handle, stmt))
		if (sqlite3_stmt_busy(stmt))
			sqlite3_reset(stmt);
}

void db_request_finished(struct db *db, size_t cache_limit)
{
	db_reset_busy_statements(db);
	db_request_read_end(db);
	if (!sqlite3_get_autocommit(db->handle)) {
		log_error("a transaction was left open after a request; rolled back");
		db_rollback(db);
	}
	db_write_mutex_release(db); /* held only inside a transaction: never past a request */
	db_set_budget(db, 0);
	if (db->cache_used <= cache_limit)
		return;
	db_statements_clear(db);
}

int db_step_done(struct db *db, sqlite3_stmt *stmt, const char *context)
{
	int rc = sqlite3_step(stmt);
	int status = db_status_from_sqlite(db, rc, context);
	sqlite3_reset(stmt);
	return status;
}
