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

/* Set once before serving (main thread), read-only afterwards. */
static bool secure_cookies;
static bool serving_tls;
static int session_idle_seconds = AUTH_SESSION_IDLE_SECONDS;
static int session_absolute_seconds = AUTH_SESSION_ABSOLUTE_SECONDS;

/* ---------------------------------------------------------------- password hashing */

/*
 * At most `hash_slots` Argon2id computations run at once: each needs 64 MiB and a core for a
 * good part of a second. One core's worth of worker threads is kept for the API: with as
 * many slots as cores (and crmd has one worker per core), a flood of logins kept every
 * worker hashing or waiting for a slot, and GET requests got no answer at all for seconds
 * (bench/run.py, "get contact during logins"). So a login does not wait for a slot: when
 * none is free it is answered 503 with Retry-After (login_verify()). Waiting, even a quarter
 * of a second, blocks the worker and every connection it serves as much as hashing does.
 */
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

/* Takes a slot if one is free at once; returns false otherwise. */
static bool hash_slot_try_acquire(void)
{
	pthread_mutex_lock(&hash_lock);
	bool acquired = hash_slots > 0;
	if (acquired)
		hash_slots--;
	pthread_mutex_unlock(&hash_lock);
	return acquired;
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
	hash_slots = cores > 1 ? (int)cores - 1 : 1;
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

void auth_set_tls(bool tls)
{
	serving_tls = tls;
}

const char *auth_session_cookie_name(void)
{
	return serving_tls ? AUTH_SESSION_COOKIE_TLS : AUTH_SESSION_COOKIE;
}

void auth_set_session_limits(int idle_seconds, int absolute_seconds)
{
	session_idle_seconds = idle_seconds > 0 ? idle_seconds : AUTH_SESSION_IDLE_SECONDS;
	session_absolute_seconds =
		absolute_seconds > 0 ? absolute_seconds : AUTH_SESSION_ABSOLUTE_SECONDS;
}

/* last_seen_at is written at most once a minute, and often enough for a short idle limit. */
static int session_touch_seconds(void)
{
	int touch = session_idle_seconds / 10;
	return touch < SESSION_TOUCH_SECONDS ? touch : SESSION_TOUCH_SECONDS;
}

/* ---------------------------------------------------------------- credential parsing */

int auth_bearer_parse(const char *authorization, const char **key)
{
	*key = NULL;
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return -1;
	const char *p = authorization + 7;
	while (*p == ' ')
		p++;
	*key = p;
	return 0;
}

int auth_cookie_find(const char *cookie_header, const char *name, char *out, size_t out_size)
{
	size_t name_len = strlen(name);
	if (out_size)
		out[0] = '\0';
	const char *p = cookie_header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *pair = p;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		p = end;
		const char *equals = memchr(pair, '=', (size_t)(end - pair));
		if (!equals)
			continue;
		const char *name_end = equals;
		while (name_end > pair && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		if ((size_t)(name_end - pair) != name_len || memcmp(pair, name, name_len) != 0)
			continue;
		const char *value = equals + 1;
		const char *value_end = end;
		while (value < value_end && (*value == ' ' || *value == '\t'))
			value++;
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			value_end--;
		if (value_end - value >= 2 && value[0] == '"' && value_end[-1] == '"') {
			value++;
			value_end--;
		}
		size_t len = (size_t)(value_end - value);
		if (len >= out_size)
			return -2;
		memcpy(out, value, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
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

/* auth_password_verify() for a login: 1 right, 0 wrong, -1 no hash slot is free now. */
static int login_verify(const char *hash, const char *password)
{
	auth_init();
	if (!hash || !hash[0])
		hash = dummy_hash;
	if (!hash_slot_try_acquire())
		return -1;
	bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	hash_slot_release();
	return ok ? 1 : 0;
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

/*
 * The session cookie of the request (under the name in use) into `out`: 0 found, -1 none,
 * -2 longer than any token we issue.
 */
static int session_cookie_of(const struct request *req, char out[SECRET_TEXT_MAX])
{
	const char *name = auth_session_cookie_name();
	for (int i = 0; i < req->header_count; i++) {
		if (!req->headers[i].name || !req->headers[i].value ||
		    strcasecmp(req->headers[i].name, "Cookie") != 0)
			continue;
		int found = auth_cookie_find(req->headers[i].value, name, out, SECRET_TEXT_MAX);
		if (found != -1)
			return found;
	}
	out[0] = '\0';
	return -1;
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
	time_ago(now, session_idle_seconds, idle_limit);
	time_ago(now, session_touch_seconds(), touch_before);
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
	char cookie[SECRET_TEXT_MAX];
	int cookie_found = session_cookie_of(req, cookie);
	int result;
	if (authorization) {
		/* An Authorization header wins over a cookie, and a bad one is not ignored. */
		const char *key;
		if (auth_bearer_parse(authorization, &key) != 0) {
			reply_unauthorized(res, "use Authorization: Bearer <API key>");
			return -1;
		}
		result = authenticate_key(db, key, res, ctx);
	} else if (cookie_found == -2) {
		reply_unauthorized(res, "invalid session");
		return -1;
	} else if (cookie_found == 0 && cookie[0]) {
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
	buf_addf(&cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
		 auth_session_cookie_name(), token, token[0] ? session_absolute_seconds : 0,
		 secure_cookies || serving_tls ? "; Secure" : "");
	response_set_header(res, "Set-Cookie", cookie.data);
	buf_release(&cookie);
}

/*
 * The seconds to wait when `subject` has `limit` failures or more within the last
 * `window` seconds; 0 if not.
 */
static int64_t throttle_wait(struct db *db, const char *subject, int limit, int window,
			     time_t now, int *status)
{
	int count;
	int64_t unblocked_at;
	*status = auth_store_failures_check(db, subject, (int64_t)now - window + 1, limit, window,
					    &count, &unblocked_at);
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

/*
 * A login replaces the browser's session: a session cookie sent with the login request is
 * revoked (best effort), so a token planted or seen before the login is worthless after it.
 */
static void revoke_presented_session(struct db *db, const struct request *req)
{
	char token[SECRET_TEXT_MAX];
	if (session_cookie_of(req, token) != 0 || !token[0])
		return;
	unsigned char hash[AUTH_HASH_BYTES];
	secret_hash(token, hash);
	sodium_memzero(token, sizeof(token));
	struct auth_session_record record;
	if (auth_store_session_find(db, hash, &record) == DB_OK && !record.revoked)
		auth_store_session_revoke(db, record.id);
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
	struct buf account = BUF_INIT, address = BUF_INIT, hourly = BUF_INIT;
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
	buf_addf(&hourly, "hourly:%s", account.data);
	int status_account, status_address, status_hourly;
	int64_t wait_account = throttle_wait(db, account.data, AUTH_THROTTLE_ACCOUNT_LIMIT,
					     AUTH_THROTTLE_WINDOW_SECONDS, now, &status_account);
	int64_t wait_address = throttle_wait(db, address.data, AUTH_THROTTLE_ADDRESS_LIMIT,
					     AUTH_THROTTLE_WINDOW_SECONDS, now, &status_address);
	int64_t wait_hourly = throttle_wait(db, hourly.data, AUTH_THROTTLE_HOURLY_LIMIT,
					    AUTH_THROTTLE_HOURLY_WINDOW_SECONDS, now, &status_hourly);
	if (status_account != DB_OK || status_address != DB_OK || status_hourly != DB_OK) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
		goto cleanup;
	}
	int64_t wait = wait_account > wait_address ? wait_account : wait_address;
	if (wait_hourly > wait)
		wait = wait_hourly;
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
	int verified = login_verify(found == DB_OK ? hash : NULL, password);
	sodium_memzero(hash, sizeof(hash));
	if (verified < 0) { /* not counted as a failure: the password was not checked */
		response_set_header(res, "Retry-After", "1");
		response_problem(res, HTTP_SERVICE_UNAVAILABLE,
				 "too many logins at once; try again in a second");
		goto cleanup;
	}
	bool ok = verified == 1;
	if (!ok || found != DB_OK || !user.has_password || user.disabled) {
		/* Rows are kept for the longest window (the hourly cap), which is never cleared
		 * by a success: the 15-minute count is. */
		int64_t forget_before = (int64_t)now - AUTH_THROTTLE_HOURLY_WINDOW_SECONDS;
		auth_store_failures_record(db, account.data, address.data, (int64_t)now,
					   forget_before);
		auth_store_failures_record(db, hourly.data, NULL, (int64_t)now, forget_before);
		reply_unauthorized(res, "wrong email or password");
		goto cleanup;
	}
	auth_store_failures_clear(db, account.data);
	revoke_presented_session(db, req);

	char token[SECRET_TEXT_MAX], csrf[SECRET_TEXT_MAX];
	secret_generate(token);
	secret_generate(csrf);
	unsigned char token_hash[AUTH_HASH_BYTES];
	secret_hash(token, token_hash);
	char now_text[TIME_RFC3339_SIZE], expires[TIME_RFC3339_SIZE];
	time_format_rfc3339(now, now_text);
	time_format_rfc3339(now + session_absolute_seconds, expires);
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
	buf_release(&hourly);
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
