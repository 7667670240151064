/*
 * checkpointer.c - crmd's WAL checkpoints in a thread of their own (see checkpointer.h),
 * and the background GDPR purge after erasures (gdpr_purge_if_pending, gdpr.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/checkpointer.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "crm/db.h"
#include "crm/gdpr.h"
#include "crm/log.h"
#include "crm/banned.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t thread;
	bool running;
	bool stopping;
	bool wanted;     /* the WAL reached CHECKPOINTER_FRAMES */
	bool committed;  /* commits since the last checkpoint */
	unsigned long count;
	struct db *db;
} checkpointer = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

/* The wal hook of the request connections (db_thread_checkpoints_elsewhere): after each
 * commit, from the committing thread. */
static void wal_grew(int frames)
{
	pthread_mutex_lock(&checkpointer.lock);
	checkpointer.committed = true;
	if (frames >= CHECKPOINTER_FRAMES && !checkpointer.wanted) {
		checkpointer.wanted = true;
		pthread_cond_signal(&checkpointer.changed);
	}
	pthread_mutex_unlock(&checkpointer.lock);
}

/* Whether crmd is stopping (the background purge's should_stop). */
static bool stopping(void)
{
	pthread_mutex_lock(&checkpointer.lock);
	bool stop = checkpointer.stopping;
	pthread_mutex_unlock(&checkpointer.lock);
	return stop;
}

/* One PASSIVE checkpoint; returns the frames left in the WAL after it (-1 on error). */
static int checkpoint(struct db *db)
{
	int frames_left = db_checkpoint_passive(db);
	pthread_mutex_lock(&checkpointer.lock);
	checkpointer.count++;
	pthread_mutex_unlock(&checkpointer.lock);
	return frames_left;
}

static void *checkpointer_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&checkpointer.lock);
	while (!checkpointer.stopping) {
		if (!checkpointer.wanted) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += CHECKPOINTER_IDLE_SECONDS;
			pthread_cond_timedwait(&checkpointer.changed, &checkpointer.lock, &until);
			if (checkpointer.stopping)
				continue;
		}
		bool work = checkpointer.wanted || checkpointer.committed;
		checkpointer.wanted = false;
		checkpointer.committed = false;
		pthread_mutex_unlock(&checkpointer.lock);
		/* after erasures (also crmctl's): merge their words out of the FTS segments */
		if (gdpr_purge_if_pending(checkpointer.db, stopping) > 0)
			work = true;
		int left = work ? checkpoint(checkpointer.db) : 0;
		pthread_mutex_lock(&checkpointer.lock);
		/* Readers on older snapshots held frames back: try again soon, without spinning. */
		if (left >= CHECKPOINTER_FRAMES && !checkpointer.stopping) {
			struct timespec pause = { 0, 10 * 1000 * 1000 };
			pthread_mutex_unlock(&checkpointer.lock);
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&checkpointer.lock);
			checkpointer.wanted = true;
		}
	}
	pthread_mutex_unlock(&checkpointer.lock);
	checkpoint(checkpointer.db);
	return NULL;
}

int checkpointer_start(const char *path, enum db_sync_mode sync)
{
	struct db *db = db_open(path, sync);
	if (!db)
		return -1;
	checkpointer.db = db;
	checkpointer.stopping = false;
	if (pthread_create(&checkpointer.thread, NULL, checkpointer_main, NULL) != 0) {
		log_error("cannot start the checkpoint thread");
		db_close(db);
		checkpointer.db = NULL;
		return -1;
	}
	checkpointer.running = true;
	db_thread_checkpoints_elsewhere(wal_grew);
	return 0;
}

void checkpointer_stop(void)
{
	if (!checkpointer.running)
		return;
	pthread_mutex_lock(&checkpointer.lock);
	checkpointer.stopping = true;
	pthread_cond_signal(&checkpointer.changed);
	pthread_mutex_unlock(&checkpointer.lock);
	pthread_join(checkpointer.thread, NULL);
	checkpointer.running = false;
	db_close(checkpointer.db);
	checkpointer.db = NULL;
}

unsigned long checkpointer_count(void)
{
	pthread_mutex_lock(&checkpointer.lock);
	unsigned long count = checkpointer.count;
	pthread_mutex_unlock(&checkpointer.lock);
	return count;
}
