/*
 * test_auth_parse.c - who is calling (auth.h): the Authorization header ("Bearer <key>"),
 * the Cookie header (auth_cookie_find: names, quotes, blanks, the first one winning, values
 * too long), the session cookie's name with and without TLS, Argon2id password hashes,
 * e-mail addresses of users (users_email_valid), and auth_authenticate_or_reply() on a real
 * database: sessions and their CSRF token compared exactly (missing, empty, a prefix, one
 * byte off, longer), the Authorization header winning over a cookie, read-only and expired
 * API keys.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/auth_store.h"
#include "crm/db.h"
#include "crm/http.h"
#include "crm/timeutil.h"
#include "crm/users.h"

/* ---------------------------------------------------------------- pure parsing */

static void test_bearer_parse(void)
{
	const char *key = "unset";
	CHECK_INT(0, auth_bearer_parse("Bearer crm_abc", &key));
	CHECK_STR("crm_abc", key);
	CHECK_INT(0, auth_bearer_parse("bearer    crm_abc", &key));
	CHECK_STR("crm_abc", key);
	CHECK_INT(0, auth_bearer_parse("BEARER x y", &key));
	CHECK_STR("x y", key); /* the rest of the value: a key with a space is then wrong */
	CHECK_INT(0, auth_bearer_parse("Bearer ", &key));
	CHECK_STR("", key);

	const char *refused[] = { "Basic dXNlcjpwYXNz", "Bearer", "Bearercrm_abc", "", " Bearer x",
				  "Bearer\tx", "Token crm_abc", NULL };
	for (int i = 0; refused[i]; i++) {
		key = "unset";
		CHECK_INT(-1, auth_bearer_parse(refused[i], &key));
		CHECK(key == NULL);
	}
}

static void test_cookie_find(void)
{
	char out[16];
	CHECK_INT(0, auth_cookie_find("crm_session=abc", "crm_session", out, sizeof(out)));
	CHECK_STR("abc", out);
	CHECK_INT(0, auth_cookie_find("a=1; crm_session=abc; b=2", "crm_session", out, sizeof(out)));
	CHECK_STR("abc", out);
	/* the first one wins; a longer or shorter name is another cookie */
	CHECK_INT(0, auth_cookie_find("xcrm_session=1; crm_sessio=2; crm_session=3; crm_session=4",
				      "crm_session", out, sizeof(out)));
	CHECK_STR("3", out);
	/* blanks around names and values; one pair of quotes removed */
	CHECK_INT(0, auth_cookie_find(" ;\ta = \"quoted\" ;b=2", "a", out, sizeof(out)));
	CHECK_STR("quoted", out);
	CHECK_INT(0, auth_cookie_find("a=\"\"x\"\"", "a", out, sizeof(out)));
	CHECK_STR("\"x\"", out);
	CHECK_INT(0, auth_cookie_find("a=\"", "a", out, sizeof(out))); /* a lone quote stays */
	CHECK_STR("\"", out);
	CHECK_INT(0, auth_cookie_find("a=; b=2", "a", out, sizeof(out)));
	CHECK_STR("", out);
	CHECK_INT(0, auth_cookie_find("a=x=y", "a", out, sizeof(out)));
	CHECK_STR("x=y", out);
	/* names compare exactly (cookie names are case-sensitive) */
	CHECK_INT(-1, auth_cookie_find("CRM_SESSION=abc", "crm_session", out, sizeof(out)));
	CHECK_STR("", out);
	CHECK_INT(-1, auth_cookie_find("", "a", out, sizeof(out)));
	CHECK_INT(-1, auth_cookie_find("a; b", "a", out, sizeof(out)));
	CHECK_INT(-1, auth_cookie_find(";;; ;", "a", out, sizeof(out)));
	CHECK_INT(-1, auth_cookie_find("=abc", "a", out, sizeof(out)));

	/* 15 characters fit 16 bytes, 16 do not (and then out is "") */
	CHECK_INT(0, auth_cookie_find("a=123456789012345", "a", out, sizeof(out)));
	CHECK_STR("123456789012345", out);
	memcpy(out, "garbage", 8);
	CHECK_INT(-2, auth_cookie_find("a=1234567890123456; a=1", "a", out, sizeof(out)));
	CHECK_STR("", out);
	char tiny[1];
	CHECK_INT(-2, auth_cookie_find("a=1", "a", tiny, sizeof(tiny)));
	CHECK_INT(0, auth_cookie_find("a=", "a", tiny, sizeof(tiny)));
	CHECK_STR("", tiny);
}

static void test_session_cookie_name(void)
{
	CHECK_STR(AUTH_SESSION_COOKIE, auth_session_cookie_name());
	auth_set_tls(true);
	CHECK_STR("__Host-crm_session", auth_session_cookie_name());
	auth_set_tls(false);
	CHECK_STR("crm_session", auth_session_cookie_name());
}

static void test_password_hash_and_verify(void)
{
	char hash[128], other[128];
	CHECK_INT(0, auth_password_hash("correct horse", hash));
	CHECK(strncmp(hash, "$argon2id$", 10) == 0);
	CHECK(auth_password_verify(hash, "correct horse"));
	CHECK(!auth_password_verify(hash, "correct horsE"));
	CHECK(!auth_password_verify(hash, "correct horse "));
	CHECK(!auth_password_verify(hash, ""));
	/* salted: the same password hashes differently, and both verify */
	CHECK_INT(0, auth_password_hash("correct horse", other));
	CHECK(strcmp(hash, other) != 0);
	CHECK(auth_password_verify(other, "correct horse"));
	/* no hash (a user without a password): checked against the dummy, never true */
	CHECK(!auth_password_verify("", "correct horse"));
	CHECK(!auth_password_verify(NULL, ""));
	CHECK(!auth_password_verify("$argon2id$garbage", "correct horse"));
}

static void test_user_email_valid(void)
{
	const char *valid[] = { "ann@example.com", "a.b+tag@sub.example.org", "x@y.io",
				"ANN@EXAMPLE.COM", NULL };
	const char *invalid[] = { "", "a@", "@example.com", "ann", "ann@example", "ann@.example.com",
				  "ann@example.", "ann@exa..mple.com", "a@b@example.com",
				  "ann @example.com", "ann@exam ple.com", "<ann>@example.com",
				  "ann@example.com\n", "ann;x@example.com", "\"ann\"@example.com",
				  NULL };
	for (int i = 0; valid[i]; i++) {
		if (!users_email_valid(valid[i]))
			fprintf(stderr, "refused: %s\n", valid[i]);
		CHECK(users_email_valid(valid[i]));
	}
	for (int i = 0; invalid[i]; i++) {
		if (users_email_valid(invalid[i]))
			fprintf(stderr, "accepted: %s\n", invalid[i]);
		CHECK(!users_email_valid(invalid[i]));
	}
	char longest[300];
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + sizeof(longest) - 13, "@example.com", 13);
	CHECK(!users_email_valid(longest));
}

/* ---------------------------------------------------------------- on a database */

/* A request with up to four headers (name, value pairs; NULL name ends them). */
struct fake_request {
	struct request req;
	struct request_value headers[4];
};

static void fake_request_init(struct fake_request *fake, const char *method, const char *name1,
			      const char *value1, const char *name2, const char *value2)
{
	memset(fake, 0, sizeof(*fake));
	fake->req.method = method;
	fake->req.path = "/api/v1/contacts";
	fake->req.body = "";
	fake->req.client_address = "127.0.0.1";
	int count = 0;
	if (name1)
		fake->headers[count++] = (struct request_value){ name1, value1 };
	if (name2)
		fake->headers[count++] = (struct request_value){ name2, value2 };
	fake->req.headers = fake->headers;
	fake->req.header_count = count;
}

/* Runs auth_authenticate_or_reply() and returns the status: 200 when it let the call in. */
static int authenticate(struct db *db, struct fake_request *fake, bool check_csrf,
			struct auth_context *ctx)
{
	struct response res;
	response_init(&res);
	int result = auth_authenticate_or_reply(db, &fake->req, &res, check_csrf, ctx);
	int status = result == 0 ? 200 : res.status;
	if (result == 0 && res.status != HTTP_INTERNAL_ERROR)
		status = -res.status; /* accepted but answered: never expected */
	response_release(&res);
	return status;
}

/* Stores a session for `user_id` with session token `token` and CSRF token `csrf`. */
static int64_t make_session(struct db *db, int64_t user_id, const char *token, const char *csrf)
{
	unsigned char hash[AUTH_HASH_BYTES];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, strlen(token), NULL, 0);
	char now[TIME_RFC3339_SIZE], expires[TIME_RFC3339_SIZE];
	time_t t = time(NULL);
	time_format_rfc3339(t, now);
	time_format_rfc3339(t + 3600, expires);
	int64_t id = 0;
	CHECK_INT(DB_OK, auth_store_session_create(db, user_id, hash, csrf, now, expires,
						   "127.0.0.1", &id));
	return id;
}

static void test_authenticate_sessions_keys_and_csrf(void)
{
	struct db *db = open_fresh_db("auth", true);
	if (!db)
		return;
	struct user_change fields = USER_CHANGE_INIT;
	fields.email = "ann@example.com";
	fields.name = "Ann";
	fields.role = "admin";
	const struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user ann;
	CHECK_INT(DB_OK, users_create(db, &fields, &actor, &ann));

	const char *token = "session-token-0123456789abcdefghijklmnopqrstuv";
	const char *csrf = "csrf-token-0123456789abcdefghijklmnopqrstuvwxyz";
	int64_t session_id = make_session(db, ann.id, token, csrf);
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "theme=dark; crm_session=%s", token);

	struct fake_request fake;
	struct auth_context ctx;
	/* a session: safe methods need no CSRF token */
	fake_request_init(&fake, "GET", "Cookie", cookie, NULL, NULL);
	CHECK_INT(200, authenticate(db, &fake, false, &ctx));
	CHECK_INT(AUTH_METHOD_SESSION, ctx.method);
	CHECK_INT(ann.id, ctx.user_id);
	CHECK_INT(session_id, ctx.session_id);
	CHECK_STR("ann@example.com", ctx.email);
	CHECK_STR("admin", ctx.role);
	CHECK_STR(csrf, ctx.csrf_token);

	/* unsafe methods: the token exactly, nothing near it */
	fake_request_init(&fake, "POST", "Cookie", cookie, NULL, NULL);
	CHECK_INT(403, authenticate(db, &fake, true, &ctx));
	CHECK_INT(AUTH_METHOD_SESSION, ctx.method); /* authenticated, refused for the token */
	char near[80];
	snprintf(near, sizeof(near), "%s", csrf);
	near[strlen(near) - 1] ^= 1; /* one bit off in the last byte */
	char longer[96];
	snprintf(longer, sizeof(longer), "%sx", csrf);
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(csrf) - 1, csrf);
	const char *wrong[] = { "", near, longer, prefix, "csrf", token, NULL };
	for (int i = 0; wrong[i]; i++) {
		fake_request_init(&fake, "POST", "Cookie", cookie, "X-CSRF-Token", wrong[i]);
		CHECK_INT(403, authenticate(db, &fake, true, &ctx));
	}
	fake_request_init(&fake, "DELETE", "cookie", cookie, "x-csrf-token", csrf);
	CHECK_INT(200, authenticate(db, &fake, true, &ctx));
	CHECK_INT(ann.id, ctx.user_id);

	/* a session stored without a CSRF token: an empty header is not equal to it */
	const char *token2 = "session-token-two-0123456789abcdefghijklmnopq";
	make_session(db, ann.id, token2, "");
	snprintf(cookie, sizeof(cookie), "crm_session=%s", token2);
	fake_request_init(&fake, "POST", "Cookie", cookie, "X-CSRF-Token", "");
	CHECK_INT(403, authenticate(db, &fake, true, &ctx));

	/* unknown, too long or absent session cookies; the cookie name under TLS */
	fake_request_init(&fake, "GET", "Cookie", "crm_session=not-a-session", NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	CHECK_INT(AUTH_METHOD_NONE, ctx.method);
	char huge[400];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "crm_session=", 12);
	fake_request_init(&fake, "GET", "Cookie", huge, NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	fake_request_init(&fake, "GET", "Cookie", "theme=dark", NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	snprintf(cookie, sizeof(cookie), "crm_session=%s", token);
	auth_set_tls(true);
	fake_request_init(&fake, "GET", "Cookie", cookie, NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	snprintf(cookie, sizeof(cookie), "__Host-crm_session=%s", token);
	fake_request_init(&fake, "GET", "Cookie", cookie, NULL, NULL);
	CHECK_INT(200, authenticate(db, &fake, false, &ctx));
	auth_set_tls(false);
	snprintf(cookie, sizeof(cookie), "crm_session=%s", token);

	/* API keys: the Authorization header wins over a valid cookie, even a bad one */
	char key[AUTH_KEY_TEXT_SIZE], read_only[AUTH_KEY_TEXT_SIZE], expired[AUTH_KEY_TEXT_SIZE];
	int64_t key_id = 0, other_id = 0;
	CHECK_INT(DB_OK, auth_key_create(db, ann.id, "script", false, NULL, 0, AUDIT_ACTOR_CLI,
					 key, &key_id));
	CHECK(strncmp(key, AUTH_KEY_PREFIX, strlen(AUTH_KEY_PREFIX)) == 0);
	CHECK_INT(DB_OK, auth_key_create(db, ann.id, "reader", true, NULL, 0, AUDIT_ACTOR_CLI,
					 read_only, &other_id));
	CHECK_INT(DB_OK, auth_key_create(db, ann.id, "old", false, "2001-01-01T00:00:00Z", 0,
					 AUDIT_ACTOR_CLI, expired, &other_id));
	char bearer[96];
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	fake_request_init(&fake, "POST", "Authorization", bearer, "Cookie", cookie);
	CHECK_INT(200, authenticate(db, &fake, true, &ctx)); /* keys need no CSRF token */
	CHECK_INT(AUTH_METHOD_API_KEY, ctx.method);
	CHECK_INT(key_id, ctx.key_id);
	CHECK(!ctx.read_only);
	fake_request_init(&fake, "GET", "Authorization", "Basic YW5uOnB3", "Cookie", cookie);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	CHECK_INT(AUTH_METHOD_NONE, ctx.method);
	fake_request_init(&fake, "GET", "Authorization", "Bearer crm_no-such-key", NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));
	snprintf(bearer, sizeof(bearer), "Bearer %s", read_only);
	fake_request_init(&fake, "GET", "Authorization", bearer, NULL, NULL);
	CHECK_INT(200, authenticate(db, &fake, false, &ctx));
	CHECK(ctx.read_only);
	fake_request_init(&fake, "PATCH", "Authorization", bearer, NULL, NULL);
	CHECK_INT(403, authenticate(db, &fake, true, &ctx));
	snprintf(bearer, sizeof(bearer), "Bearer %s", expired);
	fake_request_init(&fake, "GET", "Authorization", bearer, NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));

	/* a revoked session ends at once */
	CHECK_INT(DB_OK, auth_store_session_revoke(db, session_id));
	fake_request_init(&fake, "GET", "Cookie", cookie, NULL, NULL);
	CHECK_INT(401, authenticate(db, &fake, false, &ctx));

	db_close(db);
	remove_db_files();
}

int main(void)
{
	RUN(test_bearer_parse);
	RUN(test_cookie_find);
	RUN(test_session_cookie_name);
	RUN(test_password_hash_and_verify);
	RUN(test_user_email_valid);
	RUN(test_authenticate_sessions_keys_and_csrf);
	return check_finish();
}
