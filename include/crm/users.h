/*
 * users.h - user accounts: the data layer (SQL lives in src/store/users_store.c) and the
 * /api/v1/users routes (admin only, src/http/users.c). Passwords are write-only: never
 * returned, never in the audit log; only their Argon2id hash is stored.
 *
 * Every change (create, update, password, disable) is written to the audit log in the
 * same transaction by the store functions below.
 */
#ifndef CRM_USERS_H
#define CRM_USERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/timeutil.h"

struct db;
struct router;

#define USERS_EMAIL_MAX 254
#define USERS_NAME_MAX 200
#define USERS_TEAM_MAX 100
#define USERS_ROLE_MAX 63
#define USERS_PASSWORD_MIN 8
#define USERS_PASSWORD_MAX 1024

/* One user as stored, without the password hash. */
struct user {
	int64_t id;
	char email[USERS_EMAIL_MAX + 2];
	char name[USERS_NAME_MAX + 2];
	char role[USERS_ROLE_MAX + 1];
	char team[USERS_TEAM_MAX + 2]; /* "" when none */
	bool has_team;
	bool has_password;
	bool disabled;
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
	int64_t version;
};

/*
 * A change to a user (the fields of a create, or the set fields of an update). Strings
 * are borrowed. `password_hash` is an Argon2id hash (auth_password_hash), never a password.
 */
struct user_change {
	const char *email;         /* NULL: unchanged */
	const char *name;          /* NULL: unchanged */
	const char *role;          /* NULL: unchanged */
	bool set_team;
	const char *team;          /* with set_team: NULL or "" clears */
	bool set_password;
	const char *password_hash; /* with set_password: NULL clears (no password login) */
	int disabled;              /* -1 unchanged, 0 enabled, 1 disabled */
};
#define USER_CHANGE_INIT { NULL, NULL, NULL, false, NULL, false, NULL, -1 }

/* Who makes a change, for the audit log: user id (0 for crmctl) and AUDIT_ACTOR_*. */
struct user_actor {
	int64_t user_id;
	const char *actor;
};

/*
 * Looks up user `user_id`. Returns DB_OK and copies the user's team ("" when none) into
 * `team` when the user exists (disabled or not), DB_NOT_FOUND when not, DB_ERROR on failure.
 * Used to validate owner_id references and for team scopes.
 */
int users_store_team_of(struct db *db, int64_t user_id, char *team, size_t team_size);

/* Fills *out with user `id`. Returns DB_OK, DB_NOT_FOUND or DB_ERROR. */
int users_store_get(struct db *db, int64_t id, struct user *out);
/*
 * Fills *out with the user whose email is `email` (case-insensitive). When
 * `password_hash` is not NULL, copies the stored hash into it ("" when the user has none).
 * Returns DB_OK, DB_NOT_FOUND or DB_ERROR.
 */
int users_store_get_by_email(struct db *db, const char *email, struct user *out,
			     char *password_hash, size_t password_hash_size);

/*
 * Inserts a user from `fields` (email, name and role required) with version 1 and fills
 * *created. Returns DB_OK, DB_CONFLICT (email taken), DB_INVALID (no such role) or another
 * db_status. Call inside a write transaction; users_create() (below) is the whole write.
 */
int users_store_insert(struct db *db, const struct user_change *fields, struct user *created);
/* Whether `change` would change `user` at all (a no-op PATCH keeps the version). */
bool users_change_differs(const struct user *user, const struct user_change *change);
/*
 * Applies `change` to user `id`: version + 1, updated_at now; fills *after. Returns DB_OK,
 * DB_CONFLICT (email taken), DB_INVALID (no such role) or another db_status. Call inside a
 * write transaction.
 */
int users_store_apply(struct db *db, int64_t id, const struct user_change *change,
		      struct user *after);

/* ---- the writes (src/core/users_write.c): one transaction each, audited ---------------- */

/*
 * Creates a user from `fields` in one write transaction with its audit entry. Returns
 * DB_OK and fills *created, DB_CONFLICT (email taken), DB_INVALID (no such role) or
 * another db_status.
 */
int users_create(struct db *db, const struct user_change *fields,
		 const struct user_actor *actor, struct user *created);

/*
 * Changes user `id` in one write transaction with its audit entry: version + 1 and
 * updated_at now, when anything changed. `expected_version` > 0 makes it fail with
 * DB_STALE unless the stored version matches (If-Match). A new password or disabling the
 * user revokes the user's sessions except `keep_session_id` (0: none kept). Returns
 * DB_OK and fills *after, or DB_NOT_FOUND, DB_STALE, DB_CONFLICT (email taken),
 * DB_INVALID (no such role), another db_status.
 */
int users_update(struct db *db, int64_t id, int64_t expected_version,
		 const struct user_change *change, const struct user_actor *actor,
		 int64_t keep_session_id, struct user *after);

/* Filters and paging of users_store_list. */
struct users_query {
	const char *sort;        /* "id", "email", "name", "created_at" */
	bool descending;
	const json_t *after_value; /* keyset: the last row's sort value (borrowed), or NULL */
	int64_t after_id;          /* with after_value, or alone for sort "id"; 0: from the start */
	bool has_after;
	const char *role;        /* NULL: any */
	const char *team;        /* NULL: any */
	int disabled;            /* -1 any, 0, 1 */
	int limit;               /* rows to return */
};

/*
 * Calls `visit` for up to query->limit users in order. Returns DB_OK or an error; a
 * non-zero return from `visit` stops early (still DB_OK).
 */
int users_store_list(struct db *db, const struct users_query *query,
		     int (*visit)(void *context, const struct user *user), void *context);

/* The user as the API shows it (new reference; never contains a password or its hash). */
json_t *users_user_to_json(const struct user *user);

/* Whether `email` looks like an address: local@domain.tld, no spaces, sane length. */
bool users_email_valid(const char *email);

/* Registers GET/POST /api/v1/users and GET/PATCH /api/v1/users/{id}. */
void users_routes_register(struct router *router);

#endif
