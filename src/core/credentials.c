/*
 * credentials.c - the audited writes of API keys and sessions (credentials.h): one write
 * transaction each, the row change from the store and its audit entry.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/credentials.h"

#include "crm/audit.h"
#include "crm/db.h"
#include "crm/banned.h"

/* Commits when `status` is DB_OK, else rolls back. Returns the final status. */
static int finish(struct db *db, int status)
{
	if (status == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return status;
}

int credentials_key_create(struct db *db, int64_t user_id, const char *name, const char *prefix,
			   const unsigned char hash[AUTH_HASH_BYTES], bool read_only,
			   const char *expires_at, int64_t actor_user_id, const char *actor,
			   int64_t *id_out)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	status = auth_store_key_insert(db, user_id, name, prefix, hash, read_only, expires_at,
				       id_out);
	if (status == DB_OK) {
		json_t *after = auth_store_key_audit_json(db, *id_out);
		status = audit_record(db, actor_user_id, actor, "api_keys", *id_out, "create", NULL,
				      after);
		json_decref(after);
	}
	return finish(db, status);
}

int credentials_key_revoke(struct db *db, int64_t id, int64_t actor_user_id, const char *actor)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	json_t *before = auth_store_key_audit_json(db, id), *after = NULL;
	if (!before)
		status = DB_NOT_FOUND;
	else if (!json_is_null(json_object_get(before, "revoked_at")))
		status = DB_CONFLICT;
	else
		status = auth_store_key_set_revoked(db, id);
	if (status == DB_OK) {
		after = auth_store_key_audit_json(db, id);
		status = audit_record(db, actor_user_id, actor, "api_keys", id, "revoke", before,
				      after);
	}
	json_decref(before);
	json_decref(after);
	return finish(db, status);
}

int credentials_sessions_revoke(struct db *db, int64_t user_id, int64_t actor_user_id,
				const char *actor, int *count)
{
	int revoked = 0;
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	status = auth_store_sessions_revoke_user(db, user_id, 0, &revoked);
	if (status == DB_OK) {
		json_t *after = json_pack("{s:I, s:i}", "user_id", (json_int_t)user_id,
					  "sessions_revoked", revoked);
		status = audit_record(db, actor_user_id, actor, "sessions", user_id, "revoke", NULL,
				      after);
		json_decref(after);
	}
	status = finish(db, status);
	if (status == DB_OK && count)
		*count = revoked;
	return status;
}
