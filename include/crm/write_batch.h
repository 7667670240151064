/*
 * write_batch.h - group commit: crmd's batch writer runs the writes of many requests in one
 * transaction.
 *
 * SQLite takes one writer at a time, and with synchronous=NORMAL most of a small write's
 * cost is the commit: the pages it changed written to the WAL, and the full-text index's
 * segment. A route flagged ROUTE_WRITE_BATCH (the generic resources' POST, PATCH, PUT and
 * DELETE) is authenticated in its worker, then its connection is suspended and the request
 * queued for the batch writer thread. The writer takes everything queued (up to
 * WRITE_BATCH_MAX), opens one write transaction (db_batch_begin), runs each request's
 * handler as usual (its own transaction is a savepoint: a request that fails undoes only
 * its own writes), commits once, and only then resumes the connections, so no answer is
 * sent before its write is stored. If the commit fails (disk full), every request of the
 * batch is answered 503 and nothing of it is stored. Under no load a batch is one request:
 * the writer never waits for more.
 */
#ifndef CRM_WRITE_BATCH_H
#define CRM_WRITE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/http.h"

#define WRITE_BATCH_MAX 128
/* New rows are indexed for full-text search this long after their batch at the latest
 * (a search indexes them first when it comes earlier; fts_pending.h). */
#define WRITE_BATCH_FTS_FLUSH_MS 250

/* Starts the writer thread (crmd, before serving). Returns 0, or -1 and logs. */
int write_batch_start(void);
/* Stops it after the queue is worked off. Call after http_server_stop(). */
void write_batch_stop(void);
/* Whether the writer runs (outside crmd, in tests and fuzzing, handlers run inline). */
bool write_batch_running(void);

/*
 * Queues the authenticated request for the writer (the request is copied, the caller's
 * identity included) and suspends its connection; headers already set on `res` (the rate
 * limit's) are kept for the answer. Call from the route dispatch instead of
 * the handler, only when write_batch_running().
 */
void write_batch_submit(struct request *req, struct response *res, http_handler_fn handler);
/*
 * The second call of a request submitted here: moves the writer's answer into `res`.
 * Returns false when req->resumed is not such a request.
 */
bool write_batch_answer(struct request *req, struct response *res);
/* For /metrics: batches run and requests run in them, since start. */
void write_batch_counts(uint64_t *batches, uint64_t *requests);

#endif
