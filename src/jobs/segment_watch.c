/*
 * segment_watch.c - membership events of dynamic segments (segment_watch.h): the periodic
 * pass that compares each dynamic segment's current members with the set kept at the last
 * pass and emits segment.member_added / member_removed for the difference, and crmd's
 * thread that runs it. The SQL is segment_watch_store.c's; the rule compiler segment_rule.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/segment_watch.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "crm/buf.h"
#include "crm/job_thread.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/segments.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define DROP_CHUNK 5000           /* kept members forgotten per write transaction */
#define STATEMENT_CACHE_LIMIT 256 /* the thread's cached statements (rules vary) */

/* ================================================================ the pass */

/*
 * Brings the kept set of `segment_id` to the contacts `current` (both ascending, of one
 * window), emitting an event per change unless `baseline`. Inside the window's transaction.
 */
static int apply_window(struct db *db, int64_t segment_id, bool baseline,
			const int64_t *current, int current_count, const int64_t *kept,
			int kept_count, struct segment_watch_result *result)
{
	int i = 0, k = 0, status = DB_OK;
	while (status == DB_OK && (i < current_count || k < kept_count)) {
		bool changed = false;
		if (k >= kept_count || (i < current_count && current[i] < kept[k])) {
			status = segment_watch_store_add(db, segment_id, current[i], &changed);
			if (status == DB_OK && changed && !baseline) {
				status = segments_member_event(db, segment_id, current[i], true);
				result->added++;
			}
			i++;
		} else if (i >= current_count || kept[k] < current[i]) {
			status = segment_watch_store_remove(db, segment_id, kept[k], &changed);
			if (status == DB_OK && changed && !baseline) {
				status = segments_member_event(db, segment_id, kept[k], false);
				result->removed++;
			}
			k++;
		} else { /* a member then and now */
			i++;
			k++;
		}
	}
	return status;
}

/*
 * One window of contact ids after `*cursor` in one write transaction: reads the rule's
 * members and the kept ones there, applies the difference, moves *cursor on. Sets *done
 * after the last window (and marks the pass complete in the same transaction).
 */
static int watch_window(struct db *db, int64_t segment_id, const struct segment_rule_sql *rule,
			bool baseline, int64_t *cursor, int64_t *current, int64_t *kept,
			bool *done, struct segment_watch_result *result)
{
	*done = false;
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	int64_t next = 0;
	if (*cursor == 0) /* the first window of the pass */
		status = segment_watch_store_state_begin(db, segment_id);
	if (status == DB_OK)
		status = segments_store_prepare(db, rule); /* the scores of this snapshot */
	if (status == DB_OK)
		status = segment_watch_store_next_contact(db, *cursor, &next);
	if (status == DB_OK && next == 0) {
		/* no contact left: kept ones above the cursor cannot exist (they reference
		 * contacts), so the pass over this segment is complete */
		char now[TIME_RFC3339_SIZE];
		time_now_rfc3339(now);
		status = segment_watch_store_state_finish(db, segment_id, baseline, now);
		*done = true;
	} else if (status == DB_OK) {
		int64_t after = next - 1;
		int64_t upto = after > INT64_MAX - SEGMENT_WATCH_WINDOW ? INT64_MAX
									: after + SEGMENT_WATCH_WINDOW;
		int current_count = 0, kept_count = 0;
		status = segment_watch_store_current(db, rule, after, upto, current, &current_count);
		if (status == DB_OK)
			status = segment_watch_store_kept(db, segment_id, after, upto, kept,
							  &kept_count);
		if (status == DB_OK)
			status = apply_window(db, segment_id, baseline, current, current_count, kept,
					      kept_count, result);
		*cursor = upto;
		if (upto == INT64_MAX)
			*done = true; /* cannot happen with real ids; ends the walk anyway */
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	return status;
}

/* Compares one dynamic segment (see segment_watch.h). */
static int watch_segment(struct db *db, int64_t segment_id, bool (*should_stop)(void),
			 int64_t *current, int64_t *kept, struct segment_watch_result *result)
{
	json_t *stored_rule = NULL;
	struct segment_rule_sql rule;
	segment_rule_sql_init(&rule);
	int status = segment_watch_store_rule(db, segment_id, &stored_rule);
	if (status != DB_OK || !stored_rule)
		goto cleanup; /* deleted meanwhile (or its rule is no JSON: logged) */
	struct field_errors errors = { NULL };
	int compiled = segment_rule_compile(stored_rule, "rule", time(NULL), &rule, &errors);
	field_errors_release(&errors);
	if (compiled != 0) {
		log_warn("segment watch: the rule of segment %lld no longer compiles; its members "
			 "are not compared", (long long)segment_id);
		result->skipped++;
		goto cleanup;
	}
	bool baseline_done;
	status = segment_watch_store_state(db, segment_id, &baseline_done);
	if (status != DB_OK)
		goto cleanup;
	bool baseline = !baseline_done;
	result->segments++;
	if (baseline)
		result->baselines++;
	/* a full build of the scores (if due) outside the write transactions */
	status = segments_store_prepare(db, &rule);
	int64_t cursor = 0;
	bool done = false;
	while (status == DB_OK && !done) {
		if (should_stop && should_stop()) {
			result->stopped = true;
			break;
		}
		status = watch_window(db, segment_id, &rule, baseline, &cursor, current, kept, &done,
				      result);
	}
cleanup:
	segment_rule_sql_release(&rule);
	json_decref(stored_rule);
	return status;
}

/* Nobody is subscribed: forgets every kept set, a chunk per write transaction. */
static int drop_all(struct db *db, bool (*should_stop)(void), struct segment_watch_result *result)
{
	bool more = true;
	int status = DB_OK;
	while (status == DB_OK && more) {
		if (should_stop && should_stop()) {
			result->stopped = true;
			break;
		}
		status = db_begin_write(db);
		if (status != DB_OK)
			break;
		int64_t dropped = 0;
		status = segment_watch_store_drop_some(db, DROP_CHUNK, &dropped, &more);
		if (status == DB_OK)
			status = db_commit(db);
		else
			db_rollback(db);
		if (status == DB_OK)
			result->dropped += dropped;
	}
	return status;
}

int segment_watch_pass(struct db *db, bool (*should_stop)(void),
		       struct segment_watch_result *result)
{
	*result = (struct segment_watch_result){ 0 };
	bool kept_any = false;
	int status = segment_watch_store_probe(db, &result->subscribed, &kept_any);
	if (status != DB_OK)
		return status;
	if (!result->subscribed)
		return kept_any ? drop_all(db, should_stop, result) : DB_OK;
	int64_t *ids = NULL;
	size_t count = 0;
	status = segment_watch_store_segments(db, &ids, &count);
	int64_t *current = xmalloc(SEGMENT_WATCH_WINDOW * sizeof(*current));
	int64_t *kept = xmalloc(SEGMENT_WATCH_WINDOW * sizeof(*kept));
	for (size_t i = 0; status == DB_OK && i < count && !result->stopped; i++)
		status = watch_segment(db, ids[i], should_stop, current, kept, result);
	free(kept);
	free(current);
	free(ids);
	return status;
}

/* ================================================================ the thread */

static int watcher_pass(void *context, bool woken);

/* A periodic job_thread (job_thread.h): a pass every `watcher_interval` seconds. */
static struct job_thread watcher = JOB_THREAD_INIT(.name = "segment watch", .pass = watcher_pass);
static int watcher_interval; /* seconds; set before the start */
static atomic_ulong watcher_passes; /* passes run to their end (crmd_segment_watch_passes_total) */
static struct db *watcher_db;

static bool stopping(void)
{
	return job_thread_stopping(&watcher);
}

static int watcher_pass(void *context, bool woken)
{
	(void)woken;
	struct db *db = context;
	struct segment_watch_result result;
	int status = segment_watch_pass(db, stopping, &result);
	/* no transaction left open, and the statements of changing rules not piling up */
	db_request_finished(db, STATEMENT_CACHE_LIMIT);
	if (status != DB_OK)
		log_warn("segment watch: the pass stopped (database status %d); it runs again "
			 "in %d s", status, watcher_interval);
	else if (result.added || result.removed || result.baselines || result.dropped)
		log_info("segment watch: %lld segment(s), %lld baseline(s), %lld joined, "
			 "%lld left, %lld set(s) forgotten", (long long)result.segments,
			 (long long)result.baselines, (long long)result.added,
			 (long long)result.removed, (long long)result.dropped);
	if (status == DB_OK && !result.stopped)
		atomic_fetch_add(&watcher_passes, 1);
	return watcher_interval * 1000;
}

int segment_watch_start(const char *path, enum db_sync_mode sync, int interval_seconds)
{
	if (watcher_db)
		return 0;
	struct db *db = db_open(path, sync);
	if (!db)
		return -1;
	watcher_interval = interval_seconds > 0 ? interval_seconds : SEGMENT_WATCH_INTERVAL_DEFAULT;
	watcher.first_wait_ms = watcher_interval * 1000;
	if (job_thread_start(&watcher, db) != 0) {
		db_close(db);
		return -1;
	}
	watcher_db = db;
	return 0;
}

void segment_watch_stop(void)
{
	if (!watcher_db)
		return;
	job_thread_stop(&watcher);
	db_close(watcher_db);
	watcher_db = NULL;
}

unsigned long segment_watch_passes(void)
{
	return atomic_load(&watcher_passes);
}
