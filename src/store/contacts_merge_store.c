/*
 * contacts_merge_store.c - the SQL of merging contacts and of the duplicates report
 * (contacts_merge.h): moving a contact's records to another one and scanning the
 * readable contacts for the duplicate rules. The analytics triggers of purchases and
 * interactions (0004_analytics.sql) recompute both contacts' summaries when a record's
 * contact_id changes, so a merge leaves contact_summaries right without more code here.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_merge.h"

#include <string.h>

#include "crm/buf.h"
#include "crm/resource.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

int contacts_merge_store_erased(struct db *db, int64_t id, bool *erased)
{
	*erased = false;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT erased_at IS NOT NULL FROM contacts WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*erased = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOT_FOUND : db_status_from_sqlite(db, rc, "contacts");
}

/* The array `name` of `moved`, created when missing (borrowed). */
static json_t *moved_list(json_t *moved, const char *name)
{
	json_t *list = json_object_get(moved, name);
	if (!list) {
		list = json_array();
		json_object_set_new(moved, name, list);
	}
	return list;
}

/* Steps `stmt` (bound), appending the id each row returns to `list`. Resets it. */
static int collect_ids(struct db *db, sqlite3_stmt *stmt, json_t *list, const char *context)
{
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list, json_integer(sqlite3_column_int64(stmt, 0)));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, context);
}

int contacts_merge_store_move(struct db *db, int64_t from_id, int64_t into_id, const char *now,
			      json_t *moved)
{
	/* Every registered resource's reference to contacts moves (names compiled in). */
	for (int r = 0; r < resource_count(); r++) {
		const struct resource *resource = resource_at(r);
		for (const struct resource_field *field = resource->fields; field->name; field++) {
			if (field->type != RESOURCE_FIELD_REFERENCE || !field->references ||
			    strcmp(field->references, "contacts") != 0)
				continue;
			struct buf sql = BUF_INIT;
			buf_addf(&sql, "UPDATE %s SET %s = ?1, version = version + 1, updated_at = ?3"
				       " WHERE %s = ?2 RETURNING id",
				 resource->table, field->name, field->name);
			sqlite3_stmt *stmt = db_prepare(db, sql.data);
			buf_release(&sql);
			if (!stmt)
				return DB_ERROR;
			sqlite3_bind_int64(stmt, 1, into_id);
			sqlite3_bind_int64(stmt, 2, from_id);
			db_bind_text(stmt, 3, now);
			int status = collect_ids(db, stmt, moved_list(moved, resource->name),
						 resource->table);
			if (status != DB_OK)
				return status;
		}
	}
	/* Static segments: the kept contact joins each (keeping the earlier join time). */
	sqlite3_stmt *stmt = db_prepare(db, "SELECT segment_id FROM segment_members "
					    "WHERE contact_id = ? ORDER BY segment_id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, from_id);
	int status = collect_ids(db, stmt, moved_list(moved, "segments"), "segment_members");
	if (status != DB_OK)
		return status;
	stmt = db_prepare(db, "INSERT INTO segment_members (segment_id, contact_id, added_at) "
			      "SELECT segment_id, ?1, added_at FROM segment_members "
			      "WHERE contact_id = ?2 "
			      "ON CONFLICT (segment_id, contact_id) DO UPDATE SET "
			      "added_at = min(added_at, excluded.added_at)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, into_id);
	sqlite3_bind_int64(stmt, 2, from_id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "segment_members");
	if (status != DB_OK)
		return status;
	stmt = db_prepare(db, "DELETE FROM segment_members WHERE contact_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, from_id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "segment_members");
}

int contacts_merge_store_scan(struct db *db, enum contacts_duplicate_reason reason,
			      const struct operations_scope *scope,
			      int (*visit)(void *context, int64_t id, int64_t company_id,
					   const char *a, const char *b),
			      void *context)
{
	static const char *const selects[] = {
		[CONTACTS_DUPLICATE_EMAIL] = "SELECT id, company_id, email, NULL FROM contacts "
					     "WHERE email IS NOT NULL",
		[CONTACTS_DUPLICATE_PHONE] = "SELECT id, company_id, phone, NULL FROM contacts "
					     "WHERE phone IS NOT NULL",
		[CONTACTS_DUPLICATE_NAME] = "SELECT id, company_id, first_name, last_name FROM "
					    "contacts WHERE company_id IS NOT NULL",
	};
	static const char *const orders[] = {
		[CONTACTS_DUPLICATE_EMAIL] = " ORDER BY email COLLATE NOCASE, id",
		[CONTACTS_DUPLICATE_PHONE] = " ORDER BY id",
		[CONTACTS_DUPLICATE_NAME] = " ORDER BY company_id, id",
	};
	if (scope->scope == PERM_SCOPE_NONE)
		return DB_OK;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, selects[reason]);
	buf_adds(&sql, " AND erased_at IS NULL");
	bool by_team = scope->scope == PERM_SCOPE_TEAM && scope->caller_team[0];
	if (by_team)
		buf_adds(&sql, " AND owner_id IN (SELECT id FROM users WHERE team = ?)");
	else if (scope->scope != PERM_SCOPE_ALL) /* own, or a team of one */
		buf_adds(&sql, " AND owner_id = ?");
	buf_adds(&sql, orders[reason]);
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	if (by_team)
		db_bind_text(stmt, 1, scope->caller_team);
	else if (scope->scope != PERM_SCOPE_ALL)
		sqlite3_bind_int64(stmt, 1, scope->caller_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (visit(context, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
			  db_column_text(stmt, 2), db_column_text(stmt, 3)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "contacts duplicates");
}
