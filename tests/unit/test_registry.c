/*
 * test_registry.c - what the registered descriptors imply (registry.h, resource_schema.h,
 * fts_pending.h): event names in order, the migration SQL that `crmctl resource sql`
 * writes (the full-text table and triggers of tasks and opportunities are those that
 * migration 0014 wrote by hand; the SQL of a descriptor with every field type runs, and
 * the store writes and searches through it), and rows of a full-text table that no
 * registered resource has stay pending instead of being dropped.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/fts_pending.h"
#include "crm/opportunities.h"
#include "crm/registry.h"
#include "crm/resource.h"
#include "crm/resource_schema.h"
#include "crm/resource_store.h"
#include "crm/routes.h"
#include "crm/tasks.h"
#include "store/db_sqlite.h"

static char db_path[64];

static void remove_db(void)
{
	char path[80];
	unlink(db_path);
	snprintf(path, sizeof(path), "%s-wal", db_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db_path);
	unlink(path);
}

static struct db *migrated_db(void)
{
	snprintf(db_path, sizeof(db_path), "/tmp/crm-test-registry-%d.db", (int)getpid());
	remove_db();
	struct db *db = db_open(db_path, DB_SYNC_NORMAL);
	CHECK(db != NULL);
	if (db)
		CHECK_INT(0, db_migrate(db, NULL));
	return db;
}

/* `text` with every run of white space made one space, trimmed (a new string). */
static char *squeezed(const char *text)
{
	struct buf out = BUF_INIT;
	bool space = false;
	for (const char *p = text; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = out.len > 0;
			continue;
		}
		if (space)
			buf_addch(&out, ' ');
		space = false;
		buf_addch(&out, *p);
	}
	return buf_detach(&out, NULL);
}

/* Whether the generated SQL holds the statement sqlite_master keeps for `name`. */
static bool generated_has(struct db *db, const char *generated, const char *name)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT sql FROM sqlite_master WHERE name = ?");
	db_bind_text(stmt, 1, name);
	bool found = false;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		char *stored = squeezed((const char *)sqlite3_column_text(stmt, 0));
		char *all = squeezed(generated);
		found = strstr(all, stored) != NULL;
		if (!found)
			fprintf(stderr, "  %s as migrated:\n%s\n", name, stored);
		free(stored);
		free(all);
	}
	sqlite3_reset(stmt);
	return found;
}

static void test_event_names_follow_the_descriptors(void)
{
	json_t *events = registry_events_json();
	CHECK_INT(28, (int)json_array_size(events));
	CHECK_STR("contact.created", json_string_value(json_array_get(events, 0)));
	CHECK_STR("contact.erased", json_string_value(json_array_get(events, 4)));
	CHECK_STR("segment.member_removed", json_string_value(json_array_get(events, 27)));
	json_decref(events);
	CHECK(registry_event_known("opportunity.won"));
	CHECK(!registry_event_known("webhook.created")); /* webhooks have no events */
	CHECK(!registry_event_known("opportunity.w"));
	CHECK(registry_event_family_known("task.*"));
	CHECK(!registry_event_family_known("webhook.*"));
	CHECK(!registry_event_family_known("tas.*"));
}

static void test_search_sql_is_that_of_migration_0014(void)
{
	struct db *db = migrated_db();
	static const char *const names[] = {
		"tasks_fts", "tasks_fts_insert", "tasks_fts_delete", "tasks_fts_update",
		"opportunities_fts", "opportunities_fts_insert", "opportunities_fts_delete",
		"opportunities_fts_update", NULL,
	};
	struct buf tasks = BUF_INIT, opportunities = BUF_INIT;
	resource_schema_sql(&tasks_resource, resource_find, &tasks);
	resource_schema_sql(&opportunities_resource, resource_find, &opportunities);
	for (int i = 0; names[i]; i++) {
		bool found = generated_has(db, names[i][0] == 't' ? tasks.data : opportunities.data,
					   names[i]);
		if (!found)
			fprintf(stderr, "  not generated: %s\n", names[i]);
		CHECK(found);
	}
	CHECK(strstr(tasks.data, "('rep', 'tasks', 'write', 'own')") != NULL);
	buf_release(&tasks);
	buf_release(&opportunities);
	db_close(db);
	remove_db();
}

/* A descriptor with every field type, for the generated SQL to run. */
static const char *const gadget_colours[] = { "red", "green", NULL };
static const struct resource_field gadget_members[] = {
	{ .name = "ok", .type = RESOURCE_FIELD_BOOLEAN },
	{ .name = NULL },
};
static const struct resource_field gadget_fields[] = {
	{ .name = "name", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT | RESOURCE_FIELD_NOCASE },
	{ .name = "notes", .type = RESOURCE_FIELD_TEXT },
	{ .name = "email", .type = RESOURCE_FIELD_EMAIL, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "count", .type = RESOURCE_FIELD_INTEGER, .flags = RESOURCE_FIELD_SORT },
	{ .name = "active", .type = RESOURCE_FIELD_BOOLEAN, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "seen_at", .type = RESOURCE_FIELD_TIMESTAMP },
	{ .name = "due", .type = RESOURCE_FIELD_DATE },
	{ .name = "colour", .type = RESOURCE_FIELD_ENUM, .values = gadget_colours },
	{ .name = "currency", .type = RESOURCE_FIELD_CURRENCY },
	{ .name = "company_id", .type = RESOURCE_FIELD_REFERENCE, .references = "companies" },
	{ .name = "contact_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_REQUIRED, .references = "contacts" },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_DEFAULT_CALLER, .references = "users" },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "state", .type = RESOURCE_FIELD_OBJECT, .members = gadget_members },
	{ .name = "custom", .type = RESOURCE_FIELD_OBJECT },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE },
	{ .name = NULL },
};
static const char *const gadget_search[] = { "name", "notes", NULL };
static const struct resource gadgets_resource = {
	.name = "gadgets", .singular = "gadget", .table = "gadgets", .fields = gadget_fields,
	.owner_field = "owner_id", .fts_table = "gadgets_fts", .search_columns = gadget_search,
	.events = resource_change_events,
};

static int exec(struct db *db, const char *sql)
{
	char *message = NULL;
	int rc = sqlite3_exec(db_handle(db), sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s\n", message ? message : "?");
	sqlite3_free(message);
	return rc;
}

static void test_generated_sql_runs_and_the_store_uses_it(void)
{
	struct db *db = migrated_db();
	resource_register(&gadgets_resource);
	struct buf sql = BUF_INIT;
	resource_schema_sql(&gadgets_resource, resource_find, &sql);
	CHECK(strstr(sql.data, "contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE "
			       "NOT NULL") != NULL);
	CHECK_INT(SQLITE_OK, exec(db, sql.data));
	buf_release(&sql);
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO users (email, name, role, created_at, "
				      "updated_at) VALUES ('a@x.io', 'A', 'admin', 'now', 'now');"
				      "INSERT INTO contacts (first_name, owner_id, created_at, "
				      "updated_at) VALUES ('C', 1, 'now', 'now');"));
	json_t *record = json_pack("{s:s, s:s, s:b, s:s, s:i, s:i, s:[s], s:{s:b}, s:{}}", "name",
				   "Sprocket", "notes", "turns quietly", "active", 1, "colour",
				   "red", "contact_id", 1, "owner_id", 1, "tags", "x", "state", "ok",
				   1, "custom"),
	       *stored = NULL;
	CHECK_INT(DB_OK, db_begin_write(db));
	CHECK_INT(DB_OK, resource_store_insert(db, &gadgets_resource, record, &stored));
	CHECK_INT(DB_OK, db_commit(db));
	struct resource_query query;
	resource_query_init(&query);
	query.limit = 10;
	query.scope = PERM_SCOPE_ALL;
	query.caller_team = "";
	query.match = resource_fts_query("quiet");
	json_t *rows = NULL;
	bool more = false;
	CHECK_INT(DB_OK, resource_store_list(db, &gadgets_resource, &query, &rows, &more));
	CHECK_INT(1, (int)json_array_size(rows));
	resource_query_release(&query);
	json_decref(rows);
	json_decref(stored);
	json_decref(record);
	db_close(db);
	remove_db();
}

static void test_rows_of_unknown_full_text_tables_stay_pending(void)
{
	struct db *db = migrated_db();
	CHECK_INT(SQLITE_OK, exec(db, "INSERT INTO fts_pending (fts_table, row_id) "
				      "VALUES ('nobodys_fts', 7)"));
	CHECK_INT(DB_OK, fts_pending_flush_now(db));
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM fts_pending");
	CHECK(sqlite3_step(stmt) == SQLITE_ROW);
	CHECK_INT(1, sqlite3_column_int(stmt, 0));
	sqlite3_reset(stmt);
	db_close(db);
	remove_db();
}

int main(void)
{
	routes_register_resources();
	RUN(test_event_names_follow_the_descriptors);
	RUN(test_search_sql_is_that_of_migration_0014);
	RUN(test_generated_sql_runs_and_the_store_uses_it);
	RUN(test_rows_of_unknown_full_text_tables_stay_pending);
	return check_finish();
}
