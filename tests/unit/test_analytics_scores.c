/*
 * test_analytics_scores.c - the scores of the customer base (src/analytics/analytics_scores.c) on a
 * real database: the triggers of 0004 keep contact_summaries equal to a recomputation from
 * the purchases and interactions after inserts, changes and deletes; a build has one row
 * per contact with history; after writes, the incremental update gives exactly the table a
 * full build gives (also when cut points move, contacts appear, lose their history or are
 * deleted); the scores are built once per process and shared by every connection (a second
 * connection neither builds nor updates, and sees the same, current rows); a connection
 * whose read transaction is older than the newest scores sees its own moment's rows; a
 * transaction's uncommitted writes are seen by it alone, and a rollback costs nothing; the
 * start-up warm-up builds once, also when a request arrives during it; as-of builds ignore
 * later history.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/analytics.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"

static void exec(struct db *db, const char *sql)
{
	char *message = NULL;
	if (sqlite3_exec(db_handle(db), sql, NULL, NULL, &message) != SQLITE_OK) {
		fprintf(stderr, "SQL failed: %s: %s\n", sql, message ? message : "?");
		CHECK(0);
	}
	sqlite3_free(message);
}

static int64_t scalar(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t value = -1;
	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

/* The whole table as text, one line per row (the caller frees). */
static char *table_text(struct db *db)
{
	struct buf out = BUF_INIT;
	sqlite3_stmt *stmt = NULL;
	CHECK(sqlite3_prepare_v2(db_handle(db),
				 "SELECT contact_id, ltv_cents, predicted_ltv_cents, tier, rfm, "
				 "churn_risk, purchases_count, last_purchase_at, last_interaction_at, "
				 "first_purchase_at, loyalty, value_class, relationship_stage "
				 "FROM temp.contact_scores ORDER BY contact_id",
				 -1, &stmt, NULL) == SQLITE_OK);
	while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(stmt); i++) {
			const unsigned char *text = sqlite3_column_text(stmt, i);
			buf_addf(&out, "%s|", text ? (const char *)text : "NULL");
		}
		buf_addch(&out, '\n');
	}
	sqlite3_finalize(stmt);
	return buf_detach(&out, NULL);
}

static struct db *open_db(void)
{
	struct db *db = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(db != NULL);
	return db;
}

/* Contacts 1..n; contact i buys (i % 6) times, every 10 + i % 17 days, the last one i % 40
 * days ago; every third has interactions, some of them tickets. */
static void populate(struct db *db, int n)
{
	struct buf sql = BUF_INIT;
	exec(db, "BEGIN");
	for (int i = 1; i <= n; i++) {
		buf_reset(&sql);
		buf_addf(&sql, "INSERT INTO contacts (id, first_name, tags, custom, created_at, "
			       "updated_at) VALUES (%d, 'C', '[]', '{}', 'x', 'x')", i);
		exec(db, sql.data);
		for (int k = 0; k < i % 6; k++) {
			buf_reset(&sql);
			buf_addf(&sql, "INSERT INTO purchases (contact_id, amount_cents, currency, "
				       "occurred_at, created_at, updated_at) VALUES (%d, %d, 'EUR', "
				       "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now', 'start of day', "
				       "'-%d days', '+%d hours'), 'x', 'x')",
				 i, 1000 + 37 * i + 100 * k, i % 40 + k * (10 + i % 17), k % 20);
			exec(db, sql.data);
		}
		if (i % 3 == 0) {
			buf_reset(&sql);
			buf_addf(&sql, "INSERT INTO interactions (contact_id, kind, direction, "
				       "occurred_at, created_at, updated_at) VALUES (%d, '%s', 'inbound', "
				       "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now', '-%d days'), 'x', 'x')",
				 i, i % 2 ? "ticket" : "call", i % 50);
			exec(db, sql.data);
		}
	}
	exec(db, "COMMIT");
	buf_release(&sql);
}

/* contact_summaries equals a recomputation from the records. */
static void check_summaries(struct db *db)
{
	CHECK_INT(0, scalar(db,
			    "SELECT count(*) FROM (SELECT contact_id, count(*) AS n, "
			    "count(DISTINCT substr(occurred_at, 1, 10)) AS days, sum(amount_cents) AS total, "
			    "min(occurred_at) AS first, max(occurred_at) AS last FROM purchases "
			    "GROUP BY contact_id) p FULL JOIN (SELECT * FROM contact_summaries "
			    "WHERE purchases_count > 0) s USING (contact_id) "
			    "WHERE p.n IS NOT s.purchases_count OR p.days IS NOT s.purchase_days "
			    "OR p.total IS NOT s.total_cents OR p.first IS NOT s.first_purchase_at "
			    "OR p.last IS NOT s.last_purchase_at"));
	CHECK_INT(0, scalar(db,
			    "SELECT count(*) FROM contact_summaries s WHERE purchases_count > 0 AND "
			    "first_day_cents <> (SELECT sum(amount_cents) FROM purchases p WHERE "
			    "p.contact_id = s.contact_id AND substr(p.occurred_at, 1, 10) = "
			    "substr(s.first_purchase_at, 1, 10))"));
	CHECK_INT(0, scalar(db,
			    "SELECT count(*) FROM (SELECT contact_id, count(*) AS n, max(occurred_at) AS "
			    "last, count(*) FILTER (WHERE kind = 'ticket' OR direction IS 'inbound') AS "
			    "service FROM interactions GROUP BY contact_id) i FULL JOIN (SELECT * FROM "
			    "contact_summaries WHERE interactions_count > 0) s USING (contact_id) "
			    "WHERE i.n IS NOT s.interactions_count OR i.last IS NOT s.last_interaction_at "
			    "OR i.service IS NOT s.service_count"));
	CHECK_INT(0, scalar(db, "SELECT count(*) FROM contact_summaries "
				"WHERE purchases_count = 0 AND interactions_count = 0"));
}

/*
 * Brings connection a's table up to date, which must be an incremental update when
 * `incremental`, then compares it with a full build on the same connection (forced by a
 * configuration change).
 */
static void check_same_as_full_build(struct db *a, bool incremental, const char *what)
{
	int64_t builds, updates, builds_after, updates_after;
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	analytics_scores_counts(&builds_after, &updates_after);
	if (incremental) {
		CHECK_INT(builds, builds_after);
		CHECK_INT(updates + 1, updates_after);
	}
	char *updated = table_text(a);
	exec(a, "UPDATE analytics_state SET config_generation = config_generation + 1");
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(builds_after + 1, builds);
	char *full = table_text(a);
	if (strcmp(updated, full) != 0) {
		fprintf(stderr, "%s: the updated table differs from a full build\n", what);
		CHECK(0);
	}
	free(updated);
	free(full);
}

/* The token of the snapshot the connection shows. */
static int64_t pinned_token(struct db *db)
{
	struct analytics_scores_state state;
	CHECK_INT(DB_OK, analytics_scores_state_get(db, &state));
	int64_t token = state.token;
	analytics_scores_state_release(&state);
	return token;
}

static void insert_purchase(struct db *db, int contact_id, int cents)
{
	char sql[400];
	snprintf(sql, sizeof(sql), "INSERT INTO purchases (contact_id, amount_cents, currency, "
				   "occurred_at, created_at, updated_at) VALUES (%d, %d, 'EUR', "
				   "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now', '-2 days'), 'x', 'x')",
		 contact_id, cents);
	exec(db, sql);
}

/*
 * Connection b uses what connection a built: no build, no update, the same snapshot and
 * rows; after a write, a's update serves b too, and both show the write.
 */
static void test_sharing(struct db *a, struct db *b)
{
	int64_t builds, updates, builds_after, updates_after;
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0));
	analytics_scores_counts(&builds_after, &updates_after);
	CHECK_INT(builds, builds_after);
	CHECK_INT(updates, updates_after);
	CHECK_INT(pinned_token(a), pinned_token(b));
	char *on_a = table_text(a), *on_b = table_text(b);
	CHECK(strcmp(on_a, on_b) == 0);
	free(on_a);
	free(on_b);

	insert_purchase(b, 5, 4242424);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0));
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(builds_after, builds);
	CHECK_INT(updates_after + 1, updates); /* one update for both connections */
	CHECK_INT(pinned_token(a), pinned_token(b));
	on_a = table_text(a);
	on_b = table_text(b);
	CHECK(strcmp(on_a, on_b) == 0);
	CHECK(scalar(a, "SELECT ltv_cents FROM temp.contact_scores WHERE contact_id = 5") >= 4242424);
	free(on_a);
	free(on_b);
}

/*
 * b's read transaction began before a write that a has since brought into the shared
 * scores: b sees the rows of its own moment (derived backwards, not built in full), and a
 * the new ones.
 */
static void test_older_snapshot(struct db *a, struct db *b)
{
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	char *before = table_text(a);
	exec(b, "BEGIN");
	CHECK(scalar(b, "SELECT count(*) FROM purchases") > 0); /* b's snapshot starts here */
	insert_purchase(a, 40, 5555555);
	insert_purchase(a, 41, 3);
	int64_t builds, updates, builds_after, updates_after;
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	char *after = table_text(a);
	CHECK(strcmp(before, after) != 0);
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0)); /* inside b's older transaction */
	analytics_scores_counts(&builds_after, &updates_after);
	CHECK_INT(builds, builds_after);
	CHECK_INT(updates + 2, updates_after); /* a forwards, b backwards */
	char *older = table_text(b);
	if (strcmp(before, older) != 0) {
		fprintf(stderr, "an older transaction does not see its own moment's scores\n");
		CHECK(0);
	}
	exec(b, "COMMIT");
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0));
	char *now = table_text(b);
	CHECK(strcmp(after, now) == 0);
	free(before);
	free(after);
	free(older);
	free(now);
}

/* A's uncommitted purchase shows on a only; b keeps the shared rows; nothing is rebuilt. */
static void test_private_writes(struct db *a, struct db *b)
{
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0));
	char *shared = table_text(b);
	exec(a, "BEGIN IMMEDIATE");
	insert_purchase(a, 42, 6666666);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	CHECK(scalar(a, "SELECT ltv_cents FROM temp.contact_scores WHERE contact_id = 42") >= 6666666);
	CHECK_INT(DB_OK, analytics_scores_prepare(b, 0));
	char *on_b = table_text(b);
	CHECK(strcmp(shared, on_b) == 0);
	exec(a, "ROLLBACK");
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	char *on_a = table_text(a);
	CHECK(strcmp(shared, on_a) == 0);
	CHECK_INT(pinned_token(a), pinned_token(b));
	free(shared);
	free(on_b);
	free(on_a);
}

/* What a prepare on another thread does, for the warm-up test. */
static void *prepare_on_thread(void *db)
{
	CHECK_INT(DB_OK, analytics_scores_prepare(db, 0));
	return NULL;
}

/*
 * The start-up warm-up (a thread with its own connection) builds the live scores once; a
 * request that arrives during it waits for it instead of building again, and both give
 * exactly a full build's rows.
 */
static void test_warm_up(struct db *a)
{
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	char *expected = table_text(a);
	db_thread_setup(db_path, DB_SYNC_NORMAL);
	for (int round = 0; round < 2; round++) {
		analytics_scores_release_all();
		struct db *c = open_db();
		int64_t builds, updates, builds_after, updates_after;
		analytics_scores_counts(&builds, &updates);
		CHECK_INT(0, analytics_scores_warm_up_start());
		pthread_t request;
		if (round == 1) /* a request during the warm-up */
			CHECK_INT(0, pthread_create(&request, NULL, prepare_on_thread, c));
		analytics_scores_warm_up_wait();
		if (round == 1)
			pthread_join(request, NULL);
		else
			CHECK_INT(DB_OK, analytics_scores_prepare(c, 0));
		analytics_scores_counts(&builds_after, &updates_after);
		CHECK_INT(builds + 1, builds_after);
		CHECK_INT(updates, updates_after);
		char *built = table_text(c);
		CHECK(strcmp(expected, built) == 0);
		free(built);
		db_close(c);
	}
	free(expected);
}

static void test_scores(void)
{
	struct db *a = open_fresh_db("scores", true), *b = open_db();
	populate(a, 300);
	check_summaries(a);

	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	int64_t with_history = scalar(a, "SELECT count(*) FROM contact_summaries");
	CHECK_INT(with_history, scalar(a, "SELECT count(*) FROM temp.contact_scores"));
	CHECK_INT(scalar(a, "SELECT count(*) FROM contact_summaries WHERE purchases_count > 0"),
		  scalar(a, "SELECT count(*) FROM temp.contact_scores WHERE tier IS NOT NULL"));
	CHECK_INT(0, scalar(a, "SELECT count(*) FROM temp.contact_scores WHERE purchases_count = 0 "
			       "AND (rfm IS NOT NULL OR churn_risk IS NOT NULL OR ltv_cents <> 0)"));
	/* Nothing changed: the same snapshot. */
	int64_t token = pinned_token(a);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	CHECK_INT(token, pinned_token(a));
	test_sharing(a, b);

	/* One big spender moves the M cut points and the tier thresholds. */
	exec(b, "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
		"created_at, updated_at) VALUES (7, 99999999, 'EUR', strftime('%Y-%m-%dT%H:%M:%SZ', "
		"'now', '-1 days'), 'x', 'x')");
	check_same_as_full_build(a, true, "a big purchase");

	/* A new customer, a contact losing all history, a changed amount, a moved purchase, a
	 * deleted contact, new tickets. */
	exec(b, "INSERT INTO contacts (id, first_name, tags, custom, created_at, updated_at) "
		"VALUES (1000, 'N', '[]', '{}', 'x', 'x')");
	exec(b, "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
		"created_at, updated_at) VALUES (1000, 5000, 'EUR', strftime('%Y-%m-%dT%H:%M:%SZ', "
		"'now'), 'x', 'x')");
	exec(b, "DELETE FROM purchases WHERE contact_id = 13");
	exec(b, "UPDATE purchases SET amount_cents = amount_cents * 3 WHERE contact_id = 20");
	exec(b, "UPDATE purchases SET contact_id = 21 WHERE contact_id = 22");
	exec(b, "DELETE FROM contacts WHERE id = 23");
	exec(b, "INSERT INTO interactions (contact_id, kind, direction, occurred_at, created_at, "
		"updated_at) VALUES (25, 'ticket', NULL, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
		"'x', 'x'), (25, 'chat', 'inbound', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'x', 'x')");
	exec(b, "DELETE FROM interactions WHERE contact_id = 3");
	check_summaries(a);
	check_same_as_full_build(a, true, "mixed writes");
	CHECK_INT(0, scalar(a, "SELECT count(*) FROM temp.contact_scores WHERE contact_id = 23"));
	CHECK_INT(1, scalar(a, "SELECT count(*) FROM temp.contact_scores WHERE contact_id = 1000"));

	/* An update inside a transaction that is rolled back: the next call notices. */
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	exec(a, "BEGIN");
	exec(a, "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
		"created_at, updated_at) VALUES (30, 77777777, 'EUR', strftime('%Y-%m-%dT%H:%M:%SZ', "
		"'now'), 'x', 'x')");
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0)); /* inside the caller's transaction */
	CHECK_INT(77777777 + scalar(a, "SELECT coalesce(sum(amount_cents), 0) - 77777777 FROM "
				       "purchases WHERE contact_id = 30"),
		  scalar(a, "SELECT ltv_cents FROM temp.contact_scores WHERE contact_id = 30"));
	exec(a, "ROLLBACK");
	/* The shared scores never saw the rolled-back write: nothing to do, and it is right. */
	int64_t builds, updates, builds_after, updates_after;
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	analytics_scores_counts(&builds_after, &updates_after);
	CHECK_INT(builds, builds_after);
	CHECK_INT(updates, updates_after);
	char *after_rollback = table_text(a);
	CHECK(strstr(after_rollback, "77777777") == NULL);
	/* The next write is an incremental update of the shared scores. */
	exec(b, "INSERT INTO purchases (contact_id, amount_cents, currency, occurred_at, "
		"created_at, updated_at) VALUES (31, 1234, 'EUR', strftime('%Y-%m-%dT%H:%M:%SZ', "
		"'now'), 'x', 'x')");
	CHECK_INT(DB_OK, analytics_scores_prepare(a, 0));
	analytics_scores_counts(&builds, &updates);
	CHECK_INT(builds_after, builds);
	CHECK_INT(updates_after + 1, updates);
	check_same_as_full_build(a, false, "after a rollback");
	exec(b, "DELETE FROM purchases WHERE contact_id = 31 AND amount_cents = 1234");
	check_same_as_full_build(a, true, "a delete");
	char *again = table_text(a);
	CHECK(strcmp(after_rollback, again) == 0); /* the same data as before the rollback */
	free(after_rollback);
	free(again);
	analytics_scores_finish(a);
	test_older_snapshot(a, b);
	test_private_writes(a, b);
	check_same_as_full_build(a, false, "after the transactions");

	/* As of a day: later history is ignored; back to today afterwards. */
	int64_t day = analytics_today() - 15;
	CHECK_INT(DB_OK, analytics_scores_prepare(a, day * 86400 + 3600));
	char cutoff[ANALYTICS_DATE_SIZE], sql[300];
	analytics_store_format_day(day + 1, cutoff);
	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT contact_id) FROM purchases WHERE "
				   "occurred_at < '%s'", cutoff);
	CHECK_INT(scalar(a, sql), scalar(a, "SELECT count(*) FROM temp.contact_scores WHERE "
					    "purchases_count > 0"));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM temp.contact_scores WHERE "
				   "last_purchase_at >= '%s' OR last_interaction_at >= '%s'", cutoff, cutoff);
	CHECK_INT(0, scalar(a, sql));
	check_same_as_full_build(a, false, "back to today");
	test_warm_up(a);

	db_close(b);
	remove_db(a);
}

int main(void)
{
	RUN(test_scores);
	return check_finish();
}
