/*
 * roles_write.c - the writes of roles and grants (roles.h), each in one write transaction
 * with its audit entry, for crmctl and the API alike. The store (src/store/roles_store.c)
 * only inserts and updates rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/roles.h"

#include "crm/audit.h"
#include "crm/db.h"
#include "crm/banned.h"

int roles_create(struct db *db, const char *name, const char *description, const char *from,
		 int64_t actor_user_id, const char *actor)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	json_t *after = NULL;
	status = roles_store_insert(db, name, description, from);
	if (status == DB_OK) {
		after = json_pack("{s:s, s:s, s:o}", "name", name, "description",
				  description ? description : "", "grants",
				  roles_store_grants_json(db, name));
		if (from)
			json_object_set_new(after, "from", json_string(from));
		status = audit_record(db, actor_user_id, actor, "roles", 0, "create", NULL, after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	json_decref(after);
	return status;
}

/* A grant as the audit log shows it (new reference). */
static json_t *grant_json(const char *role, const char *resource, enum perm_action action,
			  enum perm_scope scope)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "role", role, "resource", resource, "action",
			 perm_action_name(action), "scope", perm_scope_name(scope));
}

int roles_grant(struct db *db, const char *role, const char *resource, enum perm_action action,
		enum perm_scope scope, int64_t actor_user_id, const char *actor)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	enum perm_scope old_scope;
	status = roles_store_grant_set(db, role, resource, action, scope, &old_scope);
	if (status == DB_OK) {
		json_t *before = grant_json(role, resource, action, old_scope);
		json_t *after = grant_json(role, resource, action, scope);
		status = audit_record(db, actor_user_id, actor, "grants", 0, "grant", before, after);
		json_decref(before);
		json_decref(after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	return status;
}
