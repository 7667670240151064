/*
 * resource_store.c - the data layer of the generic resources (resource.h): SQL built from
 * a descriptor's compiled-in table and column names only, every value bound, statements
 * cached by db_prepare() under their text. Also the idempotency-key table.
 *
 * A record travels as a jansson object: id, the fields in descriptor order, created_at,
 * updated_at, version. TAGS and OBJECT fields are stored as JSON text.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource.h"
#include "crm/resource_store.h"

#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* ---------------------------------------------------------------- SQL text and binding */

/* Appends "id, created_at, updated_at, version, f1, f2, ..." (buf_adds: this runs for every
 * read, and a formatted append per column was a tenth of a GET by id). */
static void add_select_columns(struct buf *sql, const struct resource *resource)
{
	buf_adds(sql, "id, created_at, updated_at, version");
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_adds(sql, ", ");
		buf_adds(sql, field->name);
	}
}

/* Appends "<table>.<column>": lists qualify every column, because a search joins the FTS5
 * table, whose columns have the same names as the record's. */
static void add_qualified(struct buf *sql, const struct resource *resource, const char *column)
{
	buf_adds(sql, resource->table);
	buf_addch(sql, '.');
	buf_adds(sql, column);
}

/* add_select_columns() with every column qualified by the table name. */
static void add_qualified_select_columns(struct buf *sql, const struct resource *resource)
{
	static const char *const builtin[] = { "id", "created_at", "updated_at", "version" };
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (i)
			buf_adds(sql, ", ");
		add_qualified(sql, resource, builtin[i]);
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_adds(sql, ", ");
		add_qualified(sql, resource, field->name);
	}
}

/* Binds a JSON value (borrowed) by its JSON type; arrays and objects as JSON text. */
static void bind_json(sqlite3_stmt *stmt, int index, const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_STRING:
		sqlite3_bind_text(stmt, index, json_string_value(value),
				  (int)json_string_length(value), SQLITE_TRANSIENT);
		break;
	case JSON_INTEGER:
		sqlite3_bind_int64(stmt, index, json_integer_value(value));
		break;
	case JSON_TRUE:
		sqlite3_bind_int(stmt, index, 1);
		break;
	case JSON_FALSE:
		sqlite3_bind_int(stmt, index, 0);
		break;
	case JSON_REAL:
		sqlite3_bind_double(stmt, index, json_real_value(value));
		break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		size_t len;
		char *text = json_to_text(value, &len);
		sqlite3_bind_text(stmt, index, text, (int)len, free);
		break;
	}
	case JSON_NULL:
	default:
		sqlite3_bind_null(stmt, index);
		break;
	}
}

/* Binds the value of `field` in `record` (absent = null, or its empty value). */
static void bind_field(sqlite3_stmt *stmt, int index, const struct resource_field *field,
		       const json_t *record)
{
	const json_t *value = json_object_get(record, field->name);
	if (!value || json_is_null(value)) {
		json_t *empty = resource_field_empty(field);
		bind_json(stmt, index, empty);
		json_decref(empty);
		return;
	}
	bind_json(stmt, index, value);
}

/* Reads one column of `field`'s type as JSON (new reference). */
static json_t *column_to_json(sqlite3_stmt *stmt, int column, const struct resource_field *field)
{
	if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
		return resource_field_empty(field);
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
	case RESOURCE_FIELD_REFERENCE:
		return json_integer(sqlite3_column_int64(stmt, column));
	case RESOURCE_FIELD_BOOLEAN:
		return json_boolean(sqlite3_column_int64(stmt, column) != 0);
	case RESOURCE_FIELD_TAGS:
	case RESOURCE_FIELD_OBJECT: {
		const char *text = db_column_text(stmt, column);
		/* the usual values, without the parser */
		if (text && field->type == RESOURCE_FIELD_TAGS && strcmp(text, "[]") == 0)
			return json_array();
		if (text && field->type == RESOURCE_FIELD_OBJECT && strcmp(text, "{}") == 0)
			return json_object();
		json_t *value = text ? json_loads(text, 0, NULL) : NULL;
		bool fits = field->type == RESOURCE_FIELD_TAGS ? json_is_array(value)
							       : json_is_object(value);
		if (!fits) {
			json_decref(value);
			return resource_field_empty(field);
		}
		return value;
	}
	default: {
		const char *text = db_column_text(stmt, column);
		return text ? json_string(text) : json_null();
	}
	}
}

/* The record in the current row of a statement selected with add_select_columns(). */
static json_t *row_to_record(sqlite3_stmt *stmt, const struct resource *resource)
{
	json_t *record = json_object();
	json_object_set_new(record, "id", json_integer(sqlite3_column_int64(stmt, 0)));
	int column = 4;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		json_object_set_new(record, field->name, column_to_json(stmt, column++, field));
	const char *created_at = db_column_text(stmt, 1), *updated_at = db_column_text(stmt, 2);
	json_object_set_new(record, "created_at", created_at ? json_string(created_at) : json_null());
	json_object_set_new(record, "updated_at", updated_at ? json_string(updated_at) : json_null());
	json_object_set_new(record, "version", json_integer(sqlite3_column_int64(stmt, 3)));
	return record;
}

/* Steps a statement that returns no rows; resets it. Returns a db_status. */
static int step_done(struct db *db, sqlite3_stmt *stmt, const char *context)
{
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, context);
}

static const struct resource_field *tags_field_of(const struct resource *resource)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->type == RESOURCE_FIELD_TAGS)
			return field;
	return NULL;
}

/* ---------------------------------------------------------------- reading one record */

/* The statement selecting the record where `column` = `value` (borrowed), bound. */
static sqlite3_stmt *select_where(struct db *db, const struct resource *resource,
				  const char *column, const json_t *value)
{
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "SELECT ");
	add_select_columns(&sql, resource);
	buf_adds(&sql, " FROM ");
	buf_adds(&sql, resource->table);
	buf_adds(&sql, " WHERE ");
	buf_adds(&sql, column);
	buf_adds(&sql, " = ?");
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (stmt)
		bind_json(stmt, 1, value);
	return stmt;
}

/* Loads the record where `column` = `value` (borrowed). */
static int get_where(struct db *db, const struct resource *resource, const char *column,
		     const json_t *value, json_t **record)
{
	*record = NULL;
	sqlite3_stmt *stmt = select_where(db, resource, column, value);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		*record = row_to_record(stmt, resource);
		status = DB_OK;
	} else if (rc == SQLITE_DONE) {
		status = DB_NOT_FOUND;
	} else {
		status = db_status_from_sqlite(db, rc, resource->name);
	}
	sqlite3_reset(stmt);
	return status;
}

int resource_store_get(struct db *db, const struct resource *resource, int64_t id,
		       json_t **record)
{
	json_t *key = json_integer(id);
	int status = get_where(db, resource, "id", key, record);
	json_decref(key);
	return status;
}

int resource_store_get_by_external_id(struct db *db, const struct resource *resource,
				      const char *external_id, json_t **record)
{
	json_t *key = json_string(external_id);
	if (!key) { /* not UTF-8: no record can have it */
		*record = NULL;
		return DB_NOT_FOUND;
	}
	int status = get_where(db, resource, "external_id", key, record);
	json_decref(key);
	return status;
}

/*
 * The resource that holds the owner of `resource`'s records through owner_via_reference,
 * or NULL (the owner is the owner_field itself, or there is none).
 */
static const struct resource *owner_parent_of(const struct resource *resource)
{
	if (!resource->owner_field || !resource->owner_via_reference)
		return NULL;
	const struct resource_field *field = resource_field_find(resource, resource->owner_field);
	const struct resource *parent = field && field->references ? resource_find(field->references)
								  : NULL;
	if (!parent || !parent->owner_field || parent->owner_via_reference) {
		log_error("%s: owner_via_reference needs a resource with its own owner", resource->name);
		return NULL;
	}
	return parent;
}

int resource_store_owner_of(struct db *db, const struct resource *resource, int64_t id,
			    int64_t *owner_id)
{
	*owner_id = 0;
	struct buf sql = BUF_INIT;
	const struct resource *parent = owner_parent_of(resource);
	if (parent)
		buf_addf(&sql, "SELECT (SELECT %s FROM %s WHERE id = %s.%s) FROM %s WHERE id = ?",
			 parent->owner_field, parent->table, resource->table, resource->owner_field,
			 resource->table);
	else
		buf_addf(&sql, "SELECT %s FROM %s WHERE id = ?",
			 resource->owner_field && !resource->owner_via_reference
				 ? resource->owner_field
				 : "NULL",
			 resource->table);
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		*owner_id = sqlite3_column_int64(stmt, 0);
		status = DB_OK;
	} else if (rc == SQLITE_DONE) {
		status = DB_NOT_FOUND;
	} else {
		status = db_status_from_sqlite(db, rc, resource->name);
	}
	sqlite3_reset(stmt);
	return status;
}

int resource_store_value_taken(struct db *db, const struct resource *resource,
			       const struct resource_field *field, const json_t *value,
			       int64_t except_id)
{
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "SELECT 1 FROM %s WHERE %s = ? AND id <> ? LIMIT 1", resource->table,
		 field->name);
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	bind_json(stmt, 1, value);
	sqlite3_bind_int64(stmt, 2, except_id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_status_from_sqlite(db, rc, resource->name);
}

/* ---------------------------------------------------------------- writing */

/* Makes record_tags hold exactly the tags of `record` for record `id`. */
static int sync_tags(struct db *db, const struct resource *resource, int64_t id,
		     const json_t *record)
{
	const struct resource_field *field = tags_field_of(resource);
	if (!field)
		return DB_OK;
	sqlite3_stmt *stmt =
		db_prepare(db, "DELETE FROM record_tags WHERE entity = ? AND record_id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, resource->name);
	sqlite3_bind_int64(stmt, 2, id);
	int status = step_done(db, stmt, "record_tags");
	const json_t *tags = record ? json_object_get(record, field->name) : NULL;
	size_t index;
	const json_t *tag;
	json_array_foreach(tags, index, tag) {
		if (status != DB_OK)
			break;
		if (!json_is_string(tag))
			continue;
		stmt = db_prepare(db, "INSERT OR IGNORE INTO record_tags (entity, tag, record_id) "
				      "VALUES (?, ?, ?)");
		if (!stmt)
			return DB_ERROR;
		db_bind_text(stmt, 1, resource->name);
		bind_json(stmt, 2, tag);
		sqlite3_bind_int64(stmt, 3, id);
		status = step_done(db, stmt, "record_tags");
	}
	return status;
}

int resource_store_insert(struct db *db, const struct resource *resource, const json_t *record,
			  json_t **stored)
{
	*stored = NULL;
	struct buf sql = BUF_INIT;
	/* Built without printf: this runs on every create (db_prepare then finds the
	 * statement in the connection's cache by its text). */
	buf_adds(&sql, "INSERT INTO ");
	buf_adds(&sql, resource->table);
	buf_adds(&sql, " (");
	int count = 0;
	for (const struct resource_field *field = resource->fields; field->name; field++, count++) {
		buf_adds(&sql, field->name);
		buf_adds(&sql, ", ");
	}
	buf_adds(&sql, "created_at, updated_at, version) VALUES (");
	for (int i = 0; i < count; i++)
		buf_adds(&sql, "?, ");
	buf_adds(&sql, "?, ?, 1)");
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	int index = 1;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		bind_field(stmt, index++, field, record);
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, index++, now);
	db_bind_text(stmt, index, now);
	int status = step_done(db, stmt, resource->name);
	if (status != DB_OK)
		return status;
	int64_t id = db_last_insert_id(db);
	status = sync_tags(db, resource, id, record);
	if (status != DB_OK)
		return status;
	return resource_store_get(db, resource, id, stored);
}

int resource_store_update(struct db *db, const struct resource *resource, int64_t id,
			  int64_t version, const json_t *record, json_t **stored)
{
	*stored = NULL;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "UPDATE ");
	buf_adds(&sql, resource->table);
	buf_adds(&sql, " SET ");
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_adds(&sql, field->name);
		buf_adds(&sql, " = ?, ");
	}
	buf_adds(&sql, "updated_at = ?, version = version + 1 WHERE id = ? AND version = ?");
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	int index = 1;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		bind_field(stmt, index++, field, record);
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, index++, now);
	sqlite3_bind_int64(stmt, index++, id);
	sqlite3_bind_int64(stmt, index, version);
	int status = step_done(db, stmt, resource->name);
	if (status != DB_OK)
		return status;
	if (db_changes(db) == 0) {
		int64_t owner;
		status = resource_store_owner_of(db, resource, id, &owner);
		return status == DB_OK ? DB_STALE : status;
	}
	status = sync_tags(db, resource, id, record);
	if (status != DB_OK)
		return status;
	return resource_store_get(db, resource, id, stored);
}

int resource_store_delete(struct db *db, const struct resource *resource, int64_t id,
			  int64_t version)
{
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "DELETE FROM %s WHERE id = ? AND version = ?", resource->table);
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, version);
	int status = step_done(db, stmt, resource->name);
	if (status != DB_OK)
		return status;
	if (db_changes(db) == 0) {
		int64_t owner;
		status = resource_store_owner_of(db, resource, id, &owner);
		return status == DB_OK ? DB_STALE : status;
	}
	return sync_tags(db, resource, id, NULL);
}

int resource_store_on_delete(struct db *db, const struct resource *resource,
			     const char *column, enum resource_on_delete *action)
{
	*action = RESOURCE_ON_DELETE_NONE;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT on_delete FROM pragma_foreign_key_list(?) "
					    "WHERE \"from\" = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, resource->table);
	db_bind_text(stmt, 2, column);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *text = db_column_text(stmt, 0);
		if (text && strcmp(text, "CASCADE") == 0)
			*action = RESOURCE_ON_DELETE_CASCADE;
		else if (text && strcmp(text, "SET NULL") == 0)
			*action = RESOURCE_ON_DELETE_SET_NULL;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK
						     : db_status_from_sqlite(db, rc, resource->name);
}

int resource_store_referencing(struct db *db, const struct resource *resource,
			       const char *column, int64_t id, json_t **records)
{
	*records = NULL;
	json_t *key = json_integer(id);
	sqlite3_stmt *stmt = select_where(db, resource, column, key);
	json_decref(key);
	if (!stmt)
		return DB_ERROR;
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list, row_to_record(stmt, resource));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return db_status_from_sqlite(db, rc, resource->name);
	}
	*records = list;
	return DB_OK;
}

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
		const struct resource *parent = owner_parent_of(resource);
		if (!resource->owner_field || (resource->owner_via_reference && !parent)) {
			buf_adds(&b->sql, " AND 0");
			break;
		}
		buf_adds(&b->sql, " AND ");
		add_qualified(&b->sql, resource, resource->owner_field);
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
		add_qualified(&b->sql, resource, condition->column);
		buf_addf(&b->sql, "%s %s ?%s", condition->nocase ? " COLLATE NOCASE" : "",
			 condition->op, range ? ", 0.01)" : "");
		builder_bind(b, json_incref(condition->value));
	}
	if (query->match_nothing)
		buf_adds(&b->sql, " AND 0");
	if (query->tag) {
		buf_adds(&b->sql, " AND ");
		add_qualified(&b->sql, resource, "id");
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
	add_qualified_select_columns(&b->sql, resource);
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
		add_qualified(sql, resource, "id");
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
			add_qualified(&b->sql, resource, column);
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
		add_qualified(&b->sql, resource, column);
		buf_adds(&b->sql, " IS NOT NULL");
	}
	if (after_cursor) {
		buf_adds(&b->sql, " AND (");
		add_qualified(&b->sql, resource, column);
		buf_adds(&b->sql, ", ");
		add_qualified(&b->sql, resource, "id");
		buf_addf(&b->sql, ") %s (?%s, ?)", less_or_more, nocase ? " COLLATE NOCASE" : "");
		builder_bind(b, json_incref(query->cursor_value));
		builder_bind(b, json_integer(query->cursor_id));
	}
	buf_adds(&b->sql, " ORDER BY ");
	add_qualified(&b->sql, resource, column);
	buf_addf(&b->sql, "%s%s, ", nocase ? " COLLATE NOCASE" : "", direction);
	add_qualified(&b->sql, resource, "id");
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
 * not take it: the row then goes through row_to_record()). */
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

/* Appends one column of `field`'s type as column_to_json() would read it, printed. */
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
 * json_to_text(row_to_record()) prints (tests/unit/test_resource.c compares them), without
 * building it. Returns -1, with nothing appended, for a row that needs row_to_record()
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
	json_t *record = row_to_record(stmt, resource);
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
		json_array_append_new(sink->rows, row_to_record(stmt, resource));
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
		json_t *record = row_to_record(stmt, resource);
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
		bind_json(stmt, (int)index + 1, value);
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
	sqlite3_stmt *stmt = select_where(db, resource, "id", key);
	json_decref(key);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		if (row_to_text(stmt, resource, &record->text) != 0) {
			json_t *json = row_to_record(stmt, resource);
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

/* ---------------------------------------------------------------- idempotency keys */

void resource_idempotent_answer_release(struct resource_idempotent_answer *answer)
{
	free(answer->method);
	free(answer->path);
	free(answer->request_hash);
	free(answer->body);
	free(answer->location);
	memset(answer, 0, sizeof(*answer));
}

static char *column_strdup(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	return text ? xstrdup(text) : NULL;
}

int resource_store_idempotency_find(struct db *db, int64_t user_id, const char *key,
				    int64_t since, struct resource_idempotent_answer *answer)
{
	memset(answer, 0, sizeof(*answer));
	sqlite3_stmt *stmt = db_prepare(db, "SELECT method, path, request_hash, status, body, "
					    "location, created_at FROM idempotency_keys "
					    "WHERE user_id = ? AND key = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	db_bind_text(stmt, 2, key);
	int rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return rc == SQLITE_DONE ? DB_NOT_FOUND : db_status_from_sqlite(db, rc, "idempotency");
	}
	bool expired = sqlite3_column_int64(stmt, 6) < since;
	if (!expired) {
		answer->method = column_strdup(stmt, 0);
		answer->path = column_strdup(stmt, 1);
		answer->request_hash = column_strdup(stmt, 2);
		answer->status = sqlite3_column_int(stmt, 3);
		answer->body = column_strdup(stmt, 4);
		answer->location = column_strdup(stmt, 5);
	}
	sqlite3_reset(stmt);
	if (!expired)
		return DB_OK;
	stmt = db_prepare(db, "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	db_bind_text(stmt, 2, key);
	int status = step_done(db, stmt, "idempotency");
	return status == DB_OK ? DB_NOT_FOUND : status;
}

int resource_store_idempotency_save(struct db *db, int64_t user_id, const char *key,
				    const struct resource_idempotent_answer *answer, int64_t now,
				    int64_t since)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM idempotency_keys WHERE created_at < ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, since);
	int status = step_done(db, stmt, "idempotency");
	if (status != DB_OK)
		return status;
	stmt = db_prepare(db, "INSERT OR REPLACE INTO idempotency_keys (user_id, key, method, "
			      "path, request_hash, status, body, location, created_at) "
			      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	db_bind_text(stmt, 2, key);
	db_bind_text(stmt, 3, answer->method);
	db_bind_text(stmt, 4, answer->path);
	db_bind_text(stmt, 5, answer->request_hash ? answer->request_hash : "");
	sqlite3_bind_int(stmt, 6, answer->status);
	db_bind_text(stmt, 7, answer->body ? answer->body : "");
	db_bind_text(stmt, 8, answer->location);
	sqlite3_bind_int64(stmt, 9, now);
	return step_done(db, stmt, "idempotency");
}
