/*
 * reply.h - answers of the HTTP layer: JSON bodies, problem details (RFC 9457), JSON request
 * bodies, and the one mapping from what the core or the store reports (struct outcome,
 * enum db_status) to an HTTP status, headers and a problem body.
 *
 * Reference rules follow jansson: functions documented as "steals" take over the
 * caller's reference; the others borrow.
 */
#ifndef CRM_REPLY_H
#define CRM_REPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "crm/http.h"
#include "crm/json.h"

/* Sends `value` (steals) as application/json with `status`. */
void response_json(struct response *res, int status, json_t *value);
/* Sends a problem+json answer with the standard title for `status` and `detail`. */
void response_problem(struct response *res, int status, const char *detail);
/* Same, formatting the detail. */
void response_problemf(struct response *res, int status, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends a problem with an "errors" array (steals `errors`), as for a 422. */
void response_problem_errors(struct response *res, int status, const char *detail,
			     json_t *errors);
/* The standard reason phrase of `status` ("Unprocessable Content"). */
const char *http_status_title(int status);

/* Bodies nested deeper than this (arrays and objects) answer 422 before parsing. */
#define JSON_MAX_DEPTH 64

/*
 * Parses the request body as a JSON object. On failure answers 415 (no JSON content
 * type), 400 (malformed), 422 (not an object, or nested deeper than JSON_MAX_DEPTH) and
 * returns NULL. Returns a new reference the caller must json_decref().
 */
json_t *request_json_object_or_reply(struct request *req, struct response *res);

/* Sends the 422 with the collected errors and clears them. */
void field_errors_reply(struct field_errors *errors, struct response *res);

struct outcome;
/*
 * The one mapping from an outcome to an answer: its HTTP status (BAD_REQUEST 400, INVALID
 * 422, FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409, STALE 412 with the stored version as
 * ETag, BUSY 503 with Retry-After: 1, UNAVAILABLE 503 with Retry-After: 5, TOO_MANY 429 with
 * Retry-After: the outcome's retry_after (at least 1), ERROR 500), a
 * problem+json body with the outcome's wording and its field errors. Consumes the outcome
 * (released). Call only for a failed outcome.
 */
void outcome_reply(struct response *res, struct outcome *outcome);

/*
 * Answers a store failure (enum db_status other than DB_OK) through outcome_reply(), worded
 * for a record called `singular` (NULL: "record").
 */
void db_status_reply(struct response *res, int db_status, const char *singular);

/*
 * Answers 503 with Retry-After: 1 and `detail`: the storage or a shared resource (the
 * password-hash places) cannot serve this request now (outcome BUSY).
 */
void response_unavailable(struct response *res, const char *detail);

#endif
