/*
 * ratelimit_store.c - the stored rate limits of roles and API keys (migration 0019) in
 * SQLite: read on every authenticated request, changed by crmctl role limit / key limit
 * (ratelimit.h). NULL columns are inherited values (0 in struct ratelimit_limit).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/ratelimit.h"

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

static int column_limit(sqlite3_stmt *stmt, int column)
{
	return sqlite3_column_type(stmt, column) == SQLITE_NULL ? 0
								 : sqlite3_column_int(stmt, column);
}

/* Reads the limit of role `role`, or when NULL of API key `id`. */
static int read_limit(struct db *db, const char *role, int64_t id, struct ratelimit_limit *limit)
{
	limit->per_minute = limit->burst = 0;
	sqlite3_stmt *stmt =
		role ? db_prepare(db, "SELECT rate_per_minute, rate_burst FROM roles WHERE name = ?")
		     : db_prepare(db, "SELECT rate_per_minute, rate_burst FROM api_keys WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	if (role)
		db_bind_text(stmt, 1, role);
	else
		sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		limit->per_minute = column_limit(stmt, 0);
		limit->burst = column_limit(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "rate limit lookup");
}

int ratelimit_store_limits(struct db *db, const char *role, int64_t key_id,
			   struct ratelimit_limit *role_limit, struct ratelimit_limit *key_limit)
{
	role_limit->per_minute = role_limit->burst = 0;
	key_limit->per_minute = key_limit->burst = 0;
	int status = DB_OK;
	if (role && (status = read_limit(db, role, 0, role_limit)) == DB_NOT_FOUND)
		status = DB_OK; /* a role without a row has no limit of its own */
	if (status == DB_OK && key_id > 0)
		status = read_limit(db, NULL, key_id, key_limit);
	return status;
}

/* Binds a limit value: NULL for 0 (inherited). */
static void bind_limit(sqlite3_stmt *stmt, int index, int value)
{
	if (value > 0)
		sqlite3_bind_int(stmt, index, value);
	else
		sqlite3_bind_null(stmt, index);
}

static int write_limit(struct db *db, const char *sql, const char *text, int64_t id,
		       const struct ratelimit_limit *limit)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	bind_limit(stmt, 1, limit->per_minute);
	bind_limit(stmt, 2, limit->burst);
	if (text)
		db_bind_text(stmt, 3, text);
	else
		sqlite3_bind_int64(stmt, 3, id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return db_status_from_sqlite(db, rc, "rate limit change");
	return db_changes(db) == 1 ? DB_OK : DB_NOT_FOUND;
}

int ratelimit_store_role_set(struct db *db, const char *role, const struct ratelimit_limit *limit,
			     struct ratelimit_limit *old)
{
	int status = read_limit(db, role, 0, old);
	if (status != DB_OK)
		return status;
	return write_limit(db,
			   "UPDATE roles SET rate_per_minute = ?, rate_burst = ? WHERE name = ?",
			   role, 0, limit);
}

int ratelimit_store_key_set(struct db *db, int64_t key_id, const struct ratelimit_limit *limit,
			    struct ratelimit_limit *old)
{
	int status = read_limit(db, NULL, key_id, old);
	if (status != DB_OK)
		return status;
	return write_limit(db,
			   "UPDATE api_keys SET rate_per_minute = ?, rate_burst = ? WHERE id = ?",
			   NULL, key_id, limit);
}
