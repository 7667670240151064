/*
 * users_store.c - the data layer of user accounts: reads, keyset-paged lists, and the
 * audited create and update transactions. The password hash is read only by
 * users_store_get_by_email (for login) and never leaves this file otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/users.h"

#include <stdio.h>
#include <string.h>

#include "crm/auth_store.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/banned.h"

#define USER_COLUMNS \
	"id, email, name, role, team, password_hash IS NOT NULL, disabled, created_at, " \
	"updated_at, version"

static void copy_text(char *out, size_t size, const char *text)
{
	snprintf(out, size, "%s", text ? text : "");
}

/* Fills *user from a row selected with USER_COLUMNS starting at column 0. */
static void user_from_row(sqlite3_stmt *stmt, struct user *user)
{
	memset(user, 0, sizeof(*user));
	user->id = sqlite3_column_int64(stmt, 0);
	copy_text(user->email, sizeof(user->email), db_column_text(stmt, 1));
	copy_text(user->name, sizeof(user->name), db_column_text(stmt, 2));
	copy_text(user->role, sizeof(user->role), db_column_text(stmt, 3));
	user->has_team = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
	copy_text(user->team, sizeof(user->team), db_column_text(stmt, 4));
	user->has_password = sqlite3_column_int(stmt, 5) != 0;
	user->disabled = sqlite3_column_int(stmt, 6) != 0;
	copy_text(user->created_at, sizeof(user->created_at), db_column_text(stmt, 7));
	copy_text(user->updated_at, sizeof(user->updated_at), db_column_text(stmt, 8));
	user->version = sqlite3_column_int64(stmt, 9);
}

json_t *users_user_to_json(const struct user *user)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:b, s:b, s:s, s:s, s:I}", "id",
			 (json_int_t)user->id, "email", user->email, "name", user->name, "role",
			 user->role, "team", user->has_team ? json_string(user->team) : json_null(),
			 "disabled", user->disabled, "has_password", user->has_password,
			 "created_at", user->created_at, "updated_at", user->updated_at, "version",
			 (json_int_t)user->version);
}

bool users_email_valid(const char *email)
{
	size_t len = strlen(email);
	if (len < 3 || len > USERS_EMAIL_MAX)
		return false;
	const char *at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@'))
		return false;
	const char *domain = at + 1;
	const char *dot = strrchr(domain, '.');
	if (!dot || dot == domain || dot[1] == '\0' || domain[0] == '.' || strstr(domain, ".."))
		return false;
	for (const char *p = email; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' ||
		    c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' ||
		    c == ']')
			return false;
	}
	return true;
}

int users_store_team_of(struct db *db, int64_t user_id, char *team, size_t team_size)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT team FROM users WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		copy_text(team, team_size, db_column_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "user team");
}

int users_store_get(struct db *db, int64_t id, struct user *out)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT " USER_COLUMNS " FROM users WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		user_from_row(stmt, out);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "user get");
}

int users_store_get_by_email(struct db *db, const char *email, struct user *out,
			     char *password_hash, size_t password_hash_size)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT " USER_COLUMNS ", password_hash FROM users WHERE email = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, email);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		user_from_row(stmt, out);
		if (password_hash)
			copy_text(password_hash, password_hash_size, db_column_text(stmt, 10));
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "user by email");
}

/* An empty team means none. */
static void bind_team(sqlite3_stmt *stmt, int index, const char *team)
{
	db_bind_text(stmt, index, team && team[0] ? team : NULL);
}

int users_store_insert(struct db *db, const struct user_change *fields, struct user *created)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT INTO users (email, name, role, team, password_hash, disabled, created_at,"
		    " updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, fields->email);
	db_bind_text(stmt, 2, fields->name);
	db_bind_text(stmt, 3, fields->role);
	bind_team(stmt, 4, fields->set_team ? fields->team : NULL);
	db_bind_text(stmt, 5, fields->set_password ? fields->password_hash : NULL);
	sqlite3_bind_int(stmt, 6, fields->disabled == 1);
	db_bind_text(stmt, 7, now);
	db_bind_text(stmt, 8, now);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "user create");
	if (status != DB_OK)
		return status;
	return users_store_get(db, db_last_insert_id(db), created);
}

/* Whether `change` differs from `user` at all (a no-op PATCH keeps the version). */
static bool change_differs(const struct user *user, const struct user_change *change)
{
	if (change->email && strcmp(change->email, user->email) != 0)
		return true;
	if (change->name && strcmp(change->name, user->name) != 0)
		return true;
	if (change->role && strcmp(change->role, user->role) != 0)
		return true;
	if (change->set_team) {
		bool clears = !change->team || !change->team[0];
		if (clears != !user->has_team || (!clears && strcmp(change->team, user->team) != 0))
			return true;
	}
	if (change->set_password)
		return true;
	if (change->disabled >= 0 && (change->disabled == 1) != user->disabled)
		return true;
	return false;
}

bool users_change_differs(const struct user *user, const struct user_change *change)
{
	return change_differs(user, change);
}

int users_store_apply(struct db *db, int64_t id, const struct user_change *change,
		      struct user *after)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE users SET email = coalesce(?1, email), name = coalesce(?2, name),"
		    " role = coalesce(?3, role), team = CASE WHEN ?4 THEN ?5 ELSE team END,"
		    " password_hash = CASE WHEN ?6 THEN ?7 ELSE password_hash END,"
		    " disabled = CASE WHEN ?8 >= 0 THEN ?8 ELSE disabled END,"
		    " updated_at = ?9, version = version + 1 WHERE id = ?10");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, change->email);
	db_bind_text(stmt, 2, change->name);
	db_bind_text(stmt, 3, change->role);
	sqlite3_bind_int(stmt, 4, change->set_team);
	bind_team(stmt, 5, change->team);
	sqlite3_bind_int(stmt, 6, change->set_password);
	db_bind_text(stmt, 7, change->password_hash);
	sqlite3_bind_int(stmt, 8, change->disabled);
	db_bind_text(stmt, 9, now);
	sqlite3_bind_int64(stmt, 10, id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "user update");
	if (status != DB_OK)
		return status;
	return users_store_get(db, id, after);
}

/* ---------------------------------------------------------------- lists */

/*
 * One statement per sort column and direction: the column name comes from this fixed
 * table, never from the request; every value is bound. Filters are NULL-able parameters.
 */
struct list_statement {
	const char *sort;
	bool descending;
	const char *sql;
};

#define LIST_FILTERS \
	" (?1 IS NULL OR role = ?1) AND (?2 IS NULL OR team = ?2) AND (?3 < 0 OR disabled = ?3)"
#define LIST_SQL(column, cmp, order) \
	"SELECT " USER_COLUMNS " FROM users WHERE" LIST_FILTERS \
	" AND (?4 = 0 OR (" column ", id) " cmp " (?5, ?6))" \
	" ORDER BY " column " " order ", id " order " LIMIT ?7"

static const struct list_statement list_statements[] = {
	{ "id", false,
	  "SELECT " USER_COLUMNS " FROM users WHERE" LIST_FILTERS
	  " AND (?4 = 0 OR id > ?6) ORDER BY id LIMIT ?7" },
	{ "id", true,
	  "SELECT " USER_COLUMNS " FROM users WHERE" LIST_FILTERS
	  " AND (?4 = 0 OR id < ?6) ORDER BY id DESC LIMIT ?7" },
	{ "email", false, LIST_SQL("email", ">", "ASC") },
	{ "email", true, LIST_SQL("email", "<", "DESC") },
	{ "name", false, LIST_SQL("name", ">", "ASC") },
	{ "name", true, LIST_SQL("name", "<", "DESC") },
	{ "created_at", false, LIST_SQL("created_at", ">", "ASC") },
	{ "created_at", true, LIST_SQL("created_at", "<", "DESC") },
};

int users_store_list(struct db *db, const struct users_query *query,
		     int (*visit)(void *context, const struct user *user), void *context)
{
	const char *sql = NULL;
	for (size_t i = 0; i < sizeof(list_statements) / sizeof(list_statements[0]); i++)
		if (strcmp(list_statements[i].sort, query->sort) == 0 &&
		    list_statements[i].descending == query->descending)
			sql = list_statements[i].sql;
	if (!sql)
		return DB_INVALID;
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, query->role);
	db_bind_text(stmt, 2, query->team);
	sqlite3_bind_int(stmt, 3, query->disabled);
	sqlite3_bind_int(stmt, 4, query->has_after);
	if (query->has_after && json_is_string(query->after_value))
		db_bind_text(stmt, 5, json_string_value(query->after_value));
	sqlite3_bind_int64(stmt, 6, query->after_id);
	sqlite3_bind_int(stmt, 7, query->limit);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct user user;
		user_from_row(stmt, &user);
		if (visit(context, &user) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "user list");
}
