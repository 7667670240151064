/*
 * resource.h - the generic REST resource: API.md section 4 (Conventions) written once.
 *
 * A resource (contacts, companies, ...) is a static `struct resource` descriptor: its name,
 * its SQL table and a table of fields with their types and flags. From the descriptor this
 * module serves, for /api/v1/<name>:
 *
 *   GET    /api/v1/<name>                        list: filters, q, sort, keyset pagination
 *   POST   /api/v1/<name>                        create: 201 + Location (+ Idempotency-Key)
 *   GET    /api/v1/<name>/{id}                   one record with ETag: "<version>"
 *   PATCH  /api/v1/<name>/{id}                   JSON merge patch (RFC 7396), If-Match
 *   PUT    /api/v1/<name>/{id}                   full replacement, If-Match
 *   DELETE /api/v1/<name>/{id}                   204, If-Match
 *   GET    /api/v1/<name>/external/{external_id} one record by its external_id
 *   PUT    /api/v1/<name>/external/{external_id} create (201) or replace (200): idempotent sync
 *
 * The SQL is built in src/store/resource_store.c from the descriptor's compiled-in table and
 * column names only; every value is a bound parameter. HTTP handling (validation,
 * permissions, problem answers) is src/core/resource.c. A resource module (src/core/contacts.c)
 * holds only its descriptor and its own rules (hooks) and registers with
 * resource_routes_register().
 *
 * Storage. The table has `id INTEGER PRIMARY KEY`, `created_at`, `updated_at` (RFC 3339 UTC
 * text), `version INTEGER` and one column per field, named like the field:
 *   STRING, TEXT, EMAIL, ENUM, CURRENCY, TIMESTAMP, DATE   TEXT (NULL when absent)
 *   INTEGER, REFERENCE                                     INTEGER (NULL when absent)
 *   BOOLEAN                                                INTEGER 0/1 (NULL when absent)
 *   TAGS                                                   TEXT NOT NULL, a JSON array
 *   OBJECT                                                 TEXT, a JSON object
 * The tags of a TAGS field are also kept in the table record_tags (entity = resource name)
 * on every write, for the indexed ?tag= filter. An `fts_table` (FTS5, content_rowid = id)
 * is kept in sync by the table's triggers and, for new rows, by the commit: the insert
 * trigger only queues the row in fts_pending and db_commit() indexes the transaction's
 * queued rows in bulk (fts_pending.h); the store only queries it.
 *
 * Input rules (every rule breaks with a 422 naming the field; all bad fields are listed):
 *   - Unknown members and read-only ones (id, created_at, updated_at, version and fields
 *     flagged RESOURCE_FIELD_READ_ONLY) are refused, never ignored.
 *   - STRING: single line (no control characters), leading and trailing white space is
 *     trimmed, and an empty string means null. TEXT: multi-line, kept as sent; "" means
 *     null. Lengths count characters (code points): max_length, or the defaults below.
 *   - EMAIL: a STRING that must look like local@domain.tld.
 *   - INTEGER: a JSON integer within [min, max] when either is non-zero. BOOLEAN: true/false.
 *   - TIMESTAMP: RFC 3339 with offset, stored as UTC "2026-11-23T16:00:00Z" (fractions
 *     dropped). DATE: "YYYY-MM-DD" (a valid calendar date).
 *   - ENUM: one of `values`. CURRENCY: an ISO 4217 code, three capital letters ("EUR").
 *   - REFERENCE: the id (integer > 0) of a record of the resource named `references`, or of
 *     a user when `references` is "users". The record must exist and the caller must be
 *     allowed to read it; otherwise 422 naming the field (the same answer for both, so the
 *     answer does not reveal records the caller may not see).
 *   - TAGS: an array of at most RESOURCE_TAGS_MAX non-empty single-line strings of at most
 *     RESOURCE_TAG_MAX_LENGTH characters, trimmed; duplicates are dropped (first one kept).
 *     Never null: null (or absent) is [].
 *   - OBJECT with `members`: a typed object whose members follow their own field rules
 *     (errors name "consent.email"); unknown members are refused; absent members read as
 *     null. May be null.
 *     OBJECT without `members`: a free-form object (custom fields) of at most
 *     RESOURCE_OBJECT_MAX_BYTES serialised and RESOURCE_OBJECT_MAX_DEPTH levels. Never
 *     null: null (or absent) is {}.
 *   - A field with a `normalize` hook is checked by the hook instead (see the struct).
 *   - REQUIRED fields must be non-null in the resulting record (after defaults and hooks).
 *   - A field flagged RESOURCE_FIELD_DEFAULT_CALLER (owner_id) is the caller's user id when
 *     a create leaves it out (an explicit null means "no owner"); a full replacement that
 *     leaves it out keeps the current value. Flagged READ_ONLY as well (interactions'
 *     user_id), it is always the creating caller, set by the server and never changed.
 *   - A TIMESTAMP field flagged RESOURCE_FIELD_DEFAULT_NOW (occurred_at) is the current
 *     time when a create leaves it out (an explicit null stays null: with REQUIRED, a 422);
 *     a full replacement that leaves it out keeps the current value.
 *   - UNIQUE fields (external_id) that collide with another record answer 409 naming the
 *     field. The field named "external_id" must not contain '/' (it is a URL segment).
 *
 * Writes. POST creates; PATCH merges (RFC 7396: null clears a field, i.e. sets it to null,
 * [] or {} as above; objects merge recursively, arrays are replaced); PUT replaces every
 * writable field (absent ones are cleared, except DEFAULT_CALLER ones). A write that
 * changes nothing stores nothing: no version bump, no audit entry (this is what makes a
 * repeated PUT /external/{id} idempotent). Otherwise version + 1 and updated_at = now.
 * Each write runs in one BEGIN IMMEDIATE transaction with its audit_record() entry
 * (before/after as JSON); If-Match ("<version>", a list of them, or *) is compared inside
 * it, so two writers cannot both win: the loser gets 412. DB_BUSY and DB_FULL answer 503.
 * In crmd these routes are flagged ROUTE_WRITE_BATCH: the batch writer runs many of them
 * in one transaction, each in a savepoint of its own (group commit, write_batch.h); the
 * handlers are the same.
 *
 * DELETE takes the record's dependants with it, in its transaction, as the schema's
 * foreign keys on REFERENCE fields say: records whose reference is ON DELETE CASCADE are
 * deleted the same way first (their own dependants too), and those whose reference is ON
 * DELETE SET NULL are updated (null, version + 1); each with its audit entry and event. The
 * delete permission on the record covers them (deleting a contact deletes its history).
 *
 * Idempotency-Key on POST (1 to 255 visible ASCII characters, else 400): the first answer
 * to a successful create is stored with the key (per user) in the create's transaction;
 * within 24 hours a repeat with the same key, method, path and body gets that answer again
 * (with the header Idempotent-Replayed: true) and creates nothing. The same key with another
 * path or body answers 422 (the key is bound to its first request). Failed creates are not
 * stored: repeating them repeats the check.
 *
 * Permissions (API.md section 3) use the resource's `owner_field`: reads of one record the
 * caller may not read answer 404; lists are filtered by the read scope (none: 403); writes
 * need the write scope to cover the record's current owner and, when the owner changes or
 * on create, the new owner (else 403); deletes need the delete scope. A resource without
 * `owner_field` is covered by scope `all` only. With `owner_via_reference`, owner_field is
 * a REFERENCE field and the owner is the owner of the record it references (a purchase
 * belongs to whoever owns its contact): nothing is copied, so a change of the contact's
 * owner applies at once; moving the record to another parent is a change of owner.
 *
 * Lists. ?limit=1..500 (default 50), ?cursor= (opaque, from next_cursor), ?sort=field or
 * -field for id, created_at, updated_at and fields flagged RESOURCE_FIELD_SORT. Pagination is
 * keyset on (sort value, id): no duplicates or gaps across pages, also with equal sort
 * values and NULLs (NULLs come first ascending, last descending). Filters: ?<field>=value
 * for RESOURCE_FIELD_FILTER fields (equality), ?q= full-text search when `fts_table` is set
 * (each word is a quoted prefix term, AND-ed; words without a letter or digit are ignored,
 * and a q without any word matches nothing), ?tag= when the resource has a TAGS field,
 * ?updated_since=<RFC 3339> always, and the descriptor's range filters. An empty q is no
 * filter. A filter on a REFERENCE to users also takes `me`, the caller (?assignee_id=me). Unknown parameters, repeated parameters and malformed values answer 400.
 */
#ifndef CRM_RESOURCE_H
#define CRM_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/buf.h"
#include "crm/json.h"
#include "crm/perm.h"

struct db;
struct router;
struct auth_context;

#define RESOURCE_STRING_MAX_DEFAULT 255   /* characters of a STRING/EMAIL without max_length */
#define RESOURCE_TEXT_MAX_DEFAULT 100000  /* characters of a TEXT without max_length */
#define RESOURCE_TAGS_MAX 50
#define RESOURCE_TAG_MAX_LENGTH 64
#define RESOURCE_OBJECT_MAX_BYTES 16384
#define RESOURCE_OBJECT_MAX_DEPTH 8
#define RESOURCE_LIST_LIMIT_DEFAULT 50
#define RESOURCE_LIST_LIMIT_MAX 500
#define RESOURCE_QUERY_TEXT_MAX 256       /* characters of ?q= */
#define RESOURCE_IDEMPOTENCY_SECONDS (24 * 60 * 60)
#define RESOURCE_IDEMPOTENCY_KEY_MAX 255
#define RESOURCE_MAX_FIELDS 48
#define RESOURCE_MAX_RESOURCES 32

enum resource_field_type {
	RESOURCE_FIELD_STRING,
	RESOURCE_FIELD_TEXT,
	RESOURCE_FIELD_EMAIL,
	RESOURCE_FIELD_INTEGER,
	RESOURCE_FIELD_BOOLEAN,
	RESOURCE_FIELD_TIMESTAMP,
	RESOURCE_FIELD_DATE,
	RESOURCE_FIELD_ENUM,
	RESOURCE_FIELD_CURRENCY,
	RESOURCE_FIELD_REFERENCE,
	RESOURCE_FIELD_TAGS,
	RESOURCE_FIELD_OBJECT,
};

enum resource_field_flags {
	RESOURCE_FIELD_REQUIRED = 1 << 0,       /* non-null in every stored record */
	RESOURCE_FIELD_READ_ONLY = 1 << 1,      /* set by hooks only; in a body: 422 */
	RESOURCE_FIELD_FILTER = 1 << 2,         /* ?<name>=value equality filter on lists */
	RESOURCE_FIELD_SORT = 1 << 3,           /* ?sort=<name> / -<name> */
	RESOURCE_FIELD_NOCASE = 1 << 4,         /* filters and sorting ignore ASCII case (the
						   column's index must be COLLATE NOCASE) */
	RESOURCE_FIELD_LOWERCASE = 1 << 5,      /* ASCII-lowercased on input (domains) */
	RESOURCE_FIELD_DEFAULT_CALLER = 1 << 6, /* create without it: the caller's user id */
	RESOURCE_FIELD_UNIQUE = 1 << 7,         /* unique among the records: 409 on collision */
	RESOURCE_FIELD_DEFAULT_NOW = 1 << 8,    /* TIMESTAMP: create without it: now */
	RESOURCE_FIELD_WRITE_ONLY = 1 << 9,     /* a secret: accepted and stored, but answered
						   only in the 201 of the create that set it,
						   never in other answers, audit entries or
						   events (webhooks' secret) */
};

/* One field: a JSON member of the record and the column of the same name. */
struct resource_field {
	const char *name;
	enum resource_field_type type;
	unsigned flags;               /* enum resource_field_flags */
	int max_length;               /* STRING, TEXT, EMAIL: most characters; 0: default */
	int64_t min, max;             /* INTEGER: inclusive bounds, used when either is non-zero */
	const char *const *values;    /* ENUM: the allowed values, NULL-terminated */
	const char *references;       /* REFERENCE: "users" or a resource name ("companies") */
	const struct resource_field *members; /* OBJECT: typed members ({NULL}-terminated), or
						 NULL for a free-form object */
	/*
	 * Optional: replaces the type's rules for a non-null value (a segment's rule tree).
	 * Returns a new reference to the value to store, or NULL after adding errors named
	 * from `path` (they may name parts: "rule.all[2].op"). Such a field may be null (and
	 * is null when absent) whatever its type; the type still decides the storage (OBJECT:
	 * JSON text) and PATCH merging.
	 */
	json_t *(*normalize)(const json_t *value, const char *path, struct field_errors *errors);
};

/* A range filter on lists: ?since=<timestamp> means occurred_at >= it. */
enum resource_range {
	RESOURCE_RANGE_FROM,   /* column >= value */
	RESOURCE_RANGE_BEFORE, /* column < value */
	RESOURCE_RANGE_TO,     /* column <= value (an inclusive end, for dates) */
	RESOURCE_RANGE_AFTER,  /* column > value */
};
struct resource_range_filter {
	const char *param; /* query parameter: "since" */
	const char *field; /* a TIMESTAMP, DATE or INTEGER field (or "created_at"/"updated_at") */
	enum resource_range range;
};

enum resource_operation {
	RESOURCE_CREATE,  /* POST, or PUT /external/{id} of a new record */
	RESOURCE_UPDATE,  /* PATCH */
	RESOURCE_REPLACE, /* PUT /{id}, or PUT /external/{id} of an existing record */
};

/*
 * What a prepare hook sees: the record about to be stored, after the field rules, the
 * merge and the DEFAULT_CALLER defaults, inside the write transaction. All borrowed.
 */
struct resource_change {
	enum resource_operation operation;
	struct db *db;                     /* for store lookups; hooks never run SQL themselves */
	const struct auth_context *caller; /* NULL for crmctl and jobs (resource_save.h) */
	int64_t user_id;                   /* the acting user for defaults and history, or 0 */
	const json_t *input;               /* the body (create/replace) or patch, as sent */
	const json_t *before;              /* the stored record; NULL on create */
	json_t *record;                    /* every writable field, normalized; may be changed
					      (values must follow the field rules) */
};

struct resource {
	const char *name;     /* URL segment, permission resource and audit entity: "contacts" */
	const char *singular; /* for messages: "contact" */
	const char *description; /* one sentence for the API's documentation (OpenAPI tag,
				    GET /api/v1/meta), or NULL */
	const char *table;    /* SQL table */
	const struct resource_field *fields; /* terminated by an entry with NULL name */
	const char *owner_field;             /* decides own/team scopes ("owner_id"), or NULL */
	const char *fts_table;               /* FTS5 table for ?q=, or NULL */
	/*
	 * The columns of fts_table, in its order (NULL-terminated; with fts_table only): text
	 * fields of `table` that ?q= searches. fts_pending.c indexes new rows from them and
	 * `crmctl resource sql` writes the FTS table and its triggers from them.
	 */
	const char *const *search_columns;
	/*
	 * The webhook events of the resource, as verbs (NULL-terminated, or NULL for none):
	 * the event names are "<singular>.<verb>". The generic mechanism emits "created",
	 * "updated" and "deleted" when listed (resource_change_events lists just these);
	 * the resource's own code emits the others ("merged").
	 */
	const char *const *events;
	const struct resource_range_filter *range_filters; /* {NULL}-terminated, or NULL */
	/*
	 * Optional: resource-specific rules and derived values (contacts: a name or an email
	 * is required). Called only when the field rules found no error; adds errors with
	 * field_errors_add(). Runs before the REQUIRED check, so it may fill defaults.
	 */
	void (*prepare)(struct resource_change *change, struct field_errors *errors);
	/* Optional: adds computed members to a record before it is sent (borrowed). */
	void (*shape)(struct db *db, json_t *record);
	/*
	 * Optional: keeps side tables in step (opportunities' stage history). Called inside
	 * the write transaction after a create, update or replacement was stored (not when
	 * nothing changed), before the audit entry; `change->record` is the record as written
	 * and `stored` (borrowed) as stored, with its id and timestamps. Calls store functions
	 * only. Returns a db_status; anything but DB_OK rolls the write back.
	 */
	int (*after_save)(const struct resource_change *change, const json_t *stored);
	/* owner_field references the record that holds the owner (see Permissions above). */
	bool owner_via_reference;
	/*
	 * Optional: a compiled-in SQL condition on the table's own columns that every list and
	 * search adds, or NULL ("erased_at IS NULL": erased contacts are not listed, gdpr.h).
	 * Reads of one record by id or external_id are not affected.
	 */
	const char *list_filter;
	/*
	 * Optional: when a DELETE takes a record, removes its dependants that are no records of
	 * a registered resource (contacts: static segment memberships), each with its own audit
	 * entry and event, by user `user_id`; `record` (borrowed) as loaded. Called inside the
	 * write transaction after the registered dependants, before the record goes. Returns a
	 * db_status; anything but DB_OK rolls the delete back.
	 */
	int (*delete_dependants)(struct db *db, int64_t user_id, const json_t *record);
};

/* ---- change events (webhooks) ------------------------------------------------------------ */

enum resource_event {
	RESOURCE_EVENT_CREATED, /* POST, or PUT /external/{id} of a new record */
	RESOURCE_EVENT_UPDATED, /* PATCH or PUT that changed something */
	RESOURCE_EVENT_DELETED, /* DELETE */
};

/*
 * A hook called for every change made through this mechanism, inside the change's write
 * transaction: after the record was stored (and after the resource's after_save), before
 * the audit entry and the commit, so that what it writes (the webhook outbox) commits or
 * rolls back with the change. Not called when a write changed nothing. `before` (NULL on
 * create) and `after` (NULL on delete) are the stored records, borrowed, with their
 * WRITE_ONLY fields: use resource_record_public() for what may leave the server. Returns a
 * db_status; anything but DB_OK rolls the change back (answered as a database error).
 */
typedef int (*resource_event_hook)(struct db *db, const struct resource *resource,
				   enum resource_event event, const json_t *before,
				   const json_t *after);
/* Installs the one hook (NULL: none). Call at start-up, before serving (not thread-safe). */
void resource_set_event_hook(resource_event_hook hook);
/*
 * Calls the hook (if any) for a change a module made outside the generic handlers, inside
 * that change's write transaction (contacts merge). Arguments as for the hook. Returns a
 * db_status (DB_OK without a hook).
 */
int resource_event_emit(struct db *db, const struct resource *resource,
			enum resource_event event, const json_t *before, const json_t *after);

/*
 * The record as a GET answer shows it: a new copy of `record` (borrowed) without its
 * WRITE_ONLY fields and with the resource's computed members (shape). The caller decrefs.
 */
json_t *resource_record_public(struct db *db, const struct resource *resource,
			       const json_t *record);
/*
 * Whether a record of `resource` is answered exactly as stored (no WRITE_ONLY field, no
 * shape hook), so that resource_store_get_text() gives its answer.
 */
bool resource_answered_as_stored(const struct resource *resource);

/* ---- registration -------------------------------------------------------------------- */

/* Remembers `resource` without routes (tests, crmctl). Registering twice is harmless. */
void resource_register(const struct resource *resource);
/* The number of registered resources, and the one at `index` (0 ..), for walks. */
int resource_count(void);
const struct resource *resource_at(int index);
/* The registered resource called `name`, or NULL. */
const struct resource *resource_find(const char *name);
/* The events "created", "updated" and "deleted": `events` of most resources. */
extern const char *const resource_change_events[];
/* The field `name` of `resource`, or NULL. */
const struct resource_field *resource_field_find(const struct resource *resource,
						 const char *name);

/* ---- helpers for handlers of sub-resources (contacts/{id}/timeline, ...) ----------------- */

/*
 * Parses a record id from a path segment: decimal digits, 1 .. INT64_MAX. Returns 0 and
 * sets *id, or -1 (the caller answers 404).
 */
int resource_parse_id(const char *text, int64_t *id);



/*
 * The owner of `record` by the resource's owner_field (0 when none). For a resource with
 * owner_via_reference this is the referenced record's id, not a user: use
 * resource_record_owner_lookup() for those.
 */
int64_t resource_record_owner(const struct resource *resource, const json_t *record);

/* ---- validation (pure; exposed for unit tests and for other modules) ---------------------- */

/*
 * Checks and normalizes one value for `field` (rules above). `path` names it in errors
 * ("email", "consent.email"). Returns a new reference to the normalized value (json null
 * for null), or NULL after adding an error to `errors`.
 */
json_t *resource_field_normalize(const struct resource_field *field, const json_t *value,
				 const char *path, struct field_errors *errors);

/* The value a cleared (null) field takes: [] for TAGS, {} for free-form OBJECT, else null. */
json_t *resource_field_empty(const struct resource_field *field);

/*
 * Builds the writable part of a record from a create or replace `body` (borrowed): every
 * writable field, normalized; absent fields cleared (DEFAULT_CALLER ones are left out, for
 * the caller to default). Unknown and read-only members add errors. Returns a new object
 * (also when there are errors: the bad fields are cleared in it).
 */
json_t *resource_record_from_body(const struct resource *resource, const json_t *body,
				  struct field_errors *errors);

/*
 * Applies a merge `patch` (borrowed) to `current` (borrowed, a stored record): returns a
 * new object with every writable field of `current`, changed as the patch says and
 * normalized. Unknown and read-only members of the patch add errors.
 */
json_t *resource_record_merge(const struct resource *resource, const json_t *current,
			      const json_t *patch, struct field_errors *errors);

/* Adds "is required" errors for REQUIRED fields that are null in `record`. */
void resource_record_check_required(const struct resource *resource, const json_t *record,
				    struct field_errors *errors);

/*
 * Whether the writable fields of `record` equal those of `current` (a write that changes
 * nothing).
 */
bool resource_record_unchanged(const struct resource *resource, const json_t *record,
			       const json_t *current);

/* RFC 7396 JSON merge patch: a new value, `target` patched with `patch` (both borrowed). */
json_t *resource_merge_patch(const json_t *target, const json_t *patch);

/*
 * Turns search text into a safe FTS5 MATCH expression: each white-space separated word
 * becomes a quoted prefix term ("word"*, inner quotes doubled), AND-ed. Words without any
 * letter or digit are dropped. Returns a malloc'd string the caller frees, or NULL when
 * no word is left.
 */
char *resource_fts_query(const char *text);

/* Code points in `text` (valid UTF-8). */
size_t resource_utf8_length(const char *text);
/* A malloc'd copy of `text` without leading and trailing white space; the caller frees. */
char *resource_trimmed_copy(const char *text);
/* The "id" member of a record (0 when absent). */
int64_t resource_record_id(const json_t *record);

/* Whether `text` looks like an e-mail address (local@domain.tld, sane lengths). */
bool resource_email_valid(const char *text);

/*
 * Whether an If-Match header value matches `version`: "*" matches any record; otherwise a
 * comma-separated list of entity tags ("3", W/"3" never matches, bare 3 accepted).
 * Returns 1 match, 0 no match, -1 malformed.
 */
int resource_if_match(const char *header, int64_t version);

#endif
