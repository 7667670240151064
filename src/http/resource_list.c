/*
 * resource_list.c - GET /api/v1/<resource>: the list parameters of resource.h ("Lists":
 * filters, ranges, q, tag, sort, cursor, limit) turned into a resource_query, run by the
 * store, and answered as a page with next_cursor.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/fts_pending.h"
#include "crm/reply.h"
#include "crm/resource_store.h"
#include "http/resource_http_int.h"
#include "crm/banned.h"

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
/* ?q=: full-text search words. Returns 0, or -1 with `message`. */
static int apply_search(struct resource_query *query, const char *text, struct buf *message)
{
	json_t *checked = json_string(text);
	if (!checked || resource_utf8_length(text) > RESOURCE_QUERY_TEXT_MAX) {
		json_decref(checked);
		buf_addf(message, "q must be UTF-8 text of at most %d characters",
			 RESOURCE_QUERY_TEXT_MAX);
		return -1;
	}
	json_decref(checked);
	char *trimmed = resource_trimmed_copy(text);
	if (trimmed[0]) {
		query->match = resource_fts_query(trimmed);
		query->match_nothing = query->match == NULL;
	}
	free(trimmed);
	return 0;
}

/* ?tag=: one tag of the TAGS field `tags`. Returns 0, or -1 with `message`. */
static int apply_tag(const struct resource_field *tags, struct resource_query *query,
		     const char *text, struct buf *message)
{
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

/*
 * A range filter: the built-in updated_since and the resource's own. Returns 1 when `name`
 * is none, 0 when applied, -1 with `message`.
 */
static int apply_range(const struct resource *resource, struct resource_query *query,
		       const char *name, const char *text, struct buf *message)
{
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
	if (!range_field)
		return 1;
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

/* ?<field>=value on a FILTER field (`me` for a user reference). 0, or -1 with `message`. */
static int apply_equality(const struct resource_field *field, struct resource_query *query,
			  const char *text, struct buf *message)
{
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

/* The resource's TAGS field, or NULL. */
static const struct resource_field *tags_field(const struct resource *resource)
{
	const struct resource_field *tags = NULL;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->type == RESOURCE_FIELD_TAGS)
			tags = field;
	return tags;
}

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
	if (strcmp(name, "q") == 0 && resource->fts_table)
		return apply_search(query, text, message);
	const struct resource_field *tags = tags_field(resource);
	if (strcmp(name, "tag") == 0 && tags)
		return apply_tag(tags, query, text, message);
	int ranged = apply_range(resource, query, name, text, message);
	if (ranged <= 0)
		return ranged;
	const struct resource_field *field = resource_field_find(resource, name);
	if (field && (field->flags & RESOURCE_FIELD_FILTER))
		return apply_equality(field, query, text, message);
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
 * hook, no WRITE_ONLY fields): the same bytes as the jansson path of resource_http_handle_list(), at a
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
		db_status_reply(res, status, resource->singular);
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

void resource_http_handle_list(struct request *req, struct response *res)
{
	struct resource_http_context w;
	if (resource_http_context_or_reply(req, res, &w) != 0)
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
			db_status_reply(res, indexed, resource->singular);
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
		db_status_reply(res, status, resource->singular);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		json_t *last = json_array_get(rows, count - 1);
		const json_t *value = query.sort_field ? json_object_get(last, query.sort_column) : NULL;
		char *cursor = cursor_encode(sort_key, value, resource_record_id(last));
		next = json_string(cursor);
		free(cursor);
	}
	json_t *data = json_array();
	size_t index;
	json_t *row;
	json_array_foreach(rows, index, row)
		json_array_append_new(data, resource_http_shaped(resource, w.db, row));
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
cleanup:
	json_decref(rows);
	buf_release(&message);
	resource_query_release(&query);
}

