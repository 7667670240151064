/*
 * operations_store.c - the data layer of the operational sub-routes (operations.h): the
 * default-currency setting, the stage history of opportunities, the pipeline sums and the
 * contact timeline. SQL text is built from compiled-in pieces only; every value is bound.
 * Statements come from db_prepare()'s cache (the few variants of each query are cached
 * under their text).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/operations.h"

#include <ctype.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/opportunities.h"
#include "crm/banned.h"

/* ---------------------------------------------------------------- building queries */

/* SQL text and the values to bind to it, in order. Release with builder_release(). */
struct builder {
	struct buf sql;
	json_t *binds; /* array of strings and integers, owned */
};

static void builder_init(struct builder *b)
{
	buf_init(&b->sql);
	b->binds = json_array();
}

static void builder_release(struct builder *b)
{
	buf_release(&b->sql);
	json_decref(b->binds);
	b->binds = NULL;
}

static void builder_bind(struct builder *b, json_t *value /* steals */)
{
	json_array_append_new(b->binds, value);
}

/* Prepares the builder's SQL and binds its values. NULL when it does not compile. */
static sqlite3_stmt *builder_prepare(struct db *db, const struct builder *b)
{
	sqlite3_stmt *stmt = db_prepare(db, b->sql.data);
	if (!stmt)
		return NULL;
	size_t index;
	const json_t *value;
	json_array_foreach(b->binds, index, value) {
		if (json_is_integer(value))
			sqlite3_bind_int64(stmt, (int)index + 1, json_integer_value(value));
		else
			db_bind_text(stmt, (int)index + 1, json_string_value(value));
	}
	return stmt;
}

/*
 * Appends " AND <condition>" limiting `owner_column` (compiled-in text) to what `scope`
 * covers: all -> nothing, own -> the caller, team -> the caller's team (a caller without a
 * team is a team of one), none -> nothing at all.
 */
static void add_scope(struct builder *b, const struct operations_scope *scope,
		      const char *owner_column)
{
	switch (scope->scope) {
	case PERM_SCOPE_ALL:
		return;
	case PERM_SCOPE_TEAM:
	case PERM_SCOPE_OWN:
		if (scope->scope == PERM_SCOPE_TEAM && scope->caller_team && scope->caller_team[0]) {
			buf_addf(&b->sql, " AND %s IN (SELECT id FROM users WHERE team = ?)",
				 owner_column);
			builder_bind(b, json_string(scope->caller_team));
		} else { /* own, or a team of one */
			buf_addf(&b->sql, " AND %s = ?", owner_column);
			builder_bind(b, json_integer(scope->caller_id));
		}
		return;
	case PERM_SCOPE_NONE:
		break;
	}
	buf_adds(&b->sql, " AND 0");
}

/* ---------------------------------------------------------------- settings */

int operations_store_default_currency(struct db *db, char currency[4])
{
	memcpy(currency, OPPORTUNITIES_DEFAULT_CURRENCY, 4);
	sqlite3_stmt *stmt = db_prepare(db, "SELECT value FROM settings WHERE key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, "default_currency");
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *value = db_column_text(stmt, 0);
		if (value && strlen(value) == 3 && isupper((unsigned char)value[0]) &&
		    isupper((unsigned char)value[1]) && isupper((unsigned char)value[2]))
			memcpy(currency, value, 4);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "settings");
}

/* ---------------------------------------------------------------- stage history */

#define STAGE_CHANGE_COLUMNS "id, opportunity_id, from_stage, to_stage, changed_at, user_id"

/* The stage change in the current row of a statement selecting STAGE_CHANGE_COLUMNS. */
static json_t *row_to_stage_change(sqlite3_stmt *stmt)
{
	const char *from = db_column_text(stmt, 2), *to = db_column_text(stmt, 3),
		   *at = db_column_text(stmt, 4);
	json_t *record = json_object();
	json_object_set_new(record, "id", json_integer(sqlite3_column_int64(stmt, 0)));
	json_object_set_new(record, "opportunity_id", json_integer(sqlite3_column_int64(stmt, 1)));
	json_object_set_new(record, "from_stage", from ? json_string(from) : json_null());
	json_object_set_new(record, "to_stage", to ? json_string(to) : json_null());
	json_object_set_new(record, "changed_at", at ? json_string(at) : json_null());
	json_object_set_new(record, "user_id", sqlite3_column_type(stmt, 5) == SQLITE_NULL
						       ? json_null()
						       : json_integer(sqlite3_column_int64(stmt, 5)));
	return record;
}

int operations_store_stage_change_add(struct db *db, int64_t opportunity_id,
				      const char *from_stage, const char *to_stage,
				      const char *changed_at, int64_t user_id)
{
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO opportunity_stage_changes (opportunity_id, "
					    "from_stage, to_stage, changed_at, user_id) "
					    "VALUES (?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, opportunity_id);
	db_bind_text(stmt, 2, from_stage);
	db_bind_text(stmt, 3, to_stage);
	db_bind_text(stmt, 4, changed_at);
	if (user_id > 0)
		sqlite3_bind_int64(stmt, 5, user_id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "opportunity_stage_changes");
}

int operations_store_stage_changes(struct db *db, int64_t opportunity_id, int64_t after_id,
				   int limit, json_t **rows, bool *more)
{
	*rows = json_array();
	*more = false;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT " STAGE_CHANGE_COLUMNS
					    " FROM opportunity_stage_changes "
					    "WHERE opportunity_id = ? AND id > ? ORDER BY id LIMIT ?");
	if (!stmt) {
		json_decref(*rows);
		*rows = NULL;
		return DB_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, opportunity_id);
	sqlite3_bind_int64(stmt, 2, after_id);
	sqlite3_bind_int(stmt, 3, limit + 1);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((int)json_array_size(*rows) == limit) {
			*more = true;
			continue;
		}
		json_array_append_new(*rows, row_to_stage_change(stmt));
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "opportunity_stage_changes");
	if (status != DB_OK) {
		json_decref(*rows);
		*rows = NULL;
	}
	return status;
}

int operations_store_stage_change_get(struct db *db, int64_t id, json_t **record)
{
	*record = NULL;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT " STAGE_CHANGE_COLUMNS
					    " FROM opportunity_stage_changes WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		*record = row_to_stage_change(stmt);
		status = DB_OK;
	} else if (rc == SQLITE_DONE) {
		status = DB_NOT_FOUND;
	} else {
		status = db_status_from_sqlite(db, rc, "opportunity_stage_changes");
	}
	sqlite3_reset(stmt);
	return status;
}

/* ---------------------------------------------------------------- pipeline */

/*
 * A non-negative sum that SQLite's total() gave as a double, as an integer: exact while it
 * is below 2^53 (every realistic pipeline), clamped instead of overflowing beyond.
 */
static int64_t sum_to_integer(double sum)
{
	if (!(sum > 0))
		return 0;
	if (sum >= 9.2e18)
		return INT64_C(9200000000000000000);
	return (int64_t)(sum + 0.5);
}

int operations_store_pipeline(struct db *db, const struct operations_pipeline_query *query,
			      json_t **rows)
{
	*rows = NULL;
	struct builder b;
	builder_init(&b);
	/* total() never fails on overflow (sum() would), and is exact below 2^53 */
	buf_adds(&b.sql, "SELECT stage, currency, count(*), total(amount_cents), "
			 "total(amount_cents * probability) FROM opportunities WHERE 1");
	add_scope(&b, &query->read, "owner_id");
	if (query->owner_id > 0) {
		buf_adds(&b.sql, " AND owner_id = ?");
		builder_bind(&b, json_integer(query->owner_id));
	}
	if (query->expected_close_from) {
		buf_adds(&b.sql, " AND expected_close >= ?");
		builder_bind(&b, json_string(query->expected_close_from));
	}
	if (query->expected_close_to) {
		buf_adds(&b.sql, " AND expected_close <= ?");
		builder_bind(&b, json_string(query->expected_close_to));
	}
	if (query->currency) {
		buf_adds(&b.sql, " AND currency = ?");
		builder_bind(&b, json_string(query->currency));
	}
	buf_adds(&b.sql, " GROUP BY currency, stage ORDER BY currency, stage");

	int status = DB_ERROR;
	sqlite3_stmt *stmt = builder_prepare(db, &b);
	if (!stmt)
		goto cleanup;
	json_t *result = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *stage = db_column_text(stmt, 0), *currency = db_column_text(stmt, 1);
		int64_t weighted_raw = sum_to_integer(sqlite3_column_double(stmt, 4));
		json_array_append_new(
			result,
			json_pack("{s:s, s:s, s:I, s:I, s:I}", "stage", stage ? stage : "",
				  "currency", currency ? currency : "", "count",
				  (json_int_t)sqlite3_column_int64(stmt, 2), "amount_cents",
				  (json_int_t)sum_to_integer(sqlite3_column_double(stmt, 3)),
				  "weighted_amount_cents", (json_int_t)((weighted_raw + 50) / 100)));
	}
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "pipeline");
	if (status == DB_OK)
		*rows = result;
	else
		json_decref(result);
cleanup:
	builder_release(&b);
	return status;
}

/* ---------------------------------------------------------------- timeline */

/* Starts one part of the timeline's UNION ALL. */
static void timeline_part(struct builder *b, bool *first, const char *select, int64_t contact_id)
{
	if (!*first)
		buf_adds(&b->sql, " UNION ALL ");
	*first = false;
	buf_adds(&b->sql, select);
	builder_bind(b, json_integer(contact_id));
}

int operations_store_timeline(struct db *db, const struct operations_timeline_query *query,
			      json_t **items, bool *more)
{
	*items = json_array();
	*more = false;
	struct builder b;
	builder_init(&b);
	buf_adds(&b.sql, "SELECT type, id, at FROM (");
	bool first = true;
	if (query->interactions.scope != PERM_SCOPE_NONE) {
		timeline_part(&b, &first, "SELECT 'interaction' AS type, id, occurred_at AS at "
					  "FROM interactions WHERE contact_id = ?",
			      query->contact_id);
		add_scope(&b, &query->interactions, "user_id");
	}
	if (query->opportunities.scope != PERM_SCOPE_NONE) {
		timeline_part(&b, &first, "SELECT 'opportunity', id, created_at FROM opportunities "
					  "WHERE contact_id = ?",
			      query->contact_id);
		add_scope(&b, &query->opportunities, "owner_id");
		/* the first stage is the opportunity item itself */
		timeline_part(&b, &first, "SELECT 'stage_change', s.id, s.changed_at "
					  "FROM opportunity_stage_changes AS s JOIN opportunities AS o "
					  "ON o.id = s.opportunity_id WHERE o.contact_id = ? "
					  "AND s.from_stage IS NOT NULL",
			      query->contact_id);
		add_scope(&b, &query->opportunities, "o.owner_id");
	}
	if (query->purchases)
		timeline_part(&b, &first, "SELECT 'purchase', id, occurred_at FROM purchases "
					  "WHERE contact_id = ?",
			      query->contact_id);
	if (query->tasks.scope != PERM_SCOPE_NONE) {
		timeline_part(&b, &first, "SELECT 'task', id, created_at FROM tasks "
					  "WHERE contact_id = ?",
			      query->contact_id);
		add_scope(&b, &query->tasks, "assignee_id");
	}
	int status = DB_OK;
	if (first) /* nothing the caller may read */
		goto cleanup;
	buf_adds(&b.sql, ")");
	if (query->has_cursor) {
		/* strictly after the cursor in the order (at DESC, type ASC, id DESC) */
		buf_adds(&b.sql, " WHERE at < ? OR (at = ? AND (type > ? OR (type = ? AND id < ?)))");
		builder_bind(&b, json_string(query->cursor_at));
		builder_bind(&b, json_string(query->cursor_at));
		builder_bind(&b, json_string(query->cursor_type));
		builder_bind(&b, json_string(query->cursor_type));
		builder_bind(&b, json_integer(query->cursor_id));
	}
	buf_adds(&b.sql, " ORDER BY at DESC, type, id DESC LIMIT ?");
	builder_bind(&b, json_integer(query->limit + 1));

	sqlite3_stmt *stmt = builder_prepare(db, &b);
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((int)json_array_size(*items) == query->limit) {
			*more = true;
			continue;
		}
		const char *type = db_column_text(stmt, 0), *at = db_column_text(stmt, 2);
		json_array_append_new(*items, json_pack("{s:s, s:I, s:s}", "type", type ? type : "",
							"id", (json_int_t)sqlite3_column_int64(stmt, 1),
							"at", at ? at : ""));
	}
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "timeline");
cleanup:
	builder_release(&b);
	if (status != DB_OK) {
		json_decref(*items);
		*items = NULL;
	}
	return status;
}
