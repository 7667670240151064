/*
 * auth_store.h - the data layer of authentication (SQL in src/store/auth_store.c): API keys,
 * sessions and login failures. Private to the auth module, crmctl's key and session
 * commands and users_store.c; handlers use auth.h.
 *
 * Secrets are stored only as 32-byte BLAKE2b hashes (AUTH_HASH_BYTES) and looked up by
 * them. Timestamps are RFC 3339 UTC text, which compares correctly with strcmp().
 */
#ifndef CRM_AUTH_STORE_H
#define CRM_AUTH_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/timeutil.h"
#include "crm/users.h"

struct db;

#define AUTH_HASH_BYTES 32
#define AUTH_CSRF_MAX 72

/* The user a key or session belongs to, as read with it. */
struct auth_principal {
	int64_t user_id;
	char email[USERS_EMAIL_MAX + 2];
	char name[USERS_NAME_MAX + 2];
	char role[USERS_ROLE_MAX + 1];
	char team[USERS_TEAM_MAX + 2];
	bool disabled;
};

struct auth_key_record {
	int64_t id;
	unsigned char hash[AUTH_HASH_BYTES];
	bool read_only;
	bool revoked;
	char expires_at[TIME_RFC3339_SIZE];   /* "" when it never expires */
	char last_used_at[TIME_RFC3339_SIZE]; /* "" when never used */
	struct auth_principal user;
};

/* A key as crmctl key list shows it (strings borrowed for the visit; NULL when unset). */
struct auth_key_info {
	int64_t id;
	const char *user_email;
	const char *name;
	const char *prefix;
	bool read_only;
	const char *created_at;
	const char *expires_at;
	const char *revoked_at;
	const char *last_used_at;
};

struct auth_session_record {
	int64_t id;
	unsigned char hash[AUTH_HASH_BYTES];
	char csrf_token[AUTH_CSRF_MAX];
	char created_at[TIME_RFC3339_SIZE];
	char last_seen_at[TIME_RFC3339_SIZE];
	char expires_at[TIME_RFC3339_SIZE];
	bool revoked;
	struct auth_principal user;
};

/* ---- API keys */

/* Finds the key with this hash, with its user. DB_OK, DB_NOT_FOUND or DB_ERROR. */
int auth_store_key_find(struct db *db, const unsigned char hash[AUTH_HASH_BYTES],
			struct auth_key_record *out);
/* Records that key `id` was used at `now`. */
int auth_store_key_touch(struct db *db, int64_t id, const char *now);
/*
 * Inserts a new key (only its hash and a short visible prefix). `expires_at` may be NULL.
 * Sets *id_out. Returns a db_status. In a write transaction: api_keys_create() (api_keys.h)
 * is the whole audited write.
 */
int auth_store_key_insert(struct db *db, int64_t user_id, const char *name, const char *prefix,
			  const unsigned char hash[AUTH_HASH_BYTES], bool read_only,
			  const char *expires_at, int64_t *id_out);
/* Key `id` as the audit log shows it (never its hash; new reference), or NULL when absent. */
json_t *auth_store_key_audit_json(struct db *db, int64_t id);
/* Calls `visit` for every key, by id. Returns a db_status. */
int auth_store_key_list(struct db *db, void (*visit)(void *context, const struct auth_key_info *),
			void *context);
/* Marks key `id` revoked now. In a write transaction (api_keys_revoke() audits it). */
int auth_store_key_set_revoked(struct db *db, int64_t id);

/* ---- sessions */

/* Finds the session with this token hash, with its user. DB_OK, DB_NOT_FOUND, DB_ERROR. */
int auth_store_session_find(struct db *db, const unsigned char hash[AUTH_HASH_BYTES],
			    struct auth_session_record *out);
/* Stores a new session. Sets *id_out. Returns a db_status. */
int auth_store_session_create(struct db *db, int64_t user_id,
			      const unsigned char hash[AUTH_HASH_BYTES], const char *csrf_token,
			      const char *now, const char *expires_at, const char *client_address,
			      int64_t *id_out);
/* Records activity on session `id` at `now` (for the idle timeout). */
int auth_store_session_touch(struct db *db, int64_t id, const char *now);
/* Revokes session `id` (logout). */
int auth_store_session_revoke(struct db *db, int64_t id);
/*
 * Revokes every live session of `user_id` except `keep_id` (0: none kept), inside the
 * caller's transaction (or autocommit). Sets *count (optional). Returns a db_status.
 */
int auth_store_sessions_revoke_user(struct db *db, int64_t user_id, int64_t keep_id, int *count);

/* ---- login throttling: one row per failure, subject "account:<email>", "address:<ip>"
 * or "pair:<email>|<ip>" */

/*
 * Counts the failures of `subject` at or after `since`. When there are at least
 * `threshold`, sets *unblocked_at to the time the oldest of the latest `threshold`
 * failures leaves the window (its time + window), else 0. Returns a db_status.
 */
int auth_store_failures_check(struct db *db, const char *subject, int64_t since, int threshold,
			      int64_t window, int *count, int64_t *unblocked_at);
/*
 * One throttle on the failures of `subject` within `window` seconds. With delay_max 0: at
 * most `limit` of them (then wait until the oldest leaves the window). With delay_max > 0:
 * `limit` are free, and after the n-th beyond them the next attempt waits 2^n seconds
 * (at most delay_max) after the latest.
 */
struct auth_throttle_rule {
	const char *subject;
	int limit;
	int window;
	int delay_max;
};
/*
 * In one write transaction: sets *wait to the longest wait (seconds) that the `count`
 * rules impose at `now`, or, when none does (*wait 0), records a provisional failure for
 * each rule's subject (row ids in ids[0..count-1]) before the password is checked, so
 * concurrent attempts see it. Forgets failures older than `forget_before`. A db_status.
 */
int auth_store_failures_reserve(struct db *db, const struct auth_throttle_rule *rules, int count,
				int64_t now, int64_t forget_before, int64_t *wait, int64_t *ids);
/* Deletes the provisional failures `ids` (the login succeeded or was not checked). */
int auth_store_failures_release(struct db *db, const int64_t *ids, int count);
/* Forgets the failures of `subject` (after a successful login). */
int auth_store_failures_clear(struct db *db, const char *subject);
/* Records one failure of `subject` at `now` (a refused login). Returns a db_status. */
int auth_store_failure_record(struct db *db, const char *subject, int64_t now);
/*
 * Forgets every failure counted against the account `email` (without case): its own and
 * those of each address with it (crmctl user unlock). *count: the rows forgotten.
 */
int auth_store_failures_clear_account(struct db *db, const char *email, int *count);

#endif
