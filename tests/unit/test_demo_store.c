/*
 * test_demo_store.c - the storage side of crmctl demo-data (demo_store.h) on a real
 * database: rows are written a batch per statement as SQLite's variable limit allows, the
 * `before` rows reach the database first (foreign keys hold at every statement), typed
 * values arrive as given, next ids follow the highest, the contacts come back in id order
 * with their company's name, and a callback that fails stops the walk with its status.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "crm/db.h"
#include "crm/demo_store.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

static char db_path[64];

static void remove_db_files(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char path[80];
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
}

static long long count_rows(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	long long count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return count;
}

static struct db *open_fresh(const char *name)
{
	snprintf(db_path, sizeof(db_path), "/tmp/crm-test-%s-%d.db", name, (int)getpid());
	remove_db_files();
	struct db *db = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(db != NULL);
	CHECK_INT(0, db_migrate(db, NULL));
	return db;
}

/* An opportunity row of `id` without contact, company or owner. */
static int add_opportunity(struct demo_rows *rows, int64_t id)
{
	demo_rows_integer(rows, id);
	demo_rows_text(rows, "Deal");
	demo_rows_null(rows); /* contact_id */
	demo_rows_null(rows); /* company_id */
	demo_rows_null(rows); /* owner_id */
	demo_rows_text(rows, "lead");
	demo_rows_integer(rows, 100000);
	demo_rows_text(rows, "EUR");
	demo_rows_integer(rows, 10);
	demo_rows_text(rows, "2026-12-31");
	demo_rows_null(rows); /* closed_at */
	demo_rows_null(rows); /* lost_reason */
	demo_rows_time(rows, 1764547200); /* 2025-12-01T00:00:00Z */
	demo_rows_time(rows, 1764547200);
	return demo_rows_end_row(rows);
}

/* A task of opportunity `opportunity_id`. */
static int add_task(struct demo_rows *rows, int64_t opportunity_id)
{
	demo_rows_text(rows, "Call back");
	demo_rows_time(rows, 1764547200);
	demo_rows_null(rows); /* contact_id */
	demo_rows_integer(rows, opportunity_id);
	demo_rows_null(rows); /* assignee_id */
	demo_rows_integer(rows, 0);
	demo_rows_null(rows); /* done_at */
	demo_rows_time(rows, 1764547200);
	demo_rows_time(rows, 1764547200);
	return demo_rows_end_row(rows);
}

static void test_batches_follow_the_variable_limit_and_before_goes_first(void)
{
	struct db *db = open_fresh("demo-store");
	/* 100 variables: 7 opportunities (14 values) and 11 tasks (9 values) a statement */
	sqlite3_limit(db_handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, 100);
	CHECK_INT(DB_OK, db_begin_write(db));
	struct demo_rows *opportunities = demo_rows_new(db, DEMO_TABLE_OPPORTUNITIES, NULL);
	struct demo_rows *tasks = demo_rows_new(db, DEMO_TABLE_TASKS, opportunities);
	CHECK_INT(7, demo_rows_capacity(opportunities));
	CHECK_INT(11, demo_rows_capacity(tasks));

	int64_t next_id = 0;
	CHECK_INT(DB_OK, demo_store_next_id(db, DEMO_TABLE_OPPORTUNITIES, &next_id));
	CHECK_INT(1, next_id);
	for (int64_t id = 1; id <= 3; id++)
		CHECK_INT(DB_OK, add_opportunity(opportunities, id));
	CHECK_INT(0, demo_rows_written(opportunities)); /* held: the batch is not full */
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM opportunities"));
	/* the eleventh task fills its batch: the three opportunities go first, or the tasks'
	 * foreign key would fail */
	for (int i = 0; i < 11; i++)
		CHECK_INT(DB_OK, add_task(tasks, 1 + i % 3));
	CHECK_INT(3, demo_rows_written(opportunities));
	CHECK_INT(11, demo_rows_written(tasks));
	CHECK_INT(11, count_rows(db, "SELECT count(*) FROM tasks WHERE opportunity_id IN (1, 2, 3)"));

	/* 15 more opportunities: two full statements written as they fill, one row held */
	for (int64_t id = 4; id <= 18; id++)
		CHECK_INT(DB_OK, add_opportunity(opportunities, id));
	CHECK_INT(17, demo_rows_written(opportunities));
	CHECK_INT(DB_OK, demo_rows_flush(opportunities));
	CHECK_INT(DB_OK, demo_rows_flush(opportunities)); /* nothing held: nothing to do */
	CHECK_INT(18, demo_rows_written(opportunities));
	CHECK_INT(18, count_rows(db, "SELECT count(*) FROM opportunities WHERE name = 'Deal' AND "
				     "contact_id IS NULL AND amount_cents = 100000 AND "
				     "created_at = '2025-12-01T00:00:00Z' AND closed_at IS NULL"));
	CHECK_INT(DB_OK, demo_store_next_id(db, DEMO_TABLE_OPPORTUNITIES, &next_id));
	CHECK_INT(19, next_id);

	/* a row the database refuses (task of a missing opportunity) is a status, not a crash */
	for (int i = 0; i < 10; i++)
		CHECK_INT(DB_OK, add_task(tasks, 999));
	CHECK_INT(DB_INVALID, add_task(tasks, 999));
	CHECK_INT(11, demo_rows_written(tasks));
	CHECK_INT(11, count_rows(db, "SELECT count(*) FROM tasks"));
	demo_rows_free(tasks);
	demo_rows_free(opportunities);
	db_rollback(db);
	db_close(db);
	remove_db_files();
}

/* ---------------------------------------------------------------- reading contacts back */

struct walk {
	int seen;
	int stop_after; /* 0: never */
	int64_t ids[8];
	char company[8][32];
};

static int collect(void *context, const struct demo_contact *contact)
{
	struct walk *walk = context;
	if (walk->seen < 8) {
		walk->ids[walk->seen] = contact->id;
		snprintf(walk->company[walk->seen], sizeof(walk->company[0]), "%s",
			 contact->company_name ? contact->company_name : "-");
	}
	walk->seen++;
	return walk->stop_after && walk->seen >= walk->stop_after ? DB_BUSY : DB_OK;
}

static void add_contact(struct demo_rows *rows, int64_t id, int64_t company_id)
{
	demo_rows_integer(rows, id);
	demo_rows_text(rows, "Ann");
	demo_rows_text(rows, "Lee");
	demo_rows_null(rows); /* email */
	demo_rows_null(rows); /* phone */
	demo_rows_null(rows); /* title */
	if (company_id)
		demo_rows_integer(rows, company_id);
	else
		demo_rows_null(rows);
	demo_rows_null(rows); /* owner_id */
	demo_rows_text(rows, "lead");
	demo_rows_null(rows); /* relationship_level */
	demo_rows_text(rows, "[]");
	demo_rows_null(rows); /* source */
	demo_rows_null(rows); /* consent */
	demo_rows_text(rows, "{}");
	demo_rows_time(rows, 1764547200);
	demo_rows_time(rows, 1764547200);
	CHECK_INT(DB_OK, demo_rows_end_row(rows));
}

static void test_contacts_come_back_in_id_order(void)
{
	struct db *db = open_fresh("demo-store-contacts");
	CHECK_INT(DB_OK, db_begin_write(db));
	struct demo_rows *companies = demo_rows_new(db, DEMO_TABLE_COMPANIES, NULL);
	struct demo_rows *contacts = demo_rows_new(db, DEMO_TABLE_CONTACTS, companies);
	demo_rows_integer(companies, 1);
	demo_rows_text(companies, "Northwind Logistics");
	demo_rows_text(companies, "northwind.example");
	demo_rows_null(companies);
	demo_rows_null(companies);
	demo_rows_text(companies, "[]");
	demo_rows_text(companies, "{}");
	demo_rows_time(companies, 1764547200);
	demo_rows_time(companies, 1764547200);
	CHECK_INT(DB_OK, demo_rows_end_row(companies));
	int64_t ids[] = { 5, 3, 9, 4 };
	for (size_t i = 0; i < 4; i++)
		add_contact(contacts, ids[i], ids[i] == 9 ? 1 : 0);
	CHECK_INT(DB_OK, demo_rows_flush(contacts)); /* the company first */
	CHECK_INT(1, demo_rows_written(companies));
	int64_t next_id = 0;
	CHECK_INT(DB_OK, demo_store_next_id(db, DEMO_TABLE_CONTACTS, &next_id));
	CHECK_INT(10, next_id);

	struct walk walk = { 0 };
	CHECK_INT(DB_OK, demo_store_each_contact(db, 4, 9, collect, &walk));
	CHECK_INT(3, walk.seen); /* 3 is outside the range */
	CHECK_INT(4, walk.ids[0]);
	CHECK_INT(5, walk.ids[1]);
	CHECK_INT(9, walk.ids[2]);
	CHECK_STR("-", walk.company[1]);
	CHECK_STR("Northwind Logistics", walk.company[2]);

	struct walk stopped = { .stop_after = 2 };
	CHECK_INT(DB_BUSY, demo_store_each_contact(db, 1, 100, collect, &stopped));
	CHECK_INT(2, stopped.seen);
	demo_rows_free(contacts);
	demo_rows_free(companies);
	CHECK_INT(DB_OK, demo_store_analyze(db));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'fts_pending' "
				    "OR tbl GLOB '*_fts_*'"));
	db_rollback(db);
	db_close(db);
	remove_db_files();
}

int main(void)
{
	RUN(test_batches_follow_the_variable_limit_and_before_goes_first);
	RUN(test_contacts_come_back_in_id_order);
	return check_finish();
}
