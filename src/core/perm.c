/*
 * perm.c - permission decisions: a caller's scope for an action on a resource (from the
 * grants of the caller's role, read through roles_store on every call so that a changed
 * grant applies at once), whether a scope covers a given record owner, and all of a
 * caller's scopes at once (GET auth/me).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/perm.h"

#include <string.h>

#include "crm/auth.h"
#include "crm/db.h"
#include "crm/registry.h"
#include "crm/roles.h"
#include "crm/users.h"
#include "crm/banned.h"

/*
 * A read-only API key never writes or deletes, whatever its user's role says (the
 * request pipeline refuses unsafe methods already; this keeps handlers honest too).
 */
enum perm_scope perm_scope_for(struct db *db, const struct auth_context *caller,
			       const char *resource, enum perm_action action)
{
	if (!caller || caller->user_id <= 0)
		return PERM_SCOPE_NONE;
	if (caller->read_only && action != PERM_READ)
		return PERM_SCOPE_NONE;
	enum perm_scope scope = PERM_SCOPE_NONE;
	if (roles_store_scope(db, caller->role, resource, action, &scope) != DB_OK)
		return PERM_SCOPE_NONE; /* fail closed */
	return scope;
}

/* A caller without a team has a team of one: team scope then means own. */
bool perm_scope_covers(struct db *db, enum perm_scope scope, const struct auth_context *caller,
		       int64_t owner_id)
{
	switch (scope) {
	case PERM_SCOPE_ALL:
		return true;
	case PERM_SCOPE_NONE:
		return false;
	case PERM_SCOPE_OWN:
		return owner_id > 0 && caller && owner_id == caller->user_id;
	case PERM_SCOPE_TEAM: {
		if (owner_id <= 0 || !caller)
			return false;
		if (owner_id == caller->user_id)
			return true;
		if (caller->team[0] == '\0')
			return false;
		char owner_team[sizeof(caller->team)];
		if (users_store_team_of(db, owner_id, owner_team, sizeof(owner_team)) != DB_OK)
			return false;
		return owner_team[0] != '\0' && strcmp(owner_team, caller->team) == 0;
	}
	}
	return false;
}

json_t *perm_caller_scopes(struct db *db, const struct auth_context *caller)
{
	static const enum perm_action actions[] = { PERM_READ, PERM_WRITE, PERM_DELETE };
	json_t *scopes = json_object();
	const char *name;
	for (int i = 0; (name = registry_permission_at(i)) != NULL; i++) {
		json_t *resource = json_object();
		for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
			enum perm_scope scope = perm_scope_for(db, caller, name, actions[a]);
			json_object_set_new(resource, perm_action_name(actions[a]),
					    json_string(perm_scope_name(scope)));
		}
		json_object_set_new(scopes, name, resource);
	}
	return scopes;
}
