/*
 * db_files.c - the database as a file (db.h): an online backup (one consistent snapshot),
 * the check of a file before a restore replaces the live one, and the flock()s by which
 * crmd and crmctl restore keep out of each other's way.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock() */
#include "store/db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "crm/log.h"
#include "crm/banned.h"

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
