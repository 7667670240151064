/*
 * two_factor.c - two-factor sign-in with TOTP (two_factor.h): enrolment, the check of a
 * code or recovery code, login challenges, a role's requirement and the reset. Each change
 * runs in one write transaction with its audit entry (the model of credentials.c); SQL is
 * two_factor_store.c's. Secrets, codes and tokens are wiped after use and never logged.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/two_factor.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define RECOVERY_BYTES 10 /* 80 bits: 16 base32 characters */

/* Commits when `status` is DB_OK, else rolls back. Returns the final status. */
static int finish(struct db *db, int status)
{
	if (status == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return status;
}

static void now_text(char out[TIME_RFC3339_SIZE])
{
	time_now_rfc3339(out);
}

/* Audits a change of the second factor of `user_id` as users/<action>. */
static int audit_user(struct db *db, int64_t user_id, int64_t actor_user_id, const char *actor,
		      const char *action, json_t *after)
{
	int status = audit_record(db, actor_user_id, actor, "users", user_id, action, NULL, after);
	json_decref(after);
	return status;
}

int two_factor_status_get(struct db *db, int64_t user_id, const char *role,
			  struct two_factor_status *out, struct outcome *outcome)
{
	memset(out, 0, sizeof(*out));
	struct two_factor_totp totp;
	int status = two_factor_store_totp_get(db, user_id, &totp);
	if (status == DB_OK) {
		out->enabled = totp.confirmed;
		out->pending = !totp.confirmed;
	}
	sodium_memzero(&totp, sizeof(totp));
	if (status == DB_NOT_FOUND)
		status = DB_OK;
	if (status == DB_OK)
		status = two_factor_store_role_required(db, role, &out->required);
	if (status == DB_NOT_FOUND)
		status = DB_OK;
	if (status == DB_OK && out->enabled)
		status = two_factor_store_recovery_left(db, user_id, &out->recovery_codes_left);
	return outcome_from_db(outcome, status, "user");
}

int two_factor_enrol_start(struct db *db, int64_t user_id, int64_t actor_user_id,
			   const char *actor, char secret_out[TOTP_BASE32_SIZE],
			   struct outcome *outcome)
{
	secret_out[0] = '\0';
	int status = db_begin_write(db);
	if (status != DB_OK)
		return outcome_from_db(outcome, status, "user");
	struct two_factor_totp current;
	status = two_factor_store_totp_get(db, user_id, &current);
	if (status == DB_OK && current.confirmed) {
		db_rollback(db);
		return outcome_fail(outcome, OUTCOME_CONFLICT,
				    "two-factor sign-in is on already; an administrator can reset it "
				    "(crmctl user 2fa reset)");
	}
	unsigned char secret[TOTP_SECRET_BYTES];
	randombytes_buf(secret, sizeof(secret));
	char now[TIME_RFC3339_SIZE];
	now_text(now);
	status = status == DB_OK || status == DB_NOT_FOUND ? DB_OK : status;
	if (status == DB_OK)
		status = two_factor_store_totp_put(db, user_id, secret, now);
	if (status == DB_OK)
		status = audit_user(db, user_id, actor_user_id, actor, "2fa_enrol",
				    json_pack("{s:s}", "two_factor", "pending"));
	status = finish(db, status);
	if (status == DB_OK)
		base32_encode(secret, sizeof(secret), secret_out, TOTP_BASE32_SIZE);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&current, sizeof(current));
	return outcome_from_db(outcome, status, "user");
}

/*
 * Whether `code` is the code of a step within the window around `now` that was not used
 * yet; *step_out is that step.
 */
static bool code_matches(const struct two_factor_totp *totp, const char *code, int64_t now,
			 int64_t *step_out)
{
	char digits[TOTP_DIGITS + 1];
	if (totp_code_parse(code, digits) != 0)
		return false;
	int64_t current = (int64_t)totp_step(now);
	bool found = false;
	for (int64_t step = current - TWO_FACTOR_WINDOW_STEPS;
	     step <= current + TWO_FACTOR_WINDOW_STEPS; step++) {
		char expected[TOTP_DIGITS + 1];
		totp_code(totp->secret, TOTP_SECRET_BYTES, (uint64_t)step, expected);
		bool same = sodium_memcmp(expected, digits, TOTP_DIGITS) == 0;
		sodium_memzero(expected, sizeof(expected));
		if (same && step > totp->last_step && !found) {
			*step_out = step;
			found = true;
		}
	}
	sodium_memzero(digits, sizeof(digits));
	return found;
}

/* The stored hash of a recovery code's bytes, bound to its user. */
static void recovery_hash(int64_t user_id, const unsigned char bytes[RECOVERY_BYTES],
			  unsigned char out[TWO_FACTOR_HASH_BYTES])
{
	crypto_generichash_state state;
	char prefix[48];
	int len = snprintf(prefix, sizeof(prefix), "crm recovery code:%lld:", (long long)user_id);
	crypto_generichash_init(&state, NULL, 0, TWO_FACTOR_HASH_BYTES);
	crypto_generichash_update(&state, (const unsigned char *)prefix, (size_t)len);
	crypto_generichash_update(&state, bytes, RECOVERY_BYTES);
	crypto_generichash_final(&state, out, TWO_FACTOR_HASH_BYTES);
}

/* New recovery codes as text ("abcd-efgh-ijkl-mnop") and their hashes. */
static void recovery_codes_generate(int64_t user_id,
				    char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE],
				    unsigned char hashes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_HASH_BYTES])
{
	for (int i = 0; i < TWO_FACTOR_RECOVERY_COUNT; i++) {
		unsigned char bytes[RECOVERY_BYTES];
		char text[TOTP_BASE32_SIZE];
		randombytes_buf(bytes, sizeof(bytes));
		base32_encode(bytes, sizeof(bytes), text, sizeof(text)); /* 16 characters */
		for (int j = 0; text[j]; j++)
			text[j] = (char)tolower((unsigned char)text[j]);
		snprintf(codes[i], TWO_FACTOR_RECOVERY_SIZE, "%.4s-%.4s-%.4s-%.4s", text, text + 4,
			 text + 8, text + 12);
		recovery_hash(user_id, bytes, hashes[i]);
		sodium_memzero(bytes, sizeof(bytes));
		sodium_memzero(text, sizeof(text));
	}
}

int two_factor_enrol_confirm(struct db *db, int64_t user_id, const char *code, int64_t now,
			     int64_t actor_user_id, const char *actor,
			     char codes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE],
			     struct outcome *outcome)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return outcome_from_db(outcome, status, "user");
	struct two_factor_totp totp;
	status = two_factor_store_totp_get(db, user_id, &totp);
	const char *refusal = NULL;
	if (status == DB_NOT_FOUND)
		refusal = "no enrolment was started: start one first";
	else if (status == DB_OK && totp.confirmed)
		refusal = "two-factor sign-in is on already";
	int64_t step = 0;
	bool right = status == DB_OK && !refusal && code_matches(&totp, code, now, &step);
	sodium_memzero(&totp, sizeof(totp));
	if (refusal || (status == DB_OK && !right)) {
		db_rollback(db);
		if (refusal)
			return outcome_fail(outcome, OUTCOME_CONFLICT, "%s", refusal);
		struct field_errors errors = { 0 };
		field_errors_add(&errors, "code", "not the current code of the authenticator app");
		return outcome_fail_fields(outcome, &errors, false, NULL);
	}
	unsigned char hashes[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_HASH_BYTES];
	recovery_codes_generate(user_id, codes, hashes);
	char now_rfc[TIME_RFC3339_SIZE];
	time_format_rfc3339((time_t)now, now_rfc);
	if (status == DB_OK)
		status = two_factor_store_totp_use_step(db, user_id, step);
	if (status == DB_OK)
		status = two_factor_store_totp_confirm(db, user_id, now_rfc);
	if (status == DB_OK)
		status = two_factor_store_recovery_replace(
			db, user_id, (const unsigned char(*)[TWO_FACTOR_HASH_BYTES])hashes,
			TWO_FACTOR_RECOVERY_COUNT);
	if (status == DB_OK)
		status = audit_user(db, user_id, actor_user_id, actor, "2fa_enable",
				    json_pack("{s:s, s:i}", "two_factor", "on", "recovery_codes",
					      TWO_FACTOR_RECOVERY_COUNT));
	status = finish(db, status);
	if (status != DB_OK)
		sodium_memzero(codes, sizeof(char[TWO_FACTOR_RECOVERY_COUNT][TWO_FACTOR_RECOVERY_SIZE]));
	return outcome_from_db(outcome, status, "user");
}

/* Uses recovery code `text` of `user_id`: DB_OK, DB_NOT_FOUND (wrong or used). Audited. */
static int recovery_use(struct db *db, int64_t user_id, const char *text)
{
	unsigned char bytes[RECOVERY_BYTES + 1];
	int len = base32_decode(text, bytes, sizeof(bytes));
	if (len != RECOVERY_BYTES) {
		sodium_memzero(bytes, sizeof(bytes));
		return DB_NOT_FOUND;
	}
	unsigned char hash[TWO_FACTOR_HASH_BYTES];
	recovery_hash(user_id, bytes, hash);
	sodium_memzero(bytes, sizeof(bytes));
	char now[TIME_RFC3339_SIZE];
	now_text(now);
	int status = two_factor_store_recovery_use(db, user_id, hash, now);
	int left = 0;
	if (status == DB_OK)
		status = two_factor_store_recovery_left(db, user_id, &left);
	if (status == DB_OK)
		status = audit_user(db, user_id, user_id, AUDIT_ACTOR_API, "2fa_recovery_code_used",
				    json_pack("{s:i}", "recovery_codes_left", left));
	return status;
}

enum two_factor_check two_factor_verify(struct db *db, int64_t user_id, const char *code,
					const char *recovery_code, int64_t now,
					struct outcome *outcome)
{
	int status = db_begin_write(db);
	if (status != DB_OK) {
		outcome_from_db(outcome, status, "user");
		return TWO_FACTOR_FAILED;
	}
	struct two_factor_totp totp;
	status = two_factor_store_totp_get(db, user_id, &totp);
	bool right = false;
	if (status == DB_OK && totp.confirmed) {
		int64_t step = 0;
		if (code) {
			right = code_matches(&totp, code, now, &step);
			if (right)
				status = two_factor_store_totp_use_step(db, user_id, step);
		} else if (recovery_code) {
			status = recovery_use(db, user_id, recovery_code);
			right = status == DB_OK;
			if (status == DB_NOT_FOUND)
				status = DB_OK;
		}
	} else if (status == DB_NOT_FOUND) {
		status = DB_OK; /* reset meanwhile: no code is right */
	}
	sodium_memzero(&totp, sizeof(totp));
	if (status == DB_CONFLICT) { /* the same step was taken by a concurrent login */
		status = DB_OK;
		right = false;
	}
	if (status == DB_OK && !right) {
		db_rollback(db);
		return TWO_FACTOR_WRONG;
	}
	status = finish(db, status);
	if (outcome_from_db(outcome, status, "user") != 0)
		return TWO_FACTOR_FAILED;
	return TWO_FACTOR_ACCEPTED;
}

int two_factor_login_step(struct db *db, int64_t user_id, const char *role, const char **step)
{
	*step = NULL;
	struct two_factor_totp totp;
	int status = two_factor_store_totp_get(db, user_id, &totp);
	bool confirmed = status == DB_OK && totp.confirmed;
	sodium_memzero(&totp, sizeof(totp));
	if (status != DB_OK && status != DB_NOT_FOUND)
		return -1;
	if (confirmed) {
		*step = "verify";
		return 0;
	}
	bool required = false;
	status = two_factor_store_role_required(db, role, &required);
	if (status != DB_OK && status != DB_NOT_FOUND)
		return -1;
	if (required)
		*step = "enrol";
	return 0;
}

static void token_hash(const char *token, unsigned char out[TWO_FACTOR_HASH_BYTES])
{
	crypto_generichash(out, TWO_FACTOR_HASH_BYTES, (const unsigned char *)token, strlen(token),
			   NULL, 0);
}

int two_factor_challenge_create(struct db *db, int64_t user_id, const char *purpose,
				int64_t now, char token_out[TWO_FACTOR_TOKEN_SIZE])
{
	unsigned char bytes[32];
	randombytes_buf(bytes, sizeof(bytes));
	sodium_bin2base64(token_out, TWO_FACTOR_TOKEN_SIZE, bytes, sizeof(bytes),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(bytes, sizeof(bytes));
	unsigned char hash[TWO_FACTOR_HASH_BYTES];
	token_hash(token_out, hash);
	int status = db_begin_write(db);
	if (status == DB_OK)
		status = two_factor_store_challenge_insert(db, hash, user_id, purpose,
							   now + TWO_FACTOR_CHALLENGE_SECONDS, now);
	status = finish(db, status);
	if (status != DB_OK)
		sodium_memzero(token_out, TWO_FACTOR_TOKEN_SIZE);
	return status;
}

int two_factor_challenge_take(struct db *db, const char *token, int64_t now,
			      struct two_factor_challenge *out)
{
	if (strlen(token) >= TWO_FACTOR_TOKEN_SIZE) {
		memset(out, 0, sizeof(*out));
		return DB_NOT_FOUND;
	}
	unsigned char hash[TWO_FACTOR_HASH_BYTES];
	token_hash(token, hash);
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	status = two_factor_store_challenge_find(db, hash, out);
	if (status == DB_OK && (out->expires_at <= now ||
				out->attempts >= TWO_FACTOR_CHALLENGE_ATTEMPTS)) {
		status = two_factor_store_challenge_delete(db, out->id);
		if (status == DB_OK)
			status = db_commit(db) == DB_OK ? DB_NOT_FOUND : DB_ERROR;
		else
			db_rollback(db);
		return status;
	}
	if (status == DB_OK)
		status = two_factor_store_challenge_attempt(db, out->id);
	if (status == DB_OK)
		out->attempts++;
	return finish(db, status);
}

int two_factor_challenge_finish(struct db *db, int64_t id)
{
	int status = db_begin_write(db);
	if (status == DB_OK)
		status = two_factor_store_challenge_delete(db, id);
	return finish(db, status);
}

int two_factor_reset(struct db *db, int64_t user_id, int64_t actor_user_id, const char *actor,
		     struct outcome *outcome)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return outcome_from_db(outcome, status, "user");
	bool removed = false;
	status = two_factor_store_remove(db, user_id, &removed);
	if (status == DB_OK && !removed) {
		db_rollback(db);
		return outcome_fail(outcome, OUTCOME_NOT_FOUND,
				    "two-factor sign-in is not set up for this user");
	}
	if (status == DB_OK)
		status = audit_user(db, user_id, actor_user_id, actor, "2fa_reset",
				    json_pack("{s:s}", "two_factor", "off"));
	return outcome_from_db(outcome, finish(db, status), "user");
}

int two_factor_role_require(struct db *db, const char *role, bool required,
			    int64_t actor_user_id, const char *actor, struct outcome *outcome)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return outcome_from_db(outcome, status, "role");
	bool before = false;
	status = two_factor_store_role_required(db, role, &before);
	if (status == DB_OK)
		status = two_factor_store_role_set_required(db, role, required);
	if (status == DB_OK) {
		json_t *old = json_pack("{s:s, s:b}", "name", role, "require_2fa", before);
		json_t *now = json_pack("{s:s, s:b}", "name", role, "require_2fa", required);
		status = audit_record(db, actor_user_id, actor, "roles", 0, "require_2fa", old, now);
		json_decref(old);
		json_decref(now);
	}
	return outcome_from_db(outcome, finish(db, status), "role");
}

/* Appends `text` percent-encoded (RFC 3986 unreserved characters stay). */
static void percent_encode(struct buf *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			buf_addch(out, (char)*p);
		else
			buf_addf(out, "%%%02X", *p);
	}
}

char *two_factor_otpauth_uri(const char *account, const char *secret_base32)
{
	struct buf uri = BUF_INIT;
	buf_adds(&uri, "otpauth://totp/");
	percent_encode(&uri, TWO_FACTOR_ISSUER);
	buf_adds(&uri, ":");
	percent_encode(&uri, account);
	buf_addf(&uri, "?secret=%s&issuer=", secret_base32);
	percent_encode(&uri, TWO_FACTOR_ISSUER);
	buf_addf(&uri, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_STEP_SECONDS);
	return buf_detach(&uri, NULL);
}
