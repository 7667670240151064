/*
 * roles.h - the data layer of roles and grants (SQL in src/store/roles_store.c). perm.c asks
 * it for a role's scope; crmctl's role commands list, show, create and grant.
 *
 * Every change is written to the audit log in the same transaction.
 */
#ifndef CRM_ROLES_H
#define CRM_ROLES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/perm.h"

struct db;

#define ROLES_NAME_MAX 63

struct role_info {
	const char *name;        /* borrowed for the duration of the visit */
	const char *description;
	bool builtin;
	int user_count;
};

/* Whether `name` is a well-formed role name: [a-z][a-z0-9_-]{0,62}. */
bool roles_name_valid(const char *name);
/*
 * Whether a grant names `resource` already: grants may name it although no registered
 * resource has that name (registry_permission_known() is the other half of the check).
 */
bool roles_store_resource_granted(struct db *db, const char *resource);

/* DB_OK when role `name` exists, DB_NOT_FOUND when not, DB_ERROR on failure. */
int roles_store_exists(struct db *db, const char *name);

/*
 * The scope that `role` has for `action` on `resource`: PERM_SCOPE_NONE without a grant.
 * Returns DB_OK (and sets *scope) or DB_ERROR.
 */
int roles_store_scope(struct db *db, const char *role, const char *resource,
		      enum perm_action action, enum perm_scope *scope);

/* Calls `visit` for every role, by name. Returns a db_status. */
int roles_store_list(struct db *db, void (*visit)(void *context, const struct role_info *role),
		     void *context);

/*
 * Calls `visit` for every grant of `role`, by resource and action. Returns DB_OK,
 * DB_NOT_FOUND (no such role) or DB_ERROR.
 */
int roles_store_grants(struct db *db, const char *role,
		       void (*visit)(void *context, const char *resource, const char *action,
				     const char *scope),
		       void *context);

/*
 * Inserts role `name` (copying the grants of `from`, unless NULL). Returns DB_OK,
 * DB_CONFLICT (exists), DB_NOT_FOUND (`from` does not exist) or another db_status. Call
 * inside a write transaction; roles_create() is the whole write.
 */
int roles_store_insert(struct db *db, const char *name, const char *description,
		       const char *from);
/* The grants of `role` as {resource: {action: scope}} (new reference). */
json_t *roles_store_grants_json(struct db *db, const char *role);
/*
 * Sets the scope of (role, resource, action), replacing an earlier grant; *old_scope is
 * what it was. Returns DB_OK, DB_NOT_FOUND (no such role) or another db_status. Call
 * inside a write transaction; roles_grant() is the whole write.
 */
int roles_store_grant_set(struct db *db, const char *role, const char *resource,
			  enum perm_action action, enum perm_scope scope,
			  enum perm_scope *old_scope);

/* ---- the writes (src/core/roles_write.c): one transaction each, audited ---------------- */

/*
 * Creates role `name` (copying the grants of `from`, unless NULL). Returns DB_OK,
 * DB_CONFLICT (exists), DB_NOT_FOUND (`from` does not exist) or another db_status.
 * `actor_user_id`/`actor` are for the audit log.
 */
int roles_create(struct db *db, const char *name, const char *description, const char *from,
		 int64_t actor_user_id, const char *actor);

/*
 * Sets the scope of (role, resource, action), replacing an earlier grant. Returns DB_OK,
 * DB_NOT_FOUND (no such role) or another db_status.
 */
int roles_grant(struct db *db, const char *role, const char *resource, enum perm_action action,
		enum perm_scope scope, int64_t actor_user_id, const char *actor);

#endif
