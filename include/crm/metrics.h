/*
 * metrics.h - what an operator watches: request counters and a latency histogram per
 * route, in-flight requests, database and process figures, served at GET /metrics in the
 * Prometheus text format (version 0.0.4), and readiness at GET /readyz.
 *
 * Requests are counted by the router's pattern ("/api/v1/contacts/{id}"), never by the
 * raw path, so the number of label values stays bounded whatever clients send. Requests
 * that no route matched count under METRICS_ROUTE_UNMATCHED, web UI files under
 * METRICS_ROUTE_WEB. Methods outside the usual few count as "other".
 *
 * The hot path (metrics_request_started/finished) takes no lock: the table of counters is
 * built once by metrics_init() before serving and only read afterwards; every counter is
 * a C11 atomic updated with relaxed ordering (a scrape may see one request's counter and
 * histogram a moment apart, never a torn value).
 *
 * Access. By default /metrics needs no credentials, like /healthz: it shows counts and
 * sizes, never personal data, and crmd listens on loopback unless told otherwise. With
 * metrics_set_auth_required(true) (crmd --metrics-auth key) it needs a valid bearer API
 * key or session, as every API call does (a read-only key is enough).
 *
 * Readiness. /readyz answers 200 {"status":"ready","schema_version":N} when the database
 * answers and its schema is at the latest migration this binary knows; otherwise 503
 * problem. /healthz (liveness) is app.c's.
 */
#ifndef CRM_METRICS_H
#define CRM_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/buf.h"
#include "crm/http.h"

struct db;
struct router;

/* Route labels for requests that have no router pattern (compare by pointer or text). */
extern const char METRICS_ROUTE_WEB[];       /* "(web)": files of the web UI */
extern const char METRICS_ROUTE_UNMATCHED[]; /* "(unmatched)": 404/405 under /api, 413 ... */

/* Fixed latency buckets, in seconds (upper bounds; +Inf is implied). */
#define METRICS_LATENCY_BUCKETS \
	{ 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0 }

/*
 * Builds the counter table for the routes of `router` (borrowed; its patterns must stay
 * valid until metrics_free()) plus /healthz, /readyz, /metrics and the two labels above,
 * and records the start time. Call once before serving; not thread-safe. Calling it again
 * replaces the table (tests).
 */
void metrics_init(const struct router *router);
/* Frees the table. After it, metrics_request_finished() counts nothing. */
void metrics_free(void);

/* Whether GET /metrics needs credentials (default false). Call before serving. */
void metrics_set_auth_required(bool required);

/* A request has arrived (in-flight + 1). Lock-free. */
void metrics_request_started(void);
/*
 * A request is done (in-flight - 1): counts it under `route` (a router pattern or one of
 * the labels above; NULL means METRICS_ROUTE_UNMATCHED), `method` and `status` (0: no
 * answer was sent, e.g. the client went away; counted in flight only), and puts
 * `duration_us` into the histogram. Lock-free.
 */
void metrics_request_finished(const char *route, const char *method, int status,
			      int64_t duration_us);

/*
 * Appends the whole exposition to `out`. `db` (may be NULL: database figures are then
 * reported as down) is used through the data-layer functions below.
 */
void metrics_render(struct buf *out, struct db *db);

/* GET /metrics. */
void metrics_handle(struct request *req, struct response *res);
/* GET /readyz. */
void metrics_handle_ready(struct request *req, struct response *res);

/* ---- the data layer (src/store/metrics_store.c) ------------------------------------------ */

/*
 * Counts the browser sessions that are usable now: not revoked, `expires_at` after `now`
 * and last seen at or after `idle_limit` (RFC 3339 UTC texts). Returns a db_status.
 */
int metrics_store_active_sessions(struct db *db, const char *now, const char *idle_limit,
				  int64_t *count);
/*
 * The sizes in bytes of the database's main file and of its write-ahead log (0 when there
 * is none at the moment). Returns 0, or -1 when the main file cannot be examined.
 */
int metrics_store_file_sizes(struct db *db, int64_t *database_bytes, int64_t *wal_bytes);
/* The version of the SQLite library in use ("3.40.1"; static storage). */
const char *metrics_store_engine_version(void);

#endif
