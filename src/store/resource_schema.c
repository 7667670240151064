/*
 * resource_schema.c - writes the migration SQL of a resource from its descriptor
 * (resource_schema.h). Only text: nothing here runs SQL. The names written are the
 * descriptor's compiled-in identifiers.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource_schema.h"

#include <stdbool.h>
#include <string.h>

#include "crm/resource.h"
#include "crm/banned.h"

/* The column type and constraints of `field`, after its name. */
static void add_column(const struct resource_field *field,
		       const struct resource *(*find)(const char *name), struct buf *out)
{
	bool required = field->flags & RESOURCE_FIELD_REQUIRED;
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
		buf_adds(out, "INTEGER");
		break;
	case RESOURCE_FIELD_BOOLEAN:
		buf_addf(out, "INTEGER CHECK (%s IN (0, 1))", field->name);
		break;
	case RESOURCE_FIELD_REFERENCE: {
		const struct resource *target =
			strcmp(field->references, "users") == 0 ? NULL : find(field->references);
		buf_addf(out, "INTEGER REFERENCES %s(id)",
			 target ? target->table : field->references);
		if (strcmp(field->references, "users") != 0)
			buf_adds(out, required ? " ON DELETE CASCADE" : " ON DELETE SET NULL");
		break;
	}
	case RESOURCE_FIELD_TAGS:
		buf_adds(out, "TEXT NOT NULL DEFAULT '[]'");
		required = false;
		break;
	case RESOURCE_FIELD_OBJECT:
		buf_adds(out, field->members || field->normalize ? "TEXT" : "TEXT NOT NULL DEFAULT '{}'");
		required = required && (field->members || field->normalize);
		break;
	default:
		buf_adds(out, "TEXT");
		if (field->flags & RESOURCE_FIELD_NOCASE)
			buf_adds(out, " COLLATE NOCASE");
		break;
	}
	if (required)
		buf_adds(out, " NOT NULL");
	if (field->flags & RESOURCE_FIELD_UNIQUE)
		buf_adds(out, " UNIQUE");
	if (field->type == RESOURCE_FIELD_ENUM && field->values) {
		buf_addf(out, " CHECK (%s IN (", field->name);
		for (int i = 0; field->values[i]; i++)
			buf_addf(out, "%s'%s'", i ? ", " : "", field->values[i]);
		buf_adds(out, "))");
	}
}

static void add_table(const struct resource *resource,
		      const struct resource *(*find)(const char *name), struct buf *out)
{
	buf_addf(out, "CREATE TABLE %s (\n\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n",
		 resource->table);
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		buf_addf(out, "\t%s ", field->name);
		add_column(field, find, out);
		buf_adds(out, ",\n");
	}
	buf_adds(out, "\tcreated_at TEXT NOT NULL,\n\tupdated_at TEXT NOT NULL,\n"
		      "\tversion INTEGER NOT NULL DEFAULT 1\n);\n");
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->flags & (RESOURCE_FIELD_FILTER | RESOURCE_FIELD_SORT))
			buf_addf(out, "CREATE INDEX %s_%s ON %s(%s%s, id);\n", resource->table,
				 field->name, resource->table, field->name,
				 field->flags & RESOURCE_FIELD_NOCASE ? " COLLATE NOCASE" : "");
}

/* Appends the columns, each as `prefix`column, separated by ", ". */
static void add_columns(const char *const *columns, const char *prefix, struct buf *out)
{
	for (int i = 0; columns[i]; i++)
		buf_addf(out, "%s%s%s", i ? ", " : "", prefix, columns[i]);
}

/* The FTS5 table and its three triggers (see resource_schema.h). */
static void add_search(const struct resource *resource, struct buf *out)
{
	const char *fts_table = resource->fts_table, *table = resource->table;
	const char *const *columns = resource->search_columns;
	buf_addf(out, "\nCREATE VIRTUAL TABLE %s USING fts5(\n\t", fts_table);
	add_columns(columns, "", out);
	buf_addf(out, ",\n\tcontent = '%s', content_rowid = 'id',\n"
		      "\ttokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'\n);\n"
		      "INSERT INTO %s (%s) VALUES ('rebuild');\n",
		 table, fts_table, fts_table);
	buf_addf(out, "CREATE TRIGGER %s_insert AFTER INSERT ON %s BEGIN\n"
		      "\tINSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('%s', new.id);\n"
		      "END;\n",
		 fts_table, table, fts_table);
	buf_addf(out, "CREATE TRIGGER %s_delete AFTER DELETE ON %s BEGIN\n"
		      "\tINSERT INTO %s (%s, rowid, ",
		 fts_table, table, fts_table, fts_table);
	add_columns(columns, "", out);
	buf_adds(out, ")\n\tSELECT 'delete', old.id, ");
	add_columns(columns, "old.", out);
	buf_addf(out, "\n\tWHERE NOT EXISTS (SELECT 1 FROM fts_pending "
		      "WHERE fts_table = '%s' AND row_id = old.id);\n"
		      "\tDELETE FROM fts_pending WHERE fts_table = '%s' AND row_id = old.id;\nEND;\n",
		 fts_table, fts_table);
	buf_addf(out, "CREATE TRIGGER %s_update AFTER UPDATE OF ", fts_table);
	add_columns(columns, "", out);
	buf_addf(out, " ON %s\nWHEN NOT EXISTS (SELECT 1 FROM fts_pending "
		      "WHERE fts_table = '%s' AND row_id = old.id)\nBEGIN\n\tINSERT INTO %s (%s, rowid, ",
		 table, fts_table, fts_table, fts_table);
	add_columns(columns, "", out);
	buf_adds(out, ")\n\tVALUES ('delete', old.id, ");
	add_columns(columns, "old.", out);
	buf_addf(out, ");\n\tINSERT INTO %s (rowid, ", fts_table);
	add_columns(columns, "", out);
	buf_adds(out, ")\n\tVALUES (new.id, ");
	add_columns(columns, "new.", out);
	buf_adds(out, ");\nEND;\n");
}

/* The default grants of the built-in roles (API.md section 3). */
static void add_grants(const struct resource *resource, struct buf *out)
{
	static const char *const grants[][3] = {
		{ "admin", "read", "all" },     { "admin", "write", "all" },
		{ "admin", "delete", "all" },   { "manager", "read", "all" },
		{ "manager", "write", "team" }, { "manager", "delete", "team" },
		{ "rep", "read", "all" },       { "rep", "write", "own" },
		{ "rep", "delete", "none" },    { "viewer", "read", "all" },
		{ "viewer", "write", "none" },  { "viewer", "delete", "none" },
	};
	buf_adds(out, "\nINSERT INTO grants (role, resource, action, scope) VALUES");
	for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
		buf_addf(out, "%s\n\t('%s', '%s', '%s', '%s')", i ? "," : "", grants[i][0],
			 resource->name, grants[i][1], grants[i][2]);
	buf_adds(out, ";\n");
}

void resource_schema_sql(const struct resource *resource,
			 const struct resource *(*find)(const char *name), struct buf *out)
{
	buf_addf(out, "-- The storage of the resource %s, written by `crmctl resource sql %s` from "
		      "its descriptor.\n\n",
		 resource->name, resource->name);
	add_table(resource, find, out);
	if (resource->fts_table && resource->search_columns)
		add_search(resource, out);
	add_grants(resource, out);
}
