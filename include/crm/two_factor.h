/*
 * two_factor.h - two-factor sign-in with TOTP (RFC 6238) for staff (src/core/two_factor.c):
 * enrolment (a secret, confirmed by a first code, then ten one-time recovery codes),
 * checking a code or recovery code at login (each code works once), the short-lived
 * challenge between a login's password and its second factor, a role's requirement and an
 * administrator's reset. Every change of a user's second factor or of a role's requirement
 * is one write transaction with its audit entry; the store only reads and writes rows.
 */
#ifndef CRM_TWO_FACTOR_H
#define CRM_TWO_FACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/outcome.h"
#include "crm/totp.h"
#include "crm/two_factor_store.h"

struct db;

#define TWO_FACTOR_RECOVERY_COUNT 10
#define TWO_FACTOR_RECOVERY_SIZE 20        /* "abcd-efgh-ijkl-mnop" + NUL: 80 random bits */
#define TWO_FACTOR_TOKEN_SIZE 64           /* a challenge token: base64url of 32 bytes */
#define TWO_FACTOR_CHALLENGE_SECONDS 300   /* a challenge lives five minutes */
#define TWO_FACTOR_CHALLENGE_ATTEMPTS 5    /* and allows five codes */
#define TWO_FACTOR_WINDOW_STEPS 1          /* codes of the previous and next step count too */
#define TWO_FACTOR_ISSUER "CRM"

struct two_factor_status {
	bool enabled;  /* confirmed */
	bool pending;  /* enrolment started, not confirmed */
	bool required; /* by the user's role */
	int recovery_codes_left;
};

int two_factor_status_get(struct db *db, int64_t user_id, const char *role,
			  struct two_factor_status *out, struct outcome *outcome);

/*
 * Starts (or restarts) the enrolment of `user_id`: a new random secret, its base32 text
 * into `secret_out`. CONFLICT when two-factor sign-in is on already. Audited. 0 or -1.
 */
int two_factor_enrol_start(struct db *db, int64_t user_id, int64_t actor_user_id,
			   const char *actor, char secret_out[TOTP_BASE32_SIZE],
			   struct outcome *outcome);

/*
 * Completes the enrolment of `user_id` with a current `code`: turns two-factor sign-in on
 * and writes TWO_FACTOR_RECOVERY_COUNT recovery codes into `codes` (shown once; only their
 * hashes are kept). INVALID (field "code") for a wrong code; CONFLICT without a started
 * enrolment or when it is on already. Audited. 0 or -1.
 */
int two_factor_enrol_confirm(struct db *db, int64_t user_id, const char *code, int64_t now,
			     int64_t actor_user_id, const char *actor,
			     char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE],
			     struct outcome *outcome);

enum two_factor_check {
	TWO_FACTOR_ACCEPTED = 0,
	TWO_FACTOR_WRONG = 1,  /* a wrong, expired or already used code */
	TWO_FACTOR_FAILED = -1 /* see the outcome */
};

/*
 * Checks the second factor of `user_id` at login: a TOTP `code`, or (code NULL) a
 * `recovery_code`. An accepted code cannot be used again; a used recovery code is audited.
 */
enum two_factor_check two_factor_verify(struct db *db, int64_t user_id, const char *code,
					const char *recovery_code, int64_t now,
					struct outcome *outcome);

/*
 * What a login of a user must do after the password: "verify" (two-factor sign-in is on),
 * "enrol" (the role requires it and it is off) or NULL (nothing). -1 on a store failure.
 */
int two_factor_login_step(struct db *db, int64_t user_id, const char *role, const char **step);

/* Stores a challenge of `purpose` for `user_id`; its token into `token_out`. A db_status. */
int two_factor_challenge_create(struct db *db, int64_t user_id, const char *purpose,
				int64_t now, char token_out[TWO_FACTOR_TOKEN_SIZE]);

/*
 * Finds the live challenge of `token` and counts an attempt against it: DB_OK, or
 * DB_NOT_FOUND for an unknown, expired or used-up token (which is then removed).
 */
int two_factor_challenge_take(struct db *db, const char *token, int64_t now,
			      struct two_factor_challenge *out);

/* Removes a challenge once it opened a session. */
int two_factor_challenge_finish(struct db *db, int64_t id);

/* Turns two-factor sign-in of `user_id` off (a lost device). NOT_FOUND when it was off. */
int two_factor_reset(struct db *db, int64_t user_id, int64_t actor_user_id, const char *actor,
		     struct outcome *outcome);

/* Sets whether role `role` requires two-factor sign-in. NOT_FOUND: no such role. */
int two_factor_role_require(struct db *db, const char *role, bool required,
			    int64_t actor_user_id, const char *actor, struct outcome *outcome);

/* The otpauth:// URI of a secret for `account` (e-mail) into a new string (free it). */
char *two_factor_otpauth_uri(const char *account, const char *secret_base32);

#endif
