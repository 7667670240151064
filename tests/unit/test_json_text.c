/*
 * test_json_text.c - json_to_text() (json.c), the writer every answer goes through, prints
 * exactly what jansson's json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) prints.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "crm/json.h"

/* Compares json_to_text() with json_dumps() for `value` (stolen). */
static void check_same(json_t *value)
{
	char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;
	char *got = json_to_text(value, &len);
	CHECK_STR(expected, got);
	CHECK_INT(strlen(expected), len);
	free(expected);
	free(got);
	json_decref(value);
}

static void test_scalars(void)
{
	check_same(json_null());
	check_same(json_true());
	check_same(json_false());
	check_same(json_integer(0));
	check_same(json_integer(-7));
	check_same(json_integer(INT64_MAX));
	check_same(json_integer(INT64_MIN));
	check_same(json_real(0.1));
	check_same(json_real(3.0));
	check_same(json_real(-1e300));
	check_same(json_string(""));
	check_same(json_string("plain"));
	check_same(json_string("quote \" backslash \\ slash / tab \t newline \n cr \r"));
	check_same(json_string("bell \a backspace \b formfeed \f escape \x1b unit \x1f del \x7f"));
	check_same(json_string("Müller, 東京, emoji \xF0\x9F\x98\x80, U+2028 \xE2\x80\xA8"));
	check_same(json_stringn("nul \0 inside", 12));
}

static void test_containers(void)
{
	check_same(json_array());
	check_same(json_object());
	check_same(json_pack("[i, s, n, b, [], {}]", 1, "two", 0));
	json_t *record = json_pack("{s:I, s:s, s:o, s:[s, s], s:{s:b, s:n}, s:f}", "id",
				   (json_int_t)42, "first_name", "Ann \"the\" Lee", "title", json_null(),
				   "tags", "vip", "new\nline", "consent", "email", 1, "recorded_at",
				   "score", 0.25);
	json_object_set_new(record, "z", json_integer(1)); /* insertion order, not sorted */
	json_object_set_new(record, "a", json_integer(2));
	json_object_set_new(record, "k\"ey\n", json_string("v"));
	check_same(record);
	json_t *deep = json_array();
	json_t *inner = deep;
	for (int i = 0; i < 50; i++) {
		json_t *next = json_array();
		json_array_append_new(inner, next);
		inner = next;
	}
	check_same(deep);
}

static void test_null_value(void)
{
	size_t len = 0;
	char *text = json_to_text(NULL, &len);
	CHECK_STR("null", text);
	CHECK_INT(4, len);
	free(text);
}

int main(void)
{
	RUN(test_scalars);
	RUN(test_containers);
	RUN(test_null_value);
	return check_finish();
}
