/*
 * test_operations.c - the operational data layer (operations_store.c) on a migrated
 * temporary database: pipeline sums (half-up rounding of the weighted total, read scopes,
 * filters), the default-currency setting, stage-history paging, and the timeline's order
 * and keyset paging with equal timestamps; plus the stage helpers of opportunities.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/operations.h"
#include "crm/opportunities.h"

/* Runs fixed SQL (tests only: no values to bind). */
static void exec(struct db *db, const char *sql)
{
	char *message = NULL;
	if (sqlite3_exec(db_handle(db), sql, NULL, NULL, &message) != SQLITE_OK) {
		fprintf(stderr, "SQL failed: %s\n%s\n", message ? message : "?", sql);
		CHECK(0);
	}
	sqlite3_free(message);
}

#define T0 "2026-01-01T00:00:00Z"

static void add_users(struct db *db)
{
	exec(db, "INSERT INTO users (id, email, name, role, team, created_at, updated_at) VALUES "
		 "(1, 'a@x.org', 'A', 'rep', 'east', '" T0 "', '" T0 "'),"
		 "(2, 'b@x.org', 'B', 'rep', 'east', '" T0 "', '" T0 "'),"
		 "(3, 'w@x.org', 'W', 'rep', 'west', '" T0 "', '" T0 "')");
}

static void test_stage_helpers(void)
{
	CHECK_INT(0, opportunities_stage_index("lead"));
	CHECK_INT(5, opportunities_stage_index("lost"));
	CHECK_INT(-1, opportunities_stage_index("closed"));
	CHECK_INT(-1, opportunities_stage_index(NULL));
	int expected[] = { 10, 25, 50, 75, 100, 0 };
	for (int i = 0; opportunities_stages[i]; i++)
		CHECK_INT(expected[i], opportunities_stage_probability(opportunities_stages[i]));
	CHECK_INT(-1, opportunities_stage_probability("nope"));
	CHECK(opportunities_stage_closed("won") && opportunities_stage_closed("lost"));
	CHECK(!opportunities_stage_closed("negotiation") && !opportunities_stage_closed(NULL));
}

/* The figures of (stage, currency) in the store's rows, or -1s. */
static void figures_of(const json_t *rows, const char *stage, const char *currency,
		       long long out[3])
{
	out[0] = out[1] = out[2] = -1;
	size_t index;
	const json_t *row;
	json_array_foreach(rows, index, row) {
		if (strcmp(json_string_value(json_object_get(row, "stage")), stage) == 0 &&
		    strcmp(json_string_value(json_object_get(row, "currency")), currency) == 0) {
			out[0] = json_integer_value(json_object_get(row, "count"));
			out[1] = json_integer_value(json_object_get(row, "amount_cents"));
			out[2] = json_integer_value(json_object_get(row, "weighted_amount_cents"));
		}
	}
}

static void test_pipeline_sums(void)
{
	struct db *db = open_fresh_db("operations", true);
	add_users(db);
	/* lead EUR: 150 x 1 = 150 -> 1.5 -> 2 (half up); 249 x 1 -> 2.49; together 3.99 -> 4 */
	exec(db, "INSERT INTO opportunities (name, owner_id, stage, amount_cents, currency, "
		 "probability, expected_close, created_at, updated_at) VALUES "
		 "('a', 1, 'lead', 150, 'EUR', 1, '2026-01-10', '" T0 "', '" T0 "'),"
		 "('b', 1, 'lead', 249, 'EUR', 1, '2026-02-10', '" T0 "', '" T0 "'),"
		 "('c', 2, 'won', 10000000000000, 'EUR', 100, NULL, '" T0 "', '" T0 "'),"
		 "('d', 3, 'proposal', 50, 'USD', 1, '2026-01-31', '" T0 "', '" T0 "'),"
		 "('e', 3, 'lost', 999, 'USD', 0, '2026-01-01', '" T0 "', '" T0 "')");
	struct operations_pipeline_query query = { .read = { PERM_SCOPE_ALL, 1, "east" } };
	json_t *rows = NULL;
	long long f[3];
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(4, json_array_size(rows));
	figures_of(rows, "lead", "EUR", f);
	CHECK_INT(2, f[0]);
	CHECK_INT(399, f[1]);
	CHECK_INT(4, f[2]);
	figures_of(rows, "won", "EUR", f);
	CHECK_INT(10000000000000LL, f[1]);
	CHECK_INT(10000000000000LL, f[2]);
	figures_of(rows, "proposal", "USD", f); /* 50 x 1 = 0.5 -> 1 */
	CHECK_INT(1, f[2]);
	figures_of(rows, "lost", "USD", f);
	CHECK_INT(0, f[2]);
	json_decref(rows);

	/* team scope: east owners only; own: the caller only */
	query.read.scope = PERM_SCOPE_TEAM;
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(2, json_array_size(rows));
	json_decref(rows);
	query.read.scope = PERM_SCOPE_OWN;
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(1, json_array_size(rows));
	json_decref(rows);
	query.read.scope = PERM_SCOPE_NONE;
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(0, json_array_size(rows));
	json_decref(rows);

	/* filters: the period is inclusive; currency; owner */
	query.read.scope = PERM_SCOPE_ALL;
	query.expected_close_from = "2026-01-10";
	query.expected_close_to = "2026-01-31";
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	figures_of(rows, "lead", "EUR", f);
	CHECK_INT(1, f[0]);
	CHECK_INT(150, f[1]);
	CHECK_INT(2, f[2]);
	figures_of(rows, "proposal", "USD", f);
	CHECK_INT(1, f[0]);
	CHECK_INT(2, json_array_size(rows));
	json_decref(rows);
	query.expected_close_from = query.expected_close_to = NULL;
	query.currency = "USD";
	query.owner_id = 3;
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(2, json_array_size(rows));
	json_decref(rows);
	query.owner_id = 1;
	CHECK_INT(DB_OK, operations_store_pipeline(db, &query, &rows));
	CHECK_INT(0, json_array_size(rows));
	json_decref(rows);
	remove_db(db);
}

static void test_default_currency(void)
{
	struct db *db = open_fresh_db("operations", true);
	char currency[4];
	CHECK_INT(DB_OK, operations_store_default_currency(db, currency));
	CHECK_STR("EUR", currency);
	exec(db, "INSERT INTO settings (key, value) VALUES ('default_currency', 'usd')");
	CHECK_INT(DB_OK, operations_store_default_currency(db, currency));
	CHECK_STR("EUR", currency); /* not a code: ignored */
	exec(db, "UPDATE settings SET value = 'GBP' WHERE key = 'default_currency'");
	CHECK_INT(DB_OK, operations_store_default_currency(db, currency));
	CHECK_STR("GBP", currency);
	remove_db(db);
}

static void test_stage_history_pages(void)
{
	struct db *db = open_fresh_db("operations", true);
	add_users(db);
	exec(db, "INSERT INTO opportunities (id, name, owner_id, stage, probability, created_at, "
		 "updated_at) VALUES (7, 'x', 1, 'won', 100, '" T0 "', '" T0 "')");
	const char *stages[] = { NULL, "lead", "qualified", "proposal", "won" };
	for (int i = 1; i < 5; i++)
		CHECK_INT(DB_OK, operations_store_stage_change_add(db, 7, stages[i - 1], stages[i], T0,
								   i % 2 ? 1 : 0));
	json_t *rows = NULL;
	bool more = false;
	int64_t after = 0;
	int seen = 0;
	for (int page = 0; page < 10; page++) {
		CHECK_INT(DB_OK, operations_store_stage_changes(db, 7, after, 3, &rows, &more));
		size_t index;
		json_t *row;
		json_array_foreach(rows, index, row) {
			CHECK_STR(stages[seen + 1], json_string_value(json_object_get(row, "to_stage")));
			CHECK(json_is_null(json_object_get(row, "user_id")) == (seen % 2 == 1));
			after = json_integer_value(json_object_get(row, "id"));
			seen++;
		}
		json_decref(rows);
		if (!more)
			break;
	}
	CHECK_INT(4, seen);
	json_t *record = NULL;
	CHECK_INT(DB_OK, operations_store_stage_change_get(db, after, &record));
	CHECK_STR("proposal", json_string_value(json_object_get(record, "from_stage")));
	json_decref(record);
	CHECK_INT(DB_NOT_FOUND, operations_store_stage_change_get(db, 999, &record));
	CHECK(record == NULL);
	remove_db(db);
}

static void test_timeline_order_and_paging(void)
{
	struct db *db = open_fresh_db("operations", true);
	add_users(db);
	exec(db, "INSERT INTO contacts (id, first_name, owner_id, created_at, updated_at) VALUES "
		 "(1, 'c', 1, '" T0 "', '" T0 "'), (2, 'other', 1, '" T0 "', '" T0 "')");
	/* six items at one time across kinds, one newer, one older; the other contact's too */
	exec(db, "INSERT INTO interactions (id, contact_id, kind, occurred_at, user_id, created_at, "
		 "updated_at) VALUES (1, 1, 'call', '" T0 "', 1, '" T0 "', '" T0 "'),"
		 "(2, 1, 'call', '" T0 "', 3, '" T0 "', '" T0 "'),"
		 "(3, 1, 'call', '2026-02-01T00:00:00Z', 1, '" T0 "', '" T0 "'),"
		 "(4, 2, 'call', '" T0 "', 1, '" T0 "', '" T0 "');"
		 "INSERT INTO purchases (id, contact_id, amount_cents, currency, occurred_at, "
		 "created_at, updated_at) VALUES (1, 1, 5, 'EUR', '" T0 "', '" T0 "', '" T0 "'),"
		 "(2, 1, 5, 'EUR', '2025-12-01T00:00:00Z', '" T0 "', '" T0 "');"
		 "INSERT INTO opportunities (id, name, contact_id, owner_id, stage, probability, "
		 "created_at, updated_at) VALUES (1, 'o', 1, 1, 'won', 100, '" T0 "', '" T0 "');"
		 "INSERT INTO opportunity_stage_changes (id, opportunity_id, from_stage, to_stage, "
		 "changed_at) VALUES (1, 1, NULL, 'lead', '" T0 "'), (2, 1, 'lead', 'won', '" T0 "');"
		 "INSERT INTO tasks (id, title, contact_id, assignee_id, created_at, updated_at) "
		 "VALUES (1, 't', 1, 1, '" T0 "', '" T0 "'), (2, 't', 1, 3, '" T0 "', '" T0 "')");
	const char *expected[][2] = {
		{ "interaction", "3" }, { "interaction", "2" }, { "interaction", "1" },
		{ "opportunity", "1" }, { "purchase", "1" },    { "stage_change", "2" },
		{ "task", "2" },        { "task", "1" },        { "purchase", "2" },
	};
	struct operations_scope all = { PERM_SCOPE_ALL, 1, "east" };
	for (int limit = 1; limit <= 10; limit++) {
		struct operations_timeline_query query = {
			.contact_id = 1, .interactions = all, .opportunities = all, .tasks = all,
			.purchases = true, .limit = limit,
		};
		char at[32] = "", type[32] = "";
		int seen = 0;
		for (int page = 0; page < 20; page++) {
			json_t *items = NULL;
			bool more = false;
			CHECK_INT(DB_OK, operations_store_timeline(db, &query, &items, &more));
			CHECK((int)json_array_size(items) <= limit);
			size_t index;
			json_t *item;
			json_array_foreach(items, index, item) {
				const char *item_type = json_string_value(json_object_get(item, "type"));
				char id[24];
				snprintf(id, sizeof(id), "%lld",
					 (long long)json_integer_value(json_object_get(item, "id")));
				if (seen < 9) {
					CHECK_STR(expected[seen][0], item_type);
					CHECK_STR(expected[seen][1], id);
				}
				seen++;
				snprintf(at, sizeof(at), "%s",
					 json_string_value(json_object_get(item, "at")));
				snprintf(type, sizeof(type), "%s", item_type);
				query.cursor_id = json_integer_value(json_object_get(item, "id"));
			}
			json_decref(items);
			if (!more)
				break;
			query.has_cursor = true;
			query.cursor_at = at;
			query.cursor_type = type;
		}
		CHECK_INT(9, seen);
	}
	/* scopes: own interactions and tasks of the caller; no opportunities or purchases */
	struct operations_timeline_query query = {
		.contact_id = 1, .interactions = { PERM_SCOPE_OWN, 3, "west" },
		.opportunities = { PERM_SCOPE_NONE, 3, "west" }, .tasks = { PERM_SCOPE_TEAM, 3, "west" },
		.purchases = false, .limit = 50,
	};
	json_t *items = NULL;
	bool more = true;
	CHECK_INT(DB_OK, operations_store_timeline(db, &query, &items, &more));
	CHECK(!more);
	CHECK_INT(2, json_array_size(items));
	CHECK_STR("interaction", json_string_value(json_object_get(json_array_get(items, 0), "type")));
	CHECK_INT(2, json_integer_value(json_object_get(json_array_get(items, 0), "id")));
	CHECK_STR("task", json_string_value(json_object_get(json_array_get(items, 1), "type")));
	json_decref(items);
	/* nothing readable: an empty page */
	query.interactions.scope = query.tasks.scope = PERM_SCOPE_NONE;
	CHECK_INT(DB_OK, operations_store_timeline(db, &query, &items, &more));
	CHECK_INT(0, json_array_size(items));
	json_decref(items);
	remove_db(db);
}

int main(void)
{
	RUN(test_stage_helpers);
	RUN(test_pipeline_sums);
	RUN(test_default_currency);
	RUN(test_stage_history_pages);
	RUN(test_timeline_order_and_paging);
	return check_finish();
}
