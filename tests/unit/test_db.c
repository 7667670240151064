/*
 * test_db.c - migrations (order, idempotence, a failing one leaves nothing behind, those
 * run with foreign keys off, 0013's ids never reused),
 * the statement cache, the connection settings, a request's read transaction, and batches
 * (savepoints per request inside one transaction).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/embed.h"

#define SQL(text) (const unsigned char *)text, sizeof(text) - 1

static int count_rows(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	int count = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return count;
}

/* Several statements at once, as a migration runs them. */
static void run_sql(struct db *db, const char *sql)
{
	CHECK_INT(SQLITE_OK, sqlite3_exec(db_handle(db), sql, NULL, NULL, NULL));
}

static void test_migrations_apply_in_order_once(void)
{
	/* listed out of order on purpose: versions decide */
	const struct embedded_file migrations[] = {
		{ "0002_b.sql", SQL("INSERT INTO t (v) VALUES ('second');") },
		{ "0001_a.sql", SQL("CREATE TABLE t (v TEXT); INSERT INTO t (v) VALUES ('first');") },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("db", false);
	int applied = -1;
	CHECK_INT(0, db_migrate_from(db, migrations, &applied));
	CHECK_INT(2, applied);
	CHECK_INT(2, db_schema_version(db));
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM t"));
	CHECK_INT(0, db_migrate_from(db, migrations, &applied));
	CHECK_INT(0, applied);
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM t"));
	db_close(db);
}

static void test_failed_migration_leaves_database_as_it_was(void)
{
	const struct embedded_file migrations[] = {
		{ "0001_a.sql", SQL("CREATE TABLE t (v TEXT);") },
		{ "0002_bad.sql",
		  SQL("CREATE TABLE half (x); INSERT INTO t (v) VALUES ('x'); SELECT * FROM nowhere;") },
		{ "0003_never.sql", SQL("CREATE TABLE never (x);") },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("db", false);
	int applied = -1;
	CHECK_INT(-1, db_migrate_from(db, migrations, &applied));
	CHECK_INT(1, db_schema_version(db));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM t"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('half', 'never')"));
	db_close(db);
}

static void test_embedded_migrations_apply(void)
{
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(0, db_migrate(db, NULL));
	CHECK_INT(db_latest_migration(), db_schema_version(db));
	CHECK(count_rows(db, "SELECT count(*) FROM grants WHERE role = 'admin'") > 0);
	CHECK_INT(1, count_rows(db, "PRAGMA foreign_keys"));
	db_close(db);
}

#define PARENT_CHILD_SQL                                                                     \
	"CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);"                            \
	"CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);"     \
	"INSERT INTO parent (id, name) VALUES (1, 'a'), (2, 'b');"                            \
	"INSERT INTO child (parent_id) VALUES (1), (2);"
#define REBUILD_PARENT_SQL                                                                   \
	"CREATE TABLE new_parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);"          \
	"INSERT INTO new_parent (id, name) SELECT id, name FROM parent;"                      \
	"DROP TABLE parent; ALTER TABLE new_parent RENAME TO parent;"

static void test_foreign_keys_off_migration_rebuilds_without_cascade(void)
{
	const struct embedded_file migrations[] = {
		{ "0001_a.sql", SQL(PARENT_CHILD_SQL) },
		{ "0002_rebuild.sql", SQL("-- crm:foreign-keys-off\n" REBUILD_PARENT_SQL) },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(0, db_migrate_from(db, migrations, NULL));
	CHECK_INT(2, db_schema_version(db));
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM child"));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'parent'"
				    " AND sql LIKE '%AUTOINCREMENT%'"));
	CHECK_INT(1, count_rows(db, "PRAGMA foreign_keys"));
	db_close(db);
}

static void test_rebuild_without_marker_cascades(void)
{
	/* why the marker exists: with foreign keys on, DROP TABLE deletes the children */
	const struct embedded_file migrations[] = {
		{ "0001_a.sql", SQL(PARENT_CHILD_SQL) },
		{ "0002_rebuild.sql", SQL(REBUILD_PARENT_SQL) },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(0, db_migrate_from(db, migrations, NULL));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM child"));
	db_close(db);
}

static void test_foreign_keys_off_migration_checks_before_commit(void)
{
	const struct embedded_file migrations[] = {
		{ "0001_a.sql", SQL(PARENT_CHILD_SQL) },
		{ "0002_orphans.sql", SQL("-- crm:foreign-keys-off (orphans)\n" REBUILD_PARENT_SQL
					  "DELETE FROM parent WHERE id = 2;") },
		{ "0003_never.sql", SQL("CREATE TABLE never (x);") },
		{ NULL, NULL, 0 },
	};
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(-1, db_migrate_from(db, migrations, NULL));
	CHECK_INT(1, db_schema_version(db));
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM parent"));
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM child"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM sqlite_master WHERE sql LIKE "
				    "'%AUTOINCREMENT%' OR name IN ('new_parent', 'never')"));
	CHECK_INT(1, count_rows(db, "PRAGMA foreign_keys"));
	db_close(db);
}

/* 0013: ids stay above every id used before, in the table or in the audit log. */
static void test_ids_never_reused_migration(void)
{
	struct embedded_file before[32];
	int n = 0;
	for (const struct embedded_file *m = embedded_migrations; m->name && n < 31; m++)
		if (atoi(m->name) < 13)
			before[n++] = *m;
	before[n] = (struct embedded_file){ NULL, NULL, 0 };
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(0, db_migrate_from(db, before, NULL));
	CHECK_INT(12, db_schema_version(db));
	run_sql(db, "INSERT INTO contacts (id, first_name, created_at, updated_at)"
		    " VALUES (1, 'a', 'x', 'x'), (2, 'b', 'x', 'x'), (3, 'c', 'x', 'x');"
		    "INSERT INTO interactions (contact_id, kind, occurred_at, created_at,"
		    " updated_at) VALUES (2, 'call', 'x', 'x', 'x');"
		    "INSERT INTO audit_log (at, actor, entity, entity_id, action)"
		    " VALUES ('x', 'test', 'contacts', 5, 'delete');"
		    "DELETE FROM contacts WHERE id = 3;"
		    "INSERT INTO tasks (id, title, created_at, updated_at)"
		    " VALUES (9, 't', 'x', 'x'); DELETE FROM tasks;"
		    "INSERT INTO audit_log (at, actor, entity, entity_id, action)"
		    " VALUES ('x', 'test', 'tasks', 9, 'delete');");
	CHECK_INT(0, db_migrate(db, NULL));
	CHECK_INT(db_latest_migration(), db_schema_version(db));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM interactions WHERE contact_id = 2"));
	run_sql(db, "INSERT INTO contacts (first_name, created_at, updated_at)"
		    " VALUES ('d', 'x', 'x')");
	CHECK_INT(6, count_rows(db, "SELECT max(id) FROM contacts"));
	run_sql(db, "DELETE FROM contacts WHERE id = 6;"
		    "INSERT INTO contacts (first_name, created_at, updated_at)"
		    " VALUES ('e', 'x', 'x')");
	CHECK_INT(7, count_rows(db, "SELECT max(id) FROM contacts"));
	/* the tasks table was empty, but its audit log names task 9 */
	run_sql(db, "INSERT INTO tasks (title, created_at, updated_at)"
		    " VALUES ('u', 'x', 'x')");
	CHECK_INT(10, count_rows(db, "SELECT max(id) FROM tasks"));
	CHECK_INT(1, count_rows(db, "PRAGMA foreign_keys"));
	db_close(db);
}

static void test_statement_cache_returns_same_statement(void)
{
	struct db *db = open_fresh_db("db", false);
	sqlite3_stmt *first = db_prepare(db, "SELECT 1");
	sqlite3_stmt *second = db_prepare(db, "SELECT 1");
	CHECK(first != NULL && first == second);
	/* many distinct statements force the table to grow and keep working */
	char sql[64];
	for (int i = 0; i < 200; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		sqlite3_stmt *stmt = db_prepare(db, sql);
		CHECK(stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == i);
	}
	CHECK(db_prepare(db, "SELECT 1") == first);
	CHECK(db_prepare(db, "SELEC nonsense") == NULL);
	/* trimming below the size empties the cache; statements prepare again afterwards */
	db_request_finished(db, 1000);
	CHECK(db_prepare(db, "SELECT 1") == first);
	db_request_finished(db, 10);
	sqlite3_stmt *again = db_prepare(db, "SELECT 1");
	CHECK(again != NULL && sqlite3_step(again) == SQLITE_ROW);
	/* a statement left mid-step is reset, and an open transaction rolled back */
	CHECK(sqlite3_stmt_busy(again));
	CHECK_INT(DB_OK, db_begin_write(db));
	db_request_finished(db, 1000);
	CHECK(!sqlite3_stmt_busy(again));
	CHECK(sqlite3_get_autocommit(db_handle(db)));
	db_close(db);
}

/* Runs `sql` on another connection (another worker or process) at once. */
static void exec_other(struct db *other, const char *sql)
{
	CHECK_INT(SQLITE_OK, sqlite3_exec(db_handle(other), sql, NULL, NULL, NULL));
}

/*
 * A request's read transaction: one snapshot for all its reads, ended before anything
 * writes (so that the write is what it would be without it), and never past the request.
 */
static void test_request_read_transaction(void)
{
	struct db *db = open_fresh_db("db", false);
	struct db *other = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(other != NULL);
	exec_other(other, "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
	const char *count = "SELECT count(*) FROM t";

	/* reads see one snapshot until the request ends */
	CHECK_INT(DB_OK, db_request_begin_read(db));
	CHECK(db_request_reading(db));
	CHECK_INT(1, count_rows(db, count));
	exec_other(other, "INSERT INTO t VALUES (2)");
	CHECK_INT(1, count_rows(db, count));
	CHECK(db_request_reading(db));
	db_request_finished(db, 1000);
	CHECK(!db_request_reading(db));
	CHECK(sqlite3_get_autocommit(db_handle(db)));
	CHECK_INT(2, count_rows(db, count));

	/* a write after another connection's commit: without ending the snapshot first it
	 * would fail (SQLITE_BUSY_SNAPSHOT) */
	CHECK_INT(DB_OK, db_request_begin_read(db));
	CHECK_INT(2, count_rows(db, count));
	exec_other(other, "INSERT INTO t VALUES (3)");
	sqlite3_stmt *insert = db_prepare(db, "INSERT INTO t VALUES (4)");
	CHECK(insert != NULL);
	CHECK(!db_request_reading(db));
	CHECK(sqlite3_get_autocommit(db_handle(db)));
	CHECK_INT(SQLITE_DONE, sqlite3_step(insert));
	sqlite3_reset(insert);
	CHECK_INT(4, count_rows(db, count));
	db_request_finished(db, 1000);

	/* a write transaction, and an explicit read transaction, end it first */
	CHECK_INT(DB_OK, db_request_begin_read(db));
	CHECK_INT(4, count_rows(db, count));
	exec_other(other, "INSERT INTO t VALUES (5)");
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK(!db_request_reading(db));
	CHECK_INT(5, count_rows(db, count));
	CHECK_INT(DB_OK, db_request_begin_read(db)); /* inside a transaction: nothing */
	CHECK(!db_request_reading(db));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(DB_OK, db_request_begin_read(db));
	CHECK_INT(5, count_rows(db, count));
	exec_other(other, "INSERT INTO t VALUES (6)");
	CHECK_INT(DB_OK, db_begin_read(db));
	CHECK(!db_request_reading(db));
	CHECK_INT(6, count_rows(db, count));
	CHECK_INT(DB_OK, db_commit(db));
	db_request_finished(db, 1000);

	/* a statement left mid-step does not keep it open past the request */
	CHECK_INT(DB_OK, db_request_begin_read(db));
	sqlite3_stmt *rows = db_prepare(db, "SELECT x FROM t");
	CHECK_INT(SQLITE_ROW, sqlite3_step(rows));
	db_request_finished(db, 1000);
	CHECK(!db_request_reading(db));
	CHECK(sqlite3_get_autocommit(db_handle(db)));
	CHECK_INT(SQLITE_OK, sqlite3_wal_checkpoint_v2(db_handle(other), NULL,
						       SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));
	db_close(other);
	db_close(db);
}

static int exec_sql(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A batch: each request's transaction is a savepoint; one commit stores what succeeded. */
static void test_batch_savepoints(void)
{
	struct db *db = open_fresh_db("db", false);
	CHECK_INT(0, exec_sql(db, "CREATE TABLE t (v INTEGER UNIQUE)"));
	CHECK_INT(DB_OK, db_batch_begin(db));
	CHECK(db_batch_intact(db));
	CHECK_INT(DB_ERROR, db_batch_begin(db)); /* no batch in a batch */

	/* request 1 writes and commits */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_ERROR, db_begin_write(db)); /* nested: refused, as outside a batch */
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (1)"));
	CHECK_INT(DB_OK, db_commit(db));
	db_batch_request_finished(db);
	/* request 2 writes, then rolls back: only its own row goes */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (2)"));
	CHECK_INT(2, count_rows(db, "SELECT count(*) FROM t"));
	db_rollback(db);
	db_batch_request_finished(db);
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t"));
	/* request 3 fails on a constraint and rolls back */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (3)"));
	CHECK_INT(-1, exec_sql(db, "INSERT INTO t VALUES (1)"));
	db_rollback(db);
	db_batch_request_finished(db);
	/* request 4 leaves its savepoint open: tidied away */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (4)"));
	db_batch_request_finished(db);
	/* a rollback or commit without a transaction of its own touches nothing */
	db_rollback(db);
	CHECK_INT(DB_OK, db_commit(db));
	/* request 5 reads in a "read transaction" */
	CHECK_INT(DB_OK, db_begin_read(db));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t"));
	CHECK_INT(DB_OK, db_commit(db));
	db_batch_request_finished(db);
	CHECK(db_batch_intact(db));
	CHECK_INT(DB_OK, db_batch_commit(db));
	CHECK(!db_batch_intact(db));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t WHERE v = 1"));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t"));

	/* after the batch, transactions are real again */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (5)"));
	db_rollback(db);
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t"));
	/* a batch rolled back stores nothing */
	CHECK_INT(DB_OK, db_batch_begin(db));
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, exec_sql(db, "INSERT INTO t VALUES (6)"));
	CHECK_INT(DB_OK, db_commit(db));
	db_batch_rollback(db);
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM t"));
	/* and the write lock is free again: another connection can write */
	struct db *other = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(other != NULL);
	CHECK_INT(DB_OK, db_begin_write(other));
	CHECK_INT(0, exec_sql(other, "INSERT INTO t VALUES (7)"));
	CHECK_INT(DB_OK, db_commit(other));
	db_close(other);
	db_close(db);
}

int main(void)
{
	RUN(test_migrations_apply_in_order_once);
	RUN(test_failed_migration_leaves_database_as_it_was);
	RUN(test_embedded_migrations_apply);
	RUN(test_foreign_keys_off_migration_rebuilds_without_cascade);
	RUN(test_rebuild_without_marker_cascades);
	RUN(test_foreign_keys_off_migration_checks_before_commit);
	RUN(test_ids_never_reused_migration);
	RUN(test_statement_cache_returns_same_statement);
	RUN(test_request_read_transaction);
	RUN(test_batch_savepoints);
	remove_db_files();
	return check_finish();
}
