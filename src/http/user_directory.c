/*
 * user_directory.c - GET /api/v1/users/directory (user_directory.h): every user's id,
 * name and team for any authenticated caller. The data layer is users_store_list()
 * (users_store.c), read in pages by name so that no single statement holds many rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/user_directory.h"

#include <jansson.h>
#include <string.h>

#include "crm/app.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/router.h"
#include "crm/users.h"
#include "crm/banned.h"

#define DIRECTORY_BATCH 500

struct directory_state {
	json_t *data;
	int seen;               /* users seen in this batch */
	struct user last;       /* the last one, for the next batch's keyset */
};

/* Text as JSON; text that is not UTF-8 (given to crmctl in another encoding) becomes
 * U+FFFD rather than breaking the answer. */
static json_t *text_json(const char *text)
{
	json_t *value = json_string(text);
	return value ? value : json_string("\xEF\xBF\xBD");
}

static int directory_visit(void *context, const struct user *user)
{
	struct directory_state *state = context;
	state->seen++;
	state->last = *user;
	json_array_append_new(state->data,
			      json_pack("{s:I, s:o, s:o, s:b}", "id", (json_int_t)user->id, "name",
					text_json(user->name), "team",
					user->has_team && user->team[0] ? text_json(user->team)
									: json_null(),
					"disabled", user->disabled));
	return 0;
}

static int reject_parameter(void *context, const char *name, const char *value)
{
	(void)value;
	*(const char **)context = name;
	return 1;
}

static void handle_directory(struct request *req, struct response *res)
{
	const char *unknown = NULL;
	if (request_query_each(req, reject_parameter, &unknown)) {
		response_problemf(res, HTTP_BAD_REQUEST, "unknown query parameter '%.60s'", unknown);
		return;
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct directory_state state = { .data = json_array() };
	json_t *after_value = NULL;
	struct users_query query = { .sort = "name", .disabled = -1, .limit = DIRECTORY_BATCH };
	int status = db_begin_read(db); /* one snapshot across the batches */
	while (status == DB_OK) {
		state.seen = 0;
		status = users_store_list(db, &query, directory_visit, &state);
		if (status != DB_OK || state.seen < DIRECTORY_BATCH)
			break;
		json_decref(after_value);
		after_value = json_string(state.last.name);
		query.has_after = true;
		query.after_value = after_value;
		query.after_id = state.last.id;
	}
	json_decref(after_value);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		json_decref(state.data);
		db_status_reply(res, status, NULL);
		return;
	}
	response_json(res, HTTP_OK, json_pack("{s:o}", "data", state.data));
}

void user_directory_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/users/directory", handle_directory, 0);
}
