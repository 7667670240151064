/*
 * test_resource.c - the generic resource mechanism: field rules, bodies and merge patches,
 * FTS query building, If-Match, and the store's keyset pagination over every sort (with
 * equal sort values and NULLs), filters, tags and idempotency keys, on a real database; and
 * that list pages written as text from the rows are the records' JSON byte for byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/outcome.h"
#include "crm/resource_save.h"

/* ---------------------------------------------------------------- helpers */

/* Normalizes `json_text` for field `name` of `resource`; returns the compact result or the
 * first error message ("!message"). The caller frees. */
static char *normalize(const struct resource *resource, const char *name, const char *json_text)
{
	const struct resource_field *field = resource_field_find(resource, name);
	if (!field)
		return strdup("!no such field");
	json_t *value = json_loads(json_text, JSON_DECODE_ANY, NULL);
	struct field_errors errors = { NULL };
	json_t *result = resource_field_normalize(field, value, name, &errors);
	char *text;
	if (result) {
		text = json_to_text(result, NULL);
	} else {
		json_t *first = json_array_get(errors.list, 0);
		const char *message = json_string_value(json_object_get(first, "message"));
		text = malloc(strlen(message ? message : "") + 2);
		snprintf(text, strlen(message ? message : "") + 2, "!%s", message ? message : "");
	}
	json_decref(result);
	json_decref(value);
	field_errors_release(&errors);
	return text;
}

#define CHECK_NORMALIZED(resource, field, input, expected)               \
	do {                                                             \
		char *got_ = normalize(resource, field, input);          \
		CHECK_STR(expected, got_);                               \
		free(got_);                                              \
	} while (0)

/* The fields named in errors, comma-separated (caller frees). */
static char *error_fields(const struct field_errors *errors)
{
	struct buf out = BUF_INIT;
	size_t index;
	json_t *error;
	json_array_foreach(errors->list, index, error)
		buf_addf(&out, "%s%s", out.len ? "," : "",
			 json_string_value(json_object_get(error, "field")));
	return buf_detach(&out, NULL);
}

/* ---------------------------------------------------------------- field rules */

static void test_strings_are_trimmed_and_limited(void)
{
	CHECK_NORMALIZED(&contacts_resource, "first_name", "\"  Ann \"", "\"Ann\"");
	CHECK_NORMALIZED(&contacts_resource, "first_name", "\"   \"", "null");
	CHECK_NORMALIZED(&contacts_resource, "first_name", "null", "null");
	CHECK_NORMALIZED(&contacts_resource, "first_name", "12", "!must be a string");
	CHECK_NORMALIZED(&contacts_resource, "first_name", "\"a\\nb\"",
			 "!must not contain control characters or line breaks");
	/* 100 characters of two bytes each is fine, 101 is not */
	struct buf long_name = BUF_INIT;
	buf_addch(&long_name, '"');
	for (int i = 0; i < 100; i++)
		buf_adds(&long_name, "\xc3\xa9");
	buf_addch(&long_name, '"');
	char *got = normalize(&contacts_resource, "first_name", long_name.data);
	CHECK(got[0] != '!');
	free(got);
	long_name.data[--long_name.len] = '\0'; /* drop the closing quote */
	buf_adds(&long_name, "x\"");
	got = normalize(&contacts_resource, "first_name", long_name.data);
	CHECK_STR("!must be at most 100 characters", got);
	free(got);
	buf_release(&long_name);
	CHECK_NORMALIZED(&companies_resource, "domain", "\" Example.COM \"", "\"example.com\"");
	CHECK_NORMALIZED(&contacts_resource, "external_id", "\"a/b\"", "!must not contain '/'");
}

static void test_typed_fields(void)
{
	CHECK_NORMALIZED(&contacts_resource, "email", "\"ann@example.com\"", "\"ann@example.com\"");
	CHECK_NORMALIZED(&contacts_resource, "email", "\"ann@\"", "!not a valid address");
	CHECK_NORMALIZED(&contacts_resource, "lifecycle", "\"lead\"", "\"lead\"");
	CHECK_NORMALIZED(&contacts_resource, "lifecycle", "\"Lead\"",
			 "!must be one of lead, prospect, customer, churned");
	CHECK_NORMALIZED(&contacts_resource, "relationship_level", "6", "6");
	CHECK_NORMALIZED(&contacts_resource, "relationship_level", "0", "!must be from 1 to 6");
	CHECK_NORMALIZED(&contacts_resource, "relationship_level", "2.0", "!must be an integer");
	CHECK_NORMALIZED(&contacts_resource, "relationship_level", "\"2\"", "!must be an integer");
	CHECK_NORMALIZED(&contacts_resource, "company_id", "7", "7");
	CHECK_NORMALIZED(&contacts_resource, "company_id", "-7",
			 "!must be the id of a record (an integer)");
	CHECK_NORMALIZED(&contacts_resource, "tags", "[\" vip \", \"vip\", \"b2b\"]",
			 "[\"vip\",\"b2b\"]");
	CHECK_NORMALIZED(&contacts_resource, "tags", "null", "[]");
	CHECK_NORMALIZED(&contacts_resource, "tags", "[\"\"]",
			 "!each tag must be a non-empty single line of at most 64 characters");
	CHECK_NORMALIZED(&contacts_resource, "tags", "[1]", "!each tag must be a string");
	CHECK_NORMALIZED(&contacts_resource, "tags", "\"vip\"", "!must be an array of strings");
	CHECK_NORMALIZED(&contacts_resource, "custom", "null", "{}");
	CHECK_NORMALIZED(&contacts_resource, "custom", "{\"a\":[1,{\"b\":null}]}",
			 "{\"a\":[1,{\"b\":null}]}");
	CHECK_NORMALIZED(&contacts_resource, "custom", "[]", "!must be an object");
	CHECK_NORMALIZED(&contacts_resource, "custom",
			 "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}",
			 "!must be nested at most 8 levels deep");
	CHECK_NORMALIZED(&contacts_resource, "consent", "{\"email\":true}",
			 "{\"email\":true,\"recorded_at\":null}");
	CHECK_NORMALIZED(&contacts_resource, "consent",
			 "{\"email\":false,\"recorded_at\":\"2026-01-02T03:04:05+01:00\"}",
			 "{\"email\":false,\"recorded_at\":\"2026-01-02T02:04:05Z\"}");
	CHECK_NORMALIZED(&contacts_resource, "consent", "{\"email\":\"yes\"}",
			 "!must be true or false");
	CHECK_NORMALIZED(&contacts_resource, "consent", "{\"sms\":true}", "!unknown field");
	CHECK_NORMALIZED(&contacts_resource, "consent", "null", "null");

	/* money, dates and the like, on an ad-hoc field table */
	static const struct resource_field money_fields[] = {
		{ .name = "amount_cents", .type = RESOURCE_FIELD_INTEGER, .min = 0, .max = INT64_MAX },
		{ .name = "currency", .type = RESOURCE_FIELD_CURRENCY },
		{ .name = "expected_close", .type = RESOURCE_FIELD_DATE },
		{ .name = "done", .type = RESOURCE_FIELD_BOOLEAN },
		{ .name = "body", .type = RESOURCE_FIELD_TEXT, .max_length = 10 },
		{ .name = NULL },
	};
	static const struct resource money = { .name = "money", .singular = "money",
					       .table = "money", .fields = money_fields };
	CHECK_NORMALIZED(&money, "amount_cents", "1999", "1999");
	CHECK_NORMALIZED(&money, "amount_cents", "-1", "!must be from 0 to 9223372036854775807");
	CHECK_NORMALIZED(&money, "currency", "\"EUR\"", "\"EUR\"");
	CHECK_NORMALIZED(&money, "currency", "\"eur\"",
			 "!must be an ISO 4217 currency code such as EUR");
	CHECK_NORMALIZED(&money, "expected_close", "\"2026-02-28\"", "\"2026-02-28\"");
	CHECK_NORMALIZED(&money, "expected_close", "\"2026-02-30\"",
			 "!must be a date such as 2026-11-23");
	CHECK_NORMALIZED(&money, "done", "true", "true");
	CHECK_NORMALIZED(&money, "done", "1", "!must be true or false");
	CHECK_NORMALIZED(&money, "body", "\"a\\nb\\tc\"", "\"a\\nb\\tc\"");
	CHECK_NORMALIZED(&money, "body", "\"12345678901\"", "!must be at most 10 characters");
}

static void test_email_rule(void)
{
	CHECK(resource_email_valid("a@b.co"));
	CHECK(resource_email_valid("first.last+tag@sub.example.org"));
	CHECK(!resource_email_valid("a@b"));
	CHECK(!resource_email_valid("a@@b.co"));
	CHECK(!resource_email_valid("@b.co"));
	CHECK(!resource_email_valid("a b@c.co"));
	CHECK(!resource_email_valid("a@-b.co"));
	CHECK(!resource_email_valid("a@b..co"));
	CHECK(!resource_email_valid(".a@b.co"));
	CHECK(!resource_email_valid("a@b.c"));
	CHECK(companies_domain_valid("example.com"));
	CHECK(!companies_domain_valid("http://example.com"));
	CHECK(!companies_domain_valid("localhost"));
}

static void test_body_rules(void)
{
	json_t *body = json_loads("{\"first_name\":\"Ann\",\"id\":3,\"version\":1,\"nickname\":\"x\","
				  "\"email\":\"bad\"}",
				  0, NULL);
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(&contacts_resource, body, &errors);
	char *fields = error_fields(&errors);
	CHECK_STR("id,version,nickname,email", fields);
	free(fields);
	CHECK_STR("Ann", json_string_value(json_object_get(record, "first_name")));
	CHECK(json_is_null(json_object_get(record, "email")));
	CHECK(json_is_array(json_object_get(record, "tags")));
	CHECK(json_object_get(record, "owner_id") == NULL); /* left for the caller default */
	field_errors_release(&errors);
	json_decref(record);
	json_decref(body);

	/* REQUIRED */
	body = json_loads("{\"domain\":\"example.com\"}", 0, NULL);
	record = resource_record_from_body(&companies_resource, body, &errors);
	CHECK(!field_errors_any(&errors));
	resource_record_check_required(&companies_resource, record, &errors);
	fields = error_fields(&errors);
	CHECK_STR("name", fields);
	free(fields);
	field_errors_release(&errors);
	json_decref(record);
	json_decref(body);
}

static void test_merge_patch(void)
{
	/* RFC 7396 appendix A examples */
	static const char *const cases[][3] = {
		{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
		{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
		{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
		{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
		{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
		{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
		{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
		{ "{\"a\":\"foo\"}", "null", "null" },
		{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
		{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
		{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *target = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
		json_t *patch = json_loads(cases[i][1], JSON_DECODE_ANY, NULL);
		json_t *expected = json_loads(cases[i][2], JSON_DECODE_ANY, NULL);
		json_t *result = resource_merge_patch(target, patch);
		if (!json_equal(expected, result)) {
			char *text = json_to_text(result, NULL);
			fprintf(stderr, "merge case %zu: expected %s, got %s\n", i, cases[i][2], text);
			free(text);
		}
		CHECK(json_equal(expected, result));
		json_decref(target);
		json_decref(patch);
		json_decref(expected);
		json_decref(result);
	}
}

static void test_record_merge(void)
{
	json_t *current = json_loads(
		"{\"id\":5,\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"ann@x.org\","
		"\"tags\":[\"a\"],\"custom\":{\"x\":1,\"y\":{\"z\":2}},"
		"\"consent\":{\"email\":true,\"recorded_at\":\"2026-01-01T00:00:00Z\"},"
		"\"version\":3}",
		0, NULL);
	json_t *patch = json_loads("{\"last_name\":null,\"tags\":[\"b\"],\"custom\":{\"x\":null,"
				   "\"y\":{\"w\":3}},\"consent\":{\"email\":false}}",
				   0, NULL);
	struct field_errors errors = { NULL };
	json_t *merged = resource_record_merge(&contacts_resource, current, patch, &errors);
	CHECK(!field_errors_any(&errors));
	CHECK_STR("Ann", json_string_value(json_object_get(merged, "first_name")));
	CHECK(json_is_null(json_object_get(merged, "last_name")));
	char *text = json_to_text(json_object_get(merged, "custom"), NULL);
	CHECK_STR("{\"y\":{\"z\":2,\"w\":3}}", text);
	free(text);
	text = json_to_text(json_object_get(merged, "consent"), NULL);
	CHECK_STR("{\"email\":false,\"recorded_at\":\"2026-01-01T00:00:00Z\"}", text);
	free(text);
	text = json_to_text(json_object_get(merged, "tags"), NULL);
	CHECK_STR("[\"b\"]", text);
	free(text);
	CHECK(!resource_record_unchanged(&contacts_resource, merged, current));
	CHECK(json_object_get(merged, "version") == NULL); /* only fields */
	json_decref(merged);
	json_decref(patch);

	/* an empty patch changes nothing; read-only and unknown members are errors */
	patch = json_loads("{\"id\":1,\"updated_at\":\"x\",\"what\":1}", 0, NULL);
	merged = resource_record_merge(&contacts_resource, current, patch, &errors);
	char *fields = error_fields(&errors);
	CHECK_STR("id,updated_at,what", fields);
	free(fields);
	CHECK(resource_record_unchanged(&contacts_resource, merged, current));
	field_errors_release(&errors);
	json_decref(merged);
	json_decref(patch);

	/* a bad value keeps the current one and is reported */
	patch = json_loads("{\"email\":\"nope\",\"custom\":null}", 0, NULL);
	merged = resource_record_merge(&contacts_resource, current, patch, &errors);
	fields = error_fields(&errors);
	CHECK_STR("email", fields);
	free(fields);
	CHECK_STR("ann@x.org", json_string_value(json_object_get(merged, "email")));
	CHECK_INT(0, json_object_size(json_object_get(merged, "custom")));
	field_errors_release(&errors);
	json_decref(merged);
	json_decref(patch);
	json_decref(current);
}

static void test_fts_query(void)
{
	char *query = resource_fts_query("ann");
	CHECK_STR("\"ann\"*", query);
	free(query);
	query = resource_fts_query("  Ann   O'Brien ");
	CHECK_STR("\"Ann\"* \"O'Brien\"*", query);
	free(query);
	query = resource_fts_query("say \"hi\" OR NEAR(x) - *");
	CHECK_STR("\"say\"* \"\"\"hi\"\"\"* \"OR\"* \"NEAR(x)\"*", query);
	free(query);
	query = resource_fts_query("Zoë");
	CHECK_STR("\"Zoë\"*", query);
	free(query);
	CHECK(resource_fts_query("") == NULL);
	CHECK(resource_fts_query(" - * \" ") == NULL);
}

static void test_if_match_and_ids(void)
{
	CHECK_INT(1, resource_if_match("\"3\"", 3));
	CHECK_INT(0, resource_if_match("\"2\"", 3));
	CHECK_INT(1, resource_if_match("*", 3));
	CHECK_INT(1, resource_if_match("\"1\", \"3\"", 3));
	CHECK_INT(0, resource_if_match("W/\"3\"", 3));
	CHECK_INT(1, resource_if_match("3", 3));
	CHECK_INT(-1, resource_if_match("", 3));
	CHECK_INT(-1, resource_if_match("\"abc\"", 3));
	CHECK_INT(-1, resource_if_match("\"3", 3));
	int64_t id = 0;
	CHECK_INT(0, resource_parse_id("42", &id));
	CHECK_INT(42, id);
	CHECK_INT(-1, resource_parse_id("0", &id));
	CHECK_INT(-1, resource_parse_id("-1", &id));
	CHECK_INT(-1, resource_parse_id("4x", &id));
	CHECK_INT(-1, resource_parse_id("99999999999999999999", &id));
	CHECK_INT(0, resource_parse_id("9223372036854775807", &id));
	CHECK_INT(-1, resource_parse_id("9223372036854775808", &id));
}

/* ---------------------------------------------------------------- the store */

static int64_t insert_company(struct db *db, const char *json_text)
{
	json_t *body = json_loads(json_text, 0, NULL);
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(&companies_resource, body, &errors);
	CHECK(!field_errors_any(&errors));
	field_errors_release(&errors);
	json_t *stored = NULL;
	CHECK_INT(DB_OK, resource_store_insert(db, &companies_resource, record, &stored));
	int64_t id = json_integer_value(json_object_get(stored, "id"));
	json_decref(stored);
	json_decref(record);
	json_decref(body);
	return id;
}

/* Compares two rows in the order of `sort` ("name", "-domain", ...); NULLs first ascending. */
static int compare_rows(const json_t *a, const json_t *b, const char *sort)
{
	bool descending = sort[0] == '-';
	const char *column = descending ? sort + 1 : sort;
	int result = 0;
	if (strcmp(column, "id") != 0) {
		const json_t *va = json_object_get(a, column), *vb = json_object_get(b, column);
		if (json_is_null(va) != json_is_null(vb))
			result = json_is_null(va) ? -1 : 1;
		else if (!json_is_null(va))
			result = strcmp(json_string_value(va), json_string_value(vb));
	}
	if (result == 0) {
		json_int_t ia = json_integer_value(json_object_get(a, "id"));
		json_int_t ib = json_integer_value(json_object_get(b, "id"));
		result = ia < ib ? -1 : ia > ib;
	}
	return descending ? -result : result;
}

/* Pages through every company with `sort` and `limit` like the handler does. */
static void check_pagination(struct db *db, const char *sort, int limit, int total)
{
	const char *column = sort[0] == '-' ? sort + 1 : sort;
	json_t *seen = json_array();
	json_t *cursor_value = NULL;
	int64_t cursor_id = 0;
	bool has_cursor = false;
	for (int page = 0; page < total + 2; page++) {
		struct resource_query query;
		resource_query_init(&query);
		query.scope = PERM_SCOPE_ALL;
		query.limit = limit;
		query.descending = sort[0] == '-';
		query.sort_column = strcmp(column, "id") == 0 ? "id" : column;
		query.sort_field = strcmp(column, "id") == 0 || strcmp(column, "created_at") == 0
					   ? NULL
					   : resource_field_find(&companies_resource, column);
		if (strcmp(column, "created_at") == 0)
			query.sort_column = "created_at";
		if (has_cursor) {
			char *text = cursor_encode(sort, cursor_value, cursor_id);
			json_t *decoded = NULL;
			CHECK_INT(0, cursor_decode(text, sort, &decoded, &query.cursor_id));
			free(text);
			query.cursor_value = decoded;
			query.has_cursor = true;
		}
		json_t *rows = NULL;
		bool more = false;
		CHECK_INT(DB_OK, resource_store_list(db, &companies_resource, &query, &rows, &more));
		size_t index;
		json_t *row;
		json_array_foreach(rows, index, row)
			json_array_append(seen, row);
		size_t count = json_array_size(rows);
		if (more) {
			CHECK_INT(limit, count);
			json_t *last = json_array_get(rows, count - 1);
			json_decref(cursor_value);
			cursor_value = json_incref(strcmp(column, "id") == 0
							   ? json_null()
							   : json_object_get(last, column));
			cursor_id = json_integer_value(json_object_get(last, "id"));
			has_cursor = true;
		}
		json_decref(rows);
		resource_query_release(&query);
		if (!more)
			break;
	}
	json_decref(cursor_value);
	if ((int)json_array_size(seen) != total)
		fprintf(stderr, "sort %s limit %d: %zu rows, expected %d\n", sort, limit,
			json_array_size(seen), total);
	CHECK_INT(total, json_array_size(seen));
	for (size_t i = 1; i < json_array_size(seen); i++) {
		int order = compare_rows(json_array_get(seen, i - 1), json_array_get(seen, i), sort);
		if (order >= 0)
			fprintf(stderr, "sort %s limit %d: rows %zu and %zu out of order\n", sort, limit,
				i - 1, i);
		CHECK(order < 0);
	}
	json_decref(seen);
}

static void test_store_pagination_every_sort(void)
{
	struct db *db = open_fresh_db("resource", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	/* equal names, NULL and equal domains, mixed case */
	const char *names[] = { "Beta", "alpha", "Beta", "Gamma", "Beta", "delta", "Alpha" };
	int total = 0;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char body[256];
			if (i % 3 == 0)
				snprintf(body, sizeof(body), "{\"name\":\"%s\",\"tags\":[\"t%zu\"]}",
					 names[i], i % 2);
			else
				snprintf(body, sizeof(body),
					 "{\"name\":\"%s\",\"domain\":\"d%zu.example.com\","
					 "\"industry\":\"%s\",\"tags\":[\"t%zu\",\"all\"]}",
					 names[i], i % 4, i % 2 ? "retail" : "tech", i % 2);
			CHECK(insert_company(db, body) > 0);
			total++;
		}
	}
	CHECK_INT(DB_OK, db_commit(db));
	const char *sorts[] = { "id", "-id", "name", "-name", "domain", "-domain", "industry",
				"-industry", "created_at", "-created_at" };
	int limits[] = { 1, 2, 3, 5, 50 };
	for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++)
		for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
			check_pagination(db, sorts[s], limits[l], total);
	remove_db(db);
}

static int list_count(struct db *db, struct resource_query *query)
{
	json_t *rows = NULL;
	bool more = false;
	query->limit = 500;
	int status = resource_store_list(db, &companies_resource, query, &rows, &more);
	int count = status == DB_OK ? (int)json_array_size(rows) : -1;
	json_decref(rows);
	return count;
}

static void test_store_filters_tags_and_search(void)
{
	struct db *db = open_fresh_db("resource", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	int64_t acme = insert_company(db, "{\"name\":\"Acme Rockets\",\"domain\":\"acme.com\","
					  "\"industry\":\"aerospace\",\"tags\":[\"vip\",\"b2b\"]}");
	insert_company(db, "{\"name\":\"Bolt Bikes\",\"industry\":\"retail\",\"tags\":[\"b2b\"]}");
	insert_company(db, "{\"name\":\"Zoë's Café\",\"industry\":\"retail\"}");
	CHECK_INT(DB_OK, db_commit(db));

	struct resource_query query;
	resource_query_init(&query);
	query.scope = PERM_SCOPE_ALL;
	CHECK_INT(3, list_count(db, &query));
	query.tag = strdup("b2b");
	CHECK_INT(2, list_count(db, &query));
	free(query.tag);
	query.tag = strdup("vip");
	CHECK_INT(1, list_count(db, &query));
	resource_query_release(&query);

	query.scope = PERM_SCOPE_ALL;
	query.conditions[0] = (struct resource_condition){ "industry", "=", json_string("retail"), false };
	query.condition_count = 1;
	CHECK_INT(2, list_count(db, &query));
	resource_query_release(&query);

	query.scope = PERM_SCOPE_ALL;
	query.match = resource_fts_query("roc");
	CHECK_INT(1, list_count(db, &query));
	free(query.match);
	query.match = resource_fts_query("zoe cafe");
	CHECK_INT(1, list_count(db, &query));
	free(query.match);
	query.match = resource_fts_query("\"; DROP TABLE companies; --");
	CHECK_INT(0, list_count(db, &query));
	resource_query_release(&query);

	/* own scope without an owner matches nothing; none matches nothing */
	query.scope = PERM_SCOPE_OWN;
	query.caller_id = 1;
	CHECK_INT(0, list_count(db, &query));
	query.scope = PERM_SCOPE_NONE;
	CHECK_INT(0, list_count(db, &query));
	resource_query_release(&query);

	/* tags follow updates and deletes */
	json_t *record = NULL;
	CHECK_INT(DB_OK, resource_store_get(db, &companies_resource, acme, &record));
	json_object_set_new(record, "tags", json_pack("[s]", "gold"));
	json_t *stored = NULL;
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_STALE, resource_store_update(db, &companies_resource, acme, 7, record, &stored));
	CHECK_INT(DB_OK, resource_store_update(db, &companies_resource, acme, 1, record, &stored));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(2, json_integer_value(json_object_get(stored, "version")));
	query.scope = PERM_SCOPE_ALL;
	query.tag = strdup("vip");
	CHECK_INT(0, list_count(db, &query));
	free(query.tag);
	query.tag = strdup("gold");
	CHECK_INT(1, list_count(db, &query));
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_STALE, resource_store_delete(db, &companies_resource, acme, 1));
	CHECK_INT(DB_OK, resource_store_delete(db, &companies_resource, acme, 2));
	CHECK_INT(DB_NOT_FOUND, resource_store_delete(db, &companies_resource, acme, 2));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(0, list_count(db, &query));
	resource_query_release(&query);
	json_decref(stored);
	json_decref(record);

	/* unique values */
	CHECK_INT(DB_OK, db_begin_write(db));
	int64_t first = insert_company(db, "{\"name\":\"X\",\"external_id\":\"ext-1\"}");
	CHECK_INT(DB_OK, db_commit(db));
	const struct resource_field *external = resource_field_find(&companies_resource, "external_id");
	json_t *value = json_string("ext-1");
	CHECK_INT(1, resource_store_value_taken(db, &companies_resource, external, value, 0));
	CHECK_INT(0, resource_store_value_taken(db, &companies_resource, external, value, first));
	json_decref(value);
	CHECK_INT(DB_OK, resource_store_get_by_external_id(db, &companies_resource, "ext-1", &record));
	CHECK_INT(first, json_integer_value(json_object_get(record, "id")));
	json_decref(record);
	CHECK_INT(DB_NOT_FOUND,
		  resource_store_get_by_external_id(db, &companies_resource, "ext-2", &record));
	remove_db(db);
}

static void test_store_idempotency_keys(void)
{
	struct db *db = open_fresh_db("resource", true);
	struct resource_idempotent_answer answer = { 0 };
	CHECK_INT(DB_NOT_FOUND, resource_store_idempotency_find(db, 1, "k", 0, &answer));
	struct resource_idempotent_answer save = { .method = "POST", .path = "/api/v1/companies",
						   .request_hash = "h", .body = "{\"id\":1}",
						   .location = "/api/v1/companies/1", .status = 201 };
	CHECK_INT(DB_OK, resource_store_idempotency_save(db, 1, "k", &save, 1000, 0));
	CHECK_INT(DB_OK, resource_store_idempotency_find(db, 1, "k", 900, &answer));
	CHECK_STR("{\"id\":1}", answer.body);
	CHECK_STR("/api/v1/companies/1", answer.location);
	CHECK_INT(201, answer.status);
	resource_idempotent_answer_release(&answer);
	CHECK_INT(DB_NOT_FOUND, resource_store_idempotency_find(db, 2, "k", 900, &answer));
	/* expired: forgotten */
	CHECK_INT(DB_NOT_FOUND, resource_store_idempotency_find(db, 1, "k", 1001, &answer));
	CHECK_INT(DB_NOT_FOUND, resource_store_idempotency_find(db, 1, "k", 0, &answer));
	remove_db(db);
}

/* ---------------------------------------------------------------- list pages as text */

static int64_t insert_contact(struct db *db, const char *json_text)
{
	json_t *body = json_loads(json_text, 0, NULL);
	CHECK(body != NULL);
	struct field_errors errors = {NULL};
	json_t *record = resource_record_from_body(&contacts_resource, body, &errors);
	CHECK(!field_errors_any(&errors));
	field_errors_release(&errors);
	json_t *stored = NULL;
	CHECK_INT(DB_OK, resource_store_insert(db, &contacts_resource, record, &stored));
	int64_t id = json_integer_value(json_object_get(stored, "id"));
	json_decref(stored);
	json_decref(record);
	json_decref(body);
	return id;
}

/* A contact written behind the API's back: stored JSON in any form, any text. */
static void insert_raw_contact(struct db *db, const char *first_name, const char *source,
			       const char *tags, const char *consent, const char *custom)
{
	sqlite3_stmt *stmt = NULL;
	CHECK_INT(
	    SQLITE_OK,
	    sqlite3_prepare_v2(db_handle(db),
			       "INSERT INTO contacts (first_name, source, last_name, tags, consent,"
			       " custom, relationship_level, created_at, updated_at)"
			       " VALUES (?, ?, 'Raw', ?, ?, ?, 3, '2026-01-02T03:04:05Z', ?)",
			       -1, &stmt, NULL));
	db_bind_text(stmt, 1, first_name);
	db_bind_text(stmt, 2, source);
	db_bind_text(stmt, 3, tags);
	db_bind_text(stmt, 4, consent);
	db_bind_text(stmt, 5, custom);
	db_bind_text(stmt, 6, "2026-01-02T03:04:05Z");
	CHECK_INT(SQLITE_DONE, sqlite3_step(stmt));
	sqlite3_finalize(stmt);
}

/* The cursor the handler would send after `rows` (or NULL when no page follows). */
static char *json_path_cursor(const struct resource_query *query, const char *sort_key,
			      const json_t *rows, bool more)
{
	size_t count = json_array_size(rows);
	if (!more || !count)
		return NULL;
	const json_t *last = json_array_get(rows, count - 1);
	const json_t *value = query->sort_field ? json_object_get(last, query->sort_column) : NULL;
	return cursor_encode(sort_key, value, json_integer_value(json_object_get(last, "id")));
}

/*
 * Pages through the contacts with both list paths and checks that every page is the same
 * text: the records of resource_store_list() printed by json_to_text(), joined by commas.
 * Returns the number of records seen.
 */
static int check_text_pages(struct db *db, const char *sort, int limit, const char *match,
			    enum perm_scope scope)
{
	const char *column = sort[0] == '-' ? sort + 1 : sort;
	char *cursor = NULL;
	int seen = 0;
	for (int page_number = 0; page_number < 100; page_number++) {
		struct resource_query query;
		resource_query_init(&query);
		query.scope = scope;
		query.caller_id = 2;
		query.limit = limit;
		query.descending = sort[0] == '-';
		if (strcmp(column, "id") != 0) {
			query.sort_field = resource_field_find(&contacts_resource, column);
			query.sort_column = column;
		}
		if (match)
			query.match = resource_fts_query(match);
		if (cursor) {
			CHECK_INT(
			    0, cursor_decode(cursor, sort, &query.cursor_value, &query.cursor_id));
			query.has_cursor = true;
		}
		json_t *rows = NULL;
		bool more = false;
		CHECK_INT(DB_OK, resource_store_list(db, &contacts_resource, &query, &rows, &more));
		struct buf expected = BUF_INIT;
		size_t index;
		json_t *row;
		json_array_foreach(rows, index, row)
		{
			char *text = json_to_text(row, NULL);
			buf_adds(&expected, index ? "," : "");
			buf_adds(&expected, text);
			free(text);
		}
		struct resource_page_text page;
		resource_page_text_init(&page);
		CHECK_INT(DB_OK, resource_store_list_text(db, &contacts_resource, &query, &page));
		if (strcmp(expected.data, page.rows.data) != 0)
			fprintf(stderr, "sort %s limit %d page %d:\n  json %s\n  text %s\n", sort,
				limit, page_number, expected.data, page.rows.data);
		CHECK_STR(expected.data, page.rows.data);
		CHECK_INT(json_array_size(rows), page.count);
		CHECK_INT(more, page.more);
		char *next = json_path_cursor(&query, sort, rows, more);
		char *text_next =
		    page.more ? cursor_encode(sort, page.last_sort_value, page.last_id) : NULL;
		CHECK_STR(next ? next : "(none)", text_next ? text_next : "(none)");
		free(text_next);
		seen += page.count;
		free(cursor);
		cursor = next;
		resource_page_text_release(&page);
		buf_release(&expected);
		json_decref(rows);
		resource_query_release(&query);
		if (!cursor)
			break;
	}
	free(cursor);
	return seen;
}

static void test_store_list_text_matches_records(void)
{
	struct db *db = open_fresh_db("resource", true);
	CHECK_INT(DB_OK, db_begin_write(db));
	for (int user = 2; user <= 5; user++) { /* owners */
		char sql[200];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO users (id, email, name, role, created_at, "
			 "updated_at) VALUES (%d, 'u%d@example.com', 'U', 'rep', 'now', 'now')",
			 user, user);
		CHECK_INT(SQLITE_OK, sqlite3_exec(db_handle(db), sql, NULL, NULL, NULL));
	}
	insert_company(db, "{\"name\":\"Acme\"}");
	insert_contact(
	    db, "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"ann@example.com\","
		"\"tags\":[\"vip\",\"new \\\"one\\\"\"],\"owner_id\":2,\"company_id\":1,"
		"\"consent\":{\"email\":true,\"recorded_at\":\"2026-01-01T00:00:00Z\"},"
		"\"custom\":{\"tier\":\"gold\",\"nested\":{\"list\":[1,-2,true,null,\"x\"],"
		"\"quote\":\"a\\\\b\\\"c\\n\\t\\u0001\"},\"n\":123456789}}");
	insert_contact(
	    db, "{\"first_name\":\"J\xC3\xBCrgen\",\"last_name\":\"M\xC3\xBCller\","
		"\"title\":\"\xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80 \\\"Chef\\\" \\\\ o/\","
		"\"lifecycle\":\"customer\",\"relationship_level\":4,\"owner_id\":2}");
	insert_contact(
	    db, "{\"email\":\"only@example.com\",\"source\":null,\"custom\":{\"real\":2.5}}");
	insert_contact(
	    db, "{\"last_name\":\"Anders\",\"external_id\":\"ext-1\",\"relationship_level\":4,"
		"\"tags\":[\"M\xC3\xBCller\"],\"owner_id\":3}");
	for (int i = 0; i < 12; i++) {
		char body[160];
		snprintf(body, sizeof(body),
			 "{\"first_name\":\"%s\",\"last_name\":\"Same\",\"relationship_level\":%d,"
			 "\"owner_id\":%d}",
			 i % 3 ? "Anna" : "Bob", i % 2 ? 2 : 5, 2 + i % 2);
		insert_contact(db, body);
	}
	/* stored JSON not in the writer's form, or not what the field takes */
	insert_raw_contact(db, "Spaces", NULL, "[ \"a\" , \"b\" ]", "{\"email\": false}",
			   "{\"k\": 1}");
	insert_raw_contact(db, "Escapes", "\\u00e9", "[\"\\u00e9\\/\"]", NULL,
			   "{\"x\":\"\\u001f\",\"y\":1.0}");
	insert_raw_contact(db, "Repeated", NULL, "[]", "{\"email\":true,\"email\":false}",
			   "{\"a\":1,\"a\":2}");
	insert_raw_contact(db, "Wrong types", NULL, "{}", "[1]", "[1,2]");
	insert_raw_contact(db, "Not JSON", NULL, "vip", "{", "{\"big\":99999999999999999999}");
	/* text that is not UTF-8 (jansson drops the member) and control characters */
	insert_raw_contact(db, "Bad UTF-8", "caf\xC3", "[\"\xFF\"]", NULL, "{}");
	insert_raw_contact(db, "Control", "a\x01b\tc\x7F", "[\"tab\tin\"]", NULL,
			   "{\"deep\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}");
	insert_raw_contact(db, NULL, NULL, "[]", "null", "{}");
	CHECK_INT(DB_OK, db_commit(db));
	int total = 24;

	const char *sorts[] = {
	    "id",    "-id",    "first_name",         "-first_name",        "last_name",
	    "email", "-email", "relationship_level", "-relationship_level"};
	int limits[] = {1, 2, 5, 50};
	for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
		for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
			int seen = check_text_pages(db, sorts[s], limits[l], NULL, PERM_SCOPE_ALL);
			if (seen != total)
				fprintf(stderr, "sort %s limit %d: %d records\n", sorts[s],
					limits[l], seen);
			CHECK_INT(total, seen);
			check_text_pages(db, sorts[s], limits[l], NULL, PERM_SCOPE_OWN);
			check_text_pages(db, sorts[s], limits[l], "ann", PERM_SCOPE_ALL);
		}
	}
	CHECK_INT(9, check_text_pages(db, "id", 2, "ann", PERM_SCOPE_ALL));
	CHECK_INT(1, check_text_pages(db, "-first_name", 1, "m\xC3\xBCller", PERM_SCOPE_ALL));
	CHECK_INT(8, check_text_pages(db, "id", 3, NULL, PERM_SCOPE_OWN));
	remove_db(db);
}

/* ---------------------------------------------------------------- the write pipeline */

static int pipeline_events;

static int count_event(struct db *db, const struct resource *resource, enum resource_event event,
		       const json_t *before, const json_t *after)
{
	(void)db;
	(void)resource;
	(void)event;
	(void)before;
	(void)after;
	pipeline_events++;
	return DB_OK;
}

/* Audit rows of `entity` `id` as "action/actor,..." (caller frees). */
static char *audit_trail(struct db *db, const char *entity, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT action, actor FROM audit_log"
					    " WHERE entity = ? AND entity_id = ? ORDER BY id");
	db_bind_text(stmt, 1, entity);
	sqlite3_bind_int64(stmt, 2, id);
	struct buf out = BUF_INIT;
	while (sqlite3_step(stmt) == SQLITE_ROW)
		buf_addf(&out, "%s%s/%s", out.len ? "," : "", db_column_text(stmt, 0),
			 db_column_text(stmt, 1));
	sqlite3_reset(stmt);
	return buf_detach(&out, NULL);
}

/* Saves `json_text` as a new record (or a merge patch of `before`) through the pipeline. */
static int pipeline_save(const struct write_actor *actor, const struct resource *resource,
			 const json_t *before, const char *json_text, json_t **stored,
			 struct outcome *outcome)
{
	json_t *body = json_loads(json_text, 0, NULL);
	struct field_errors errors = { NULL };
	json_t *record = before ? resource_record_merge(resource, before, body, &errors)
				: resource_record_from_body(resource, body, &errors);
	if (!before)
		resource_fill_create_defaults(actor, resource, record);
	bool changed;
	CHECK_INT(DB_OK, db_begin_write(actor->db));
	int result = resource_save(actor, resource, before ? RESOURCE_UPDATE : RESOURCE_CREATE,
				   body, before, record, &errors, stored, &changed, outcome);
	if (result == 0)
		CHECK_INT(DB_OK, db_commit(actor->db));
	else
		db_rollback(actor->db);
	json_decref(record);
	json_decref(body);
	return result;
}

static void test_pipeline_audits_and_announces_once(void)
{
	struct db *db = open_fresh_db("resource", true);
	resource_set_event_hook(count_event);
	pipeline_events = 0;
	struct write_actor cli = { db, NULL, 0, "crmctl" };
	struct outcome outcome = OUTCOME_INIT;
	json_t *company = NULL, *contact = NULL, *again = NULL;
	CHECK_INT(0, pipeline_save(&cli, &companies_resource, NULL, "{\"name\":\"Acme\"}",
				   &company, &outcome));
	int64_t company_id = json_integer_value(json_object_get(company, "id"));
	CHECK(json_is_null(json_object_get(company, "owner_id"))); /* crmctl: nobody */
	char *text = NULL;
	char body[160];
	snprintf(body, sizeof(body), "{\"first_name\":\"Ann\",\"company_id\":%lld}",
		 (long long)company_id);
	CHECK_INT(0, pipeline_save(&cli, &contacts_resource, NULL, body, &contact, &outcome));
	int64_t contact_id = json_integer_value(json_object_get(contact, "id"));
	CHECK_INT(2, pipeline_events);
	CHECK_STR("create/crmctl", (text = audit_trail(db, "contacts", contact_id)));
	free(text);

	/* a change that changes nothing: no version, no audit entry, no event */
	CHECK_INT(0, pipeline_save(&cli, &contacts_resource, contact, "{\"first_name\":\"Ann\"}",
				   &again, &outcome));
	CHECK_INT(1, (int)json_integer_value(json_object_get(again, "version")));
	CHECK_INT(2, pipeline_events);
	json_decref(again);
	again = NULL;

	/* a reference to nothing: INVALID naming the field, nothing stored */
	CHECK_INT(-1, pipeline_save(&cli, &contacts_resource, NULL,
				    "{\"first_name\":\"Bo\",\"company_id\":999}", &again, &outcome));
	CHECK_INT(OUTCOME_INVALID, outcome.status);
	CHECK_STR("company_id", json_string_value(json_object_get(
					json_array_get(outcome.errors.list, 0), "field")));
	outcome_release(&outcome);
	outcome_init(&outcome);
	CHECK_INT(2, pipeline_events);

	/* removing the company detaches the contact (SET NULL) as a write of its own */
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(0, resource_remove(&cli, &companies_resource, company, &outcome));
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(4, pipeline_events); /* contact.updated, company.deleted */
	CHECK_STR("create/crmctl,update/crmctl", (text = audit_trail(db, "contacts", contact_id)));
	free(text);
	CHECK_STR("create/crmctl,delete/crmctl",
		  (text = audit_trail(db, "companies", company_id)));
	free(text);
	resource_set_event_hook(NULL);
	json_decref(company);
	json_decref(contact);
	remove_db(db);
}

int main(void)
{
	resource_register(&companies_resource);
	resource_register(&contacts_resource);
	RUN(test_strings_are_trimmed_and_limited);
	RUN(test_typed_fields);
	RUN(test_email_rule);
	RUN(test_body_rules);
	RUN(test_merge_patch);
	RUN(test_record_merge);
	RUN(test_fts_query);
	RUN(test_if_match_and_ids);
	RUN(test_store_pagination_every_sort);
	RUN(test_store_filters_tags_and_search);
	RUN(test_store_idempotency_keys);
	RUN(test_store_list_text_matches_records);
	RUN(test_pipeline_audits_and_announces_once);
	return check_finish();
}
