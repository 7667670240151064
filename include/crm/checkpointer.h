/*
 * checkpointer.h - crmd's WAL checkpoints, in a thread of their own.
 *
 * SQLite's automatic checkpoint runs in whichever connection commits past 1,000 WAL
 * frames, inside that commit: it copies the frames into the database file and fsyncs both
 * files. In crmd that was a request (or, with group commit, the batch writer and every
 * write waiting on it) stalled for the length of two fsyncs. Here the request connections
 * do no checkpoint (db_thread_checkpoints_elsewhere); after a commit that leaves the WAL
 * at CHECKPOINTER_FRAMES frames or more, this thread runs a PASSIVE checkpoint on its own
 * connection (it takes no lock that writers or readers wait for), and again while the WAL
 * stays above the mark; also every CHECKPOINTER_IDLE_SECONDS when there were commits, so
 * a quiet database is checkpointed too. SQLite starts the WAL again from its beginning at
 * the first write after a complete checkpoint. When writes come faster than this thread
 * copies them back, the WAL is bounded by the committing threads (DB_WAL_FRAMES_MAX in
 * src/store/db_internal.h), which then checkpoint themselves. The thread is a job_thread
 * (job_thread.h).
 *
 * Each time it wakes (at least every CHECKPOINTER_IDLE_SECONDS) it also looks at the
 * setting gdpr.purge_pending and, after erasures, runs the GDPR purge's merge of the
 * full-text indexes (gdpr_purge_if_pending, gdpr.h) before its checkpoint.
 */
#ifndef CRM_CHECKPOINTER_H
#define CRM_CHECKPOINTER_H

#include "crm/db.h"

#define CHECKPOINTER_FRAMES 1000
#define CHECKPOINTER_IDLE_SECONDS 5

/* Starts the thread on a connection of its own to `path`; call before the first
 * db_thread() connection is opened. Returns 0, or -1 after logging. */
int checkpointer_start(const char *path, enum db_sync_mode sync);
/* Stops the thread (a last checkpoint first). */
void checkpointer_stop(void);
/* Checkpoints run so far (for tests and /metrics). */
unsigned long checkpointer_count(void);

#endif
