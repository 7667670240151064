/*
 * api_keys.c - the /api/v1/api-keys routes (api_keys.h): list, create (the key text is
 * answered once), read and revoke API keys. Users manage their own keys; administrators
 * (write scope `all` on users) everybody's. The secret itself comes from auth_key_create()
 * (random, stored only as a hash, audited); the SQL is in api_keys_store.c and
 * auth_store.c. Administrators may give a new key its own rate limit (ratelimit.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/api_keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/auth_store.h"
#include "crm/credentials.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/perm.h"
#include "crm/ratelimit.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

/* Administrators manage every user's keys: the same test as for the users routes. */
static bool caller_is_admin(struct db *db, const struct request *req)
{
	return perm_scope_for(db, req->auth, "users", PERM_WRITE) == PERM_SCOPE_ALL;
}

/* Store failures of the key routes: the one mapping, with the keys' own wording. */
static void reply_db_error(struct response *res, int status)
{
	if (status == DB_CONFLICT)
		response_problem(res, HTTP_CONFLICT, "the API key is revoked already");
	else
		db_status_reply(res, status, "API key");
}

/* A positive decimal id of at most 18 digits; 0 when `text` is not one. */
static int64_t parse_id(const char *text)
{
	if (!text || !*text || *text == '0' || strlen(text) > 18)
		return 0;
	int64_t value = 0;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		value = value * 10 + (*p - '0');
	}
	return value;
}

/* Text as JSON (null for NULL); text that is not UTF-8 (a name given to crmctl in another
 * encoding) becomes U+FFFD rather than breaking the answer. */
static json_t *text_or_null(const char *text)
{
	if (!text)
		return json_null();
	json_t *value = json_string(text);
	return value ? value : json_string("\xEF\xBF\xBD");
}

/* The key as the API shows it (new reference): never its hash, never the key text. */
static json_t *key_to_json(const struct api_key_info *key)
{
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	const char *status = "active";
	if (key->revoked_at)
		status = "revoked";
	else if (key->expires_at && strcmp(key->expires_at, now) <= 0)
		status = "expired";
	json_t *value = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:s}",
				  "id", (json_int_t)key->id, "user_id", (json_int_t)key->user_id,
				  "user_name", text_or_null(key->user_name), "user_email",
				  text_or_null(key->user_email), "name", text_or_null(key->name),
				  "prefix", text_or_null(key->prefix), "read_only", key->read_only,
				  "created_at", text_or_null(key->created_at), "expires_at",
				  text_or_null(key->expires_at), "revoked_at",
				  text_or_null(key->revoked_at), "last_used_at",
				  text_or_null(key->last_used_at), "status", status);
	json_object_set_new(value, "rate_per_minute",
			    key->rate_per_minute > 0 ? json_integer(key->rate_per_minute) : json_null());
	json_object_set_new(value, "rate_burst",
			    key->rate_burst > 0 ? json_integer(key->rate_burst) : json_null());
	return value;
}

/* ---------------------------------------------------------------- reading */

/* What a read of one key keeps: the JSON and whose key it is. */
struct key_read {
	json_t *json;
	int64_t user_id;
};

static int read_visit(void *context, const struct api_key_info *key)
{
	struct key_read *read = context;
	read->json = key_to_json(key);
	read->user_id = key->user_id;
	return 0;
}

/*
 * Reads key `id` for the caller: DB_OK with read->json set (the caller decrefs), or
 * DB_NOT_FOUND also when the key is someone else's and the caller no administrator.
 */
static int read_visible_key(struct db *db, const struct request *req, int64_t id,
			    struct key_read *read)
{
	read->json = NULL;
	read->user_id = 0;
	int status = id ? api_keys_store_get(db, id, read_visit, read) : DB_NOT_FOUND;
	if (status != DB_OK)
		return status;
	if (read->user_id != req->auth->user_id && !caller_is_admin(db, req)) {
		json_decref(read->json);
		read->json = NULL;
		return DB_NOT_FOUND;
	}
	return DB_OK;
}

struct list_state {
	json_t *data;
	int limit;
	int seen;
	int64_t last_id;
};

static int list_visit(void *context, const struct api_key_info *key)
{
	struct list_state *state = context;
	state->seen++;
	if (state->seen > state->limit)
		return 1; /* the extra row only says that there is a next page */
	json_array_append_new(state->data, key_to_json(key));
	state->last_id = key->id;
	return 0;
}

struct list_parameters {
	const char *limit, *cursor, *user_id;
	char error[160];
};

static int visit_list_parameter(void *context, const char *name, const char *value)
{
	struct list_parameters *parameters = context;
	const char **slot = NULL;
	if (strcmp(name, "limit") == 0)
		slot = &parameters->limit;
	else if (strcmp(name, "cursor") == 0)
		slot = &parameters->cursor;
	else if (strcmp(name, "user_id") == 0)
		slot = &parameters->user_id;
	if (!slot) {
		snprintf(parameters->error, sizeof(parameters->error),
			 "unknown query parameter '%.60s'", name);
		return 1;
	}
	if (*slot) {
		snprintf(parameters->error, sizeof(parameters->error),
			 "query parameter %s is repeated", name);
		return 1;
	}
	*slot = value ? value : "";
	return 0;
}

static void handle_list(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct list_parameters parameters = { 0 };
	if (request_query_each(req, visit_list_parameter, &parameters)) {
		response_problem(res, HTTP_BAD_REQUEST, parameters.error);
		return;
	}
	struct api_keys_query query = { .limit = LIST_LIMIT_DEFAULT };
	if (parameters.limit) {
		char *end;
		errno = 0;
		long value = strtol(parameters.limit, &end, 10);
		if (errno || !*parameters.limit || *end || value < 1 || value > LIST_LIMIT_MAX) {
			response_problemf(res, HTTP_BAD_REQUEST, "limit must be a number from 1 to %d",
					  LIST_LIMIT_MAX);
			return;
		}
		query.limit = (int)value;
	}
	bool admin = caller_is_admin(db, req);
	if (parameters.user_id) {
		int64_t user_id = strcmp(parameters.user_id, "me") == 0 ? req->auth->user_id
									 : parse_id(parameters.user_id);
		if (!user_id) {
			response_problem(res, HTTP_BAD_REQUEST, "user_id must be a user id or me");
			return;
		}
		if (user_id != req->auth->user_id && !admin) {
			response_problem(res, HTTP_FORBIDDEN,
					 "only administrators see other users' API keys");
			return;
		}
		query.user_id = user_id;
	} else if (!admin) {
		query.user_id = req->auth->user_id;
	}
	if (parameters.cursor) {
		json_t *after_value = NULL;
		int64_t after_id = 0;
		int decoded = cursor_decode(parameters.cursor, "id", &after_value, &after_id);
		json_decref(after_value);
		if (decoded != 0 || after_id < 0) {
			response_problem(res, HTTP_BAD_REQUEST, "invalid cursor");
			return;
		}
		query.after_id = after_id;
	}
	struct list_state state = { .data = json_array(), .limit = query.limit };
	query.limit++;
	int status = api_keys_store_list(db, &query, list_visit, &state);
	if (status != DB_OK) {
		json_decref(state.data);
		reply_db_error(res, status);
		return;
	}
	json_t *next = json_null();
	if (state.seen > state.limit) {
		json_t *value = json_integer(state.last_id);
		char *text = cursor_encode("id", value, state.last_id);
		json_decref(value);
		next = json_string(text);
		free(text);
	}
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", state.data, "next_cursor", next));
}

static void handle_get(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct key_read read;
	int status = read_visible_key(db, req, parse_id(req->path_params[0]), &read);
	if (status != DB_OK) {
		reply_db_error(res, status);
		return;
	}
	response_json(res, HTTP_OK, read.json);
}

/* ---------------------------------------------------------------- create */

/* What a create body asks for; `name` borrows from the body. */
struct key_input {
	const char *name;
	bool read_only;
	int expires_days; /* 0: never expires */
	int64_t user_id;  /* 0: the caller */
	struct ratelimit_limit limit; /* the key's own rate limit (0: inherited) */
	bool sets_limit;              /* the body names rate_per_minute or rate_burst */
};

static bool is_read_only_field(const char *key)
{
	static const char *const fields[] = { "id",         "prefix",     "key",
					      "created_at", "expires_at", "revoked_at",
					      "last_used_at", "status",   "user_name",
					      "user_email", NULL };
	for (int i = 0; fields[i]; i++)
		if (strcmp(fields[i], key) == 0)
			return true;
	return false;
}

static void parse_name(struct field_errors *errors, json_t *value, struct key_input *input)
{
	if (!json_is_string(value)) {
		field_errors_add(errors, "name", "must be a string");
		return;
	}
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	if (len != strlen(text)) {
		field_errors_add(errors, "name", "must not contain NUL characters");
	} else if (text[strspn(text, " \t")] == '\0') {
		field_errors_add(errors, "name", "must not be empty");
	} else if (len > API_KEYS_NAME_MAX) {
		field_errors_add(errors, "name", "at most %d bytes", API_KEYS_NAME_MAX);
	} else {
		for (const char *p = text; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				field_errors_add(errors, "name", "must not contain control characters");
				return;
			}
		}
		input->name = text;
	}
}

/* rate_per_minute and rate_burst: 1..RATELIMIT_MAX, or null (inherited from the role). */
static void parse_rate_field(struct field_errors *errors, const char *key, json_t *value,
			     struct key_input *input)
{
	input->sets_limit = true;
	if (json_is_null(value))
		return;
	json_int_t number = json_is_integer(value) ? json_integer_value(value) : 0;
	if (number < 1 || number > RATELIMIT_MAX) {
		field_errors_add(errors, key, "must be a whole number from 1 to %d, or null",
				 RATELIMIT_MAX);
		return;
	}
	if (strcmp(key, "rate_per_minute") == 0)
		input->limit.per_minute = (int)number;
	else
		input->limit.burst = (int)number;
}

static void key_input_parse(json_t *body, struct field_errors *errors, struct key_input *input)
{
	memset(input, 0, sizeof(*input));
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		if (strcmp(key, "name") == 0) {
			parse_name(errors, value, input);
		} else if (strcmp(key, "read_only") == 0) {
			if (json_is_boolean(value))
				input->read_only = json_is_true(value);
			else if (!json_is_null(value))
				field_errors_add(errors, key, "must be true or false");
		} else if (strcmp(key, "expires_days") == 0) {
			if (json_is_null(value))
				continue;
			json_int_t days = json_is_integer(value) ? json_integer_value(value) : 0;
			if (days < 1 || days > API_KEYS_EXPIRES_DAYS_MAX)
				field_errors_add(errors, key,
						 "must be a whole number of days from 1 to %d, or null",
						 API_KEYS_EXPIRES_DAYS_MAX);
			else
				input->expires_days = (int)days;
		} else if (strcmp(key, "user_id") == 0) {
			if (json_is_null(value))
				continue;
			json_int_t id = json_is_integer(value) ? json_integer_value(value) : 0;
			if (id < 1)
				field_errors_add(errors, key, "must be a user id");
			else
				input->user_id = id;
		} else if (strcmp(key, "rate_per_minute") == 0 || strcmp(key, "rate_burst") == 0) {
			parse_rate_field(errors, key, value, input);
		} else if (is_read_only_field(key)) {
			field_errors_add(errors, key, "read-only field");
		} else {
			field_errors_add(errors, key, "unknown field");
		}
	}
	if (!json_object_get(body, "name"))
		field_errors_add(errors, "name", "required");
}

/*
 * Checks the key's user: the caller, or (administrators) another enabled user. Returns 0,
 * or -1 after answering.
 */
static int check_key_user(struct db *db, struct request *req, struct response *res,
			  struct field_errors *errors, struct key_input *input)
{
	if (!input->user_id || input->user_id == req->auth->user_id) {
		input->user_id = req->auth->user_id;
		return 0;
	}
	if (!caller_is_admin(db, req)) {
		response_problem(res, HTTP_FORBIDDEN,
				 "only administrators create API keys for other users");
		return -1;
	}
	struct user user;
	int status = users_store_get(db, input->user_id, &user);
	if (status == DB_NOT_FOUND) {
		field_errors_add(errors, "user_id", "no such user");
	} else if (status != DB_OK) {
		reply_db_error(res, status);
		return -1;
	} else if (user.disabled) {
		field_errors_add(errors, "user_id", "the user is disabled");
	}
	return 0;
}

static void handle_create(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (req->auth->method != AUTH_METHOD_SESSION) {
		response_problem(res, HTTP_FORBIDDEN,
				 "API keys are created in a browser session or with crmctl key create, "
				 "not with another key");
		return;
	}
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { 0 };
	struct key_input input;
	key_input_parse(body, &errors, &input);
	if (check_key_user(db, req, res, &errors, &input) != 0)
		goto cleanup;
	if (input.sets_limit && !caller_is_admin(db, req)) {
		response_problem(res, HTTP_FORBIDDEN, "only administrators set rate limits");
		goto cleanup;
	}
	if (field_errors_any(&errors)) {
		field_errors_reply(&errors, res);
		goto cleanup;
	}
	char expires_at[TIME_RFC3339_SIZE];
	if (input.expires_days)
		time_format_rfc3339(time(NULL) + (time_t)input.expires_days * 86400, expires_at);
	char key[AUTH_KEY_TEXT_SIZE];
	int64_t id = 0;
	int status = auth_key_create(db, input.user_id, input.name, input.read_only,
				     input.expires_days ? expires_at : NULL, req->auth->user_id,
				     AUDIT_ACTOR_API, key, &id);
	if (status == DB_OK && input.sets_limit &&
	    (status = ratelimit_key_limit(db, id, &input.limit, req->auth->user_id,
					  AUDIT_ACTOR_API)) != DB_OK)
		credentials_key_revoke(db, id, req->auth->user_id, AUDIT_ACTOR_API); /* unusable */
	struct key_read read = { NULL, 0 };
	if (status == DB_OK)
		status = api_keys_store_get(db, id, read_visit, &read);
	if (status != DB_OK) {
		reply_db_error(res, status == DB_NOT_FOUND ? DB_ERROR : status);
	} else {
		json_object_set_new(read.json, "key", json_string(key));
		char location[64];
		snprintf(location, sizeof(location), "/api/v1/api-keys/%lld", (long long)id);
		response_set_header(res, "Location", location);
		response_set_header(res, "Cache-Control", "no-store");
		response_json(res, HTTP_CREATED, read.json);
	}
	sodium_memzero(key, sizeof(key));
cleanup:
	field_errors_release(&errors);
	json_decref(body);
}

/* ---------------------------------------------------------------- revoke */

static void handle_delete(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int64_t id = parse_id(req->path_params[0]);
	struct key_read read;
	int status = read_visible_key(db, req, id, &read);
	if (status == DB_OK) {
		json_decref(read.json);
		status = credentials_key_revoke(db, id, req->auth->user_id, AUDIT_ACTOR_API);
	}
	if (status != DB_OK) {
		reply_db_error(res, status);
		return;
	}
	response_set_static_body(res, HTTP_NO_CONTENT, "application/json", "", 0);
}

void api_keys_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/api-keys", handle_list, 0);
	router_add(router, "POST", "/api/v1/api-keys", handle_create, 0);
	router_add(router, "GET", "/api/v1/api-keys/{id}", handle_get, 0);
	router_add(router, "DELETE", "/api/v1/api-keys/{id}", handle_delete, 0);
}
