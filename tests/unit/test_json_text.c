/*
 * test_json_text.c - json_to_text() (json.c), the writer every answer goes through, prints
 * exactly what jansson's json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) prints; and stored JSON
 * text is copied (json_text_add_stored()) only when that prints the same as parsing it.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/buf.h"
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

/*
 * json_text_add_stored() must append exactly what json_to_text(json_loads(text)) prints,
 * or fail (-1, nothing appended) when jansson refuses the text or it has another type;
 * json_text_is_canonical() says whether the text could be copied as it is.
 */
static void check_stored(const char *text, json_type expected, int canonical)
{
	json_t *loaded = json_loads(text, 0, NULL);
	bool fits = loaded && json_typeof(loaded) == expected;
	struct buf out = BUF_INIT;
	buf_adds(&out, "x");
	int result = json_text_add_stored(&out, text, expected);
	if (fits) {
		char *printed = json_to_text(loaded, NULL);
		if (result != 0 || strcmp(out.data + 1, printed) != 0)
			fprintf(stderr, "stored %s: got %s, expected %s\n", text, out.data + 1,
				printed);
		CHECK_INT(0, result);
		CHECK_STR(printed, out.data + 1);
		free(printed);
	} else {
		if (result != -1)
			fprintf(stderr, "stored %s: accepted as %s\n", text, out.data + 1);
		CHECK_INT(-1, result);
		CHECK_STR("x", out.data);
	}
	if (canonical >= 0) {
		if ((int)json_text_is_canonical(text, strlen(text)) != canonical)
			fprintf(stderr, "canonical %s: expected %d\n", text, canonical);
		CHECK_INT(canonical, json_text_is_canonical(text, strlen(text)));
	}
	buf_release(&out);
	json_decref(loaded);
}

static void test_stored_text(void)
{
	/* the writer's own form: copied */
	check_stored("[]", JSON_ARRAY, 1);
	check_stored("{}", JSON_OBJECT, 1);
	check_stored("[\"vip\",\"new customer\",\"M\xC3\xBCller \xE6\x9D\xB1\xE4\xBA\xAC "
		     "\xF0\x9F\x98\x80\"]",
		     JSON_ARRAY, 1);
	check_stored("{\"email\":true,\"recorded_at\":\"2024-12-04T00:14:50Z\"}", JSON_OBJECT, 1);
	check_stored("{\"a\":{\"b\":[1,-2,0,{\"c\":null}],\"d\":[]},\"e\":false,\"f\":{}}",
		     JSON_OBJECT, 1);
	check_stored("{\"q\":\"say \\\"hi\\\" \\\\ \\b\\f\\n\\r\\t \\u0001\\u001F \x7F\"}",
		     JSON_OBJECT, 1);
	check_stored("{\"k\\\"ey\\n\":\"v\",\"n\":123456789012345678}", JSON_OBJECT, 1);
	/* valid JSON in another form: parsed and printed by jansson's rules */
	check_stored("[ \"a\" ]", JSON_ARRAY, 0);
	check_stored("{\"a\": 1}", JSON_OBJECT, 0);
	check_stored("[\"a\"]\n", JSON_ARRAY, 0);
	check_stored("{\"x\":\"\\u00e9\\u00E9\\u20AC\\ud83d\\ude00\"}", JSON_OBJECT, 0);
	check_stored("{\"x\":\"\\/\"}", JSON_OBJECT, 0);
	check_stored("{\"x\":\"\\u001f\"}", JSON_OBJECT, 0); /* lower-case hex */
	check_stored("{\"x\":\"\\u000A\"}", JSON_OBJECT, 0); /* \n has a short escape */
	check_stored("{\"x\":1.5,\"y\":1e5,\"z\":-0.0}", JSON_OBJECT, 0);
	check_stored("{\"x\":-0}", JSON_OBJECT, 0);
	check_stored("{\"x\":1234567890123456789}", JSON_OBJECT, 0);
	check_stored("{\"a\":1,\"b\":2,\"a\":3}", JSON_OBJECT, 0); /* a repeated key */
	check_stored("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]", JSON_ARRAY, 0); /* deep */
	/* not JSON of the type, or not JSON jansson takes: refused */
	check_stored("{}", JSON_ARRAY, 1);
	check_stored("[]", JSON_OBJECT, 1);
	check_stored("", JSON_ARRAY, 0);
	check_stored("[", JSON_ARRAY, 0);
	check_stored("[1,]", JSON_ARRAY, 0);
	check_stored("[01]", JSON_ARRAY, 0);
	check_stored("[] x", JSON_ARRAY, 0);
	check_stored("{\"x\":99999999999999999999}", JSON_OBJECT, 0);
	check_stored("{\"x\":\"\\u0000\"}", JSON_OBJECT, 0);
	check_stored("{\"x\":\"tab\tinside\"}", JSON_OBJECT, 0);
	check_stored("[\"\xC0\xAF\"]", JSON_ARRAY, 0);         /* overlong */
	check_stored("[\"\xED\xA0\x80\"]", JSON_ARRAY, 0);     /* a surrogate */
	check_stored("[\"\xF4\x90\x80\x80\"]", JSON_ARRAY, 0); /* above U+10FFFF */
	check_stored("[\"\xE6\x9D\"]", JSON_ARRAY, 0);         /* cut short */
	check_stored("[\"\x80\"]", JSON_ARRAY, 0);
	check_stored("[tru]", JSON_ARRAY, 0);
	check_stored("{\"a\"}", JSON_OBJECT, 0);
	check_stored("{1:2}", JSON_OBJECT, 0);
}

/* Random texts from JSON-ish pieces: the copy and jansson never disagree. */
static void test_stored_text_random(void)
{
	static const char *const pieces[] = {
	    "[",
	    "]",
	    "{",
	    "}",
	    ",",
	    ":",
	    "\"",
	    "\"a\"",
	    "\"k\"",
	    "1",
	    "-",
	    "0",
	    "12",
	    ".5",
	    "e3",
	    "true",
	    "false",
	    "null",
	    " ",
	    "\\",
	    "\\n",
	    "\\u00",
	    "1F",
	    "e9",
	    "\\\"",
	    "\xC3\xA9",
	    "\xE2\x82",
	    "\xAC",
	    "\xF0\x9F\x98\x80",
	    "\x01",
	    "\x7F",
	    "x",
	};
	size_t count = sizeof(pieces) / sizeof(pieces[0]);
	unsigned seed = 12345;
	int canonical = 0, valid = 0;
	for (int round = 0; round < 40000; round++) {
		struct buf text = BUF_INIT;
		buf_adds(&text, round % 2 ? "[" : "{");
		int length = (int)((seed = seed * 1103515245 + 12345) >> 16) % 12;
		for (int i = 0; i < length; i++) {
			seed = seed * 1103515245 + 12345;
			buf_adds(&text, pieces[(seed >> 16) % count]);
		}
		buf_adds(&text, round % 2 ? "]" : "}");
		check_stored(text.data, round % 2 ? JSON_ARRAY : JSON_OBJECT, -1);
		canonical += json_text_is_canonical(text.data, text.len);
		json_t *loaded = json_loads(text.data, 0, NULL);
		valid += loaded != NULL;
		json_decref(loaded);
		buf_release(&text);
	}
	/* both kinds were tried, not only texts that fail early */
	fprintf(stderr, "random texts: %d canonical, %d valid JSON of 40000\n", canonical, valid);
	CHECK(canonical > 1000);
	CHECK(valid > canonical);
}

/* json_utf8_valid() agrees with jansson, which refuses strings that are not UTF-8. */
static void test_utf8_valid(void)
{
	static const char *const texts[] = {
	    "",
	    "plain",
	    "M\xC3\xBCller",
	    "\xE6\x9D\xB1",
	    "\xF0\x9F\x98\x80",
	    "\xEF\xBF\xBD",
	    "\xC0\xAF",
	    "\xC1\xBF",
	    "\xE0\x80\xAF",
	    "\xED\xA0\x80",
	    "\xED\x9F\xBF",
	    "\xF4\x8F\xBF\xBF",
	    "\xF4\x90\x80\x80",
	    "\xF5\x80\x80\x80",
	    "\x80",
	    "\xC3",
	    "a\xC3(",
	    "\xFF",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *value = json_string(texts[i]);
		CHECK_INT(value != NULL, json_utf8_valid(texts[i], strlen(texts[i])));
		json_decref(value);
	}
}

int main(void)
{
	RUN(test_scalars);
	RUN(test_containers);
	RUN(test_null_value);
	RUN(test_stored_text);
	RUN(test_stored_text_random);
	RUN(test_utf8_valid);
	return check_finish();
}
