/*
 * checkpointer.c - crmd's WAL checkpoints in a thread of their own (see checkpointer.h),
 * and the background GDPR purge after erasures (gdpr_purge_if_pending, gdpr.h). The
 * thread is a periodic job_thread (job_thread.h): it passes when a commit leaves the WAL
 * at CHECKPOINTER_FRAMES or more (a wake), and every CHECKPOINTER_IDLE_SECONDS.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/checkpointer.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "crm/db.h"
#include "crm/gdpr.h"
#include "crm/job_thread.h"
#include "crm/log.h"
#include "crm/banned.h"

/* Readers on older snapshots held frames back: the next pass after this pause. */
#define CHECKPOINTER_RETRY_MS 10

static int checkpointer_pass(void *context, bool woken);
static void checkpointer_finish(void *context);

static struct job_thread thread = JOB_THREAD_INIT(.name = "checkpoint",
						  .pass = checkpointer_pass,
						  .first_wait_ms = CHECKPOINTER_IDLE_SECONDS * 1000,
						  .finish = checkpointer_finish);
static atomic_bool committed; /* commits since the last checkpoint */
static atomic_bool retry;     /* the last checkpoint left CHECKPOINTER_FRAMES or more */
static atomic_ulong count;    /* checkpoints run */
static struct db *checkpointer_db;

/* The wal hook of the request connections (db_thread_checkpoints_elsewhere): after each
 * commit, from the committing thread. */
static void wal_grew(int frames)
{
	atomic_store(&committed, true);
	if (frames >= CHECKPOINTER_FRAMES)
		job_thread_wake(&thread);
}

/* Whether crmd is stopping (the background purge's should_stop). */
static bool stopping(void)
{
	return job_thread_stopping(&thread);
}

/* One PASSIVE checkpoint; returns the frames left in the WAL after it (-1 on error). */
static int checkpoint(struct db *db)
{
	int frames_left = db_checkpoint_passive(db);
	atomic_fetch_add(&count, 1);
	return frames_left;
}

static int checkpointer_pass(void *context, bool woken)
{
	struct db *db = context;
	bool work = atomic_exchange(&retry, false) || woken;
	work = atomic_exchange(&committed, false) || work;
	/* after erasures (also crmctl's): merge their words out of the FTS segments */
	if (gdpr_purge_if_pending(db, stopping) > 0)
		work = true;
	int left = work ? checkpoint(db) : 0;
	if (left >= CHECKPOINTER_FRAMES && !stopping()) {
		atomic_store(&retry, true); /* try again soon, without spinning */
		return CHECKPOINTER_RETRY_MS;
	}
	return CHECKPOINTER_IDLE_SECONDS * 1000;
}

/* At the stop: a last checkpoint. */
static void checkpointer_finish(void *context)
{
	checkpoint(context);
}

int checkpointer_start(const char *path, enum db_sync_mode sync)
{
	struct db *db = db_open(path, sync);
	if (!db)
		return -1;
	checkpointer_db = db;
	atomic_store(&committed, false);
	atomic_store(&retry, false);
	if (job_thread_start(&thread, db) != 0) {
		db_close(db);
		checkpointer_db = NULL;
		return -1;
	}
	db_thread_checkpoints_elsewhere(wal_grew);
	return 0;
}

void checkpointer_stop(void)
{
	if (!checkpointer_db)
		return;
	job_thread_stop(&thread);
	db_close(checkpointer_db);
	checkpointer_db = NULL;
}

unsigned long checkpointer_count(void)
{
	return atomic_load(&count);
}
