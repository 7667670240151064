/*
 * test_http_helpers.c - the parts of the HTTP layer that need no connection: request
 * accessors (headers without case, the first of repeated names, query arguments with and
 * without a value, query_each stopping early, cookies), responses (headers replaced by
 * name without case, the header cap, bodies owned or static), --listen parsing
 * (http_parse_listen), If-Match (resource_if_match: lists, *, weak tags, malformed), and
 * the embedded web UI (web.c): content types, ETag and If-None-Match (lists, weak tags, *,
 * malformed members), HEAD, 405 and 404.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/http.h"
#include "crm/resource.h"
#include "crm/web.h"

/* ---------------------------------------------------------------- requests */

static void test_request_accessors(void)
{
	const struct request_value headers[] = {
		{ "Content-Type", "application/json" },
		{ "X-Twice", "first" },
		{ "x-twice", "second" },
		{ "If-Match", "\"3\"" },
		{ "Cookie", "crm_session=abc" },
	};
	const struct request_value query[] = {
		{ "limit", "5" }, { "flag", NULL }, { "LIMIT", "9" }, { "q", "" },
	};
	const struct request_value cookies[] = { { "crm_session", "abc" }, { "theme", "dark" } };
	struct request req = {
		.method = "GET",
		.path = "/api/v1/contacts",
		.body = "",
		.headers = headers,
		.header_count = 5,
		.query = query,
		.query_count = 4,
		.cookies = cookies,
		.cookie_count = 2,
	};
	CHECK_STR("application/json", request_header(&req, "content-type"));
	CHECK_STR("application/json", request_header(&req, "CONTENT-TYPE"));
	CHECK_STR("first", request_header(&req, "X-TWICE"));
	CHECK_STR("\"3\"", request_header(&req, "if-match"));
	CHECK(request_header(&req, "Content-Typ") == NULL);
	CHECK(request_header(&req, "") == NULL);

	CHECK_STR("5", request_query(&req, "limit"));
	CHECK_STR("5", request_query(&req, "Limit"));
	CHECK(request_query(&req, "flag") == NULL); /* present without a value */
	CHECK_STR("", request_query(&req, "q"));
	CHECK(request_query(&req, "cursor") == NULL);

	CHECK_STR("abc", request_cookie(&req, "crm_session"));
	CHECK_STR("dark", request_cookie(&req, "theme"));
	CHECK(request_cookie(&req, "other") == NULL);

	struct request empty = { .method = "GET", .path = "/", .body = "" };
	CHECK(request_header(&empty, "Content-Type") == NULL);
	CHECK(request_query(&empty, "limit") == NULL);
	CHECK(request_cookie(&empty, "crm_session") == NULL);
}

struct visit_log {
	char seen[128];
	int calls;
	int stop_at; /* the call that answers non-zero (1-based); 0: none */
};

static int visit(void *context, const char *name, const char *value)
{
	struct visit_log *log = context;
	log->calls++;
	size_t len = strlen(log->seen);
	snprintf(log->seen + len, sizeof(log->seen) - len, "%s=%s;", name, value ? value : "(null)");
	return log->calls == log->stop_at ? 7 : 0;
}

static void test_request_query_each(void)
{
	const struct request_value query[] = { { "a", "1" }, { "b", NULL }, { "a", "2" } };
	struct request req = { .method = "GET", .path = "/", .body = "", .query = query,
			       .query_count = 3 };
	struct visit_log log = { "", 0, 0 };
	CHECK_INT(0, request_query_each(&req, visit, &log));
	CHECK_STR("a=1;b=(null);a=2;", log.seen);
	CHECK_INT(3, log.calls);

	struct visit_log stop = { "", 0, 2 };
	CHECK_INT(7, request_query_each(&req, visit, &stop));
	CHECK_STR("a=1;b=(null);", stop.seen);

	struct request none = { .method = "GET", .path = "/", .body = "" };
	struct visit_log nothing = { "", 0, 1 };
	CHECK_INT(0, request_query_each(&none, visit, &nothing));
	CHECK_INT(0, nothing.calls);
}

/* ---------------------------------------------------------------- responses */

static const char *response_header(const struct response *res, const char *name)
{
	for (int i = 0; i < res->header_count; i++)
		if (strcmp(res->header_names[i], name) == 0)
			return res->header_values[i];
	return NULL;
}

static void test_response_headers_and_bodies(void)
{
	struct response res;
	response_init(&res);
	CHECK_INT(HTTP_INTERNAL_ERROR, res.status); /* a handler that answers nothing: 500 */
	CHECK_INT(0, res.header_count);

	response_set_header(&res, "ETag", "\"1\"");
	response_set_header(&res, "Location", "/api/v1/contacts/1");
	response_set_header(&res, "etag", "\"2\""); /* replaces, keeps the first spelling */
	CHECK_INT(2, res.header_count);
	CHECK_STR("\"2\"", response_header(&res, "ETag"));
	CHECK(response_header(&res, "etag") == NULL);

	/* the cap: more headers are dropped (and logged), earlier ones stay, replacing works */
	char name[32];
	for (int i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 3; i++) {
		snprintf(name, sizeof(name), "X-Extra-%d", i);
		response_set_header(&res, name, "v");
	}
	CHECK_INT(HTTP_MAX_RESPONSE_HEADERS, res.header_count);
	CHECK_STR("\"2\"", response_header(&res, "ETag"));
	CHECK(response_header(&res, "X-Extra-0") != NULL);
	snprintf(name, sizeof(name), "X-Extra-%d", HTTP_MAX_RESPONSE_HEADERS);
	CHECK(response_header(&res, name) == NULL);
	response_set_header(&res, "LOCATION", "/elsewhere");
	CHECK_STR("/elsewhere", response_header(&res, "Location"));

	/* an owned body replaced by a static one and back (ASan sees a leak or double free) */
	char *body = malloc(4);
	memcpy(body, "{}\n", 4);
	response_set_body(&res, HTTP_OK, "application/json", body, 3);
	CHECK_INT(HTTP_OK, res.status);
	CHECK(!res.body_is_static);
	static const char text[] = "static";
	response_set_static_body(&res, HTTP_CREATED, "text/plain", text, 6);
	CHECK_INT(HTTP_CREATED, res.status);
	CHECK(res.body_is_static);
	CHECK(res.body == text);
	CHECK_INT(6, res.body_len);
	char *again = malloc(3);
	memcpy(again, "ok", 3);
	response_set_body(&res, HTTP_NO_CONTENT, "text/plain", again, 2);
	CHECK(!res.body_is_static);
	response_release(&res);
	CHECK_INT(0, res.header_count);
	CHECK(res.body == NULL);
	response_release(&res); /* released twice: harmless */
}

/* ---------------------------------------------------------------- --listen */

static void test_parse_listen(void)
{
	char host[64];
	unsigned port = 1;
	CHECK_INT(0, http_parse_listen("127.0.0.1:8080", host, sizeof(host), &port));
	CHECK_STR("127.0.0.1", host);
	CHECK_INT(8080, port);
	CHECK_INT(0, http_parse_listen("[::1]:0", host, sizeof(host), &port));
	CHECK_STR("::1", host);
	CHECK_INT(0, port);
	CHECK_INT(0, http_parse_listen("0.0.0.0:65535", host, sizeof(host), &port));
	CHECK_INT(65535, port);
	CHECK_INT(0, http_parse_listen("[fe80::1:2]:443", host, sizeof(host), &port));
	CHECK_STR("fe80::1:2", host);
	CHECK_INT(443, port);

	const char *bad[] = { "", "8080", "127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:65536",
			      "127.0.0.1:80x", "127.0.0.1:-1x", "[::1]8080", "[::1]", "[]:80",
			      "[::1:80", NULL };
	for (int i = 0; bad[i]; i++) {
		if (http_parse_listen(bad[i], host, sizeof(host), &port) != -1)
			fprintf(stderr, "accepted --listen %s\n", bad[i]);
		CHECK_INT(-1, http_parse_listen(bad[i], host, sizeof(host), &port));
	}
	/* a host that does not fit the buffer (with its NUL) is refused, not cut */
	char small[9];
	CHECK_INT(0, http_parse_listen("10.0.0.1:80", small, sizeof(small), &port));
	CHECK_STR("10.0.0.1", small);
	CHECK_INT(-1, http_parse_listen("10.0.0.10:80", small, sizeof(small), &port));
}

/* ---------------------------------------------------------------- If-Match */

static void test_if_match(void)
{
	CHECK_INT(1, resource_if_match("\"7\"", 7));
	CHECK_INT(0, resource_if_match("\"70\"", 7));
	CHECK_INT(1, resource_if_match("*", 7));
	CHECK_INT(1, resource_if_match(" \"1\" , \"7\",\"9\" ", 7));
	CHECK_INT(0, resource_if_match("\"1\", \"9\"", 7));
	CHECK_INT(1, resource_if_match("7", 7));   /* unquoted digits are taken */
	CHECK_INT(0, resource_if_match("W/\"7\"", 7)); /* weak tags never match (strong compare) */
	CHECK_INT(1, resource_if_match("W/\"7\", \"7\"", 7));
	CHECK_INT(1, resource_if_match("\"007\"", 7));
	const char *malformed[] = { "", " ", ",", "\"\"", "\"7", "\"x\"", "\"7\"x", "abc",
				    "\"-7\"", "\"12345678901234567890\"", "\"7\";\"8\"", NULL };
	for (int i = 0; malformed[i]; i++) {
		if (resource_if_match(malformed[i], 7) != -1)
			fprintf(stderr, "If-Match accepted: %s\n", malformed[i]);
		CHECK_INT(-1, resource_if_match(malformed[i], 7));
	}
}

/* ---------------------------------------------------------------- web UI */

static void test_web_content_types(void)
{
	CHECK_STR("text/html; charset=utf-8", web_content_type("index.html"));
	CHECK_STR("text/javascript; charset=utf-8", web_content_type("js/pages/contacts.js"));
	CHECK_STR("text/css; charset=utf-8", web_content_type("app.css"));
	CHECK_STR("image/svg+xml", web_content_type("favicon.svg"));
	CHECK_STR("application/json", web_content_type("a.b/c.json"));
	CHECK_STR("application/octet-stream", web_content_type("README"));
	CHECK_STR("application/octet-stream", web_content_type("app.js.map"));
	CHECK_STR("application/octet-stream", web_content_type("file.HTML"));
	CHECK_STR("application/octet-stream", web_content_type(""));
}

/* Whether the `len` bytes at `data` contain `needle`. */
static bool contains(const char *data, size_t len, const char *needle)
{
	size_t needle_len = strlen(needle);
	for (size_t i = 0; i + needle_len <= len; i++)
		if (memcmp(data + i, needle, needle_len) == 0)
			return true;
	return false;
}

/* Serves `path` with `method` and an optional If-None-Match; fills *res (caller releases). */
static void serve(const char *method, const char *path, const char *if_none_match,
		  struct response *res)
{
	struct request_value header = { "If-None-Match", if_none_match };
	struct request req = { .method = method, .path = path, .body = "",
			       .headers = &header, .header_count = if_none_match ? 1 : 0 };
	response_init(res);
	web_serve(&req, res);
}

static void test_web_serve(void)
{
	struct response res;
	serve("GET", "/", NULL, &res);
	CHECK_INT(HTTP_OK, res.status);
	CHECK_STR("text/html; charset=utf-8", res.content_type);
	CHECK(res.body_len > 0 && res.body && contains(res.body, res.body_len, "<html"));
	CHECK_STR("no-cache", response_header(&res, "Cache-Control"));
	CHECK(strstr(response_header(&res, "Content-Security-Policy"), "default-src 'self'"));
	const char *tag = response_header(&res, "ETag");
	CHECK(tag && tag[0] == '"' && strlen(tag) == 18 && tag[17] == '"');
	char etag[32];
	snprintf(etag, sizeof(etag), "%s", tag ? tag : "\"\"");
	response_release(&res);

	serve("GET", "/index.html", NULL, &res);
	CHECK_INT(HTTP_OK, res.status);
	CHECK_STR(etag, response_header(&res, "ETag"));
	response_release(&res);

	serve("GET", "/app.js", NULL, &res);
	CHECK_INT(HTTP_OK, res.status);
	CHECK_STR("text/javascript; charset=utf-8", res.content_type);
	CHECK(strcmp(etag, response_header(&res, "ETag")) != 0); /* another file, another tag */
	response_release(&res);

	/* If-None-Match naming the tag: 304 without a body, with the tag */
	char weak[40], list[96], unquoted[32];
	snprintf(weak, sizeof(weak), "W/%s", etag);
	snprintf(list, sizeof(list), "\"0000000000000000\" ,  %s, \"x\"", etag);
	snprintf(unquoted, sizeof(unquoted), "%.16s", etag + 1);
	const char *matching[] = { etag, weak, list, "*", " * ", "\"a\", *", NULL };
	for (int i = 0; matching[i]; i++) {
		serve("GET", "/", matching[i], &res);
		if (res.status != HTTP_NOT_MODIFIED)
			fprintf(stderr, "If-None-Match %s: %d\n", matching[i], res.status);
		CHECK_INT(HTTP_NOT_MODIFIED, res.status);
		CHECK_INT(0, res.body_len);
		CHECK_STR(etag, response_header(&res, "ETag"));
		response_release(&res);
	}
	char prefix[32], longer[40], glued[72];
	snprintf(prefix, sizeof(prefix), "%.16s\"", etag);
	snprintf(longer, sizeof(longer), "%.17s0\"", etag);
	snprintf(glued, sizeof(glued), "%s%s", etag, etag);
	const char *other[] = { "\"0000000000000000\"", unquoted, prefix, longer, glued, "",
				",", "**", "W/", "\"", "x*", NULL };
	for (int i = 0; other[i]; i++) {
		serve("GET", "/", other[i], &res);
		if (res.status != HTTP_OK)
			fprintf(stderr, "If-None-Match %s: %d\n", other[i], res.status);
		CHECK_INT(HTTP_OK, res.status);
		CHECK(res.body_len > 0);
		response_release(&res);
	}

	/* HEAD as GET (libmicrohttpd drops the body); other methods 405 with Allow */
	serve("HEAD", "/app.css", NULL, &res);
	CHECK_INT(HTTP_OK, res.status);
	CHECK_STR("text/css; charset=utf-8", res.content_type);
	response_release(&res);
	serve("POST", "/", NULL, &res);
	CHECK_INT(HTTP_METHOD_NOT_ALLOWED, res.status);
	CHECK_STR("GET, HEAD", response_header(&res, "Allow"));
	CHECK(strncmp(res.content_type, "application/problem+json", 24) == 0);
	response_release(&res);

	const char *missing[] = { "/no-such-file.js", "/js", "/js/", "//index.html",
				  "/index.html/", "/../index.html", "/INDEX.HTML", NULL };
	for (int i = 0; missing[i]; i++) {
		serve("GET", missing[i], NULL, &res);
		if (res.status != HTTP_NOT_FOUND)
			fprintf(stderr, "web %s: %d\n", missing[i], res.status);
		CHECK_INT(HTTP_NOT_FOUND, res.status);
		CHECK(strncmp(res.content_type, "application/problem+json", 24) == 0);
		response_release(&res);
	}
}

int main(void)
{
	RUN(test_request_accessors);
	RUN(test_request_query_each);
	RUN(test_response_headers_and_bodies);
	RUN(test_parse_listen);
	RUN(test_if_match);
	RUN(test_web_content_types);
	RUN(test_web_serve);
	return check_finish();
}
