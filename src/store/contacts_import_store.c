/*
 * contacts_import_store.c - the two lookups the contacts import needs beyond the generic
 * resource store (contacts_import.h): a contact by email and a company by name. Both walk
 * an index (contacts_email is COLLATE NOCASE; companies_name is by name).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_import.h"

#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/banned.h"

/*
 * Runs a query with a text parameter (?1) and an id parameter (?2, when the query has it)
 * whose single column is an id; *id is 0 without rows.
 */
static int find_id(struct db *db, const char *sql, const char *text, int64_t after, int64_t *id)
{
	*id = 0;
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, text);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int64(stmt, 2, after);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "import");
}

int contacts_import_store_find_email(struct db *db, const char *email, int64_t *id)
{
	return find_id(db, "SELECT id FROM contacts WHERE email = ?1 COLLATE NOCASE "
			   "AND erased_at IS NULL ORDER BY id LIMIT 1",
		       email, 0, id);
}

int contacts_import_store_find_company(struct db *db, const char *name, int64_t after_id,
				       int64_t *id)
{
	return find_id(db, "SELECT id FROM companies WHERE name = ?1 AND id > ?2 ORDER BY id LIMIT 1",
		       name, after_id, id);
}
