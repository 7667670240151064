/*
 * web.h - serves the web UI embedded from web/ at build time, with content types, ETags,
 * cache headers and a strict Content-Security-Policy.
 */
#ifndef CRM_WEB_H
#define CRM_WEB_H

#include <stdbool.h>

#include "crm/http.h"

/* Answers a GET/HEAD for a web file (404 problem if there is none; "/" is index.html). */
void web_serve(struct request *req, struct response *res);
/*
 * Whether an If-None-Match value names `etag` (quotes included): "*", or one entity tag of
 * a comma-separated list, compared weakly (W/"x" matches "x").
 */
bool web_etag_matches(const char *header, const char *etag);
/* The content type for a file name, by its extension. */
const char *web_content_type(const char *name);

#endif
