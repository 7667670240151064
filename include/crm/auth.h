/*
 * auth.h - who is calling: passwords (Argon2id), browser sessions with CSRF tokens,
 * API keys, login throttling.
 *
 * Secrets (session tokens, API keys) are random 256-bit values shown to their owner once
 * and stored only as hashes; they are checked against the database on every request, so
 * a disabled user, a revoked key or a revoked session is refused at once, also by a
 * running server.
 */
#ifndef CRM_AUTH_H
#define CRM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crm/http.h"

struct db;

#define AUTH_SESSION_COOKIE "crm_session"
/* The cookie's name over HTTPS: the __Host- prefix makes browsers accept it only when it
 * is Secure, has Path=/ and no Domain, so no other host (a sibling subdomain) can set it. */
#define AUTH_SESSION_COOKIE_TLS "__Host-crm_session"

enum auth_method {
	AUTH_METHOD_NONE,
	AUTH_METHOD_SESSION, /* browser cookie; unsafe methods need the CSRF token */
	AUTH_METHOD_API_KEY, /* Authorization: Bearer <key> */
};

/* The authenticated caller of one request. */
struct auth_context {
	enum auth_method method;
	int64_t user_id;
	char email[256];
	char name[256];
	char role[64];
	char team[128];       /* "" when the user has no team */
	int64_t session_id;   /* AUTH_METHOD_SESSION */
	char csrf_token[72];  /* AUTH_METHOD_SESSION */
	int64_t key_id;       /* AUTH_METHOD_API_KEY */
	bool read_only;       /* a read-only API key */
};

/*
 * Authenticates the request from its session cookie or bearer key. On success fills `ctx`
 * and returns 0. Otherwise answers 401 (with WWW-Authenticate: Bearer) or 403 (missing or
 * wrong CSRF token on an unsafe method with a cookie, when `check_csrf`; a read-only key
 * on an unsafe method) and returns -1.
 */
int auth_authenticate_or_reply(struct db *db, struct request *req, struct response *res,
			       bool check_csrf, struct auth_context *ctx);

/* Registers the /api/v1/auth/... routes. */
struct router;
void auth_routes_register(struct router *router);

struct user;
/*
 * Opens a browser session for `user` (revoking a session cookie the request carried) and
 * answers 200 {"user", "csrf_token"} plus the members of `extra` (consumed; may be NULL)
 * with the session cookie; or 503.
 */
void auth_session_open_reply(struct db *db, struct request *req, struct response *res,
			     const struct user *user, json_t *extra);

/*
 * The login throttle for the second step of a login (two_factor_http.c): the same
 * subjects, limits and rows as a password. take() counts one failure of `email` from
 * `client_address` before the check, or answers 429 (Retry-After) or 503 and returns NULL;
 * done() takes that failure back when `success` (and restarts the pair's count), and frees.
 */
struct auth_login_throttle;
struct auth_login_throttle *auth_login_throttle_take(struct db *db, const char *email,
						     const char *client_address,
						     struct response *res);
void auth_login_throttle_done(struct db *db, struct auth_login_throttle *throttle, bool success);


/* Argon2id (libsodium crypto_pwhash_str, interactive limits or stronger). */
int auth_password_hash(const char *password, char out[128]);
bool auth_password_verify(const char *hash, const char *password);

/*
 * Initialises libsodium, sizes the limit on synchronous Argon2id computations (the number
 * of cores less one, at least one; each takes 64 MiB) and prepares the dummy hash that
 * logins for unknown accounts are checked against. Safe to call more than once; the
 * password functions call it themselves when needed.
 */
void auth_init(void);

/* Logins admitted per hash thread (hashing or waiting); the next one answers 503. */
#define AUTH_LOGIN_QUEUE_PER_THREAD 4
/*
 * Starts the hash threads of crmd (cores - 1, at least one): a login's password check then
 * runs there while its request is suspended (response_suspend), so no HTTP worker waits
 * for Argon2id; a login that finds the hash threads' queue full (AUTH_LOGIN_QUEUE_PER_THREAD
 * each) is answered 503 with Retry-After: 1 at once, before any database work, and not
 * counted as a failure. Without them (crmctl, unit tests) a login hashes in its own thread.
 * Returns 0, or -1 (logged) when no thread can be started.
 */
int auth_hash_threads_start(void);
/*
 * Stops and joins the hash threads after the queue is worked off. Call after
 * http_server_stop() (which waits for every suspended request).
 */
void auth_hash_threads_stop(void);

/* Adds `Secure` to the session cookie (crmd --secure-cookies, behind HTTPS). */
void auth_set_secure_cookies(bool secure);
/*
 * crmd serves HTTPS itself: the session cookie is then Secure and named
 * AUTH_SESSION_COOKIE_TLS, and only that name is accepted. Call before serving.
 */
void auth_set_tls(bool tls);
/* The name of the session cookie in use (AUTH_SESSION_COOKIE or AUTH_SESSION_COOKIE_TLS). */
const char *auth_session_cookie_name(void);

/* Session lifetime: absolute, and since the last request (defaults). */
#define AUTH_SESSION_ABSOLUTE_SECONDS (12 * 3600)
#define AUTH_SESSION_IDLE_SECONDS (30 * 60)
/*
 * Sets the session limits in seconds (crmd --session-idle, --session-lifetime); values
 * below 1 keep the defaults above. Call before serving.
 */
void auth_set_session_limits(int idle_seconds, int absolute_seconds);
/* The idle limit in use: --session-idle, else AUTH_SESSION_IDLE_SECONDS. */
int auth_session_idle_limit(void);

/*
 * Login throttling (issue 16: nobody can lock another's account for long).
 * - Per account and client address: AUTH_THROTTLE_PAIR_LIMIT failures within the window,
 *   then 429 until the oldest leaves it; a success from that address clears the count.
 * - Per client address: AUTH_THROTTLE_ADDRESS_LIMIT failures and refused logins (503, no
 *   place at the hash threads) within the window.
 * - Per account, from anywhere (distributed guessing): the first AUTH_THROTTLE_ACCOUNT_FREE
 *   failures within an hour cost nothing more; after the n-th beyond them, the next
 *   attempt waits 2^n seconds after the latest failure, at most
 *   AUTH_THROTTLE_ACCOUNT_DELAY_MAX (never cleared by a success).
 * Attempts answered 429 are not counted. `crmctl user unlock` forgets an account's counts.
 */
#define AUTH_THROTTLE_WINDOW_SECONDS (15 * 60)
#define AUTH_THROTTLE_PAIR_LIMIT 10
#define AUTH_THROTTLE_ADDRESS_LIMIT 50
#define AUTH_THROTTLE_ACCOUNT_WINDOW_SECONDS 3600
#define AUTH_THROTTLE_ACCOUNT_FREE 20
#define AUTH_THROTTLE_ACCOUNT_DELAY_MAX 120

/* Appends the throttle subject of `email` (without case) from `client_address`. */
struct buf;
void auth_pair_subject(const char *email, const char *client_address, struct buf *out);

/* ---- pure parsing of credentials (no database; exposed for the fuzz harnesses) ---- */

/*
 * Parses an Authorization header value: "Bearer <key>" (scheme without case, spaces
 * before the key skipped). Returns 0 and points *key into `authorization` (the rest of
 * it, maybe empty), or -1 for another scheme.
 */
int auth_bearer_parse(const char *authorization, const char **key);

/*
 * Finds cookie `name` in a Cookie header value ("a=1; b=\"2\""; the first one wins, one
 * pair of surrounding double quotes is removed) and copies its value into `out`.
 * Returns 0 when found, -1 when absent, -2 when the value does not fit `out_size`
 * (then `out` is "").
 */
int auth_cookie_find(const char *cookie_header, const char *name, char *out, size_t out_size);

/*
 * The body of POST /auth/login: a JSON object with exactly the strings "email" (1 to
 * USERS_EMAIL_MAX bytes) and "password" (1 to USERS_PASSWORD_MAX bytes). Returns the
 * parsed body (the caller json_decref()s it; *email and *password point into it), or NULL
 * after answering 415, 400 or 422 in `res`.
 */
json_t *auth_login_body_or_reply(struct request *req, struct response *res,
				 const char **email, const char **password);

/* "crm_" + base64url of 32 random bytes, plus NUL, with room to spare. */
#define AUTH_KEY_TEXT_SIZE 64
#define AUTH_KEY_PREFIX "crm_"

/*
 * Creates an API key for `user_id`: random 256 bits, stored only as a hash, audited as
 * done by `actor_user_id`/`actor`. `expires_at` (RFC 3339) may be NULL for no expiry.
 * Writes the key text (to be shown once) into `key_out` and its id into *id_out.
 * Returns a db_status.
 */
int auth_key_create(struct db *db, int64_t user_id, const char *name, bool read_only,
		    const char *expires_at, int64_t actor_user_id, const char *actor,
		    char key_out[AUTH_KEY_TEXT_SIZE], int64_t *id_out);

#endif
