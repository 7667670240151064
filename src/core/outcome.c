/*
 * outcome.c - recording what went wrong in a core operation (outcome.h), with the usual
 * wording of each store status. No HTTP here: src/http/reply.c maps outcomes to answers.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/outcome.h"

#include <stdarg.h>
#include <stdio.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/banned.h"

void outcome_init(struct outcome *outcome)
{
	*outcome = (struct outcome)OUTCOME_INIT;
}

void outcome_release(struct outcome *outcome)
{
	field_errors_release(&outcome->errors);
}

static void set_detail(struct outcome *outcome, const char *format, va_list args)
{
	struct buf text = BUF_INIT;
	buf_vaddf(&text, format, args);
	snprintf(outcome->detail, sizeof(outcome->detail), "%s", text.data);
	buf_release(&text);
}

int outcome_fail(struct outcome *outcome, enum outcome_status status, const char *format, ...)
{
	outcome->status = status;
	va_list args;
	va_start(args, format);
	set_detail(outcome, format, args);
	va_end(args);
	return -1;
}

int outcome_from_db(struct outcome *outcome, int db_status, const char *singular)
{
	const char *name = singular ? singular : "record";
	outcome->db_status = db_status;
	switch (db_status) {
	case DB_OK:
		return 0;
	case DB_NOT_FOUND:
		return outcome_fail(outcome, OUTCOME_NOT_FOUND, "no such %s", name);
	case DB_CONFLICT:
		return outcome_fail(outcome, OUTCOME_CONFLICT,
				    "the change conflicts with another record");
	case DB_STALE:
		return outcome_fail(outcome, OUTCOME_STALE,
				    "the %s was changed meanwhile; read it again", name);
	case DB_INVALID:
		return outcome_fail(outcome, OUTCOME_INVALID, "a referenced record does not exist");
	case DB_BUSY:
		return outcome_fail(outcome, OUTCOME_BUSY, "the database is busy; try again");
	case DB_FULL:
		return outcome_fail(outcome, OUTCOME_UNAVAILABLE,
				    "the database cannot be written at the moment");
	case DB_TOO_COSTLY:
		return outcome_fail(outcome, OUTCOME_TOO_COSTLY,
				    "the request needed more database work than its budget allows "
				    "and was stopped; nothing was changed. Narrow it (a filter, fewer "
				    "or shorter conditions) or try again later");
	default:
		return outcome_fail(outcome, OUTCOME_ERROR, "database error");
	}
}

int outcome_fail_fields(struct outcome *outcome, struct field_errors *errors, bool conflict,
			const char *detail)
{
	field_errors_release(&outcome->errors);
	outcome->errors = *errors;
	errors->list = NULL;
	outcome->status = conflict ? OUTCOME_CONFLICT : OUTCOME_INVALID;
	snprintf(outcome->detail, sizeof(outcome->detail), "%s", detail ? detail : "");
	return -1;
}

void outcome_detail_text(const struct outcome *outcome, struct buf *out)
{
	if (outcome->detail[0] || !field_errors_any(&outcome->errors)) {
		buf_adds(out, outcome->detail);
		return;
	}
	json_t *first = json_array_get(outcome->errors.list, 0);
	size_t count = json_array_size(outcome->errors.list);
	buf_addf(out, "%s: %s", json_string_value(json_object_get(first, "field")),
		 json_string_value(json_object_get(first, "message")));
	if (count > 1)
		buf_addf(out, " (and %zu more)", count - 1);
}
