/*
 * json.h - JSON text helpers over jansson and the field errors validation collects; no HTTP
 * (the answers built from them are crm/reply.h).
 *
 * Reference rules follow jansson: functions documented as "steals" take over the
 * caller's reference; the others borrow.
 */
#ifndef CRM_JSON_H
#define CRM_JSON_H

#include <jansson.h>
#include <stdbool.h>


/* Collects field errors for one 422 answer. */
struct field_errors {
	json_t *list; /* array of {"field","message"}, created on first error */
};
void field_errors_add(struct field_errors *errors, const char *field, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
bool field_errors_any(const struct field_errors *errors);
void field_errors_release(struct field_errors *errors);

/*
 * A JSON string of `text` even when it is not valid UTF-8 (a detail or field name that
 * quotes input as sent): invalid bytes become U+FFFD. New reference.
 */
json_t *json_string_lossy(const char *text);

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
