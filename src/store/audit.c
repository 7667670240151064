/*
 * audit.c - writes audit log entries (the data layer of the audit log; reading it for
 * GET /api/v1/audit lives with that endpoint's store).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/audit.h"

#include <stdlib.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

int audit_record(struct db *db, int64_t user_id, const char *actor, const char *entity,
		 int64_t entity_id, const char *action, const json_t *before, const json_t *after)
{
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO audit_log (at, user_id, actor, entity, "
					    "entity_id, action, before, after) "
					    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	char *before_text = before ? json_to_text(before, NULL) : NULL;
	char *after_text = after ? json_to_text(after, NULL) : NULL;
	db_bind_text(stmt, 1, now);
	if (user_id > 0)
		sqlite3_bind_int64(stmt, 2, user_id);
	db_bind_text(stmt, 3, actor);
	db_bind_text(stmt, 4, entity);
	if (entity_id > 0)
		sqlite3_bind_int64(stmt, 5, entity_id);
	db_bind_text(stmt, 6, action);
	db_bind_text(stmt, 7, before_text);
	db_bind_text(stmt, 8, after_text);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	free(before_text);
	free(after_text);
	return db_status_from_sqlite(db, rc, "audit");
}
