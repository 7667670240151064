/*
 * json.c - JSON text for answers and stored columns (a fast writer that prints exactly what
 * jansson prints), UTF-8 checks, and the field errors that validation collects. Knows
 * nothing of HTTP: src/http/reply.c turns these into answers.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/buf.h"
#include "crm/banned.h"

/* ---------------------------------------------------------------- JSON text */

/*
 * Every answer goes through json_to_text(), and json_dumps() spent about 50,000
 * instructions on one contact (its output goes through a callback per token): a list page
 * of 50 cost more to print than to read from the database (callgrind, issue 6). This writer
 * appends to one buffer and prints exactly what json_dumps(JSON_COMPACT) prints: members
 * in their order, strings as UTF-8 with '"', '\\' and control characters escaped
 * (\b \f \n \r \t, others as \u00XX). Reals, rare here, are printed by jansson.
 */
void json_text_add_string(struct buf *out, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t plain = 0;
	while (plain < len && (unsigned char)text[plain] >= 0x20 && text[plain] != '"' &&
	       text[plain] != '\\')
		plain++;
	buf_grow(out, len + 2);
	if (plain == len) { /* nothing to escape, the usual case: one copy */
		char *at = out->data + out->len;
		at[0] = '"';
		memcpy(at + 1, text, len);
		at[len + 1] = '"';
		out->len += len + 2;
		out->data[out->len] = '\0';
		return;
	}
	buf_addch(out, '"');
	size_t start = 0;
	for (size_t i = plain; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(out, text + start, i - start);
		start = i + 1;
		char escape[7] = { '\\', 0 };
		size_t escape_len = 2;
		switch (c) {
		case '"': escape[1] = '"'; break;
		case '\\': escape[1] = '\\'; break;
		case '\b': escape[1] = 'b'; break;
		case '\f': escape[1] = 'f'; break;
		case '\n': escape[1] = 'n'; break;
		case '\r': escape[1] = 'r'; break;
		case '\t': escape[1] = 't'; break;
		default:
			memcpy(escape + 1, "u00", 3);
			escape[4] = hex[c >> 4];
			escape[5] = hex[c & 0xf];
			escape_len = 6;
			break;
		}
		buf_add(out, escape, escape_len);
	}
	buf_add(out, text + start, len - start);
	buf_addch(out, '"');
}

void json_text_add_integer(struct buf *out, json_int_t number)
{
	char digits[24];
	size_t at = sizeof(digits);
	/* through unsigned arithmetic, so that the most negative value prints too */
	unsigned long long magnitude = number < 0 ? 0ULL - (unsigned long long)number
						  : (unsigned long long)number;
	do {
		digits[--at] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (number < 0)
		digits[--at] = '-';
	buf_add(out, digits + at, sizeof(digits) - at);
}

void json_text_add_value(struct buf *out, const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT: {
		buf_addch(out, '{');
		bool first = true;
		for (void *iter = json_object_iter((json_t *)value); iter;
		     iter = json_object_iter_next((json_t *)value, iter)) {
			if (!first)
				buf_addch(out, ',');
			first = false;
			json_text_add_string(out, json_object_iter_key(iter),
					     json_object_iter_key_len(iter));
			buf_addch(out, ':');
			json_text_add_value(out, json_object_iter_value(iter));
		}
		buf_addch(out, '}');
		break;
	}
	case JSON_ARRAY: {
		buf_addch(out, '[');
		size_t count = json_array_size(value);
		for (size_t i = 0; i < count; i++) {
			if (i)
				buf_addch(out, ',');
			json_text_add_value(out, json_array_get(value, i));
		}
		buf_addch(out, ']');
		break;
	}
	case JSON_STRING:
		json_text_add_string(out, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		json_text_add_integer(out, json_integer_value(value));
		break;
	case JSON_REAL: {
		char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_adds(out, text ? text : "null");
		free(text);
		break;
	}
	case JSON_TRUE:
		buf_adds(out, "true");
		break;
	case JSON_FALSE:
		buf_adds(out, "false");
		break;
	case JSON_NULL:
	default:
		buf_adds(out, "null");
		break;
	}
}

/*
 * The length of the UTF-8 sequence at `p` (before `end`) as jansson accepts it: no
 * overlong forms, no surrogates, nothing above U+10FFFF. 0 when it is not valid.
 */
static size_t utf8_sequence_length(const unsigned char *p, const unsigned char *end)
{
	unsigned char first = p[0];
	size_t count;
	uint32_t value;
	if (first < 0x80)
		return 1;
	if (first < 0xC2)
		return 0; /* a continuation byte, or an overlong 2-byte form */
	if (first < 0xE0) {
		count = 2;
		value = first & 0x1F;
	} else if (first < 0xF0) {
		count = 3;
		value = first & 0x0F;
	} else if (first < 0xF5) {
		count = 4;
		value = first & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < count)
		return 0;
	for (size_t i = 1; i < count; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		value = (value << 6) | (p[i] & 0x3F);
	}
	if ((count == 3 && value < 0x800) || (count == 4 && value < 0x10000) ||
	    (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF)
		return 0;
	return count;
}

bool json_utf8_valid(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t count = utf8_sequence_length(p, end);
		if (!count)
			return false;
		p += count;
	}
	return true;
}

int json_text_add_utf8(struct buf *out, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t plain = 0;
	while (plain < len && p[plain] >= 0x20 && p[plain] < 0x80 && p[plain] != '"' &&
	       p[plain] != '\\')
		plain++;
	if (plain < len && !json_utf8_valid(text + plain, len - plain))
		return -1;
	json_text_add_string(out, text, len);
	return 0;
}

/* ---------------------------------------------------------------- stored JSON text */

/*
 * Stored JSON (a record's tags, custom fields, consent) was written by json_to_text(), so
 * it is normally already the text json_to_text() would print after parsing it again. These
 * functions check that ("canonical": the writer's own form) without building anything, so
 * that a list page can copy it as it is. Anything else - white space, other escapes, reals,
 * duplicate keys, very deep nesting - is not canonical and goes through jansson, which then
 * decides as before.
 */
#define CANONICAL_MAX_DEPTH 16
#define CANONICAL_MAX_KEYS 32

static bool is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* A string in the writer's form at *p ('"'); moves *p past it. */
static bool canonical_string(const char **p, const char *end)
{
	const char *at = *p + 1;
	while (at < end) {
		unsigned char c = (unsigned char)*at;
		if (c == '"') {
			*p = at + 1;
			return true;
		}
		if (c == '\\') {
			if (end - at < 2)
				return false;
			char escape = at[1];
			if (escape && strchr("\"\\bfnrt", escape)) {
				at += 2;
				continue;
			}
			/* \u00XX: only the control characters without a short escape, never NUL */
			if (escape != 'u' || end - at < 6 || at[2] != '0' || at[3] != '0' ||
			    (at[4] != '0' && at[4] != '1') || !is_upper_hex(at[5]))
				return false;
			int low = at[5] <= '9' ? at[5] - '0' : at[5] - 'A' + 10;
			int code = (at[4] - '0') * 16 + low;
			if (code == 0 || code == '\b' || code == '\f' || code == '\n' ||
			    code == '\r' || code == '\t')
				return false;
			at += 6;
			continue;
		}
		if (c < 0x20)
			return false;
		size_t count = utf8_sequence_length((const unsigned char *)at,
						    (const unsigned char *)end);
		if (!count)
			return false;
		at += count;
	}
	return false;
}

/* An integer as json_text_add_integer() prints it, small enough for any json_int_t. */
static bool canonical_integer(const char **p, const char *end)
{
	const char *at = *p;
	if (at < end && *at == '-')
		at++;
	const char *digits = at;
	while (at < end && *at >= '0' && *at <= '9')
		at++;
	size_t count = (size_t)(at - digits);
	if (count == 0 || count > 18 || (digits[0] == '0' && (count > 1 || digits != *p)))
		return false; /* none, too long, a leading zero, or "-0" */
	if (at < end && (*at == '.' || *at == 'e' || *at == 'E'))
		return false; /* a real: jansson prints those */
	*p = at;
	return true;
}

static bool canonical_value(const char **p, const char *end, int depth);

/* Whether the key just read (`key`, `len` bytes with quotes) is among `keys`. */
static bool key_repeated(const char *const *keys, const size_t *lens, int count, const char *key,
			 size_t len)
{
	for (int i = 0; i < count; i++)
		if (lens[i] == len && memcmp(keys[i], key, len) == 0)
			return true;
	return false;
}

static bool canonical_object(const char **p, const char *end, int depth)
{
	const char *at = *p + 1;
	const char *keys[CANONICAL_MAX_KEYS];
	size_t lens[CANONICAL_MAX_KEYS];
	int count = 0;
	if (at < end && *at == '}') {
		*p = at + 1;
		return true;
	}
	for (;;) {
		const char *key = at;
		if (at >= end || *at != '"' || !canonical_string(&at, end))
			return false;
		size_t len = (size_t)(at - key);
		/* a repeated key: jansson keeps one value, so the text would not survive */
		if (count == CANONICAL_MAX_KEYS || key_repeated(keys, lens, count, key, len))
			return false;
		keys[count] = key;
		lens[count++] = len;
		if (at >= end || *at++ != ':' || !canonical_value(&at, end, depth))
			return false;
		if (at < end && *at == ',') {
			at++;
			continue;
		}
		if (at < end && *at == '}') {
			*p = at + 1;
			return true;
		}
		return false;
	}
}

static bool canonical_array(const char **p, const char *end, int depth)
{
	const char *at = *p + 1;
	if (at < end && *at == ']') {
		*p = at + 1;
		return true;
	}
	for (;;) {
		if (!canonical_value(&at, end, depth))
			return false;
		if (at < end && *at == ',') {
			at++;
			continue;
		}
		if (at < end && *at == ']') {
			*p = at + 1;
			return true;
		}
		return false;
	}
}

static bool canonical_literal(const char **p, const char *end, const char *literal)
{
	size_t len = strlen(literal);
	if ((size_t)(end - *p) < len || memcmp(*p, literal, len) != 0)
		return false;
	*p += len;
	return true;
}

/* A value in the writer's form at *p; moves *p past it. */
static bool canonical_value(const char **p, const char *end, int depth)
{
	if (*p >= end)
		return false;
	switch (**p) {
	case '{':
		return depth < CANONICAL_MAX_DEPTH && canonical_object(p, end, depth + 1);
	case '[':
		return depth < CANONICAL_MAX_DEPTH && canonical_array(p, end, depth + 1);
	case '"':
		return canonical_string(p, end);
	case 't':
		return canonical_literal(p, end, "true");
	case 'f':
		return canonical_literal(p, end, "false");
	case 'n':
		return canonical_literal(p, end, "null");
	default:
		return canonical_integer(p, end);
	}
}

bool json_text_is_canonical(const char *text, size_t len)
{
	const char *at = text, *end = text + len;
	return canonical_value(&at, end, 0) && at == end;
}

int json_text_add_stored(struct buf *out, const char *text, json_type expected)
{
	size_t len = strlen(text);
	char opening = expected == JSON_ARRAY ? '[' : expected == JSON_OBJECT ? '{' : '\0';
	if (opening && len && text[0] == opening && json_text_is_canonical(text, len)) {
		buf_add(out, text, len);
		return 0;
	}
	json_t *value = json_loads(text, 0, NULL);
	if (!value || json_typeof(value) != expected) {
		json_decref(value);
		return -1;
	}
	json_text_add_value(out, value);
	json_decref(value);
	return 0;
}

char *json_to_text(const json_t *value, size_t *len_out)
{
	struct buf out = BUF_INIT;
	if (value)
		json_text_add_value(&out, value);
	else
		buf_adds(&out, "null");
	return buf_detach(&out, len_out);
}

/*
 * A JSON string of `text` even when it is not valid UTF-8 (a detail or field name that
 * quotes a query parameter or a method as sent): invalid bytes become U+FFFD. New reference.
 */
json_t *json_string_lossy(const char *text)
{
	json_t *value = json_string(text);
	if (value)
		return value;
	struct buf clean = BUF_INIT;
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p >> 5) == 0x6 ? 2 : (*p >> 4) == 0xE ? 3
			: (*p >> 3) == 0x1E ? 4 : 0;
		bool valid = len > 0;
		for (int i = 1; valid && i < len; i++)
			valid = (p[i] & 0xC0) == 0x80;
		if (valid && len > 1) {
			/* A copy jansson accepts (no overlong forms, surrogates or > U+10FFFF). */
			char one[5] = { 0 };
			memcpy(one, p, (size_t)len);
			json_t *probe = json_string(one);
			valid = probe != NULL;
			json_decref(probe);
		}
		if (valid) {
			buf_add(&clean, p, (size_t)len);
			p += len;
		} else {
			buf_adds(&clean, "\xEF\xBF\xBD");
			p++;
		}
	}
	value = json_string(clean.data);
	buf_release(&clean);
	return value ? value : json_string("");
}

void field_errors_add(struct field_errors *errors, const char *field, const char *format, ...)
{
	struct buf message = BUF_INIT;
	va_list args;
	va_start(args, format);
	buf_vaddf(&message, format, args);
	va_end(args);
	if (!errors->list)
		errors->list = json_array();
	json_array_append_new(errors->list,
			      json_pack("{s:o, s:o}", "field", json_string_lossy(field), "message",
					json_string_lossy(message.data)));
	buf_release(&message);
}

bool field_errors_any(const struct field_errors *errors)
{
	return errors->list && json_array_size(errors->list) > 0;
}

void field_errors_release(struct field_errors *errors)
{
	json_decref(errors->list);
	errors->list = NULL;
}
