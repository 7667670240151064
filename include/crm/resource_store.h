/*
 * resource_store.h - the store of the generic resources (src/store/resource_store.c and
 * resource_store_list.c): SQL built from the descriptors' compiled-in table and column
 * names, every value bound. Called by the write pipeline (resource_save.h) and the read
 * paths; the storage rules are in resource.h ("Storage").
 */
#ifndef CRM_RESOURCE_STORE_H
#define CRM_RESOURCE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/buf.h"
#include "crm/perm.h"
#include "crm/resource.h"

struct db;

/* ---- the data layer (src/store/resource_store.c) --------------------------------------------- */

/* One list condition: column op value. */
struct resource_condition {
	const char *column;   /* compiled-in column name */
	const char *op;       /* "=", ">=", "<", "<=" or ">" */
	json_t *value;        /* owned: string, integer or boolean */
	bool nocase;          /* compare with COLLATE NOCASE */
};

#define RESOURCE_MAX_CONDITIONS 24

/* A list request, as the store runs it. Release with resource_query_release(). */
struct resource_query {
	const struct resource_field *sort_field; /* NULL: sort_column is id/created_at/updated_at */
	const char *sort_column;
	bool descending;
	bool has_cursor;
	json_t *cursor_value;                    /* owned; json null for a NULL sort value */
	int64_t cursor_id;
	int limit;                               /* rows wanted (the store reads one more) */
	enum perm_scope scope;                   /* read scope: filters by owner_field */
	int64_t caller_id;
	const char *caller_team;                 /* borrowed; "" when none */
	struct resource_condition conditions[RESOURCE_MAX_CONDITIONS];
	int condition_count;
	char *match;                             /* owned FTS5 expression, or NULL */
	bool match_nothing;                      /* q had no searchable word */
	char *tag;                               /* owned, or NULL */
};

void resource_query_init(struct resource_query *query);
void resource_query_release(struct resource_query *query);

/*
 * Loads record `id` (a new reference in *record). Returns DB_OK, DB_NOT_FOUND or an error.
 */
int resource_store_get(struct db *db, const struct resource *resource, int64_t id,
		       json_t **record);
/* Record `id` as JSON text (resource_store_get_text()). Release with the function below. */
struct resource_record_text {
	struct buf text;  /* what json_to_text() prints for resource_store_get()'s record */
	int64_t version;
	int64_t owner;    /* resource_record_owner() of that record */
};
void resource_record_text_init(struct resource_record_text *record);
void resource_record_text_release(struct resource_record_text *record);
/*
 * resource_store_get() written as JSON text straight from the row (for records answered as
 * stored, see resource_store_list_text()). `record` is initialised by the caller. Returns
 * DB_OK, DB_NOT_FOUND or an error.
 */
int resource_store_get_text(struct db *db, const struct resource *resource, int64_t id,
			    struct resource_record_text *record);
/* The same by external_id. */
int resource_store_get_by_external_id(struct db *db, const struct resource *resource,
				      const char *external_id, json_t **record);
/*
 * The owner of record `id` by the owner_field (0 when none or without owner_field), also
 * through owner_via_reference. Returns DB_OK, DB_NOT_FOUND or an error. Used for
 * reference checks.
 */
int resource_store_owner_of(struct db *db, const struct resource *resource, int64_t id,
			    int64_t *owner_id);
/*
 * Whether another record than `except_id` has `value` (borrowed) in UNIQUE field `field`.
 * Returns 1, 0, or a negative db_status.
 */
int resource_store_value_taken(struct db *db, const struct resource *resource,
			       const struct resource_field *field, const json_t *value,
			       int64_t except_id);
/*
 * Inserts `record` (borrowed; its writable fields) with version 1 and created_at =
 * updated_at = now, and its tags. On DB_OK sets *stored to the record as stored (new
 * reference). Call inside a write transaction.
 */
int resource_store_insert(struct db *db, const struct resource *resource, const json_t *record,
			  json_t **stored);
/*
 * Replaces the writable fields of record `id`, which must still be at `version`
 * (else DB_STALE), with version + 1 and updated_at = now, and its tags. On DB_OK sets
 * *stored (new reference). Call inside a write transaction.
 */
int resource_store_update(struct db *db, const struct resource *resource, int64_t id,
			  int64_t version, const json_t *record, json_t **stored);
/* Deletes record `id` at `version` (DB_STALE otherwise) and its tags. In a transaction. */
int resource_store_delete(struct db *db, const struct resource *resource, int64_t id,
			  int64_t version);
/* What the schema's foreign key on a REFERENCE column does when its target is deleted. */
enum resource_on_delete {
	RESOURCE_ON_DELETE_NONE,     /* no action / restrict: the delete fails while referenced */
	RESOURCE_ON_DELETE_CASCADE,  /* the referencing row is deleted with it */
	RESOURCE_ON_DELETE_SET_NULL, /* the column is set to NULL */
};
/* Sets *action to the ON DELETE of `resource`'s column `column` (from the schema). */
int resource_store_on_delete(struct db *db, const struct resource *resource,
			     const char *column, enum resource_on_delete *action);
/* Sets *records to a new array of `resource`'s records whose `column` is `id`. */
int resource_store_referencing(struct db *db, const struct resource *resource,
			       const char *column, int64_t id, json_t **records);
/*
 * Runs a list query: sets *rows to a new array of at most query->limit records and *more
 * to whether further rows follow. Returns a db_status.
 */
int resource_store_list(struct db *db, const struct resource *resource,
			const struct resource_query *query, json_t **rows, bool *more);

/* A list page as JSON text (resource_store_list_text()). Release with the function below. */
struct resource_page_text {
	struct buf rows;          /* the records, "{...},{...}": what json_to_text() prints for
				     each record of resource_store_list() */
	int count;                /* records in `rows` */
	bool more;                /* further rows follow */
	int64_t last_id;          /* id of the last record, when `more` */
	json_t *last_sort_value;  /* owned: its value of the sort column, when `more` and the
				     query has a sort_field (NULL otherwise) */
};
void resource_page_text_init(struct resource_page_text *page);
void resource_page_text_release(struct resource_page_text *page);
/*
 * resource_store_list() written as JSON text straight from the rows, for resources whose
 * records are answered as stored (no shape hook, no WRITE_ONLY fields): stored JSON (tags,
 * custom fields) is copied instead of parsed and printed again. `page` is initialised by
 * the caller; on failure it is released. Returns a db_status.
 */
int resource_store_list_text(struct db *db, const struct resource *resource,
			     const struct resource_query *query, struct resource_page_text *page);

/* A stored answer to a POST with an Idempotency-Key. Release with the function below. */
struct resource_idempotent_answer {
	char *method, *path, *request_hash, *body, *location; /* owned; location may be NULL */
	int status;
};
void resource_idempotent_answer_release(struct resource_idempotent_answer *answer);
/*
 * Finds the answer stored for (`user_id`, `key`) at or after `since` (seconds since the
 * epoch); older ones are deleted. Returns DB_OK (filled), DB_NOT_FOUND or an error. Call
 * inside the write transaction of the create.
 */
int resource_store_idempotency_find(struct db *db, int64_t user_id, const char *key,
				    int64_t since, struct resource_idempotent_answer *answer);
/* Stores an answer (strings borrowed) at `now`; forgets answers older than `since`. */
int resource_store_idempotency_save(struct db *db, int64_t user_id, const char *key,
				    const struct resource_idempotent_answer *answer, int64_t now,
				    int64_t since);

#endif
