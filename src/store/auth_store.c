/*
 * auth_store.c - SQL for API keys, sessions and login failures (see auth_store.h).
 * Keys and sessions are found by the hash of their secret; the secret itself is never
 * stored. Key and session changes made by an administrator are audited.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/auth_store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/banned.h"

static void copy_text(char *out, size_t size, const char *text)
{
	snprintf(out, size, "%s", text ? text : "");
}

static void copy_hash(unsigned char out[AUTH_HASH_BYTES], sqlite3_stmt *stmt, int column)
{
	memset(out, 0, AUTH_HASH_BYTES);
	const void *blob = sqlite3_column_blob(stmt, column);
	int len = sqlite3_column_bytes(stmt, column);
	if (blob && len == AUTH_HASH_BYTES)
		memcpy(out, blob, AUTH_HASH_BYTES);
}

#define PRINCIPAL_COLUMNS "u.id, u.email, u.name, u.role, u.team, u.disabled"

static void principal_from_row(sqlite3_stmt *stmt, int first, struct auth_principal *user)
{
	user->user_id = sqlite3_column_int64(stmt, first);
	copy_text(user->email, sizeof(user->email), db_column_text(stmt, first + 1));
	copy_text(user->name, sizeof(user->name), db_column_text(stmt, first + 2));
	copy_text(user->role, sizeof(user->role), db_column_text(stmt, first + 3));
	copy_text(user->team, sizeof(user->team), db_column_text(stmt, first + 4));
	user->disabled = sqlite3_column_int(stmt, first + 5) != 0;
}

/* ---------------------------------------------------------------- API keys */

int auth_store_key_find(struct db *db, const unsigned char hash[AUTH_HASH_BYTES],
			struct auth_key_record *out)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT k.id, k.key_hash, k.read_only, k.expires_at, k.revoked_at IS NOT NULL,"
		    " k.last_used_at, " PRINCIPAL_COLUMNS
		    " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_blob(stmt, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(stmt, 0);
		copy_hash(out->hash, stmt, 1);
		out->read_only = sqlite3_column_int(stmt, 2) != 0;
		copy_text(out->expires_at, sizeof(out->expires_at), db_column_text(stmt, 3));
		out->revoked = sqlite3_column_int(stmt, 4) != 0;
		copy_text(out->last_used_at, sizeof(out->last_used_at), db_column_text(stmt, 5));
		principal_from_row(stmt, 6, &out->user);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "key lookup");
}

int auth_store_key_touch(struct db *db, int64_t id, const char *now)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE api_keys SET last_used_at = ? WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(db, stmt, "key touch");
}

/* The key as the audit log shows it: never its hash. */
json_t *auth_store_key_audit_json(struct db *db, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT k.user_id, u.email, k.name, k.prefix, k.read_only, k.created_at,"
		    " k.expires_at, k.revoked_at FROM api_keys k JOIN users u ON u.id = k.user_id"
		    " WHERE k.id = ?");
	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, id);
	json_t *value = NULL;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *expires = db_column_text(stmt, 6), *revoked = db_column_text(stmt, 7);
		value = json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:o, s:o}", "id",
				  (json_int_t)id, "user_id", (json_int_t)sqlite3_column_int64(stmt, 0),
				  "user_email", db_column_text(stmt, 1), "name", db_column_text(stmt, 2),
				  "prefix", db_column_text(stmt, 3), "read_only",
				  sqlite3_column_int(stmt, 4) != 0, "created_at",
				  db_column_text(stmt, 5), "expires_at",
				  expires ? json_string(expires) : json_null(), "revoked_at",
				  revoked ? json_string(revoked) : json_null());
	}
	sqlite3_reset(stmt);
	return value;
}

int auth_store_key_insert(struct db *db, int64_t user_id, const char *name, const char *prefix,
			  const unsigned char hash[AUTH_HASH_BYTES], bool read_only,
			  const char *expires_at, int64_t *id_out)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT INTO api_keys (user_id, name, prefix, key_hash, read_only, created_at,"
		    " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	sqlite3_bind_int64(stmt, 1, user_id);
	db_bind_text(stmt, 2, name);
	db_bind_text(stmt, 3, prefix);
	sqlite3_bind_blob(stmt, 4, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, read_only);
	db_bind_text(stmt, 6, now);
	db_bind_text(stmt, 7, expires_at);
	int status = db_step_done(db, stmt, "key create");
	if (status == DB_OK)
		*id_out = db_last_insert_id(db);
	return status;
}

int auth_store_key_list(struct db *db, void (*visit)(void *context, const struct auth_key_info *),
			void *context)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT k.id, u.email, k.name, k.prefix, k.read_only, k.created_at, k.expires_at,"
		    " k.revoked_at, k.last_used_at FROM api_keys k JOIN users u ON u.id = k.user_id"
		    " ORDER BY k.id");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct auth_key_info info = {
			.id = sqlite3_column_int64(stmt, 0),
			.user_email = db_column_text(stmt, 1),
			.name = db_column_text(stmt, 2),
			.prefix = db_column_text(stmt, 3),
			.read_only = sqlite3_column_int(stmt, 4) != 0,
			.created_at = db_column_text(stmt, 5),
			.expires_at = db_column_text(stmt, 6),
			.revoked_at = db_column_text(stmt, 7),
			.last_used_at = db_column_text(stmt, 8),
		};
		visit(context, &info);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "key list");
}

int auth_store_key_set_revoked(struct db *db, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE api_keys SET revoked_at = ? WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(db, stmt, "key revoke");
}

/* ---------------------------------------------------------------- sessions */

int auth_store_session_find(struct db *db, const unsigned char hash[AUTH_HASH_BYTES],
			    struct auth_session_record *out)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT s.id, s.token_hash, s.csrf_token, s.created_at, s.last_seen_at,"
		    " s.expires_at, s.revoked_at IS NOT NULL, " PRINCIPAL_COLUMNS
		    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_blob(stmt, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(stmt, 0);
		copy_hash(out->hash, stmt, 1);
		copy_text(out->csrf_token, sizeof(out->csrf_token), db_column_text(stmt, 2));
		copy_text(out->created_at, sizeof(out->created_at), db_column_text(stmt, 3));
		copy_text(out->last_seen_at, sizeof(out->last_seen_at), db_column_text(stmt, 4));
		copy_text(out->expires_at, sizeof(out->expires_at), db_column_text(stmt, 5));
		out->revoked = sqlite3_column_int(stmt, 6) != 0;
		principal_from_row(stmt, 7, &out->user);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "session lookup");
}

int auth_store_session_create(struct db *db, int64_t user_id,
			      const unsigned char hash[AUTH_HASH_BYTES], const char *csrf_token,
			      const char *now, const char *expires_at, const char *client_address,
			      int64_t *id_out)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,"
		    " expires_at, client_address) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_blob(stmt, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, user_id);
	db_bind_text(stmt, 3, csrf_token);
	db_bind_text(stmt, 4, now);
	db_bind_text(stmt, 5, now);
	db_bind_text(stmt, 6, expires_at);
	db_bind_text(stmt, 7, client_address);
	int status = db_step_done(db, stmt, "session create");
	if (status == DB_OK)
		*id_out = db_last_insert_id(db);
	return status;
}

int auth_store_session_touch(struct db *db, int64_t id, const char *now)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE sessions SET last_seen_at = ? WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(db, stmt, "session touch");
}

int auth_store_session_revoke(struct db *db, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, id);
	return db_step_done(db, stmt, "session revoke");
}

int auth_store_sessions_revoke_user(struct db *db, int64_t user_id, int64_t keep_id, int *count)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id != ?"
		    " AND revoked_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_int64(stmt, 3, keep_id);
	int status = db_step_done(db, stmt, "session revoke");
	if (count)
		*count = status == DB_OK ? db_changes(db) : 0;
	return status;
}

/* ---------------------------------------------------------------- login failures */

int auth_store_failures_check(struct db *db, const char *subject, int64_t since, int threshold,
			      int64_t window, int *count, int64_t *unblocked_at)
{
	*count = 0;
	*unblocked_at = 0;
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT count(*) FROM login_failures WHERE subject = ? AND failed_at >= ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, subject);
	sqlite3_bind_int64(stmt, 2, since);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "failure count");
	if (*count < threshold)
		return DB_OK;
	/* The attempt is allowed again once fewer than `threshold` failures remain in the
	 * window: when the threshold-th most recent one has aged out. */
	stmt = db_prepare(db, "SELECT failed_at FROM login_failures WHERE subject = ?"
			      " AND failed_at >= ? ORDER BY failed_at DESC LIMIT 1 OFFSET ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, subject);
	sqlite3_bind_int64(stmt, 2, since);
	sqlite3_bind_int(stmt, 3, threshold - 1);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*unblocked_at = sqlite3_column_int64(stmt, 0) + window;
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK
						     : db_status_from_sqlite(db, rc, "failure window");
}

static int insert_failure(struct db *db, const char *subject, int64_t now)
{
	sqlite3_stmt *stmt =
		db_prepare(db, "INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, subject);
	sqlite3_bind_int64(stmt, 2, now);
	return db_step_done(db, stmt, "failure record");
}

/*
 * The wait of a delay rule: with n failures beyond the free ones, 2^n seconds (at most
 * delay_max) after the latest failure.
 */
static int delay_rule_wait(struct db *db, const struct auth_throttle_rule *rule, int count,
			   int64_t now, int64_t *wait)
{
	int beyond = count - rule->limit;
	int64_t delay = beyond >= 30 ? rule->delay_max : (int64_t)1 << beyond;
	if (delay > rule->delay_max)
		delay = rule->delay_max;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT max(failed_at) FROM login_failures "
					    "WHERE subject = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, rule->subject);
	int rc = sqlite3_step(stmt);
	int64_t latest = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "failure delay");
	*wait = latest + delay - now > 0 ? latest + delay - now : 0;
	return DB_OK;
}

/* The wait that `rule` imposes at `now` (0: none), inside the caller's transaction. */
static int rule_wait(struct db *db, const struct auth_throttle_rule *rule, int64_t now,
		     int64_t *wait)
{
	int count;
	int64_t unblocked_at;
	*wait = 0;
	int status = auth_store_failures_check(db, rule->subject, now - rule->window + 1,
					       rule->limit, rule->window, &count, &unblocked_at);
	if (status != DB_OK || count < rule->limit)
		return status;
	if (rule->delay_max > 0)
		return delay_rule_wait(db, rule, count, now, wait);
	*wait = unblocked_at - now > 0 ? unblocked_at - now : 1;
	return status;
}

int auth_store_failures_reserve(struct db *db, const struct auth_throttle_rule *rules, int count,
				int64_t now, int64_t forget_before, int64_t *wait, int64_t *ids)
{
	*wait = 0;
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	for (int i = 0; i < count; i++) {
		int64_t rule_seconds;
		if ((status = rule_wait(db, &rules[i], now, &rule_seconds)) != DB_OK)
			goto cleanup;
		if (rule_seconds > *wait)
			*wait = rule_seconds;
	}
	for (int i = 0; i < count && *wait == 0; i++) {
		if ((status = insert_failure(db, rules[i].subject, now)) != DB_OK)
			goto cleanup;
		ids[i] = db_last_insert_id(db);
	}
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_failures WHERE failed_at < ?");
	if (!stmt) {
		status = DB_ERROR;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, forget_before);
	if ((status = db_step_done(db, stmt, "failure prune")) != DB_OK)
		goto cleanup;
	status = db_commit(db);
cleanup:
	if (status != DB_OK)
		db_rollback(db);
	return status;
}

int auth_store_failures_release(struct db *db, const int64_t *ids, int count)
{
	int status = DB_OK;
	for (int i = 0; i < count && status == DB_OK; i++) {
		sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_failures WHERE id = ?");
		if (!stmt)
			return DB_ERROR;
		sqlite3_bind_int64(stmt, 1, ids[i]);
		status = db_step_done(db, stmt, "failure release");
	}
	return status;
}

int auth_store_failures_clear(struct db *db, const char *subject)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_failures WHERE subject = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, subject);
	return db_step_done(db, stmt, "failure clear");
}

int auth_store_failure_record(struct db *db, const char *subject, int64_t now)
{
	return insert_failure(db, subject, now);
}

int auth_store_failures_clear_account(struct db *db, const char *email, int *count)
{
	*count = 0;
	struct buf account = BUF_INIT, pairs = BUF_INIT;
	buf_adds(&account, "account:");
	buf_adds(&pairs, "pair:");
	for (const char *p = email; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		buf_addch(&account, c);
		buf_addch(&pairs, c);
	}
	buf_adds(&pairs, "|");
	/* the pair subjects start with "pair:<email>|": compared as a prefix, not a pattern */
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_failures WHERE subject = ?1 "
					    "OR substr(subject, 1, length(?2)) = ?2");
	int status = DB_ERROR;
	if (stmt) {
		db_bind_text(stmt, 1, account.data);
		db_bind_text(stmt, 2, pairs.data);
		status = db_step_done(db, stmt, "failure unlock");
		if (status == DB_OK)
			*count = db_changes(db);
	}
	buf_release(&account);
	buf_release(&pairs);
	return status;
}
