/*
 * api_keys_store.c - the SQL behind /api/v1/api-keys that auth_store.c does not have:
 * listing keys with their user (id and name) per user and keyset-paged, and reading one
 * key. Creating and revoking go through credentials_key_create() and credentials_key_revoke() (credentials.h),
 * which audit. The key hash is never selected here.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/api_keys.h"

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

#define KEY_COLUMNS                                                                         \
	"SELECT k.id, k.user_id, u.name, u.email, k.name, k.prefix, k.read_only, k.created_at," \
	" k.expires_at, k.revoked_at, k.last_used_at, k.rate_per_minute, k.rate_burst"        \
	" FROM api_keys k"                                                                    \
	" JOIN users u ON u.id = k.user_id"

/* An integer column, 0 for NULL (a rate limit inherited from the role). */
static int int_or_zero(sqlite3_stmt *stmt, int column)
{
	return sqlite3_column_type(stmt, column) == SQLITE_NULL ? 0 : sqlite3_column_int(stmt, column);
}

static void key_from_row(sqlite3_stmt *stmt, struct api_key_info *key)
{
	key->id = sqlite3_column_int64(stmt, 0);
	key->user_id = sqlite3_column_int64(stmt, 1);
	key->user_name = db_column_text(stmt, 2);
	key->user_email = db_column_text(stmt, 3);
	key->name = db_column_text(stmt, 4);
	key->prefix = db_column_text(stmt, 5);
	key->read_only = sqlite3_column_int(stmt, 6) != 0;
	key->created_at = db_column_text(stmt, 7);
	key->expires_at = db_column_text(stmt, 8);
	key->revoked_at = db_column_text(stmt, 9);
	key->last_used_at = db_column_text(stmt, 10);
	key->rate_per_minute = int_or_zero(stmt, 11);
	key->rate_burst = int_or_zero(stmt, 12);
}

int api_keys_store_list(struct db *db, const struct api_keys_query *query,
			int (*visit)(void *context, const struct api_key_info *key), void *context)
{
	sqlite3_stmt *stmt = db_prepare(
		db, KEY_COLUMNS " WHERE (?1 = 0 OR k.user_id = ?1) AND k.id > ?2 ORDER BY k.id LIMIT ?3");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, query->user_id);
	sqlite3_bind_int64(stmt, 2, query->after_id);
	sqlite3_bind_int(stmt, 3, query->limit);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct api_key_info key;
		key_from_row(stmt, &key);
		if (visit(context, &key) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "api key list");
}

int api_keys_store_get(struct db *db, int64_t id,
		       int (*visit)(void *context, const struct api_key_info *key), void *context)
{
	sqlite3_stmt *stmt = db_prepare(db, KEY_COLUMNS " WHERE k.id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	int status;
	if (rc == SQLITE_ROW) {
		struct api_key_info key;
		key_from_row(stmt, &key);
		visit(context, &key);
		status = DB_OK;
	} else if (rc == SQLITE_DONE) {
		status = DB_NOT_FOUND;
	} else {
		status = db_status_from_sqlite(db, rc, "api key read");
	}
	sqlite3_reset(stmt);
	return status;
}
