/*
 * api_keys.h - API keys over HTTP (src/http/api_keys.c) and their data layer beyond what
 * auth_store.h already offers (src/store/api_keys_store.c).
 *
 *   GET    /api/v1/api-keys        ?limit=1..500&cursor=&user_id=  keys by id; administrators
 *                                  see every key (user_id filters), others their own
 *   POST   /api/v1/api-keys        {"name", "read_only", "expires_days", "user_id",
 *                                  "rate_per_minute", "rate_burst"} -> 201 with the key text
 *                                  in "key", shown this once; the key's own rate limit
 *                                  (ratelimit.h) is for administrators to set
 *   GET    /api/v1/api-keys/{id}   one key (own, or any for an administrator), else 404
 *   DELETE /api/v1/api-keys/{id}   revokes it at once -> 204; 409 when revoked already
 *
 * "Administrator" means write scope `all` on users, as for the users routes. A key is
 * never answered with its hash; the key text exists only in the 201 answer (which is
 * marked Cache-Control: no-store). Creating a key needs a browser session (a key cannot
 * make keys: an expiring key could otherwise outlive itself); user_id other than the
 * caller is for administrators only. Creation and revocation are audited (entity
 * "api_keys", actor "api") by auth_store.c.
 */
#ifndef CRM_API_KEYS_H
#define CRM_API_KEYS_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct router;

#define API_KEYS_NAME_MAX 100
#define API_KEYS_EXPIRES_DAYS_MAX 3650

/* One key as the API lists it. Strings are borrowed for the visit; NULL when unset. */
struct api_key_info {
	int64_t id;
	int64_t user_id;
	const char *user_name;
	const char *user_email;
	const char *name;
	const char *prefix; /* "crm_" and the first characters of the key: recognisable */
	bool read_only;
	const char *created_at;
	const char *expires_at;
	const char *revoked_at;
	const char *last_used_at;
	int rate_per_minute; /* the key's own rate limit; 0: inherited from the role */
	int rate_burst;
};

/* Which keys api_keys_store_list() visits. */
struct api_keys_query {
	int64_t user_id;  /* only this user's keys; 0: everybody's */
	int64_t after_id; /* keyset: ids greater than this (0: from the start) */
	int limit;        /* at most this many */
};

/*
 * Calls `visit` for the keys of `query`, by id; a non-zero return from `visit` stops
 * early. Returns a db_status.
 */
int api_keys_store_list(struct db *db, const struct api_keys_query *query,
			int (*visit)(void *context, const struct api_key_info *key), void *context);

/* Calls `visit` once for key `id`. Returns DB_OK, DB_NOT_FOUND or another db_status. */
int api_keys_store_get(struct db *db, int64_t id,
		       int (*visit)(void *context, const struct api_key_info *key), void *context);

/* Registers the routes above. */
void api_keys_routes_register(struct router *router);

#endif
