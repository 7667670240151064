/*
 * perm.h - roles and grants: may this caller read, write or delete this record?
 *
 * A grant is (role, resource, action, scope). Scope `all` covers every record, `team`
 * records whose owner is in the caller's team, `own` records the caller owns, `none`
 * nothing. A record without an owner is covered only by `all`.
 */
#ifndef CRM_PERM_H
#define CRM_PERM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct db;
struct auth_context;

enum perm_action { PERM_READ, PERM_WRITE, PERM_DELETE };
enum perm_scope { PERM_SCOPE_NONE, PERM_SCOPE_OWN, PERM_SCOPE_TEAM, PERM_SCOPE_ALL };

const char *perm_action_name(enum perm_action action);
const char *perm_scope_name(enum perm_scope scope);
/* Parses "read"/"write"/"delete"; -1 if unknown. */
int perm_action_parse(const char *text);
/* Parses "all"/"team"/"own"/"none"; -1 if unknown. */
int perm_scope_parse(const char *text);

/* The caller's scope for `action` on `resource` (PERM_SCOPE_NONE when no grant). */
enum perm_scope perm_scope_for(struct db *db, const struct auth_context *caller,
			       const char *resource, enum perm_action action);

/*
 * Whether `scope` covers a record owned by `owner_id` (0 = no owner) for `caller`.
 * Looks up the owner's team for PERM_SCOPE_TEAM.
 */
bool perm_scope_covers(struct db *db, enum perm_scope scope, const struct auth_context *caller,
		       int64_t owner_id);

/*
 * The caller's scope for each action on each resource that grants can name, for clients
 * that show only what the caller may do: {"contacts":{"read":"all","write":"own",
 * "delete":"none"},...} (a new reference; a read-only API key has "none" but for read).
 */
json_t *perm_caller_scopes(struct db *db, const struct auth_context *caller);

#endif
