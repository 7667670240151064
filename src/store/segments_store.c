/*
 * segments_store.c - the data layer of segments (segments.h): the member queries of
 * dynamic segments (one statement around the WHERE condition compiled by segment_rule.c)
 * and of static ones (segment_members), with the viewer's read scope on contacts, the
 * member writes, and the names and scores an export shows beside a member. Every value is a bound parameter; statements are cached by db_prepare().
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/segments.h"

#include <stdio.h>
#include <string.h>

#include "crm/analytics.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* SQL text plus the values of its parameters, in order. */
struct statement_builder {
	struct buf sql;
	json_t *binds; /* owned array */
};

static void builder_init(struct statement_builder *b)
{
	buf_init(&b->sql);
	b->binds = json_array();
}

static void builder_release(struct statement_builder *b)
{
	buf_release(&b->sql);
	json_decref(b->binds);
	b->binds = NULL;
}

/* Prepares the built statement and binds its values. NULL if it does not compile. */
static sqlite3_stmt *builder_prepare(struct db *db, const struct statement_builder *b)
{
	sqlite3_stmt *stmt = db_prepare(db, b->sql.data);
	if (!stmt)
		return NULL;
	size_t index;
	const json_t *value;
	json_array_foreach(b->binds, index, value)
		db_bind_json_scalar(stmt, (int)index + 1, value);
	return stmt;
}

/* " AND <the viewer may read contact c>" */
static void add_scope(struct statement_builder *b, const struct segments_viewer *viewer)
{
	switch (viewer->scope) {
	case PERM_SCOPE_ALL:
		break;
	case PERM_SCOPE_TEAM:
		if (viewer->team && viewer->team[0]) {
			buf_adds(&b->sql, " AND c.owner_id IN (SELECT id FROM users WHERE team = ?)");
			json_array_append_new(b->binds, json_string(viewer->team));
			break;
		}
		/* a team of one */
		/* fall through */
	case PERM_SCOPE_OWN:
		buf_adds(&b->sql, " AND c.owner_id = ?");
		json_array_append_new(b->binds, json_integer(viewer->user_id));
		break;
	case PERM_SCOPE_NONE:
	default:
		buf_adds(&b->sql, " AND 0");
		break;
	}
}

/*
 * Builds "SELECT <what> FROM ... WHERE ..." for the members of `query`; with `paged`,
 * after_id and the limit apply and the ids come in order.
 */
static void build_members(struct statement_builder *b, const struct segments_member_query *query,
			  const char *what, bool paged)
{
	if (query->rule) {
		buf_addf(&b->sql, "SELECT %s FROM contacts c", what);
		if (query->rule->uses_scores)
			buf_adds(&b->sql, " LEFT JOIN temp.contact_scores s ON s.contact_id = c.id");
		/* erased contacts (gdpr.h) are nobody: no dynamic segment holds them */
		buf_adds(&b->sql, " WHERE c.erased_at IS NULL");
	} else {
		buf_addf(&b->sql, "SELECT %s FROM segment_members m JOIN contacts c "
				  "ON c.id = m.contact_id WHERE m.segment_id = ?", what);
		json_array_append_new(b->binds, json_integer(query->segment_id));
	}
	/* static: by the member table's key, so that a page is one range of its index */
	const char *id_column = query->rule ? "c.id" : "m.contact_id";
	if (paged) {
		buf_addf(&b->sql, " AND %s > ?", id_column);
		json_array_append_new(b->binds, json_integer(query->after_id));
	}
	add_scope(b, &query->viewer);
	if (query->rule) {
		buf_addf(&b->sql, " AND (%s)", query->rule->where.data);
		size_t index;
		json_t *value;
		json_array_foreach(query->rule->binds, index, value)
			json_array_append(b->binds, value);
	}
	if (paged) {
		buf_addf(&b->sql, " ORDER BY %s LIMIT ?", id_column);
		json_array_append_new(b->binds, json_integer(query->limit));
	}
}

int segments_store_prepare(struct db *db, const struct segment_rule_sql *rule)
{
	if (!rule || !rule->uses_scores)
		return DB_OK;
	return analytics_scores_prepare(db, 0);
}

int segments_store_prepare_scores(struct db *db)
{
	return analytics_scores_prepare(db, 0);
}

int segments_store_contacts_estimate(struct db *db, int64_t *contacts)
{
	*contacts = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT COALESCE(MAX(id), 0) FROM contacts");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*contacts = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, "contacts estimate");
}

int segments_store_member_ids(struct db *db, const struct segments_member_query *query,
			      int64_t *ids, int *count)
{
	*count = 0;
	struct statement_builder b;
	builder_init(&b);
	build_members(&b, query, query->rule ? "c.id" : "m.contact_id", true);
	int status = DB_OK;
	sqlite3_stmt *stmt = builder_prepare(db, &b);
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	int rc = SQLITE_DONE;
	while (*count < query->limit && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ids[(*count)++] = sqlite3_column_int64(stmt, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = db_status_from_sqlite(db, rc, "segment members");
	sqlite3_reset(stmt);
cleanup:
	builder_release(&b);
	return status;
}

int segments_store_member_count(struct db *db, const struct segments_member_query *query,
				int64_t *count)
{
	*count = 0;
	struct statement_builder b;
	builder_init(&b);
	build_members(&b, query, "count(*)", false);
	int status = DB_OK;
	sqlite3_stmt *stmt = builder_prepare(db, &b);
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(stmt, 0);
	else
		status = db_status_from_sqlite(db, rc, "segment count");
	sqlite3_reset(stmt);
cleanup:
	builder_release(&b);
	return status;
}

/* Runs `sql` (segment id, contact id[, time]) once per id, summing the changed rows. */
static int members_write(struct db *db, const char *sql, bool with_time, int64_t segment_id,
			 const int64_t *ids, size_t count, int64_t *changed)
{
	*changed = 0;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	for (size_t i = 0; i < count; i++) {
		sqlite3_stmt *stmt = db_prepare(db, sql);
		if (!stmt)
			return DB_ERROR;
		sqlite3_bind_int64(stmt, 1, segment_id);
		sqlite3_bind_int64(stmt, 2, ids[i]);
		if (with_time)
			db_bind_text(stmt, 3, now);
		int rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		int status = db_status_from_sqlite(db, rc, "segment members");
		if (status != DB_OK)
			return status;
		*changed += db_changes(db);
	}
	return DB_OK;
}

int segments_store_members_add(struct db *db, int64_t segment_id, const int64_t *ids,
			       size_t count, int64_t *changed)
{
	return members_write(db,
			     "INSERT OR IGNORE INTO segment_members (segment_id, contact_id, added_at) "
			     "VALUES (?, ?, ?)",
			     true, segment_id, ids, count, changed);
}

int segments_store_members_remove(struct db *db, int64_t segment_id, const int64_t *ids,
				  size_t count, int64_t *changed)
{
	return members_write(db, "DELETE FROM segment_members WHERE segment_id = ? AND contact_id = ?",
			     false, segment_id, ids, count, changed);
}

int segments_store_contact_segment_ids(struct db *db, int64_t contact_id, json_t **ids)
{
	*ids = json_array();
	sqlite3_stmt *stmt = db_prepare(db, "SELECT segment_id FROM segment_members "
					    "WHERE contact_id = ? ORDER BY segment_id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(*ids, json_integer(sqlite3_column_int64(stmt, 0)));
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "segment members");
}

/* Copies column `column` of `stmt` (text or NULL) into `out` (`size` bytes), cut if longer. */
static void copy_text(sqlite3_stmt *stmt, int column, char *out, size_t size)
{
	const char *text = db_column_text(stmt, column);
	snprintf(out, size, "%s", text ? text : "");
}

int segments_store_member_extras(struct db *db, const struct segments_viewer *viewer,
				 int64_t contact_id, struct segments_member_extras *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *stmt = db_prepare(
		db,
		"SELECT CASE WHEN ?1 OR co.owner_id = ?2 OR "
		" (?3 <> '' AND co.owner_id IN (SELECT id FROM users WHERE team = ?3)) "
		" THEN co.name END, u.name, s.tier, s.predicted_ltv_cents "
		"FROM contacts c LEFT JOIN companies co ON co.id = c.company_id "
		"LEFT JOIN users u ON u.id = c.owner_id "
		"LEFT JOIN temp.contact_scores s ON s.contact_id = c.id WHERE c.id = ?4");
	if (!stmt)
		return DB_ERROR;
	enum perm_scope scope = viewer->company_scope;
	bool team = scope == PERM_SCOPE_TEAM && viewer->team && viewer->team[0];
	sqlite3_bind_int(stmt, 1, scope == PERM_SCOPE_ALL);
	sqlite3_bind_int64(stmt, 2, scope == PERM_SCOPE_OWN || scope == PERM_SCOPE_TEAM ? viewer->user_id : 0);
	db_bind_text(stmt, 3, team ? viewer->team : "");
	sqlite3_bind_int64(stmt, 4, contact_id);
	int rc = sqlite3_step(stmt);
	int status = DB_OK;
	if (rc == SQLITE_ROW) {
		copy_text(stmt, 0, out->company, sizeof(out->company));
		copy_text(stmt, 1, out->owner, sizeof(out->owner));
		copy_text(stmt, 2, out->tier, sizeof(out->tier));
		out->predicted_ltv_cents = sqlite3_column_int64(stmt, 3);
	} else {
		status = rc == SQLITE_DONE ? DB_NOT_FOUND : db_status_from_sqlite(db, rc, "member extras");
	}
	sqlite3_reset(stmt);
	return status;
}
