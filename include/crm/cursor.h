/*
 * cursor.h - opaque pagination cursors. A cursor carries the sort key and the id of the
 * last row of a page, so the next page starts strictly after it (keyset pagination: no
 * duplicates or gaps when rows are added meanwhile). It is base64url text that clients
 * pass back unchanged; anything else decodes as an error (400).
 */
#ifndef CRM_CURSOR_H
#define CRM_CURSOR_H

#include <jansson.h>
#include <stdint.h>

/*
 * Encodes the sort field name, its value in the last row (borrowed; json null for none)
 * and the row id. The caller frees the result.
 */
char *cursor_encode(const char *sort, const json_t *sort_value, int64_t id);
/*
 * Decodes `text`. On success returns 0, sets *sort_value to a new reference (caller
 * decrefs) and *id, and checks that the cursor was made for the same `sort`. Returns -1
 * for a malformed or foreign cursor.
 */
int cursor_decode(const char *text, const char *sort, json_t **sort_value, int64_t *id);

#endif
