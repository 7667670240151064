/*
 * test_io_error.c - an I/O error while writing (SQLITE_IOERR_WRITE) through the data layer:
 * a wrapping SQLite VFS fails writes on demand. A resource create (contact with tags, its
 * audit entry, its full-text row) then reports DB_FULL, the status the HTTP layer answers
 * 503 with Retry-After (checked through operations_reply_db_status() and, end to end,
 * through app_handle's POST /api/v1/contacts); nothing of it is in the database file once
 * the fault is cleared (every table compared row by row, integrity_check ok); and the next
 * create on the same connection succeeds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/http.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/operations.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/users.h"

/* ---------------------------------------------------------------- the faulty VFS */

#define FAULTY_VFS "crm_faulty"

/* The fault: after `writes_left` more successful xWrite calls, every xWrite fails. */
static struct {
	int armed;
	int writes_left;
	int writes;   /* xWrite calls seen (all files) */
	int failures; /* xWrite calls failed */
} fault;

static sqlite3_vfs faulty_vfs;
static sqlite3_vfs *real_vfs;

struct faulty_file {
	sqlite3_file base;
	sqlite3_file *real; /* right behind this struct, szOsFile of the real VFS */
};

#define REAL(file) (((struct faulty_file *)(void *)(file))->real)

static int faulty_close(sqlite3_file *file)
{
	return REAL(file)->pMethods->xClose(REAL(file));
}
static int faulty_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
	return REAL(file)->pMethods->xRead(REAL(file), data, amount, offset);
}
static int faulty_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
	fault.writes++;
	if (fault.armed) {
		if (fault.writes_left == 0) {
			fault.failures++;
			return SQLITE_IOERR_WRITE;
		}
		fault.writes_left--;
	}
	return REAL(file)->pMethods->xWrite(REAL(file), data, amount, offset);
}
static int faulty_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return REAL(file)->pMethods->xTruncate(REAL(file), size);
}
static int faulty_sync(sqlite3_file *file, int flags)
{
	return REAL(file)->pMethods->xSync(REAL(file), flags);
}
static int faulty_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	return REAL(file)->pMethods->xFileSize(REAL(file), size);
}
static int faulty_lock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xLock(REAL(file), level);
}
static int faulty_unlock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xUnlock(REAL(file), level);
}
static int faulty_check_reserved_lock(sqlite3_file *file, int *out)
{
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}
static int faulty_file_control(sqlite3_file *file, int op, void *arg)
{
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}
static int faulty_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}
static int faulty_device_characteristics(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}
static int faulty_shm_map(sqlite3_file *file, int page, int size, int extend,
			  void volatile **out)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), page, size, extend, out);
}
static int faulty_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}
static void faulty_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}
static int faulty_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}
static int faulty_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
	return REAL(file)->pMethods->xFetch(REAL(file), offset, amount, out);
}
static int faulty_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
	return REAL(file)->pMethods->xUnfetch(REAL(file), offset, page);
}

static const sqlite3_io_methods faulty_io = {
	3,
	faulty_close,
	faulty_read,
	faulty_write,
	faulty_truncate,
	faulty_sync,
	faulty_file_size,
	faulty_lock,
	faulty_unlock,
	faulty_check_reserved_lock,
	faulty_file_control,
	faulty_sector_size,
	faulty_device_characteristics,
	faulty_shm_map,
	faulty_shm_lock,
	faulty_shm_barrier,
	faulty_shm_unmap,
	faulty_fetch,
	faulty_unfetch,
};

static int faulty_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		       int *out_flags)
{
	(void)vfs;
	struct faulty_file *wrapper = (struct faulty_file *)(void *)file;
	wrapper->real = (sqlite3_file *)(void *)(wrapper + 1);
	int rc = real_vfs->xOpen(real_vfs, name, wrapper->real, flags, out_flags);
	/* Our methods only when the real file is open (SQLite calls xClose only then). */
	wrapper->base.pMethods = wrapper->real->pMethods ? &faulty_io : NULL;
	return rc;
}

/* The rest of the VFS goes straight to the real one. */
static int faulty_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}
static int faulty_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int faulty_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out)
{
	(void)vfs;
	return real_vfs->xFullPathname(real_vfs, name, size, out);
}
static int faulty_randomness(sqlite3_vfs *vfs, int size, char *out)
{
	(void)vfs;
	return real_vfs->xRandomness(real_vfs, size, out);
}
static int faulty_sleep(sqlite3_vfs *vfs, int microseconds)
{
	(void)vfs;
	return real_vfs->xSleep(real_vfs, microseconds);
}
static int faulty_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return real_vfs->xCurrentTime(real_vfs, out);
}
static int faulty_get_last_error(sqlite3_vfs *vfs, int size, char *out)
{
	(void)vfs;
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, size, out) : 0;
}
static int faulty_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

/* Registers the wrapper of the default VFS as FAULTY_VFS (as the default when asked). */
static void faulty_vfs_register(int make_default)
{
	if (!real_vfs) {
		real_vfs = sqlite3_vfs_find(NULL);
		faulty_vfs = (sqlite3_vfs){
			.iVersion = 2,
			.szOsFile = (int)sizeof(struct faulty_file) + real_vfs->szOsFile,
			.mxPathname = real_vfs->mxPathname,
			.zName = FAULTY_VFS,
			.xOpen = faulty_open,
			.xDelete = faulty_delete,
			.xAccess = faulty_access,
			.xFullPathname = faulty_full_pathname,
			.xRandomness = faulty_randomness,
			.xSleep = faulty_sleep,
			.xCurrentTime = faulty_current_time,
			.xGetLastError = faulty_get_last_error,
			.xCurrentTimeInt64 = faulty_current_time_int64,
		};
	}
	CHECK_INT(SQLITE_OK, sqlite3_vfs_register(&faulty_vfs, make_default));
}

/* ---------------------------------------------------------------- helpers */

static char db_path[64];

static void remove_files(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char path[96];
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
}

/*
 * What the database file holds, read through a connection of its own with the default
 * VFS: every table (the FTS shadow tables and sqlite_sequence included) row by row, as
 * text. The caller frees.
 */
static char *database_dump(void)
{
	sqlite3 *handle = NULL;
	struct buf out = BUF_INIT;
	if (sqlite3_open_v2(db_path, &handle, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		CHECK(!"the database cannot be opened");
		sqlite3_close(handle);
		return buf_detach(&out, NULL);
	}
	sqlite3_stmt *tables = NULL;
	CHECK_INT(SQLITE_OK, sqlite3_prepare_v2(handle,
						"SELECT name FROM sqlite_master WHERE type = 'table'"
						" ORDER BY name",
						-1, &tables, NULL));
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(tables, 0);
		/* A name from the schema, quoted as an identifier by SQLite's own %w. */
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
		sqlite3_stmt *rows = NULL;
		if (sqlite3_prepare_v2(handle, sql, -1, &rows, NULL) == SQLITE_OK) {
			buf_addf(&out, "[%s]\n", table);
			while (sqlite3_step(rows) == SQLITE_ROW) {
				for (int c = 0; c < sqlite3_column_count(rows); c++) {
					const unsigned char *text = sqlite3_column_text(rows, c);
					int len = sqlite3_column_bytes(rows, c);
					buf_addch(&out, '|');
					if (text)
						buf_add(&out, text, (size_t)len);
				}
				buf_addch(&out, '\n');
			}
		}
		sqlite3_finalize(rows);
		sqlite3_free(sql);
	}
	sqlite3_finalize(tables);
	sqlite3_stmt *check = NULL;
	sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &check, NULL);
	CHECK(check && sqlite3_step(check) == SQLITE_ROW);
	CHECK_STR("ok", (const char *)sqlite3_column_text(check, 0));
	sqlite3_finalize(check);
	sqlite3_close(handle);
	return buf_detach(&out, NULL);
}

static int contact_count(void)
{
	sqlite3 *handle = NULL;
	int count = -1;
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_open_v2(db_path, &handle, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(handle, "SELECT count(*) FROM contacts", -1, &stmt, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		count = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(handle);
	return count;
}

/*
 * A resource create as the API does it: one write transaction with the contact (its tags
 * and, at commit, its full-text row) and its audit entry. Returns the first db_status that
 * is not DB_OK (the transaction then rolled back), or DB_OK.
 */
static int create_contact(struct db *db, const char *first_name)
{
	json_t *body = json_pack("{s:s, s:s, s:[s, s]}", "first_name", first_name, "email",
				 "ioerr@example.com", "tags", "vip", "io");
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(&contacts_resource, body, &errors);
	CHECK(!field_errors_any(&errors));
	field_errors_release(&errors);
	json_t *stored = NULL;
	int status = db_begin_write(db);
	if (status == DB_OK)
		status = resource_store_insert(db, &contacts_resource, record, &stored);
	if (status == DB_OK)
		status = audit_record(db, 0, AUDIT_ACTOR_CLI, "contacts",
				      json_integer_value(json_object_get(stored, "id")), "create",
				      NULL, stored);
	if (status == DB_OK)
		status = db_commit(db); /* rolls back itself when the commit fails */
	else
		db_rollback(db);
	json_decref(stored);
	json_decref(record);
	json_decref(body);
	return status;
}

/* ---------------------------------------------------------------- tests */

static void test_the_data_layer_reports_an_io_error_as_db_full_and_keeps_nothing(void)
{
	snprintf(db_path, sizeof(db_path), "/tmp/crm-test-ioerr-%d.db", (int)getpid());
	remove_files();
	faulty_vfs_register(0);
	struct db *db = db_open_vfs(db_path, DB_SYNC_NORMAL, FAULTY_VFS);
	CHECK(db != NULL);
	if (!db)
		return;
	CHECK_INT(0, db_migrate(db, NULL));
	CHECK_INT(DB_OK, create_contact(db, "Before"));
	CHECK(fault.writes > 0); /* the writes go through the wrapper */

	/* How many writes a create takes: the fault is then put at each of them in turn, so
	 * that some of the transaction's pages have reached the write-ahead log and some not. */
	int before_writes = fault.writes;
	CHECK_INT(DB_OK, create_contact(db, "Measure"));
	int writes_per_create = fault.writes - before_writes;
	CHECK(writes_per_create >= 2);
	for (int at = 0; at < writes_per_create; at++) {
		char *before = database_dump();
		fault.armed = 1;
		fault.writes_left = at;
		int failures = fault.failures;
		int status = create_contact(db, "Lost");
		fault.armed = 0;
		CHECK(fault.failures > failures); /* the fault did strike */
		CHECK_INT(DB_FULL, status);
		char *after = database_dump();
		CHECK(strcmp(before, after) == 0); /* nothing half-written */
		if (strcmp(before, after) != 0)
			fprintf(stderr, "write %d failed: the database changed\n", at);
		free(before);
		free(after);
		/* The fault cleared, the same connection writes again. */
		int count = contact_count();
		CHECK_INT(DB_OK, create_contact(db, "After"));
		CHECK_INT(count + 1, contact_count());
	}
	/* The status the HTTP layer answers for it: 503 with Retry-After. */
	struct response res;
	response_init(&res);
	operations_reply_db_status(&res, DB_FULL);
	CHECK_INT(HTTP_SERVICE_UNAVAILABLE, res.status);
	bool retry_after = false;
	for (int i = 0; i < res.header_count; i++)
		retry_after |= strcmp(res.header_names[i], "Retry-After") == 0;
	CHECK(retry_after);
	response_release(&res);
	db_close(db);
	remove_files();
}

/* POST /api/v1/contacts through app_handle with the faulty VFS as SQLite's default. */
static int post_contact(const char *key_header)
{
	struct request_value headers[] = {
		{ "Authorization", key_header },
		{ "Content-Type", "application/json" },
	};
	const char *body = "{\"first_name\":\"Http\",\"tags\":[\"a\"]}";
	struct request req = {
		.method = "POST",
		.path = "/api/v1/contacts",
		.body = body,
		.body_len = strlen(body),
		.client_address = "127.0.0.1",
		.headers = headers,
		.header_count = 2,
	};
	struct response res;
	response_init(&res);
	app_handle(&req, &res);
	int status = res.status;
	if (status == HTTP_SERVICE_UNAVAILABLE) {
		bool retry_after = false;
		for (int i = 0; i < res.header_count; i++)
			retry_after |= strcmp(res.header_names[i], "Retry-After") == 0;
		CHECK(retry_after);
		CHECK(res.body && strstr(res.body, "\"status\":503"));
	}
	response_release(&res);
	return status;
}

static void test_the_api_answers_503_for_an_io_error_and_201_after_it(void)
{
	snprintf(db_path, sizeof(db_path), "/tmp/crm-test-ioerr-http-%d.db", (int)getpid());
	remove_files();
	faulty_vfs_register(1); /* db_thread() opens through it */
	db_thread_setup(db_path, DB_SYNC_NORMAL);
	struct db *db = db_thread();
	CHECK(db != NULL);
	if (!db)
		return;
	CHECK_INT(0, db_migrate(db, NULL));
	auth_init();
	app_init();
	struct user_change change = USER_CHANGE_INIT;
	change.email = "admin@example.com";
	change.name = "Admin";
	change.role = "admin";
	struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user admin;
	char key[AUTH_KEY_TEXT_SIZE];
	int64_t key_id;
	CHECK_INT(DB_OK, users_create(db, &change, &actor, &admin));
	CHECK_INT(DB_OK, auth_key_create(db, admin.id, "test", false, NULL, 0, AUDIT_ACTOR_CLI, key,
					 &key_id));
	char authorization[AUTH_KEY_TEXT_SIZE + 16];
	snprintf(authorization, sizeof(authorization), "Bearer %s", key);
	CHECK_INT(HTTP_CREATED, post_contact(authorization));
	int count = contact_count();
	/* The key's last use is touched before the create: let a few writes through, then
	 * fail; whichever write it hits, the answer is 503 and nothing is stored. */
	for (int at = 0; at < 4; at++) {
		fault.armed = 1;
		fault.writes_left = at;
		int failures = fault.failures;
		int status = post_contact(authorization);
		fault.armed = 0;
		if (fault.failures == failures)
			continue; /* the request needed fewer writes than `at` */
		CHECK_INT(HTTP_SERVICE_UNAVAILABLE, status);
		CHECK_INT(count, contact_count());
	}
	CHECK_INT(HTTP_CREATED, post_contact(authorization));
	CHECK_INT(count + 1, contact_count());
	app_free();
	db_thread_close();
	sqlite3_vfs_unregister(&faulty_vfs);
	remove_files();
}

int main(void)
{
	log_configure(LOG_FORMAT_TEXT, LOG_LEVEL_ERROR);
	RUN(test_the_data_layer_reports_an_io_error_as_db_full_and_keeps_nothing);
	RUN(test_the_api_answers_503_for_an_io_error_and_201_after_it);
	return check_finish();
}
