/*
 * unit_db.h - the scratch database of a unit test (one copy instead of one per test):
 * open_fresh_db() makes an empty database file /tmp/crm-test-<name>-<pid>.db (migrated
 * or not), db_path names it for tests that open it a second time, and remove_db() closes
 * it and removes it with its -wal and -shm files.
 */
#ifndef UNIT_DB_H
#define UNIT_DB_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "crm/db.h"

static char db_path[96];

/* Removes the database file at db_path and its -wal and -shm files. */
static inline void remove_db_files(void)
{
	char side[112];
	unlink(db_path);
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
}

/* A new database at /tmp/crm-test-<name>-<pid>.db, with every migration when `migrate`
 * (a failed check when it cannot be opened or migrated). */
static inline struct db *open_fresh_db(const char *name, bool migrate)
{
	snprintf(db_path, sizeof(db_path), "/tmp/crm-test-%s-%d.db", name, (int)getpid());
	remove_db_files();
	struct db *db = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(db != NULL);
	if (db && migrate)
		CHECK_INT(0, db_migrate(db, NULL));
	return db;
}

/* Closes `db` (NULL: none open) and removes its files. */
static inline void remove_db(struct db *db)
{
	if (db)
		db_close(db);
	remove_db_files();
}

#endif
