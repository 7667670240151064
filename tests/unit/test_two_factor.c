/*
 * test_two_factor.c - two_factor.h on a real database, with the clock given: enrolment and
 * its confirmation (a wrong code, a code of the window's edges), codes accepted once and
 * only one step either side, recovery codes once (any case, with or without dashes), the
 * challenge's expiry and its five attempts, the login's next step by role, the reset, and
 * the otpauth:// URI's encoding.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "unit_db.h"
#include "crm/audit.h"
#include "crm/db.h"
#include "crm/two_factor.h"
#include "crm/users.h"

#define T0 1800000000 /* a fixed clock: step 60000000 */

static int64_t make_user(struct db *db, const char *email, const char *role)
{
	struct user_change fields = USER_CHANGE_INIT;
	fields.email = email;
	fields.name = "Someone";
	fields.role = role;
	const struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user user;
	CHECK_INT(DB_OK, users_create(db, &fields, &actor, &user));
	return user.id;
}

static void code_at(const char *secret, int64_t when, char out[TOTP_DIGITS + 1])
{
	unsigned char key[TOTP_SECRET_BYTES + 4];
	CHECK_INT(TOTP_SECRET_BYTES, base32_decode(secret, key, sizeof(key)));
	totp_code(key, TOTP_SECRET_BYTES, totp_step(when), out);
}

/* Enrols `user_id` at T0; the secret into `secret`, the recovery codes into `codes`. */
static void enrol(struct db *db, int64_t user_id, char secret[TOTP_BASE32_SIZE],
		  char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE])
{
	struct outcome outcome = OUTCOME_INIT;
	CHECK_INT(0, two_factor_enrol_start(db, user_id, 0, AUDIT_ACTOR_CLI, secret, &outcome));
	char code[TOTP_DIGITS + 1];
	code_at(secret, T0, code);
	CHECK_INT(0, two_factor_enrol_confirm(db, user_id, code, T0, 0, AUDIT_ACTOR_CLI, codes,
					      &outcome));
	outcome_release(&outcome);
}

static void test_enrolment_and_codes_once(void)
{
	struct db *db = open_fresh_db("two-factor", true);
	if (!db)
		return;
	int64_t ann = make_user(db, "ann@example.com", "rep");
	char secret[TOTP_BASE32_SIZE], code[TOTP_DIGITS + 1];
	char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE];
	struct outcome outcome = OUTCOME_INIT;
	CHECK_INT(0, two_factor_enrol_start(db, ann, 0, AUDIT_ACTOR_CLI, secret, &outcome));
	CHECK_INT(32, (long long)strlen(secret));
	/* a code two steps old does not confirm: INVALID on "code" */
	code_at(secret, T0 - 60, code);
	CHECK_INT(-1, two_factor_enrol_confirm(db, ann, code, T0, 0, AUDIT_ACTOR_CLI, codes,
					       &outcome));
	CHECK_INT(OUTCOME_INVALID, outcome.status);
	outcome_release(&outcome);
	outcome_init(&outcome);
	code_at(secret, T0 - 30, code); /* one step old: accepted */
	CHECK_INT(0, two_factor_enrol_confirm(db, ann, code, T0, 0, AUDIT_ACTOR_CLI, codes,
					      &outcome));
	/* the same step again, and the confirmed enrolment again */
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, code, NULL, T0, &outcome));
	char refused[TOTP_BASE32_SIZE];
	CHECK_INT(-1, two_factor_enrol_start(db, ann, 0, AUDIT_ACTOR_CLI, refused, &outcome));
	CHECK_INT(OUTCOME_CONFLICT, outcome.status);
	CHECK_STR("", refused); /* no secret is answered after enrolment */
	outcome_release(&outcome);
	outcome_init(&outcome);
	/* T0's and T0+30's codes work once each; T0+60's is outside the window */
	code_at(secret, T0 + 60, code);
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, code, NULL, T0, &outcome));
	code_at(secret, T0 + 30, code);
	CHECK_INT(TWO_FACTOR_ACCEPTED, two_factor_verify(db, ann, code, NULL, T0, &outcome));
	code_at(secret, T0, code); /* older than the step just used */
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, code, NULL, T0, &outcome));
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, "12345", NULL, T0 + 60, &outcome));

	/* recovery codes: once each, in any case, with or without dashes */
	CHECK_INT(TWO_FACTOR_ACCEPTED, two_factor_verify(db, ann, NULL, codes[0], T0, &outcome));
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, NULL, codes[0], T0, &outcome));
	char typed[TWO_FACTOR_RECOVERY_SIZE];
	size_t n = 0;
	for (const char *p = codes[1]; *p; p++)
		if (*p != '-')
			typed[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	typed[n] = '\0';
	CHECK_INT(TWO_FACTOR_ACCEPTED, two_factor_verify(db, ann, NULL, typed, T0, &outcome));
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, NULL, "not-a-code", T0, &outcome));
	struct two_factor_status state;
	CHECK_INT(0, two_factor_status_get(db, ann, "rep", &state, &outcome));
	CHECK(state.enabled && !state.pending && !state.required);
	CHECK_INT(TWO_FACTOR_RECOVERY_COUNT - 2, state.recovery_codes_left);

	/* reset: nothing works any more, and a second reset is NOT_FOUND */
	CHECK_INT(0, two_factor_reset(db, ann, 0, AUDIT_ACTOR_CLI, &outcome));
	CHECK_INT(TWO_FACTOR_WRONG, two_factor_verify(db, ann, NULL, codes[2], T0, &outcome));
	CHECK_INT(-1, two_factor_reset(db, ann, 0, AUDIT_ACTOR_CLI, &outcome));
	CHECK_INT(OUTCOME_NOT_FOUND, outcome.status);
	outcome_release(&outcome);
	remove_db(db);
}

static void test_login_step_and_challenges(void)
{
	struct db *db = open_fresh_db("two-factor-login", true);
	if (!db)
		return;
	int64_t bob = make_user(db, "bob@example.com", "manager");
	const char *step = "unset";
	CHECK_INT(0, two_factor_login_step(db, bob, "manager", &step));
	CHECK(step == NULL);
	struct outcome outcome = OUTCOME_INIT;
	CHECK_INT(0, two_factor_role_require(db, "manager", true, 0, AUDIT_ACTOR_CLI, &outcome));
	CHECK_INT(0, two_factor_login_step(db, bob, "manager", &step));
	CHECK_STR("enrol", step);
	CHECK_INT(-1, two_factor_role_require(db, "nosuch", true, 0, AUDIT_ACTOR_CLI, &outcome));
	CHECK_INT(OUTCOME_NOT_FOUND, outcome.status);
	outcome_release(&outcome);
	char secret[TOTP_BASE32_SIZE];
	char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE];
	enrol(db, bob, secret, codes);
	CHECK_INT(0, two_factor_login_step(db, bob, "manager", &step));
	CHECK_STR("verify", step);

	/* a challenge: five attempts, then gone */
	char token[TWO_FACTOR_TOKEN_SIZE];
	struct two_factor_challenge challenge;
	CHECK_INT(DB_OK, two_factor_challenge_create(db, bob, "verify", T0, token));
	CHECK_INT(43, (long long)strlen(token));
	for (int i = 1; i <= TWO_FACTOR_CHALLENGE_ATTEMPTS; i++) {
		CHECK_INT(DB_OK, two_factor_challenge_take(db, token, T0 + 1, &challenge));
		CHECK_INT(i, challenge.attempts);
		CHECK_INT(bob, challenge.user_id);
		CHECK_STR("verify", challenge.purpose);
	}
	CHECK_INT(DB_NOT_FOUND, two_factor_challenge_take(db, token, T0 + 1, &challenge));
	/* expiry: alive until its five minutes are over */
	CHECK_INT(DB_OK, two_factor_challenge_create(db, bob, "enrol", T0, token));
	CHECK_INT(DB_OK, two_factor_challenge_take(db, token, T0 + TWO_FACTOR_CHALLENGE_SECONDS - 1,
						   &challenge));
	CHECK_INT(DB_NOT_FOUND, two_factor_challenge_take(db, token, T0 + TWO_FACTOR_CHALLENGE_SECONDS,
							  &challenge));
	CHECK_INT(DB_NOT_FOUND, two_factor_challenge_take(db, "unknown", T0, &challenge));
	CHECK_INT(DB_OK, two_factor_challenge_create(db, bob, "verify", T0, token));
	CHECK_INT(DB_OK, two_factor_challenge_take(db, token, T0, &challenge));
	CHECK_INT(DB_OK, two_factor_challenge_finish(db, challenge.id));
	CHECK_INT(DB_NOT_FOUND, two_factor_challenge_take(db, token, T0, &challenge));
	remove_db(db);
}

static void test_otpauth_uri(void)
{
	char *uri = two_factor_otpauth_uri("ann+crm@example.com", "JBSWY3DPEHPK3PXP");
	CHECK_STR("otpauth://totp/CRM:ann%2Bcrm%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=CRM"
		  "&algorithm=SHA1&digits=6&period=30",
		  uri);
	free(uri);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	RUN(test_enrolment_and_codes_once);
	RUN(test_login_step_and_challenges);
	RUN(test_otpauth_uri);
	return check_finish();
}
