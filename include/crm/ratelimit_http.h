/*
 * ratelimit_http.h - the rate-limit step of the request pipeline (src/http/ratelimit_http.c),
 * run by app.c after authentication: it takes a token from the caller's bucket
 * (ratelimit.h), puts the RateLimit-Policy and RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers) on the answer, and answers 429 with Retry-After
 * when the bucket is empty.
 */
#ifndef CRM_RATELIMIT_HTTP_H
#define CRM_RATELIMIT_HTTP_H

#include "crm/http.h"

struct auth_context;
struct db;

/*
 * Takes a token for `caller` (its API key's bucket, or its user's for a session) and sets
 * the two headers on `res`. Returns 0 to go on, or -1 after answering 429 (through
 * outcome_reply()). When the limits cannot be read, crmd's defaults apply.
 */
int ratelimit_check_or_reply(struct db *db, const struct auth_context *caller,
			     struct response *res);

#endif
