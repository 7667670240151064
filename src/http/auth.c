/*
 * auth.c - who is calling: Argon2id passwords (with a limit on concurrent hashes), API
 * keys, browser sessions with CSRF tokens, login throttling, and the /api/v1/auth routes
 * (login, logout, me). The SQL lives in auth_store.c. In crmd a login's password check runs
 * on the hash threads, its connection suspended meanwhile, so no worker ever waits for it.
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
#include "crm/credentials.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/log.h"
#include "crm/login_queue.h"
#include "crm/perm.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/two_factor.h"
#include "crm/two_factor_http.h"
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
 * Argon2id takes 64 MiB and a core for a tenth to a fifth of a second. A worker thread that
 * hashes stalls every connection libmicrohttpd gave it, so in crmd a login's hash runs on
 * the hash threads (cores - 1 of them, at least one: a core's worth of CPU stays with the
 * API) while its connection is suspended (response_suspend). At most
 * AUTH_LOGIN_QUEUE_PER_THREAD logins per hash thread are admitted (hashing or queued), the
 * places shared fairly among client addresses (login_queue.h): another login is answered
 * 503 with Retry-After at once, and that refusal counts toward its address's throttle.
 *
 * The rare other hashes (crmctl, an admin creating a user or setting a password) stay
 * synchronous in their thread, at most `hash_slots` of them at once.
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

/* The number of hash threads (and synchronous hash slots): cores - 1, at least 1. */
static int hash_thread_count(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 1 ? (int)cores - 1 : 1;
}

#define LOGIN_THROTTLE_RULES 3 /* per account and address, per address, per account */

/* One login's password check, handed from a worker to a hash thread and back. */
struct login_job {
	struct http_resumer *resumer;  /* set when queued */
	char hash[256];                /* the stored hash; "" for no account or no password */
	char *password;                /* copy, wiped when freed */
	int verified;                  /* by the hash thread: 1 right, 0 wrong; -1 refused */
	bool found;                    /* the account exists */
	struct user user;
	char *pair, *address, *account; /* the throttle subjects; `address` is also the queue's */
	int64_t failure_ids[LOGIN_THROTTLE_RULES]; /* the provisional failure rows */
};

/* The hash threads and their fair queue: a place is held from login_admission_take() to
 * the end of the login's hash. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t queued;
	pthread_t *threads;
	int thread_count; /* 0: not started (crmctl, tests): logins hash in their thread */
	bool stopping;
	struct login_queue queue;
} hash_pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .queued = PTHREAD_COND_INITIALIZER };

static void login_job_free(void *context)
{
	struct login_job *job = context;
	if (!job)
		return;
	sodium_memzero(job->hash, sizeof(job->hash));
	if (job->password) {
		sodium_memzero(job->password, strlen(job->password));
		free(job->password);
	}
	free(job->pair);
	free(job->address);
	free(job->account);
	free(job);
}

static bool login_job_check(struct login_job *job)
{
	const char *hash = job->hash[0] ? job->hash : dummy_hash;
	return crypto_pwhash_str_verify(hash, job->password, strlen(job->password)) == 0;
}

static void *hash_thread_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&hash_pool.lock);
	for (;;) {
		struct login_job *job;
		while (!(job = login_queue_pop(&hash_pool.queue)) && !hash_pool.stopping)
			pthread_cond_wait(&hash_pool.queued, &hash_pool.lock);
		if (!job)
			break; /* stopping, and nothing left */
		pthread_mutex_unlock(&hash_pool.lock);
		job->verified = login_job_check(job) ? 1 : 0;
		struct http_resumer *resumer = job->resumer; /* the job may be freed after resume */
		pthread_mutex_lock(&hash_pool.lock);
		login_queue_done(&hash_pool.queue, job->address);
		pthread_mutex_unlock(&hash_pool.lock);
		http_resume(resumer);
		pthread_mutex_lock(&hash_pool.lock);
	}
	pthread_mutex_unlock(&hash_pool.lock);
	return NULL;
}

/*
 * Admits `job` to the hash threads: 1 admitted (then login_job_start() or
 * login_admission_return() must follow), 0 no hash threads (hash in this thread), -1 no
 * place for its address now. A waiting login whose place it took is answered as refused.
 */
static int login_admission_take(struct login_job *job)
{
	pthread_mutex_lock(&hash_pool.lock);
	int result = 0;
	struct login_job *evicted = NULL;
	if (hash_pool.thread_count > 0) {
		void *taken = NULL;
		result = login_queue_admit(&hash_pool.queue, job->address, &taken) ? 1 : -1;
		evicted = taken;
	}
	pthread_mutex_unlock(&hash_pool.lock);
	if (evicted) {
		evicted->verified = -1;
		http_resume(evicted->resumer);
	}
	return result;
}

/* Gives back an admission that will not be used (the login was refused before its hash). */
static void login_admission_return(struct login_job *job)
{
	pthread_mutex_lock(&hash_pool.lock);
	login_queue_done(&hash_pool.queue, job->address);
	pthread_mutex_unlock(&hash_pool.lock);
}

/* The `start` of response_suspend(): queues the job for the hash threads. */
static void login_job_start(void *context, struct http_resumer *resumer)
{
	struct login_job *job = context;
	job->resumer = resumer;
	pthread_mutex_lock(&hash_pool.lock);
	login_queue_push(&hash_pool.queue, job->address, job);
	pthread_cond_signal(&hash_pool.queued);
	pthread_mutex_unlock(&hash_pool.lock);
}

int auth_hash_threads_start(void)
{
	auth_init();
	pthread_mutex_lock(&hash_pool.lock);
	bool started = hash_pool.thread_count > 0;
	pthread_mutex_unlock(&hash_pool.lock);
	if (started)
		return 0;
	int count = hash_thread_count();
	pthread_t *threads = xcalloc((size_t)count, sizeof(*threads));
	int running = 0;
	hash_pool.stopping = false;
	while (running < count && pthread_create(&threads[running], NULL, hash_thread_main, NULL) == 0)
		running++;
	if (running == 0) {
		free(threads);
		log_error("cannot start the password hash threads");
		return -1;
	}
	pthread_mutex_lock(&hash_pool.lock);
	hash_pool.threads = threads;
	hash_pool.thread_count = running;
	login_queue_release(&hash_pool.queue);
	login_queue_init(&hash_pool.queue, running * AUTH_LOGIN_QUEUE_PER_THREAD);
	pthread_mutex_unlock(&hash_pool.lock);
	return 0;
}

void auth_hash_threads_stop(void)
{
	pthread_mutex_lock(&hash_pool.lock);
	int count = hash_pool.thread_count;
	pthread_t *threads = hash_pool.threads;
	hash_pool.stopping = true;
	hash_pool.thread_count = 0; /* logins from now on hash in their own thread */
	pthread_cond_broadcast(&hash_pool.queued);
	pthread_mutex_unlock(&hash_pool.lock);
	for (int i = 0; i < count; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_lock(&hash_pool.lock);
	hash_pool.threads = NULL;
	login_queue_release(&hash_pool.queue);
	pthread_mutex_unlock(&hash_pool.lock);
}

static void initialise(void)
{
	if (sodium_init() < 0) {
		log_error("libsodium cannot be initialised");
		abort();
	}
	hash_slots = hash_thread_count();
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

int auth_session_idle_limit(void)
{
	return session_idle_seconds;
}

/* last_seen_at is written at most once a minute, and often enough for a short idle limit. */
static int session_touch_seconds(void)
{
	int touch = session_idle_seconds / 10;
	return touch < SESSION_TOUCH_SECONDS ? touch : SESSION_TOUCH_SECONDS;
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

/*
 * A login's check in the calling thread, without hash threads (crmctl, the tests of the
 * handlers): 1 right, 0 wrong, -1 no hash slot is free now.
 */
static int login_verify_here(struct login_job *job)
{
	if (!hash_slot_try_acquire())
		return -1;
	bool ok = login_job_check(job);
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
	int status = credentials_key_create(db, user_id, name, prefix, hash, read_only, expires_at,
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
		response_unavailable(res, "the database does not answer");
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
		response_unavailable(res, "the database does not answer");
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

/* "account:<email in lower case>" (e-mail addresses compare without case here). */
static void account_subject(const char *email, struct buf *out)
{
	buf_adds(out, "account:");
	for (const char *p = email; *p; p++)
		buf_addch(out, (char)tolower((unsigned char)*p));
}

void auth_pair_subject(const char *email, const char *client_address, struct buf *out)
{
	buf_adds(out, "pair:");
	for (const char *p = email; *p; p++)
		buf_addch(out, (char)tolower((unsigned char)*p));
	buf_addf(out, "|%s", client_address);
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

/*
 * 503 with Retry-After: no room for another login's hash now. Not a failed login, but it
 * counts toward the throttle of its address (`address_subject`), so that one address
 * cannot keep the hash threads busy with refusals either. Recorded only while the address
 * is under its limit (a read, then a write), so a flood costs at most
 * AUTH_THROTTLE_ADDRESS_LIMIT writes per address and window. Best effort.
 */
static void reply_logins_busy(struct db *db, const char *address_subject, struct response *res)
{
	int64_t now = (int64_t)time(NULL), unblocked_at;
	int count;
	if (db && address_subject &&
	    auth_store_failures_check(db, address_subject, now - AUTH_THROTTLE_WINDOW_SECONDS + 1,
				      AUTH_THROTTLE_ADDRESS_LIMIT, AUTH_THROTTLE_WINDOW_SECONDS,
				      &count, &unblocked_at) == DB_OK &&
	    count < AUTH_THROTTLE_ADDRESS_LIMIT)
		auth_store_failure_record(db, address_subject, now);
	response_unavailable(res, "too many logins at once; try again in a second");
}

/*
 * The second half of a login, once its password was checked (job->verified): records a
 * failure, or opens the session. Runs in a worker thread.
 */
static void login_finish(struct request *req, struct response *res, struct login_job *job)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	const struct user *user = &job->user;
	if (job->verified < 0) { /* its place went to another address's login: not checked */
		auth_store_failures_release(db, job->failure_ids, LOGIN_THROTTLE_RULES);
		reply_logins_busy(db, job->address, res);
		return;
	}
	/* Unknown account, no password, disabled or wrong password: the same work, the same
	 * answer. The failure was recorded before the hash (login_throttle_reserve). */
	if (job->verified != 1 || !job->found || !user->has_password || user->disabled) {
		reply_unauthorized(res, "wrong email or password");
		return;
	}
	/* Not a failure after all; the count of this account from this address restarts (the
	 * account's own count is never cleared by a success, so that an attacker's guesses
	 * from elsewhere do not start afresh). Best effort: left over rows only throttle. */
	auth_store_failures_release(db, job->failure_ids, LOGIN_THROTTLE_RULES);
	const char *second_step;
	if (two_factor_login_step(db, user->id, user->role, &second_step) != 0) {
		response_unavailable(res, "the database does not answer");
	} else if (second_step) { /* no session yet, and the count of the pair goes on */
		two_factor_login_challenge_reply(db, res, user, second_step);
	} else {
		auth_store_failures_clear(db, job->pair);
		auth_session_open_reply(db, req, res, user, NULL);
	}
}

void auth_session_open_reply(struct db *db, struct request *req, struct response *res,
			     const struct user *user, json_t *extra)
{
	time_t now = time(NULL);
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
	if (auth_store_session_create(db, user->id, token_hash, csrf, now_text, expires,
				      req->client_address, &session_id) != DB_OK) {
		json_decref(extra);
		response_unavailable(res, "the session cannot be stored");
		return;
	}
	set_session_cookie(res, token);
	sodium_memzero(token, sizeof(token));
	req->log_user_id = user->id;
	json_t *answer =
		json_pack("{s:o, s:s}", "user", users_user_to_json(user), "csrf_token", csrf);
	if (extra)
		json_object_update_missing(answer, extra);
	json_decref(extra);
	response_json(res, HTTP_OK, answer);
}

/*
 * Applies the throttle to this login in one write transaction: the wait it imposes (0:
 * none), or -1 after answering 503 because the database does not answer. When there is no
 * wait, a failure is recorded for each subject before the password is checked (so that
 * concurrent attempts count it), and taken back if the login succeeds.
 */
static int64_t login_throttle_reserve(struct db *db, struct login_job *job, time_t now,
				      struct response *res)
{
	const struct auth_throttle_rule rules[LOGIN_THROTTLE_RULES] = {
		{ job->pair, AUTH_THROTTLE_PAIR_LIMIT, AUTH_THROTTLE_WINDOW_SECONDS, 0 },
		{ job->address, AUTH_THROTTLE_ADDRESS_LIMIT, AUTH_THROTTLE_WINDOW_SECONDS, 0 },
		{ job->account, AUTH_THROTTLE_ACCOUNT_FREE, AUTH_THROTTLE_ACCOUNT_WINDOW_SECONDS,
		  AUTH_THROTTLE_ACCOUNT_DELAY_MAX },
	};
	/* Rows are kept for the longest window (the account's). */
	int64_t forget_before = (int64_t)now - AUTH_THROTTLE_ACCOUNT_WINDOW_SECONDS;
	int64_t wait;
	if (auth_store_failures_reserve(db, rules, LOGIN_THROTTLE_RULES, (int64_t)now,
					forget_before, &wait, job->failure_ids) != DB_OK) {
		response_unavailable(res, "the login attempt cannot be recorded; try again later");
		return -1;
	}
	return wait;
}

static void reply_throttled(struct response *res, int64_t wait)
{
	char seconds[24];
	snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
	response_set_header(res, "Retry-After", seconds);
	response_problemf(res, HTTP_TOO_MANY_REQUESTS,
			  "too many failed logins; try again in %lld seconds", (long long)wait);
}

/* The job of a login: the password and throttle subjects copied (who frees: login_job_free). */
static struct login_job *login_job_new(const char *email, const char *password,
				       const char *client_address)
{
	struct login_job *job = xcalloc(1, sizeof(*job));
	job->password = xstrdup(password);
	struct buf account = BUF_INIT, address = BUF_INIT, pair = BUF_INIT;
	account_subject(email, &account);
	buf_addf(&address, "address:%s", client_address);
	auth_pair_subject(email, client_address, &pair);
	job->account = buf_detach(&account, NULL);
	job->address = buf_detach(&address, NULL);
	job->pair = buf_detach(&pair, NULL);
	return job;
}

/* The second step of a login is throttled with the first's subjects, limits and rows. */
struct auth_login_throttle *auth_login_throttle_take(struct db *db, const char *email,
						     const char *client_address,
						     struct response *res)
{
	struct login_job *job = login_job_new(email, "", client_address);
	int64_t wait = login_throttle_reserve(db, job, time(NULL), res);
	if (wait > 0)
		reply_throttled(res, wait);
	if (wait != 0) {
		login_job_free(job);
		return NULL;
	}
	return (struct auth_login_throttle *)job;
}

void auth_login_throttle_done(struct db *db, struct auth_login_throttle *throttle, bool success)
{
	struct login_job *job = (struct login_job *)throttle;
	if (job && success) {
		auth_store_failures_release(db, job->failure_ids, LOGIN_THROTTLE_RULES);
		auth_store_failures_clear(db, job->pair);
	}
	login_job_free(job);
}

json_t *auth_login_body_or_reply(struct request *req, struct response *res,
				 const char **email, const char **password)
{
	*email = *password = NULL;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return NULL;
	struct field_errors errors = { 0 };
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		if (strcmp(key, "email") != 0 && strcmp(key, "password") != 0)
			field_errors_add(&errors, key, "unknown field");
	}
	const char *given_email = json_string_value(json_object_get(body, "email"));
	const char *given_password = json_string_value(json_object_get(body, "password"));
	if (!given_email || !given_email[0] || strlen(given_email) > USERS_EMAIL_MAX)
		field_errors_add(&errors, "email", "required: the account's e-mail address");
	if (!given_password || !given_password[0] || strlen(given_password) > USERS_PASSWORD_MAX)
		field_errors_add(&errors, "password", "required: a string of at most %d bytes",
				 USERS_PASSWORD_MAX);
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		field_errors_release(&errors);
		json_decref(body);
		return NULL;
	}
	field_errors_release(&errors);
	*email = given_email;
	*password = given_password;
	return body;
}

/*
 * POST /auth/login. The first call checks the request, takes a place at the hash threads
 * (or answers 503 at once), applies the throttle and reads the account, then suspends the
 * request while a hash thread checks the password; the second call (req->resumed) answers.
 */
static void handle_login(struct request *req, struct response *res)
{
	if (req->resumed) {
		login_finish(req, res, req->resumed);
		return;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	const char *email, *password;
	json_t *body = auth_login_body_or_reply(req, res, &email, &password);
	if (!body)
		return;
	struct login_job *job = login_job_new(email, password, req->client_address);
	int admission = login_admission_take(job);
	if (admission < 0) {
		reply_logins_busy(db, job->address, res);
		goto cleanup;
	}

	time_t now = time(NULL);
	int64_t wait = login_throttle_reserve(db, job, now, res);
	if (wait < 0)
		goto cleanup;
	if (wait > 0) {
		reply_throttled(res, wait);
		goto cleanup;
	}
	int found = users_store_get_by_email(db, email, &job->user, job->hash, sizeof(job->hash));
	if (found != DB_OK && found != DB_NOT_FOUND) {
		auth_store_failures_release(db, job->failure_ids, LOGIN_THROTTLE_RULES);
		response_unavailable(res, "the database does not answer");
		goto cleanup;
	}
	job->found = found == DB_OK;
	if (!job->found)
		job->hash[0] = '\0';
	if (admission > 0) {
		response_suspend(res, login_job_start, login_job_free, job);
		job = NULL;    /* the server's now */
		admission = 0; /* the hash thread gives it back */
		goto cleanup;
	}
	job->verified = login_verify_here(job);
	if (job->verified < 0) { /* not counted as a failure: the password was not checked */
		auth_store_failures_release(db, job->failure_ids, LOGIN_THROTTLE_RULES);
		reply_logins_busy(db, job->address, res);
	} else {
		login_finish(req, res, job);
	}
cleanup:
	if (admission > 0)
		login_admission_return(job);
	login_job_free(job);
	json_decref(body);
}

static void handle_logout(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (req->auth->method == AUTH_METHOD_SESSION) {
		if (auth_store_session_revoke(db, req->auth->session_id) != DB_OK) {
			response_unavailable(res, "the session cannot be revoked");
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
		response_unavailable(res, "the database does not answer");
		return;
	}
	json_t *answer = json_pack("{s:o, s:o}", "user", users_user_to_json(&user), "permissions",
				   perm_caller_scopes(db, req->auth));
	if (req->auth->method == AUTH_METHOD_SESSION)
		json_object_set_new(answer, "csrf_token", json_string(req->auth->csrf_token));
	else
		json_object_set_new(answer, "read_only", json_boolean(req->auth->read_only));
	response_json(res, HTTP_OK, answer);
}

/*
 * GET auth/session (public): the browser's question "am I logged in?" asked without an
 * error: the auth/me answer for a valid session or key, else 200 {"user":null}, and a
 * session cookie that no longer works is cleared. A database failure stays a 503.
 */
static void handle_session(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct response refusal;
	response_init(&refusal);
	struct auth_context caller;
	int result = auth_authenticate_or_reply(db, req, &refusal, false, &caller);
	int refusal_status = refusal.status;
	response_release(&refusal);
	if (result == 0) {
		req->auth = &caller;
		req->log_user_id = caller.user_id;
		handle_me(req, res);
		req->auth = NULL;
		return;
	}
	if (refusal_status != HTTP_UNAUTHORIZED) {
		response_unavailable(res, "the database does not answer");
		return;
	}
	char cookie[SECRET_TEXT_MAX];
	if (session_cookie_of(req, cookie) != -1)
		set_session_cookie(res, "");
	response_json(res, HTTP_OK, json_pack("{s:n}", "user"));
}

void auth_routes_register(struct router *router)
{
	router_add(router, "POST", "/api/v1/auth/login", handle_login, ROUTE_PUBLIC | ROUTE_NO_CSRF);
	router_add(router, "POST", "/api/v1/auth/logout", handle_logout, 0);
	router_add(router, "GET", "/api/v1/auth/me", handle_me, 0);
	router_add(router, "GET", "/api/v1/auth/session", handle_session, ROUTE_PUBLIC);
}
