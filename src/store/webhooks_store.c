/*
 * webhooks_store.c - the SQL of webhooks (webhooks.h): who is subscribed to an event, the
 * transactional outbox and its deliveries, the delivery log, the private-address setting,
 * and the delivery thread's claims and results. The endpoints themselves are rows of the
 * generic resource store (resource_store.c); this file only reads them.
 *
 * Subscriptions: an endpoint's `events` is a JSON array read with json_each(); an event
 * matches "*", its own name, and "<entity>.*".
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/webhooks.h"

#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* The condition "endpoint w is active and subscribed to ?<n> (event) or ?<n+1> (entity.*)". */
#define SUBSCRIBED(event_param, family_param)                                              \
	"w.active = 1 AND EXISTS (SELECT 1 FROM json_each(w.events) AS e WHERE e.value IN ('*', " \
	event_param ", " family_param "))"

/* "contact.created" -> "contact.*" into `out`. */
static void event_family(const char *event, char out[WEBHOOKS_EVENT_MAX + 4])
{
	size_t len = strcspn(event, ".");
	if (len > WEBHOOKS_EVENT_MAX)
		len = WEBHOOKS_EVENT_MAX;
	memcpy(out, event, len);
	memcpy(out + len, ".*", 3);
}

static json_t *text_or_null(const char *text)
{
	json_t *value = text ? json_string(text) : NULL;
	return value ? value : json_null();
}

static json_t *integer_or_null(sqlite3_stmt *stmt, int column)
{
	if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(stmt, column));
}

/* Seconds since the epoch in a column as RFC 3339, or null. */
static json_t *time_or_null(sqlite3_stmt *stmt, int column)
{
	if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
		return json_null();
	char text[TIME_RFC3339_SIZE];
	time_format_rfc3339((time_t)sqlite3_column_int64(stmt, column), text);
	return json_string(text);
}

/* ================================================================ events */

int webhooks_store_subscribed(struct db *db, const char *event)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT 1 FROM webhooks AS w WHERE " SUBSCRIBED("?1", "?2")
					    " LIMIT 1");
	if (!stmt)
		return DB_ERROR;
	char family[WEBHOOKS_EVENT_MAX + 4];
	event_family(event, family);
	db_bind_text(stmt, 1, event);
	db_bind_text(stmt, 2, family);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_status_from_sqlite(db, rc, "webhooks subscribed");
}

int webhooks_store_enqueue(struct db *db, const char *event, const char *occurred_at,
			   const char *data, const char *previous, int64_t now,
			   int64_t *deliveries)
{
	*deliveries = 0;
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO webhook_outbox (event, occurred_at, data, "
					    "previous) VALUES (?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, event);
	db_bind_text(stmt, 2, occurred_at);
	db_bind_text(stmt, 3, data);
	db_bind_text(stmt, 4, previous);
	int status = db_step_done(db, stmt, "webhook_outbox");
	if (status != DB_OK)
		return status;
	int64_t event_id = db_last_insert_id(db);
	stmt = db_prepare(db, "INSERT INTO webhook_deliveries (webhook_id, event_id, status, "
			      "next_attempt_at, retry_since, created_at) "
			      "SELECT w.id, ?1, 'pending', ?2, ?2, ?3 FROM webhooks AS w WHERE "
			      SUBSCRIBED("?4", "?5") " ORDER BY w.id");
	if (!stmt)
		return DB_ERROR;
	char family[WEBHOOKS_EVENT_MAX + 4];
	event_family(event, family);
	sqlite3_bind_int64(stmt, 1, event_id);
	sqlite3_bind_int64(stmt, 2, now);
	db_bind_text(stmt, 3, occurred_at);
	db_bind_text(stmt, 4, event);
	db_bind_text(stmt, 5, family);
	status = db_step_done(db, stmt, "webhook_deliveries");
	if (status != DB_OK)
		return status;
	*deliveries = db_changes(db);
	if (*deliveries > 0)
		return DB_OK;
	stmt = db_prepare(db, "DELETE FROM webhook_outbox WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, event_id);
	return db_step_done(db, stmt, "webhook_outbox");
}

/* ================================================================ settings */

int webhooks_store_allow_private(struct db *db, bool *allowed)
{
	*allowed = false;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT value FROM settings WHERE key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, WEBHOOKS_SETTING_ALLOW_PRIVATE);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *value = db_column_text(stmt, 0);
		*allowed = value && strcmp(value, "true") == 0;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK
						     : db_status_from_sqlite(db, rc, "settings");
}

int webhooks_store_set_allow_private(struct db *db, bool allowed)
{
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO settings (key, value) VALUES (?, ?) "
					    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, WEBHOOKS_SETTING_ALLOW_PRIVATE);
	db_bind_text(stmt, 2, allowed ? "true" : "false");
	return db_step_done(db, stmt, "settings");
}

/* ================================================================ the delivery log */

int webhooks_store_queue_depth(struct db *db, int64_t *depth)
{
	*depth = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT count(*) FROM webhook_deliveries "
					    "WHERE status IN ('pending', 'sending')");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*depth = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, "webhook queue depth");
}

#define DELIVERY_COLUMNS                                                                    \
	"SELECT d.id, d.webhook_id, d.event_id, o.event, d.status, d.attempts, d.created_at,"  \
	" d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error,"              \
	" d.last_duration_ms, d.delivered_at, o.occurred_at, o.data, o.previous"                \
	" FROM webhook_deliveries AS d JOIN webhook_outbox AS o ON o.id = d.event_id"

/*
 * The payload of an event (new reference): id, event, occurred_at, data and, when there
 * is one, previous. Stored JSON that does not parse (it always does) becomes null.
 */
static json_t *payload_new(int64_t event_id, const char *event, const char *occurred_at,
			   const char *data, const char *previous)
{
	json_t *payload = json_pack("{s:I, s:o, s:o}", "id", (json_int_t)event_id, "event",
				    text_or_null(event), "occurred_at", text_or_null(occurred_at));
	json_t *parsed = data ? json_loads(data, 0, NULL) : NULL;
	json_object_set_new(payload, "data", parsed ? parsed : json_null());
	if (previous) {
		parsed = json_loads(previous, 0, NULL);
		json_object_set_new(payload, "previous", parsed ? parsed : json_null());
	}
	return payload;
}

/* The delivery in the current row of a DELIVERY_COLUMNS statement (new reference). */
static json_t *delivery_from_row(sqlite3_stmt *stmt)
{
	const char *status = db_column_text(stmt, 4);
	json_t *delivery = json_object();
	json_object_set_new(delivery, "id", json_integer(sqlite3_column_int64(stmt, 0)));
	json_object_set_new(delivery, "webhook_id", json_integer(sqlite3_column_int64(stmt, 1)));
	json_object_set_new(delivery, "event_id", json_integer(sqlite3_column_int64(stmt, 2)));
	json_object_set_new(delivery, "event", text_or_null(db_column_text(stmt, 3)));
	json_object_set_new(delivery, "status", text_or_null(status));
	json_object_set_new(delivery, "attempts", json_integer(sqlite3_column_int64(stmt, 5)));
	json_object_set_new(delivery, "created_at", text_or_null(db_column_text(stmt, 6)));
	bool pending = status && strcmp(status, "pending") == 0;
	json_object_set_new(delivery, "next_attempt_at",
			    pending ? time_or_null(stmt, 7) : json_null());
	json_object_set_new(delivery, "last_attempt_at", text_or_null(db_column_text(stmt, 8)));
	json_object_set_new(delivery, "last_status_code", integer_or_null(stmt, 9));
	json_object_set_new(delivery, "last_error", text_or_null(db_column_text(stmt, 10)));
	json_object_set_new(delivery, "last_duration_ms", integer_or_null(stmt, 11));
	json_object_set_new(delivery, "delivered_at", text_or_null(db_column_text(stmt, 12)));
	return delivery;
}

/* Adds "attempt_log" to `delivery` (borrowed). Returns a db_status. */
static int add_attempt_log(struct db *db, json_t *delivery)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT attempted_at, status_code, error, duration_ms "
					    "FROM webhook_attempts WHERE delivery_id = ? ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, json_integer_value(json_object_get(delivery, "id")));
	json_t *log = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(
			log, json_pack("{s:o, s:o, s:o, s:I}", "attempted_at",
				       text_or_null(db_column_text(stmt, 0)), "status_code",
				       integer_or_null(stmt, 1), "error",
				       text_or_null(db_column_text(stmt, 2)), "duration_ms",
				       (json_int_t)sqlite3_column_int64(stmt, 3)));
	sqlite3_reset(stmt);
	json_object_set_new(delivery, "attempt_log", log);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "webhook_attempts");
}

int webhooks_store_deliveries(struct db *db, int64_t webhook_id, const char *status,
			      const char *event, int64_t before_id, int limit, json_t **rows,
			      bool *more)
{
	*rows = json_array();
	*more = false;
	sqlite3_stmt *stmt = db_prepare(db, DELIVERY_COLUMNS " WHERE d.webhook_id = ?1"
					    " AND (?2 = 0 OR d.id < ?2)"
					    " AND (?3 IS NULL OR d.status = ?3)"
					    " AND (?4 IS NULL OR o.event = ?4)"
					    " ORDER BY d.id DESC LIMIT ?5");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, webhook_id);
	sqlite3_bind_int64(stmt, 2, before_id);
	db_bind_text(stmt, 3, status);
	db_bind_text(stmt, 4, event);
	sqlite3_bind_int(stmt, 5, limit + 1);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((int)json_array_size(*rows) == limit) {
			*more = true;
			break;
		}
		json_array_append_new(*rows, delivery_from_row(stmt));
	}
	sqlite3_reset(stmt);
	int result = rc == SQLITE_DONE || rc == SQLITE_ROW
			     ? DB_OK
			     : db_status_from_sqlite(db, rc, "webhook_deliveries");
	size_t index;
	json_t *delivery;
	json_array_foreach(*rows, index, delivery) {
		if (result != DB_OK)
			break;
		result = add_attempt_log(db, delivery);
	}
	return result;
}

int webhooks_store_delivery_get(struct db *db, int64_t webhook_id, int64_t delivery_id,
				json_t **delivery)
{
	*delivery = NULL;
	sqlite3_stmt *stmt = db_prepare(db, DELIVERY_COLUMNS " WHERE d.id = ? AND d.webhook_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, delivery_id);
	sqlite3_bind_int64(stmt, 2, webhook_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*delivery = delivery_from_row(stmt);
		json_object_set_new(*delivery, "payload",
				    payload_new(sqlite3_column_int64(stmt, 2), db_column_text(stmt, 3),
						db_column_text(stmt, 13), db_column_text(stmt, 14),
						db_column_text(stmt, 15)));
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "webhook_deliveries");
	int status = add_attempt_log(db, *delivery);
	if (status != DB_OK) {
		json_decref(*delivery);
		*delivery = NULL;
	}
	return status;
}

int webhooks_store_redeliver(struct db *db, int64_t webhook_id, int64_t delivery_id,
			     int64_t now)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT status FROM webhook_deliveries "
					    "WHERE id = ? AND webhook_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, delivery_id);
	sqlite3_bind_int64(stmt, 2, webhook_id);
	int rc = sqlite3_step(stmt);
	bool sending = rc == SQLITE_ROW && strcmp(db_column_text(stmt, 0), "sending") == 0;
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "webhook_deliveries");
	if (sending)
		return DB_CONFLICT;
	stmt = db_prepare(db, "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1,"
			      " retry_since = ?1 WHERE id = ?2");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, delivery_id);
	return db_step_done(db, stmt, "webhook_deliveries");
}

int webhooks_store_summaries(struct db *db, json_t **rows)
{
	*rows = json_array();
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT w.id, w.url, w.events, w.active, w.description, w.created_at,"
		    " (SELECT count(*) FROM webhook_deliveries AS d WHERE d.webhook_id = w.id"
		    "   AND d.status IN ('pending', 'sending')),"
		    " (SELECT count(*) FROM webhook_deliveries AS d WHERE d.webhook_id = w.id"
		    "   AND d.status = 'delivered'),"
		    " (SELECT count(*) FROM webhook_deliveries AS d WHERE d.webhook_id = w.id"
		    "   AND d.status = 'failed')"
		    " FROM webhooks AS w ORDER BY w.id");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *events = db_column_text(stmt, 2);
		json_t *parsed = events ? json_loads(events, 0, NULL) : NULL;
		json_array_append_new(
			*rows, json_pack("{s:I, s:o, s:o, s:b, s:o, s:o, s:I, s:I, s:I}", "id",
					 (json_int_t)sqlite3_column_int64(stmt, 0), "url",
					 text_or_null(db_column_text(stmt, 1)), "events",
					 parsed ? parsed : json_array(), "active",
					 sqlite3_column_int(stmt, 3) != 0, "description",
					 text_or_null(db_column_text(stmt, 4)), "created_at",
					 text_or_null(db_column_text(stmt, 5)), "pending",
					 (json_int_t)sqlite3_column_int64(stmt, 6), "delivered",
					 (json_int_t)sqlite3_column_int64(stmt, 7), "failed",
					 (json_int_t)sqlite3_column_int64(stmt, 8)));
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "webhooks");
}

/* ================================================================ the delivery thread */

/* The condition on delivery `d`: no delivery of its endpoint is being sent. */
#define NOT_IN_FLIGHT                                                                  \
	"NOT EXISTS (SELECT 1 FROM webhook_deliveries AS s WHERE s.status = 'sending'" \
	" AND s.webhook_id = d.webhook_id)"

int webhooks_store_due(struct db *db, int64_t now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT 1 FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id"
		    " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.active = 1"
		    " AND " NOT_IN_FLIGHT " LIMIT 1");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, now);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_status_from_sqlite(db, rc, "webhook due");
}

/* Runs `sql` binding ?1 = `a` (and ?2 = `b` if it has one) in a write transaction of its own. */
static int write_alone(struct db *db, const char *sql, int64_t a, int64_t b, const char *context)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt) {
		db_rollback(db);
		return DB_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, a);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int64(stmt, 2, b);
	status = db_step_done(db, stmt, context);
	if (status == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return status;
}

int webhooks_store_recover(struct db *db, int64_t now)
{
	return write_alone(db, "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1"
			       " WHERE status = 'sending'",
			   now, 0, "webhook recover");
}

int webhooks_store_release(struct db *db, int64_t delivery_id, int64_t now)
{
	return write_alone(db, "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?2"
			       " WHERE id = ?1 AND status = 'sending'",
			   delivery_id, now, "webhook release");
}

#define CLAIM_MAX 64 /* deliveries claimed at once, at most */

static bool id_listed(const int64_t *ids, int count, int64_t id)
{
	for (int i = 0; i < count; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int webhooks_store_claim(struct db *db, int64_t now, int64_t *ids, int max, int *count)
{
	*count = 0;
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT d.id, d.webhook_id FROM webhook_deliveries AS d"
		    " JOIN webhooks AS w ON w.id = d.webhook_id"
		    " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.active = 1"
		    " AND " NOT_IN_FLIGHT " ORDER BY d.next_attempt_at, d.id");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, now);
	int64_t webhook_ids[CLAIM_MAX];
	if (max > CLAIM_MAX)
		max = CLAIM_MAX;
	int rc = SQLITE_DONE;
	while (*count < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!id_listed(webhook_ids, *count, sqlite3_column_int64(stmt, 1))) {
			webhook_ids[*count] = sqlite3_column_int64(stmt, 1);
			ids[(*count)++] = sqlite3_column_int64(stmt, 0);
		}
	}
	sqlite3_reset(stmt);
	status = rc == SQLITE_DONE || rc == SQLITE_ROW
			 ? DB_OK
			 : db_status_from_sqlite(db, rc, "webhook claim");
	for (int i = 0; status == DB_OK && i < *count; i++) {
		stmt = db_prepare(db, "UPDATE webhook_deliveries SET status = 'sending' WHERE id = ?");
		if (!stmt) {
			status = DB_ERROR;
			break;
		}
		sqlite3_bind_int64(stmt, 1, ids[i]);
		status = db_step_done(db, stmt, "webhook claim");
	}
cleanup:
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK)
		*count = 0;
	return status;
}

void webhooks_job_release(struct webhooks_job *job)
{
	free(job->url);
	free(job->secret);
	free(job->event);
	free(job->body);
	memset(job, 0, sizeof(*job));
}

static char *column_strdup(sqlite3_stmt *stmt, int column)
{
	const char *text = db_column_text(stmt, column);
	return xstrdup(text ? text : "");
}

int webhooks_store_job_load(struct db *db, int64_t delivery_id, struct webhooks_job *job)
{
	memset(job, 0, sizeof(*job));
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT d.id, d.webhook_id, d.event_id, d.attempts, d.retry_since, w.url, w.secret,"
		    " o.event, o.occurred_at, o.data, o.previous"
		    " FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id"
		    " JOIN webhook_outbox AS o ON o.id = d.event_id WHERE d.id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, delivery_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		job->delivery_id = sqlite3_column_int64(stmt, 0);
		job->webhook_id = sqlite3_column_int64(stmt, 1);
		job->event_id = sqlite3_column_int64(stmt, 2);
		job->attempts = sqlite3_column_int(stmt, 3);
		job->retry_since = sqlite3_column_int64(stmt, 4);
		job->url = column_strdup(stmt, 5);
		job->secret = column_strdup(stmt, 6);
		job->event = column_strdup(stmt, 7);
		json_t *payload = payload_new(job->event_id, db_column_text(stmt, 7),
					      db_column_text(stmt, 8), db_column_text(stmt, 9),
					      db_column_text(stmt, 10));
		job->body = json_to_text(payload, NULL);
		json_decref(payload);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOT_FOUND : db_status_from_sqlite(db, rc, "webhook job");
}

int webhooks_store_attempt_finish(struct db *db, int64_t delivery_id,
				  const struct webhooks_attempt *attempt)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	bool delivered = strcmp(attempt->status, "delivered") == 0;
	bool pending = strcmp(attempt->status, "pending") == 0;
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?1,"
		    " next_attempt_at = ?2, last_attempt_at = ?3, last_status_code = ?4,"
		    " last_error = ?5, last_duration_ms = ?6,"
		    " delivered_at = CASE WHEN ?1 = 'delivered' THEN ?3 ELSE delivered_at END"
		    " WHERE id = ?7 AND status = 'sending'");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	db_bind_text(stmt, 1, attempt->status);
	if (pending)
		sqlite3_bind_int64(stmt, 2, attempt->next_attempt_at);
	else
		sqlite3_bind_null(stmt, 2);
	db_bind_text(stmt, 3, attempt->attempted_at);
	if (attempt->status_code > 0)
		sqlite3_bind_int(stmt, 4, attempt->status_code);
	else
		sqlite3_bind_null(stmt, 4);
	db_bind_text(stmt, 5, delivered ? NULL : attempt->error);
	sqlite3_bind_int64(stmt, 6, attempt->duration_ms);
	sqlite3_bind_int64(stmt, 7, delivery_id);
	status = db_step_done(db, stmt, "webhook_deliveries");
	if (status != DB_OK || db_changes(db) == 0) /* deleted with its webhook meanwhile */
		goto cleanup;
	stmt = db_prepare(db, "INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code,"
			      " error, duration_ms) VALUES (?, ?, ?, ?, ?)");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, delivery_id);
	db_bind_text(stmt, 2, attempt->attempted_at);
	if (attempt->status_code > 0)
		sqlite3_bind_int(stmt, 3, attempt->status_code);
	else
		sqlite3_bind_null(stmt, 3);
	db_bind_text(stmt, 4, delivered ? NULL : attempt->error);
	sqlite3_bind_int64(stmt, 5, attempt->duration_ms);
	status = db_step_done(db, stmt, "webhook_attempts");
cleanup:
	if (status == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return status;
}

int webhooks_store_prune(struct db *db, const char *before)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM webhook_deliveries WHERE status IN "
					    "('delivered', 'failed') AND created_at < ?");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	db_bind_text(stmt, 1, before);
	status = db_step_done(db, stmt, "webhook prune");
	if (status != DB_OK)
		goto cleanup;
	stmt = db_prepare(db, "DELETE FROM webhook_outbox WHERE NOT EXISTS (SELECT 1 FROM "
			      "webhook_deliveries AS d WHERE d.event_id = webhook_outbox.id)");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	status = db_step_done(db, stmt, "webhook prune");
cleanup:
	if (status == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return status;
}
