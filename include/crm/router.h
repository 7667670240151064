/*
 * router.h - maps a method and a path pattern to a handler. Patterns are literal
 * segments and "{name}" captures: "/api/v1/contacts/{id}". The route table is built once
 * at start-up and only read afterwards, so matching needs no locks.
 */
#ifndef CRM_ROUTER_H
#define CRM_ROUTER_H

#include "crm/http.h"

enum route_flags {
	ROUTE_PUBLIC = 1 << 0,        /* no authentication needed */
	ROUTE_NO_CSRF = 1 << 1,       /* unsafe method that needs no CSRF token (login) */
	ROUTE_READ_SNAPSHOT = 1 << 2, /* GET that reads in one transaction, authentication
					 included (db_request_begin_read) */
	ROUTE_WRITE_BATCH = 1 << 3,   /* a write the batch writer runs (write_batch.h) */
	ROUTE_COSTLY = 1 << 4,        /* costly: at most N in flight per user, then 429
					 (request_cost.h) */
	ROUTE_BULK = 1 << 5,          /* runs with the bulk budget of database work (import,
					 export, refit) instead of the ordinary one */
};

struct route {
	const char *method;
	const char *pattern;
	http_handler_fn handler;
	unsigned flags;
};

enum router_result {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,
	ROUTER_METHOD_NOT_ALLOWED,
};

#define ROUTER_PATH_MAX 2048

struct route_match {
	const struct route *route;
	char path_copy[ROUTER_PATH_MAX]; /* the captures point into this */
	const char *params[HTTP_MAX_PATH_PARAMS];
	int param_count;
	char allow[96]; /* for 405: the methods the path accepts, "GET, HEAD, POST" */
};

struct router;

struct router *router_new(void);
void router_free(struct router *router);
/* Registers a route. `method`, `pattern` are static strings. */
void router_add(struct router *router, const char *method, const char *pattern,
		http_handler_fn handler, unsigned flags);
/* Finds the route for `method` and `path`; HEAD matches GET routes. */
enum router_result router_match(const struct router *router, const char *method,
				const char *path, struct route_match *match);
/* Calls `visit` for each route, in registration order (for the OpenAPI check). */
void router_each(const struct router *router, void (*visit)(void *context, const struct route *),
		 void *context);

#endif
