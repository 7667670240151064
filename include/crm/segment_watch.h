/*
 * segment_watch.h - membership events of dynamic segments: crmd's periodic pass that
 * announces "active list membership changed" (src/jobs/segment_watch.c, its SQL in
 * src/store/segment_watch_store.c, the table in migrations/0015_segment_watch.sql).
 *
 * Static segments emit segment.member_added / segment.member_removed at once, in the
 * transaction that adds or removes the member (segments.c). A dynamic segment's members are
 * whatever its rule matches now, changed by edits of contacts, purchases, the clock (rules
 * with relative dates) or the rule itself, so no single write knows about them. Instead a
 * pass, every `interval` seconds on a thread of its own (crmd --segment-watch-interval,
 * default SEGMENT_WATCH_INTERVAL_DEFAULT), does this:
 *
 *   - When no active webhook endpoint is subscribed to segment.member_added or
 *     segment.member_removed ("segment.*" and "*" count), it costs one query, stores
 *     nothing, and forgets the member sets kept so far (then a later subscriber starts
 *     with a new baseline).
 *   - Otherwise, for every dynamic segment: it compiles the stored rule (segment_rule.h;
 *     the SQL is the compiler's, every value bound), reads the rule's current members (all
 *     contacts: no viewer's scope; erased contacts are nobody's member, as everywhere) and
 *     compares them with the set kept in segment_watch_members. Each contact that joined
 *     emits segment.member_added, each that left segment.member_removed, with the data
 *     {"segment_id": S, "contact_id": C} exactly as for static segments, in the write
 *     transaction (BEGIN IMMEDIATE) that updates the kept set: the events and the set
 *     commit together, so an event is neither lost nor sent twice by a crash. The contacts
 *     are walked in windows of SEGMENT_WATCH_WINDOW contact ids, one short write
 *     transaction each, so a segment of a million contacts never holds the write lock for
 *     long; other writers go on between windows.
 *   - The first pass over a segment (a new segment, or the first after a subscriber
 *     appeared) only takes the baseline: it stores the members and emits nothing.
 *
 * So a change is announced within one interval (plus the pass's own time); a rule change
 * by PATCH is announced by the next pass as the difference between the old and the new
 * members. A change that is undone before the next pass is not seen. A deleted contact
 * leaves the kept sets with its rows (foreign key cascade) without a member_removed: its
 * contact.deleted says it. A stored rule that no longer compiles is skipped (logged).
 */
#ifndef CRM_SEGMENT_WATCH_H
#define CRM_SEGMENT_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/db.h"
#include "crm/segment_rule.h"

#define SEGMENT_WATCH_INTERVAL_DEFAULT 60 /* seconds between passes */
#define SEGMENT_WATCH_INTERVAL_MAX 86400
#define SEGMENT_WATCH_WINDOW 2000         /* contact ids per write transaction */

/* What one pass did (segment_watch_pass()). */
struct segment_watch_result {
	bool subscribed;      /* an active endpoint is subscribed to the member events */
	int64_t segments;     /* dynamic segments compared */
	int64_t baselines;    /* of them, first passes (nothing emitted) */
	int64_t skipped;      /* segments whose rule no longer compiles */
	int64_t added;        /* contacts that joined: member_added (not counting baselines) */
	int64_t removed;      /* contacts that left: member_removed (not counting baselines) */
	int64_t dropped;      /* kept sets forgotten (nobody subscribed) */
	bool stopped;         /* should_stop() asked to stop before the end */
};

/*
 * Runs one pass, as above, on `db` (a connection of its own, outside a transaction).
 * `should_stop` (may be NULL) is asked between windows; a pass that stops leaves the kept
 * sets consistent and the next one goes on from them. Fills *result. Returns a db_status.
 */
int segment_watch_pass(struct db *db, bool (*should_stop)(void),
		       struct segment_watch_result *result);

/*
 * Starts the pass thread with its own connection to `path` (a pass `interval_seconds`
 * after the start and then after each pass). Returns 0, or -1 after logging.
 */
int segment_watch_start(const char *path, enum db_sync_mode sync, int interval_seconds);
/* Stops the thread (a running pass stops at its next window) and closes its connection. */
void segment_watch_stop(void);

/* The passes the thread has run to their end since the start (for /metrics). */
unsigned long segment_watch_passes(void);

/* ---- the data layer (src/store/segment_watch_store.c) ----------------------------------------- */

/*
 * Whether an active endpoint is subscribed to a member event (*subscribed) and whether
 * any member set is kept (*kept). Returns a db_status.
 */
int segment_watch_store_probe(struct db *db, bool *subscribed, bool *kept);

/*
 * The dynamic segments: *ids (malloc'd, the caller frees; NULL when none) and *count, in
 * id order. Returns a db_status.
 */
int segment_watch_store_segments(struct db *db, int64_t **ids, size_t *count);

/*
 * The stored rule of dynamic segment `segment_id` (a new reference in *rule; NULL when the
 * segment is gone or not dynamic). Returns a db_status.
 */
int segment_watch_store_rule(struct db *db, int64_t segment_id, json_t **rule);

/*
 * The state of segment `segment_id`: *baseline, whether its baseline is complete (false
 * without a state row). Returns a db_status.
 */
int segment_watch_store_state(struct db *db, int64_t segment_id, bool *baseline);
/* Creates the state row (no baseline yet) unless there is one. In a write transaction. */
int segment_watch_store_state_begin(struct db *db, int64_t segment_id);
/* Marks the pass complete at `now` (RFC 3339): the baseline when `baseline`, the member
 * count and checked_at. In a write transaction. */
int segment_watch_store_state_finish(struct db *db, int64_t segment_id, bool baseline,
				     const char *now);

/*
 * The smallest contact id above `after_id` (*next; 0 when none). Returns a db_status.
 */
int segment_watch_store_next_contact(struct db *db, int64_t after_id, int64_t *next);

/*
 * The ids of the contacts in (`after_id`, `upto_id`] that `rule` (compiled, borrowed)
 * matches, ascending, into `ids` (room for upto_id - after_id) and *count. Call
 * segments_store_prepare() first in the same transaction. Returns a db_status.
 */
int segment_watch_store_current(struct db *db, const struct segment_rule_sql *rule,
				int64_t after_id, int64_t upto_id, int64_t *ids, int *count);
/* The same for the kept set of `segment_id`. */
int segment_watch_store_kept(struct db *db, int64_t segment_id, int64_t after_id,
			     int64_t upto_id, int64_t *ids, int *count);

/*
 * Adds contact `contact_id` to (or removes it from) the kept set of `segment_id`; *changed
 * whether a row changed (an add skips a contact deleted meanwhile). In a write transaction.
 */
int segment_watch_store_add(struct db *db, int64_t segment_id, int64_t contact_id,
			    bool *changed);
int segment_watch_store_remove(struct db *db, int64_t segment_id, int64_t contact_id,
			       bool *changed);

/*
 * Forgets up to `limit` kept members of some segment, and the state rows left without
 * members; *more whether anything is left to forget. In a write transaction.
 */
int segment_watch_store_drop_some(struct db *db, int limit, int64_t *dropped_states,
				  bool *more);

#endif
