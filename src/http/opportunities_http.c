/*
 * opportunities_http.c - the routes of opportunities: the generic ones of the descriptor
 * (src/core/opportunities.c) and GET /api/v1/opportunities/{id}/stages, the stage history.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/opportunities.h"

#include <stdlib.h>

#include "crm/app.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/operations.h"
#include "crm/reply.h"
#include "crm/resource_http.h"
#include "crm/router.h"
#include "crm/banned.h"

#define STAGES_CURSOR_SORT "stages"

/* GET /api/v1/opportunities/{id}/stages: the stage history, oldest first, paged. */
static void handle_stages(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	int limit;
	int64_t after_id = 0;
	if (operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &limit) != 0)
		return;
	if (values[1]) {
		json_t *ignored = NULL;
		int decoded = cursor_decode(values[1], STAGES_CURSOR_SORT, &ignored, &after_id);
		json_decref(ignored);
		if (decoded != 0 || after_id < 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	json_t *opportunity = NULL, *rows = NULL;
	if (resource_read_or_reply(&opportunities_resource, req, res, req->path_params[0],
				   &opportunity) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	bool more;
	int status = operations_store_stage_changes(
		db, json_integer_value(json_object_get(opportunity, "id")), after_id, limit, &rows,
		&more);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		char *cursor = cursor_encode(
			STAGES_CURSOR_SORT, NULL,
			json_integer_value(json_object_get(json_array_get(rows, count - 1), "id")));
		next = json_string(cursor);
		free(cursor);
	}
	response_json(res, HTTP_OK, json_pack("{s:O, s:o}", "data", rows, "next_cursor", next));
cleanup:
	json_decref(rows);
	json_decref(opportunity);
}

void opportunities_routes_register(struct router *router)
{
	resource_routes_register(router, &opportunities_resource);
	router_add(router, "GET", "/api/v1/opportunities/{id}/stages", handle_stages, 0);
}
