/*
 * gdpr_store.c - the data layer of export and erasure (gdpr.h): finding what belongs to a
 * contact, clearing personal fields with plain UPDATEs (the tables' triggers keep the
 * full-text indexes in step; the analytics triggers do not fire, as no amount, time or
 * kind changes), the audit entries to redact, and the purge steps. Table and column names
 * are compiled in; every value is bound.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/gdpr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/banned.h"

#define PURGE_PENDING_KEY "gdpr.purge_pending"

const char *const gdpr_fts_tables[] = { "contacts_fts", "interactions_fts", "tasks_fts",
					"opportunities_fts", NULL };

static const char *const related_tables[GDPR_RELATED_COUNT] = {
	[GDPR_INTERACTIONS] = "interactions",
	[GDPR_TASKS] = "tasks",
	[GDPR_OPPORTUNITIES] = "opportunities",
	[GDPR_PURCHASES] = "purchases",
};

static const char *const related_id_queries[GDPR_RELATED_COUNT] = {
	[GDPR_INTERACTIONS] = "SELECT id FROM interactions WHERE contact_id = ?1 ORDER BY id",
	[GDPR_TASKS] = "SELECT id FROM tasks WHERE contact_id = ?1 UNION SELECT id FROM tasks "
		       "WHERE opportunity_id IN (SELECT id FROM opportunities WHERE contact_id = ?1) "
		       "ORDER BY id",
	[GDPR_OPPORTUNITIES] = "SELECT id FROM opportunities WHERE contact_id = ?1 ORDER BY id",
	[GDPR_PURCHASES] = "SELECT id FROM purchases WHERE contact_id = ?1 ORDER BY id",
};

const char *gdpr_related_table(enum gdpr_related related)
{
	return related_tables[related];
}

/* Steps a statement that returns no rows and resets it; adds the changes to *changed. */
static int run(struct db *db, sqlite3_stmt *stmt, const char *context, int64_t *changed)
{
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, context);
	if (status == DB_OK && changed)
		*changed += db_changes(db);
	return status;
}

int gdpr_store_related_ids(struct db *db, enum gdpr_related related, int64_t contact_id,
			   int64_t **ids, size_t *count)
{
	*ids = NULL;
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, related_id_queries[related]);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	size_t capacity = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*count == capacity) {
			capacity = capacity ? capacity * 2 : 16;
			*ids = xrealloc(*ids, capacity * sizeof(**ids));
		}
		(*ids)[(*count)++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, related_tables[related]);
	if (status != DB_OK) {
		free(*ids);
		*ids = NULL;
		*count = 0;
	}
	return status;
}

int gdpr_store_segment_memberships(struct db *db, int64_t contact_id, json_t **rows)
{
	*rows = json_array();
	sqlite3_stmt *stmt = db_prepare(db, "SELECT s.id, s.name, s.kind, m.added_at "
					    "FROM segment_members m JOIN segments s "
					    "ON s.id = m.segment_id WHERE m.contact_id = ? "
					    "ORDER BY s.id");
	if (!stmt) {
		json_decref(*rows);
		*rows = NULL;
		return DB_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, contact_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = db_column_text(stmt, 1), *kind = db_column_text(stmt, 2),
			   *added = db_column_text(stmt, 3);
		json_array_append_new(*rows, json_pack("{s:I, s:s?, s:s?, s:s?}", "segment_id",
						       (json_int_t)sqlite3_column_int64(stmt, 0),
						       "name", name, "kind", kind, "added_at", added));
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "segment_members");
	if (status != DB_OK) {
		json_decref(*rows);
		*rows = NULL;
	}
	return status;
}

int gdpr_store_erased_at(struct db *db, int64_t contact_id, char *out, size_t size)
{
	out[0] = '\0';
	sqlite3_stmt *stmt = db_prepare(db, "SELECT erased_at FROM contacts WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	int rc = sqlite3_step(stmt);
	int status = DB_OK;
	if (rc == SQLITE_ROW) {
		const char *text = db_column_text(stmt, 0);
		if (text)
			snprintf(out, size, "%s", text);
	} else {
		status = rc == SQLITE_DONE ? DB_NOT_FOUND : db_status_from_sqlite(db, rc, "contacts");
	}
	sqlite3_reset(stmt);
	return status;
}

/* ---------------------------------------------------------------- erasure */

/* Clears the contact's personal fields. DB_NOT_FOUND / DB_STALE when it cannot. */
static int erase_contact_row(struct db *db, int64_t contact_id, int64_t expected_version,
			     const char *now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE contacts SET first_name = NULL, last_name = NULL, email = NULL, "
		    "phone = NULL, title = NULL, company_id = NULL, tags = '[]', custom = '{}', "
		    "external_id = NULL, erased_at = ?1, updated_at = ?1, version = version + 1 "
		    "WHERE id = ?2 AND (?3 <= 0 OR version = ?3)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, contact_id);
	sqlite3_bind_int64(stmt, 3, expected_version);
	int64_t changed = 0;
	int status = run(db, stmt, "contacts", &changed);
	if (status != DB_OK || changed)
		return status;
	char ignored[32];
	status = gdpr_store_erased_at(db, contact_id, ignored, sizeof(ignored));
	return status == DB_OK ? DB_STALE : status;
}

int gdpr_store_erase(struct db *db, int64_t contact_id, int64_t expected_version,
		     const char *now, struct gdpr_erase_counts *counts)
{
	int status = erase_contact_row(db, contact_id, expected_version, now);
	if (status != DB_OK)
		return status;
	/* each statement: its SQL, whether `now` is ?2 (else only the contact id is bound),
	 * and the count it adds to */
	const struct {
		const char *sql;
		int64_t *count;
	} steps[] = {
		{ "DELETE FROM record_tags WHERE entity = 'contacts' AND record_id = ?1", NULL },
		{ "UPDATE interactions SET subject = NULL, body = NULL, outcome = NULL, "
		  "external_id = NULL, updated_at = ?2, version = version + 1 WHERE contact_id = ?1",
		  &counts->interactions },
		{ "UPDATE tasks SET title = '" GDPR_ERASED_TEXT "', external_id = NULL, "
		  "updated_at = ?2, version = version + 1 WHERE contact_id = ?1 OR opportunity_id IN "
		  "(SELECT id FROM opportunities WHERE contact_id = ?1)",
		  &counts->tasks },
		{ "DELETE FROM record_tags WHERE entity = 'opportunities' AND record_id IN "
		  "(SELECT id FROM opportunities WHERE contact_id = ?1)",
		  NULL },
		{ "UPDATE opportunities SET name = '" GDPR_ERASED_TEXT "', lost_reason = NULL, "
		  "tags = '[]', custom = '{}', external_id = NULL, updated_at = ?2, "
		  "version = version + 1 WHERE contact_id = ?1",
		  &counts->opportunities },
		{ "UPDATE purchases SET reference = NULL, external_id = NULL, updated_at = ?2, "
		  "version = version + 1 WHERE contact_id = ?1 "
		  "AND (reference IS NOT NULL OR external_id IS NOT NULL)",
		  NULL },
		{ "DELETE FROM segment_members WHERE contact_id = ?1", &counts->segment_memberships },
		/* webhook events carrying the person's data (their deliveries go with them); the
		 * segment membership events carry two ids only, and announce the erasure's own
		 * removals (gdpr.c) */
		{ "DELETE FROM webhook_outbox WHERE json_valid(data) AND ("
		  "(event LIKE 'contact.%' AND json_extract(data, '$.id') = ?1) OR "
		  "(json_extract(data, '$.contact_id') = ?1 AND event NOT LIKE 'segment.member_%'))",
		  NULL },
		{ "DELETE FROM idempotency_keys WHERE json_valid(body) AND ("
		  "(path = '/api/v1/contacts' AND json_extract(body, '$.id') = ?1) OR "
		  "(path IN ('/api/v1/interactions', '/api/v1/tasks', '/api/v1/opportunities', "
		  "'/api/v1/purchases') AND json_extract(body, '$.contact_id') = ?1))",
		  NULL },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && status == DB_OK; i++) {
		sqlite3_stmt *stmt = db_prepare(db, steps[i].sql);
		if (!stmt)
			return DB_ERROR;
		sqlite3_bind_int64(stmt, 1, contact_id);
		if (sqlite3_bind_parameter_count(stmt) >= 2)
			db_bind_text(stmt, 2, now);
		status = run(db, stmt, "erase", steps[i].count);
	}
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM purchases WHERE contact_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		counts->purchases_kept = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, "purchases");
}

/* ---------------------------------------------------------------- audit entries */

/* A JSON column: its parsed value (new reference), or null when absent or not JSON. */
static json_t *json_column(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	json_t *value = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return value ? value : json_null();
}

static json_t *integer_column(sqlite3_stmt *stmt, int column)
{
	return sqlite3_column_type(stmt, column) == SQLITE_NULL
		       ? json_null()
		       : json_integer(sqlite3_column_int64(stmt, column));
}

static json_t *text_column(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	json_t *value = text ? json_string(text) : NULL;
	return value ? value : json_null();
}

#define ENTRY_COLUMNS "id, at, user_id, actor, entity, entity_id, action, before, after"

/*
 * Runs `stmt` (bound, selecting ENTRY_COLUMNS) and adds each row to `entries` keyed by
 * its id (an object used as a set, so that an entry found twice is kept once).
 */
static int collect_entries(struct db *db, sqlite3_stmt *stmt, json_t *entries)
{
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char key[24];
		snprintf(key, sizeof(key), "%020lld", (long long)sqlite3_column_int64(stmt, 0));
		if (json_object_get(entries, key))
			continue;
		json_t *entry = json_object();
		json_object_set_new(entry, "id", json_integer(sqlite3_column_int64(stmt, 0)));
		json_object_set_new(entry, "at", text_column(stmt, 1));
		json_object_set_new(entry, "user_id", integer_column(stmt, 2));
		json_object_set_new(entry, "actor", text_column(stmt, 3));
		json_object_set_new(entry, "entity", text_column(stmt, 4));
		json_object_set_new(entry, "entity_id", integer_column(stmt, 5));
		json_object_set_new(entry, "action", text_column(stmt, 6));
		json_object_set_new(entry, "before", json_column(stmt, 7));
		json_object_set_new(entry, "after", json_column(stmt, 8));
		json_object_set_new(entries, key, entry);
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "audit_log");
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gdpr_store_audit_entries(struct db *db, int64_t contact_id, const char *extra_entity,
			     const int64_t *extra_ids, size_t extra_count, json_t **entries)
{
	*entries = NULL;
	json_t *found = json_object();
	/* the entries about the contact: audit_contacts (migration 0009) maps them */
	int status = DB_ERROR;
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT " ENTRY_COLUMNS " FROM audit_log WHERE id IN "
		    "(SELECT audit_id FROM audit_contacts WHERE contact_id = ?)");
	if (!stmt)
		goto cleanup;
	sqlite3_bind_int64(stmt, 1, contact_id);
	status = collect_entries(db, stmt, found);
	stmt = db_prepare(db, "SELECT " ENTRY_COLUMNS " FROM audit_log "
			      "WHERE entity = ? AND entity_id = ?");
	if (!stmt)
		status = DB_ERROR;
	for (size_t i = 0; i < extra_count && status == DB_OK; i++) {
		db_bind_text(stmt, 1, extra_entity);
		sqlite3_bind_int64(stmt, 2, extra_ids[i]);
		status = collect_entries(db, stmt, found);
	}
	if (status != DB_OK)
		goto cleanup;
	/* the keys are zero-padded ids: in key order is in id order */
	size_t count = json_object_size(found), index = 0;
	const char **keys = xcalloc(count ? count : 1, sizeof(*keys));
	const char *key;
	json_t *entry;
	json_object_foreach(found, key, entry)
		keys[index++] = key;
	qsort(keys, count, sizeof(*keys), compare_keys);
	*entries = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append(*entries, json_object_get(found, keys[i]));
	free(keys);
cleanup:
	json_decref(found);
	return status;
}

int gdpr_store_audit_rewrite(struct db *db, int64_t id, const json_t *before, const json_t *after)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE audit_log SET before = ?, after = ? WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	char *before_text = before ? json_to_text(before, NULL) : NULL;
	char *after_text = after ? json_to_text(after, NULL) : NULL;
	db_bind_text(stmt, 1, before_text);
	db_bind_text(stmt, 2, after_text);
	sqlite3_bind_int64(stmt, 3, id);
	int status = run(db, stmt, "audit_log", NULL);
	free(before_text);
	free(after_text);
	return status;
}

/* ---------------------------------------------------------------- purge */

int gdpr_store_purge_pending_add(struct db *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO settings (key, value) VALUES (?1, '1') "
					    "ON CONFLICT (key) DO UPDATE SET "
					    "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, PURGE_PENDING_KEY);
	return run(db, stmt, "settings", NULL);
}

int gdpr_store_purge_pending(struct db *db, bool reset, int64_t *count)
{
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, PURGE_PENDING_KEY);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "settings");
	if (status != DB_OK || !reset)
		return status;
	stmt = db_prepare(db, "DELETE FROM settings WHERE key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, PURGE_PENDING_KEY);
	return run(db, stmt, "settings", NULL);
}

int gdpr_store_purge_pending_sub(struct db *db, int64_t count)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE settings SET value = "
					    "CAST(CAST(value AS INTEGER) - ?2 AS TEXT) WHERE key = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, PURGE_PENDING_KEY);
	sqlite3_bind_int64(stmt, 2, count);
	int status = run(db, stmt, "settings", NULL);
	if (status != DB_OK)
		return status;
	stmt = db_prepare(db, "DELETE FROM settings WHERE key = ? AND CAST(value AS INTEGER) <= 0");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, PURGE_PENDING_KEY);
	return run(db, stmt, "settings", NULL);
}

int gdpr_store_fts_merge_step(struct db *db, const char *table, int pages, bool *done)
{
	*done = false;
	const char *sql = NULL;
	/* the table name is compiled in: pick the statement text of a known table */
	if (strcmp(table, "contacts_fts") == 0)
		sql = "INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('merge', ?)";
	else if (strcmp(table, "interactions_fts") == 0)
		sql = "INSERT INTO interactions_fts (interactions_fts, rank) VALUES ('merge', ?)";
	else if (strcmp(table, "tasks_fts") == 0)
		sql = "INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('merge', ?)";
	else if (strcmp(table, "opportunities_fts") == 0)
		sql = "INSERT INTO opportunities_fts (opportunities_fts, rank) VALUES ('merge', ?)";
	if (!sql) {
		log_error("gdpr: no full-text index %s", table);
		return DB_ERROR;
	}
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt) {
		db_rollback(db);
		return DB_ERROR;
	}
	/* a negative page count merges segments of every level into one */
	sqlite3_bind_int(stmt, 1, -pages);
	int before = sqlite3_total_changes(db_handle(db));
	status = run(db, stmt, table, NULL);
	if (status != DB_OK) {
		db_rollback(db);
		return status;
	}
	/* FTS5: fewer than two changes mean there was no work left */
	*done = sqlite3_total_changes(db_handle(db)) - before < 2;
	return db_commit(db);
}

int gdpr_store_vacuum(struct db *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "VACUUM");
	if (!stmt)
		return DB_ERROR;
	return run(db, stmt, "vacuum", NULL);
}

int gdpr_store_checkpoint(struct db *db, bool *complete)
{
	*complete = false;
	sqlite3_stmt *stmt = db_prepare(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		/* busy (1: readers kept it from completing), frames, frames written */
		*complete = sqlite3_column_int(stmt, 0) == 0;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "checkpoint");
}
