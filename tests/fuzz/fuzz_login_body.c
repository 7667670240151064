/*
 * fuzz_login_body.c - the body of POST /api/v1/auth/login (auth_login_body_or_reply), which
 * fuzz_request leaves out (each login it let through would cost an Argon2id hash). The
 * first byte of the input picks the Content-Type (JSON, JSON with a charset, text/plain,
 * none); the rest is the body, which may hold anything but NUL (http.c answers 400 for a
 * NUL before any handler).
 *
 * Properties: the parser either accepts, and then email and password are non-empty strings
 * within their limits taken from the body's only two members, or answers 400, 415 or 422
 * as problem+json whose "status" is the status; and it accepts exactly the bodies that an
 * independent check (jansson with duplicates refused, JSON content type, an object of the
 * two strings within their limits) accepts.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crm/auth.h"
#include "crm/http.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/users.h"
#include "fuzz.h"
#include "crm/banned.h"

static bool string_member_ok(const json_t *value, size_t max)
{
	const char *text = json_string_value(value);
	return text && text[0] && strlen(text) <= max && strlen(text) == json_string_length(value);
}

/* The independent check: what a correct login body is. */
static bool body_valid(const char *body, size_t len, bool json_type)
{
	if (!json_type)
		return false;
	json_t *value = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	bool valid = json_is_object(value) && json_object_size(value) == 2 &&
		     string_member_ok(json_object_get(value, "email"), USERS_EMAIL_MAX) &&
		     string_member_ok(json_object_get(value, "password"), USERS_PASSWORD_MAX);
	json_decref(value);
	return valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	if (!initialised) {
		log_configure(LOG_FORMAT_TEXT, LOG_LEVEL_ERROR);
		initialised = true;
	}
	if (size < 1)
		return 0;
	static const char *const types[] = { "application/json", "application/json; charset=utf-8",
					     "text/plain", NULL };
	const char *type = types[data[0] % 4];
	size_t body_len = size - 1;
	if (memchr(data + 1, '\0', body_len) || body_len > HTTP_MAX_BODY)
		return 0;
	char *body = fuzz_text(data + 1, body_len);
	struct request_value headers[] = { { "Content-Type", type } };
	struct request req = {
		.method = "POST",
		.path = "/api/v1/auth/login",
		.body = body,
		.body_len = body_len,
		.client_address = "127.0.0.1",
		.headers = headers,
		.header_count = type ? 1 : 0,
	};
	struct response res;
	response_init(&res);
	const char *email = NULL, *password = NULL;
	json_t *parsed = auth_login_body_or_reply(&req, &res, &email, &password);
	bool expected = body_valid(body, body_len, type && strstr(type, "json"));
	if (parsed) {
		if (!expected)
			fuzz_fail("accepted a login body the check refuses: %s", body);
		if (res.body || res.header_count)
			fuzz_fail("accepted and answered");
		if (!email || !password || email != json_string_value(json_object_get(parsed, "email")) ||
		    password != json_string_value(json_object_get(parsed, "password")))
			fuzz_fail("email or password not from the body");
		if (!email[0] || strlen(email) > USERS_EMAIL_MAX || !password[0] ||
		    strlen(password) > USERS_PASSWORD_MAX)
			fuzz_fail("email or password out of limits");
		json_decref(parsed);
	} else {
		if (expected)
			fuzz_fail("refused a valid login body with %d: %s", res.status, body);
		if (email || password)
			fuzz_fail("refused but set email or password");
		if (res.status != HTTP_BAD_REQUEST && res.status != HTTP_UNSUPPORTED_MEDIA_TYPE &&
		    res.status != HTTP_UNPROCESSABLE)
			fuzz_fail("answered %d", res.status);
		if (!res.content_type || strcmp(res.content_type, "application/problem+json") != 0)
			fuzz_fail("answered %s", res.content_type ? res.content_type : "(none)");
		json_t *problem = json_loadb(res.body, res.body_len, 0, NULL);
		if (!problem || json_integer_value(json_object_get(problem, "status")) != res.status)
			fuzz_fail("the problem answer is not JSON with its status: %.*s",
				  (int)res.body_len, res.body ? res.body : "");
		json_decref(problem);
	}
	response_release(&res);
	free(body);
	return 0;
}
