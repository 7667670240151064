/*
 * test_outcome.c - the one mapping from what core and store report to an HTTP answer
 * (outcome.h, reply.h): every outcome status and every db_status gives its status code,
 * Retry-After where the client should come back, the ETag of a stale record, and a
 * problem+json body with the wording and the field errors; and outcome_detail_text() for
 * crmctl.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/http.h"
#include "crm/outcome.h"
#include "crm/reply.h"

/* The value of header `name` as set (exact spelling), or NULL. */
static const char *response_header(const struct response *res, const char *name)
{
	for (int i = 0; i < res->header_count; i++)
		if (strcmp(res->header_names[i], name) == 0)
			return res->header_values[i];
	return NULL;
}

/* The answer's body parsed (new reference); checks it is problem+json of `status`. */
static json_t *problem_of(const struct response *res, int status)
{
	CHECK_INT(status, res->status);
	CHECK_STR("application/problem+json", res->content_type);
	json_t *body = json_loadb(res->body, res->body_len, 0, NULL);
	CHECK(json_is_object(body));
	CHECK_INT(status, (int)json_integer_value(json_object_get(body, "status")));
	return body;
}

static void test_outcome_statuses(void)
{
	static const struct {
		enum outcome_status status;
		int http;
		const char *retry_after;
	} cases[] = {
		{ OUTCOME_BAD_REQUEST, 400, NULL }, { OUTCOME_INVALID, 422, NULL },
		{ OUTCOME_FORBIDDEN, 403, NULL },   { OUTCOME_NOT_FOUND, 404, NULL },
		{ OUTCOME_CONFLICT, 409, NULL },    { OUTCOME_STALE, 412, NULL },
		{ OUTCOME_BUSY, 503, "1" },         { OUTCOME_UNAVAILABLE, 503, "5" },
		{ OUTCOME_TOO_MANY, 429, "1" }, /* retry_after unset: at least 1 */
		{ OUTCOME_ERROR, 500, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct response res;
		response_init(&res);
		struct outcome outcome = OUTCOME_INIT;
		CHECK_INT(-1, outcome_fail(&outcome, cases[i].status, "case %zu", i));
		outcome_reply(&res, &outcome);
		json_t *body = problem_of(&res, cases[i].http);
		char detail[32];
		snprintf(detail, sizeof(detail), "case %zu", i);
		CHECK_STR(detail, json_string_value(json_object_get(body, "detail")));
		const char *retry = response_header(&res, "Retry-After");
		if (cases[i].retry_after)
			CHECK_STR(cases[i].retry_after, retry);
		else
			CHECK(retry == NULL);
		json_decref(body);
		response_release(&res);
	}
}

static void test_db_statuses(void)
{
	static const struct {
		int db_status;
		int http;
		const char *detail;
	} cases[] = {
		{ DB_NOT_FOUND, 404, "no such contact" },
		{ DB_CONFLICT, 409, "the change conflicts with another record" },
		{ DB_STALE, 412, "the contact was changed meanwhile; read it again" },
		{ DB_INVALID, 422, "a referenced record does not exist" },
		{ DB_BUSY, 503, "the database is busy; try again" },
		{ DB_FULL, 503, "the database cannot be written at the moment" },
		{ DB_ERROR, 500, "database error" },
		{ DB_OK, 500, "database error" }, /* a caller's mistake still answers */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct response res;
		response_init(&res);
		db_status_reply(&res, cases[i].db_status, "contact");
		json_t *body = problem_of(&res, cases[i].http);
		CHECK_STR(cases[i].detail, json_string_value(json_object_get(body, "detail")));
		CHECK((cases[i].http == 503) == (response_header(&res, "Retry-After") != NULL));
		json_decref(body);
		response_release(&res);
	}
	struct outcome outcome = OUTCOME_INIT;
	CHECK_INT(0, outcome_from_db(&outcome, DB_OK, NULL));
	CHECK(!outcome_failed(&outcome));
	CHECK_INT(-1, outcome_from_db(&outcome, DB_BUSY, NULL));
	CHECK_INT(DB_BUSY, outcome.db_status);
	outcome_release(&outcome);
}

static void test_field_errors_and_stale_version(void)
{
	struct outcome outcome = OUTCOME_INIT;
	struct field_errors errors = { NULL };
	field_errors_add(&errors, "email", "is required");
	field_errors_add(&errors, "phone", "is too long");
	CHECK_INT(-1, outcome_fail_fields(&outcome, &errors, false, NULL));
	CHECK(errors.list == NULL); /* consumed */
	struct buf text = BUF_INIT;
	outcome_detail_text(&outcome, &text);
	CHECK_STR("email: is required (and 1 more)", text.data);
	buf_release(&text);
	struct response res;
	response_init(&res);
	outcome_reply(&res, &outcome);
	json_t *body = problem_of(&res, 422);
	CHECK_STR("email: is required (and 1 more)",
		  json_string_value(json_object_get(body, "detail")));
	CHECK_INT(2, (int)json_array_size(json_object_get(body, "errors")));
	json_decref(body);
	response_release(&res);

	field_errors_add(&errors, "external_id", "is already used by another contact");
	outcome_init(&outcome);
	outcome_fail_fields(&outcome, &errors, true, "a unique field is already used");
	response_init(&res);
	outcome_reply(&res, &outcome);
	body = problem_of(&res, 409);
	CHECK_STR("a unique field is already used", json_string_value(json_object_get(body, "detail")));
	CHECK_STR("external_id", json_string_value(json_object_get(
					 json_array_get(json_object_get(body, "errors"), 0), "field")));
	json_decref(body);
	response_release(&res);

	outcome_init(&outcome);
	outcome_fail(&outcome, OUTCOME_STALE, "the contact is at version 7");
	outcome.version = 7;
	response_init(&res);
	outcome_reply(&res, &outcome);
	CHECK_STR("\"7\"", response_header(&res, "ETag"));
	json_decref(problem_of(&res, 412));
	response_release(&res);
}

int main(void)
{
	RUN(test_outcome_statuses);
	RUN(test_db_statuses);
	RUN(test_field_errors_and_stale_version);
	return check_finish();
}
