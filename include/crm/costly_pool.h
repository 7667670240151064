/*
 * costly_pool.h - costly requests run off the worker threads (issue 16).
 *
 * libmicrohttpd gives each worker thread a set of connections; a worker busy with one
 * request for a second (a segment preview over 100k contacts) stalls every other
 * connection it serves. A route flagged ROUTE_COSTLY (router.h) is authenticated in its
 * worker, which then takes one of the caller's slots (request_cost_enter(), or 429),
 * suspends the connection and queues the request here. A few pool threads (--costly-threads,
 * default half the cores, at least one) run the handlers, each with the request's budget
 * of database work armed (ROUTE_BULK: the bulk budget), release the slot, and resume the
 * connection; the worker then sends the answer. So costly work holds at most the pool's
 * threads, never the workers, and one user at most their slots of it.
 */
#ifndef CRM_COSTLY_POOL_H
#define CRM_COSTLY_POOL_H

#include <stdbool.h>

#include "crm/http.h"

#define COSTLY_POOL_MAX_THREADS 64

/* Starts `threads` pool threads (0: half the cores, at least one). Returns 0, or -1. */
int costly_pool_start(int threads);
/* Stops the threads after the queue is worked off. Call after http_server_stop(). */
void costly_pool_stop(void);
/* Whether the pool runs (outside crmd, in tests and fuzzing, handlers run inline). */
bool costly_pool_running(void);

/*
 * Queues the authenticated request, whose caller holds a slot (request_cost_enter()), and
 * suspends its connection; the pool releases the slot when the handler has run. `bulk`:
 * the handler runs with the bulk budget.
 */
void costly_pool_submit(struct request *req, struct response *res, http_handler_fn handler,
			bool bulk);
/*
 * The second call of a request submitted here: moves the pool's answer into `res`.
 * Returns false when req->resumed is not such a request.
 */
bool costly_pool_answer(struct request *req, struct response *res);

#endif
