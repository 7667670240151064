/*
 * users_write.c - the writes of user accounts (users.h): create and change, each in one
 * write transaction with its audit entry, for the API (src/http/users.c), crmctl and
 * demo-data alike. The store (src/store/users_store.c) only inserts and updates rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/users.h"

#include "crm/audit.h"
#include "crm/auth_store.h"
#include "crm/db.h"
#include "crm/banned.h"

int users_create(struct db *db, const struct user_change *fields,
		 const struct user_actor *actor, struct user *created)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	json_t *after = NULL;
	status = users_store_insert(db, fields, created);
	if (status == DB_OK) {
		after = users_user_to_json(created);
		status = audit_record(db, actor->user_id, actor->actor, "users", created->id,
				      "create", NULL, after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	json_decref(after);
	return status;
}

/* The audit entry of a change from `before` to `after`: a new password shows only as such. */
static int audit_change(struct db *db, const struct user_actor *actor, const struct user *before,
			const struct user *after, bool password_changed)
{
	json_t *before_json = users_user_to_json(before);
	json_t *after_json = users_user_to_json(after);
	if (password_changed) /* that it changed, never what to */
		json_object_set_new(after_json, "password_changed", json_true());
	int status = audit_record(db, actor->user_id, actor->actor, "users", after->id, "update",
				  before_json, after_json);
	json_decref(before_json);
	json_decref(after_json);
	return status;
}

int users_update(struct db *db, int64_t id, int64_t expected_version,
		 const struct user_change *change, const struct user_actor *actor,
		 int64_t keep_session_id, struct user *after)
{
	struct user before;
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	if ((status = users_store_get(db, id, &before)) != DB_OK)
		goto cleanup;
	if (expected_version > 0 && before.version != expected_version) {
		status = DB_STALE;
		goto cleanup;
	}
	if (!users_change_differs(&before, change)) {
		*after = before;
		status = db_commit(db);
		goto cleanup;
	}
	if ((status = users_store_apply(db, id, change, after)) != DB_OK)
		goto cleanup;
	if (change->set_password || change->disabled == 1)
		status = auth_store_sessions_revoke_user(db, id, keep_session_id, NULL);
	if (status == DB_OK)
		status = audit_change(db, actor, &before, after, change->set_password);
	if (status == DB_OK)
		status = db_commit(db);
cleanup:
	if (status != DB_OK)
		db_rollback(db);
	return status;
}
