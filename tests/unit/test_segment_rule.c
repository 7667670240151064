/*
 * test_segment_rule.c - the segment rule compiler (segment_rule.h): the SQL and binds it
 * writes, relative times, errors naming the faulty node, limits, that no text of a rule
 * ever reaches the SQL, that every compiled rule is valid SQL with as many parameters as
 * binds (random rules), and its meaning on a real database with contacts and a
 * temp.contact_scores table of the analytics contract; plus the CSV cells of the export.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/segment_rule.h"
#include "crm/segments.h"

/* 2026-03-31T12:00:00Z */
static time_t test_now(void)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 2, .tm_mday = 31, .tm_hour = 12 };
	return timegm(&tm);
}

/* Compiles rule text; returns 0/-1 and leaves the errors in *errors (caller releases). */
static int compile_text(const char *text, struct segment_rule_sql *sql, struct field_errors *errors)
{
	json_error_t error;
	json_t *rule = json_loads(text, JSON_DECODE_ANY, &error);
	if (!rule) {
		fprintf(stderr, "bad test JSON: %s: %s\n", text, error.text);
		return -2;
	}
	int result = segment_rule_compile(rule, "rule", test_now(), sql, errors);
	json_decref(rule);
	return result;
}

/* The compiled SQL of `text` (static buffer), or "ERROR". */
static const char *sql_of(const char *text, const char *binds_expected)
{
	static char out[2048];
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	struct field_errors errors = { NULL };
	if (compile_text(text, &sql, &errors) != 0) {
		snprintf(out, sizeof(out), "ERROR");
	} else {
		snprintf(out, sizeof(out), "%s", sql.where.data);
		if (binds_expected) {
			char *binds = json_dumps(sql.binds, JSON_COMPACT);
			CHECK_STR(binds_expected, binds);
			free(binds);
		}
	}
	field_errors_release(&errors);
	segment_rule_sql_release(&sql);
	return out;
}

/* The fields of the errors a bad rule gets, joined with " " (static buffer). */
static const char *errors_of(const char *text)
{
	static char out[4096];
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	struct field_errors errors = { NULL };
	int result = compile_text(text, &sql, &errors);
	out[0] = '\0';
	size_t len = 0;
	if (result == 0)
		snprintf(out, sizeof(out), "COMPILED");
	size_t index;
	json_t *error;
	json_array_foreach(errors.list, index, error) {
		int n = snprintf(out + len, sizeof(out) - len, "%s%s", len ? " " : "",
				 json_string_value(json_object_get(error, "field")));
		if (n > 0 && (size_t)n < sizeof(out) - len)
			len += (size_t)n;
	}
	CHECK(result != 0 || errors.list == NULL);
	CHECK(result != 0 || sql.where.len > 0);
	CHECK(result == 0 || sql.where.len == 0);
	field_errors_release(&errors);
	segment_rule_sql_release(&sql);
	return out;
}

/* ================================================================ the SQL */

static void test_sql_of_conditions(void)
{
	CHECK_STR("(c.first_name = ?)",
		  sql_of("{\"field\":\"first_name\",\"op\":\"eq\",\"value\":\"Ann\"}", "[\"Ann\"]"));
	CHECK_STR("(c.email IS NOT ? COLLATE NOCASE)",
		  sql_of("{\"field\":\"email\",\"op\":\"ne\",\"value\":\"a@b.co\"}", "[\"a@b.co\"]"));
	CHECK_STR("(c.relationship_level <= ?)",
		  sql_of("{\"field\":\"relationship_level\",\"op\":\"lte\",\"value\":3}", "[3]"));
	CHECK_STR("(s.churn_risk > ?)",
		  sql_of("{\"field\":\"churn_risk\",\"op\":\"gt\",\"value\":0.5}", "[0.5]"));
	CHECK_STR("(c.lifecycle IN (SELECT value FROM json_each(?)))",
		  sql_of("{\"field\":\"lifecycle\",\"op\":\"in\",\"value\":[\"lead\",\"customer\"]}",
			 "[\"[\\\"lead\\\",\\\"customer\\\"]\"]"));
	CHECK_STR("(instr(lower(c.title), lower(?)) > 0)",
		  sql_of("{\"field\":\"title\",\"op\":\"contains\",\"value\":\"CTO\"}", "[\"CTO\"]"));
	CHECK_STR("(c.id IN (SELECT record_id FROM record_tags WHERE entity = 'contacts' AND tag = ?))",
		  sql_of("{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"}", "[\"vip\"]"));
	CHECK_STR("(c.tags = '[]')", sql_of("{\"field\":\"tags\",\"op\":\"exists\",\"value\":false}", "[]"));
	CHECK_STR("(c.phone IS NOT NULL)", sql_of("{\"field\":\"phone\",\"op\":\"exists\"}", "[]"));
	CHECK_STR("(c.phone IS NOT NULL)",
		  sql_of("{\"field\":\"phone\",\"op\":\"exists\",\"value\":null}", "[]"));
	CHECK_STR("(c.phone IS NULL)",
		  sql_of("{\"field\":\"phone\",\"op\":\"exists\",\"value\":false}", "[]"));
	CHECK_STR("(json_extract(c.consent, '$.email') = ?)",
		  sql_of("{\"field\":\"consent.email\",\"op\":\"eq\",\"value\":true}", "[1]"));
	CHECK_STR("(json_extract(c.custom, ?) >= ?)",
		  sql_of("{\"field\":\"custom.seats\",\"op\":\"gte\",\"value\":10}",
			 "[\"$.\\\"seats\\\"\",10]"));
	CHECK_STR("(c.created_at < ?)",
		  sql_of("{\"field\":\"created_at\",\"op\":\"before\",\"value\":\"-90d\"}",
			 "[\"2025-12-31T12:00:00Z\"]"));
	CHECK_STR("(COALESCE(s.ltv_cents, 0) > ?)",
		  sql_of("{\"field\":\"ltv_cents\",\"op\":\"gt\",\"value\":100}", "[100]"));
}

static void test_sql_of_combinations(void)
{
	CHECK_STR("((c.first_name = ?) AND ((c.phone IS NOT NULL) OR (NOT COALESCE((c.title = ?), 0))))",
		  sql_of("{\"all\":[{\"field\":\"first_name\",\"op\":\"eq\",\"value\":\"A\"},"
			 "{\"any\":[{\"field\":\"phone\",\"op\":\"exists\"},"
			 "{\"not\":{\"field\":\"title\",\"op\":\"eq\",\"value\":\"B\"}}]}]}",
			 "[\"A\",\"B\"]"));
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	struct field_errors errors = { NULL };
	CHECK_INT(0, compile_text("{\"field\":\"first_name\",\"op\":\"exists\"}", &sql, &errors));
	CHECK(!sql.uses_scores);
	CHECK_INT(0, compile_text("{\"any\":[{\"field\":\"first_name\",\"op\":\"exists\"},"
				  "{\"field\":\"tier\",\"op\":\"eq\",\"value\":\"gold\"}]}",
				  &sql, &errors));
	CHECK(sql.uses_scores);
	/* a failed compile leaves nothing of an earlier one */
	CHECK_INT(-1, compile_text("{\"field\":\"nope\",\"op\":\"exists\"}", &sql, &errors));
	CHECK_INT(0, (int)sql.where.len);
	CHECK_INT(0, (int)json_array_size(sql.binds));
	CHECK(!sql.uses_scores);
	field_errors_release(&errors);
	segment_rule_sql_release(&sql);
}

/* ================================================================ relative times */

static void check_time(const char *text, const char *expected)
{
	char out[TIME_RFC3339_SIZE] = "";
	int result = segment_rule_resolve_time(text, test_now(), out);
	if (!expected) {
		if (result != -1)
			fprintf(stderr, "'%s' should be refused, got %s\n", text, out);
		CHECK_INT(-1, result);
		return;
	}
	CHECK_INT(0, result);
	CHECK_STR(expected, out);
}

static void test_relative_times(void)
{
	check_time("now", "2026-03-31T12:00:00Z");
	check_time("-90d", "2025-12-31T12:00:00Z");
	check_time("+1d", "2026-04-01T12:00:00Z");
	check_time("-36h", "2026-03-30T00:00:00Z");
	check_time("-2w", "2026-03-17T12:00:00Z");
	check_time("-1m", "2026-02-28T12:00:00Z"); /* 31 March - 1 month: the last of February */
	check_time("-13m", "2025-02-28T12:00:00Z");
	check_time("+11m", "2027-02-28T12:00:00Z");
	check_time("-1y", "2025-03-31T12:00:00Z");
	check_time("-100y", "1926-03-31T12:00:00Z");
	check_time("+0d", "2026-03-31T12:00:00Z");
	check_time("2026-01-02", "2026-01-02T00:00:00Z");
	check_time("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z");
	check_time("2026-01-02T03:04:05.999+02:00", "2026-01-02T01:04:05Z");
	const char *bad[] = { "", "-", "+", "d", "90d", "-90", "-90D", "-9 d", "- 9d", "-9dd",
			      "-101y", "-1201m", "-5219w", "-36601d", "-878401h", "-1234567d",
			      "-99999999999999999999d", "yesterday", "NOW", "2026-02-30",
			      "2026-13-01", "2026-01-02T25:00:00Z", "2026-01-02T03:04:05",
			      "1700000000", NULL };
	for (int i = 0; bad[i]; i++)
		check_time(bad[i], NULL);
	/* leap years: 29 February minus a year is the 28th */
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29 };
	char out[TIME_RFC3339_SIZE];
	CHECK_INT(0, segment_rule_resolve_time("-1y", timegm(&tm), out));
	CHECK_STR("2023-02-28T00:00:00Z", out);
	CHECK_INT(0, segment_rule_resolve_time("+4y", timegm(&tm), out));
	CHECK_STR("2028-02-29T00:00:00Z", out);
}

/* ================================================================ errors */

static void test_errors_name_the_node(void)
{
	CHECK_STR("rule", errors_of("[]"));
	CHECK_STR("rule", errors_of("\"x\""));
	CHECK_STR("rule", errors_of("null"));
	CHECK_STR("rule", errors_of("{}"));
	CHECK_STR("rule.all", errors_of("{\"all\":[]}"));
	CHECK_STR("rule.any", errors_of("{\"any\":{}}"));
	CHECK_STR("rule", errors_of("{\"all\":[],\"not\":{}}"));
	CHECK_STR("rule.all[1]", errors_of("{\"all\":[{\"field\":\"id\",\"op\":\"exists\"},3]}"));
	CHECK_STR("rule.all[0].not.field",
		  errors_of("{\"all\":[{\"not\":{\"field\":\"x\",\"op\":\"exists\"}}]}"));
	CHECK_STR("rule.field rule.op", errors_of("{\"field\":1,\"op\":2}"));
	CHECK_STR("rule.x", errors_of("{\"field\":\"id\",\"op\":\"exists\",\"x\":1}"));
	CHECK_STR("rule.op", errors_of("{\"field\":\"id\",\"op\":\"like\",\"value\":1}"));
	CHECK_STR("rule.op", errors_of("{\"field\":\"tags\",\"op\":\"eq\",\"value\":\"a\"}"));
	CHECK_STR("rule.op", errors_of("{\"field\":\"lifecycle\",\"op\":\"lt\",\"value\":\"lead\"}"));
	CHECK_STR("rule.value", errors_of("{\"field\":\"id\",\"op\":\"eq\",\"value\":\"1\"}"));
	CHECK_STR("rule.value", errors_of("{\"field\":\"id\",\"op\":\"eq\"}"));
	CHECK_STR("rule.value[0] rule.value[2]",
		  errors_of("{\"field\":\"id\",\"op\":\"in\",\"value\":[\"a\",1,null]}"));
	CHECK_STR("rule.value", errors_of("{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"LEAD\"}"));
	CHECK_STR("rule.field", errors_of("{\"field\":\"custom.a.b\",\"op\":\"exists\"}"));
	CHECK_STR("rule.field", errors_of("{\"field\":\"custom.\\\"\",\"op\":\"exists\"}"));
	CHECK_STR("COMPILED", errors_of("{\"field\":\"custom.a-b_C9\",\"op\":\"exists\"}"));
	CHECK_STR("COMPILED", errors_of("{\"field\":\"custom.x\",\"op\":\"before\",\"value\":\"-1d\"}"));
	CHECK_STR("rule.value", errors_of("{\"field\":\"custom.x\",\"op\":\"after\",\"value\":3}"));
}

static void test_limits(void)
{
	/* depth: ten levels of not are fine, eleven are not */
	struct buf text = BUF_INIT;
	for (int i = 0; i < 10; i++)
		buf_adds(&text, "{\"not\":");
	buf_adds(&text, "{\"field\":\"id\",\"op\":\"exists\"}");
	for (int i = 0; i < 10; i++)
		buf_addch(&text, '}');
	CHECK_STR("COMPILED", errors_of(text.data));
	buf_reset(&text);
	for (int i = 0; i < 11; i++)
		buf_adds(&text, "{\"not\":");
	buf_adds(&text, "{\"field\":\"id\",\"op\":\"exists\"}");
	for (int i = 0; i < 11; i++)
		buf_addch(&text, '}');
	CHECK_STR("rule.not.not.not.not.not.not.not.not.not.not", errors_of(text.data));

	/* nodes: 100 in all, the 101st is refused */
	buf_reset(&text);
	buf_adds(&text, "{\"any\":[");
	for (int i = 0; i < 99; i++)
		buf_addf(&text, "%s{\"field\":\"id\",\"op\":\"eq\",\"value\":%d}", i ? "," : "", i);
	buf_adds(&text, "]}");
	CHECK_STR("COMPILED", errors_of(text.data));
	text.data[text.len - 2] = '\0';
	text.len -= 2;
	buf_adds(&text, ",{\"field\":\"id\",\"op\":\"exists\"}]}");
	CHECK_STR("rule.any[99]", errors_of(text.data));

	/* errors: at most SEGMENT_RULE_MAX_ERRORS */
	buf_reset(&text);
	buf_adds(&text, "{\"all\":[");
	for (int i = 0; i < 50; i++)
		buf_addf(&text, "%s{\"field\":\"x%d\",\"op\":\"exists\"}", i ? "," : "", i);
	buf_adds(&text, "]}");
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	struct field_errors errors = { NULL };
	CHECK_INT(-1, compile_text(text.data, &sql, &errors));
	CHECK_INT(SEGMENT_RULE_MAX_ERRORS, (int)json_array_size(errors.list));
	field_errors_release(&errors);
	segment_rule_sql_release(&sql);

	/* text values: at most SEGMENT_RULE_MAX_TEXT characters (not bytes) */
	buf_reset(&text);
	buf_adds(&text, "{\"field\":\"title\",\"op\":\"eq\",\"value\":\"");
	for (int i = 0; i < SEGMENT_RULE_MAX_TEXT; i++)
		buf_adds(&text, "\xc3\xa9");
	buf_adds(&text, "\"}");
	CHECK_STR("COMPILED", errors_of(text.data));
	text.len -= 2;
	buf_adds(&text, "x\"}");
	CHECK_STR("rule.value", errors_of(text.data));
	buf_release(&text);
}

/* ================================================================ injection */

static void test_rule_text_never_reaches_the_sql(void)
{
	const char *attempts[] = {
		"{\"field\":\"email) OR 1=1 --\",\"op\":\"eq\",\"value\":\"x\"}",
		"{\"field\":\"email\",\"op\":\"= 1 OR 1=1 --\",\"value\":\"x\"}",
		"{\"field\":\"custom.a') OR 1=1 --\",\"op\":\"exists\"}",
		"{\"field\":\"c.email\",\"op\":\"exists\"}",
		"{\"all\":[{\"field\":\"email\",\"op\":\"exists\"}],\"1=1); --\":1}",
		NULL,
	};
	for (int i = 0; attempts[i]; i++)
		CHECK_STR("ERROR", sql_of(attempts[i], NULL));
	/* values are binds, whatever they hold */
	CHECK_STR("(c.email = ? COLLATE NOCASE)",
		  sql_of("{\"field\":\"email\",\"op\":\"eq\",\"value\":\"x' OR '1'='1\"}",
			 "[\"x' OR '1'='1\"]"));
	CHECK_STR("(json_extract(c.custom, ?) = ?)",
		  sql_of("{\"field\":\"custom.k\",\"op\":\"eq\",\"value\":\"'); DROP TABLE contacts; --\"}",
			 "[\"$.\\\"k\\\"\",\"'); DROP TABLE contacts; --\"]"));
}

/* ================================================================ random rules */

static uint64_t random_state = 0x9E3779B97F4A7C15ULL;

static unsigned random_below(unsigned n)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return (unsigned)(random_state % n);
}

static const char *random_pick(const char *const *items, unsigned count)
{
	return items[random_below(count)];
}

/* A random value: mostly well-typed for some field, sometimes hostile. */
static json_t *random_value(void)
{
	static const char *const texts[] = {
		"Ann", "lead", "customer", "vip", "-90d", "+2w", "now", "2026-01-01",
		"2026-01-01T00:00:00Z", "x' OR '1'='1", "%", "\"); DROP TABLE contacts; --", "gold",
		"-1y", "-13m", "", "\xc3\xa9t\xc3\xa9",
	};
	switch (random_below(7)) {
	case 0: return json_integer((json_int_t)random_below(10));
	case 1: return json_real(random_below(100) / 100.0);
	case 2: return json_boolean(random_below(2));
	case 3: return json_null();
	case 4: {
		json_t *list = json_array();
		unsigned n = random_below(4);
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(list, random_below(2) ? json_integer((json_int_t)i)
								    : json_string(random_pick(texts, 17)));
		return list;
	}
	default: return json_string(random_pick(texts, 17));
	}
}

static json_t *random_rule(int depth)
{
	static const char *const fields[] = {
		"id", "first_name", "email", "lifecycle", "relationship_level", "tags",
		"consent.email", "consent.recorded_at", "created_at", "custom.plan", "custom.seats",
		"ltv_cents", "predicted_ltv_cents", "tier", "rfm", "churn_risk", "purchases_count",
		"last_purchase_at", "last_interaction_at", "nope", "email) OR 1=1 --",
	};
	static const char *const ops[] = { "eq", "ne", "lt", "lte", "gt", "gte", "in",
					   "contains", "exists", "before", "after", "like" };
	unsigned kind = depth > 4 ? 3 : random_below(5);
	if (kind <= 1) {
		json_t *list = json_array();
		unsigned n = 1 + random_below(3);
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(list, random_rule(depth + 1));
		return json_pack("{s:o}", kind == 0 ? "all" : "any", list);
	}
	if (kind == 2)
		return json_pack("{s:o}", "not", random_rule(depth + 1));
	if (random_below(10)) {
		static const char *const valid[] = {
			"{\"field\":\"first_name\",\"op\":\"eq\",\"value\":\"Ann\"}",
			"{\"field\":\"email\",\"op\":\"contains\",\"value\":\"x' OR '1'='1\"}",
			"{\"field\":\"lifecycle\",\"op\":\"in\",\"value\":[\"lead\",\"customer\"]}",
			"{\"field\":\"relationship_level\",\"op\":\"gte\",\"value\":2}",
			"{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"}",
			"{\"field\":\"tags\",\"op\":\"in\",\"value\":[\"vip\",\"b\"]}",
			"{\"field\":\"tags\",\"op\":\"exists\",\"value\":false}",
			"{\"field\":\"consent.email\",\"op\":\"ne\",\"value\":true}",
			"{\"field\":\"created_at\",\"op\":\"after\",\"value\":\"-90d\"}",
			"{\"field\":\"custom.plan\",\"op\":\"eq\",\"value\":\"pro\"}",
			"{\"field\":\"custom.seats\",\"op\":\"lt\",\"value\":2.5}",
			"{\"field\":\"ltv_cents\",\"op\":\"gt\",\"value\":100}",
			"{\"field\":\"tier\",\"op\":\"eq\",\"value\":\"gold\"}",
			"{\"field\":\"churn_risk\",\"op\":\"lte\",\"value\":0.5}",
			"{\"field\":\"last_purchase_at\",\"op\":\"before\",\"value\":\"-1y\"}",
			"{\"field\":\"last_interaction_at\",\"op\":\"exists\"}",
			"{\"field\":\"rfm\",\"op\":\"in\",\"value\":[\"555\",\"545\"]}",
		};
		return json_loads(random_pick(valid, 17), 0, NULL);
	}
	json_t *node = json_pack("{s:s, s:s}", "field", random_pick(fields, 21), "op",
				 random_pick(ops, 12));
	if (random_below(5))
		json_object_set_new(node, "value", random_value());
	return node;
}

/* Counts '?' outside string literals. */
static size_t count_parameters(const char *sql)
{
	size_t count = 0;
	bool quoted = false;
	for (const char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		else if (*p == '?' && !quoted)
			count++;
	}
	return count;
}

static void test_random_rules_compile_to_valid_sql(struct db *db)
{
	int compiled = 0;
	for (int round = 0; round < 3000; round++) {
		json_t *rule = random_rule(0);
		struct segment_rule_sql sql;
		segment_rule_sql_init(&sql);
		struct field_errors errors = { NULL };
		int result = segment_rule_compile(rule, "rule", test_now(), &sql, &errors);
		if (result == 0) {
			compiled++;
			CHECK(!field_errors_any(&errors));
			CHECK_INT(json_array_size(sql.binds), count_parameters(sql.where.data));
			/* no bound text appears in the SQL */
			size_t index;
			json_t *value;
			json_array_foreach(sql.binds, index, value)
				if (json_is_string(value) && json_string_length(value) > 3)
					CHECK(strstr(sql.where.data, json_string_value(value)) == NULL);
			struct segments_member_query query = {
				.rule = &sql,
				.viewer = { PERM_SCOPE_ALL, 0, "" },
				.limit = 5,
			};
			int64_t count = -1;
			CHECK_INT(DB_OK, segments_store_member_count(db, &query, &count));
			CHECK(count >= 0);
		} else {
			CHECK(field_errors_any(&errors));
			CHECK_INT(0, (int)sql.where.len);
		}
		field_errors_release(&errors);
		segment_rule_sql_release(&sql);
		json_decref(rule);
	}
	fprintf(stderr, "  %d of 3000 random rules compiled\n", compiled);
	CHECK(compiled > 500);
}

/* ================================================================ meaning on a database */

static void exec_sql(struct db *db, const char *sql)
{
	char *message = NULL;
	int rc = sqlite3_exec(db_handle(db), sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		fprintf(stderr, "SQL failed: %s: %s\n", sql, message ? message : "?");
	CHECK_INT(SQLITE_OK, rc);
	sqlite3_free(message);
}

/* A migrated database with three users, three contacts and their scores. */
static struct db *seeded_db(void)
{
	struct db *db = open_fresh_db("segment-rule", true);
	exec_sql(db,
		 "INSERT INTO users (id, email, name, role, team, created_at, updated_at) VALUES "
		 "(1, 'a@x.io', 'A', 'rep', 'east', 'now', 'now'),"
		 "(2, 'b@x.io', 'B', 'rep', 'east', 'now', 'now'),"
		 "(3, 'c@x.io', 'C', 'rep', NULL, 'now', 'now');"
		 "INSERT INTO contacts (id, first_name, email, owner_id, lifecycle, relationship_level,"
		 " tags, consent, custom, created_at, updated_at) VALUES "
		 "(1, 'Ann', 'ann@x.io', 1, 'customer', 5, '[\"vip\"]', '{\"email\":true}',"
		 " '{\"plan\":\"pro\",\"seats\":3}', '2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z'),"
		 "(2, 'Bob', NULL, 2, 'lead', NULL, '[]', NULL, '{}', '2025-06-01T00:00:00Z',"
		 " '2025-06-01T00:00:00Z'),"
		 "(3, NULL, 'cy@x.io', 3, NULL, 2, '[\"vip\",\"b\"]', '{\"email\":false}',"
		 " '{\"plan\":\"free\"}', '2026-03-30T00:00:00Z', '2026-03-30T00:00:00Z');"
		 "INSERT INTO record_tags (entity, tag, record_id) VALUES ('contacts', 'vip', 1),"
		 " ('contacts', 'vip', 3), ('contacts', 'b', 3), ('companies', 'vip', 2);"
		 /* the table analytics_scores_prepare() fills (analytics.h), made by hand */
		 "CREATE TEMP TABLE contact_scores (contact_id INTEGER PRIMARY KEY, ltv_cents INTEGER,"
		 " predicted_ltv_cents INTEGER, tier TEXT, rfm TEXT, churn_risk REAL,"
		 " purchases_count INTEGER, last_purchase_at TEXT, last_interaction_at TEXT);"
		 "INSERT INTO temp.contact_scores VALUES"
		 " (1, 50000, 80000, 'gold', '545', 0.1, 4, '2026-03-20T10:00:00Z', NULL),"
		 " (3, 0, 0, NULL, NULL, NULL, 0, NULL, '2026-03-29T10:00:00Z');");
	return db;
}

/* The ids `text` selects for the viewer, as "1,3" (static buffer); "ERROR" on a bad rule. */
static const char *ids_of(struct db *db, const char *text, enum perm_scope scope,
			  int64_t user_id, const char *team)
{
	static char out[256];
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	struct field_errors errors = { NULL };
	if (compile_text(text, &sql, &errors) != 0) {
		snprintf(out, sizeof(out), "ERROR");
		goto cleanup;
	}
	struct segments_member_query query = {
		.rule = &sql,
		.viewer = { scope, user_id, team },
		.limit = 10,
	};
	int64_t ids[10];
	int count = 0;
	CHECK_INT(DB_OK, segments_store_member_ids(db, &query, ids, &count));
	int64_t total = -1;
	CHECK_INT(DB_OK, segments_store_member_count(db, &query, &total));
	CHECK_INT(count, total);
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < count; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%lld", i ? "," : "",
					(long long)ids[i]);
cleanup:
	field_errors_release(&errors);
	segment_rule_sql_release(&sql);
	return out;
}

static const char *ids_all(struct db *db, const char *text)
{
	return ids_of(db, text, PERM_SCOPE_ALL, 0, "");
}

static void test_meaning_on_a_database(struct db *db)
{
	CHECK_STR("1", ids_all(db, "{\"field\":\"first_name\",\"op\":\"eq\",\"value\":\"Ann\"}"));
	CHECK_STR("2,3", ids_all(db, "{\"field\":\"first_name\",\"op\":\"ne\",\"value\":\"Ann\"}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"email\",\"op\":\"eq\",\"value\":\"ANN@x.io\"}"));
	CHECK_STR("1,3", ids_all(db, "{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"}"));
	CHECK_STR("3", ids_all(db, "{\"field\":\"tags\",\"op\":\"in\",\"value\":[\"b\",\"c\"]}"));
	CHECK_STR("2", ids_all(db, "{\"field\":\"tags\",\"op\":\"exists\",\"value\":false}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"consent.email\",\"op\":\"eq\",\"value\":true}"));
	CHECK_STR("2,3", ids_all(db, "{\"field\":\"consent.email\",\"op\":\"ne\",\"value\":true}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"custom.seats\",\"op\":\"gt\",\"value\":2}"));
	CHECK_STR("1,3", ids_all(db, "{\"field\":\"custom.plan\",\"op\":\"exists\"}"));
	CHECK_STR("3", ids_all(db, "{\"field\":\"custom.plan\",\"op\":\"contains\",\"value\":\"FR\"}"));
	CHECK_STR("3", ids_all(db, "{\"field\":\"created_at\",\"op\":\"after\",\"value\":\"-7d\"}"));
	CHECK_STR("2", ids_all(db, "{\"field\":\"created_at\",\"op\":\"before\",\"value\":\"-6m\"}"));
	CHECK_STR("1,2", ids_all(db, "{\"field\":\"updated_at\",\"op\":\"lt\",\"value\":\"2026-03-02\"}"));
	/* computed fields through the LEFT JOIN: no row means 0 for LTV and count, else absent */
	CHECK_STR("1", ids_all(db, "{\"field\":\"ltv_cents\",\"op\":\"gte\",\"value\":50000}"));
	CHECK_STR("2,3", ids_all(db, "{\"field\":\"ltv_cents\",\"op\":\"eq\",\"value\":0}"));
	CHECK_STR("2,3", ids_all(db, "{\"field\":\"purchases_count\",\"op\":\"lt\",\"value\":1}"));
	CHECK_STR("2,3", ids_all(db, "{\"field\":\"predicted_ltv_cents\",\"op\":\"eq\",\"value\":0}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"tier\",\"op\":\"in\",\"value\":[\"gold\",\"platinum\"]}"));
	CHECK_STR("2,3", ids_all(db, "{\"not\":{\"field\":\"tier\",\"op\":\"eq\",\"value\":\"gold\"}}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"rfm\",\"op\":\"eq\",\"value\":\"545\"}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"churn_risk\",\"op\":\"lt\",\"value\":0.5}"));
	CHECK_STR("1", ids_all(db, "{\"field\":\"last_purchase_at\",\"op\":\"after\",\"value\":\"-30d\"}"));
	CHECK_STR("3", ids_all(db, "{\"field\":\"last_interaction_at\",\"op\":\"exists\"}"));
	CHECK_STR("1,3", ids_all(db, "{\"any\":[{\"field\":\"tier\",\"op\":\"exists\"},"
				     "{\"field\":\"last_interaction_at\",\"op\":\"after\",\"value\":\"-1w\"}]}"));
	/* not is the exact complement, also where fields are NULL */
	CHECK_STR("2", ids_all(db, "{\"not\":{\"field\":\"relationship_level\",\"op\":\"gte\",\"value\":1}}"));
	CHECK_STR("1,3", ids_all(db, "{\"not\":{\"not\":{\"field\":\"relationship_level\",\"op\":\"gte\",\"value\":1}}}"));
	CHECK_STR("2", ids_all(db, "{\"not\":{\"any\":[{\"field\":\"lifecycle\",\"op\":\"eq\",\"value\":\"customer\"},"
				   "{\"field\":\"relationship_level\",\"op\":\"eq\",\"value\":2}]}}"));
	/* values are data */
	CHECK_STR("", ids_all(db, "{\"field\":\"email\",\"op\":\"eq\",\"value\":\"x' OR '1'='1\"}"));
	CHECK_STR("", ids_all(db, "{\"field\":\"email\",\"op\":\"contains\",\"value\":\"%\"}"));
	/* the viewer's scope */
	const char *everyone = "{\"field\":\"id\",\"op\":\"gt\",\"value\":0}";
	CHECK_STR("1,2,3", ids_of(db, everyone, PERM_SCOPE_ALL, 1, "east"));
	CHECK_STR("1,2", ids_of(db, everyone, PERM_SCOPE_TEAM, 1, "east"));
	CHECK_STR("3", ids_of(db, everyone, PERM_SCOPE_TEAM, 3, ""));
	CHECK_STR("2", ids_of(db, everyone, PERM_SCOPE_OWN, 2, "east"));
	CHECK_STR("", ids_of(db, everyone, PERM_SCOPE_NONE, 1, "east"));
}

static void test_static_members(struct db *db)
{
	exec_sql(db, "INSERT INTO segments (id, name, kind, created_at, updated_at) VALUES "
		     "(1, 'hand-picked', 'static', 'now', 'now')");
	int64_t add[] = { 3, 1, 3 }, changed = -1;
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_OK, segments_store_members_add(db, 1, add, 3, &changed));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(2, changed);
	struct segments_member_query query = {
		.segment_id = 1, .viewer = { PERM_SCOPE_ALL, 0, "" }, .limit = 1,
	};
	int64_t ids[2];
	int count;
	CHECK_INT(DB_OK, segments_store_member_ids(db, &query, ids, &count));
	CHECK_INT(1, count);
	CHECK_INT(1, ids[0]);
	query.after_id = 1;
	CHECK_INT(DB_OK, segments_store_member_ids(db, &query, ids, &count));
	CHECK_INT(1, count);
	CHECK_INT(3, ids[0]);
	query.after_id = 3;
	CHECK_INT(DB_OK, segments_store_member_ids(db, &query, ids, &count));
	CHECK_INT(0, count);
	query.viewer = (struct segments_viewer){ PERM_SCOPE_OWN, 3, "", PERM_SCOPE_NONE };
	int64_t total;
	CHECK_INT(DB_OK, segments_store_member_count(db, &query, &total));
	CHECK_INT(1, total);
	int64_t remove[] = { 1, 2 };
	CHECK_INT(DB_OK, segments_store_members_remove(db, 1, remove, 2, &changed));
	CHECK_INT(1, changed);
	/* a member must be a contact */
	int64_t missing[] = { 99 };
	CHECK(segments_store_members_add(db, 1, missing, 1, &changed) != DB_OK);
}

/* ================================================================ CSV cells */

static const char *cell(const char *text)
{
	static char out[256];
	struct buf b = BUF_INIT;
	segments_csv_add_cell(&b, text);
	snprintf(out, sizeof(out), "%s", b.data);
	buf_release(&b);
	return out;
}

static void test_csv_cells(void)
{
	CHECK_STR("", cell(NULL));
	CHECK_STR("", cell(""));
	CHECK_STR("Ann", cell("Ann"));
	CHECK_STR("'=1+2", cell("=1+2"));
	CHECK_STR("'+49 30", cell("+49 30"));
	CHECK_STR("'-5", cell("-5"));
	CHECK_STR("'@SUM(A1)", cell("@SUM(A1)"));
	CHECK_STR("\"'\tx\"", cell("\tx"));
	CHECK_STR("\"x;'=3+4;\"", cell("x;=3+4;"));
	CHECK_STR("\"csvtest;' =2+5;' +cmd|x!A0\"", cell("csvtest; =2+5; +cmd|x!A0"));
	CHECK_STR("\"'\rx\"", cell("\rx"));
	CHECK_STR("a=b", cell("a=b"));
	CHECK_STR("\"a,b\"", cell("a,b"));
	CHECK_STR("\"say \"\"hi\"\"\"", cell("say \"hi\""));
	CHECK_STR("\"two\nlines\"", cell("two\nlines"));
	CHECK_STR("\"'=HYPERLINK(\"\"x\"\")\"", cell("=HYPERLINK(\"x\")"));
}

#define RUN_WITH_DB(test_function, db)                                            \
	do {                                                                      \
		int before_ = check_failures;                                     \
		test_function(db);                                                \
		fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", \
			#test_function);                                          \
	} while (0)

int main(void)
{
	RUN(test_sql_of_conditions);
	RUN(test_sql_of_combinations);
	RUN(test_relative_times);
	RUN(test_errors_name_the_node);
	RUN(test_limits);
	RUN(test_rule_text_never_reaches_the_sql);
	RUN(test_csv_cells);
	struct db *db = seeded_db();
	RUN_WITH_DB(test_meaning_on_a_database, db);
	RUN_WITH_DB(test_static_members, db);
	RUN_WITH_DB(test_random_rules_compile_to_valid_sql, db);
	remove_db(db);
	return check_finish();
}
