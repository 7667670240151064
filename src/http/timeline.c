/*
 * timeline.c - GET /api/v1/contacts/{id}/timeline (timeline.h): the page of (type, id, at)
 * comes from one keyset query of the data layer (operations_store.c); each item's record
 * is then loaded through the resources' stores, all in one read transaction so that the
 * page is consistent, and the answer is written as JSON text (records answered as stored
 * come as text straight from their row, as for GET by id).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/timeline.h"
#include "crm/resource_save.h"
#include "crm/resource_http.h"
#include "crm/resource_store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/interactions.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/operations.h"
#include "crm/opportunities.h"
#include "crm/purchases.h"
#include "crm/router.h"
#include "crm/tasks.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define TIMELINE_CURSOR_SORT "timeline"

/* The resource behind an item type, or NULL (stage_change has none). */
static const struct resource *resource_of_type(const char *type)
{
	if (strcmp(type, "interaction") == 0)
		return &interactions_resource;
	if (strcmp(type, "opportunity") == 0)
		return &opportunities_resource;
	if (strcmp(type, "purchase") == 0)
		return &purchases_resource;
	if (strcmp(type, "task") == 0)
		return &tasks_resource;
	return NULL;
}

static bool type_known(const char *type)
{
	return resource_of_type(type) || strcmp(type, "stage_change") == 0;
}

/*
 * A cursor holds the last item's at and type ("<at> <type>") and id. Decodes `text` into
 * the caller's buffers. Returns 0, or -1 when malformed.
 */
static int timeline_cursor_decode(const char *text, char at[TIME_RFC3339_SIZE],
				  char type[OPERATIONS_TIMELINE_TYPE_MAX], int64_t *id)
{
	json_t *value = NULL;
	int result = -1;
	if (cursor_decode(text, TIMELINE_CURSOR_SORT, &value, id) != 0 || !json_is_string(value) ||
	    *id <= 0)
		goto cleanup;
	const char *joined = json_string_value(value);
	const char *space = strchr(joined, ' ');
	if (!space || (size_t)(space - joined) >= TIME_RFC3339_SIZE ||
	    strlen(space + 1) >= OPERATIONS_TIMELINE_TYPE_MAX)
		goto cleanup;
	memcpy(at, joined, (size_t)(space - joined));
	at[space - joined] = '\0';
	memcpy(type, space + 1, strlen(space + 1) + 1);
	time_t ignored;
	if (!time_parse_rfc3339(at, false, &ignored) || !type_known(type))
		goto cleanup;
	result = 0;
cleanup:
	json_decref(value);
	return result;
}

/* The cursor after `item` (borrowed). The caller frees it. */
static char *timeline_cursor_encode(const json_t *item)
{
	struct buf joined = BUF_INIT;
	buf_addf(&joined, "%s %s", json_string_value(json_object_get(item, "at")),
		 json_string_value(json_object_get(item, "type")));
	json_t *value = json_string(joined.data);
	char *cursor = cursor_encode(TIMELINE_CURSOR_SORT, value,
				     json_integer_value(json_object_get(item, "id")));
	json_decref(value);
	buf_release(&joined);
	return cursor;
}

/*
 * Appends the record of an item as JSON text: straight from the row when its resource is
 * answered as stored, else through the record as GET shows it (resource_record_public).
 * Returns DB_OK, DB_NOT_FOUND (gone: cannot be, inside the read transaction) or an error.
 */
static int add_record_text(struct db *db, const char *type, int64_t id, struct buf *out)
{
	const struct resource *resource = resource_of_type(type);
	if (resource && resource_answered_as_stored(resource)) {
		struct resource_record_text record;
		resource_record_text_init(&record);
		int status = resource_store_get_text(db, resource, id, &record);
		if (status == DB_OK)
			buf_add(out, record.text.data, record.text.len);
		resource_record_text_release(&record);
		return status;
	}
	json_t *record = NULL;
	int status = resource ? resource_store_get(db, resource, id, &record)
			      : operations_store_stage_change_get(db, id, &record);
	if (status != DB_OK)
		return status;
	json_t *answered = resource ? resource_record_public(db, resource, record) : json_incref(record);
	json_text_add_value(out, answered);
	json_decref(answered);
	json_decref(record);
	return DB_OK;
}

/*
 * The answer {"data":[{"type","id","at","record"}...],"next_cursor"} written as text from
 * the page of items (borrowed array of {"type","id","at"}), each with its record. Returns a
 * db_status.
 */
static int timeline_text(struct db *db, const json_t *items, bool more, struct buf *out)
{
	buf_adds(out, "{\"data\":[");
	const json_t *last = NULL;
	size_t index;
	const json_t *item;
	json_array_foreach(items, index, item) {
		const char *type = json_string_value(json_object_get(item, "type"));
		int64_t id = json_integer_value(json_object_get(item, "id"));
		const char *at = json_string_value(json_object_get(item, "at"));
		size_t mark = out->len;
		buf_adds(out, last ? ",{\"type\":" : "{\"type\":");
		json_text_add_string(out, type, strlen(type));
		buf_adds(out, ",\"id\":");
		json_text_add_integer(out, id);
		buf_adds(out, ",\"at\":");
		json_text_add_string(out, at, strlen(at));
		buf_adds(out, ",\"record\":");
		int status = add_record_text(db, type, id, out);
		if (status == DB_NOT_FOUND) {
			out->len = mark; /* dropped */
			out->data[mark] = '\0';
			continue;
		}
		if (status != DB_OK)
			return status;
		buf_addch(out, '}');
		last = item;
	}
	buf_adds(out, "],\"next_cursor\":");
	if (more && last) {
		char *cursor = timeline_cursor_encode(last);
		json_text_add_string(out, cursor, strlen(cursor));
		free(cursor);
	} else {
		buf_adds(out, "null");
	}
	buf_addch(out, '}');
	return DB_OK;
}

static void set_scope(struct db *db, const struct auth_context *caller, const char *resource,
		      struct operations_scope *scope)
{
	scope->scope = perm_scope_for(db, caller, resource, PERM_READ);
	scope->caller_id = caller->user_id;
	scope->caller_team = caller->team;
}

static void handle_timeline(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	struct operations_timeline_query query = { .has_cursor = false };
	char cursor_at[TIME_RFC3339_SIZE], cursor_type[OPERATIONS_TIMELINE_TYPE_MAX];
	if (operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &query.limit) != 0)
		return;
	if (values[1]) {
		if (timeline_cursor_decode(values[1], cursor_at, cursor_type, &query.cursor_id) != 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
		query.has_cursor = true;
		query.cursor_at = cursor_at;
		query.cursor_type = cursor_type;
	}
	json_t *contact = NULL, *items = NULL;
	if (resource_read_or_reply(&contacts_resource, req, res, req->path_params[0], &contact) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	const struct auth_context *caller = req->auth;
	query.contact_id = json_integer_value(json_object_get(contact, "id"));
	set_scope(db, caller, "interactions", &query.interactions);
	set_scope(db, caller, "opportunities", &query.opportunities);
	set_scope(db, caller, "tasks", &query.tasks);
	/* a purchase belongs to the contact's owner */
	query.purchases = perm_scope_covers(db, perm_scope_for(db, caller, "purchases", PERM_READ),
					    caller,
					    resource_record_owner_lookup(db, &contacts_resource, contact));

	int status = db_begin_read(db);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		goto cleanup;
	}
	bool more;
	struct buf body = BUF_INIT;
	status = operations_store_timeline(db, &query, &items, &more);
	if (status == DB_OK)
		status = timeline_text(db, items, more, &body);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		buf_release(&body);
		operations_reply_db_status(res, status == DB_NOT_FOUND ? DB_ERROR : status);
		goto cleanup;
	}
	size_t len;
	char *text = buf_detach(&body, &len);
	response_set_body(res, HTTP_OK, "application/json", text, len);
cleanup:
	json_decref(items);
	json_decref(contact);
}

void timeline_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/contacts/{id}/timeline", handle_timeline, 0);
}
