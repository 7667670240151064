/*
 * analytics_scores.c - the scores of the customer base, built once per process and shared
 * by every connection, and analytics_scores_prepare(), the contract with segments
 * (analytics.h). temp.contact_scores (src/store/analytics_scores_table.c) shows them in
 * SQL. This file keeps the shared state (the head, the deltas, who builds) and decides
 * what to make; analytics_scores_build.c makes snapshots, analytics_scores_snapshot.c is
 * their data structure.
 *
 * A snapshot (analytics_scores.h) holds every contact's scores as of one version of the
 * data: live or as of a day, the configuration counter and the last change-log seq it
 * reflects. Snapshots are immutable and reference-counted; the newest live one (the head)
 * is kept process-wide, and each connection pins the one that matches its read transaction.
 *
 * A full build reads every contact's history, takes the fitted models (the head's, the
 * stored ones, or a new fit), predicts every customer (on several cores), sorts the four
 * measures the cut points are over (recency, frequency, monetary, tier metric) and cuts the
 * rows into chunks. It happens once at start-up (analytics_scores_warm_up_start(), on a
 * background thread; requests that need the scores meanwhile wait for it), on a new UTC
 * day, after a refit or a settings change, for an as-of day, or when many contacts changed.
 *
 * Otherwise the triggers' change log (analytics_changes) names the contacts that changed
 * since the head's seq, and a new snapshot is derived: each changed contact's history is
 * read again in the caller's transaction and predicted with the head's models, its chunk
 * is copied with the new row (the other chunks are shared), the sorted measures are merged
 * with the old and new values and the cut points recomputed. RFM, tier and value class are
 * derived from the cut points when read, so the result is exactly what a full build gives.
 *
 * Consistency: a request whose read snapshot is older than the head (a write committed in
 * between and another worker already moved the head) gets a snapshot derived from the head
 * backwards, with the contacts the last updates redid (a small ring of deltas); a request
 * inside a write transaction (uncommitted changes) gets a private snapshot that nobody else
 * sees. Only one thread builds or derives at a time; the others wait and then reuse.
 */
#define _POSIX_C_SOURCE 200809L
#include "analytics/analytics_scores_int.h"

#include <pthread.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/analytics_scores_table.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* Incremental updates stop paying off beyond this share of the rows (or 2,000 contacts). */
#define INCREMENTAL_MIN_CONTACTS 2000
#define INCREMENTAL_SHARE_DIVISOR 10
/* The incremental updates remembered for requests whose snapshot is older than the head. */
#define DELTAS_MAX 64

/* ================================================================ the shared state */

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shared_changed = PTHREAD_COND_INITIALIZER;
/* All under shared_lock. */
static struct scores_snapshot *live_head;   /* the newest live snapshot (has `sorted`) */
static struct scores_snapshot *as_of_latest; /* the last as-of snapshot */
static bool building;                        /* a thread builds or derives: others wait */
static int64_t full_builds, incremental_updates;

/* The contacts each incremental update of the head redid, oldest first (under the lock). */
struct scores_delta {
	int64_t from_seq, to_seq;
	int64_t *ids;
	size_t count;
};
static struct scores_delta deltas[DELTAS_MAX];
static size_t delta_count;

bool scores_model_unsaved(const struct scores_snapshot *snapshot)
{
	pthread_mutex_lock(&shared_lock);
	bool unsaved = snapshot->model_unsaved;
	pthread_mutex_unlock(&shared_lock);
	return unsaved;
}

void scores_counted(bool incremental)
{
	pthread_mutex_lock(&shared_lock);
	if (incremental)
		incremental_updates++;
	else
		full_builds++;
	pthread_mutex_unlock(&shared_lock);
}

void analytics_scores_counts(int64_t *builds, int64_t *updates)
{
	pthread_mutex_lock(&shared_lock);
	*builds = full_builds;
	*updates = incremental_updates;
	pthread_mutex_unlock(&shared_lock);
}

static void deltas_clear(void)
{
	for (size_t i = 0; i < delta_count; i++)
		free(deltas[i].ids);
	delta_count = 0;
}

static void deltas_add(int64_t from_seq, int64_t to_seq, const int64_t *ids, size_t count)
{
	if (delta_count == DELTAS_MAX) {
		free(deltas[0].ids);
		memmove(&deltas[0], &deltas[1], (DELTAS_MAX - 1) * sizeof(deltas[0]));
		delta_count--;
	}
	struct scores_delta *delta = &deltas[delta_count++];
	delta->from_seq = from_seq;
	delta->to_seq = to_seq;
	delta->count = count;
	delta->ids = xmalloc((count ? count : 1) * sizeof(*ids));
	if (count)
		memcpy(delta->ids, ids, count * sizeof(*ids));
}

/*
 * The contacts changed between `seq` and the head's seq (seq older), from the deltas: the
 * union of the updates after seq, when they reach back to it and are at most `limit`.
 * Returns false otherwise. *ids is malloc'd, sorted and distinct. Under the lock.
 */
static bool deltas_since(int64_t seq, size_t limit, int64_t **ids, size_t *count)
{
	size_t total = 0, first = delta_count;
	while (first > 0 && deltas[first - 1].to_seq > seq) {
		first--;
		total += deltas[first].count;
		if (deltas[first].from_seq <= seq)
			break;
	}
	if (first == delta_count || deltas[first].from_seq > seq || total > limit * 4)
		return false;
	int64_t *all = xmalloc((total ? total : 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = first; i < delta_count; i++) {
		memcpy(all + n, deltas[i].ids, deltas[i].count * sizeof(*all));
		n += deltas[i].count;
	}
	qsort(all, n, sizeof(*all), scores_compare_int64);
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++)
		if (distinct == 0 || all[distinct - 1] != all[i])
			all[distinct++] = all[i];
	if (distinct > limit) {
		free(all);
		return false;
	}
	*ids = all;
	*count = distinct;
	return true;
}

/* ================================================================ prepare */

/* The version a request needs. */
struct scores_version {
	bool live;
	int64_t as_of_day;
	int64_t config_generation;
	int64_t change_seq;
	int64_t min_seq;             /* the oldest change still in the log */
	int64_t purchase_generation;
	bool writing;                /* inside a write transaction: may see uncommitted data */
};

static bool snapshot_is(const struct scores_snapshot *s, const struct scores_version *v)
{
	return s && !s->private_data && s->live == v->live && s->as_of_day == v->as_of_day &&
	       s->config_generation == v->config_generation && s->change_seq == v->change_seq;
}

static bool same_base(const struct scores_snapshot *s, const struct scores_version *v)
{
	return s && s->live == v->live && s->as_of_day == v->as_of_day &&
	       s->config_generation == v->config_generation;
}

/* Whether `s` is newer than the head (and so replaces it). */
static bool newer_than_head(const struct scores_snapshot *s)
{
	if (!live_head)
		return true;
	if (s->config_generation != live_head->config_generation)
		return s->config_generation > live_head->config_generation;
	if (s->as_of_day != live_head->as_of_day)
		return s->as_of_day > live_head->as_of_day;
	return s->change_seq >= live_head->change_seq;
}

/*
 * Publishes a snapshot made by this thread (under the lock): the head for live ones when
 * newer, the as-of slot otherwise; private snapshots stay private. `delta_ids` (k) are the
 * contacts an incremental update of the head redid (NULL after a full build).
 */
static void publish(struct scores_snapshot *s, int64_t from_seq, const int64_t *delta_ids,
		    size_t k, bool incremental)
{
	if (s->private_data)
		return;
	if (!s->live) {
		scores_snapshot_unref(as_of_latest);
		as_of_latest = s;
		scores_snapshot_ref(s);
		return;
	}
	if (!s->sorted[0] || !newer_than_head(s))
		return;
	if (incremental)
		deltas_add(from_seq, s->change_seq, delta_ids, k);
	else
		deltas_clear();
	if (live_head) {
		/* only the newest needs them; only builders read them */
		scores_snapshot_free_sorted(live_head);
		scores_snapshot_unref(live_head);
	}
	live_head = s;
	scores_snapshot_ref(s);
}

/*
 * Makes the scores this version needs, this thread being the only builder: an incremental
 * update from the head (forwards from the change log, backwards from the deltas) or a full
 * build. *out is a new reference.
 */
static int scores_make(struct db *db, const struct scores_version *v, struct scores_snapshot *head,
		       struct scores_snapshot **out)
{
	int64_t *ids = NULL;
	size_t k = 0;
	int status = DB_OK;
	*out = NULL;
	bool usable = v->live && same_base(head, v) && head->sorted[0] &&
		      analytics_model_usable(&head->model, true, &head->settings,
					     v->purchase_generation);
	if (usable) {
		size_t limit = head->count / INCREMENTAL_SHARE_DIVISOR;
		if (limit < INCREMENTAL_MIN_CONTACTS)
			limit = INCREMENTAL_MIN_CONTACTS;
		bool forwards = v->change_seq >= head->change_seq;
		bool have_ids = false;
		if (forwards && v->min_seq <= head->change_seq + 1) {
			status = analytics_store_changed_contacts(db, head->change_seq, limit, &ids, &k);
			have_ids = status == DB_OK && k <= limit;
		} else if (!forwards) {
			pthread_mutex_lock(&shared_lock);
			have_ids = deltas_since(v->change_seq, limit, &ids, &k);
			pthread_mutex_unlock(&shared_lock);
		}
		if (status != DB_OK)
			goto cleanup;
		if (have_ids) {
			int64_t started = time_monotonic_us();
			bool becomes_head = forwards && !v->writing;
			status = scores_derive(db, head, ids, k, v->change_seq, v->writing,
					       becomes_head, out);
			if (*out) {
				log_info("analytics: scores of %zu changed contacts updated in %lld us%s",
					 k, (long long)(time_monotonic_us() - started),
					 forwards ? "" : " (backwards, for an older snapshot)");
				pthread_mutex_lock(&shared_lock);
				publish(*out, head->change_seq, ids, k, true);
				pthread_mutex_unlock(&shared_lock);
			}
			if (status != DB_OK || *out)
				goto cleanup;
		}
	}
	/* as_of_latest changes only in publish(), by the one builder: this thread. */
	const struct scores_snapshot *previous = v->live ? head : as_of_latest;
	status = scores_build(db, v->live, v->as_of_day, v->change_seq, v->config_generation,
			      v->purchase_generation, v->writing, previous, out);
	if (status == DB_OK) {
		pthread_mutex_lock(&shared_lock);
		publish(*out, 0, NULL, 0, false);
		bool is_head = live_head == *out;
		pthread_mutex_unlock(&shared_lock);
		if (!is_head)
			scores_snapshot_free_sorted(*out); /* not the head: nobody derives */
	}
cleanup:
	free(ids);
	return status;
}

/* The version of the data this transaction sees. */
static int scores_version_of(struct db *db, int64_t as_of_or_0, struct scores_version *v)
{
	int64_t purchases, max_seq = 0;
	memset(v, 0, sizeof(*v));
	v->live = as_of_or_0 == 0;
	v->as_of_day = v->live ? analytics_today() : analytics_day_of(as_of_or_0);
	int status = analytics_store_state(db, &v->config_generation, &v->purchase_generation,
					   &purchases);
	if (status == DB_OK)
		status = analytics_store_changes_range(db, &v->min_seq, &max_seq);
	v->change_seq = max_seq;
	v->writing = db_in_write_transaction(db);
	return status;
}

/*
 * Brings the connection's scores to the version its transaction sees: the pinned snapshot
 * when it is that version, else the shared one, else one made now (waiting while another
 * thread builds, then looking again).
 */
static int scores_refresh(struct db *db, int64_t as_of_or_0)
{
	struct scores_version v;
	int status = scores_version_of(db, as_of_or_0, &v);
	if (status != DB_OK)
		return status;
	if (snapshot_is(scores_table_pinned(db), &v))
		return DB_OK;

	pthread_mutex_lock(&shared_lock);
	while (building)
		pthread_cond_wait(&shared_changed, &shared_lock);
	struct scores_snapshot *found = snapshot_is(live_head, &v)	   ? live_head
					: snapshot_is(as_of_latest, &v) ? as_of_latest
									   : NULL;
	if (found) {
		scores_snapshot_ref(found);
		pthread_mutex_unlock(&shared_lock);
		scores_table_pin(db, found);
		return DB_OK;
	}
	building = true;
	struct scores_snapshot *head = live_head;
	if (head)
		scores_snapshot_ref(head);
	pthread_mutex_unlock(&shared_lock);

	struct scores_snapshot *made = NULL;
	status = scores_make(db, &v, head, &made);
	scores_snapshot_unref(head);

	pthread_mutex_lock(&shared_lock);
	building = false;
	pthread_cond_broadcast(&shared_changed);
	pthread_mutex_unlock(&shared_lock);
	if (status == DB_OK)
		scores_table_pin(db, made);
	return status;
}

int analytics_scores_ensure(struct db *db)
{
	return scores_table_attach(db);
}

int analytics_scores_prepare_in_transaction(struct db *db, int64_t as_of_or_0)
{
	int status = scores_table_attach(db);
	return status == DB_OK ? scores_refresh(db, as_of_or_0) : status;
}

int analytics_scores_prepare(struct db *db, int64_t as_of_or_0)
{
	if (analytics_store_in_transaction(db))
		return analytics_scores_prepare_in_transaction(db, as_of_or_0);
	int status = analytics_scores_ensure(db);
	if (status != DB_OK)
		return status;
	status = db_begin_read(db);
	if (status != DB_OK)
		return status;
	status = analytics_scores_prepare_in_transaction(db, as_of_or_0);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status == DB_OK)
		analytics_model_flush(db);
	return status;
}

void analytics_scores_finish(struct db *db)
{
	if (!analytics_store_in_transaction(db))
		analytics_model_flush(db);
}

/* ================================================================ the pinned snapshot */

int analytics_scores_state_get(struct db *db, struct analytics_scores_state *state)
{
	memset(state, 0, sizeof(*state));
	const struct scores_snapshot *s = scores_table_pinned(db);
	if (!s)
		return DB_NOT_FOUND;
	state->change_seq = s->change_seq;
	state->config_generation = s->config_generation;
	state->token = s->token;
	state->live = s->live;
	state->as_of_day = s->as_of_day;
	state->cuts_json = xstrdup(s->cuts_json ? s->cuts_json : "{}");
	state->model_json = s->model_json ? xstrdup(s->model_json) : NULL;
	snprintf(state->fit_key, sizeof(state->fit_key), "%s", s->fit_key);
	pthread_mutex_lock(&shared_lock);
	state->model_unsaved = s->model_unsaved;
	pthread_mutex_unlock(&shared_lock);
	return DB_OK;
}

void analytics_scores_state_release(struct analytics_scores_state *state)
{
	free(state->cuts_json);
	free(state->model_json);
	memset(state, 0, sizeof(*state));
}

int analytics_scores_model_saved(struct db *db)
{
	struct scores_snapshot *pinned = scores_table_pinned(db);
	if (!pinned)
		return DB_NOT_FOUND;
	pthread_mutex_lock(&shared_lock);
	pinned->model_unsaved = false;
	if (live_head && strcmp(live_head->fit_key, pinned->fit_key) == 0 &&
	    live_head->model.purchase_generation == pinned->model.purchase_generation)
		live_head->model_unsaved = false;
	pthread_mutex_unlock(&shared_lock);
	return DB_OK;
}

int analytics_scores_tier_totals(struct db *db, int tier_count, int64_t members[],
				 int64_t revenue_cents[], int64_t predicted_cents[])
{
	const struct scores_snapshot *s = scores_table_pinned(db);
	if (!s)
		return DB_NOT_FOUND;
	for (int t = 0; t < tier_count; t++)
		members[t] = revenue_cents[t] = predicted_cents[t] = 0;
	for (size_t c = 0; c < s->chunk_count; c++) {
		const struct scores_chunk *chunk = s->chunks[c];
		for (uint32_t i = 0; chunk && i < chunk->count; i++) {
			const struct scores_row *row = &chunk->rows[i];
			if (row->purchase_days == 0)
				continue;
			struct analytics_metrics metrics;
			struct analytics_relative relative;
			scores_row_metrics(row, &s->settings, &metrics);
			analytics_classify_relative(&metrics, row->high_service, &s->cuts, &s->settings,
						    &relative);
			if (relative.tier < 0 || relative.tier >= tier_count)
				continue;
			members[relative.tier]++;
			revenue_cents[relative.tier] += scores_row_ltv_cents(row, &s->settings);
			predicted_cents[relative.tier] += row->predicted_ltv_cents;
		}
	}
	return DB_OK;
}

/* ================================================================ warm-up */

static pthread_t warm_up_thread;
static bool warm_up_started;

static void *warm_up_run(void *unused)
{
	(void)unused;
	int64_t started = time_monotonic_us();
	struct db *db = db_thread();
	int status = db ? analytics_scores_prepare(db, 0) : DB_ERROR;
	if (status == DB_OK)
		log_info("analytics: scores warmed up in %lld ms",
			 (long long)(time_monotonic_us() - started) / 1000);
	else
		log_warn("analytics: the start-up build of the scores failed (the first request "
			 "builds them)");
	db_thread_close();
	return NULL;
}

int analytics_scores_warm_up_start(void)
{
	if (warm_up_started)
		return 0;
	if (pthread_create(&warm_up_thread, NULL, warm_up_run, NULL) != 0) {
		log_warn("analytics: cannot start the warm-up thread");
		return -1;
	}
	warm_up_started = true;
	return 0;
}

void analytics_scores_warm_up_wait(void)
{
	if (!warm_up_started)
		return;
	pthread_join(warm_up_thread, NULL);
	warm_up_started = false;
}

void analytics_scores_release_all(void)
{
	pthread_mutex_lock(&shared_lock);
	scores_snapshot_unref(live_head);
	scores_snapshot_unref(as_of_latest);
	live_head = as_of_latest = NULL;
	deltas_clear();
	pthread_mutex_unlock(&shared_lock);
}
