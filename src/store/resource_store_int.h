/*
 * resource_store_int.h - private to src/store/resource_store.c and resource_store_list.c:
 * the SQL text and binding helpers and the row readers both use. SQL is built from a
 * descriptor's compiled-in table and column names only; every value is bound.
 */
#ifndef CRM_STORE_RESOURCE_STORE_INT_H
#define CRM_STORE_RESOURCE_STORE_INT_H

#include <jansson.h>

#include "crm/buf.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "store/db_sqlite.h"

/* Appends "<table>.<column>". */
void resource_sql_add_qualified(struct buf *sql, const struct resource *resource,
				const char *column);
/* Appends "t.id, t.created_at, t.updated_at, t.version, t.f1, ...": the columns of
 * resource_row_record() qualified by the table name. */
void resource_sql_add_qualified_columns(struct buf *sql, const struct resource *resource);
/* Binds a JSON value (borrowed) by its JSON type; arrays and objects as JSON text. */
void resource_sql_bind_json(sqlite3_stmt *stmt, int index, const json_t *value);
/* The statement selecting the record where `column` = `value` (borrowed), bound; NULL when
 * it does not compile. */
sqlite3_stmt *resource_sql_select_where(struct db *db, const struct resource *resource,
					const char *column, const json_t *value);
/* The resource that holds the owner of `resource`'s records (owner_via_reference), or NULL. */
const struct resource *resource_sql_owner_parent(const struct resource *resource);

/* One column of `field`'s type as JSON (new reference). */
json_t *resource_row_column_json(sqlite3_stmt *stmt, int column,
				 const struct resource_field *field);
/* The record in the current row of a statement that selected id, created_at, updated_at,
 * version and the fields in descriptor order (new reference). */
json_t *resource_row_record(sqlite3_stmt *stmt, const struct resource *resource);

#endif
