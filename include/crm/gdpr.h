/*
 * gdpr.h - a person's rights over the data held about them (API.md section 5, GDPR):
 * access (export) and erasure, over the API and crmctl, and the purge that removes the
 * last physical remains of erased text from the database file.
 *
 *   GET  /api/v1/contacts/{id}/export  -> 200, one JSON document (gdpr_contact_export)
 *   POST /api/v1/contacts/{id}/erase   -> 204 (gdpr_contact_erase); If-Match is honoured
 *   crmctl gdpr export ID | gdpr erase ID | gdpr purge [--vacuum]
 *
 * Permission: both need the contact to be readable (else 404) and the caller's `delete`
 * scope on contacts to cover the contact's owner (else 403): administrators for every
 * contact, managers for their team's, reps and viewers for none. Whoever may delete a
 * contact may also hand out or erase what is held about the person. crmctl may always.
 *
 * The export holds: the contact (with erased_at), its company, its interactions, tasks
 * (its own and those of its opportunities), opportunities each with its stage history,
 * purchases, static segment memberships (dynamic segments are rules, not data about the
 * person), and every audit entry about the contact and those records, oldest first.
 *
 * Erasure, in one write transaction, audited as action "erase" on the contact (the entry
 * holds counts and the time, no personal data):
 *   - contact: first_name, last_name, email, phone, title, company_id, tags, custom and
 *     external_id are cleared (external_id would point back to the person in another
 *     system); consent and source are kept, as are owner, lifecycle and relationship level
 *     (anonymous, and the analytics use them); erased_at is set. The row stays, so that its
 *     purchases keep a contact: revenue totals and the analytics do not change. Lists and
 *     searches leave erased contacts out (contacts' list_filter); a GET by id shows the
 *     anonymous record.
 *   - interactions: subject, body, outcome and external_id are cleared (kind, direction,
 *     time, status and user stay: the interaction counts of the analytics stay right).
 *   - tasks of the contact or of its opportunities: the title becomes GDPR_ERASED_TEXT,
 *     external_id is cleared.
 *   - opportunities of the contact: the name may carry the person's name, so it becomes
 *     GDPR_ERASED_TEXT; lost_reason, tags, custom and external_id are cleared; stage,
 *     amounts, dates, owner and company stay (the pipeline's figures stay right).
 *   - purchases: reference and external_id are cleared; amount, currency, time and
 *     opportunity stay (anonymous revenue).
 *   - static segment memberships are removed; stored Idempotency-Key answers that hold
 *     the contact or its records are deleted.
 *   - audit entries about the contact and those records (also records deleted or moved
 *     to another contact earlier, found by the contact_id in their before/after) are
 *     rewritten with the same fields redacted (null, [] or {}).
 *   - the full-text indexes: the triggers remove the old words from contacts_fts,
 *     interactions_fts, tasks_fts and opportunities_fts, so no search finds them from
 *     that moment.
 * Every connection runs with PRAGMA secure_delete=ON (db.c), so rewritten rows and freed
 * pages are zeroed. What remains is physical: FTS5 keeps the old words in its segments
 * (marked deleted) until they are merged, and the WAL keeps old page images until a
 * checkpoint. `crmctl gdpr purge` merges the full-text indexes in small steps (crmd may
 * run; each step is a short write transaction), optionally VACUUMs, and truncates the WAL;
 * after it no byte of erased text is left in the files. Erasures count up the setting
 * gdpr.purge_pending, which a purge counts down. crmd runs the merge itself soon after an
 * erasure (its checkpointer thread, within CHECKPOINTER_IDLE_SECONDS of checkpointer.h), so
 * the index holds no erased word for long even when nobody runs the command; the
 * command is still what truncates the WAL at once and VACUUMs.
 */
#ifndef CRM_GDPR_H
#define CRM_GDPR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct db;
struct router;

#define GDPR_ERASED_TEXT "(erased)"
#define GDPR_EXPORT_FORMAT "crm-gdpr-export/1"

/* Registers GET contacts/{id}/export and POST contacts/{id}/erase. */
void gdpr_routes_register(struct router *router);

/*
 * Builds the export document of contact `contact_id` in one read transaction. Returns
 * DB_OK with *document (new reference; the caller json_decrefs), DB_NOT_FOUND, or an
 * error.
 */
int gdpr_contact_export(struct db *db, int64_t contact_id, json_t **document);

/* What an erasure changed (also the body of its audit entry). */
struct gdpr_erase_counts {
	int64_t interactions, tasks, opportunities, purchases_kept, segment_memberships,
		audit_entries;
	char erased_at[24];
};

/*
 * Erases contact `contact_id` as described above, inside the caller's write transaction,
 * with the audit entry by `user_id` (0 for none) through `actor` (AUDIT_ACTOR_*).
 * `expected_version` > 0: DB_STALE unless the contact is at that version. Returns DB_OK
 * and fills *counts, DB_NOT_FOUND, DB_STALE or another db_status (the caller rolls back).
 */
int gdpr_contact_erase(struct db *db, int64_t contact_id, int64_t expected_version,
		       int64_t user_id, const char *actor, struct gdpr_erase_counts *counts);

/* ---- the data layer (src/store/gdpr_store.c) ---------------------------------------------------- */

enum gdpr_related {
	GDPR_INTERACTIONS,  /* by contact_id */
	GDPR_TASKS,         /* by contact_id, or through an opportunity of the contact */
	GDPR_OPPORTUNITIES, /* by contact_id */
	GDPR_PURCHASES,     /* by contact_id */
	GDPR_RELATED_COUNT
};

/* The table (and audit entity) of a kind of related record. */
const char *gdpr_related_table(enum gdpr_related related);

/*
 * The ids of the records of kind `related` that belong to contact `contact_id`, in id
 * order: *ids (malloc'd, the caller frees; NULL when none) and *count. Returns a db_status.
 */
int gdpr_store_related_ids(struct db *db, enum gdpr_related related, int64_t contact_id,
			   int64_t **ids, size_t *count);

/*
 * The static segments the contact is a member of: *rows gets a new array of
 * {"segment_id","name","kind","added_at"}. Returns a db_status.
 */
int gdpr_store_segment_memberships(struct db *db, int64_t contact_id, json_t **rows);

/* The contact's erased_at into `out` ("" when not erased). DB_OK, DB_NOT_FOUND or error. */
int gdpr_store_erased_at(struct db *db, int64_t contact_id, char *out, size_t size);

/*
 * Clears the personal data of the contact and its records (the SQL half of the erasure
 * above; audit entries are gdpr_store_audit_*'s), with updated_at = `now` and version + 1
 * on each changed record. `expected_version` > 0: DB_STALE unless the contact has it.
 * Fills the record counts of *counts. In a write transaction. Returns a db_status.
 */
int gdpr_store_erase(struct db *db, int64_t contact_id, int64_t expected_version,
		     const char *now, struct gdpr_erase_counts *counts);

/*
 * The audit entries about contact `contact_id` and its records: those of the contact,
 * those of interactions, tasks, opportunities and purchases whose before or after names
 * it in contact_id (also records deleted or moved away since; table audit_contacts of
 * migration 0009 maps them, so this is an index lookup), and those of the records of
 * `extra_entity` with the ids `extra_ids` (the tasks of its opportunities). Sets
 * *entries to a new array of entries as GET /api/v1/audit shows them, by id, each once.
 * Returns a db_status.
 */
int gdpr_store_audit_entries(struct db *db, int64_t contact_id, const char *extra_entity,
			     const int64_t *extra_ids, size_t extra_count, json_t **entries);

/* Replaces the before/after of audit entry `id` (borrowed; NULL stores NULL). */
int gdpr_store_audit_rewrite(struct db *db, int64_t id, const json_t *before,
			     const json_t *after);

/* Adds one to the setting gdpr.purge_pending. In a write transaction. */
int gdpr_store_purge_pending_add(struct db *db);
/* Reads (and with `reset`, zeroes) gdpr.purge_pending into *count. */
int gdpr_store_purge_pending(struct db *db, bool reset, int64_t *count);
/* Takes `count` off gdpr.purge_pending (removing it at 0). In a write transaction. */
int gdpr_store_purge_pending_sub(struct db *db, int64_t count);

/* The full-text indexes that hold personal text, NULL-terminated. */
extern const char *const gdpr_fts_tables[];

/*
 * One step of merging full-text index `table` (one of gdpr_fts_tables) into a single
 * segment, writing about `pages` pages, in its own write transaction. Sets *done when
 * there was nothing left to merge. Returns a db_status.
 */
int gdpr_store_fts_merge_step(struct db *db, const char *table, int pages, bool *done);

/* VACUUM (outside any transaction). Returns a db_status. */
int gdpr_store_vacuum(struct db *db);

/*
 * PRAGMA wal_checkpoint(TRUNCATE): sets *complete when every frame was written back and
 * the WAL truncated (false when other connections' readers kept it). Returns a db_status.
 */
int gdpr_store_checkpoint(struct db *db, bool *complete);

/* ---- the purge (src/jobs/gdpr_purge.c) ----------------------------------------------------------- */

#define GDPR_FTS_TABLES_MAX 8

enum gdpr_purge_mode {
	GDPR_PURGE_PLAIN,      /* merge, then checkpoint(TRUNCATE) */
	GDPR_PURGE_VACUUM,     /* merge, VACUUM, then checkpoint(TRUNCATE) */
	GDPR_PURGE_BACKGROUND, /* merge only: crmd's checkpointer checkpoints (PASSIVE) after */
};

struct gdpr_purge_result {
	int64_t pending;                 /* the erasures the purge covered */
	int steps[GDPR_FTS_TABLES_MAX];  /* merge steps per index of gdpr_fts_tables */
	bool vacuumed, wal_truncated;
	bool stopped; /* should_stop asked to stop: nothing counted down */
};

/*
 * The purge: merges each index of gdpr_fts_tables into one segment in short write
 * transactions of its own (other connections may write meanwhile), then as `mode` says,
 * and takes the erasures it covered off gdpr.purge_pending (those committed meanwhile
 * stay). `should_stop` (NULL for never) is asked before each merge step; when it says
 * yes the purge ends there. Outside any transaction. Returns a db_status; *result is
 * filled as far as it got.
 */
int gdpr_purge(struct db *db, enum gdpr_purge_mode mode, bool (*should_stop)(void),
	       struct gdpr_purge_result *result);

/*
 * crmd's background purge (its checkpointer thread, on its own connection): when
 * gdpr.purge_pending is above 0, gdpr_purge(GDPR_PURGE_BACKGROUND, should_stop). Returns
 * 1 when it purged, 0 when nothing was pending or it was stopped, -1 on an error (logged;
 * the count stays, so the next call tries again).
 */
int gdpr_purge_if_pending(struct db *db, bool (*should_stop)(void));

#endif
