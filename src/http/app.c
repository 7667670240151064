/*
 * app.c - crmd's request pipeline. /healthz, /readyz and /metrics (metrics.c) answer
 * without the router; /api/... goes through the router, then authentication and the
 * caller's rate limit (ratelimit_http.c) unless the route is public, then the handler;
 * everything else is the embedded web UI. Each request gets its route label (the router's
 * pattern) for the metrics that http.c records.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/app.h"

#include <string.h>

#include "crm/auth.h"
#include "crm/costly_pool.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/outcome.h"
#include "crm/ratelimit.h"
#include "crm/ratelimit_http.h"
#include "crm/request_cost.h"
#include "crm/reply.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/router.h"
#include "crm/routes.h"
#include "crm/web.h"
#include "crm/write_batch.h"
#include "crm/banned.h"

/* Distinct SQL texts kept prepared per worker connection (see db_request_finished). */
#define APP_STATEMENT_CACHE_LIMIT 1024

static struct router *app_routes;

void app_init(void)
{
	app_routes = router_new();
	routes_register_all(app_routes);
	metrics_init(app_routes);
}

void app_free(void)
{
	ratelimit_shutdown();
	metrics_free();
	router_free(app_routes);
	app_routes = NULL;
}

const struct router *app_router(void)
{
	return app_routes;
}

struct db *app_db_or_reply(struct response *res)
{
	struct db *db = db_thread();
	if (!db) {
		struct outcome outcome = OUTCOME_INIT;
		outcome_fail(&outcome, OUTCOME_UNAVAILABLE, "the database cannot be opened");
		outcome_reply(res, &outcome);
	}
	return db;
}

static void handle_health(struct request *req, struct response *res)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		response_set_header(res, "Allow", "GET, HEAD");
		response_problemf(res, HTTP_METHOD_NOT_ALLOWED, "%s is not allowed here; use GET",
				  req->method);
		return;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (db_schema_version(db) < 0) {
		response_unavailable(res, "the database does not answer");
		return;
	}
	response_json(res, HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

/*
 * Runs the handler of a route with the request's budget of database work armed on this
 * thread's connection (request_cost.h), then disarms it. A store that reported a stopped
 * statement as a bare database error is answered as what it was: the budget ran out.
 */
static void run_with_budget(const struct route *route, struct request *req,
			    struct response *res)
{
	struct db *db = db_thread();
	if (db)
		db_set_budget(db, request_cost_budget_ms(route->flags & ROUTE_BULK));
	route->handler(req, res);
	if (!db)
		return;
	if (db_budget_spent(db) && res->status == HTTP_INTERNAL_ERROR)
		db_status_reply(res, DB_TOO_COSTLY, NULL);
	db_set_budget(db, 0);
}

/*
 * Runs a costly route when the caller has a slot free (request_cost.h), else answers 429:
 * on the pool of costly requests (costly_pool.h), which releases the slot, or inline
 * when there is no pool (tests).
 */
static void run_costly(const struct route *route, struct request *req, struct response *res)
{
	int64_t user_id = req->auth->user_id;
	if (!request_cost_enter(user_id)) {
		struct outcome outcome = OUTCOME_INIT;
		outcome_fail(&outcome, OUTCOME_TOO_MANY,
			     "you have too many costly requests (segment previews, exports, "
			     "imports, refits) running; wait for one to finish");
		outcome_reply(res, &outcome);
		return;
	}
	if (costly_pool_running()) {
		costly_pool_submit(req, res, route->handler, route->flags & ROUTE_BULK);
		return;
	}
	run_with_budget(route, req, res);
	request_cost_leave(user_id);
}

static bool is_unsafe_method(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static void handle_api(struct request *req, struct response *res)
{
	struct route_match match;
	switch (router_match(app_routes, req->method, req->path, &match)) {
	case ROUTER_NOT_FOUND:
		response_problem(res, HTTP_NOT_FOUND, "no such resource");
		return;
	case ROUTER_METHOD_NOT_ALLOWED:
		response_set_header(res, "Allow", match.allow);
		response_problemf(res, HTTP_METHOD_NOT_ALLOWED, "%s is not allowed here; use %s",
				  req->method, match.allow);
		return;
	case ROUTER_FOUND:
		break;
	}
	req->route_label = match.route->pattern;
	for (int i = 0; i < match.param_count; i++)
		req->path_params[i] = match.params[i];
	req->path_param_count = match.param_count;

	bool batched = match.route->flags & ROUTE_WRITE_BATCH;
	if (batched && req->resumed) { /* the batch writer ran it (write_batch.h) */
		if (!write_batch_answer(req, res))
			response_problem(res, HTTP_INTERNAL_ERROR, "the write was lost");
		return;
	}
	if ((match.route->flags & ROUTE_COSTLY) && req->resumed) { /* the pool ran it */
		if (!costly_pool_answer(req, res))
			response_problem(res, HTTP_INTERNAL_ERROR, "the request was lost");
		return;
	}
	struct auth_context caller;
	if (!(match.route->flags & ROUTE_PUBLIC)) {
		struct db *db = app_db_or_reply(res);
		if (!db)
			return;
		if (match.route->flags & ROUTE_READ_SNAPSHOT)
			db_request_begin_read(db); /* ended by db_request_finished() below */
		bool check_csrf = is_unsafe_method(req->method) && !(match.route->flags & ROUTE_NO_CSRF);
		if (auth_authenticate_or_reply(db, req, res, check_csrf, &caller) != 0)
			return;
		req->auth = &caller;
		req->log_user_id = caller.user_id;
		if (ratelimit_check_or_reply(db, &caller, res) != 0) {
			req->auth = NULL;
			return;
		}
	}
	if (batched && write_batch_running())
		write_batch_submit(req, res, match.route->handler);
	else if ((match.route->flags & ROUTE_COSTLY) && req->auth)
		run_costly(match.route, req, res);
	else
		run_with_budget(match.route, req, res);
	req->auth = NULL;
}

void app_handle(struct request *req, struct response *res)
{
	if (strcmp(req->path, "/healthz") == 0) {
		req->route_label = "/healthz";
		handle_health(req, res);
		return;
	}
	if (strcmp(req->path, "/readyz") == 0) {
		req->route_label = "/readyz";
		metrics_handle_ready(req, res);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		req->route_label = "/metrics";
		metrics_handle(req, res);
		return;
	}
	if (strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0) {
		handle_api(req, res);
		/* Between requests no statement is in use: release snapshots, bound the cache. */
		struct db *db = db_thread();
		if (db)
			db_request_finished(db, APP_STATEMENT_CACHE_LIMIT);
		return;
	}
	req->route_label = METRICS_ROUTE_WEB;
	web_serve(req, res);
}
