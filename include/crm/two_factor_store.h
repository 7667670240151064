/*
 * two_factor_store.h - the rows of two-factor sign-in (SQL in src/store/two_factor_store.c):
 * TOTP secrets, recovery code hashes, login challenges and the roles' require_2fa flag.
 * Writes here neither open a transaction nor audit: two_factor.h's functions do both.
 */
#ifndef CRM_TWO_FACTOR_STORE_H
#define CRM_TWO_FACTOR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/totp.h"

struct db;

#define TWO_FACTOR_HASH_BYTES 32

struct two_factor_totp {
	unsigned char secret[TOTP_SECRET_BYTES];
	bool confirmed;
	int64_t last_step;
};

/* The TOTP row of `user_id`: DB_OK, DB_NOT_FOUND or another db_status. */
int two_factor_store_totp_get(struct db *db, int64_t user_id, struct two_factor_totp *out);
/* Inserts or replaces the (unconfirmed) secret of `user_id`. */
int two_factor_store_totp_put(struct db *db, int64_t user_id,
			      const unsigned char secret[TOTP_SECRET_BYTES], const char *now);
int two_factor_store_totp_confirm(struct db *db, int64_t user_id, const char *now);
/* Sets last_step to `step` if it is higher; DB_CONFLICT when it was not (a replay). */
int two_factor_store_totp_use_step(struct db *db, int64_t user_id, int64_t step);
/* Removes the secret and the recovery codes of `user_id`; *removed: whether it had a secret. */
int two_factor_store_remove(struct db *db, int64_t user_id, bool *removed);

/* Replaces the recovery codes of `user_id` with `count` hashes. */
int two_factor_store_recovery_replace(struct db *db, int64_t user_id,
				      const unsigned char (*hashes)[TWO_FACTOR_HASH_BYTES],
				      int count);
/* Marks the unused code with `hash` used: DB_OK, DB_NOT_FOUND (none such or used). */
int two_factor_store_recovery_use(struct db *db, int64_t user_id,
				  const unsigned char hash[TWO_FACTOR_HASH_BYTES], const char *now);
/* The number of unused recovery codes of `user_id` into *count. */
int two_factor_store_recovery_left(struct db *db, int64_t user_id, int *count);

/* Whether role `role` requires two-factor sign-in, into *required. */
int two_factor_store_role_required(struct db *db, const char *role, bool *required);
/* Sets the flag of `role`: DB_OK, DB_NOT_FOUND. */
int two_factor_store_role_set_required(struct db *db, const char *role, bool required);

struct two_factor_challenge {
	int64_t id;
	int64_t user_id;
	char purpose[8]; /* "verify" or "enrol" */
	int64_t expires_at;
	int attempts;
};

/* Stores a challenge (and forgets expired ones). */
int two_factor_store_challenge_insert(struct db *db,
				      const unsigned char hash[TWO_FACTOR_HASH_BYTES],
				      int64_t user_id, const char *purpose, int64_t expires_at,
				      int64_t now);
/* The challenge with token hash `hash`: DB_OK, DB_NOT_FOUND. */
int two_factor_store_challenge_find(struct db *db,
				    const unsigned char hash[TWO_FACTOR_HASH_BYTES],
				    struct two_factor_challenge *out);
/* Counts one more attempt of challenge `id`. */
int two_factor_store_challenge_attempt(struct db *db, int64_t id);
int two_factor_store_challenge_delete(struct db *db, int64_t id);
/* Removes every challenge of `user_id`. */
int two_factor_store_challenges_delete_user(struct db *db, int64_t user_id);

#endif
