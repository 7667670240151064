/*
 * two_factor_store.c - SQL of two-factor sign-in (two_factor_store.h): user_totp,
 * recovery_codes, login_challenges and roles.require_2fa (migration 0018). Secrets and
 * hashes are bound as parameters only, so that no SQL text or log line ever holds them.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/two_factor_store.h"

#include <stdio.h>
#include <string.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

/* Runs a change that must touch a row: DB_NOT_FOUND when it touched none. */
static int step_change_one(struct db *db, sqlite3_stmt *stmt, const char *context)
{
	int status = db_step_done(db, stmt, context);
	if (status == DB_OK && db_changes(db) == 0)
		status = DB_NOT_FOUND;
	return status;
}

int two_factor_store_totp_get(struct db *db, int64_t user_id, struct two_factor_totp *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT secret, confirmed_at IS NOT NULL, last_step FROM user_totp"
		    " WHERE user_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	int rc = sqlite3_step(stmt);
	int status = DB_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		const void *secret = sqlite3_column_blob(stmt, 0);
		if (secret && sqlite3_column_bytes(stmt, 0) == TOTP_SECRET_BYTES) {
			memcpy(out->secret, secret, TOTP_SECRET_BYTES);
			out->confirmed = sqlite3_column_int(stmt, 1) != 0;
			out->last_step = sqlite3_column_int64(stmt, 2);
			status = DB_OK;
		} else {
			status = DB_ERROR;
		}
	} else if (rc != SQLITE_DONE) {
		status = db_status_from_sqlite(db, rc, "totp get");
	}
	sqlite3_reset(stmt);
	return status;
}

int two_factor_store_totp_put(struct db *db, int64_t user_id,
			      const unsigned char secret[TOTP_SECRET_BYTES], const char *now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT OR REPLACE INTO user_totp (user_id, secret, created_at, confirmed_at,"
		    " last_step) VALUES (?, ?, ?, NULL, 0)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_blob(stmt, 2, secret, TOTP_SECRET_BYTES, SQLITE_TRANSIENT);
	db_bind_text(stmt, 3, now);
	int status = db_step_done(db, stmt, "totp put");
	sqlite3_clear_bindings(stmt); /* the secret's copy does not stay in the cache */
	return status;
}

int two_factor_store_totp_confirm(struct db *db, int64_t user_id, const char *now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE user_totp SET confirmed_at = ? WHERE user_id = ? AND confirmed_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, user_id);
	return step_change_one(db, stmt, "totp confirm");
}

int two_factor_store_totp_use_step(struct db *db, int64_t user_id, int64_t step)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE user_totp SET last_step = ? WHERE user_id = ? AND last_step < ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, step);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_int64(stmt, 3, step);
	int status = step_change_one(db, stmt, "totp use step");
	return status == DB_NOT_FOUND ? DB_CONFLICT : status;
}

int two_factor_store_remove(struct db *db, int64_t user_id, bool *removed)
{
	*removed = false;
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM user_totp WHERE user_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	int status = db_step_done(db, stmt, "totp remove");
	if (status != DB_OK)
		return status;
	*removed = db_changes(db) > 0;
	stmt = db_prepare(db, "DELETE FROM recovery_codes WHERE user_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	status = db_step_done(db, stmt, "recovery codes remove");
	if (status == DB_OK)
		status = two_factor_store_challenges_delete_user(db, user_id);
	return status;
}

int two_factor_store_recovery_replace(struct db *db, int64_t user_id,
				      const unsigned char (*hashes)[TWO_FACTOR_HASH_BYTES],
				      int count)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM recovery_codes WHERE user_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	int status = db_step_done(db, stmt, "recovery codes replace");
	for (int i = 0; i < count && status == DB_OK; i++) {
		stmt = db_prepare(db, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)");
		if (!stmt)
			return DB_ERROR;
		sqlite3_bind_int64(stmt, 1, user_id);
		sqlite3_bind_blob(stmt, 2, hashes[i], TWO_FACTOR_HASH_BYTES, SQLITE_TRANSIENT);
		status = db_step_done(db, stmt, "recovery code insert");
	}
	return status;
}

int two_factor_store_recovery_use(struct db *db, int64_t user_id,
				  const unsigned char hash[TWO_FACTOR_HASH_BYTES], const char *now)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE recovery_codes SET used_at = ? WHERE id = (SELECT id FROM recovery_codes"
		    " WHERE user_id = ? AND code_hash = ? AND used_at IS NULL LIMIT 1)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_blob(stmt, 3, hash, TWO_FACTOR_HASH_BYTES, SQLITE_TRANSIENT);
	return step_change_one(db, stmt, "recovery code use");
}

/* One integer of a query with one integer parameter into *out. */
static int query_count(struct db *db, const char *sql, int64_t parameter, int *out)
{
	*out = 0;
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, parameter);
	int rc = sqlite3_step(stmt);
	int status = DB_OK;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(stmt, 0);
	else
		status = db_status_from_sqlite(db, rc, "two-factor count");
	sqlite3_reset(stmt);
	return status;
}

int two_factor_store_recovery_left(struct db *db, int64_t user_id, int *count)
{
	return query_count(db,
			   "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
			   user_id, count);
}

int two_factor_store_role_required(struct db *db, const char *role, bool *required)
{
	*required = false;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT require_2fa FROM roles WHERE name = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, role);
	int rc = sqlite3_step(stmt);
	int status = DB_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		*required = sqlite3_column_int(stmt, 0) != 0;
		status = DB_OK;
	} else if (rc != SQLITE_DONE) {
		status = db_status_from_sqlite(db, rc, "role require_2fa");
	}
	sqlite3_reset(stmt);
	return status;
}

int two_factor_store_role_set_required(struct db *db, const char *role, bool required)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE roles SET require_2fa = ? WHERE name = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int(stmt, 1, required ? 1 : 0);
	db_bind_text(stmt, 2, role);
	return step_change_one(db, stmt, "role set require_2fa");
}

int two_factor_store_challenge_insert(struct db *db,
				      const unsigned char hash[TWO_FACTOR_HASH_BYTES],
				      int64_t user_id, const char *purpose, int64_t expires_at,
				      int64_t now)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_challenges WHERE expires_at <= ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, now);
	int status = db_step_done(db, stmt, "challenges expire");
	if (status != DB_OK)
		return status;
	stmt = db_prepare(db, "INSERT INTO login_challenges (token_hash, user_id, purpose,"
			      " expires_at) VALUES (?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_blob(stmt, 1, hash, TWO_FACTOR_HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, user_id);
	db_bind_text(stmt, 3, purpose);
	sqlite3_bind_int64(stmt, 4, expires_at);
	return db_step_done(db, stmt, "challenge insert");
}

int two_factor_store_challenge_find(struct db *db,
				    const unsigned char hash[TWO_FACTOR_HASH_BYTES],
				    struct two_factor_challenge *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT id, user_id, purpose, expires_at, attempts FROM login_challenges"
		    " WHERE token_hash = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_blob(stmt, 1, hash, TWO_FACTOR_HASH_BYTES, SQLITE_TRANSIENT);
	int rc = sqlite3_step(stmt);
	int status = DB_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(stmt, 0);
		out->user_id = sqlite3_column_int64(stmt, 1);
		const char *purpose = db_column_text(stmt, 2);
		snprintf(out->purpose, sizeof(out->purpose), "%s", purpose ? purpose : "");
		out->expires_at = sqlite3_column_int64(stmt, 3);
		out->attempts = sqlite3_column_int(stmt, 4);
		status = DB_OK;
	} else if (rc != SQLITE_DONE) {
		status = db_status_from_sqlite(db, rc, "challenge find");
	}
	sqlite3_reset(stmt);
	return status;
}

int two_factor_store_challenge_attempt(struct db *db, int64_t id)
{
	sqlite3_stmt *stmt =
		db_prepare(db, "UPDATE login_challenges SET attempts = attempts + 1 WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(db, stmt, "challenge attempt");
}

int two_factor_store_challenge_delete(struct db *db, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_challenges WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	return db_step_done(db, stmt, "challenge delete");
}

int two_factor_store_challenges_delete_user(struct db *db, int64_t user_id)
{
	sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM login_challenges WHERE user_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	return db_step_done(db, stmt, "challenges delete");
}
