/*
 * gdpr_purge.c - the purge of the physical remains of erased text (gdpr.h): merges the
 * full-text indexes in small steps, optionally VACUUMs and checkpoints. One copy for
 * `crmctl gdpr purge` and for crmd's checkpointer thread, which runs it soon after an
 * erasure (gdpr_purge_if_pending).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/gdpr.h"

#include "crm/db.h"
#include "crm/log.h"
#include "crm/banned.h"

#define PURGE_STEP_PAGES 1000 /* about 4 MB written per step: short write transactions */
#define PURGE_MAX_STEPS 1000000

/* Merges full-text index `table` into one segment, step by step; *steps gets the count.
 * Sets *stopped when `should_stop` (may be NULL) asked to stop before the end. */
static int merge_table(struct db *db, const char *table, bool (*should_stop)(void), int *steps,
		       bool *stopped)
{
	bool done = false;
	int status = DB_OK;
	*steps = 0;
	while (!done && status == DB_OK && *steps < PURGE_MAX_STEPS) {
		if (should_stop && should_stop()) {
			*stopped = true;
			break;
		}
		status = gdpr_store_fts_merge_step(db, table, PURGE_STEP_PAGES, &done);
		(*steps)++;
	}
	return status;
}

/* Takes the `count` erasures purged off gdpr.purge_pending, in a write transaction. */
static int pending_done(struct db *db, int64_t count)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	status = gdpr_store_purge_pending_sub(db, count);
	if (status != DB_OK) {
		db_rollback(db);
		return status;
	}
	return db_commit(db);
}

int gdpr_purge(struct db *db, enum gdpr_purge_mode mode, bool (*should_stop)(void),
	       struct gdpr_purge_result *result)
{
	*result = (struct gdpr_purge_result){ 0 };
	int status = gdpr_store_purge_pending(db, false, &result->pending);
	for (int t = 0; gdpr_fts_tables[t] && t < GDPR_FTS_TABLES_MAX && status == DB_OK &&
			!result->stopped; t++)
		status = merge_table(db, gdpr_fts_tables[t], should_stop, &result->steps[t],
				     &result->stopped);
	if (result->stopped)
		return status; /* the count stays: the next purge goes on where this one stopped */
	if (status == DB_OK && mode == GDPR_PURGE_VACUUM) {
		status = gdpr_store_vacuum(db);
		result->vacuumed = status == DB_OK;
	}
	/* crmd's checkpointer checkpoints PASSIVE itself: a TRUNCATE would wait for its writers */
	if (status == DB_OK && mode != GDPR_PURGE_BACKGROUND)
		status = gdpr_store_checkpoint(db, &result->wal_truncated);
	/* erasures committed while the purge ran stay pending for the next one */
	if (status == DB_OK && result->pending > 0)
		status = pending_done(db, result->pending);
	return status;
}

int gdpr_purge_if_pending(struct db *db, bool (*should_stop)(void))
{
	int64_t pending = 0;
	int status = gdpr_store_purge_pending(db, false, &pending);
	if (status != DB_OK || pending <= 0)
		return status == DB_OK ? 0 : -1;
	struct gdpr_purge_result result;
	status = gdpr_purge(db, GDPR_PURGE_BACKGROUND, should_stop, &result);
	if (status == DB_OK && result.stopped)
		return 0;
	if (status != DB_OK) {
		log_warn("gdpr: the purge after %lld erasure(s) stopped (database status %d); "
			 "it runs again later", (long long)pending, status);
		return -1;
	}
	log_info("gdpr: merged the full-text indexes after %lld erasure(s)",
		 (long long)result.pending);
	return 1;
}
