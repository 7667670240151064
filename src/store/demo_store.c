/*
 * demo_store.c - the SQL of crmctl demo-data (demo_store.h): multi-row INSERTs of cached
 * statements, the ids and contacts the generators read back, and the statistics refresh
 * at the end.
 *
 * A batch holds up to demo_rows_capacity() rows (1,000, or fewer when SQLite's limit on
 * variables is low) with their values (text in one arena) and writes them with one
 * "INSERT INTO t (...) VALUES (?, ..), (?, ..), .." statement, prepared once per row count
 * and cached by db_prepare(). The full-text index and the other triggers do their work
 * per statement, so single-row inserts would be many times slower. Everything runs inside
 * the caller's write transaction; the generators decide what goes in, this file how.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/demo_store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/timeutil.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

#define DEMO_BATCH_ROWS 1000 /* rows per INSERT at most */

/* The INSERT's head and its number of values per row, by enum demo_table. */
static const struct demo_table_spec {
	const char *name; /* for the log */
	const char *head;
	int columns;
} demo_tables[] = {
	[DEMO_TABLE_COMPANIES] = { "companies",
				   "INTO companies (id, name, domain, industry, owner_id, tags, "
				   "custom, created_at, updated_at)",
				   9 },
	[DEMO_TABLE_CONTACTS] = { "contacts",
				  "INTO contacts (id, first_name, last_name, email, phone, title, "
				  "company_id, owner_id, lifecycle, relationship_level, tags, source, "
				  "consent, custom, created_at, updated_at)",
				  16 },
	[DEMO_TABLE_RECORD_TAGS] = { "record_tags",
				     "OR IGNORE INTO record_tags (entity, tag, record_id)", 3 },
	[DEMO_TABLE_OPPORTUNITIES] = { "opportunities",
				       "INTO opportunities (id, name, contact_id, company_id, "
				       "owner_id, stage, amount_cents, currency, probability, "
				       "expected_close, closed_at, lost_reason, created_at, updated_at)",
				       14 },
	[DEMO_TABLE_STAGE_CHANGES] = { "opportunity_stage_changes",
				       "INTO opportunity_stage_changes (opportunity_id, from_stage, "
				       "to_stage, changed_at, user_id)",
				       5 },
	[DEMO_TABLE_TASKS] = { "tasks",
			       "INTO tasks (title, due_at, contact_id, opportunity_id, assignee_id, "
			       "done, done_at, created_at, updated_at)",
			       9 },
	[DEMO_TABLE_INTERACTIONS] = { "interactions",
				      "INTO interactions (contact_id, kind, direction, subject, body, "
				      "occurred_at, outcome, status, user_id, created_at, updated_at)",
				      11 },
	[DEMO_TABLE_PURCHASES] = { "purchases",
				   "INTO purchases (contact_id, amount_cents, currency, occurred_at, "
				   "opportunity_id, reference, created_at, updated_at)",
				   8 },
};

/* ================================================================ batches of rows */

enum value_type { VALUE_NULL, VALUE_INTEGER, VALUE_TEXT };

struct value {
	enum value_type type;
	int64_t number;
	size_t offset, len; /* VALUE_TEXT: in the arena */
};

struct demo_rows {
	struct db *db;
	const struct demo_table_spec *table;
	size_t capacity; /* rows */
	size_t rows;     /* complete rows held */
	size_t used;     /* values held (rows * columns + the current row's) */
	struct value *values;
	struct buf arena;
	struct demo_rows *before;
	size_t total; /* rows written */
};

struct demo_rows *demo_rows_new(struct db *db, enum demo_table table, struct demo_rows *before)
{
	assert((size_t)table < sizeof(demo_tables) / sizeof(demo_tables[0]));
	struct demo_rows *rows = xcalloc(1, sizeof(*rows));
	rows->db = db;
	rows->table = &demo_tables[table];
	int columns = rows->table->columns;
	int variables = sqlite3_limit(db_handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
	rows->capacity = variables > columns ? (size_t)(variables / columns) : 1;
	if (rows->capacity > DEMO_BATCH_ROWS)
		rows->capacity = DEMO_BATCH_ROWS;
	rows->values = xcalloc(rows->capacity * (size_t)columns, sizeof(*rows->values));
	buf_init(&rows->arena);
	rows->before = before;
	return rows;
}

void demo_rows_free(struct demo_rows *rows)
{
	if (!rows)
		return;
	free(rows->values);
	buf_release(&rows->arena);
	free(rows);
}

size_t demo_rows_capacity(const struct demo_rows *rows)
{
	return rows->capacity;
}

size_t demo_rows_written(const struct demo_rows *rows)
{
	return rows->total;
}

/* Prepares (or finds cached) "INSERT <head> VALUES (?,..), .." for `count` rows. */
static sqlite3_stmt *prepare_insert(struct db *db, const struct demo_table_spec *table,
				    size_t count)
{
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "INSERT %s VALUES ", table->head);
	for (size_t row = 0; row < count; row++) {
		buf_adds(&sql, row ? ", (" : "(");
		for (int column = 0; column < table->columns; column++)
			buf_adds(&sql, column ? ", ?" : "?");
		buf_addch(&sql, ')');
	}
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	return stmt;
}

int demo_rows_flush(struct demo_rows *rows)
{
	/* only between rows: a row's values are never split over two statements */
	assert(rows->used == rows->rows * (size_t)rows->table->columns);
	if (!rows->rows)
		return DB_OK;
	if (rows->before) {
		int status = demo_rows_flush(rows->before);
		if (status != DB_OK)
			return status;
	}
	sqlite3_stmt *stmt = prepare_insert(rows->db, rows->table, rows->rows);
	if (!stmt)
		return DB_ERROR;
	for (size_t i = 0; i < rows->used; i++) {
		const struct value *value = &rows->values[i];
		int index = (int)i + 1;
		if (value->type == VALUE_INTEGER)
			sqlite3_bind_int64(stmt, index, value->number);
		else if (value->type == VALUE_TEXT)
			sqlite3_bind_text(stmt, index, rows->arena.data + value->offset,
					  (int)value->len, SQLITE_STATIC);
	}
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	int status = db_status_from_sqlite(rows->db, rc, rows->table->name);
	if (status == DB_OK)
		rows->total += rows->rows;
	rows->rows = rows->used = 0;
	buf_reset(&rows->arena);
	return status;
}

static struct value *next_value(struct demo_rows *rows)
{
	assert(rows->used < (rows->rows + 1) * (size_t)rows->table->columns);
	return &rows->values[rows->used++];
}

void demo_rows_integer(struct demo_rows *rows, int64_t number)
{
	struct value *value = next_value(rows);
	value->type = VALUE_INTEGER;
	value->number = number;
}

void demo_rows_text(struct demo_rows *rows, const char *text)
{
	struct value *value = next_value(rows);
	if (!text) {
		value->type = VALUE_NULL;
		return;
	}
	value->type = VALUE_TEXT;
	value->offset = rows->arena.len;
	value->len = strlen(text);
	buf_add(&rows->arena, text, value->len);
}

void demo_rows_null(struct demo_rows *rows)
{
	next_value(rows)->type = VALUE_NULL;
}

void demo_rows_time(struct demo_rows *rows, time_t when)
{
	char text[TIME_RFC3339_SIZE];
	time_format_rfc3339(when, text);
	demo_rows_text(rows, text);
}

int demo_rows_end_row(struct demo_rows *rows)
{
	rows->rows++;
	assert(rows->used == rows->rows * (size_t)rows->table->columns);
	return rows->rows == rows->capacity ? demo_rows_flush(rows) : DB_OK;
}

/* ================================================================ reads and chores */

/* The statement giving the next id of `table` (one with explicit ids), or NULL. */
static sqlite3_stmt *prepare_next_id(struct db *db, enum demo_table table)
{
	switch (table) {
	case DEMO_TABLE_CONTACTS:
		return db_prepare(db, "SELECT coalesce(max(id), 0) + 1 FROM contacts");
	case DEMO_TABLE_COMPANIES:
		return db_prepare(db, "SELECT coalesce(max(id), 0) + 1 FROM companies");
	case DEMO_TABLE_OPPORTUNITIES:
		return db_prepare(db, "SELECT coalesce(max(id), 0) + 1 FROM opportunities");
	default:
		assert(!"demo_store_next_id: a table without explicit ids");
		return NULL;
	}
}

int demo_store_next_id(struct db *db, enum demo_table table, int64_t *id)
{
	sqlite3_stmt *stmt = prepare_next_id(db, table);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, demo_tables[table].name);
}

int demo_store_each_contact(struct db *db, int64_t first_id, int64_t last_id,
			    int (*each)(void *context, const struct demo_contact *contact),
			    void *context)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT c.id, c.owner_id, c.company_id, c.lifecycle, c.created_at, c.first_name, "
		    "c.last_name, co.name FROM contacts c LEFT JOIN companies co ON co.id = c.company_id "
		    "WHERE c.id BETWEEN ? AND ? ORDER BY c.id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, first_id);
	sqlite3_bind_int64(stmt, 2, last_id);
	int status = DB_OK, rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const struct demo_contact contact = {
			.id = sqlite3_column_int64(stmt, 0),
			.owner_id = sqlite3_column_int64(stmt, 1),
			.company_id = sqlite3_column_int64(stmt, 2),
			.lifecycle = db_column_text(stmt, 3),
			.created_at = db_column_text(stmt, 4),
			.first_name = db_column_text(stmt, 5),
			.last_name = db_column_text(stmt, 6),
			.company_name = db_column_text(stmt, 7),
		};
		status = each(context, &contact);
		if (status != DB_OK)
			break;
	}
	if (status == DB_OK && rc != SQLITE_DONE)
		status = db_status_from_sqlite(db, rc, "contacts");
	sqlite3_reset(stmt);
	return status;
}

/*
 * A filter on a column with few values (lifecycle, owner_id) with another sort should walk
 * the sort index instead of sorting every match: that takes statistics. A sampled ANALYZE
 * costs a second or two for 1M rows.
 */
int demo_store_analyze(struct db *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "PRAGMA analysis_limit = 1000");
	if (stmt) {
		sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	stmt = db_prepare(db, "ANALYZE");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "analyze");
	/* No statistics for tables that change size all the time (migration 0017): taken
	 * here, before the commit indexes the new rows, they would say that the full-text
	 * indexes are empty and fts_pending huge, and FTS5's range reads become full scans. */
	if (status == DB_OK)
		status = db_run(db, "DELETE FROM sqlite_stat1 WHERE tbl = 'fts_pending' OR "
				    "tbl GLOB '*_fts_*'", "analyze");
	return status;
}
