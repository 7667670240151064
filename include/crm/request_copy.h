/*
 * request_copy.h - a private copy of a request (method, path, body, parameters, headers,
 * query, cookies and the caller's identity), for work that runs on another thread after
 * the worker suspended the connection (response_suspend(), http.h): the worker's own copy
 * of the headers is gone once the connection is suspended. Used by the batch writer
 * (write_batch.c) and the pool of costly requests (costly_pool.c).
 */
#ifndef CRM_REQUEST_COPY_H
#define CRM_REQUEST_COPY_H

#include "crm/auth.h"
#include "crm/http.h"

struct request_copy {
	struct request req; /* points into the fields below */
	char *method, *path, *body, *client_address;
	char *path_params[HTTP_MAX_PATH_PARAMS];
	struct request_value *headers, *query, *cookies;
	struct auth_context caller;
};

/* Copies `req` (its caller too, when authenticated) into `copy`. */
void request_copy_init(struct request_copy *copy, const struct request *req);
/* Frees the copy and wipes the caller's identity (its CSRF token). */
void request_copy_release(struct request_copy *copy);

#endif
