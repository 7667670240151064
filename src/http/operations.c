/*
 * operations.c - query-parameter parsing for the operational sub-routes (stage history,
 * pipeline, timeline), with the same rules as the generic lists (resource.h): unknown and
 * repeated parameters are a 400, limit is 1-500.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/operations.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crm/auth.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/resource.h"
#include "crm/banned.h"

struct param_reader {
	const char *const *names;
	const char **values;
	const char *bad;     /* the first unknown or repeated name */
	bool repeated;
};

static int read_param(void *context, const char *name, const char *value)
{
	struct param_reader *reader = context;
	if (!name || !name[0]) /* "?a=1&&b=2": nothing asked */
		return 0;
	for (int i = 0; reader->names[i]; i++) {
		if (strcmp(reader->names[i], name) != 0)
			continue;
		if (reader->values[i]) {
			reader->bad = name;
			reader->repeated = true;
			return 1;
		}
		reader->values[i] = value ? value : "";
		return 0;
	}
	reader->bad = name;
	return 1;
}

int operations_params_or_reply(struct request *req, struct response *res,
			       const char *const *names, const char **values)
{
	int count = 0;
	while (names[count])
		values[count++] = NULL;
	assert(count <= OPERATIONS_MAX_PARAMS);
	struct param_reader reader = { names, values, NULL, false };
	request_query_each(req, read_param, &reader);
	if (reader.bad) {
		response_problemf(res, HTTP_BAD_REQUEST,
				  reader.repeated ? "query parameter '%.64s' is given twice"
						  : "unknown query parameter '%.64s'",
				  reader.bad);
		return -1;
	}
	return 0;
}

/* A whole decimal number without sign, at most 18 digits. Returns 0 or -1. */
static int parse_count(const char *text, int64_t *out)
{
	size_t len = strlen(text);
	if (len == 0 || len > 18 || strspn(text, "0123456789") != len)
		return -1;
	errno = 0;
	long long value = strtoll(text, NULL, 10);
	if (errno)
		return -1;
	*out = value;
	return 0;
}

int operations_limit_or_reply(struct response *res, const char *text, int *limit)
{
	*limit = RESOURCE_LIST_LIMIT_DEFAULT;
	if (!text)
		return 0;
	int64_t value;
	if (parse_count(text, &value) != 0 || value < 1 || value > RESOURCE_LIST_LIMIT_MAX) {
		response_problemf(res, HTTP_BAD_REQUEST, "limit must be a number from 1 to %d",
				  RESOURCE_LIST_LIMIT_MAX);
		return -1;
	}
	*limit = (int)value;
	return 0;
}

int operations_user_param_or_reply(struct response *res, const struct auth_context *caller,
				   const char *name, const char *text, int64_t *user_id)
{
	if (strcmp(text, "me") == 0) {
		*user_id = caller->user_id;
		return 0;
	}
	int64_t value;
	if (parse_count(text, &value) != 0 || value < 1) {
		response_problemf(res, HTTP_BAD_REQUEST, "%s must be a user id or me", name);
		return -1;
	}
	*user_id = value;
	return 0;
}

void operations_reply_db_status(struct response *res, int status)
{
	db_status_reply(res, status, NULL);
}
