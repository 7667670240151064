/*
 * auth.c - who is calling: Argon2id passwords (with a limit on concurrent hashes), API
 * keys, browser sessions with CSRF tokens, login throttling, and the /api/v1/auth routes
 * (login, logout, me). The SQL lives in auth_store.c.
 *
 * Every request is checked against the database (no caching), so revoking a key or a
 * session, or disabling a user, takes effect at the very next request.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "crm/app.h"
#include "crm/auth_store.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define SECRET_BYTES 32                  /* 256-bit keys, session tokens and CSRF tokens */
#define SECRET_TEXT_MAX 64               /* base64url of 32 bytes is 43 characters */
#define SESSION_TOUCH_SECONDS 60         /* last_seen_at is written at most once a minute */
#define KEY_TOUCH_SECONDS 60

static bool secure_cookies;

/* ---------------------------------------------------------------- password hashing */

/* At most `hash_slots` Argon2id computations run at once: each needs 64 MiB. */
static pthread_mutex_t hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_available = PTHREAD_COND_INITIALIZER;
static int hash_slots;
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void hash_slot_acquire(void)
{
	pthread_mutex_lock(&hash_lock);
	while (hash_slots <= 0)
		pthread_cond_wait(&hash_available, &hash_lock);
	hash_slots--;
	pthread_mutex_unlock(&hash_lock);
}

static void hash_slot_release(void)
{
	pthread_mutex_lock(&hash_lock);
	hash_slots++;
	pthread_cond_signal(&hash_available);
	pthread_mutex_unlock(&hash_lock);
}

static int raw_password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	hash_slot_acquire();
	int rc = crypto_pwhash_str_alg(out, password, strlen(password),
				       crypto_pwhash_OPSLIMIT_INTERACTIVE,
				       crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13);
	hash_slot_release();
	return rc;
}

static void initialise(void)
{
	if (sodium_init() < 0) {
		log_error("libsodium cannot be initialised");
		abort();
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	hash_slots = cores > 0 ? (int)cores : 1;
	/* Logins for unknown accounts verify against this, so they take as long as others. */
	unsigned char random_password[16];
	char text[sizeof(random_password) * 2 + 1];
	randombytes_buf(random_password, sizeof(random_password));
	sodium_bin2hex(text, sizeof(text), random_password, sizeof(random_password));
	if (raw_password_hash(text, dummy_hash) != 0) {
		log_error("cannot compute the dummy password hash (out of memory?)");
		abort();
	}
	sodium_memzero(text, sizeof(text));
}

void auth_init(void)
{
	pthread_once(&init_once, initialise);
}

void auth_set_secure_cookies(bool secure)
{
	secure_cookies = secure;
}

int auth_password_hash(const char *password, char out[128])
{
	auth_init();
	_Static_assert(crypto_pwhash_STRBYTES <= 128, "hash buffer too small");
	return raw_password_hash(password, out) == 0 ? 0 : -1;
}

bool auth_password_verify(const char *hash, const char *password)
{
	auth_init();
	if (!hash || !hash[0])
		hash = dummy_hash;
	hash_slot_acquire();
	bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	hash_slot_release();
	return ok;
}

/* ---------------------------------------------------------------- secrets */

/* Writes base64url (no padding) of SECRET_BYTES random bytes into `out`. */
static void secret_generate(char out[SECRET_TEXT_MAX])
{
	unsigned char bytes[SECRET_BYTES];
	randombytes_buf(bytes, sizeof(bytes));
	sodium_bin2base64(out, SECRET_TEXT_MAX, bytes, sizeof(bytes),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(bytes, sizeof(bytes));
}

static void secret_hash(const char *secret, unsigned char out[AUTH_HASH_BYTES])
{
	crypto_generichash(out, AUTH_HASH_BYTES, (const unsigned char *)secret, strlen(secret),
			   NULL, 0);
}

/* Constant-time equality of two NUL-terminated tokens (the length is not secret). */
static bool tokens_equal(const char *a, const char *b)
{
	size_t len = strlen(a);
	return len > 0 && len == strlen(b) && sodium_memcmp(a, b, len) == 0;
}

int auth_key_create(struct db *db, int64_t user_id, const char *name, bool read_only,
		    const char *expires_at, int64_t actor_user_id, const char *actor,
		    char key_out[AUTH_KEY_TEXT_SIZE], int64_t *id_out)
{
	auth_init();
	_Static_assert(sizeof(AUTH_KEY_PREFIX) - 1 +
				       sodium_base64_ENCODED_LEN(SECRET_BYTES,
								 sodium_base64_VARIANT_URLSAFE_NO_PADDING) <=
			       AUTH_KEY_TEXT_SIZE,
		       "key buffer too small");
	char secret[SECRET_TEXT_MAX];
	secret_generate(secret); /* 43 characters */
	memcpy(key_out, AUTH_KEY_PREFIX, sizeof(AUTH_KEY_PREFIX) - 1);
	memcpy(key_out + sizeof(AUTH_KEY_PREFIX) - 1, secret, strlen(secret) + 1);
	sodium_memzero(secret, sizeof(secret));
	unsigned char hash[AUTH_HASH_BYTES];
	secret_hash(key_out, hash);
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%.12s", key_out); /* "crm_" + 8: enough to recognise */
	int status = auth_store_key_create(db, user_id, name, prefix, hash, read_only, expires_at,
					   actor_user_id, actor, id_out);
	if (status != DB_OK)
		sodium_memzero(key_out, AUTH_KEY_TEXT_SIZE);
	return status;
}

/* ---------------------------------------------------------------- authentication */

static bool is_unsafe_method(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static void reply_unauthorized(struct response *res, const char *detail)
{
	response_set_header(res, "WWW-Authenticate", "Bearer");
	response_problem(res, HTTP_UNAUTHORIZED, detail);
}

static void context_from_principal(struct auth_context *ctx, const struct auth_principal *user)
{
	ctx->user_id = user->user_id;
	snprintf(ctx->email, sizeof(ctx->email), "%s", user->email);
	snprintf(ctx->name, sizeof(ctx->name), "%s", user->name);
	snprintf(ctx->role, sizeof(ctx->role), "%s", user->role);
	snprintf(ctx->team, sizeof(ctx->team), "%s", user->team);
}

/* "now minus `seconds`" as RFC 3339, for comparing with stored timestamps. */
static void time_ago(time_t now, int seconds, char out[TIME_RFC3339_SIZE])
{
	time_format_rfc3339(now - seconds, out);
}

static int authenticate_key(struct db *db, const char *key, struct response *res,
			    struct auth_context *ctx)
{
	size_t len = strlen(key);
	if (len < strlen(AUTH_KEY_PREFIX) + 8 || len >= AUTH_KEY_TEXT_SIZE) {
		reply_unauthorized(res, "invalid API key");
		return -1;
	}
	unsigned char hash[AUTH_HASH_BYTES];
	secret_hash(key, hash);
	struct auth_key_record record;
	int status = auth_store_key_find(db, hash, &record);
	if (status == DB_ERROR || status == DB_BUSY) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		return -1;
	}
	if (status != DB_OK || sodium_memcmp(hash, record.hash, AUTH_HASH_BYTES) != 0) {
		reply_unauthorized(res, "invalid API key");
		return -1;
	}
	time_t now = time(NULL);
	char now_text[TIME_RFC3339_SIZE];
	time_format_rfc3339(now, now_text);
	if (record.revoked) {
		reply_unauthorized(res, "this API key has been revoked");
		return -1;
	}
	if (record.expires_at[0] && strcmp(record.expires_at, now_text) <= 0) {
		reply_unauthorized(res, "this API key has expired");
		return -1;
	}
	if (record.user.disabled) {
		reply_unauthorized(res, "this account is disabled");
		return -1;
	}
	char touch_before[TIME_RFC3339_SIZE];
	time_ago(now, KEY_TOUCH_SECONDS, touch_before);
	if (strcmp(record.last_used_at, touch_before) < 0)
		auth_store_key_touch(db, record.id, now_text); /* best effort */
	ctx->method = AUTH_METHOD_API_KEY;
	ctx->key_id = record.id;
	ctx->read_only = record.read_only;
	context_from_principal(ctx, &record.user);
	return 0;
}

static int authenticate_session(struct db *db, const char *token, struct response *res,
				struct auth_context *ctx)
{
	if (strlen(token) >= SECRET_TEXT_MAX) {
		reply_unauthorized(res, "invalid session");
		return -1;
	}
	unsigned char hash[AUTH_HASH_BYTES];
	secret_hash(token, hash);
	struct auth_session_record record;
	int status = auth_store_session_find(db, hash, &record);
	if (status == DB_ERROR || status == DB_BUSY) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		return -1;
	}
	if (status != DB_OK || sodium_memcmp(hash, record.hash, AUTH_HASH_BYTES) != 0) {
		reply_unauthorized(res, "invalid session; log in again");
		return -1;
	}
	time_t now = time(NULL);
	char now_text[TIME_RFC3339_SIZE], idle_limit[TIME_RFC3339_SIZE],
		touch_before[TIME_RFC3339_SIZE];
	time_format_rfc3339(now, now_text);
	time_ago(now, AUTH_SESSION_IDLE_SECONDS, idle_limit);
	time_ago(now, SESSION_TOUCH_SECONDS, touch_before);
	if (record.revoked || strcmp(record.expires_at, now_text) <= 0 ||
	    strcmp(record.last_seen_at, idle_limit) < 0) {
		reply_unauthorized(res, "the session has ended; log in again");
		return -1;
	}
	if (record.user.disabled) {
		reply_unauthorized(res, "this account is disabled");
		return -1;
	}
	if (strcmp(record.last_seen_at, touch_before) < 0)
		auth_store_session_touch(db, record.id, now_text); /* best effort */
	ctx->method = AUTH_METHOD_SESSION;
	ctx->session_id = record.id;
	snprintf(ctx->csrf_token, sizeof(ctx->csrf_token), "%s", record.csrf_token);
	context_from_principal(ctx, &record.user);
	return 0;
}

int auth_authenticate_or_reply(struct db *db, struct request *req, struct response *res,
			       bool check_csrf, struct auth_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	const char *authorization = request_header(req, "Authorization");
	const char *cookie = request_cookie(req, AUTH_SESSION_COOKIE);
	int result;
	if (authorization) {
		/* An Authorization header wins over a cookie, and a bad one is not ignored. */
		if (strncasecmp(authorization, "Bearer ", 7) != 0) {
			reply_unauthorized(res, "use Authorization: Bearer <API key>");
			return -1;
		}
		const char *key = authorization + 7;
		while (*key == ' ')
			key++;
		result = authenticate_key(db, key, res, ctx);
	} else if (cookie && cookie[0]) {
		result = authenticate_session(db, cookie, res, ctx);
	} else {
		reply_unauthorized(res, "authentication required: log in or send a bearer API key");
		return -1;
	}
	if (result != 0) {
		memset(ctx, 0, sizeof(*ctx));
		return -1;
	}
	if (ctx->method == AUTH_METHOD_API_KEY && ctx->read_only && is_unsafe_method(req->method)) {
		response_problem(res, HTTP_FORBIDDEN, "this API key is read-only");
		return -1;
	}
	if (ctx->method == AUTH_METHOD_SESSION && check_csrf) {
		const char *sent = request_header(req, "X-CSRF-Token");
		if (!sent || !tokens_equal(ctx->csrf_token, sent)) {
			response_problem(res, HTTP_FORBIDDEN,
					 "missing or wrong X-CSRF-Token header for this session");
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- /api/v1/auth routes */

/* Sets the session cookie; an empty token clears it. */
static void set_session_cookie(struct response *res, const char *token)
{
	struct buf cookie = BUF_INIT;
	buf_addf(&cookie, AUTH_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
		 token, token[0] ? AUTH_SESSION_ABSOLUTE_SECONDS : 0,
		 secure_cookies ? "; Secure" : "");
	response_set_header(res, "Set-Cookie", cookie.data);
	buf_release(&cookie);
}

/* The seconds to wait when `subject` is over `limit` failures in the window; 0 if not. */
static int64_t throttle_wait(struct db *db, const char *subject, int limit, time_t now,
			     int *status)
{
	int count;
	int64_t unblocked_at;
	*status = auth_store_failures_check(db, subject, (int64_t)now - AUTH_THROTTLE_WINDOW_SECONDS + 1,
					    limit, AUTH_THROTTLE_WINDOW_SECONDS, &count,
					    &unblocked_at);
	if (*status != DB_OK || count < limit)
		return 0;
	int64_t wait = unblocked_at - (int64_t)now;
	return wait > 0 ? wait : 1;
}

/* "account:<email in lower case>" (e-mail addresses compare without case here). */
static void account_subject(const char *email, struct buf *out)
{
	buf_adds(out, "account:");
	for (const char *p = email; *p; p++)
		buf_addch(out, (char)tolower((unsigned char)*p));
}

static void handle_login(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { 0 };
	struct buf account = BUF_INIT, address = BUF_INIT;
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		if (strcmp(key, "email") != 0 && strcmp(key, "password") != 0)
			field_errors_add(&errors, key, "unknown field");
	}
	const char *email = json_string_value(json_object_get(body, "email"));
	const char *password = json_string_value(json_object_get(body, "password"));
	if (!email || !email[0] || strlen(email) > USERS_EMAIL_MAX)
		field_errors_add(&errors, "email", "required: the account's e-mail address");
	if (!password || !password[0] || strlen(password) > USERS_PASSWORD_MAX)
		field_errors_add(&errors, "password", "required: a string of at most %d bytes",
				 USERS_PASSWORD_MAX);
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		goto cleanup;
	}

	time_t now = time(NULL);
	account_subject(email, &account);
	buf_addf(&address, "address:%s", req->client_address);
	int status_account, status_address;
	int64_t wait_account = throttle_wait(db, account.data, AUTH_THROTTLE_ACCOUNT_LIMIT, now,
					     &status_account);
	int64_t wait_address = throttle_wait(db, address.data, AUTH_THROTTLE_ADDRESS_LIMIT, now,
					     &status_address);
	if (status_account != DB_OK || status_address != DB_OK) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		goto cleanup;
	}
	int64_t wait = wait_account > wait_address ? wait_account : wait_address;
	if (wait > 0) {
		char seconds[24];
		snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
		response_set_header(res, "Retry-After", seconds);
		response_problemf(res, HTTP_TOO_MANY_REQUESTS,
				  "too many failed logins; try again in %lld seconds", (long long)wait);
		goto cleanup;
	}

	struct user user;
	char hash[256] = "";
	int found = users_store_get_by_email(db, email, &user, hash, sizeof(hash));
	if (found != DB_OK && found != DB_NOT_FOUND) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		goto cleanup;
	}
	/* Unknown account, no password, disabled or wrong password: the same work, the
	 * same answer. */
	bool ok = auth_password_verify(found == DB_OK ? hash : NULL, password);
	sodium_memzero(hash, sizeof(hash));
	if (!ok || found != DB_OK || !user.has_password || user.disabled) {
		auth_store_failures_record(db, account.data, address.data, (int64_t)now,
					   (int64_t)now - AUTH_THROTTLE_WINDOW_SECONDS);
		reply_unauthorized(res, "wrong email or password");
		goto cleanup;
	}
	auth_store_failures_clear(db, account.data);

	char token[SECRET_TEXT_MAX], csrf[SECRET_TEXT_MAX];
	secret_generate(token);
	secret_generate(csrf);
	unsigned char token_hash[AUTH_HASH_BYTES];
	secret_hash(token, token_hash);
	char now_text[TIME_RFC3339_SIZE], expires[TIME_RFC3339_SIZE];
	time_format_rfc3339(now, now_text);
	time_format_rfc3339(now + AUTH_SESSION_ABSOLUTE_SECONDS, expires);
	int64_t session_id;
	if (auth_store_session_create(db, user.id, token_hash, csrf, now_text, expires,
				      req->client_address, &session_id) != DB_OK) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the session cannot be stored");
		goto cleanup;
	}
	set_session_cookie(res, token);
	sodium_memzero(token, sizeof(token));
	req->log_user_id = user.id;
	response_json(res, HTTP_OK,
		      json_pack("{s:o, s:s}", "user", users_user_to_json(&user), "csrf_token", csrf));
cleanup:
	field_errors_release(&errors);
	buf_release(&account);
	buf_release(&address);
	json_decref(body);
}

static void handle_logout(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (req->auth->method == AUTH_METHOD_SESSION) {
		if (auth_store_session_revoke(db, req->auth->session_id) != DB_OK) {
			response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the session cannot be revoked");
			return;
		}
		set_session_cookie(res, "");
	}
	response_set_static_body(res, HTTP_NO_CONTENT, "application/json", "", 0);
}

static void handle_me(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct user user;
	int status = users_store_get(db, req->auth->user_id, &user);
	if (status == DB_NOT_FOUND) {
		reply_unauthorized(res, "the account no longer exists");
		return;
	}
	if (status != DB_OK) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		return;
	}
	json_t *answer = json_pack("{s:o}", "user", users_user_to_json(&user));
	if (req->auth->method == AUTH_METHOD_SESSION)
		json_object_set_new(answer, "csrf_token", json_string(req->auth->csrf_token));
	else
		json_object_set_new(answer, "read_only", json_boolean(req->auth->read_only));
	response_json(res, HTTP_OK, answer);
}

void auth_routes_register(struct router *router)
{
	router_add(router, "POST", "/api/v1/auth/login", handle_login, ROUTE_PUBLIC | ROUTE_NO_CSRF);
	router_add(router, "POST", "/api/v1/auth/logout", handle_logout, 0);
	router_add(router, "GET", "/api/v1/auth/me", handle_me, 0);
}
