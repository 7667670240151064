/*
 * audit.h - the audit log: who created, changed or deleted what, when, with the record
 * before and after. Callers write the entry inside the same transaction as the change,
 * so an entry exists exactly when the change does.
 */
#ifndef CRM_AUDIT_H
#define CRM_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct db;

#define AUDIT_ACTOR_API "api"
#define AUDIT_ACTOR_CLI "crmctl"

/*
 * Appends one entry. `user_id` is the acting user (0 when none, as for crmctl); `actor`
 * says through what ("api", "crmctl"); `before`/`after` are borrowed and may be NULL
 * (create has no before, delete no after). Secrets must not be in them. Returns a
 * db_status (0 on success).
 */
int audit_record(struct db *db, int64_t user_id, const char *actor, const char *entity,
		 int64_t entity_id, const char *action, const json_t *before, const json_t *after);

#endif
