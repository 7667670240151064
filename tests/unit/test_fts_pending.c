/*
 * test_fts_pending.c - the deferred full-text indexing (fts_pending.h, migration 0011):
 * db_commit() indexes a transaction's new rows; updates and deletes of pending rows, of
 * indexed rows and of reused ids keep the external-content FTS5 indexes sound (their
 * integrity check passes); rollbacks and savepoints leave nothing pending; a commit on a
 * database without fts_pending (migrations before 0011) works; an empty flush is cheap.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/embed.h"
#include "crm/fts_pending.h"
#include "crm/routes.h"

static int exec(struct db *db, const char *sql)
{
	char *message = NULL;
	int rc = sqlite3_exec(db_handle(db), sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, message ? message : "?");
	sqlite3_free(message);
	return rc;
}

static int count(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int result = -1;
	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		result = sqlite3_column_int(stmt, 0);
	else
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db_handle(db)));
	sqlite3_finalize(stmt);
	return result;
}

/* Contacts matching the FTS5 query `match` (a bare word). */
static int found(struct db *db, const char *table, const char *match)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s MATCH '%s'", table, table,
		 match);
	return count(db, sql);
}

/* The FTS5 integrity check of every index against its content table: SQLITE_OK or not. */
static void check_indexes(struct db *db)
{
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO contacts_fts (contacts_fts, rank) "
				      "VALUES ('integrity-check', 1)"));
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO companies_fts (companies_fts, rank) "
				      "VALUES ('integrity-check', 1)"));
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO interactions_fts (interactions_fts, rank) "
				      "VALUES ('integrity-check', 1)"));
	CHECK_INT(0, count(db, "SELECT count(*) FROM fts_pending"));
}

#define NOW "'2026-01-01T00:00:00Z'"
#define INSERT_CONTACT(id, first, last)                                                  \
	"INSERT INTO contacts (id, first_name, last_name, created_at, updated_at) VALUES (" \
	#id ", '" first "', '" last "', " NOW ", " NOW ")"

static void test_commit_indexes_new_rows(void)
{
	struct db *db = open_fresh_db("fts", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(1, "Ada", "Lovelace")));
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO companies (id, name, created_at, updated_at) "
				      "VALUES (1, 'Engines Ltd', " NOW ", " NOW ")"));
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO interactions (id, contact_id, kind, occurred_at, "
				      "subject, body, created_at, updated_at) VALUES (1, 1, 'call', " NOW
				      ", 'Difference engine', 'notes on bernoulli', " NOW ", " NOW ")"));
	CHECK_INT(3, count(db, "SELECT count(*) FROM fts_pending"));
	CHECK_INT(0, found(db, "contacts_fts", "lovelace")); /* not before the commit */
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(1, found(db, "contacts_fts", "lovelace"));
	CHECK_INT(1, found(db, "companies_fts", "engines"));
	CHECK_INT(1, found(db, "interactions_fts", "bernoulli"));
	check_indexes(db);
	db_close(db);
}

static void test_pending_rows_updated_and_deleted(void)
{
	struct db *db = open_fresh_db("fts", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(1, "Oldname", "Keeper")));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(2, "Gone", "Soon")));
	CHECK_INT(SQLITE_OK, exec(db, "UPDATE contacts SET first_name = 'Newname' WHERE id = 1"));
	CHECK_INT(SQLITE_OK, exec(db, "DELETE FROM contacts WHERE id = 2"));
	CHECK_INT(1, count(db, "SELECT count(*) FROM fts_pending"));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(0, found(db, "contacts_fts", "oldname"));
	CHECK_INT(1, found(db, "contacts_fts", "newname"));
	CHECK_INT(0, found(db, "contacts_fts", "soon"));
	check_indexes(db);
	db_close(db);
}

static void test_indexed_rows_updated_and_deleted(void)
{
	struct db *db = open_fresh_db("fts", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(1, "Alpha", "One")));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(2, "Beta", "Two")));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(3, "Gamma", "Three")));
	CHECK_INT(DB_OK, db_commit(db));

	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, "UPDATE contacts SET first_name = 'Alef' WHERE id = 1"));
	CHECK_INT(SQLITE_OK, exec(db, "UPDATE contacts SET first_name = 'Alif' WHERE id = 1"));
	CHECK_INT(SQLITE_OK, exec(db, "DELETE FROM contacts WHERE id = 2"));
	/* id 3 deleted and its id used again by a new row in the same transaction */
	CHECK_INT(SQLITE_OK, exec(db, "DELETE FROM contacts WHERE id = 3"));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(3, "Delta", "Reborn")));
	CHECK_INT(SQLITE_OK, exec(db, "UPDATE contacts SET last_name = 'Again' WHERE id = 3"));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(0, found(db, "contacts_fts", "alpha"));
	CHECK_INT(0, found(db, "contacts_fts", "alef"));
	CHECK_INT(1, found(db, "contacts_fts", "alif"));
	CHECK_INT(0, found(db, "contacts_fts", "beta"));
	CHECK_INT(0, found(db, "contacts_fts", "gamma"));
	CHECK_INT(0, found(db, "contacts_fts", "reborn"));
	CHECK_INT(1, found(db, "contacts_fts", "again"));
	check_indexes(db);
	db_close(db);
}

static void test_rollbacks_leave_nothing_pending(void)
{
	struct db *db = open_fresh_db("fts", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(1, "Never", "Committed")));
	db_rollback(db);
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(SQLITE_OK, exec(db, "SAVEPOINT request"));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(1, "Undone", "Savepoint")));
	CHECK_INT(SQLITE_OK, exec(db, "ROLLBACK TO request"));
	CHECK_INT(SQLITE_OK, exec(db, "RELEASE request"));
	CHECK_INT(SQLITE_OK, exec(db, "SAVEPOINT request"));
	CHECK_INT(SQLITE_OK, exec(db, INSERT_CONTACT(2, "Kept", "Savepoint")));
	CHECK_INT(SQLITE_OK, exec(db, "RELEASE request"));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(0, found(db, "contacts_fts", "undone"));
	CHECK_INT(1, found(db, "contacts_fts", "kept"));
	check_indexes(db);
	/* a read transaction's commit does not flush (nor fail) */
	CHECK_INT(DB_OK, db_begin_read(db));
	CHECK_INT(DB_OK, db_commit(db));
	db_close(db);
}

#define SQL(text) (const unsigned char *)text, sizeof(text) - 1

static void test_database_without_the_table(void)
{
	const struct embedded_file migrations[] = {
		{ "0001_a.sql", SQL("CREATE TABLE t (v TEXT); INSERT INTO t (v) VALUES ('x');") },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("fts", false);
	CHECK_INT(0, db_migrate_from(db, migrations, NULL));
	CHECK_INT(1, count(db, "SELECT count(*) FROM t"));
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_OK, fts_pending_flush(db));
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO t (v) VALUES ('y')"));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(2, count(db, "SELECT count(*) FROM t"));
	db_close(db);
}

static double seconds_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void test_empty_flush_is_cheap(void)
{
	struct db *db = open_fresh_db("fts", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	enum { ROUNDS = 20000 };
	double start = seconds_now();
	int failures = 0;
	for (int i = 0; i < ROUNDS; i++)
		failures += fts_pending_flush(db) != DB_OK;
	double per_call_us = (seconds_now() - start) / ROUNDS * 1e6;
	CHECK_INT(0, failures);
	db_rollback(db);
	printf("  an empty fts_pending_flush(): %.2f us\n", per_call_us);
	CHECK(per_call_us < 50); /* about 1 us; generous for sanitizer builds */
	db_close(db);
}

int main(void)
{
	routes_register_resources(); /* the full-text tables come from the descriptors */
	RUN(test_commit_indexes_new_rows);
	RUN(test_pending_rows_updated_and_deleted);
	RUN(test_indexed_rows_updated_and_deleted);
	RUN(test_rollbacks_leave_nothing_pending);
	RUN(test_database_without_the_table);
	RUN(test_empty_flush_is_cheap);
	remove_db_files();
	return check_finish();
}
