/*
 * resource_http.h - the HTTP face of the generic resources (src/http/resource_http.c,
 * resource_list.c): the routes of resource.h's table, and a helper for sub-resource
 * handlers (contacts/{id}/timeline, ...).
 */
#ifndef CRM_RESOURCE_HTTP_H
#define CRM_RESOURCE_HTTP_H

#include <jansson.h>

#include "crm/http.h"
#include "crm/resource.h"

struct router;

/*
 * Registers the routes listed above for `resource` (static storage) and remembers it for
 * resource_find(). Call at start-up, before serving (not thread-safe).
 */
void resource_routes_register(struct router *router, const struct resource *resource);

/*
 * Loads record `id` of `resource` if the caller may read it. Returns 0 and sets *record (a
 * new reference the caller json_decrefs). Otherwise answers 401 (no caller), 404 (absent or
 * not readable, also for a malformed id) or 503, and returns -1.
 */
int resource_read_or_reply(const struct resource *resource, struct request *req,
			   struct response *res, const char *id_text, json_t **record);

#endif
