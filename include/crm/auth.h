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
#include <stdint.h>

#include "crm/http.h"

struct db;

#define AUTH_SESSION_COOKIE "crm_session"

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

/* Argon2id (libsodium crypto_pwhash_str, interactive limits or stronger). */
int auth_password_hash(const char *password, char out[128]);
bool auth_password_verify(const char *hash, const char *password);

/* Limits concurrent Argon2id computations to the number of cores. */
void auth_init(void);

#endif
