/*
 * credentials.h - the audited writes of credentials: creating and revoking API keys, and
 * revoking every session of a user, each in one write transaction with its audit entry
 * (src/core/credentials.c). The rows themselves are auth_store.h's.
 */
#ifndef CRM_CREDENTIALS_H
#define CRM_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/auth_store.h"

struct db;

/*
 * Stores a new key (only its hash and a short visible prefix) and audits it. `expires_at`
 * may be NULL. Sets *id_out. Returns a db_status.
 */
int credentials_key_create(struct db *db, int64_t user_id, const char *name, const char *prefix,
			   const unsigned char hash[AUTH_HASH_BYTES], bool read_only,
			   const char *expires_at, int64_t actor_user_id, const char *actor,
			   int64_t *id_out);

/*
 * Revokes key `id` and audits it. Returns DB_OK, DB_NOT_FOUND, or DB_CONFLICT when it was
 * revoked already.
 */
int credentials_key_revoke(struct db *db, int64_t id, int64_t actor_user_id, const char *actor);

/*
 * Revokes every live session of `user_id` and audits it. Sets *count (optional). Returns
 * a db_status.
 */
int credentials_sessions_revoke(struct db *db, int64_t user_id, int64_t actor_user_id,
				const char *actor, int *count);

#endif
