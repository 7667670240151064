/*
 * request_cost.h - what bounds the cost of one request in crmd (issue 16): the budget of
 * database work armed on the worker's connection for each request (db_set_budget(): the
 * ordinary budget, or the bulk budget of imports, exports and refits), and a per-user limit
 * on costly requests in flight (segment preview, members and export, analytics refit,
 * import), so that one key cannot hold the worker threads. The routes say which they are
 * by their flags (ROUTE_COSTLY, ROUTE_BULK in router.h); app.c calls these.
 */
#ifndef CRM_REQUEST_COST_H
#define CRM_REQUEST_COST_H

#include <stdbool.h>
#include <stdint.h>

#define REQUEST_BUDGET_MS_DEFAULT 5000       /* ordinary requests (a segment count over
						computed fields at 1M contacts: ~1.2 s) */
#define REQUEST_BULK_BUDGET_MS_DEFAULT 60000 /* import, export, refit */
#define REQUEST_BUDGET_MS_MAX 3600000
#define REQUEST_COSTLY_PER_USER_DEFAULT 2
#define REQUEST_COSTLY_PER_USER_MAX 64

struct request_cost_limits {
	int budget_ms;      /* 0: the default */
	int bulk_budget_ms; /* 0: the default */
	int costly_per_user; /* 0: the default */
};

/* Sets the limits at start-up, before serving (not thread-safe against requests). */
void request_cost_configure(const struct request_cost_limits *limits);
/* The budget in milliseconds of a request on a route with `bulk` set or not. */
int request_cost_budget_ms(bool bulk);

/*
 * Takes a slot for one costly request of `user_id`: true when the user had fewer than the
 * limit in flight (release it with request_cost_leave()), false when not (answer 429).
 * Thread-safe.
 */
bool request_cost_enter(int64_t user_id);
void request_cost_leave(int64_t user_id);

#endif
