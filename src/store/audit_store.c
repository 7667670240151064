/*
 * audit_store.c - the data layer that reads the audit log (audit_api.h). Writing entries
 * is audit.c's. SQL text is built from compiled-in pieces; every value is bound.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/audit_api.h"

#include <stdlib.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

#define AUDIT_COLUMNS "id, at, user_id, actor, entity, entity_id, action, before, after"

/* A JSON column: its parsed value (new reference), or null when absent or not JSON. */
static json_t *json_column(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	json_t *value = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return value ? value : json_null();
}

static json_t *integer_or_null(sqlite3_stmt *stmt, int column)
{
	return sqlite3_column_type(stmt, column) == SQLITE_NULL
		       ? json_null()
		       : json_integer(sqlite3_column_int64(stmt, column));
}

static json_t *text_or_null(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	json_t *value = text ? json_string(text) : NULL;
	return value ? value : json_null();
}

/* The entry in the current row of a statement selecting AUDIT_COLUMNS (new reference). */
static json_t *row_to_entry(sqlite3_stmt *stmt)
{
	json_t *entry = json_object();
	json_object_set_new(entry, "id", json_integer(sqlite3_column_int64(stmt, 0)));
	json_object_set_new(entry, "at", text_or_null(stmt, 1));
	json_object_set_new(entry, "user_id", integer_or_null(stmt, 2));
	json_object_set_new(entry, "actor", text_or_null(stmt, 3));
	json_object_set_new(entry, "entity", text_or_null(stmt, 4));
	json_object_set_new(entry, "entity_id", integer_or_null(stmt, 5));
	json_object_set_new(entry, "action", text_or_null(stmt, 6));
	json_object_set_new(entry, "before", json_column(stmt, 7));
	json_object_set_new(entry, "after", json_column(stmt, 8));
	return entry;
}

int audit_store_list(struct db *db, const struct audit_query *query, json_t **rows, bool *more)
{
	*rows = json_array();
	*more = false;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "SELECT " AUDIT_COLUMNS " FROM audit_log WHERE 1");
	/* the conditions in a fixed order, so that each combination is one cached statement */
	if (query->entity)
		buf_adds(&sql, " AND entity = ?");
	if (query->entity_id > 0)
		buf_adds(&sql, " AND entity_id = ?");
	if (query->user_id > 0)
		buf_adds(&sql, " AND user_id = ?");
	if (query->action)
		buf_adds(&sql, " AND action = ?");
	/* A time range is taken to be narrow, so that it is read from audit_log_at instead of
	 * walking the whole log in id order (see the ranges in resource_store.c). */
	if (query->since)
		buf_adds(&sql, " AND likelihood(at >= ?, 0.01)");
	if (query->until)
		buf_adds(&sql, " AND likelihood(at < ?, 0.01)");
	if (query->before_id > 0)
		buf_adds(&sql, " AND id < ?");
	buf_adds(&sql, " ORDER BY id DESC LIMIT ?");
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt) {
		json_decref(*rows);
		*rows = NULL;
		return DB_ERROR;
	}
	int index = 1;
	if (query->entity)
		db_bind_text(stmt, index++, query->entity);
	if (query->entity_id > 0)
		sqlite3_bind_int64(stmt, index++, query->entity_id);
	if (query->user_id > 0)
		sqlite3_bind_int64(stmt, index++, query->user_id);
	if (query->action)
		db_bind_text(stmt, index++, query->action);
	if (query->since)
		db_bind_text(stmt, index++, query->since);
	if (query->until)
		db_bind_text(stmt, index++, query->until);
	if (query->before_id > 0)
		sqlite3_bind_int64(stmt, index++, query->before_id);
	sqlite3_bind_int(stmt, index, query->limit + 1);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((int)json_array_size(*rows) == query->limit) {
			*more = true;
			continue;
		}
		json_array_append_new(*rows, row_to_entry(stmt));
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "audit_log");
	if (status != DB_OK) {
		json_decref(*rows);
		*rows = NULL;
	}
	return status;
}

int audit_store_entries_of(struct db *db, const char *entity, int64_t entity_id, json_t *rows)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT " AUDIT_COLUMNS " FROM audit_log "
					    "WHERE entity = ? AND entity_id = ? ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, entity);
	sqlite3_bind_int64(stmt, 2, entity_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(rows, row_to_entry(stmt));
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "audit_log");
}
