/*
 * resource_rules.c - the model of a generic resource (resource.h): the registry of
 * descriptors, the field rules (validation and normalization), JSON merge patch, and the
 * small parsers every layer shares (ids, If-Match entity tags, search text to FTS5).
 *
 * Pure: no database, no HTTP. The write pipeline (resource_save.c) and the HTTP handlers
 * (src/http/resource_http.c, resource_list.c) build on it.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/buf.h"
#include "crm/fts_pending.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* ================================================================ registry */

static const struct resource *registered[RESOURCE_MAX_RESOURCES];
static int registered_count;

void resource_register(const struct resource *resource)
{
	for (int i = 0; i < registered_count; i++)
		if (registered[i] == resource)
			return;
	assert(registered_count < RESOURCE_MAX_RESOURCES);
	registered[registered_count++] = resource;
	if (resource->fts_table) /* its flush statement: text only, no database access */
		fts_pending_register(resource->fts_table, resource->table, resource->search_columns);
	if (sodium_init() < 0)
		log_error("libsodium failed to initialise");
}

const struct resource *resource_find(const char *name)
{
	for (int i = 0; i < registered_count; i++)
		if (strcmp(registered[i]->name, name) == 0)
			return registered[i];
	return NULL;
}

const struct resource_field *resource_field_find(const struct resource *resource,
						 const char *name)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (strcmp(field->name, name) == 0)
			return field;
	return NULL;
}

/* ================================================================ field rules */

/* Members every record has and no client may set. */
static bool is_builtin_member(const char *name)
{
	return strcmp(name, "id") == 0 || strcmp(name, "created_at") == 0 ||
	       strcmp(name, "updated_at") == 0 || strcmp(name, "version") == 0;
}

/* Code points in valid UTF-8 (jansson validated it). */
size_t resource_utf8_length(const char *text)
{
	size_t count = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p & 0xC0) != 0x80)
			count++;
	return count;
}

static bool has_control_characters(const char *text, bool multiline)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (multiline && (*p == '\n' || *p == '\r' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7F)
			return true;
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A malloc'd copy of `text` without leading and trailing white space. */
char *resource_trimmed_copy(const char *text)
{
	while (is_space(*text))
		text++;
	size_t len = strlen(text);
	while (len && is_space(text[len - 1]))
		len--;
	return xstrndup(text, len);
}

bool resource_email_valid(const char *text)
{
	size_t len = strlen(text);
	if (len < 3 || len > 254)
		return false;
	const char *at = strchr(text, '@');
	if (!at || strchr(at + 1, '@'))
		return false;
	size_t local_len = (size_t)(at - text);
	if (local_len == 0 || local_len > 64)
		return false;
	for (const char *p = text; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7F || strchr("()<>[]\\,;:\"", c))
			return false;
	}
	if (text[0] == '.' || at[-1] == '.' || strstr(text, ".."))
		return false;
	/* domain: labels of letters, digits, '-' (or non-ASCII, for IDNs), at least two */
	const char *domain = at + 1;
	int labels = 0;
	size_t label_len = 0;
	const char *label_start = domain;
	for (const char *p = domain;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.' || c == '\0') {
			if (label_len == 0 || label_len > 63 || *label_start == '-' || p[-1] == '-')
				return false;
			labels++;
			if (c == '\0')
				break;
			label_len = 0;
			label_start = p + 1;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c >= 0x80))
			return false;
		label_len++;
	}
	return labels >= 2 && label_len >= 2;
}

static bool currency_valid(const char *text)
{
	return strlen(text) == 3 && isupper((unsigned char)text[0]) &&
	       isupper((unsigned char)text[1]) && isupper((unsigned char)text[2]);
}

static int max_length_of(const struct resource_field *field)
{
	if (field->max_length > 0)
		return field->max_length;
	return field->type == RESOURCE_FIELD_TEXT ? RESOURCE_TEXT_MAX_DEFAULT
						  : RESOURCE_STRING_MAX_DEFAULT;
}

/* Nesting depth of arrays and objects (a scalar is 0). */
static int json_depth(const json_t *value)
{
	int deepest = 0;
	if (json_is_object(value)) {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member) {
			int depth = json_depth(member);
			if (depth > deepest)
				deepest = depth;
		}
		return deepest + 1;
	}
	if (json_is_array(value)) {
		size_t index;
		json_t *member;
		json_array_foreach(value, index, member) {
			int depth = json_depth(member);
			if (depth > deepest)
				deepest = depth;
		}
		return deepest + 1;
	}
	return 0;
}

json_t *resource_field_empty(const struct resource_field *field)
{
	if (field->normalize)
		return json_null();
	if (field->type == RESOURCE_FIELD_TAGS)
		return json_array();
	if (field->type == RESOURCE_FIELD_OBJECT && !field->members)
		return json_object();
	return json_null();
}

/* The text rules of STRING, TEXT and EMAIL. Returns a new value or NULL after an error. */
static json_t *normalize_text(const struct resource_field *field, const json_t *value,
			      const char *path, struct field_errors *errors)
{
	if (!json_is_string(value)) {
		field_errors_add(errors, path, "must be a string");
		return NULL;
	}
	bool multiline = field->type == RESOURCE_FIELD_TEXT;
	char *text = multiline ? xstrdup(json_string_value(value)) : resource_trimmed_copy(json_string_value(value));
	json_t *result = NULL;
	if (has_control_characters(text, multiline)) {
		field_errors_add(errors, path, "must not contain control characters%s",
				 multiline ? "" : " or line breaks");
		goto cleanup;
	}
	if (text[0] == '\0') {
		result = json_null();
		goto cleanup;
	}
	if (resource_utf8_length(text) > (size_t)max_length_of(field)) {
		field_errors_add(errors, path, "must be at most %d characters", max_length_of(field));
		goto cleanup;
	}
	if (field->flags & RESOURCE_FIELD_LOWERCASE)
		for (char *p = text; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	if (field->type == RESOURCE_FIELD_EMAIL && !resource_email_valid(text)) {
		field_errors_add(errors, path, "not a valid address");
		goto cleanup;
	}
	if (strcmp(field->name, "external_id") == 0 && strchr(text, '/')) {
		field_errors_add(errors, path, "must not contain '/'");
		goto cleanup;
	}
	result = json_string(text);
cleanup:
	free(text);
	return result;
}

static json_t *normalize_tags(const struct resource_field *field, const json_t *value,
			      const char *path, struct field_errors *errors)
{
	(void)field;
	if (!json_is_array(value)) {
		field_errors_add(errors, path, "must be an array of strings");
		return NULL;
	}
	json_t *tags = json_array();
	size_t index;
	json_t *tag;
	json_array_foreach(value, index, tag) {
		if (!json_is_string(tag)) {
			field_errors_add(errors, path, "each tag must be a string");
			goto fail;
		}
		char *text = resource_trimmed_copy(json_string_value(tag));
		bool bad = text[0] == '\0' || has_control_characters(text, false) ||
			   resource_utf8_length(text) > RESOURCE_TAG_MAX_LENGTH;
		if (bad) {
			free(text);
			field_errors_add(errors, path,
					 "each tag must be a non-empty single line of at most %d "
					 "characters",
					 RESOURCE_TAG_MAX_LENGTH);
			goto fail;
		}
		bool duplicate = false;
		size_t seen_index;
		json_t *seen;
		json_array_foreach(tags, seen_index, seen)
			if (strcmp(json_string_value(seen), text) == 0)
				duplicate = true;
		if (!duplicate)
			json_array_append_new(tags, json_string(text));
		free(text);
		if (json_array_size(tags) > RESOURCE_TAGS_MAX) {
			field_errors_add(errors, path, "must have at most %d tags", RESOURCE_TAGS_MAX);
			goto fail;
		}
	}
	return tags;
fail:
	json_decref(tags);
	return NULL;
}

static json_t *normalize_object(const struct resource_field *field, const json_t *value,
				const char *path, struct field_errors *errors)
{
	if (!json_is_object(value)) {
		field_errors_add(errors, path, "must be an object");
		return NULL;
	}
	if (!field->members) {
		size_t len;
		char *text = json_to_text(value, &len);
		free(text);
		if (len > RESOURCE_OBJECT_MAX_BYTES) {
			field_errors_add(errors, path, "must be at most %d bytes as JSON",
					 RESOURCE_OBJECT_MAX_BYTES);
			return NULL;
		}
		if (json_depth(value) > RESOURCE_OBJECT_MAX_DEPTH) {
			field_errors_add(errors, path, "must be nested at most %d levels deep",
					 RESOURCE_OBJECT_MAX_DEPTH);
			return NULL;
		}
		return json_deep_copy(value);
	}
	json_t *result = json_object();
	bool failed = false;
	struct buf member_path = BUF_INIT;
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)value, key, member) {
		bool known = false;
		for (const struct resource_field *m = field->members; m->name; m++)
			known = known || strcmp(m->name, key) == 0;
		if (!known) {
			buf_reset(&member_path);
			buf_addf(&member_path, "%s.%s", path, key);
			field_errors_add(errors, member_path.data, "unknown field");
			failed = true;
		}
	}
	for (const struct resource_field *m = field->members; m->name; m++) {
		buf_reset(&member_path);
		buf_addf(&member_path, "%s.%s", path, m->name);
		json_t *normalized = resource_field_normalize(m, json_object_get(value, m->name),
							      member_path.data, errors);
		if (!normalized) {
			failed = true;
			continue;
		}
		if (json_is_null(normalized) && (m->flags & RESOURCE_FIELD_REQUIRED)) {
			field_errors_add(errors, member_path.data, "is required");
			failed = true;
		}
		json_object_set_new(result, m->name, normalized);
	}
	buf_release(&member_path);
	if (failed) {
		json_decref(result);
		return NULL;
	}
	return result;
}

json_t *resource_field_normalize(const struct resource_field *field, const json_t *value,
				 const char *path, struct field_errors *errors)
{
	if (!value || json_is_null(value))
		return resource_field_empty(field);
	if (field->normalize)
		return field->normalize(value, path, errors);
	switch (field->type) {
	case RESOURCE_FIELD_STRING:
	case RESOURCE_FIELD_TEXT:
	case RESOURCE_FIELD_EMAIL:
		return normalize_text(field, value, path, errors);
	case RESOURCE_FIELD_INTEGER:
		if (!json_is_integer(value)) {
			field_errors_add(errors, path, "must be an integer");
			return NULL;
		}
		if ((field->min || field->max) && (json_integer_value(value) < field->min ||
						   json_integer_value(value) > field->max)) {
			field_errors_add(errors, path, "must be from %lld to %lld",
					 (long long)field->min, (long long)field->max);
			return NULL;
		}
		return json_integer(json_integer_value(value));
	case RESOURCE_FIELD_BOOLEAN:
		if (!json_is_boolean(value)) {
			field_errors_add(errors, path, "must be true or false");
			return NULL;
		}
		return json_boolean(json_is_true(value));
	case RESOURCE_FIELD_TIMESTAMP: {
		time_t when;
		if (!json_is_string(value) || !time_parse_rfc3339(json_string_value(value), false, &when)) {
			field_errors_add(errors, path,
					 "must be an RFC 3339 timestamp such as 2026-11-23T16:00:00Z");
			return NULL;
		}
		char text[TIME_RFC3339_SIZE];
		time_format_rfc3339(when, text);
		return json_string(text);
	}
	case RESOURCE_FIELD_DATE: {
		time_t when;
		if (!json_is_string(value) || !time_parse_date(json_string_value(value), &when)) {
			field_errors_add(errors, path, "must be a date such as 2026-11-23");
			return NULL;
		}
		return json_string(json_string_value(value));
	}
	case RESOURCE_FIELD_ENUM: {
		if (json_is_string(value))
			for (const char *const *v = field->values; v && *v; v++)
				if (strcmp(*v, json_string_value(value)) == 0)
					return json_string(*v);
		struct buf allowed = BUF_INIT;
		for (const char *const *v = field->values; v && *v; v++)
			buf_addf(&allowed, "%s%s", allowed.len ? ", " : "", *v);
		field_errors_add(errors, path, "must be one of %s", allowed.data);
		buf_release(&allowed);
		return NULL;
	}
	case RESOURCE_FIELD_CURRENCY:
		if (!json_is_string(value) || !currency_valid(json_string_value(value))) {
			field_errors_add(errors, path,
					 "must be an ISO 4217 currency code such as EUR");
			return NULL;
		}
		return json_string(json_string_value(value));
	case RESOURCE_FIELD_REFERENCE:
		if (!json_is_integer(value) || json_integer_value(value) <= 0) {
			field_errors_add(errors, path, "must be the id of a record (an integer)");
			return NULL;
		}
		return json_integer(json_integer_value(value));
	case RESOURCE_FIELD_TAGS:
		return normalize_tags(field, value, path, errors);
	case RESOURCE_FIELD_OBJECT:
		return normalize_object(field, value, path, errors);
	}
	field_errors_add(errors, path, "cannot be set");
	return NULL;
}

/* Adds errors for the unknown and read-only members of a body or patch. */
static void check_members(const struct resource *resource, const json_t *body,
			  struct field_errors *errors)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)body, key, value) {
		const struct resource_field *field = resource_field_find(resource, key);
		if (is_builtin_member(key) || (field && (field->flags & RESOURCE_FIELD_READ_ONLY)))
			field_errors_add(errors, key, "is read-only");
		else if (!field)
			field_errors_add(errors, key, "unknown field");
	}
}

json_t *resource_record_from_body(const struct resource *resource, const json_t *body,
				  struct field_errors *errors)
{
	check_members(resource, body, errors);
	json_t *record = json_object();
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(body, field->name);
		bool defaulted = field->flags & (RESOURCE_FIELD_DEFAULT_CALLER |
						 RESOURCE_FIELD_DEFAULT_NOW);
		if (field->flags & RESOURCE_FIELD_READ_ONLY) {
			if (!(field->flags & RESOURCE_FIELD_DEFAULT_CALLER))
				json_object_set_new(record, field->name, resource_field_empty(field));
			continue;
		}
		if (!value && defaulted)
			continue;
		json_t *normalized = resource_field_normalize(field, value, field->name, errors);
		json_object_set_new(record, field->name,
				    normalized ? normalized : resource_field_empty(field));
	}
	return record;
}

json_t *resource_merge_patch(const json_t *target, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *result = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)patch, key, value) {
		if (json_is_null(value)) {
			json_object_del(result, key);
			continue;
		}
		json_object_set_new(result, key,
				    resource_merge_patch(json_object_get(result, key), value));
	}
	return result;
}

json_t *resource_record_merge(const struct resource *resource, const json_t *current,
			      const json_t *patch, struct field_errors *errors)
{
	check_members(resource, patch, errors);
	json_t *record = json_object();
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *old = json_object_get(current, field->name);
		json_t *value = old ? json_deep_copy(old) : resource_field_empty(field);
		const json_t *change = json_object_get(patch, field->name);
		if (change && !(field->flags & RESOURCE_FIELD_READ_ONLY)) {
			json_t *normalized;
			if (field->type == RESOURCE_FIELD_OBJECT && json_is_object(change)) {
				json_t *merged = resource_merge_patch(old, change);
				normalized = resource_field_normalize(field, merged, field->name, errors);
				json_decref(merged);
			} else {
				normalized = resource_field_normalize(field, change, field->name, errors);
			}
			if (normalized) {
				json_decref(value);
				value = normalized;
			}
		}
		json_object_set_new(record, field->name, value);
	}
	return record;
}

void resource_record_check_required(const struct resource *resource, const json_t *record,
				    struct field_errors *errors)
{
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(record, field->name);
		if ((field->flags & RESOURCE_FIELD_REQUIRED) && (!value || json_is_null(value)))
			field_errors_add(errors, field->name, "is required");
	}
}

bool resource_record_unchanged(const struct resource *resource, const json_t *record,
			       const json_t *current)
{
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *a = json_object_get(record, field->name);
		const json_t *b = json_object_get(current, field->name);
		bool a_null = !a || json_is_null(a), b_null = !b || json_is_null(b);
		if (a_null != b_null || (!a_null && !json_equal(a, b)))
			return false;
	}
	return true;
}

int64_t resource_record_owner(const struct resource *resource, const json_t *record)
{
	if (!resource->owner_field)
		return 0;
	const json_t *owner = json_object_get(record, resource->owner_field);
	return json_is_integer(owner) ? (int64_t)json_integer_value(owner) : 0;
}

/* ================================================================ small parsers */

char *resource_fts_query(const char *text)
{
	struct buf query = BUF_INIT;
	const char *p = text;
	while (*p) {
		while (is_space(*p))
			p++;
		const char *start = p;
		while (*p && !is_space(*p))
			p++;
		if (p == start)
			continue;
		bool searchable = false;
		for (const char *c = start; c < p; c++)
			if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80)
				searchable = true;
		if (!searchable)
			continue;
		if (query.len)
			buf_addch(&query, ' ');
		buf_addch(&query, '"');
		for (const char *c = start; c < p; c++) {
			if (*c == '"')
				buf_addch(&query, '"');
			buf_addch(&query, *c);
		}
		buf_adds(&query, "\"*");
	}
	if (!query.len) {
		buf_release(&query);
		return NULL;
	}
	return buf_detach(&query, NULL);
}

int resource_parse_id(const char *text, int64_t *id)
{
	if (!text || !*text || strlen(text) > 19)
		return -1;
	for (const char *p = text; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	char *end;
	long long value = strtoll(text, &end, 10);
	if (errno || *end || value <= 0)
		return -1;
	*id = value;
	return 0;
}

int resource_if_match(const char *header, int64_t version)
{
	const char *p = header;
	bool any = false, matched = false;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		any = true;
		if (*p == '*') {
			matched = true;
			p++;
			continue;
		}
		bool weak = false;
		if (p[0] == 'W' && p[1] == '/') {
			weak = true;
			p += 2;
		}
		bool quoted = *p == '"';
		if (quoted)
			p++;
		const char *start = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start || p - start > 19)
			return -1;
		if (quoted && *p++ != '"')
			return -1;
		if (*p && *p != ',' && *p != ' ' && *p != '\t')
			return -1;
		char digits[24];
		memcpy(digits, start, (size_t)(quoted ? p - 1 - start : p - start));
		digits[quoted ? p - 1 - start : p - start] = '\0';
		if (!weak && strtoll(digits, NULL, 10) == version)
			matched = true;
	}
	if (!any)
		return -1;
	return matched ? 1 : 0;
}

int resource_count(void)
{
	return registered_count;
}

const struct resource *resource_at(int index)
{
	return index >= 0 && index < registered_count ? registered[index] : NULL;
}

int64_t resource_record_id(const json_t *record)
{
	return json_integer_value(json_object_get(record, "id"));
}
