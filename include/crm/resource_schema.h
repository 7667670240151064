/*
 * resource_schema.h - the SQL a new resource's migration needs, written from its
 * descriptor (resource.h): `crmctl resource sql NAME` prints it, docs/adding-a-resource.md
 * tells how it becomes migrations/NNNN_<name>.sql.
 *
 * What it writes, in this order:
 *   - CREATE TABLE <table>: id INTEGER PRIMARY KEY AUTOINCREMENT (ids never reused, as
 *     migration 0013 made every table's), one column per field by the storage rules of
 *     resource.h (REQUIRED: NOT NULL; UNIQUE: UNIQUE; ENUM: a CHECK of its values; BOOLEAN:
 *     CHECK 0/1; NOCASE: COLLATE NOCASE; TAGS and free-form OBJECT: NOT NULL DEFAULT '[]' /
 *     '{}'; REFERENCE: a foreign key to users(id), or to the referenced resource's table, ON
 *     DELETE CASCADE when the field is REQUIRED, else ON DELETE SET NULL), then
 *     created_at, updated_at and version;
 *   - one index (<column>, id) per FILTER or SORT field (keyset pagination and filters);
 *   - with fts_table: the FTS5 table over search_columns (external content, rowid = id,
 *     the tokenizer and prefixes of migration 0012), the insert trigger that queues new rows
 *     in fts_pending and the update and delete triggers that keep migration 0011's invariant
 *     (a row is pending exactly when it is not in its index), as migration 0014 wrote them;
 *   - the default grants of API.md section 3 for the built-in roles: admin all; manager
 *     read all, write and delete team; rep read all, write own, delete none; viewer read
 *     all, nothing else.
 * What it cannot know (a resource's own constraints, composite indexes, data to copy) is
 * added by hand below it.
 */
#ifndef CRM_RESOURCE_SCHEMA_H
#define CRM_RESOURCE_SCHEMA_H

#include "crm/buf.h"

struct resource;

/*
 * Appends the SQL above for `resource` to `out`. `find` gives the descriptor of a
 * referenced resource (its table), e.g. resource_find; a reference it does not know is
 * written to a table of the reference's name.
 */
void resource_schema_sql(const struct resource *resource,
			 const struct resource *(*find)(const char *name), struct buf *out);

#endif
