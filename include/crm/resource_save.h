/*
 * resource_save.h - the write pipeline: the one way a record of a registered resource is
 * created, changed or deleted, whoever asks (an HTTP handler, CSV import, merge, GDPR
 * erasure, crmctl, a background job).
 *
 * A save runs, inside the caller's write transaction:
 *   check:  the resource's prepare hook -> REQUIRED fields -> references (the record must
 *           exist and be readable by the caller) -> the write permission on the new owner
 *           -> UNIQUE fields;
 *   apply:  insert or update (nothing when nothing changed: no version bump, no audit, no
 *           event) -> the resource's after_save hook (derived tables: stage history) ->
 *           the change event (webhook outbox) -> the audit entry (WRITE_ONLY fields
 *           redacted).
 * A removal deletes or detaches the record's dependants first, as the schema's foreign
 * keys say, each with its own event and audit entry, then the record.
 * Full-text indexing follows from the store (fts_pending.h) at commit.
 *
 * Transport-neutral: failures are reported in a `struct outcome` (outcome.h); the HTTP
 * layer answers it with outcome_reply(), crmctl prints it. The caller owns the transaction
 * (db_begin_write() ... db_commit()/db_rollback()): on failure it rolls back.
 */
#ifndef CRM_RESOURCE_SAVE_H
#define CRM_RESOURCE_SAVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/outcome.h"
#include "crm/perm.h"
#include "crm/resource.h"

struct db;
struct auth_context;

/* Who writes. */
struct write_actor {
	struct db *db;
	/*
	 * Whose permissions apply (borrowed), or NULL for crmctl and background jobs, which the
	 * administrator runs: every scope check passes and references need only exist.
	 */
	const struct auth_context *caller;
	int64_t user_id;   /* recorded in audit entries and defaults: the caller, crmctl's
			      acting user, or 0 for none */
	const char *actor; /* AUDIT_ACTOR_API or AUDIT_ACTOR_CLI (audit.h) */
};

/* A write actor for `caller` (may not be NULL) through the API. */
struct write_actor write_actor_api(struct db *db, const struct auth_context *caller);

/* Whether the actor's `action` scope on `resource` covers a record owned by `owner_id`. */
bool resource_actor_may(const struct write_actor *actor, const struct resource *resource,
			enum perm_action action, int64_t owner_id);

/*
 * Sets DEFAULT_CALLER fields that a create left out to the actor's user (always, when also
 * READ_ONLY; null when the actor has none) and DEFAULT_NOW fields it left out to now.
 */
void resource_fill_create_defaults(const struct write_actor *actor,
				   const struct resource *resource, json_t *record);

/*
 * A replacement keeps read-only fields, and the DEFAULT_CALLER and DEFAULT_NOW fields the
 * body left out, from `before` (borrowed).
 */
void resource_keep_on_replace(const struct resource *resource, json_t *record,
			      const json_t *before);

/*
 * The check phase of a save (nothing is written). `input` (the body as sent) and `before`
 * (the stored record; NULL on create) are borrowed; `record` (every writable field,
 * normalized) is borrowed and may be changed by the resource's prepare hook. `errors`
 * holds the field errors found so far and is consumed. Returns 0, or -1 with `outcome`
 * set (INVALID with field errors, CONFLICT for a taken unique value, FORBIDDEN, or a store
 * failure).
 */
int resource_check(const struct write_actor *actor, const struct resource *resource,
		   enum resource_operation operation, const json_t *input, const json_t *before,
		   json_t *record, struct field_errors *errors, struct outcome *outcome);

/*
 * The apply phase of a save, for a checked `record` (borrowed). On success returns 0 with
 * *stored (a new reference: the record as stored, or `before` when nothing changed) and
 * *changed. Otherwise returns -1 with `outcome` set and *stored NULL.
 */
int resource_apply(const struct write_actor *actor, const struct resource *resource,
		   enum resource_operation operation, const json_t *input, const json_t *before,
		   const json_t *record, json_t **stored, bool *changed, struct outcome *outcome);

/* resource_check() then resource_apply(). */
int resource_save(const struct write_actor *actor, const struct resource *resource,
		  enum resource_operation operation, const json_t *input, const json_t *before,
		  json_t *record, struct field_errors *errors, json_t **stored, bool *changed,
		  struct outcome *outcome);

/*
 * Deletes `before` (borrowed, as loaded, at its version) with its dependants. The caller
 * has checked the delete permission on it; the dependants go with it without checks of
 * their own. Returns 0, or -1 with `outcome` set (CONFLICT when other records still refer
 * to it).
 */
int resource_remove(const struct write_actor *actor, const struct resource *resource,
		    const json_t *before, struct outcome *outcome);

/*
 * Whether the caller may use record `id` of the resource named `references` ("users" for
 * users) as a reference: it exists and the caller (NULL: anyone) may read it. Returns 1
 * yes, 0 no, or a negative db_status on a database error.
 */
int resource_reference_usable(struct db *db, const struct auth_context *caller,
			      const char *references, int64_t id);

/*
 * The owner of `record` (borrowed) for permission checks, also through owner_via_reference
 * (then looked up: 0 when the referenced record is gone or on a database error, so that
 * only scope `all` covers it).
 */
int64_t resource_record_owner_lookup(struct db *db, const struct resource *resource,
				     const json_t *record);
/* The same from the owner_field's value `owner` (resource_record_owner()). */
int64_t resource_owner_through_reference(struct db *db, const struct resource *resource,
					 int64_t owner);

/*
 * `record` (borrowed, may be NULL) without its WRITE_ONLY fields, for audit entries and
 * events: a new reference (the same record, increfed, when the resource has none).
 */
json_t *resource_record_redacted(const struct resource *resource, const json_t *record);

#endif
