/*
 * resource_http_int.h - private to src/http/resource_http.c and resource_list.c: the
 * context every handler of a generic resource starts from.
 */
#ifndef CRM_HTTP_RESOURCE_HTTP_INT_H
#define CRM_HTTP_RESOURCE_HTTP_INT_H

#include <jansson.h>

#include "crm/http.h"
#include "crm/resource.h"
#include "crm/resource_save.h"

/* What every handler needs. */
struct resource_http_context {
	const struct resource *resource;
	struct db *db;
	const struct auth_context *caller;
	struct response *res;
	struct write_actor actor; /* the caller through the API */
};

/*
 * Sets up a handler: the caller (401), the resource from the path (404), the connection
 * (503). Returns 0, or -1 after answering.
 */
int resource_http_context_or_reply(struct request *req, struct response *res,
				   struct resource_http_context *w);

/*
 * The record as answered (new reference, only serialised by the caller): the record itself
 * when the resource is answered as stored, else resource_record_public().
 */
json_t *resource_http_shaped(const struct resource *resource, struct db *db,
			     const json_t *record);

/* GET /api/v1/<resource> (resource_list.c). */
void resource_http_handle_list(struct request *req, struct response *res);

#endif
