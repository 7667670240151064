/*
 * demo_store.h - the storage side of `crmctl demo-data` (src/store/demo_store.c): rows of
 * typed values appended to a table and written many to one statement, and the few reads
 * and chores of a bulk load. The generators (src/cli/cli_demo.c, cli_demo_activity.c) draw
 * the data and never see SQL; the store writes exactly what the API would (every trigger
 * runs: full-text index, summaries, analytics change log), inside the caller's write
 * transaction.
 */
#ifndef CRM_DEMO_STORE_H
#define CRM_DEMO_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/*
 * The tables demo-data fills. A row gives its values in the order listed (the columns not
 * listed take their defaults).
 */
enum demo_table {
	/* id, name, domain, industry, owner_id, tags, custom, created_at, updated_at */
	DEMO_TABLE_COMPANIES,
	/* id, first_name, last_name, email, phone, title, company_id, owner_id, lifecycle,
	 * relationship_level, tags, source, consent, custom, created_at, updated_at */
	DEMO_TABLE_CONTACTS,
	/* entity, tag, record_id (a row already there is left alone) */
	DEMO_TABLE_RECORD_TAGS,
	/* id, name, contact_id, company_id, owner_id, stage, amount_cents, currency,
	 * probability, expected_close, closed_at, lost_reason, created_at, updated_at */
	DEMO_TABLE_OPPORTUNITIES,
	/* opportunity_id, from_stage, to_stage, changed_at, user_id */
	DEMO_TABLE_STAGE_CHANGES,
	/* title, due_at, contact_id, opportunity_id, assignee_id, done, done_at, created_at,
	 * updated_at */
	DEMO_TABLE_TASKS,
	/* contact_id, kind, direction, subject, body, occurred_at, outcome, status, user_id,
	 * created_at, updated_at */
	DEMO_TABLE_INTERACTIONS,
	/* contact_id, amount_cents, currency, occurred_at, opportunity_id, reference,
	 * created_at, updated_at */
	DEMO_TABLE_PURCHASES,
};

/*
 * Rows waiting to be written to one table: values are copied in as they come and written
 * demo_rows_capacity() rows to a statement (one statement per batch keeps the load fast:
 * the engine's per-statement work is paid once for up to a thousand rows).
 */
struct demo_rows;

/*
 * A new, empty set of rows for `table` on `db`. `before` (optional, borrowed) is written
 * first whenever these rows are: rows that refer to its rows (a task to its opportunity)
 * never reach the database before them. Free with demo_rows_free().
 */
struct demo_rows *demo_rows_new(struct db *db, enum demo_table table, struct demo_rows *before);
void demo_rows_free(struct demo_rows *rows);

/* Rows per statement: demo_rows_end_row() writes when this many are complete. */
size_t demo_rows_capacity(const struct demo_rows *rows);
/* Rows written so far (a statement that failed counts none). */
size_t demo_rows_written(const struct demo_rows *rows);

/* The next value of the current row: an integer, a text (copied; NULL: SQL NULL), NULL,
 * or a time as RFC 3339 text. */
void demo_rows_integer(struct demo_rows *rows, int64_t number);
void demo_rows_text(struct demo_rows *rows, const char *text);
void demo_rows_null(struct demo_rows *rows);
void demo_rows_time(struct demo_rows *rows, time_t when);

/* Ends the current row (it must have every column); writes the rows when the batch is
 * full. Returns a db_status. */
int demo_rows_end_row(struct demo_rows *rows);
/* Writes the complete rows held (those of `before` first). Returns a db_status; the rows
 * held are dropped either way (the caller rolls back on failure). */
int demo_rows_flush(struct demo_rows *rows);

/* The id the next row of `table` gets (its highest id + 1): companies, contacts and
 * opportunities are given explicit ids so that later rows can refer to them. */
int demo_store_next_id(struct db *db, enum demo_table table, int64_t *id);

/* A contact as read back for its history. Strings borrowed until the callback returns. */
struct demo_contact {
	int64_t id, owner_id, company_id; /* 0: none */
	const char *lifecycle, *created_at, *first_name, *last_name, *company_name; /* or NULL */
};

/*
 * Calls `each` for the contacts with ids first_id..last_id in id order, with their
 * company's name, until it returns other than DB_OK. Returns a db_status (that of `each`
 * when it stopped the walk).
 */
int demo_store_each_contact(struct db *db, int64_t first_id, int64_t last_id,
			    int (*each)(void *context, const struct demo_contact *contact),
			    void *context);

/*
 * Refreshes the query planner's statistics after the load (a sampled ANALYZE), leaving
 * out the tables whose size changes all the time. Returns a db_status.
 */
int demo_store_analyze(struct db *db);

#endif
