/*
 * segment_watch_store.c - the SQL of the membership pass of dynamic segments
 * (segment_watch.h): the subscription probe, the kept member sets of
 * migrations/0015_segment_watch.sql, and the rule's current members in a window of contact
 * ids. The member query wraps the WHERE condition compiled by segment_rule.c (compiled-in
 * fragments, every value a bound parameter); nothing here is built from request text.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/segment_watch.h"

#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "store/db_sqlite.h"
#include "crm/log.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

int segment_watch_store_probe(struct db *db, bool *subscribed, bool *kept)
{
	*subscribed = false;
	*kept = false;
	int added = webhooks_store_subscribed(db, "segment.member_added");
	int removed = added == 0 ? webhooks_store_subscribed(db, "segment.member_removed") : 0;
	if (added < 0 || removed < 0)
		return added < 0 ? added : removed;
	*subscribed = added > 0 || removed > 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM segment_watch_state)");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*kept = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, "segment watch probe");
}

int segment_watch_store_segments(struct db *db, int64_t **ids, size_t *count)
{
	*ids = NULL;
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT id FROM segments WHERE kind = ? ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, "dynamic");
	size_t room = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*count == room) {
			room = room ? room * 2 : 16;
			*ids = xrealloc(*ids, room * sizeof(**ids));
		}
		(*ids)[(*count)++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "segment watch segments");
	if (status != DB_OK) {
		free(*ids);
		*ids = NULL;
		*count = 0;
	}
	return status;
}

int segment_watch_store_rule(struct db *db, int64_t segment_id, json_t **rule)
{
	*rule = NULL;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT rule FROM segments WHERE id = ? AND kind = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	db_bind_text(stmt, 2, "dynamic");
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
		const char *text = (const char *)sqlite3_column_text(stmt, 0);
		*rule = json_loads(text, 0, NULL);
		if (!*rule)
			log_warn("segment watch: segment %lld has a rule that is not JSON",
				 (long long)segment_id);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return DB_OK;
	return db_status_from_sqlite(db, rc, "segment watch rule");
}

int segment_watch_store_state(struct db *db, int64_t segment_id, bool *baseline)
{
	*baseline = false;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT baseline_at IS NOT NULL FROM segment_watch_state "
					    "WHERE segment_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*baseline = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return DB_OK;
	return db_status_from_sqlite(db, rc, "segment watch state");
}

int segment_watch_store_state_begin(struct db *db, int64_t segment_id)
{
	sqlite3_stmt *stmt = db_prepare(db, "INSERT OR IGNORE INTO segment_watch_state (segment_id) "
					    "VALUES (?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	return db_step_done(db, stmt, "segment watch state");
}

int segment_watch_store_state_finish(struct db *db, int64_t segment_id, bool baseline,
				     const char *now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE segment_watch_state SET checked_at = ?2, "
		    "baseline_at = CASE WHEN ?3 THEN ?2 ELSE baseline_at END, "
		    "members = (SELECT count(*) FROM segment_watch_members WHERE segment_id = ?1) "
		    "WHERE segment_id = ?1");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	db_bind_text(stmt, 2, now);
	sqlite3_bind_int(stmt, 3, baseline ? 1 : 0);
	return db_step_done(db, stmt, "segment watch state");
}

int segment_watch_store_next_contact(struct db *db, int64_t after_id, int64_t *next)
{
	*next = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT min(id) FROM contacts WHERE id > ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, after_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*next = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return db_status_from_sqlite(db, rc, "segment watch next contact");
}

/* Steps `stmt` into `ids` (at most `room`), then resets it. */
static int read_ids(struct db *db, sqlite3_stmt *stmt, int64_t *ids, int room, int *count,
		    const char *context)
{
	*count = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *count < room)
		ids[(*count)++] = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW) /* more rows than the window holds: cannot be */
		return DB_ERROR;
	return db_status_from_sqlite(db, rc, context);
}

int segment_watch_store_current(struct db *db, const struct segment_rule_sql *rule,
				int64_t after_id, int64_t upto_id, int64_t *ids, int *count)
{
	*count = 0;
	/* The FROM and the erased-contact condition of segments_store.c's member query; the
	 * window is a range of the contacts' rowid, so a window reads at most its contacts. */
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "SELECT c.id FROM contacts c");
	if (rule->uses_scores)
		buf_adds(&sql, " LEFT JOIN temp.contact_scores s ON s.contact_id = c.id");
	buf_addf(&sql, " WHERE c.erased_at IS NULL AND c.id > ? AND c.id <= ? AND (%s)"
		       " ORDER BY c.id", rule->where.data);
	int status = DB_ERROR;
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	if (stmt) {
		sqlite3_bind_int64(stmt, 1, after_id);
		sqlite3_bind_int64(stmt, 2, upto_id);
		size_t index;
		const json_t *value;
		json_array_foreach(rule->binds, index, value)
			db_bind_json_scalar(stmt, (int)index + 3, value);
		status = read_ids(db, stmt, ids, (int)(upto_id - after_id), count,
				  "segment watch members");
	}
	buf_release(&sql);
	return status;
}

int segment_watch_store_kept(struct db *db, int64_t segment_id, int64_t after_id,
			     int64_t upto_id, int64_t *ids, int *count)
{
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT contact_id FROM segment_watch_members "
					    "WHERE segment_id = ? AND contact_id > ? AND contact_id <= ? "
					    "ORDER BY contact_id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	sqlite3_bind_int64(stmt, 2, after_id);
	sqlite3_bind_int64(stmt, 3, upto_id);
	return read_ids(db, stmt, ids, (int)(upto_id - after_id), count, "segment watch kept");
}

/* Runs `stmt` (segment id, contact id bound here); *changed whether a row changed. */
static int member_write(struct db *db, sqlite3_stmt *stmt, int64_t segment_id,
			int64_t contact_id, bool *changed)
{
	*changed = false;
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, segment_id);
	sqlite3_bind_int64(stmt, 2, contact_id);
	int status = db_step_done(db, stmt, "segment watch member");
	if (status == DB_OK)
		*changed = db_changes(db) > 0;
	return status;
}

int segment_watch_store_add(struct db *db, int64_t segment_id, int64_t contact_id,
			    bool *changed)
{
	/* from contacts: a contact deleted since it was read is skipped, not a key error */
	return member_write(db,
			    db_prepare(db, "INSERT OR IGNORE INTO segment_watch_members (segment_id, "
					   "contact_id) SELECT ?1, id FROM contacts WHERE id = ?2"),
			    segment_id, contact_id, changed);
}

int segment_watch_store_remove(struct db *db, int64_t segment_id, int64_t contact_id,
			       bool *changed)
{
	return member_write(db,
			    db_prepare(db, "DELETE FROM segment_watch_members WHERE segment_id = ? "
					   "AND contact_id = ?"),
			    segment_id, contact_id, changed);
}

int segment_watch_store_drop_some(struct db *db, int limit, int64_t *dropped_states, bool *more)
{
	*dropped_states = 0;
	*more = false;
	sqlite3_stmt *stmt = db_prepare(
		db, "DELETE FROM segment_watch_members WHERE (segment_id, contact_id) IN "
		    "(SELECT segment_id, contact_id FROM segment_watch_members LIMIT ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int(stmt, 1, limit);
	int status = db_step_done(db, stmt, "segment watch drop");
	if (status != DB_OK)
		return status;
	if (db_changes(db) >= limit) {
		*more = true;
		return DB_OK;
	}
	stmt = db_prepare(db, "DELETE FROM segment_watch_state");
	if (!stmt)
		return DB_ERROR;
	status = db_step_done(db, stmt, "segment watch drop");
	if (status == DB_OK)
		*dropped_states = db_changes(db);
	return status;
}
