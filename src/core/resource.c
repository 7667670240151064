/*
 * resource.c - the generic REST resource (resource.h): the registry of descriptors, the
 * field rules (validation and normalization), JSON merge patch, search-text to FTS5
 * conversion, and the HTTP handlers for lists, create, read, patch, replace, delete and
 * external-id upserts, with permissions, If-Match, Idempotency-Key and audit.
 *
 * Handlers never run SQL: they call the data layer in resource_store.c and the permission
 * module. Every write happens in one write transaction together with its audit entry.
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
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/fts_pending.h"
#include "crm/log.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define API_PREFIX "/api/v1/"

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

/* The resource named by the path's segment after /api/v1/, or NULL. */
static const struct resource *resource_of_path(const char *path)
{
	size_t prefix = strlen(API_PREFIX);
	if (strncmp(path, API_PREFIX, prefix) != 0)
		return NULL;
	const char *name = path + prefix;
	size_t len = strcspn(name, "/");
	for (int i = 0; i < registered_count; i++)
		if (strlen(registered[i]->name) == len && strncmp(registered[i]->name, name, len) == 0)
			return registered[i];
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
static size_t utf8_length(const char *text)
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
static char *trimmed_copy(const char *text)
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
	char *text = multiline ? xstrdup(json_string_value(value)) : trimmed_copy(json_string_value(value));
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
	if (utf8_length(text) > (size_t)max_length_of(field)) {
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
		char *text = trimmed_copy(json_string_value(tag));
		bool bad = text[0] == '\0' || has_control_characters(text, false) ||
			   utf8_length(text) > RESOURCE_TAG_MAX_LENGTH;
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

/* The owner for permission checks of a record whose owner_field holds `owner`. */
static int64_t owner_through_reference(struct db *db, const struct resource *resource,
				       int64_t owner)
{
	if (!resource->owner_via_reference || owner <= 0)
		return owner;
	const struct resource_field *field = resource_field_find(resource, resource->owner_field);
	const struct resource *parent = field ? resource_find(field->references) : NULL;
	int64_t parent_owner = 0;
	if (!parent || resource_store_owner_of(db, parent, owner, &parent_owner) != DB_OK)
		return 0;
	return parent_owner;
}

int64_t resource_record_owner_lookup(struct db *db, const struct resource *resource,
				     const json_t *record)
{
	return owner_through_reference(db, resource, resource_record_owner(resource, record));
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

/* Parses a whole decimal integer (optional '-'). */
static int parse_integer(const char *text, int64_t *out)
{
	if (!text || !*text || strlen(text) > 20)
		return -1;
	const char *p = text;
	if (*p == '-')
		p++;
	if (!*p)
		return -1;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	char *end;
	long long value = strtoll(text, &end, 10);
	if (errno || *end)
		return -1;
	*out = value;
	return 0;
}

/* ================================================================ HTTP helpers */

static void reply_db_status(struct response *res, int status, const struct resource *resource)
{
	switch (status) {
	case DB_NOT_FOUND:
		response_problemf(res, HTTP_NOT_FOUND, "no such %s", resource->singular);
		break;
	case DB_CONFLICT:
		response_problem(res, HTTP_CONFLICT, "the change conflicts with another record");
		break;
	case DB_STALE:
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the %s was changed meanwhile; read it again", resource->singular);
		break;
	case DB_INVALID:
		response_problem(res, HTTP_UNPROCESSABLE, "a referenced record does not exist");
		break;
	case DB_BUSY:
		response_set_header(res, "Retry-After", "1");
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database is busy; try again");
		break;
	case DB_FULL:
		response_set_header(res, "Retry-After", "5");
		response_problem(res, HTTP_SERVICE_UNAVAILABLE,
				 "the database cannot be written at the moment");
		break;
	default:
		response_problem(res, HTTP_INTERNAL_ERROR, "database error");
		break;
	}
}

static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* Whether the caller's scope for `action` covers a record owned by `owner_id`. */
static bool caller_may(struct db *db, const struct auth_context *caller,
		       const struct resource *resource, enum perm_action action, int64_t owner_id)
{
	enum perm_scope scope = perm_scope_for(db, caller, resource->name, action);
	if (!resource->owner_field)
		return scope == PERM_SCOPE_ALL;
	return perm_scope_covers(db, scope, caller, owner_id);
}

int resource_reference_usable(struct db *db, const struct auth_context *caller,
			      const char *references, int64_t id)
{
	if (strcmp(references, "users") == 0) {
		char team[256];
		int status = users_store_team_of(db, id, team, sizeof(team));
		if (status == DB_NOT_FOUND)
			return 0;
		return status == DB_OK ? 1 : status;
	}
	const struct resource *target = resource_find(references);
	if (!target) {
		log_error("reference to unregistered resource %s", references);
		return 0;
	}
	int64_t owner_id;
	int status = resource_store_owner_of(db, target, id, &owner_id);
	if (status == DB_NOT_FOUND)
		return 0;
	if (status != DB_OK)
		return status;
	return caller_may(db, caller, target, PERM_READ, owner_id) ? 1 : 0;
}

static void set_etag_version(struct response *res, int64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	response_set_header(res, "ETag", etag);
}

static void set_etag(struct response *res, const json_t *record)
{
	set_etag_version(res, json_integer_value(json_object_get(record, "version")));
}

static int64_t record_id(const json_t *record)
{
	return json_integer_value(json_object_get(record, "id"));
}

static bool has_write_only_fields(const struct resource *resource)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->flags & RESOURCE_FIELD_WRITE_ONLY)
			return true;
	return false;
}

bool resource_answered_as_stored(const struct resource *resource)
{
	return !resource->shape && !has_write_only_fields(resource);
}

static void strip_write_only(const struct resource *resource, json_t *record)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->flags & RESOURCE_FIELD_WRITE_ONLY)
			json_object_del(record, field->name);
}

/*
 * `record` (borrowed, may be NULL) without its WRITE_ONLY fields, for audit entries: a
 * new reference (the same record, increfed, when the resource has none).
 */
static json_t *redacted(const struct resource *resource, const json_t *record)
{
	if (!record || !has_write_only_fields(resource))
		return json_incref((json_t *)record);
	json_t *copy = json_deep_copy(record);
	strip_write_only(resource, copy);
	return copy;
}

json_t *resource_record_public(struct db *db, const struct resource *resource,
			       const json_t *record)
{
	json_t *copy = json_deep_copy(record);
	strip_write_only(resource, copy);
	if (resource->shape)
		resource->shape(db, copy);
	return copy;
}

/*
 * The record as answered (new reference, only serialised by the caller): the record itself
 * when the resource has neither WRITE_ONLY fields nor a shape hook, else
 * resource_record_public(). Copying every row was a fifth of the instructions of a list
 * page (callgrind, issue 6).
 */
static json_t *shaped(const struct resource *resource, struct db *db, const json_t *record)
{
	if (resource_answered_as_stored(resource))
		return json_incref((json_t *)record);
	return resource_record_public(db, resource, record);
}

static resource_event_hook event_hook;

void resource_set_event_hook(resource_event_hook hook)
{
	event_hook = hook;
}

int resource_event_emit(struct db *db, const struct resource *resource,
			enum resource_event event, const json_t *before, const json_t *after)
{
	return event_hook ? event_hook(db, resource, event, before, after) : DB_OK;
}

/*
 * Sends one record with its ETag (and Location for 201). `record` is borrowed. WRITE_ONLY
 * fields are answered only with 201, the create that may have generated them.
 */
static void send_record(struct response *res, int status, const struct resource *resource,
			struct db *db, const json_t *record)
{
	set_etag(res, record);
	if (status == HTTP_CREATED) {
		char location[256];
		snprintf(location, sizeof(location), API_PREFIX "%s/%lld", resource->name,
			 (long long)record_id(record));
		response_set_header(res, "Location", location);
		json_t *copy = json_deep_copy(record);
		if (resource->shape)
			resource->shape(db, copy);
		response_json(res, status, copy);
		return;
	}
	response_json(res, status, shaped(resource, db, record));
}

/* The If-Match rule on an existing record: 0 go on, -1 answered 400/412. */
static int check_if_match_or_reply(struct request *req, struct response *res,
				   const struct resource *resource, const json_t *record)
{
	const char *header = request_header(req, "If-Match");
	if (!header)
		return 0;
	int64_t version = json_integer_value(json_object_get(record, "version"));
	int match = resource_if_match(header, version);
	if (match < 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "If-Match must be an entity tag such as \"3\" or *");
		return -1;
	}
	if (match == 0) {
		set_etag(res, record);
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the %s is at version %lld, not the one in If-Match",
				  resource->singular, (long long)version);
		return -1;
	}
	return 0;
}

/*
 * Parses a PATCH body: application/json or application/merge-patch+json, a JSON object.
 * Returns a new reference, or NULL after answering 415/400/422.
 */
static json_t *patch_body_or_reply(struct request *req, struct response *res)
{
	const char *type = request_header(req, "Content-Type");
	const char *merge = "application/merge-patch+json";
	if (!type || strncasecmp(type, merge, strlen(merge)) != 0)
		return request_json_object_or_reply(req, res);
	json_error_t error;
	json_t *value = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &error);
	if (!value) {
		response_problemf(res, HTTP_BAD_REQUEST, "malformed JSON at line %d, column %d: %s",
				  error.line, error.column, error.text);
		return NULL;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		response_problem(res, HTTP_UNPROCESSABLE, "the body must be a JSON object");
		return NULL;
	}
	return value;
}

/* ================================================================ writes */

/* What every write step needs. */
struct write_context {
	const struct resource *resource;
	struct db *db;
	const struct auth_context *caller;
	struct response *res;
};

static bool field_changed(const json_t *record, const json_t *before, const char *name)
{
	if (!before)
		return true;
	const json_t *a = json_object_get(record, name), *b = json_object_get(before, name);
	bool a_null = !a || json_is_null(a), b_null = !b || json_is_null(b);
	return a_null != b_null || (!a_null && !json_equal(a, b));
}

/*
 * Sets DEFAULT_CALLER fields that a create body left out to the caller (always, when also
 * READ_ONLY) and DEFAULT_NOW fields it left out to the current time.
 */
static void apply_caller_defaults(const struct write_context *w, json_t *record)
{
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	for (const struct resource_field *field = w->resource->fields; field->name; field++) {
		if (json_object_get(record, field->name))
			continue;
		if (field->flags & RESOURCE_FIELD_DEFAULT_CALLER)
			json_object_set_new(record, field->name, json_integer(w->caller->user_id));
		else if (field->flags & RESOURCE_FIELD_DEFAULT_NOW)
			json_object_set_new(record, field->name, json_string(now));
	}
}

/*
 * A replacement keeps read-only fields, and DEFAULT_CALLER and DEFAULT_NOW fields the body
 * left out.
 */
static void keep_on_replace(const struct write_context *w, json_t *record, const json_t *before)
{
	for (const struct resource_field *field = w->resource->fields; field->name; field++) {
		bool keep = (field->flags & RESOURCE_FIELD_READ_ONLY) ||
			    ((field->flags & (RESOURCE_FIELD_DEFAULT_CALLER |
					      RESOURCE_FIELD_DEFAULT_NOW)) &&
			     !json_object_get(record, field->name));
		if (keep) {
			const json_t *old = json_object_get(before, field->name);
			json_object_set_new(record, field->name,
					    old ? json_deep_copy(old) : resource_field_empty(field));
		}
	}
}

/*
 * Finishes a write inside the open transaction: the resource's hook, REQUIRED, references,
 * the new owner's permission and unique fields; then the insert or update and its audit
 * entry. `input`, `before` (NULL on create) are borrowed; `record` is borrowed and may be
 * changed by the hook; `errors` holds the field errors so far and is consumed.
 * On success returns 0 with *stored (new reference: the record as stored, or `before` when
 * nothing changed) and *changed. Otherwise answers and returns -1 (the caller rolls back).
 */
static int save_or_reply(const struct write_context *w, enum resource_operation operation,
			 const json_t *input, const json_t *before, json_t *record,
			 struct field_errors *errors, json_t **stored, bool *changed)
{
	const struct resource *resource = w->resource;
	*stored = NULL;
	*changed = false;
	int result = -1;
	if (!field_errors_any(errors) && resource->prepare) {
		struct resource_change change = { operation, w->db, w->caller, input, before, record };
		resource->prepare(&change, errors);
	}
	resource_record_check_required(resource, record, errors);

	/* References: a changed reference must name a record the caller may read. */
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(record, field->name);
		if (field->type != RESOURCE_FIELD_REFERENCE || !json_is_integer(value) ||
		    !field_changed(record, before, field->name))
			continue;
		int usable = resource_reference_usable(w->db, w->caller, field->references,
						       json_integer_value(value));
		if (usable < 0) {
			reply_db_status(w->res, usable, resource);
			goto cleanup;
		}
		if (!usable) {
			const struct resource *target = resource_find(field->references);
			field_errors_add(errors, field->name, "no such %s",
					 target ? target->singular : "user");
		}
	}
	if (field_errors_any(errors)) {
		field_errors_reply(errors, w->res);
		goto cleanup;
	}

	int64_t new_owner = resource_record_owner_lookup(w->db, resource, record);
	bool owner_changed =
		!before || new_owner != resource_record_owner_lookup(w->db, resource, before);
	if (owner_changed && !caller_may(w->db, w->caller, resource, PERM_WRITE, new_owner)) {
		response_problemf(w->res, HTTP_FORBIDDEN, "you may not %s %s owned by that user",
				  before ? "give this record to" : "create a", resource->singular);
		goto cleanup;
	}

	int64_t own_id = before ? record_id(before) : 0;
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(record, field->name);
		if (!(field->flags & RESOURCE_FIELD_UNIQUE) || !value || json_is_null(value) ||
		    !field_changed(record, before, field->name))
			continue;
		int taken = resource_store_value_taken(w->db, resource, field, value, own_id);
		if (taken < 0) {
			reply_db_status(w->res, taken, resource);
			goto cleanup;
		}
		if (taken)
			field_errors_add(errors, field->name, "is already used by another %s",
					 resource->singular);
	}
	if (field_errors_any(errors)) {
		response_problem_errors(w->res, HTTP_CONFLICT,
					"a unique field is already used by another record",
					json_incref(errors->list));
		goto cleanup;
	}

	if (before && resource_record_unchanged(resource, record, before)) {
		*stored = json_incref((json_t *)before);
		result = 0;
		goto cleanup;
	}
	int status = before ? resource_store_update(w->db, resource, own_id,
						    json_integer_value(json_object_get(before, "version")),
						    record, stored)
			    : resource_store_insert(w->db, resource, record, stored);
	if (status == DB_OK && resource->after_save) {
		struct resource_change change = { operation, w->db, w->caller, input, before, record };
		status = resource->after_save(&change, *stored);
	}
	if (status == DB_OK)
		status = resource_event_emit(w->db, resource,
					     before ? RESOURCE_EVENT_UPDATED : RESOURCE_EVENT_CREATED,
					     before, *stored);
	if (status == DB_OK) {
		json_t *audit_before = redacted(resource, before);
		json_t *audit_after = redacted(resource, *stored);
		status = audit_record(w->db, w->caller->user_id, AUDIT_ACTOR_API, resource->name,
				      record_id(*stored), before ? "update" : "create", audit_before,
				      audit_after);
		json_decref(audit_before);
		json_decref(audit_after);
	}
	if (status != DB_OK) {
		json_decref(*stored);
		*stored = NULL;
		reply_db_status(w->res, status, resource);
		goto cleanup;
	}
	*changed = true;
	result = 0;
cleanup:
	field_errors_release(errors);
	return result;
}

/* Opens the write transaction; answers 503 when the database stays busy. */
static int begin_write_or_reply(const struct write_context *w)
{
	int status = db_begin_write(w->db);
	if (status != DB_OK) {
		reply_db_status(w->res, status, w->resource);
		return -1;
	}
	return 0;
}

/* Commits; on failure answers (replacing whatever was prepared) and returns -1. */
static int commit_or_reply(const struct write_context *w)
{
	int status = db_commit(w->db);
	if (status != DB_OK) {
		reply_db_status(w->res, status, w->resource);
		return -1;
	}
	return 0;
}

/*
 * Sets up a handler: the caller, the resource (from the path) and the connection.
 * Returns 0, or -1 after answering.
 */
static int write_context_or_reply(struct request *req, struct response *res,
				  struct write_context *w)
{
	w->res = res;
	w->resource = resource_of_path(req->path);
	if (!w->resource) {
		response_problem(res, HTTP_NOT_FOUND, "no such resource");
		return -1;
	}
	w->caller = caller_or_reply(req, res);
	if (!w->caller)
		return -1;
	w->db = app_db_or_reply(res);
	return w->db ? 0 : -1;
}

/* ---------------------------------------------------------------- POST (create) */

static bool idempotency_key_valid(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len > RESOURCE_IDEMPOTENCY_KEY_MAX)
		return false;
	for (const char *p = key; *p; p++)
		if (*p < 0x21 || *p > 0x7E)
			return false;
	return true;
}

/* Hex BLAKE2b-256 of the request body. */
static void body_hash(const struct request *req, char out[65])
{
	unsigned char hash[32];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)req->body, req->body_len,
			   NULL, 0);
	sodium_bin2hex(out, 65, hash, sizeof(hash));
}

/* Sends a stored answer again. Consumes the answer's strings. */
static void replay_answer(struct response *res, struct resource_idempotent_answer *answer)
{
	json_t *body = json_loads(answer->body, 0, NULL);
	if (json_is_object(body) && json_is_integer(json_object_get(body, "version")))
		set_etag(res, body);
	json_decref(body);
	if (answer->location)
		response_set_header(res, "Location", answer->location);
	response_set_header(res, "Idempotent-Replayed", "true");
	size_t len = strlen(answer->body);
	response_set_body(res, answer->status, "application/json", answer->body, len);
	answer->body = NULL;
}

static void handle_create(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	const struct resource *resource = w.resource;
	if (perm_scope_for(w.db, w.caller, resource->name, PERM_WRITE) == PERM_SCOPE_NONE) {
		response_problemf(res, HTTP_FORBIDDEN, "you may not create %s", resource->name);
		return;
	}
	const char *key = request_header(req, "Idempotency-Key");
	if (key && !idempotency_key_valid(key)) {
		response_problemf(res, HTTP_BAD_REQUEST,
				  "Idempotency-Key must be 1 to %d visible ASCII characters",
				  RESOURCE_IDEMPOTENCY_KEY_MAX);
		return;
	}
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { NULL };
	json_t *record = resource_record_from_body(resource, body, &errors);
	apply_caller_defaults(&w, record);
	json_t *stored = NULL;
	struct resource_idempotent_answer answer = { 0 };
	char hash[65];
	body_hash(req, hash);
	int64_t now = (int64_t)time(NULL);
	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	if (key) {
		int status = resource_store_idempotency_find(
			w.db, w.caller->user_id, key, now - RESOURCE_IDEMPOTENCY_SECONDS, &answer);
		if (status == DB_OK) {
			db_rollback(w.db);
			if (strcmp(answer.method, req->method) != 0 ||
			    strcmp(answer.path, req->path) != 0 ||
			    strcmp(answer.request_hash, hash) != 0)
				response_problem(res, HTTP_UNPROCESSABLE,
						 "this Idempotency-Key was used for another request");
			else
				replay_answer(res, &answer);
			goto cleanup;
		}
		if (status != DB_NOT_FOUND) {
			db_rollback(w.db);
			reply_db_status(res, status, resource);
			goto cleanup;
		}
	}
	bool changed;
	if (save_or_reply(&w, RESOURCE_CREATE, body, NULL, record, &errors, &stored, &changed) != 0) {
		db_rollback(w.db);
		goto cleanup;
	}
	send_record(res, HTTP_CREATED, resource, w.db, stored);
	if (key) {
		struct resource_idempotent_answer save = {
			.method = (char *)req->method,
			.path = (char *)req->path,
			.request_hash = hash,
			.body = res->body,
			.location = NULL,
			.status = HTTP_CREATED,
		};
		for (int i = 0; i < res->header_count; i++)
			if (strcmp(res->header_names[i], "Location") == 0)
				save.location = res->header_values[i];
		int status = resource_store_idempotency_save(w.db, w.caller->user_id, key, &save,
							     now, now - RESOURCE_IDEMPOTENCY_SECONDS);
		if (status != DB_OK) {
			db_rollback(w.db);
			reply_db_status(res, status, resource);
			goto cleanup;
		}
	}
	commit_or_reply(&w);
cleanup:
	field_errors_release(&errors);
	resource_idempotent_answer_release(&answer);
	json_decref(stored);
	json_decref(record);
	json_decref(body);
}

/* ---------------------------------------------------------------- GET one */

/* Loads a record the caller may read; answers 404/503 otherwise. */
static int load_readable_or_reply(const struct write_context *w, const char *id_text,
				  json_t **record)
{
	*record = NULL;
	int64_t id;
	if (resource_parse_id(id_text, &id) != 0) {
		response_problemf(w->res, HTTP_NOT_FOUND, "no such %s", w->resource->singular);
		return -1;
	}
	int status = resource_store_get(w->db, w->resource, id, record);
	if (status == DB_OK &&
	    !caller_may(w->db, w->caller, w->resource, PERM_READ,
			resource_record_owner_lookup(w->db, w->resource, *record)))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		json_decref(*record);
		*record = NULL;
		reply_db_status(w->res, status, w->resource);
		return -1;
	}
	return 0;
}

int resource_read_or_reply(const struct resource *resource, struct request *req,
			   struct response *res, const char *id_text, json_t **record)
{
	*record = NULL;
	struct write_context w = { resource, NULL, NULL, res };
	w.caller = caller_or_reply(req, res);
	if (!w.caller)
		return -1;
	w.db = app_db_or_reply(res);
	if (!w.db)
		return -1;
	return load_readable_or_reply(&w, id_text, record);
}

/* Sends a record read with GET, or 304 when If-None-Match names its version. */
static void send_read(struct request *req, const struct write_context *w, const json_t *record)
{
	const char *none_match = request_header(req, "If-None-Match");
	if (none_match &&
	    resource_if_match(none_match, json_integer_value(json_object_get(record, "version"))) == 1) {
		set_etag(w->res, record);
		response_set_static_body(w->res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		return;
	}
	send_record(w->res, HTTP_OK, w->resource, w->db, record);
}

/*
 * handle_get() for records answered as stored (no shape hook, no WRITE_ONLY fields): the
 * record's JSON text is written straight from the row, as for list pages; the checks and
 * the answer are those of load_readable_or_reply() and send_read().
 */
static void send_read_text(struct request *req, const struct write_context *w)
{
	int64_t id;
	if (resource_parse_id(req->path_params[0], &id) != 0) {
		response_problemf(w->res, HTTP_NOT_FOUND, "no such %s", w->resource->singular);
		return;
	}
	struct resource_record_text record;
	resource_record_text_init(&record);
	int status = resource_store_get_text(w->db, w->resource, id, &record);
	if (status == DB_OK &&
	    !caller_may(w->db, w->caller, w->resource, PERM_READ,
			owner_through_reference(w->db, w->resource, record.owner)))
		status = DB_NOT_FOUND;
	if (status != DB_OK) {
		reply_db_status(w->res, status, w->resource);
		goto cleanup;
	}
	set_etag_version(w->res, record.version);
	const char *none_match = request_header(req, "If-None-Match");
	if (none_match && resource_if_match(none_match, record.version) == 1) {
		response_set_static_body(w->res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		goto cleanup;
	}
	size_t len;
	char *text = buf_detach(&record.text, &len);
	response_set_body(w->res, HTTP_OK, "application/json", text, len);
cleanup:
	resource_record_text_release(&record);
}

static void handle_get(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	if (resource_answered_as_stored(w.resource)) {
		send_read_text(req, &w);
		return;
	}
	json_t *record;
	if (load_readable_or_reply(&w, req->path_params[0], &record) != 0)
		return;
	send_read(req, &w, record);
	json_decref(record);
}

/* The external_id from the path, checked like the field. Answers 404 when it cannot be one. */
static json_t *external_id_or_reply(const struct write_context *w, const char *text)
{
	const struct resource_field *field = resource_field_find(w->resource, "external_id");
	if (!field) {
		response_problem(w->res, HTTP_NOT_FOUND, "this resource has no external ids");
		return NULL;
	}
	json_t *raw = json_string(text);
	struct field_errors errors = { NULL };
	json_t *value = raw ? resource_field_normalize(field, raw, "external_id", &errors) : NULL;
	json_decref(raw);
	if (value && json_is_string(value) && strcmp(json_string_value(value), text) == 0 &&
	    !field_errors_any(&errors)) {
		field_errors_release(&errors);
		return value;
	}
	json_decref(value);
	field_errors_release(&errors);
	response_problemf(w->res, HTTP_NOT_FOUND, "no %s can have this external_id",
			  w->resource->singular);
	return NULL;
}

static void handle_get_external(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	json_t *external_id = external_id_or_reply(&w, req->path_params[0]);
	if (!external_id)
		return;
	json_t *record = NULL;
	int status = resource_store_get_by_external_id(w.db, w.resource,
						       json_string_value(external_id), &record);
	if (status == DB_OK && !caller_may(w.db, w.caller, w.resource, PERM_READ,
					   resource_record_owner_lookup(w.db, w.resource, record)))
		status = DB_NOT_FOUND;
	if (status == DB_OK)
		send_read(req, &w, record);
	else
		reply_db_status(res, status, w.resource);
	json_decref(record);
	json_decref(external_id);
}

/* ---------------------------------------------------------------- PATCH, PUT, DELETE */

/*
 * The common start of a change to an existing record, inside the open transaction: load
 * (404), If-Match (412), and the `action` permission on the current owner (403).
 */
static int load_for_change_or_reply(struct request *req, const struct write_context *w,
				    json_t *record, enum perm_action action)
{
	if (check_if_match_or_reply(req, w->res, w->resource, record) != 0)
		return -1;
	if (!caller_may(w->db, w->caller, w->resource, action,
			resource_record_owner_lookup(w->db, w->resource, record))) {
		response_problemf(w->res, HTTP_FORBIDDEN, "you may not %s this %s",
				  action == PERM_DELETE ? "delete" : "change", w->resource->singular);
		return -1;
	}
	return 0;
}

static void handle_change(struct request *req, struct response *res, bool patch)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	json_t *body = patch ? patch_body_or_reply(req, res) : request_json_object_or_reply(req, res);
	if (!body)
		return;
	json_t *before = NULL, *record = NULL, *stored = NULL;
	struct field_errors errors = { NULL };
	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	if (load_readable_or_reply(&w, req->path_params[0], &before) != 0 ||
	    load_for_change_or_reply(req, &w, before, PERM_WRITE) != 0)
		goto rollback;
	if (patch) {
		record = resource_record_merge(w.resource, before, body, &errors);
	} else {
		record = resource_record_from_body(w.resource, body, &errors);
		keep_on_replace(&w, record, before);
	}
	bool changed;
	if (save_or_reply(&w, patch ? RESOURCE_UPDATE : RESOURCE_REPLACE, body, before, record,
			  &errors, &stored, &changed) != 0)
		goto rollback;
	if (commit_or_reply(&w) == 0)
		send_record(res, HTTP_OK, w.resource, w.db, stored);
	goto cleanup;
rollback:
	db_rollback(w.db);
cleanup:
	field_errors_release(&errors);
	json_decref(stored);
	json_decref(record);
	json_decref(before);
	json_decref(body);
}

static void handle_patch(struct request *req, struct response *res)
{
	handle_change(req, res, true);
}

static void handle_replace(struct request *req, struct response *res)
{
	handle_change(req, res, false);
}

#define DELETE_DEPTH_MAX 8 /* dependants of dependants ...: far more than the schema has */

static int delete_with_dependants(struct db *db, int64_t user_id,
				  const struct resource *resource, const json_t *before, int depth);

/*
 * Sets `field` of `record` (borrowed, as loaded) to null as its foreign key's ON DELETE SET
 * NULL would, but as a write of its own: version + 1, its `.updated` event and an update
 * audit entry.
 */
static int detach_dependant(struct db *db, int64_t user_id, const struct resource *resource,
			    const struct resource_field *field, const json_t *record)
{
	json_t *changed = json_deep_copy(record), *stored = NULL;
	json_object_set_new(changed, field->name, json_null());
	int status = resource_store_update(db, resource, record_id(record),
					   json_integer_value(json_object_get(record, "version")),
					   changed, &stored);
	json_decref(changed);
	if (status == DB_OK)
		status = resource_event_emit(db, resource, RESOURCE_EVENT_UPDATED, record, stored);
	if (status == DB_OK) {
		json_t *audit_before = redacted(resource, record);
		json_t *audit_after = redacted(resource, stored);
		status = audit_record(db, user_id, AUDIT_ACTOR_API, resource->name,
				      record_id(record), "update", audit_before, audit_after);
		json_decref(audit_before);
		json_decref(audit_after);
	}
	json_decref(stored);
	return status;
}

/*
 * The dependants of record `id` of `parent` through `child`'s REFERENCE `field`, by what
 * the schema's foreign key does on delete: deleted (CASCADE) or detached (SET NULL).
 * Each record is loaded again first: an earlier step may have changed or deleted it.
 */
static int handle_dependants(struct db *db, int64_t user_id, const struct resource *child,
			     const struct resource_field *field, int64_t id, int depth)
{
	enum resource_on_delete action;
	int status = resource_store_on_delete(db, child, field->name, &action);
	if (status != DB_OK || action == RESOURCE_ON_DELETE_NONE)
		return status;
	json_t *records;
	status = resource_store_referencing(db, child, field->name, id, &records);
	if (status != DB_OK)
		return status;
	size_t i;
	json_t *listed;
	json_array_foreach(records, i, listed) {
		json_t *record;
		status = resource_store_get(db, child, record_id(listed), &record);
		if (status == DB_NOT_FOUND) {
			status = DB_OK;
			continue;
		}
		if (status != DB_OK)
			break;
		const json_t *target = json_object_get(record, field->name);
		if (json_is_integer(target) && json_integer_value(target) == id)
			status = action == RESOURCE_ON_DELETE_CASCADE
					 ? delete_with_dependants(db, user_id, child, record, depth + 1)
					 : detach_dependant(db, user_id, child, field, record);
		json_decref(record);
		if (status != DB_OK)
			break;
	}
	json_decref(records);
	return status;
}

/*
 * Deletes record `before` (borrowed, as loaded) of `resource` at its version, with its
 * `.deleted` event and delete audit entry, after its dependants: every record of a
 * registered resource whose REFERENCE the schema cascades is deleted the same way first,
 * and every one it would set to null is updated (handle_dependants()). So the audit log
 * and the webhooks see each row the delete changes, not only the one deleted. The caller
 * holds the write transaction (the whole delete is one unit) and has checked the delete
 * permission on `before`: the dependants go with it without checks of their own.
 */
static int delete_with_dependants(struct db *db, int64_t user_id,
				  const struct resource *resource, const json_t *before, int depth)
{
	if (depth > DELETE_DEPTH_MAX) {
		log_error("%s: dependants nested too deep to delete", resource->name);
		return DB_ERROR;
	}
	int64_t id = record_id(before);
	int status = DB_OK;
	for (int i = 0; i < registered_count && status == DB_OK; i++)
		for (const struct resource_field *field = registered[i]->fields;
		     field->name && status == DB_OK; field++)
			if (field->type == RESOURCE_FIELD_REFERENCE && field->references &&
			    strcmp(field->references, resource->name) == 0)
				status = handle_dependants(db, user_id, registered[i], field, id, depth);
	if (status == DB_OK && resource->delete_dependants)
		status = resource->delete_dependants(db, user_id, before);
	if (status == DB_OK)
		status = resource_store_delete(db, resource, id,
					       json_integer_value(json_object_get(before, "version")));
	if (status == DB_OK)
		status = resource_event_emit(db, resource, RESOURCE_EVENT_DELETED, before, NULL);
	if (status == DB_OK) {
		json_t *audit_before = redacted(resource, before);
		status = audit_record(db, user_id, AUDIT_ACTOR_API, resource->name, id, "delete",
				      audit_before, NULL);
		json_decref(audit_before);
	}
	return status;
}

static void handle_delete(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	json_t *before = NULL;
	if (begin_write_or_reply(&w) != 0)
		return;
	if (load_readable_or_reply(&w, req->path_params[0], &before) != 0 ||
	    load_for_change_or_reply(req, &w, before, PERM_DELETE) != 0)
		goto rollback;
	int status = delete_with_dependants(w.db, w.caller->user_id, w.resource, before, 0);
	if (status == DB_INVALID) {
		response_problemf(res, HTTP_CONFLICT, "other records still refer to this %s",
				  w.resource->singular);
		goto rollback;
	}
	if (status != DB_OK) {
		reply_db_status(res, status, w.resource);
		goto rollback;
	}
	if (commit_or_reply(&w) == 0)
		response_set_static_body(res, HTTP_NO_CONTENT, "application/json", "", 0);
	json_decref(before);
	return;
rollback:
	db_rollback(w.db);
	json_decref(before);
}

/* PUT /external/{external_id}: create (201) or replace (200), idempotently. */
static void handle_put_external(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	const struct resource *resource = w.resource;
	json_t *external_id = external_id_or_reply(&w, req->path_params[0]);
	if (!external_id)
		return;
	json_t *body = request_json_object_or_reply(req, res);
	json_t *before = NULL, *record = NULL, *stored = NULL;
	struct field_errors errors = { NULL };
	if (!body)
		goto cleanup;
	record = resource_record_from_body(resource, body, &errors);
	const json_t *given = json_object_get(record, "external_id");
	if (json_object_get(body, "external_id") && !json_equal(given, external_id) &&
	    !json_is_null(json_object_get(body, "external_id")))
		field_errors_add(&errors, "external_id", "must be the one in the path");
	json_object_set(record, "external_id", external_id);

	if (begin_write_or_reply(&w) != 0)
		goto cleanup;
	int status = resource_store_get_by_external_id(w.db, resource,
						       json_string_value(external_id), &before);
	if (status == DB_OK && !caller_may(w.db, w.caller, resource, PERM_READ,
					   resource_record_owner_lookup(w.db, resource, before)))
		status = DB_NOT_FOUND; /* as if absent; it cannot be created either */
	if (status == DB_NOT_FOUND && before) {
		reply_db_status(res, status, resource);
		goto rollback;
	}
	if (status != DB_OK && status != DB_NOT_FOUND) {
		reply_db_status(res, status, resource);
		goto rollback;
	}
	bool changed;
	if (before) {
		if (load_for_change_or_reply(req, &w, before, PERM_WRITE) != 0)
			goto rollback;
		keep_on_replace(&w, record, before);
		if (save_or_reply(&w, RESOURCE_REPLACE, body, before, record, &errors, &stored,
				  &changed) != 0)
			goto rollback;
	} else {
		if (request_header(req, "If-Match")) {
			response_problemf(res, HTTP_PRECONDITION_FAILED,
					  "there is no %s with this external_id yet",
					  resource->singular);
			goto rollback;
		}
		if (perm_scope_for(w.db, w.caller, resource->name, PERM_WRITE) == PERM_SCOPE_NONE) {
			response_problemf(res, HTTP_FORBIDDEN, "you may not create %s", resource->name);
			goto rollback;
		}
		apply_caller_defaults(&w, record);
		if (save_or_reply(&w, RESOURCE_CREATE, body, NULL, record, &errors, &stored,
				  &changed) != 0)
			goto rollback;
	}
	if (commit_or_reply(&w) == 0)
		send_record(res, before ? HTTP_OK : HTTP_CREATED, resource, w.db, stored);
	goto cleanup;
rollback:
	db_rollback(w.db);
cleanup:
	field_errors_release(&errors);
	json_decref(stored);
	json_decref(record);
	json_decref(before);
	json_decref(body);
	json_decref(external_id);
}

/* ================================================================ lists */

/*
 * Appends a client-given name for a message: at most 64 characters, anything but printable
 * ASCII shown as '?', so that the problem detail stays valid UTF-8 whatever was sent.
 */
static void add_client_name(struct buf *message, const char *name)
{
	size_t count = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && count < 64; p++, count++)
		buf_addch(message, *p >= 0x20 && *p < 0x7F ? (char)*p : '?');
	if (strlen(name) > 64)
		buf_adds(message, "...");
}

#define LIST_MAX_PARAMS 64

struct query_param {
	const char *name;
	const char *value; /* never NULL ("" for "?x") */
};

struct query_params {
	struct query_param items[LIST_MAX_PARAMS];
	int count;
	bool too_many;
};

static int collect_param(void *context, const char *name, const char *value)
{
	struct query_params *params = context;
	if (!name || !name[0]) /* "?a=1&&b=2", a trailing '&': nothing asked */
		return 0;
	if (params->count == LIST_MAX_PARAMS) {
		params->too_many = true;
		return 1;
	}
	params->items[params->count].name = name;
	params->items[params->count].value = value ? value : "";
	params->count++;
	return 0;
}

/*
 * Converts a query-string value to the JSON value of `field`'s type, normalized by the
 * field rules. Returns a new reference or NULL (with `message` set).
 */
static json_t *filter_value(const struct resource_field *field, const char *text,
			    struct buf *message)
{
	json_t *raw = NULL;
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
	case RESOURCE_FIELD_REFERENCE: {
		int64_t number;
		if (parse_integer(text, &number) == 0)
			raw = json_integer(number);
		break;
	}
	case RESOURCE_FIELD_BOOLEAN:
		if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
			raw = json_boolean(strcmp(text, "true") == 0);
		break;
	case RESOURCE_FIELD_TAGS:
	case RESOURCE_FIELD_OBJECT:
		break;
	default:
		raw = json_string(text);
		break;
	}
	if (!raw) {
		buf_addf(message, "%s: malformed value", field->name);
		return NULL;
	}
	struct field_errors errors = { NULL };
	json_t *value = resource_field_normalize(field, raw, field->name, &errors);
	json_decref(raw);
	if (value && json_is_null(value)) {
		json_decref(value);
		value = NULL;
		buf_addf(message, "%s: a value is needed", field->name);
	} else if (!value) {
		json_t *first = json_array_get(errors.list, 0);
		buf_addf(message, "%s: %s", field->name,
			 json_string_value(json_object_get(first, "message")));
	}
	field_errors_release(&errors);
	return value;
}

/* The built-in timestamp columns as pseudo-fields for filters and sorting. */
static const struct resource_field builtin_timestamps[] = {
	{ .name = "created_at", .type = RESOURCE_FIELD_TIMESTAMP, .flags = RESOURCE_FIELD_REQUIRED },
	{ .name = "updated_at", .type = RESOURCE_FIELD_TIMESTAMP, .flags = RESOURCE_FIELD_REQUIRED },
	{ .name = NULL },
};

static const struct resource_field *field_or_builtin(const struct resource *resource,
						     const char *name)
{
	for (const struct resource_field *field = builtin_timestamps; field->name; field++)
		if (strcmp(field->name, name) == 0)
			return field;
	return resource_field_find(resource, name);
}

static int add_condition(struct resource_query *query, const char *column, const char *op,
			 json_t *value /* steals */, bool nocase)
{
	if (query->condition_count == RESOURCE_MAX_CONDITIONS) {
		json_decref(value);
		return -1;
	}
	struct resource_condition *condition = &query->conditions[query->condition_count++];
	condition->column = column;
	condition->op = op;
	condition->value = value;
	condition->nocase = nocase;
	return 0;
}

/*
 * Applies one query parameter to `query`. Returns 0, or -1 with `message` set (400).
 * `sort_text`/`cursor_text` receive the sort and cursor parameters for later.
 */
static int apply_param(const struct resource *resource, const struct query_param *param,
		       struct resource_query *query, const char **sort_text,
		       const char **cursor_text, struct buf *message)
{
	const char *name = param->name, *text = param->value;
	if (strcmp(name, "limit") == 0) {
		int64_t limit;
		if (parse_integer(text, &limit) != 0 || limit < 1 || limit > RESOURCE_LIST_LIMIT_MAX) {
			buf_addf(message, "limit must be a number from 1 to %d", RESOURCE_LIST_LIMIT_MAX);
			return -1;
		}
		query->limit = (int)limit;
		return 0;
	}
	if (strcmp(name, "cursor") == 0) {
		*cursor_text = text;
		return 0;
	}
	if (strcmp(name, "sort") == 0) {
		*sort_text = text;
		return 0;
	}
	if (strcmp(name, "q") == 0 && resource->fts_table) {
		json_t *checked = json_string(text);
		if (!checked || utf8_length(text) > RESOURCE_QUERY_TEXT_MAX) {
			json_decref(checked);
			buf_addf(message, "q must be UTF-8 text of at most %d characters",
				 RESOURCE_QUERY_TEXT_MAX);
			return -1;
		}
		json_decref(checked);
		char *trimmed = trimmed_copy(text);
		if (trimmed[0]) {
			query->match = resource_fts_query(trimmed);
			query->match_nothing = query->match == NULL;
		}
		free(trimmed);
		return 0;
	}
	const struct resource_field *tags = NULL;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->type == RESOURCE_FIELD_TAGS)
			tags = field;
	if (strcmp(name, "tag") == 0 && tags) {
		json_t *raw = json_pack("[s?]", text);
		struct field_errors errors = { NULL };
		json_t *normalized = raw ? resource_field_normalize(tags, raw, "tag", &errors) : NULL;
		field_errors_release(&errors);
		json_decref(raw);
		if (!normalized || json_array_size(normalized) != 1) {
			json_decref(normalized);
			buf_addf(message, "tag must be a non-empty tag of at most %d characters",
				 RESOURCE_TAG_MAX_LENGTH);
			return -1;
		}
		query->tag = xstrdup(json_string_value(json_array_get(normalized, 0)));
		json_decref(normalized);
		return 0;
	}
	/* range filters: the built-in updated_since and the resource's own */
	const char *range_field = NULL;
	enum resource_range range = RESOURCE_RANGE_FROM;
	if (strcmp(name, "updated_since") == 0) {
		range_field = "updated_at";
	} else {
		for (const struct resource_range_filter *filter = resource->range_filters;
		     filter && filter->param; filter++) {
			if (strcmp(filter->param, name) == 0) {
				range_field = filter->field;
				range = filter->range;
			}
		}
	}
	if (range_field) {
		const struct resource_field *field = field_or_builtin(resource, range_field);
		if (!field) {
			buf_addf(message, "%s cannot be used", name);
			return -1;
		}
		json_t *value = filter_value(field, text, message);
		if (!value) {
			buf_reset(message);
			buf_addf(message, "%s must be %s", name,
				 field->type == RESOURCE_FIELD_DATE ? "a date such as 2026-11-23"
				 : field->type == RESOURCE_FIELD_TIMESTAMP
					 ? "an RFC 3339 timestamp such as 2026-11-23T16:00:00Z"
					 : "a number");
			return -1;
		}
		static const char *const range_ops[] = {
			[RESOURCE_RANGE_FROM] = ">=", [RESOURCE_RANGE_BEFORE] = "<",
			[RESOURCE_RANGE_TO] = "<=", [RESOURCE_RANGE_AFTER] = ">",
		};
		if (add_condition(query, field->name, range_ops[range], value, false) != 0) {
			buf_adds(message, "too many filters");
			return -1;
		}
		return 0;
	}
	const struct resource_field *field = resource_field_find(resource, name);
	if (field && (field->flags & RESOURCE_FIELD_FILTER)) {
		bool me = field->type == RESOURCE_FIELD_REFERENCE &&
			  strcmp(field->references, "users") == 0 && strcmp(text, "me") == 0;
		json_t *value = me ? json_integer(query->caller_id) : filter_value(field, text, message);
		if (!value)
			return -1;
		if (add_condition(query, field->name, "=", value,
				  (field->flags & RESOURCE_FIELD_NOCASE) != 0) != 0) {
			buf_adds(message, "too many filters");
			return -1;
		}
		return 0;
	}
	buf_adds(message, "unknown query parameter '");
	add_client_name(message, name);
	buf_addch(message, '\'');
	return -1;
}

/* Applies ?sort= (the text is kept for cursors). Returns 0 or -1 with `message`. */
static int apply_sort(const struct resource *resource, const char *text,
		      struct resource_query *query, struct buf *message)
{
	const char *name = text[0] == '-' ? text + 1 : text;
	query->descending = text[0] == '-';
	if (strcmp(name, "id") == 0) {
		query->sort_column = "id";
		return 0;
	}
	const struct resource_field *field = field_or_builtin(resource, name);
	bool builtin = field && (field == &builtin_timestamps[0] || field == &builtin_timestamps[1]);
	if (!field || (!builtin && !(field->flags & RESOURCE_FIELD_SORT))) {
		buf_adds(message, "cannot sort by '");
		add_client_name(message, name);
		buf_addch(message, '\'');
		return -1;
	}
	query->sort_field = field;
	query->sort_column = field->name;
	return 0;
}

/* Whether a cursor's sort value has the type of the sort column. */
static bool cursor_value_fits(const struct resource_query *query, const json_t *value)
{
	const struct resource_field *field = query->sort_field;
	if (!field)
		return true; /* by id: the value is unused */
	if (json_is_null(value))
		return !(field->flags & RESOURCE_FIELD_REQUIRED);
	switch (field->type) {
	case RESOURCE_FIELD_INTEGER:
	case RESOURCE_FIELD_REFERENCE:
		return json_is_integer(value);
	case RESOURCE_FIELD_BOOLEAN:
		return json_is_boolean(value);
	default:
		return json_is_string(value);
	}
}

/*
 * Answers a list page written as text by the store (records answered as stored: no shape
 * hook, no WRITE_ONLY fields): the same bytes as the jansson path of handle_list(), at a
 * fraction of the cost (building a jansson object per row, with the stored tags and custom
 * fields parsed again, was half the instructions of a page: issue 6).
 */
static void send_list_text(struct response *res, struct db *db, const struct resource *resource,
			   const struct resource_query *query, const char *sort_key)
{
	struct resource_page_text page;
	resource_page_text_init(&page);
	int status = resource_store_list_text(db, resource, query, &page);
	if (status != DB_OK) {
		reply_db_status(res, status, resource);
		return;
	}
	struct buf body = BUF_INIT;
	buf_grow(&body, page.rows.len + 64);
	buf_adds(&body, "{\"data\":[");
	buf_add(&body, page.rows.data, page.rows.len);
	buf_adds(&body, "],\"next_cursor\":");
	if (page.more && page.count) {
		char *cursor = cursor_encode(sort_key, page.last_sort_value, page.last_id);
		json_text_add_string(&body, cursor, strlen(cursor));
		free(cursor);
	} else {
		buf_adds(&body, "null");
	}
	buf_addch(&body, '}');
	size_t len;
	char *text = buf_detach(&body, &len);
	response_set_body(res, HTTP_OK, "application/json", text, len);
	resource_page_text_release(&page);
}

static void handle_list(struct request *req, struct response *res)
{
	struct write_context w;
	if (write_context_or_reply(req, res, &w) != 0)
		return;
	const struct resource *resource = w.resource;
	struct resource_query query;
	resource_query_init(&query);
	struct buf message = BUF_INIT;
	struct query_params params = { .count = 0 };
	json_t *rows = NULL;
	request_query_each(req, collect_param, &params);
	if (params.too_many) {
		response_problem(res, HTTP_BAD_REQUEST, "too many query parameters");
		goto cleanup;
	}
	const char *sort_text = NULL, *cursor_text = NULL;
	query.caller_id = w.caller->user_id; /* for ?owner_id=me */
	for (int i = 0; i < params.count; i++) {
		for (int j = 0; j < i; j++) {
			if (strcmp(params.items[i].name, params.items[j].name) == 0) {
				buf_adds(&message, "query parameter '");
				add_client_name(&message, params.items[i].name);
				buf_adds(&message, "' is given twice");
				response_problem(res, HTTP_BAD_REQUEST, message.data);
				goto cleanup;
			}
		}
		if (apply_param(resource, &params.items[i], &query, &sort_text, &cursor_text,
				&message) != 0) {
			response_problem(res, HTTP_BAD_REQUEST, message.data);
			goto cleanup;
		}
	}
	if (sort_text && apply_sort(resource, sort_text, &query, &message) != 0) {
		response_problem(res, HTTP_BAD_REQUEST, message.data);
		goto cleanup;
	}
	const char *sort_key = sort_text ? sort_text : "id";
	if (cursor_text) {
		if (cursor_decode(cursor_text, sort_key, &query.cursor_value, &query.cursor_id) != 0 ||
		    !cursor_value_fits(&query, query.cursor_value)) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "cursor is malformed or was made for another sort");
			goto cleanup;
		}
		query.has_cursor = true;
	}
	query.scope = perm_scope_for(w.db, w.caller, resource->name, PERM_READ);
	if (query.scope == PERM_SCOPE_NONE) {
		response_problemf(res, HTTP_FORBIDDEN, "you may not read %s", resource->name);
		goto cleanup;
	}
	query.caller_id = w.caller->user_id;
	query.caller_team = w.caller->team;
	if (query.match && resource->fts_table && !query.match_nothing) {
		/* rows written since the batch writer's last flush are indexed first */
		int indexed = fts_pending_index_for_search(w.db, resource->fts_table);
		if (indexed != DB_OK) {
			reply_db_status(res, indexed, resource);
			goto cleanup;
		}
	}

	if (resource_answered_as_stored(resource)) {
		send_list_text(res, w.db, resource, &query, sort_key);
		goto cleanup;
	}
	bool more;
	int status = resource_store_list(w.db, resource, &query, &rows, &more);
	if (status != DB_OK) {
		reply_db_status(res, status, resource);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		json_t *last = json_array_get(rows, count - 1);
		const json_t *value = query.sort_field ? json_object_get(last, query.sort_column) : NULL;
		char *cursor = cursor_encode(sort_key, value, record_id(last));
		next = json_string(cursor);
		free(cursor);
	}
	json_t *data = json_array();
	size_t index;
	json_t *row;
	json_array_foreach(rows, index, row)
		json_array_append_new(data, shaped(resource, w.db, row));
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
cleanup:
	json_decref(rows);
	buf_release(&message);
	resource_query_release(&query);
}

/* ================================================================ registration */

void resource_routes_register(struct router *router, const struct resource *resource)
{
	resource_register(resource);
	/* The router keeps pointers to the patterns: they live in static storage. */
	static char patterns[RESOURCE_MAX_RESOURCES][3][128];
	int slot = -1;
	for (int i = 0; i < registered_count; i++)
		if (registered[i] == resource)
			slot = i;
	assert(slot >= 0 && strlen(resource->name) < 64);
	char *list = patterns[slot][0], *one = patterns[slot][1], *external = patterns[slot][2];
	snprintf(list, sizeof(patterns[slot][0]), API_PREFIX "%s", resource->name);
	snprintf(one, sizeof(patterns[slot][1]), API_PREFIX "%s/{id}", resource->name);
	snprintf(external, sizeof(patterns[slot][2]), API_PREFIX "%s/external/{external_id}",
		 resource->name);
	/* The reads share one read transaction with the authentication (db.h). */
	router_add(router, "GET", list, handle_list, ROUTE_READ_SNAPSHOT);
	router_add(router, "POST", list, handle_create, ROUTE_WRITE_BATCH);
	router_add(router, "GET", one, handle_get, ROUTE_READ_SNAPSHOT);
	router_add(router, "PATCH", one, handle_patch, ROUTE_WRITE_BATCH);
	router_add(router, "PUT", one, handle_replace, ROUTE_WRITE_BATCH);
	router_add(router, "DELETE", one, handle_delete, ROUTE_WRITE_BATCH);
	if (resource_field_find(resource, "external_id")) {
		router_add(router, "GET", external, handle_get_external, ROUTE_READ_SNAPSHOT);
		router_add(router, "PUT", external, handle_put_external, ROUTE_WRITE_BATCH);
	}
}
