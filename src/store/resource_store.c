/*
 * resource_store.c - the data layer of the generic resources (resource.h): SQL built from
 * a descriptor's compiled-in table and column names only, every value bound, statements
 * cached by db_prepare() under their text. This file reads and writes one record (and its
 * tags) and keeps the idempotency-key table; resource_store_list.c builds the lists and
 * writes rows as JSON text; both share resource_store_int.h.
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
#include "store/resource_store_int.h"
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
void resource_sql_add_qualified(struct buf *sql, const struct resource *resource,
				const char *column)
{
	buf_adds(sql, resource->table);
	buf_addch(sql, '.');
	buf_adds(sql, column);
}

/* add_select_columns() with every column qualified by the table name. */
void resource_sql_add_qualified_columns(struct buf *sql, const struct resource *resource)
{
	static const char *const builtin[] = { "id", "created_at", "updated_at", "version" };
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (i)
			buf_adds(sql, ", ");
		resource_sql_add_qualified(sql, resource, builtin[i]);
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_adds(sql, ", ");
		resource_sql_add_qualified(sql, resource, field->name);
	}
}

/* Binds a JSON value (borrowed) by its JSON type; arrays and objects as JSON text. */
void resource_sql_bind_json(sqlite3_stmt *stmt, int index, const json_t *value)
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
		resource_sql_bind_json(stmt, index, empty);
		json_decref(empty);
		return;
	}
	resource_sql_bind_json(stmt, index, value);
}

/* Reads one column of `field`'s type as JSON (new reference). */
json_t *resource_row_column_json(sqlite3_stmt *stmt, int column, const struct resource_field *field)
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
json_t *resource_row_record(sqlite3_stmt *stmt, const struct resource *resource)
{
	json_t *record = json_object();
	json_object_set_new(record, "id", json_integer(sqlite3_column_int64(stmt, 0)));
	int column = 4;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		json_object_set_new(record, field->name,
				    resource_row_column_json(stmt, column++, field));
	const char *created_at = db_column_text(stmt, 1), *updated_at = db_column_text(stmt, 2);
	json_object_set_new(record, "created_at", created_at ? json_string(created_at) : json_null());
	json_object_set_new(record, "updated_at", updated_at ? json_string(updated_at) : json_null());
	json_object_set_new(record, "version", json_integer(sqlite3_column_int64(stmt, 3)));
	return record;
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
sqlite3_stmt *resource_sql_select_where(struct db *db, const struct resource *resource,
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
		resource_sql_bind_json(stmt, 1, value);
	return stmt;
}

/* Loads the record where `column` = `value` (borrowed). */
static int get_where(struct db *db, const struct resource *resource, const char *column,
		     const json_t *value, json_t **record)
{
	*record = NULL;
	sqlite3_stmt *stmt = resource_sql_select_where(db, resource, column, value);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		*record = resource_row_record(stmt, resource);
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
const struct resource *resource_sql_owner_parent(const struct resource *resource)
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
	const struct resource *parent = resource_sql_owner_parent(resource);
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
	resource_sql_bind_json(stmt, 1, value);
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
	int status = db_step_done(db, stmt, "record_tags");
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
		resource_sql_bind_json(stmt, 2, tag);
		sqlite3_bind_int64(stmt, 3, id);
		status = db_step_done(db, stmt, "record_tags");
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
	int status = db_step_done(db, stmt, resource->name);
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
	int status = db_step_done(db, stmt, resource->name);
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
	int status = db_step_done(db, stmt, resource->name);
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
	sqlite3_stmt *stmt = resource_sql_select_where(db, resource, column, key);
	json_decref(key);
	if (!stmt)
		return DB_ERROR;
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list, resource_row_record(stmt, resource));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return db_status_from_sqlite(db, rc, resource->name);
	}
	*records = list;
	return DB_OK;
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
	int status = db_step_done(db, stmt, "idempotency");
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
	int status = db_step_done(db, stmt, "idempotency");
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
	return db_step_done(db, stmt, "idempotency");
}
