/*
 * fuzz_request.c - crmd's whole request pipeline (app_handle: routing, authentication,
 * CSRF, every handler, JSON validation, list parameters, the store) on an in-memory
 * database, with requests as libmicrohttpd would hand them over:
 *
 *   METHOD TARGET\n          TARGET = path[?query], percent-decoded like libmicrohttpd
 *   Name: value\n ...       headers, up to an empty line; in values $KEY, $SESSION and
 *   \n                      $CSRF become a valid admin API key, session token, CSRF token
 *   body
 *
 * Properties: no crash, no 500 (bad input is a 4xx), a status from 200 to 599, and a JSON
 * answer that parses. FUZZ_VERBOSE=1 prints each request and the start of its answer. The login route is left out (each Argon2id check takes 64 MiB and
 * tens of milliseconds); the database is made anew every few thousand requests.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/auth_store.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/http.h"
#include "crm/log.h"
#include "crm/ratelimit.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "fuzz.h"
#include "crm/banned.h"

#define SESSION_TOKEN "fuzzsessiontokenfuzzsessiontokenfuzzsessio"
#define CSRF_TOKEN "fuzzcsrftokenfuzzcsrftokenfuzzcsrftokenfuz"
#define REQUESTS_PER_DATABASE 4000

static char api_key[AUTH_KEY_TEXT_SIZE];
static int requests;

/* A fresh in-memory database with an admin, an API key and a session. */
static void database_setup(void)
{
	db_thread_close();
	struct db *db = db_thread();
	if (!db || db_migrate(db, NULL) != 0)
		fuzz_fail("cannot create the database");
	struct user_change change = USER_CHANGE_INIT;
	change.email = "fuzz@example.com";
	change.name = "Fuzz";
	change.role = "admin";
	struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user admin;
	int64_t key_id, session_id;
	if (users_create(db, &change, &actor, &admin) != DB_OK ||
	    auth_key_create(db, admin.id, "fuzz", false, NULL, 0, AUDIT_ACTOR_CLI, api_key,
			    &key_id) != DB_OK)
		fuzz_fail("cannot create the admin");
	unsigned char hash[AUTH_HASH_BYTES];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)SESSION_TOKEN,
			   strlen(SESSION_TOKEN), NULL, 0);
	char now[TIME_RFC3339_SIZE], later[TIME_RFC3339_SIZE];
	time_format_rfc3339(time(NULL), now);
	time_format_rfc3339(time(NULL) + 30 * 24 * 3600, later);
	if (auth_store_session_create(db, admin.id, hash, CSRF_TOKEN, now, later, "127.0.0.1",
				      &session_id) != DB_OK)
		fuzz_fail("cannot create the session");
}

static void setup(void)
{
	log_configure(LOG_FORMAT_TEXT, LOG_LEVEL_ERROR);
	db_thread_setup(":memory:", DB_SYNC_NORMAL);
	auth_init();
	/* the highest limits (a million a minute): a long run must not end in 429s everywhere */
	ratelimit_set_defaults(RATELIMIT_MAX, RATELIMIT_MAX);
	app_init();
	database_setup();
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes `text` in place (and '+' as a space in query arguments). */
static void unescape(char *text, bool plus_is_space)
{
	char *out = text;
	for (char *p = text; *p; p++) {
		if (*p == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
			*out++ = (char)(hex_value(p[1]) * 16 + hex_value(p[2]));
			p += 2;
		} else {
			*out++ = plus_is_space && *p == '+' ? ' ' : *p;
		}
	}
	*out = '\0';
}

/* Replaces the first $NAME in `value` by `replacement`; a new string (caller frees). */
static char *substitute(const char *value, const char *name, const char *replacement)
{
	const char *at = strstr(value, name);
	if (!at)
		return xstrdup(value);
	struct buf out = BUF_INIT;
	buf_add(&out, value, (size_t)(at - value));
	buf_adds(&out, replacement);
	buf_adds(&out, at + strlen(name));
	return buf_detach(&out, NULL);
}

struct parsed_request {
	char *copy;                        /* the input, cut into the strings below */
	struct request_value headers[64];
	struct request_value query[64];
	struct request_value cookies[16];
	char *owned[80];                   /* substituted header values, cookie copies */
	int owned_count;
};

/* Splits "a=1; b=2" into cookies as libmicrohttpd does (a copy cut in place). */
static int parse_cookies(char *header, struct request_value *cookies, int max)
{
	int count = 0;
	for (char *pair = header; pair && *pair && count < max;) {
		char *next = strchr(pair, ';');
		if (next)
			*next++ = '\0';
		while (*pair == ' ')
			pair++;
		char *equals = strchr(pair, '=');
		if (equals) {
			*equals = '\0';
			char *value = equals + 1;
			size_t len = strlen(value);
			if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
				value[len - 1] = '\0';
				value++;
			}
			cookies[count++] = (struct request_value){ pair, value };
		}
		pair = next;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	if (!initialised) {
		setup();
		initialised = true;
	}
	if (++requests % REQUESTS_PER_DATABASE == 0)
		database_setup();
	/* The body may hold anything but NUL (http.c answers 400 for a NUL). */
	const uint8_t *blank = NULL;
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && data[i + 1] == '\n') {
			blank = data + i;
			break;
		}
	size_t head_len = blank ? (size_t)(blank - data) : size;
	const char *body = blank ? (const char *)blank + 2 : "";
	size_t body_len = blank ? size - head_len - 2 : 0;
	if (memchr(body, '\0', body_len) || body_len > HTTP_MAX_BODY)
		return 0;
	char *body_copy = fuzz_text((const uint8_t *)body, body_len);

	struct parsed_request parsed = { .copy = fuzz_text(data, head_len) };
	struct request req = { .body = body_copy, .body_len = body_len,
			       .client_address = "127.0.0.1" };
	char *line_end = strchr(parsed.copy, '\n');
	if (line_end)
		*line_end = '\0';
	char *method = parsed.copy;
	char *target = strchr(method, ' ');
	if (!target || target == method)
		goto cleanup;
	*target++ = '\0';
	char *query = strchr(target, '?');
	if (query)
		*query++ = '\0';
	unescape(target, false);
	if (target[0] != '/' || strlen(target) > HTTP_MAX_URL_LENGTH ||
	    strcmp(target, "/api/v1/auth/login") == 0)
		goto cleanup;
	req.method = method;
	req.path = target;
	for (char *arg = query; arg && *arg && req.query_count < 64;) {
		char *next = strchr(arg, '&');
		if (next)
			*next++ = '\0';
		char *equals = strchr(arg, '=');
		if (equals)
			*equals++ = '\0';
		unescape(arg, true);
		if (equals)
			unescape(equals, true);
		parsed.query[req.query_count++] = (struct request_value){ arg, equals };
		arg = next;
	}
	for (char *line = line_end ? line_end + 1 : NULL; line && *line && req.header_count < 64;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			char *value = colon + 1;
			while (*value == ' ')
				value++;
			char *a = substitute(value, "$KEY", api_key);
			char *b = substitute(a, "$SESSION", SESSION_TOKEN);
			char *c = substitute(b, "$CSRF", CSRF_TOKEN);
			free(a);
			free(b);
			parsed.owned[parsed.owned_count++] = c;
			parsed.headers[req.header_count++] = (struct request_value){ line, c };
			if (strcasecmp(line, "Cookie") == 0 && !req.cookie_count) {
				char *cookie_copy = xstrdup(c);
				parsed.owned[parsed.owned_count++] = cookie_copy;
				req.cookie_count = parse_cookies(cookie_copy, parsed.cookies, 16);
			}
		}
		line = next;
	}
	req.headers = parsed.headers;
	req.query = parsed.query;
	req.cookies = parsed.cookies;

	struct response res;
	response_init(&res);
	app_handle(&req, &res);
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%s %s -> %d %.*s\n", method, target, res.status,
			(int)(res.body_len < 160 ? res.body_len : 160), res.body ? res.body : "");
	if (res.status < 200 || res.status > 599)
		fuzz_fail("status %d for %s %s", res.status, method, target);
	if (res.status == HTTP_INTERNAL_ERROR)
		fuzz_fail("500 for %s %s: %.*s", method, target, (int)res.body_len,
			  res.body ? res.body : "");
	if (res.content_type && strstr(res.content_type, "json") && res.body_len &&
	    strcmp(method, "HEAD") != 0) {
		json_t *answer = json_loadb(res.body, res.body_len, 0, NULL);
		if (!answer)
			fuzz_fail("%s %s answered malformed JSON", method, target);
		json_decref(answer);
	}
	response_release(&res);
cleanup:
	for (int i = 0; i < parsed.owned_count; i++)
		free(parsed.owned[i]);
	free(parsed.copy);
	free(body_copy);
	return 0;
}
