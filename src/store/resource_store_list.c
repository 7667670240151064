/*
 * resource_store_list.c - the lists of the generic resources (resource_store_list(),
 * resource_store_list_text(), resource.h): the query built from the descriptor and the
 * caller's filters, scope, search and keyset cursor, run segment by segment; and rows
 * written straight as JSON text (lists and GET by id), without building jansson objects
 * when the stored JSON is what our writer would print. Shares resource_store_int.h with
 * resource_store.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource.h"
#include "crm/resource_store.h"

#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "store/resource_store_int.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* ---------------------------------------------------------------- lists */

void resource_query_init(struct resource_query *query)
{
	memset(query, 0, sizeof(*query));
	query->sort_column = "id";
	query->limit = RESOURCE_LIST_LIMIT_DEFAULT;
	query->scope = PERM_SCOPE_NONE;
	query->caller_team = "";
}

void resource_query_release(struct resource_query *query)
{
	json_decref(query->cursor_value);
	for (int i = 0; i < query->condition_count; i++)
		json_decref(query->conditions[i].value);
	free(query->match);
	free(query->tag);
	resource_query_init(query);
}

/* SQL text plus the values to bind, in order. */
struct sql_builder {
	struct buf sql;
	json_t *binds; /* array, owned */
};

static void builder_bind(struct sql_builder *builder, json_t *value /* steals */)
{
	json_array_append_new(builder->binds, value);
}

/*
 * The WHERE conditions every segment shares: scope, filters, tag. Columns are qualified
 * with the table name (a search joins the FTS5 table, whose columns share the names); the
 * descriptor's list_filter is compiled-in text and must name no column of the fts_table.
 * The full-text match itself is part of the FROM clause (run_segment).
 */
static void add_common_conditions(struct sql_builder *b, const struct resource *resource,
				  const struct resource_query *query)
{
	if (resource->list_filter)
		buf_addf(&b->sql, " AND (%s)", resource->list_filter);
	switch (query->scope) {
	case PERM_SCOPE_ALL:
		break;
	case PERM_SCOPE_OWN:
	case PERM_SCOPE_TEAM: {
		/* through owner_via_reference: the parent records the caller's scope covers */
		const struct resource *parent = resource_sql_owner_parent(resource);
		if (!resource->owner_field || (resource->owner_via_reference && !parent)) {
			buf_adds(&b->sql, " AND 0");
			break;
		}
		buf_adds(&b->sql, " AND ");
		resource_sql_add_qualified(&b->sql, resource, resource->owner_field);
		if (parent) {
			buf_addf(&b->sql, " IN (SELECT id FROM %s WHERE %s.%s", parent->table,
				 parent->table, parent->owner_field);
		}
		if (query->scope == PERM_SCOPE_TEAM && query->caller_team[0]) {
			buf_adds(&b->sql, " IN (SELECT id FROM users WHERE team = ?)");
			builder_bind(b, json_string(query->caller_team));
		} else { /* own, or a team of one */
			buf_adds(&b->sql, " = ?");
			builder_bind(b, json_integer(query->caller_id));
		}
		if (parent)
			buf_adds(&b->sql, ")");
		break;
	}
	case PERM_SCOPE_NONE:
	default:
		buf_adds(&b->sql, " AND 0");
		break;
	}
	for (int i = 0; i < query->condition_count; i++) {
		const struct resource_condition *condition = &query->conditions[i];
		/* A range (since, updated_since, due_before, ...) is taken to be narrow: without the
		 * hint SQLite guesses that a quarter of the rows match and walks the whole table in
		 * id order instead of the range of the column's index (tests/api/test_query_plans.py). */
		bool range = strcmp(condition->op, "=") != 0;
		buf_adds(&b->sql, range ? " AND likelihood(" : " AND ");
		resource_sql_add_qualified(&b->sql, resource, condition->column);
		buf_addf(&b->sql, "%s %s ?%s", condition->nocase ? " COLLATE NOCASE" : "",
			 condition->op, range ? ", 0.01)" : "");
		builder_bind(b, json_incref(condition->value));
	}
	if (query->match_nothing)
		buf_adds(&b->sql, " AND 0");
	if (query->tag) {
		buf_adds(&b->sql, " AND ");
		resource_sql_add_qualified(&b->sql, resource, "id");
		buf_adds(&b->sql, " IN (SELECT record_id FROM record_tags"
				  " WHERE entity = ? AND tag = ?)");
		builder_bind(b, json_string(resource->name));
		builder_bind(b, json_string(query->tag));
	}
}

/*
 * The ordering is split into segments so that every page is one index range:
 * ascending = [rows with a NULL sort value, by id] then [rows with a value, by (value, id)];
 * descending = the reverse. A segment query starts after the cursor when the cursor lies
 * in it, else at the segment's start.
 */
enum segment { SEGMENT_NULLS, SEGMENT_VALUES };

/*
 * Appends "SELECT <columns> FROM ... WHERE <match or 1>" and returns the expression of the
 * record id to order and page by. A search reads the FTS5 table first, in its rowid order
 * (= the record id), and joins each match to its record: a page in id order then stops after
 * `limit` matches instead of collecting every match of the words first (a prefix such as
 * "an" matches a good part of the contacts). CROSS JOIN keeps that order of the loops: the
 * FTS5 work is then never more than all the matches, whatever the other conditions.
 */
static const char *add_select_from(struct sql_builder *b, const struct resource *resource,
				   const struct resource_query *query)
{
	buf_adds(&b->sql, "SELECT ");
	resource_sql_add_qualified_columns(&b->sql, resource);
	if (query->match && resource->fts_table && !query->match_nothing) {
		buf_addf(&b->sql, " FROM %s CROSS JOIN %s ON %s.id = %s.rowid WHERE %s MATCH ?",
			 resource->fts_table, resource->table, resource->table, resource->fts_table,
			 resource->fts_table);
		builder_bind(b, json_string(query->match));
		return "rowid";
	}
	buf_addf(&b->sql, " FROM %s WHERE 1", resource->table);
	return "id";
}

/* Appends the id expression of add_select_from(): "<fts_table>.rowid" or "<table>.id". */
static void add_id(struct buf *sql, const struct resource *resource, const char *id)
{
	if (strcmp(id, "rowid") == 0) {
		buf_adds(sql, resource->fts_table);
		buf_adds(sql, ".rowid");
	} else {
		resource_sql_add_qualified(sql, resource, "id");
	}
}

/* Appends the ORDER BY and the keyset condition of one segment (see above). */
static void add_segment_order(struct sql_builder *b, const struct resource *resource,
			      const struct resource_query *query, enum segment segment,
			      bool after_cursor, const char *id)
{
	const char *column = query->sort_column;
	bool by_id = strcmp(column, "id") == 0;
	bool nocase = query->sort_field && (query->sort_field->flags & RESOURCE_FIELD_NOCASE);
	bool nullable = query->sort_field && !(query->sort_field->flags & RESOURCE_FIELD_REQUIRED);
	const char *less_or_more = query->descending ? "<" : ">";
	const char *direction = query->descending ? " DESC" : "";
	if (by_id || segment == SEGMENT_NULLS) {
		if (!by_id) {
			buf_adds(&b->sql, " AND ");
			resource_sql_add_qualified(&b->sql, resource, column);
			buf_adds(&b->sql, " IS NULL");
		}
		if (after_cursor) {
			buf_adds(&b->sql, " AND ");
			add_id(&b->sql, resource, id);
			buf_addf(&b->sql, " %s ?", less_or_more);
			builder_bind(b, json_integer(query->cursor_id));
		}
		buf_adds(&b->sql, " ORDER BY ");
		add_id(&b->sql, resource, id);
		buf_adds(&b->sql, direction);
		return;
	}
	if (nullable && !after_cursor) {
		buf_adds(&b->sql, " AND ");
		resource_sql_add_qualified(&b->sql, resource, column);
		buf_adds(&b->sql, " IS NOT NULL");
	}
	if (after_cursor) {
		buf_adds(&b->sql, " AND (");
		resource_sql_add_qualified(&b->sql, resource, column);
		buf_adds(&b->sql, ", ");
		resource_sql_add_qualified(&b->sql, resource, "id");
		buf_addf(&b->sql, ") %s (?%s, ?)", less_or_more, nocase ? " COLLATE NOCASE" : "");
		builder_bind(b, json_incref(query->cursor_value));
		builder_bind(b, json_integer(query->cursor_id));
	}
	buf_adds(&b->sql, " ORDER BY ");
	resource_sql_add_qualified(&b->sql, resource, column);
	buf_addf(&b->sql, "%s%s, ", nocase ? " COLLATE NOCASE" : "", direction);
	resource_sql_add_qualified(&b->sql, resource, "id");
	buf_adds(&b->sql, direction);
}

/*
 * Where the rows of a list go: records into a JSON array, or (page set) JSON text straight
 * from the statement into page->rows.
 */
struct list_sink {
	json_t *rows;                     /* JSON mode: the records */
	struct resource_page_text *page;  /* text mode */
	int count;                        /* rows taken so far (both modes) */
};

/* The empty value of a field as text: what resource_field_empty() prints. */
static const char *empty_text(const struct resource_field *field)
{
	if (field->normalize)
		return "null";
	if (field->type == RESOURCE_FIELD_TAGS)
		return "[]";
	if (field->type == RESOURCE_FIELD_OBJECT && !field->members)
		return "{}";
	return "null";
}

/* Appends a text column as a JSON string or null. -1 when it is not UTF-8 (jansson would
 * not take it: the row then goes through resource_row_record()). */
static int add_text_column(struct buf *out, sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	if (!text) {
		buf_adds(out, "null");
		return 0;
	}
	/* the length SQLite knows: no strlen(); a NUL inside is not UTF-8 text jansson takes */
	size_t len = (size_t)sqlite3_column_bytes(stmt, column);
	if (memchr(text, '\0', len))
		return -1;
	return json_text_add_utf8(out, text, len);
}

/* Appends one column of `field`'s type as resource_row_column_json() would read it, printed. */
static int add_column_text(struct buf *out, sqlite3_stmt *stmt, int column,
			   const struct resource_field *field)
{
	if (sqlite3_column_type(stmt, column) == SQLITE_NULL) {
		buf_adds(out, empty_text(field));
		return 0;
	}
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
	case RESOURCE_FIELD_REFERENCE:
		json_text_add_integer(out, sqlite3_column_int64(stmt, column));
		return 0;
	case RESOURCE_FIELD_BOOLEAN:
		buf_adds(out, sqlite3_column_int64(stmt, column) != 0 ? "true" : "false");
		return 0;
	case RESOURCE_FIELD_TAGS:
	case RESOURCE_FIELD_OBJECT: {
		/* stored JSON is copied as it is when it is in the writer's form (json.h) */
		const char *text = db_column_text(stmt, column);
		json_type expected = field->type == RESOURCE_FIELD_TAGS ? JSON_ARRAY : JSON_OBJECT;
		if (!text || json_text_add_stored(out, text, expected) != 0)
			buf_adds(out, empty_text(field));
		return 0;
	}
	default:
		return add_text_column(out, stmt, column);
	}
}

/* Appends `"name":` */
static void add_member_name(struct buf *out, const char *name)
{
	json_text_add_string(out, name, strlen(name));
	buf_addch(out, ':');
}

/*
 * Appends the record in the current row as JSON text: byte for byte what
 * json_to_text(resource_row_record()) prints (tests/unit/test_resource.c compares them), without
 * building it. Returns -1, with nothing appended, for a row that needs resource_row_record()
 * (text that is not UTF-8).
 */
static int row_to_text(sqlite3_stmt *stmt, const struct resource *resource, struct buf *out)
{
	size_t start = out->len;
	buf_adds(out, "{\"id\":");
	json_text_add_integer(out, sqlite3_column_int64(stmt, 0));
	int column = 4;
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_addch(out, ',');
		add_member_name(out, field->name);
		if (add_column_text(out, stmt, column++, field) != 0)
			goto fallback;
	}
	buf_adds(out, ",\"created_at\":");
	if (add_text_column(out, stmt, 1) != 0)
		goto fallback;
	buf_adds(out, ",\"updated_at\":");
	if (add_text_column(out, stmt, 2) != 0)
		goto fallback;
	buf_adds(out, ",\"version\":");
	json_text_add_integer(out, sqlite3_column_int64(stmt, 3));
	buf_addch(out, '}');
	return 0;
fallback:
	out->len = start;
	out->data[start] = '\0';
	return -1;
}

/* The record's value of the sort column in the current row, as the record has it (new
 * reference; NULL when the record would lack the member), for the cursor. */
static json_t *row_sort_value(sqlite3_stmt *stmt, const struct resource *resource,
			      const struct resource_query *query)
{
	json_t *record = resource_row_record(stmt, resource);
	json_t *value = json_incref(json_object_get(record, query->sort_column));
	json_decref(record);
	return value;
}

/* Takes the current row into the sink. */
static void sink_add(struct list_sink *sink, sqlite3_stmt *stmt, const struct resource *resource,
		     const struct resource_query *query)
{
	sink->count++;
	if (!sink->page) {
		json_array_append_new(sink->rows, resource_row_record(stmt, resource));
		return;
	}
	struct resource_page_text *page = sink->page;
	if (page->count == query->limit) { /* the one more: another page follows */
		page->more = true;
		return;
	}
	if (page->count)
		buf_addch(&page->rows, ',');
	if (row_to_text(stmt, resource, &page->rows) != 0) {
		json_t *record = resource_row_record(stmt, resource);
		json_text_add_value(&page->rows, record);
		json_decref(record);
	}
	if (++page->count == query->limit) { /* the last of the page: its key is the cursor */
		page->last_id = sqlite3_column_int64(stmt, 0);
		if (query->sort_field)
			page->last_sort_value = row_sort_value(stmt, resource, query);
	}
}

/* Runs one segment, taking up to `want` rows into the sink. */
static int run_segment(struct db *db, const struct resource *resource,
		       const struct resource_query *query, enum segment segment, bool after_cursor,
		       int want, struct list_sink *sink)
{
	struct sql_builder b = { BUF_INIT, json_array() };
	const char *id = add_select_from(&b, resource, query);
	add_common_conditions(&b, resource, query);
	add_segment_order(&b, resource, query, segment, after_cursor, id);
	buf_adds(&b.sql, " LIMIT ?");
	builder_bind(&b, json_integer(want));

	int status = DB_OK;
	sqlite3_stmt *stmt = db_prepare(db, b.sql.data);
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	size_t index;
	const json_t *value;
	json_array_foreach(b.binds, index, value)
	    resource_sql_bind_json(stmt, (int)index + 1, value);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		sink_add(sink, stmt, resource, query);
	if (rc != SQLITE_DONE)
		status = db_status_from_sqlite(db, rc, resource->name);
	sqlite3_reset(stmt);
cleanup:
	buf_release(&b.sql);
	json_decref(b.binds);
	return status;
}

/* Runs the segments of a list query into the sink: at most limit + 1 rows. */
static int run_list(struct db *db, const struct resource *resource,
		    const struct resource_query *query, struct list_sink *sink)
{
	int want = query->limit + 1; /* one more tells whether another page follows */
	bool nullable = query->sort_field && !(query->sort_field->flags & RESOURCE_FIELD_REQUIRED);

	enum segment order[2];
	int segments = 0;
	if (!nullable) {
		order[segments++] = SEGMENT_VALUES;
	} else if (query->descending) {
		order[segments++] = SEGMENT_VALUES;
		order[segments++] = SEGMENT_NULLS;
	} else {
		order[segments++] = SEGMENT_NULLS;
		order[segments++] = SEGMENT_VALUES;
	}
	int first = 0;
	if (query->has_cursor && nullable) {
		enum segment cursor_segment =
			json_is_null(query->cursor_value) ? SEGMENT_NULLS : SEGMENT_VALUES;
		while (order[first] != cursor_segment)
			first++;
	}
	for (int i = first; i < segments; i++) {
		if (sink->count >= want)
			break;
		int status = run_segment(db, resource, query, order[i],
					 query->has_cursor && i == first, want - sink->count, sink);
		if (status != DB_OK)
			return status;
	}
	return DB_OK;
}

int resource_store_list(struct db *db, const struct resource *resource,
			const struct resource_query *query, json_t **rows, bool *more)
{
	*more = false;
	struct list_sink sink = { .rows = json_array() };
	int status = run_list(db, resource, query, &sink);
	if (status != DB_OK) {
		json_decref(sink.rows);
		*rows = NULL;
		return status;
	}
	if ((int)json_array_size(sink.rows) > query->limit) {
		*more = true;
		json_array_remove(sink.rows, (size_t)query->limit);
	}
	*rows = sink.rows;
	return DB_OK;
}

void resource_page_text_init(struct resource_page_text *page)
{
	memset(page, 0, sizeof(*page));
	buf_init(&page->rows);
}

void resource_page_text_release(struct resource_page_text *page)
{
	buf_release(&page->rows);
	json_decref(page->last_sort_value);
	resource_page_text_init(page);
}

int resource_store_list_text(struct db *db, const struct resource *resource,
			     const struct resource_query *query, struct resource_page_text *page)
{
	struct list_sink sink = { .page = page };
	int status = run_list(db, resource, query, &sink);
	if (status != DB_OK)
		resource_page_text_release(page);
	return status;
}

/* ---------------------------------------------------------------- one record as text */

/* The value resource_record_owner() reads from the record of the current row. */
static int64_t row_owner(sqlite3_stmt *stmt, const struct resource *resource)
{
	if (!resource->owner_field)
		return 0;
	int column = 4;
	for (const struct resource_field *field = resource->fields; field->name;
	     field++, column++) {
		if (strcmp(field->name, resource->owner_field) != 0)
			continue;
		bool integer = field->type == RESOURCE_FIELD_INTEGER ||
			       field->type == RESOURCE_FIELD_REFERENCE;
		if (!integer || field->normalize ||
		    sqlite3_column_type(stmt, column) == SQLITE_NULL)
			return 0;
		return sqlite3_column_int64(stmt, column);
	}
	return 0;
}

void resource_record_text_init(struct resource_record_text *record)
{
	memset(record, 0, sizeof(*record));
	buf_init(&record->text);
}

void resource_record_text_release(struct resource_record_text *record)
{
	buf_release(&record->text);
	resource_record_text_init(record);
}

int resource_store_get_text(struct db *db, const struct resource *resource, int64_t id,
			    struct resource_record_text *record)
{
	json_t *key = json_integer(id);
	sqlite3_stmt *stmt = resource_sql_select_where(db, resource, "id", key);
	json_decref(key);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		if (row_to_text(stmt, resource, &record->text) != 0) {
			json_t *json = resource_row_record(stmt, resource);
			json_text_add_value(&record->text, json);
			json_decref(json);
		}
		record->version = sqlite3_column_int64(stmt, 3);
		record->owner = row_owner(stmt, resource);
		status = DB_OK;
	} else if (rc == SQLITE_DONE) {
		status = DB_NOT_FOUND;
	} else {
		status = db_status_from_sqlite(db, rc, resource->name);
	}
	sqlite3_reset(stmt);
	return status;
}

