/*
 * openapi.h - the OpenAPI 3.1 document of the API, GET /api/v1/openapi.json (public).
 *
 * The document is generated at run time from what the server really serves:
 *   - every route of the router (router_each), with its security from the route's flags
 *     (public; bearer key or session cookie; plus the X-CSRF-Token header for unsafe
 *     methods) and the error responses every authenticated route can give;
 *   - the generic resources (resource.h): for the routes that resource_routes_register()
 *     made, the schemas of the record, of a create/replace body and of a merge patch,
 *     built from the field descriptors (types, enums, bounds, required and read-only
 *     flags), and the list parameters (limit, cursor, sort, q, tag, filters, ranges);
 *   - a hand-written table in src/http/openapi_entries.c (openapi_entries[]) for every other route:
 *     summary, parameters, body and answer schemas, and the errors it gives;
 *   - the top-level "webhooks": the signed POST sent for each event (openapi_webhooks.h).
 *
 * A route that is neither generic nor in the table still appears, marked
 * "x-undocumented": true; tests/api/test_openapi.py fails on it and names the route, so
 * documenting a new route is one entry in that table.
 */
#ifndef CRM_OPENAPI_H
#define CRM_OPENAPI_H

#include <jansson.h>

#include "crm/http.h"

struct router;

/* Builds the document for the routes of `router` (borrowed). Returns a new reference. */
json_t *openapi_document(const struct router *router);

/* Registers GET /api/v1/openapi.json (public): the document of app_router(), built on
 * the first request and kept for the life of the process. */
void openapi_routes_register(struct router *router);

#endif
