/*
 * operations.h - what the operational resources (interactions, tasks, opportunities,
 * purchases) share beyond the generic resource mechanism: the query parameters of their
 * own routes (stage history, pipeline, timeline; src/http/operations.c) and the data layer of
 * those routes (src/store/operations_store.c: the default currency, stage history, pipeline
 * sums, the timeline query). Handlers call these; only operations_store.c runs SQL.
 */
#ifndef CRM_OPERATIONS_H
#define CRM_OPERATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/http.h"
#include "crm/perm.h"

struct db;
struct auth_context;

/* ---- query parameters of the sub-routes (src/http/operations.c) ---------------------------- */

#define OPERATIONS_MAX_PARAMS 8

/*
 * Reads the query string: `names` lists the allowed parameters (NULL-terminated, at most
 * OPERATIONS_MAX_PARAMS); values[i] receives the value of names[i] (borrowed from the
 * request; "" for "?x"), or NULL when absent. An unknown or repeated parameter answers 400
 * and returns -1.
 */
int operations_params_or_reply(struct request *req, struct response *res,
			       const char *const *names, const char **values);

/*
 * Parses ?limit (NULL: the default 50; else 1-500). Returns 0, or -1 after answering 400.
 */
int operations_limit_or_reply(struct response *res, const char *text, int *limit);

/*
 * Parses a user reference in a query parameter: a user id, or `me` for the caller.
 * Returns 0, or -1 after answering 400 naming `name`.
 */
int operations_user_param_or_reply(struct response *res, const struct auth_context *caller,
				   const char *name, const char *text, int64_t *user_id);

/* Answers a db_status that is not DB_OK (404, 503 or 500) as problem+json. */
void operations_reply_db_status(struct response *res, int status);

/* ---- the data layer (src/store/operations_store.c) ------------------------------------------ */

/* A read scope to apply to owner columns, as a list query does. */
struct operations_scope {
	enum perm_scope scope;   /* PERM_SCOPE_NONE: nothing is readable */
	int64_t caller_id;
	const char *caller_team; /* borrowed; "" when none */
};

/*
 * The default currency: the setting `default_currency` (table settings) when it is a valid
 * ISO 4217 code, else OPPORTUNITIES_DEFAULT_CURRENCY. Writes it into `currency`. Returns a
 * db_status.
 */
int operations_store_default_currency(struct db *db, char currency[4]);

/*
 * Appends a stage change of an opportunity (`from_stage` NULL for the first stage,
 * `user_id` 0 for none). Call inside the write transaction of the change.
 */
int operations_store_stage_change_add(struct db *db, int64_t opportunity_id,
				      const char *from_stage, const char *to_stage,
				      const char *changed_at, int64_t user_id);
/*
 * The stage changes of an opportunity after change `after_id` (0: from the first),
 * oldest first: *rows gets a new array of at most `limit` records and *more whether more
 * follow. Returns a db_status.
 */
int operations_store_stage_changes(struct db *db, int64_t opportunity_id, int64_t after_id,
				   int limit, json_t **rows, bool *more);
/* One stage change by id (a new reference in *record). DB_OK, DB_NOT_FOUND or an error. */
int operations_store_stage_change_get(struct db *db, int64_t id, json_t **record);

/* What GET /api/v1/pipeline sums (pipeline.h). */
struct operations_pipeline_query {
	struct operations_scope read;    /* the caller's read scope on opportunities */
	int64_t owner_id;                /* 0: every owner */
	const char *expected_close_from; /* "YYYY-MM-DD" or NULL, inclusive */
	const char *expected_close_to;   /* "YYYY-MM-DD" or NULL, inclusive */
	const char *currency;            /* or NULL for all */
};
/*
 * Sums the opportunities per (stage, currency): *rows gets a new array of
 * {"stage","currency","count","amount_cents","weighted_amount_cents"} ordered by currency
 * and stage, only for groups that have opportunities. weighted_amount_cents is the sum of
 * amount_cents x probability divided by 100, rounded half up. Returns a db_status.
 */
int operations_store_pipeline(struct db *db, const struct operations_pipeline_query *query,
			      json_t **rows);

#define OPERATIONS_TIMELINE_TYPE_MAX 16

/* One page of a contact's timeline (timeline.h). */
struct operations_timeline_query {
	int64_t contact_id;
	struct operations_scope interactions;  /* by user_id */
	struct operations_scope opportunities; /* by owner_id, also for their stage changes */
	struct operations_scope tasks;         /* by assignee_id */
	bool purchases;                        /* whether the contact's purchases are readable */
	bool has_cursor;                       /* start strictly after (at, type, id): */
	const char *cursor_at;                 /* borrowed */
	const char *cursor_type;               /* borrowed */
	int64_t cursor_id;
	int limit;
};
/*
 * Runs one page: *items gets a new array of at most `limit` {"type","id","at"} in timeline
 * order, and *more whether more follow. Returns a db_status.
 */
int operations_store_timeline(struct db *db, const struct operations_timeline_query *query,
			      json_t **items, bool *more);

#endif
