/*
 * roles_store.c - roles and grants in SQLite: the scope lookup behind perm.c and the
 * changes crmctl makes (role create, role grant), each audited in its transaction.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/roles.h"

#include <string.h>

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/json.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

bool roles_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > ROLES_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool roles_store_resource_granted(struct db *db, const char *resource)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT 1 FROM grants WHERE resource = ? LIMIT 1");
	if (!stmt)
		return false;
	db_bind_text(stmt, 1, resource);
	bool known = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_reset(stmt);
	return known;
}

int roles_store_exists(struct db *db, const char *name)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT 1 FROM roles WHERE name = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, name);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return DB_OK;
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "role lookup");
}

int roles_store_scope(struct db *db, const char *role, const char *resource,
		      enum perm_action action, enum perm_scope *scope)
{
	*scope = PERM_SCOPE_NONE;
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT scope FROM grants WHERE role = ? AND resource = ? AND action = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, role);
	db_bind_text(stmt, 2, resource);
	db_bind_text(stmt, 3, perm_action_name(action));
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *text = db_column_text(stmt, 0);
		int parsed = text ? perm_scope_parse(text) : -1;
		if (parsed >= 0)
			*scope = (enum perm_scope)parsed;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_status_from_sqlite(db, rc, "grant lookup");
	return DB_OK;
}

int roles_store_list(struct db *db, void (*visit)(void *context, const struct role_info *role),
		     void *context)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT r.name, r.description, r.builtin,"
		    " (SELECT count(*) FROM users u WHERE u.role = r.name)"
		    " FROM roles r ORDER BY r.builtin DESC, r.name");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct role_info info = {
			.name = db_column_text(stmt, 0),
			.description = db_column_text(stmt, 1),
			.builtin = sqlite3_column_int(stmt, 2) != 0,
			.user_count = sqlite3_column_int(stmt, 3),
		};
		visit(context, &info);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "role list");
}

int roles_store_grants(struct db *db, const char *role,
		       void (*visit)(void *context, const char *resource, const char *action,
				     const char *scope),
		       void *context)
{
	int status = roles_store_exists(db, role);
	if (status != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT resource, action, scope FROM grants WHERE role = ? ORDER BY resource,"
		    " CASE action WHEN 'read' THEN 1 WHEN 'write' THEN 2 ELSE 3 END");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, role);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		visit(context, db_column_text(stmt, 0), db_column_text(stmt, 1),
		      db_column_text(stmt, 2));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? DB_OK : db_status_from_sqlite(db, rc, "grant list");
}

/* The grants of `role` as {"resource": {"read": scope, ...}}, for the audit log. */
static json_t *grants_json(struct db *db, const char *role)
{
	json_t *all = json_object();
	sqlite3_stmt *stmt =
		db_prepare(db, "SELECT resource, action, scope FROM grants WHERE role = ?");
	if (!stmt)
		return all;
	db_bind_text(stmt, 1, role);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *resource = db_column_text(stmt, 0);
		json_t *entry = json_object_get(all, resource);
		if (!entry) {
			entry = json_object();
			json_object_set_new(all, resource, entry);
		}
		json_object_set_new(entry, db_column_text(stmt, 1),
				    json_string(db_column_text(stmt, 2)));
	}
	sqlite3_reset(stmt);
	return all;
}

int roles_store_insert(struct db *db, const char *name, const char *description,
		       const char *from)
{
	int status;
	if (from && (status = roles_store_exists(db, from)) != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT INTO roles (name, description, builtin, created_at) VALUES (?, ?, 0, ?)");
	if (!stmt)
		return DB_ERROR;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	db_bind_text(stmt, 1, name);
	db_bind_text(stmt, 2, description ? description : "");
	db_bind_text(stmt, 3, now);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if ((status = db_status_from_sqlite(db, rc, "role create")) != DB_OK || !from)
		return status;
	stmt = db_prepare(db, "INSERT INTO grants (role, resource, action, scope)"
			      " SELECT ?, resource, action, scope FROM grants WHERE role = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, name);
	db_bind_text(stmt, 2, from);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "role copy");
}

json_t *roles_store_grants_json(struct db *db, const char *role)
{
	return grants_json(db, role);
}

int roles_store_grant_set(struct db *db, const char *role, const char *resource,
			  enum perm_action action, enum perm_scope scope,
			  enum perm_scope *old_scope)
{
	int status;
	if ((status = roles_store_exists(db, role)) != DB_OK)
		return status;
	if ((status = roles_store_scope(db, role, resource, action, old_scope)) != DB_OK)
		return status;
	sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO grants (role, resource, action, scope)"
					    " VALUES (?, ?, ?, ?) ON CONFLICT (role, resource, action)"
					    " DO UPDATE SET scope = excluded.scope");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, role);
	db_bind_text(stmt, 2, resource);
	db_bind_text(stmt, 3, perm_action_name(action));
	db_bind_text(stmt, 4, perm_scope_name(scope));
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "grant");
}
