/*
 * metrics_store.c - the data layer of the metrics (metrics.h): the figures /metrics
 * reads from the database and its files. Every statement uses bound parameters.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/metrics.h"

#include <sys/stat.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

int metrics_store_active_sessions(struct db *db, const char *now, const char *idle_limit,
				  int64_t *count)
{
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL"
					    " AND expires_at > ? AND last_seen_at >= ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	db_bind_text(stmt, 2, idle_limit);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(stmt, 0);
	int status = db_status_from_sqlite(db, rc, "count active sessions");
	sqlite3_reset(stmt);
	return status;
}

/* The size of the file at `path`, or -1 when it does not exist or cannot be examined. */
static int64_t file_size(const char *path)
{
	struct stat info;
	if (stat(path, &info) != 0)
		return -1;
	return (int64_t)info.st_size;
}

int metrics_store_file_sizes(struct db *db, int64_t *database_bytes, int64_t *wal_bytes)
{
	*database_bytes = 0;
	*wal_bytes = 0;
	/* SQLite knows the absolute name of the main file and of its WAL (NULL or "" for an
	 * in-memory database). */
	sqlite3 *handle = db_handle(db);
	const char *name = sqlite3_db_filename(handle, "main");
	if (!name || !*name)
		return -1;
	int64_t size = file_size(name);
	if (size < 0)
		return -1;
	*database_bytes = size;
	const char *wal = sqlite3_filename_wal(name);
	int64_t wal_size = wal && *wal ? file_size(wal) : -1;
	*wal_bytes = wal_size > 0 ? wal_size : 0;
	return 0;
}

const char *metrics_store_engine_version(void)
{
	return sqlite3_libversion();
}
