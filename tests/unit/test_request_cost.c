/*
 * test_request_cost.c - what bounds a request's cost (issue 16): the segment rules' cost
 * model (segment_rule.h), its verdict against a connection's budget
 * (segments_rule_affordable), the budget itself (db_set_budget: a statement past it stops
 * with DB_TOO_COSTLY and its write transaction leaves nothing), and the per-user limit on
 * costly requests in flight (request_cost.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "unit_db.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/outcome.h"
#include "crm/request_cost.h"
#include "crm/segment_rule.h"
#include "crm/segments.h"
#include "store/db_sqlite.h"

/* Compiles rule text into `sql` (initialised); a failed check when it does not compile. */
static void compile_ok(const char *text, struct segment_rule_sql *sql)
{
	json_error_t error;
	json_t *rule = json_loads(text, 0, &error);
	CHECK(rule != NULL);
	struct field_errors errors = { NULL };
	CHECK_INT(0, segment_rule_compile(rule, "rule", time(NULL), sql, &errors));
	field_errors_release(&errors);
	json_decref(rule);
}

/* {"any":[99 contains conditions on first_name, each `length` characters]} (caller frees). */
static char *contains_rule(int conditions, int length)
{
	struct buf text = BUF_INIT;
	buf_adds(&text, "{\"any\":[");
	for (int i = 0; i < conditions; i++) {
		buf_addf(&text, "%s{\"field\":\"first_name\",\"op\":\"contains\",\"value\":\"",
			 i ? "," : "");
		for (int j = 0; j < length; j++)
			buf_addch(&text, (char)('a' + (i + j) % 26));
		buf_adds(&text, "\"}");
	}
	buf_adds(&text, "]}");
	return buf_detach(&text, NULL);
}

static double cost_of(const char *text)
{
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	compile_ok(text, &sql);
	double cost = sql.cost_ns;
	segment_rule_sql_release(&sql);
	return cost;
}

static void test_cost_grows_with_conditions_and_patterns(void)
{
	double one = cost_of("{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"lead\"}");
	CHECK_NEAR(SEGMENT_COST_CONDITION_NS, one, 0.001);
	double two = cost_of("{\"all\":[{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"lead\"},"
			     "{\"field\":\"owner_id\",\"op\":\"eq\",\"value\":3}]}");
	CHECK_NEAR(2 * SEGMENT_COST_CONDITION_NS, two, 0.001);
	double short_pattern = cost_of("{\"field\":\"email\",\"op\":\"contains\",\"value\":\"ab\"}");
	double long_pattern = cost_of("{\"field\":\"email\",\"op\":\"contains\",\"value\":\""
				      "abcdefghijabcdefghijabcdefghijabcdefghij\"}");
	CHECK(short_pattern > one);
	CHECK_NEAR(38 * SEGMENT_COST_PATTERN_CHAR_NS, long_pattern - short_pattern, 0.001);
	/* a JSON field is parsed for every contact */
	CHECK(cost_of("{\"field\":\"custom.plan\",\"op\":\"eq\",\"value\":\"pro\"}") >
	      one + SEGMENT_COST_JSON_NS - 1);
	CHECK(cost_of("{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"}") > one);

	/* the finding's rule: 99 contains of 999 characters, ~11 us per contact measured */
	char *attack = contains_rule(99, 999);
	double attack_ns = cost_of(attack);
	free(attack);
	CHECK(attack_ns > 11000);
	CHECK(attack_ns < 25000);
}

static void test_costliest_part_is_named(void)
{
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	compile_ok("{\"all\":[{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"lead\"},"
		   "{\"not\":{\"field\":\"custom.plan\",\"op\":\"contains\",\"value\":\"pro\"}},"
		   "{\"field\":\"email\",\"op\":\"contains\",\"value\":\"x\"}]}",
		   &sql);
	CHECK_STR("rule.all[1].not", sql.costliest);
	/* the estimate over a number of contacts, in milliseconds */
	CHECK_NEAR(sql.cost_ns * 1e6 / 1e6, segment_rule_cost_ms(&sql, 1000000), 0.001);
	CHECK_NEAR(0, segment_rule_cost_ms(&sql, 0), 0.001);
	/* a rule that does not compile leaves no cost behind */
	json_t *bad = json_pack("{s:s, s:s, s:i}", "field", "nope", "op", "eq", "value", 1);
	struct field_errors errors = { NULL };
	CHECK_INT(-1, segment_rule_compile(bad, "rule", 0, &sql, &errors));
	CHECK_NEAR(0, sql.cost_ns, 0.001);
	field_errors_release(&errors);
	json_decref(bad);
	segment_rule_sql_release(&sql);
}

static void exec_sql(struct db *db, const char *sql)
{
	char *message = NULL;
	int rc = sqlite3_exec(db_handle(db), sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		fprintf(stderr, "SQL failed: %s: %s\n", sql, message ? message : "?");
	CHECK_INT(SQLITE_OK, rc);
	sqlite3_free(message);
}

/* Steps `sql` to its end on `db`; returns the db_status. */
static int run_statement(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	int status = db_status_from_sqlite(db, rc, "test");
	sqlite3_reset(stmt);
	return status;
}

#define ENDLESS "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n " \
		"WHERE x < 2000000000) "

static void test_budget_stops_a_statement(struct db *db)
{
	CHECK_INT(0, db_budget(db));
	db_set_budget(db, 50);
	CHECK_INT(50, db_budget(db));
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_INT(DB_TOO_COSTLY, run_statement(db, ENDLESS "SELECT count(*) FROM n"));
	clock_gettime(CLOCK_MONOTONIC, &end);
	double seconds = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
	CHECK(seconds < 5); /* stopped soon after 50 ms, even on a loaded machine */
	CHECK(db_budget_spent(db));
	/* the store's status answers as the documented outcome */
	struct outcome outcome = OUTCOME_INIT;
	CHECK_INT(-1, outcome_from_db(&outcome, DB_TOO_COSTLY, NULL));
	CHECK_INT(OUTCOME_TOO_COSTLY, outcome.status);
	outcome_release(&outcome);
	/* disarmed, a short statement runs, and the flag is gone */
	db_set_budget(db, 0);
	CHECK(!db_budget_spent(db));
	CHECK_INT(DB_OK, run_statement(db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT "
					   "x + 1 FROM n WHERE x < 100000) SELECT count(*) FROM n"));
}

static void test_budget_rolls_a_write_back(struct db *db)
{
	exec_sql(db, "CREATE TABLE cost_rows (x INTEGER)");
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_OK, run_statement(db, "INSERT INTO cost_rows VALUES (1)"));
	db_set_budget(db, 50);
	CHECK_INT(DB_TOO_COSTLY, run_statement(db, ENDLESS "INSERT INTO cost_rows SELECT x FROM n"));
	db_rollback(db);
	db_set_budget(db, 0);
	CHECK(!db_in_write_transaction(db));
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM cost_rows");
	CHECK_INT(SQLITE_ROW, sqlite3_step(stmt));
	CHECK_INT(0, sqlite3_column_int(stmt, 0)); /* neither row: the whole write is gone */
	sqlite3_reset(stmt);
	/* and the connection writes again afterwards */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_OK, run_statement(db, "INSERT INTO cost_rows VALUES (2)"));
	CHECK_INT(DB_OK, db_commit(db));
}

static void test_request_finished_disarms(struct db *db)
{
	db_set_budget(db, 1);
	db_request_finished(db, 1024);
	CHECK_INT(0, db_budget(db));
	CHECK_INT(DB_OK, run_statement(db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT "
					   "x + 1 FROM n WHERE x < 300000) SELECT count(*) FROM n"));
}

static void test_rule_affordable_within_budget(struct db *db)
{
	exec_sql(db, "INSERT INTO contacts (id, first_name, created_at, updated_at) VALUES "
		     "(1, 'A', 'now', 'now'), (100000, 'B', 'now', 'now')");
	char *attack = contains_rule(99, 999);
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	compile_ok(attack, &sql);
	free(attack);
	struct outcome outcome = OUTCOME_INIT;
	/* no budget armed (crmctl, jobs): anything goes */
	CHECK_INT(0, segments_rule_affordable(db, &sql, &outcome));
	/* 100k contacts at > 11 us each is more than a second */
	db_set_budget(db, 1000);
	CHECK_INT(-1, segments_rule_affordable(db, &sql, &outcome));
	CHECK_INT(OUTCOME_INVALID, outcome.status);
	json_t *first = json_array_get(outcome.errors.list, 0);
	CHECK_STR("rule.any[0]", json_string_value(json_object_get(first, "field")));
	CHECK(strstr(json_string_value(json_object_get(first, "message")), "100000 contacts"));
	outcome_release(&outcome);
	outcome_init(&outcome);
	/* a generous budget affords it; a cheap rule fits in a small one */
	db_set_budget(db, 60000);
	CHECK_INT(0, segments_rule_affordable(db, &sql, &outcome));
	segment_rule_sql_release(&sql);
	segment_rule_sql_init(&sql);
	compile_ok("{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"lead\"}", &sql);
	db_set_budget(db, 100);
	CHECK_INT(0, segments_rule_affordable(db, &sql, &outcome));
	CHECK_INT(0, segments_rule_affordable(db, NULL, &outcome)); /* a static segment */
	db_set_budget(db, 0);
	CHECK(!outcome_failed(&outcome));
	segment_rule_sql_release(&sql);
}

static void test_costly_requests_per_user(void)
{
	struct request_cost_limits limits = { .costly_per_user = 2 };
	request_cost_configure(&limits);
	CHECK_INT(REQUEST_BUDGET_MS_DEFAULT, request_cost_budget_ms(false));
	CHECK_INT(REQUEST_BULK_BUDGET_MS_DEFAULT, request_cost_budget_ms(true));
	CHECK(request_cost_enter(7));
	CHECK(request_cost_enter(7));
	CHECK(!request_cost_enter(7)); /* the third of user 7 waits */
	CHECK(request_cost_enter(8));  /* another user does not */
	request_cost_leave(7);
	CHECK(request_cost_enter(7)); /* a slot is free again */
	request_cost_leave(7);
	request_cost_leave(7);
	request_cost_leave(8);
	request_cost_leave(9); /* never entered: nothing happens */
	CHECK(request_cost_enter(9));
	request_cost_leave(9);
	struct request_cost_limits custom = { .budget_ms = 250, .bulk_budget_ms = 9000 };
	request_cost_configure(&custom);
	CHECK_INT(250, request_cost_budget_ms(false));
	CHECK_INT(9000, request_cost_budget_ms(true));
}

#define RUN_WITH_DB(test_function, db)                                                   \
	do {                                                                             \
		int before_ = check_failures;                                            \
		test_function(db);                                                       \
		fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL",  \
			#test_function);                                                 \
	} while (0)

int main(void)
{
	RUN(test_cost_grows_with_conditions_and_patterns);
	RUN(test_costliest_part_is_named);
	RUN(test_costly_requests_per_user);
	struct db *db = open_fresh_db("request-cost", true);
	RUN_WITH_DB(test_budget_stops_a_statement, db);
	RUN_WITH_DB(test_budget_rolls_a_write_back, db);
	RUN_WITH_DB(test_request_finished_disarms, db);
	RUN_WITH_DB(test_rule_affordable_within_budget, db);
	remove_db(db);
	return check_finish();
}
