/*
 * db_migrate.c - the schema's migrations (db.h): the embedded migrations/NNNN_name.sql
 * files applied in order, each in its own transaction and recorded in schema_migrations;
 * a migration marked foreign-keys-off runs with them off and is checked before its commit.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/db_internal.h"

#include <string.h>

#include "crm/embed.h"
#include "crm/log.h"
#include "crm/banned.h"

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
	return db_exec_plain(
	    db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
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
	if (foreign_keys_off && db_exec_plain(db, "PRAGMA foreign_keys=OFF") != 0)
		return -1;
	int rc = apply_migration_transaction(db, migration, version, foreign_keys_off,
					     applied_now);
	if (foreign_keys_off && db_exec_plain(db, "PRAGMA foreign_keys=ON") != 0)
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
