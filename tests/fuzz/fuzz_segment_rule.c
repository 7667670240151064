/*
 * fuzz_segment_rule.c - the segment rule compiler (segment_rule_compile) on any JSON, and
 * the SQL it emits run by SQLite over the real schema. Properties: a compiled rule is SQL
 * that prepares, has exactly one '?' parameter per bound value (no value is ever part of
 * the SQL text), binds only strings and numbers (what the store can bind), and runs; a
 * refused rule reports at least one error and no SQL.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <string.h>

#include "crm/analytics.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/segment_rule.h"
#include "fuzz.h"
#include "crm/banned.h"

static struct db *db;

static void setup(void)
{
	db = db_open(":memory:", DB_SYNC_NORMAL);
	if (!db || db_migrate(db, NULL) != 0)
		fuzz_fail("cannot create the schema");
	if (sqlite3_exec(db_handle(db),
			 "INSERT INTO contacts (first_name, email, custom, tags, created_at, "
			 "updated_at) VALUES ('Ann', 'ann@example.com', '{\"a\":1,\"b\":\"x\"}', "
			 "'[\"vip\"]', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    analytics_scores_prepare(db, 0) != DB_OK)
		fuzz_fail("cannot set up: %s", sqlite3_errmsg(db_handle(db)));
}

static void run_sql(const struct segment_rule_sql *rule)
{
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "SELECT count(*) FROM contacts c LEFT JOIN temp.contact_scores s "
		       "ON s.contact_id = c.id WHERE ");
	buf_adds(&sql, rule->where.data);
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(db_handle(db), sql.data, -1, &stmt, NULL) != SQLITE_OK)
		fuzz_fail("the compiled rule is not SQL: %s: %s", sqlite3_errmsg(db_handle(db)),
			  rule->where.data);
	size_t binds = json_array_size(rule->binds);
	if ((size_t)sqlite3_bind_parameter_count(stmt) != binds)
		fuzz_fail("%d parameters for %zu values: %s", sqlite3_bind_parameter_count(stmt),
			  binds, rule->where.data);
	size_t index;
	const json_t *value;
	json_array_foreach(rule->binds, index, value) {
		if (json_is_string(value))
			sqlite3_bind_text(stmt, (int)index + 1, json_string_value(value),
					  (int)json_string_length(value), SQLITE_TRANSIENT);
		else if (json_is_integer(value))
			sqlite3_bind_int64(stmt, (int)index + 1, json_integer_value(value));
		else if (json_is_real(value))
			sqlite3_bind_double(stmt, (int)index + 1, json_real_value(value));
		else
			fuzz_fail("value %zu of the rule is not a string or number", index);
	}
	int rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		fuzz_fail("the compiled rule fails to run: %s: %s", sqlite3_errmsg(db_handle(db)),
			  rule->where.data);
	sqlite3_finalize(stmt);
	buf_release(&sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db)
		setup();
	json_t *rule = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!rule)
		return 0;
	struct segment_rule_sql compiled;
	segment_rule_sql_init(&compiled);
	struct field_errors errors = { NULL };
	if (segment_rule_compile(rule, "rule", (time_t)1790000000, &compiled, &errors) == 0) {
		if (field_errors_any(&errors))
			fuzz_fail("a compiled rule with errors");
		run_sql(&compiled);
	} else if (!field_errors_any(&errors) || compiled.where.len) {
		fuzz_fail("a refused rule without errors, or with SQL");
	}
	field_errors_release(&errors);
	segment_rule_sql_release(&compiled);
	json_decref(rule);
	return 0;
}
