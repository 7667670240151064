/* test_basics.c - the string buffer and RFC 3339 time handling. */
#include <stdlib.h>

#include "check.h"
#include "crm/buf.h"
#include "crm/cursor.h"
#include "crm/http.h"
#include "crm/timeutil.h"

static void test_buf(void)
{
	struct buf b = BUF_INIT;
	CHECK_STR("", b.data);
	buf_adds(&b, "hello");
	buf_addch(&b, ' ');
	buf_addf(&b, "%d-%s", 42, "x");
	CHECK_STR("hello 42-x", b.data);
	CHECK_INT(10, b.len);
	for (int i = 0; i < 1000; i++)
		buf_adds(&b, "0123456789");
	CHECK_INT(10010, b.len);
	buf_reset(&b);
	CHECK_STR("", b.data);
	buf_adds(&b, "kept");
	size_t len;
	char *owned = buf_detach(&b, &len);
	CHECK_STR("kept", owned);
	CHECK_INT(4, len);
	CHECK_STR("", b.data);
	free(owned);
	buf_release(&b);
}

static void test_time(void)
{
	char text[TIME_RFC3339_SIZE];
	time_format_rfc3339(0, text);
	CHECK_STR("1970-01-01T00:00:00Z", text);
	time_t when;
	CHECK(time_parse_rfc3339("2026-11-23T16:00:00Z", false, &when));
	time_format_rfc3339(when, text);
	CHECK_STR("2026-11-23T16:00:00Z", text);
	CHECK(time_parse_rfc3339("2026-11-23T18:00:00.123+02:00", false, &when));
	time_format_rfc3339(when, text);
	CHECK_STR("2026-11-23T16:00:00Z", text);
	CHECK(time_parse_rfc3339("2024-02-29", true, &when));
	CHECK(!time_parse_rfc3339("2024-02-29", false, &when));
	CHECK(!time_parse_rfc3339("2023-02-29", true, &when));
	CHECK(!time_parse_rfc3339("2026-13-01T00:00:00Z", false, &when));
	CHECK(!time_parse_rfc3339("2026-11-23T24:00:00Z", false, &when));
	CHECK(!time_parse_rfc3339("2026-11-23T16:00:00", false, &when));
	CHECK(!time_parse_rfc3339("yesterday", true, &when));
	CHECK(time_parse_date("2026-01-31", &when));
	CHECK(!time_parse_date("2026-01-31T00:00:00Z", &when));
}

static void test_listen_parsing(void)
{
	char host[64];
	unsigned port;
	CHECK_INT(0, http_parse_listen("127.0.0.1:8080", host, sizeof(host), &port));
	CHECK_STR("127.0.0.1", host);
	CHECK_INT(8080, port);
	CHECK_INT(0, http_parse_listen("[::1]:0", host, sizeof(host), &port));
	CHECK_STR("::1", host);
	CHECK_INT(0, port);
	CHECK_INT(-1, http_parse_listen("127.0.0.1", host, sizeof(host), &port));
	CHECK_INT(-1, http_parse_listen("127.0.0.1:99999", host, sizeof(host), &port));
	CHECK_INT(-1, http_parse_listen(":80", host, sizeof(host), &port));
	CHECK_INT(-1, http_parse_listen("127.0.0.1:", host, sizeof(host), &port));
}

static void test_cursor_round_trip_and_rejects(void)
{
	json_t *value = json_string("Müller");
	char *text = cursor_encode("last_name", value, 42);
	json_decref(value);
	json_t *decoded = NULL;
	int64_t id = 0;
	CHECK_INT(0, cursor_decode(text, "last_name", &decoded, &id));
	CHECK_INT(42, id);
	CHECK_STR("Müller", json_string_value(decoded));
	json_decref(decoded);
	CHECK_INT(-1, cursor_decode(text, "email", &decoded, &id)); /* made for another sort */
	free(text);
	CHECK_INT(-1, cursor_decode("not a cursor!", "id", &decoded, &id));
	CHECK_INT(-1, cursor_decode("", "id", &decoded, &id));
	CHECK_INT(-1, cursor_decode("WzEsMiwzXQ", "id", &decoded, &id)); /* [1,2,3] */
}

int main(void)
{
	RUN(test_cursor_round_trip_and_rejects);
	RUN(test_buf);
	RUN(test_time);
	RUN(test_listen_parsing);
	return check_finish();
}
