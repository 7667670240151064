/*
 * two_factor_http.c - the routes of two-factor sign-in (two_factor_http.h):
 *
 *   GET  /api/v1/auth/2fa                 the caller's state (on, pending, required, codes left)
 *   POST /api/v1/auth/2fa/enrol           a new secret: otpauth:// URI and QR code (SVG)
 *   POST /api/v1/auth/2fa/confirm         {code}: turns it on, answers the recovery codes
 *   POST /api/v1/auth/login/second-factor {challenge, code | recovery_code}: the session
 *   POST /api/v1/auth/login/enrol         {challenge}: enrolment when the role requires it
 *   POST /api/v1/auth/login/confirm       {challenge, code}: recovery codes and the session
 *
 * The first three need a browser session; the last three are public and carry the
 * challenge that a right password earned (auth.c's login answers it). The checks of codes
 * are throttled like passwords (auth_login_throttle_take). Logic and audit: core's
 * two_factor.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/two_factor_http.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/qr_svg.h"
#include "crm/reply.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/two_factor.h"
#include "crm/users.h"
#include "crm/banned.h"

#define FIELD_MAX 128 /* no code, recovery code or token is longer */

void two_factor_login_challenge_reply(struct db *db, struct response *res,
				      const struct user *user, const char *step)
{
	char token[TWO_FACTOR_TOKEN_SIZE];
	int64_t now = (int64_t)time(NULL);
	if (two_factor_challenge_create(db, user->id, step, now, token) != DB_OK) {
		response_unavailable(res, "the login cannot be continued now; try again later");
		return;
	}
	char expires[TIME_RFC3339_SIZE];
	time_format_rfc3339((time_t)(now + TWO_FACTOR_CHALLENGE_SECONDS), expires);
	const char *verify = strcmp(step, "verify") == 0 ? "totp" : "enrol";
	response_json(res, HTTP_OK,
		      json_pack("{s:s, s:s, s:s}", "second_factor", verify, "challenge", token,
				"expires_at", expires));
	sodium_memzero(token, sizeof(token));
}

/*
 * The JSON body with only string members among `names` (NULL-terminated); their values
 * into `values` (NULL when absent). `required` names must be there. NULL after answering
 * 4xx; else the body (decref it; the values are borrowed from it).
 */
static json_t *string_body_or_reply(struct request *req, struct response *res,
				    const char *const *names, const char **values,
				    const char *const *required)
{
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return NULL;
	struct field_errors errors = { 0 };
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		int i = 0;
		while (names[i] && strcmp(names[i], key) != 0)
			i++;
		if (!names[i])
			field_errors_add(&errors, key, "unknown field");
		else if (!json_is_string(value) || json_string_length(value) == 0 ||
			 json_string_length(value) > FIELD_MAX)
			field_errors_add(&errors, key, "must be a non-empty string");
	}
	for (int i = 0; names[i]; i++)
		values[i] = json_string_value(json_object_get(body, names[i]));
	for (int i = 0; required && required[i]; i++) {
		if (!json_object_get(body, required[i]))
			field_errors_add(&errors, required[i], "required");
	}
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		field_errors_release(&errors);
		json_decref(body);
		return NULL;
	}
	field_errors_release(&errors);
	return body;
}

static void reply_challenge_unknown(struct response *res)
{
	response_set_header(res, "WWW-Authenticate", "Bearer");
	response_problem(res, HTTP_UNAUTHORIZED,
			 "the challenge is unknown, used up or expired; log in again");
}

/*
 * The challenge of `token` for `purpose` and its user (counting an attempt), or -1 after
 * answering 401 (unknown, expired, used up, a disabled user), 409 (the other purpose) or 503.
 */
static int challenge_user_or_reply(struct db *db, const char *token, const char *purpose,
				   struct response *res, struct two_factor_challenge *challenge,
				   struct user *user)
{
	int status = two_factor_challenge_take(db, token, (int64_t)time(NULL), challenge);
	if (status == DB_NOT_FOUND) {
		reply_challenge_unknown(res);
		return -1;
	}
	if (status == DB_OK)
		status = users_store_get(db, challenge->user_id, user);
	if (status == DB_NOT_FOUND || (status == DB_OK && user->disabled)) {
		reply_challenge_unknown(res);
		return -1;
	}
	if (status != DB_OK) {
		response_unavailable(res, "the database does not answer");
		return -1;
	}
	if (strcmp(challenge->purpose, purpose) != 0) {
		response_problemf(res, HTTP_CONFLICT, "this challenge is for %s",
				  strcmp(challenge->purpose, "enrol") == 0
					  ? "enrolment: POST /api/v1/auth/login/enrol"
					  : "a code: POST /api/v1/auth/login/second-factor");
		return -1;
	}
	return 0;
}

/* The answer of an enrolment: the secret, its otpauth:// URI and the URI's QR code. */
static void reply_enrolment(struct response *res, const char *email, const char *secret)
{
	char *uri = two_factor_otpauth_uri(email, secret);
	char *svg = qr_svg(uri);
	if (!svg) {
		free(uri);
		response_problem(res, HTTP_INTERNAL_ERROR, "the QR code cannot be drawn");
		return;
	}
	response_json(res, HTTP_OK,
		      json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "secret", secret, "otpauth_uri",
				uri, "qr_svg", svg, "digits", TOTP_DIGITS, "period",
				TOTP_STEP_SECONDS, "algorithm", "SHA1"));
	free(uri);
	free(svg);
}

static json_t *recovery_codes_json(char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE])
{
	json_t *list = json_array();
	for (int i = 0; i < TWO_FACTOR_RECOVERY_COUNT; i++)
		json_array_append_new(list, json_string(codes[i]));
	sodium_memzero(codes, sizeof(char[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE]));
	return list;
}

/* Only a browser session manages its own second factor; else 403 (and false). */
static bool session_or_reply(const struct request *req, struct response *res)
{
	if (req->auth->method == AUTH_METHOD_SESSION)
		return true;
	response_problem(res, HTTP_FORBIDDEN,
			 "two-factor sign-in is managed from a browser session, not an API key");
	return false;
}

static void handle_status(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct two_factor_status state;
	struct outcome outcome = OUTCOME_INIT;
	if (two_factor_status_get(db, req->auth->user_id, req->auth->role, &state, &outcome) != 0) {
		outcome_reply(res, &outcome);
		return;
	}
	response_json(res, HTTP_OK,
		      json_pack("{s:b, s:b, s:b, s:i}", "enabled", state.enabled, "pending",
				state.pending, "required", state.required, "recovery_codes_left",
				state.recovery_codes_left));
}

static void handle_enrol(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !session_or_reply(req, res))
		return;
	char secret[TOTP_BASE32_SIZE];
	struct outcome outcome = OUTCOME_INIT;
	if (two_factor_enrol_start(db, req->auth->user_id, req->auth->user_id, AUDIT_ACTOR_API,
				   secret, &outcome) != 0) {
		outcome_reply(res, &outcome);
		return;
	}
	reply_enrolment(res, req->auth->email, secret);
	sodium_memzero(secret, sizeof(secret));
}

static void handle_confirm(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !session_or_reply(req, res))
		return;
	static const char *const names[] = { "code", NULL };
	const char *values[1];
	json_t *body = string_body_or_reply(req, res, names, values, names);
	if (!body)
		return;
	char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE];
	struct outcome outcome = OUTCOME_INIT;
	if (two_factor_enrol_confirm(db, req->auth->user_id, values[0], (int64_t)time(NULL),
				     req->auth->user_id, AUDIT_ACTOR_API, codes, &outcome) != 0)
		outcome_reply(res, &outcome);
	else
		response_json(res, HTTP_OK,
			      json_pack("{s:o}", "recovery_codes", recovery_codes_json(codes)));
	json_decref(body);
}

/* POST /auth/login/second-factor: a code or a recovery code turns a challenge into a session. */
static void handle_second_factor(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	static const char *const names[] = { "challenge", "code", "recovery_code", NULL };
	static const char *const required[] = { "challenge", NULL };
	const char *values[3];
	json_t *body = string_body_or_reply(req, res, names, values, required);
	if (!body)
		return;
	if (!values[1] == !values[2]) {
		struct field_errors errors = { 0 };
		field_errors_add(&errors, "code", "give either a code or a recovery_code");
		field_errors_reply(&errors, res);
		field_errors_release(&errors);
		json_decref(body);
		return;
	}
	struct two_factor_challenge challenge;
	struct user user;
	struct auth_login_throttle *throttle = NULL;
	if (challenge_user_or_reply(db, values[0], "verify", res, &challenge, &user) != 0 ||
	    !(throttle = auth_login_throttle_take(db, user.email, req->client_address, res))) {
		json_decref(body);
		return;
	}
	struct outcome outcome = OUTCOME_INIT;
	enum two_factor_check check = two_factor_verify(db, user.id, values[1], values[2],
							(int64_t)time(NULL), &outcome);
	auth_login_throttle_done(db, throttle, check == TWO_FACTOR_ACCEPTED);
	if (check == TWO_FACTOR_FAILED) {
		outcome_reply(res, &outcome);
	} else if (check == TWO_FACTOR_WRONG) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "wrong or already used code");
	} else {
		two_factor_challenge_finish(db, challenge.id); /* best effort: it expires anyway */
		json_t *extra = NULL;
		struct two_factor_status state;
		if (values[2] && two_factor_status_get(db, user.id, user.role, &state, &outcome) == 0)
			extra = json_pack("{s:i}", "recovery_codes_left", state.recovery_codes_left);
		outcome_release(&outcome);
		auth_session_open_reply(db, req, res, &user, extra);
	}
	json_decref(body);
}

/* POST /auth/login/enrol: the enrolment that a role's requirement asks for at login. */
static void handle_login_enrol(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	static const char *const names[] = { "challenge", NULL };
	const char *values[1];
	json_t *body = string_body_or_reply(req, res, names, values, names);
	if (!body)
		return;
	struct two_factor_challenge challenge;
	struct user user;
	if (challenge_user_or_reply(db, values[0], "enrol", res, &challenge, &user) == 0) {
		char secret[TOTP_BASE32_SIZE];
		struct outcome outcome = OUTCOME_INIT;
		if (two_factor_enrol_start(db, user.id, user.id, AUDIT_ACTOR_API, secret,
					   &outcome) != 0)
			outcome_reply(res, &outcome);
		else
			reply_enrolment(res, user.email, secret);
		sodium_memzero(secret, sizeof(secret));
	}
	json_decref(body);
}

/* POST /auth/login/confirm: the first code completes the enrolment and opens the session. */
static void handle_login_confirm(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	static const char *const names[] = { "challenge", "code", NULL };
	const char *values[2];
	json_t *body = string_body_or_reply(req, res, names, values, names);
	if (!body)
		return;
	struct two_factor_challenge challenge;
	struct user user;
	struct auth_login_throttle *throttle = NULL;
	if (challenge_user_or_reply(db, values[0], "enrol", res, &challenge, &user) != 0 ||
	    !(throttle = auth_login_throttle_take(db, user.email, req->client_address, res))) {
		json_decref(body);
		return;
	}
	char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE];
	struct outcome outcome = OUTCOME_INIT;
	int result = two_factor_enrol_confirm(db, user.id, values[1], (int64_t)time(NULL), user.id,
					      AUDIT_ACTOR_API, codes, &outcome);
	auth_login_throttle_done(db, throttle, result == 0);
	if (result != 0) {
		outcome_reply(res, &outcome);
	} else {
		two_factor_challenge_finish(db, challenge.id);
		auth_session_open_reply(db, req, res, &user,
					json_pack("{s:o}", "recovery_codes", recovery_codes_json(codes)));
	}
	json_decref(body);
}

void two_factor_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/auth/2fa", handle_status, 0);
	router_add(router, "POST", "/api/v1/auth/2fa/enrol", handle_enrol, 0);
	router_add(router, "POST", "/api/v1/auth/2fa/confirm", handle_confirm, 0);
	/* Public: the challenge in the body is the credential (no cookie, so no CSRF token). */
	router_add(router, "POST", "/api/v1/auth/login/second-factor", handle_second_factor,
		   ROUTE_PUBLIC);
	router_add(router, "POST", "/api/v1/auth/login/enrol", handle_login_enrol, ROUTE_PUBLIC);
	router_add(router, "POST", "/api/v1/auth/login/confirm", handle_login_confirm,
		   ROUTE_PUBLIC);
}
