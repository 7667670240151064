/*
 * json.h - JSON in and out of handlers (over jansson) and RFC 9457 problem details.
 *
 * Reference rules follow jansson: functions documented as "steals" take over the
 * caller's reference; the others borrow.
 */
#ifndef CRM_JSON_H
#define CRM_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "crm/http.h"

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

/* Collects field errors for one 422 answer. */
struct field_errors {
	json_t *list; /* array of {"field","message"}, created on first error */
};
void field_errors_add(struct field_errors *errors, const char *field, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
bool field_errors_any(const struct field_errors *errors);
/* Sends the 422 with the collected errors and clears them. */
void field_errors_reply(struct field_errors *errors, struct response *res);
void field_errors_release(struct field_errors *errors);

/* Serialises compactly; the caller frees the text. */
char *json_to_text(const json_t *value, size_t *len_out);

struct buf;
/*
 * The pieces of json_to_text(), for answers written as text without building jansson
 * values first (list pages, resource_store.c): each appends to `out` exactly what
 * json_to_text() prints for the value. `text` of a string is `len` bytes of valid UTF-8
 * (check with json_utf8_valid(): jansson refuses anything else).
 */
void json_text_add_value(struct buf *out, const json_t *value);
void json_text_add_string(struct buf *out, const char *text, size_t len);
void json_text_add_integer(struct buf *out, json_int_t number);
/* Whether `len` bytes are UTF-8 that jansson accepts (no overlong forms or surrogates). */
bool json_utf8_valid(const char *text, size_t len);
/*
 * json_utf8_valid() and json_text_add_string() in one pass for the usual plain ASCII text
 * (a list page's every column). Returns -1, with nothing appended, when `text` is not such
 * UTF-8.
 */
int json_text_add_utf8(struct buf *out, const char *text, size_t len);
/*
 * Whether `len` bytes of JSON text are exactly what json_to_text() prints for them once
 * parsed: compact, the writer's escapes, integers only, no repeated keys, nesting of at
 * most 16 levels. Text that is not may still be valid JSON (json_text_add_stored()).
 */
bool json_text_is_canonical(const char *text, size_t len);
/*
 * Appends stored JSON text (NUL-terminated, `text` borrowed) as json_to_text() prints it
 * after json_loads(): copied as it is when canonical, else parsed and printed. Returns 0,
 * or -1 when it is not JSON of type `expected` (JSON_ARRAY or JSON_OBJECT; then nothing is
 * appended).
 */
int json_text_add_stored(struct buf *out, const char *text, json_type expected);

#endif
