/*
 * users.c - the /api/v1/users routes: list (keyset-paged), create, read with ETag, and
 * change as a JSON merge patch honouring If-Match. Only callers whose role has scope
 * `all` on resource `users` (admins by default) get in; others get 403.
 *
 * Handlers validate and shape JSON; the SQL is in users_store.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/users.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/perm.h"
#include "crm/roles.h"
#include "crm/router.h"
#include "crm/banned.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

/* 403 unless the caller may `action` all users. */
static bool users_allowed_or_reply(struct db *db, struct request *req, struct response *res,
				   enum perm_action action)
{
	if (perm_scope_for(db, req->auth, "users", action) == PERM_SCOPE_ALL)
		return true;
	response_problem(res, HTTP_FORBIDDEN, "only administrators manage users");
	return false;
}

/* Store failures of the user routes: the one mapping, with the users' own wording. */
static void reply_db_error(struct response *res, int status)
{
	switch (status) {
	case DB_CONFLICT:
		response_problem_errors(
			res, HTTP_CONFLICT, "a user with this email exists already",
			json_pack("[{s:s, s:s}]", "field", "email", "message", "already in use"));
		break;
	case DB_STALE:
		response_problem(res, HTTP_PRECONDITION_FAILED,
				 "the user has changed since you read it (If-Match does not match)");
		break;
	case DB_INVALID:
		response_problem_errors(
			res, HTTP_UNPROCESSABLE, "role: no such role",
			json_pack("[{s:s, s:s}]", "field", "role", "message", "no such role"));
		break;
	default:
		db_status_reply(res, status, "user");
		break;
	}
}

/* Parses a positive id from the path; 0 when it is not one. */
static int64_t path_id(const struct request *req)
{
	const char *text = req->path_param_count > 0 ? req->path_params[0] : NULL;
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

static void set_etag(struct response *res, int64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	response_set_header(res, "ETag", etag);
}

/*
 * The version an If-Match header asks for: 0 when there is none or it is "*", -1 when it
 * names no version of ours (then nothing matches).
 */
static int64_t if_match_version(const struct request *req)
{
	const char *header = request_header(req, "If-Match");
	if (!header)
		return 0;
	while (*header == ' ')
		header++;
	if (strcmp(header, "*") == 0)
		return 0;
	if (strncmp(header, "W/", 2) == 0)
		header += 2;
	if (*header != '"')
		return -1;
	char *end;
	errno = 0;
	long long version = strtoll(header + 1, &end, 10);
	if (errno || end == header + 1 || *end != '"' || version <= 0)
		return -1;
	return version;
}

/* ---------------------------------------------------------------- body validation */

/* Holds what a body asks for; strings borrow from the parsed body or own `password_hash`. */
struct user_input {
	struct user_change change;
	const char *password; /* plain text from the body, to hash; NULL: none given */
	bool clear_password;
	char password_hash[128];
};

static bool is_read_only_field(const char *key)
{
	return strcmp(key, "id") == 0 || strcmp(key, "created_at") == 0 ||
	       strcmp(key, "updated_at") == 0 || strcmp(key, "version") == 0 ||
	       strcmp(key, "has_password") == 0;
}

/* A string field: NULL on a wrong type (with an error); "cannot be cleared" for null. */
static const char *string_field(struct field_errors *errors, const char *key, json_t *value,
				size_t max, bool nullable)
{
	if (json_is_null(value)) {
		if (!nullable)
			field_errors_add(errors, key, "cannot be null");
		return NULL;
	}
	if (!json_is_string(value)) {
		field_errors_add(errors, key, "must be a string");
		return NULL;
	}
	const char *text = json_string_value(value);
	if (json_string_length(value) != strlen(text)) {
		field_errors_add(errors, key, "must not contain NUL characters");
		return NULL;
	}
	if (strlen(text) > max) {
		field_errors_add(errors, key, "at most %zu bytes", max);
		return NULL;
	}
	return text;
}

/*
 * Reads a create (`creating`) or merge-patch body into *input, collecting field errors.
 * Does not check that the role exists (the caller does, with the database).
 */
static void user_input_parse(json_t *body, bool creating, struct field_errors *errors,
			     struct user_input *input)
{
	struct user_change initial = USER_CHANGE_INIT;
	memset(input, 0, sizeof(*input));
	input->change = initial;
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		if (is_read_only_field(key)) {
			field_errors_add(errors, key, "read-only field");
		} else if (strcmp(key, "email") == 0) {
			const char *email = string_field(errors, key, value, USERS_EMAIL_MAX, false);
			if (email && !users_email_valid(email))
				field_errors_add(errors, key, "not a valid address");
			else if (email)
				input->change.email = email;
		} else if (strcmp(key, "name") == 0) {
			const char *name = string_field(errors, key, value, USERS_NAME_MAX, false);
			if (name && name[strspn(name, " \t")] == '\0')
				field_errors_add(errors, key, "must not be empty");
			else if (name)
				input->change.name = name;
		} else if (strcmp(key, "role") == 0) {
			const char *role = string_field(errors, key, value, USERS_ROLE_MAX, false);
			if (role && !roles_name_valid(role))
				field_errors_add(errors, key, "no such role");
			else if (role)
				input->change.role = role;
		} else if (strcmp(key, "team") == 0) {
			const char *team = string_field(errors, key, value, USERS_TEAM_MAX, true);
			if (team || json_is_null(value)) {
				input->change.set_team = true;
				input->change.team = team;
			}
		} else if (strcmp(key, "password") == 0) {
			const char *password =
				string_field(errors, key, value, USERS_PASSWORD_MAX, true);
			if (password && strlen(password) < USERS_PASSWORD_MIN)
				field_errors_add(errors, key, "at least %d characters",
						 USERS_PASSWORD_MIN);
			else if (password)
				input->password = password;
			else if (json_is_null(value))
				input->clear_password = true;
		} else if (strcmp(key, "disabled") == 0) {
			if (!json_is_boolean(value))
				field_errors_add(errors, key, "must be true or false");
			else
				input->change.disabled = json_is_true(value) ? 1 : 0;
		} else {
			field_errors_add(errors, key, "unknown field");
		}
	}
	if (creating) {
		if (!json_object_get(body, "email"))
			field_errors_add(errors, "email", "required");
		if (!json_object_get(body, "name"))
			field_errors_add(errors, "name", "required");
		if (!json_object_get(body, "role"))
			field_errors_add(errors, "role", "required");
	}
}

/* Checks the role against the database and hashes the password. 0, or -1 after replying. */
static int user_input_finish(struct db *db, struct user_input *input, struct field_errors *errors,
			     struct response *res)
{
	if (input->change.role) {
		int status = roles_store_exists(db, input->change.role);
		if (status == DB_NOT_FOUND) {
			field_errors_add(errors, "role", "no such role");
		} else if (status != DB_OK) {
			reply_db_error(res, status);
			return -1;
		}
	}
	if (field_errors_any(errors)) {
		field_errors_reply(errors, res);
		return -1;
	}
	if (input->password) {
		if (auth_password_hash(input->password, input->password_hash) != 0) {
			response_unavailable(res, "cannot hash the password now");
			return -1;
		}
		input->change.set_password = true;
		input->change.password_hash = input->password_hash;
	} else if (input->clear_password) {
		input->change.set_password = true;
		input->change.password_hash = NULL;
	}
	return 0;
}

static void reply_user(struct response *res, int status, const struct user *user)
{
	set_etag(res, user->version);
	response_json(res, status, users_user_to_json(user));
}

/* ---------------------------------------------------------------- handlers */

struct list_state {
	json_t *data;
	int limit;
	int seen;
	struct user last;
};

static int list_visit(void *context, const struct user *user)
{
	struct list_state *state = context;
	state->seen++;
	if (state->seen > state->limit)
		return 1; /* the extra row only says that there is a next page */
	json_array_append_new(state->data, users_user_to_json(user));
	state->last = *user;
	return 0;
}

static const char *const list_parameters[] = { "limit", "cursor", "sort", "role", "team",
					       "disabled", NULL };

static int check_list_parameter(void *context, const char *name, const char *value)
{
	(void)value;
	const char **unknown = context;
	for (int i = 0; list_parameters[i]; i++)
		if (strcmp(list_parameters[i], name) == 0)
			return 0;
	*unknown = name;
	return 1;
}

/* The sort value of `user` for the cursor (new reference). */
static json_t *sort_value(const struct user *user, const char *column)
{
	if (strcmp(column, "email") == 0)
		return json_string(user->email);
	if (strcmp(column, "name") == 0)
		return json_string(user->name);
	if (strcmp(column, "created_at") == 0)
		return json_string(user->created_at);
	return json_integer(user->id);
}

static void handle_list(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !users_allowed_or_reply(db, req, res, PERM_READ))
		return;
	const char *unknown = NULL;
	if (request_query_each(req, check_list_parameter, &unknown)) {
		response_problemf(res, HTTP_BAD_REQUEST, "unknown query parameter '%s'", unknown);
		return;
	}
	struct users_query query = { .sort = "id", .disabled = -1, .limit = LIST_LIMIT_DEFAULT };
	const char *limit = request_query(req, "limit");
	if (limit) {
		char *end;
		errno = 0;
		long value = strtol(limit, &end, 10);
		if (errno || !*limit || *end || value < 1 || value > LIST_LIMIT_MAX) {
			response_problemf(res, HTTP_BAD_REQUEST, "limit must be a number from 1 to %d",
					  LIST_LIMIT_MAX);
			return;
		}
		query.limit = (int)value;
	}
	const char *sort = request_query(req, "sort");
	if (!sort || !*sort)
		sort = "id";
	const char *column = sort[0] == '-' ? sort + 1 : sort;
	if (strcmp(column, "id") != 0 && strcmp(column, "email") != 0 &&
	    strcmp(column, "name") != 0 && strcmp(column, "created_at") != 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "sort must be id, email, name or created_at (- for descending)");
		return;
	}
	query.sort = column;
	query.descending = sort[0] == '-';
	query.role = request_query(req, "role");
	query.team = request_query(req, "team");
	const char *disabled = request_query(req, "disabled");
	if (disabled) {
		if (strcmp(disabled, "true") == 0) {
			query.disabled = 1;
		} else if (strcmp(disabled, "false") == 0) {
			query.disabled = 0;
		} else {
			response_problem(res, HTTP_BAD_REQUEST, "disabled must be true or false");
			return;
		}
	}
	json_t *after_value = NULL;
	const char *cursor = request_query(req, "cursor");
	if (cursor) {
		int64_t after_id;
		if (cursor_decode(cursor, sort, &after_value, &after_id) != 0 ||
		    (strcmp(column, "id") != 0 && !json_is_string(after_value))) {
			json_decref(after_value);
			response_problem(res, HTTP_BAD_REQUEST, "invalid cursor");
			return;
		}
		query.has_after = true;
		query.after_id = after_id;
		query.after_value = after_value;
	}
	struct list_state state = { .data = json_array(), .limit = query.limit };
	query.limit++;
	int status = users_store_list(db, &query, list_visit, &state);
	json_decref(after_value);
	if (status != DB_OK) {
		json_decref(state.data);
		reply_db_error(res, status);
		return;
	}
	json_t *next = json_null();
	if (state.seen > state.limit) {
		json_t *value = sort_value(&state.last, column);
		char *text = cursor_encode(sort, value, state.last.id);
		json_decref(value);
		next = json_string(text);
		free(text);
	}
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", state.data, "next_cursor", next));
}

static void handle_create(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !users_allowed_or_reply(db, req, res, PERM_WRITE))
		return;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { 0 };
	struct user_input input;
	user_input_parse(body, true, &errors, &input);
	if (user_input_finish(db, &input, &errors, res) == 0) {
		struct user_actor actor = { req->auth->user_id, AUDIT_ACTOR_API };
		struct user created;
		int status = users_create(db, &input.change, &actor, &created);
		if (status == DB_OK) {
			char location[64];
			snprintf(location, sizeof(location), "/api/v1/users/%lld",
				 (long long)created.id);
			response_set_header(res, "Location", location);
			reply_user(res, HTTP_CREATED, &created);
		} else {
			reply_db_error(res, status);
		}
	}
	sodium_memzero(input.password_hash, sizeof(input.password_hash));
	field_errors_release(&errors);
	json_decref(body);
}

static void handle_get(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !users_allowed_or_reply(db, req, res, PERM_READ))
		return;
	int64_t id = path_id(req);
	struct user user;
	int status = id ? users_store_get(db, id, &user) : DB_NOT_FOUND;
	if (status != DB_OK) {
		reply_db_error(res, status);
		return;
	}
	const char *if_none_match = request_header(req, "If-None-Match");
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)user.version);
	if (if_none_match && strcmp(if_none_match, etag) == 0) {
		set_etag(res, user.version);
		response_set_static_body(res, HTTP_NOT_MODIFIED, "application/json", "", 0);
		return;
	}
	reply_user(res, HTTP_OK, &user);
}

static void handle_patch(struct request *req, struct response *res)
{
	struct db *db = app_db_or_reply(res);
	if (!db || !users_allowed_or_reply(db, req, res, PERM_WRITE))
		return;
	int64_t id = path_id(req);
	if (!id) {
		reply_db_error(res, DB_NOT_FOUND);
		return;
	}
	int64_t expected = if_match_version(req);
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return;
	struct field_errors errors = { 0 };
	struct user_input input;
	user_input_parse(body, false, &errors, &input);
	if (id == req->auth->user_id) {
		/* An administrator must not lock themselves out by accident. */
		if (input.change.disabled == 1)
			field_errors_add(&errors, "disabled", "you cannot disable your own account");
		if (input.change.role && strcmp(input.change.role, req->auth->role) != 0)
			field_errors_add(&errors, "role", "you cannot change your own role");
	}
	if (expected < 0) {
		reply_db_error(res, DB_STALE);
	} else if (user_input_finish(db, &input, &errors, res) == 0) {
		struct user_actor actor = { req->auth->user_id, AUDIT_ACTOR_API };
		struct user after;
		int64_t keep = req->auth->method == AUTH_METHOD_SESSION ? req->auth->session_id : 0;
		int status = users_update(db, id, expected, &input.change, &actor, keep, &after);
		if (status == DB_OK)
			reply_user(res, HTTP_OK, &after);
		else
			reply_db_error(res, status);
	}
	sodium_memzero(input.password_hash, sizeof(input.password_hash));
	field_errors_release(&errors);
	json_decref(body);
}

void users_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/users", handle_list, 0);
	router_add(router, "POST", "/api/v1/users", handle_create, 0);
	router_add(router, "GET", "/api/v1/users/{id}", handle_get, 0);
	router_add(router, "PATCH", "/api/v1/users/{id}", handle_patch, 0);
}
