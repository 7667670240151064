/*
 * outcome.h - what an operation of the core reports to whoever called it: an HTTP handler,
 * crmctl or a background job. Transport-neutral: a status from a small fixed set, wording
 * for people, and the field errors of bad input. The HTTP layer turns it into an answer in
 * one place (outcome_reply(), crm/reply.h); crmctl prints the detail and exits non-zero.
 *
 * Lifecycle: OUTCOME_INIT (or outcome_init()), set by at most one failing step, then
 * outcome_release() (or consumed by outcome_reply()).
 */
#ifndef CRM_OUTCOME_H
#define CRM_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/json.h"

enum outcome_status {
	OUTCOME_OK = 0,
	OUTCOME_BAD_REQUEST,  /* the request itself is malformed (a parameter, a header) */
	OUTCOME_INVALID,      /* the input breaks field rules: `errors` names each field */
	OUTCOME_FORBIDDEN,    /* the caller's permissions do not cover it */
	OUTCOME_NOT_FOUND,    /* no such record, or one the caller may not see */
	OUTCOME_CONFLICT,     /* a unique value is taken, or the record's state forbids it */
	OUTCOME_STALE,        /* the record is not at the version the caller expected */
	OUTCOME_BUSY,         /* storage stayed locked: try again in a second */
	OUTCOME_UNAVAILABLE,  /* storage cannot be written now (disk full, I/O): try later */
	OUTCOME_TOO_COSTLY,   /* the request's budget of database work ran out: stopped,
				 nothing changed; narrow it or try later */
	OUTCOME_TOO_MANY,     /* the caller is over a limit (rate, costly requests in flight):
				 try again in `retry_after` s (1 when 0) */
	OUTCOME_ERROR,        /* unexpected (logged where it happened) */
};

#define OUTCOME_DETAIL_SIZE 320

struct outcome {
	enum outcome_status status;
	char detail[OUTCOME_DETAIL_SIZE]; /* for people; "" means the status's usual wording */
	struct field_errors errors;       /* owned; INVALID and CONFLICT may carry them */
	int64_t version;                  /* STALE: the stored version when known, else 0 */
	int db_status;                    /* the store's enum db_status when the failure came
					     from it (outcome_from_db()), else DB_OK (0) */
	int retry_after;                  /* TOO_MANY: seconds until it may pass (>= 1) */
};

#define OUTCOME_INIT { OUTCOME_OK, "", { NULL }, 0, 0, 0 }

void outcome_init(struct outcome *outcome);
/* Frees the field errors; the outcome may be reused after outcome_init(). */
void outcome_release(struct outcome *outcome);

/* Records a failure with formatted wording. Returns -1, for `return outcome_fail(...)`. */
int outcome_fail(struct outcome *outcome, enum outcome_status status, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Records the failure a store reported (enum db_status), worded for a record called
 * `singular` ("contact"; NULL: "record"). Returns 0 for DB_OK (nothing recorded), else -1.
 */
int outcome_from_db(struct outcome *outcome, int db_status, const char *singular);

/*
 * Moves `errors` (consumed) into the outcome as INVALID (or CONFLICT when `conflict`), with
 * `detail`, or (NULL) a detail made from the errors. Returns -1.
 */
int outcome_fail_fields(struct outcome *outcome, struct field_errors *errors, bool conflict,
			const char *detail);

struct buf;
/*
 * Appends the outcome's wording for people to `out`: its detail, or when it has none, the
 * first field error ("email: is required (and 2 more)").
 */
void outcome_detail_text(const struct outcome *outcome, struct buf *out);

/* Whether the outcome is a failure. */
static inline bool outcome_failed(const struct outcome *outcome)
{
	return outcome->status != OUTCOME_OK;
}

#endif
