/*
 * analytics_scores.c - the scores of the customer base, built once per process and shared
 * by every connection, and analytics_scores_prepare(), the contract with segments
 * (analytics.h). temp.contact_scores (analytics_scores_table.c) shows them in SQL.
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
#include "crm/analytics_scores.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/analytics_scores_table.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define LIVE_KEY "live"
/* Incremental updates stop paying off beyond this share of the rows (or 2,000 contacts). */
#define INCREMENTAL_MIN_CONTACTS 2000
#define INCREMENTAL_SHARE_DIVISOR 10
/* Chunks of up to 4,096 ids; more chunk pointers than this allows means sparse ids. */
#define CHUNK_SHIFT 12
/* The incremental updates remembered for requests whose snapshot is older than the head. */
#define DELTAS_MAX 64

const char *const scores_loyalty_names[4] = { NULL, "active", "passive", "none" };
const char *const scores_stage_names[7] = { NULL,	     "contact",	    "involvement", "intimacy",
					    "deterioration", "repair", "dissolution" };

static uint8_t name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 1; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (uint8_t)i;
	return 0;
}

/* ================================================================ rows and snapshots */

int64_t scores_row_ltv_cents(const struct scores_row *row, const struct analytics_settings *settings)
{
	return (int64_t)llround((double)row->total_cents * settings->gross_margin);
}

void scores_row_metrics(const struct scores_row *row, const struct analytics_settings *settings,
			struct analytics_metrics *metrics)
{
	metrics->recency_days = row->recency_days;
	metrics->purchase_days = row->purchase_days;
	metrics->total_cents = row->total_cents;
	metrics->tier_metric = settings->tier_metric == ANALYTICS_METRIC_LTV
				       ? scores_row_ltv_cents(row, settings)
				       : row->predicted_ltv_cents;
}

static int32_t clamp32(int64_t value)
{
	return value > INT32_MAX ? INT32_MAX : value < INT32_MIN ? INT32_MIN : (int32_t)value;
}

/* A contact's row from its history and predicted figures. */
static void row_of(const struct analytics_history *h, int64_t as_of_day,
		   const struct analytics_figures *figures, struct scores_row *row)
{
	memset(row, 0, sizeof(*row));
	bool customer = h->purchase_days > 0;
	row->contact_id = h->contact_id;
	row->predicted_ltv_cents = figures->predicted_ltv_cents;
	row->total_cents = h->total_cents;
	row->first_purchase_at = h->first_purchase_at;
	row->last_purchase_at = h->last_purchase_at;
	row->last_interaction_at = h->last_interaction_at;
	row->churn_risk = customer ? figures->churn_risk : NAN;
	row->purchases_count = clamp32(h->purchases_count);
	row->purchase_days = clamp32(h->purchase_days);
	row->recency_days = customer ? clamp32(figures->recency_days) : -1;
	row->high_service = analytics_high_service(h);
	row->has_interactions = h->interactions_count > 0;
	row->loyalty = name_index(scores_loyalty_names, 4, analytics_loyalty(h, as_of_day));
	row->relationship_stage =
		name_index(scores_stage_names, 7, analytics_relationship_stage(h, as_of_day));
}

static void chunk_unref(struct scores_chunk *chunk)
{
	if (chunk && atomic_fetch_sub(&chunk->refs, 1) == 1)
		free(chunk);
}

static struct scores_chunk *chunk_new(size_t capacity)
{
	struct scores_chunk *chunk =
		xmalloc(sizeof(*chunk) + (capacity ? capacity : 1) * sizeof(struct scores_row));
	atomic_init(&chunk->refs, 1);
	chunk->count = 0;
	return chunk;
}

static void snapshot_free_sorted(struct scores_snapshot *snapshot)
{
	for (int k = 0; k < ANALYTICS_METRICS; k++) {
		free(snapshot->sorted[k]);
		snapshot->sorted[k] = NULL;
	}
}

void scores_snapshot_ref(struct scores_snapshot *snapshot)
{
	atomic_fetch_add(&snapshot->refs, 1);
}

void scores_snapshot_unref(struct scores_snapshot *snapshot)
{
	if (!snapshot || atomic_fetch_sub(&snapshot->refs, 1) != 1)
		return;
	for (size_t i = 0; i < snapshot->chunk_count; i++)
		chunk_unref(snapshot->chunks[i]);
	free(snapshot->chunks);
	snapshot_free_sorted(snapshot);
	free(snapshot->model_json);
	free(snapshot->cuts_json);
	free(snapshot);
}

/* The chunk of an id, or SIZE_MAX when the id is below the snapshot's base. */
static size_t chunk_index(const struct scores_snapshot *s, int64_t contact_id)
{
	if (contact_id < s->base_id)
		return SIZE_MAX;
	return (size_t)(((uint64_t)contact_id - (uint64_t)s->base_id) >> s->shift);
}

static const struct scores_row *chunk_find(const struct scores_chunk *chunk, int64_t contact_id)
{
	size_t low = 0, high = chunk->count;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (chunk->rows[middle].contact_id < contact_id)
			low = middle + 1;
		else
			high = middle;
	}
	return low < chunk->count && chunk->rows[low].contact_id == contact_id ? &chunk->rows[low]
									       : NULL;
}

const struct scores_row *scores_snapshot_find(const struct scores_snapshot *s, int64_t contact_id)
{
	size_t i = chunk_index(s, contact_id);
	if (i >= s->chunk_count || !s->chunks[i])
		return NULL;
	return chunk_find(s->chunks[i], contact_id);
}

/* The most chunk pointers a snapshot of `count` rows may have (more: sparse ids). */
static size_t chunk_limit(size_t count)
{
	return 4 * (count >> CHUNK_SHIFT) + 4096;
}

/* Cuts `rows` (count, ascending by id) into the snapshot's chunks. */
static void snapshot_set_rows(struct scores_snapshot *s, const struct scores_row *rows, size_t count)
{
	s->base_id = count && rows[0].contact_id < 0 ? rows[0].contact_id : 0;
	s->shift = CHUNK_SHIFT;
	uint64_t span = count ? (uint64_t)rows[count - 1].contact_id - (uint64_t)s->base_id : 0;
	while (s->shift < 63 && (span >> s->shift) >= chunk_limit(count))
		s->shift++;
	s->chunk_count = count ? (size_t)(span >> s->shift) + 1 : 0;
	s->chunks = xcalloc(s->chunk_count ? s->chunk_count : 1, sizeof(*s->chunks));
	s->count = count;
	for (size_t start = 0; start < count;) {
		size_t index = chunk_index(s, rows[start].contact_id), end = start + 1;
		while (end < count && chunk_index(s, rows[end].contact_id) == index)
			end++;
		struct scores_chunk *chunk = chunk_new(end - start);
		memcpy(chunk->rows, rows + start, (end - start) * sizeof(*rows));
		chunk->count = (uint32_t)(end - start);
		s->chunks[index] = chunk;
		start = end;
	}
}

/* ================================================================ the shared state */

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shared_changed = PTHREAD_COND_INITIALIZER;
/* All under shared_lock. */
static struct scores_snapshot *live_head;   /* the newest live snapshot (has `sorted`) */
static struct scores_snapshot *as_of_latest; /* the last as-of snapshot */
static bool building;                        /* a thread builds or derives: others wait */
static int64_t last_token;
static int64_t full_builds, incremental_updates;

/* The contacts each incremental update of the head redid, oldest first (under the lock). */
struct scores_delta {
	int64_t from_seq, to_seq;
	int64_t *ids;
	size_t count;
};
static struct scores_delta deltas[DELTAS_MAX];
static size_t delta_count;

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

static int compare_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
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
	qsort(all, n, sizeof(*all), compare_int64);
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

/* ================================================================ full build */

/* Predictions of histories[from, to) into rows[] (disjoint per job). */
struct predict_job {
	const struct analytics_history *histories;
	size_t from, to;
	int64_t as_of_day;
	const struct analytics_model *model;
	const struct analytics_settings *settings;
	struct scores_row *rows;
};

static void *predict_range(void *context)
{
	const struct predict_job *job = context;
	for (size_t i = job->from; i < job->to; i++) {
		struct analytics_figures figures;
		analytics_figures_predict(&job->histories[i], job->as_of_day, job->model,
					  job->settings, job->settings->horizon_days, &figures);
		row_of(&job->histories[i], job->as_of_day, &figures, &job->rows[i]);
	}
	return NULL;
}

/*
 * Runs `whole` split over up to PREDICT_THREADS threads (the series of BG/NBD cost about a
 * microsecond per customer; ltv_model.c is reentrant). Small jobs, or a thread that cannot
 * be started, run on the calling thread.
 */
#define PREDICT_THREADS 4
#define PREDICT_MIN_PER_THREAD 50000

static void predict_parallel(const struct predict_job *whole)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = whole->to - whole->from;
	size_t threads = cores > 1 ? (size_t)cores : 1;
	if (threads > PREDICT_THREADS)
		threads = PREDICT_THREADS;
	if (threads > n / PREDICT_MIN_PER_THREAD)
		threads = n / PREDICT_MIN_PER_THREAD;
	if (threads < 2) {
		predict_range((void *)whole);
		return;
	}
	struct predict_job jobs[PREDICT_THREADS];
	pthread_t ids[PREDICT_THREADS];
	bool started[PREDICT_THREADS] = { false };
	for (size_t t = 0; t < threads; t++) {
		jobs[t] = *whole;
		jobs[t].from = whole->from + n * t / threads;
		jobs[t].to = whole->from + n * (t + 1) / threads;
		if (t > 0)
			started[t] = pthread_create(&ids[t], NULL, predict_range, &jobs[t]) == 0;
	}
	predict_range(&jobs[0]);
	for (size_t t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(ids[t], NULL);
		else
			predict_range(&jobs[t]);
	}
}

/* The fit for a build: the previous snapshot's (maybe unsaved), the stored one, or a new one. */
static int build_model(struct db *db, const struct scores_snapshot *previous, const char *key,
		       bool live, const struct analytics_settings *settings,
		       int64_t purchase_generation, const struct analytics_history *histories,
		       size_t count, int64_t as_of_day, struct analytics_model *model,
		       bool *unsaved, int64_t *fit_us)
{
	*unsaved = false;
	*fit_us = 0;
	if (previous && strcmp(previous->fit_key, key) == 0 &&
	    analytics_model_usable(&previous->model, live, settings, purchase_generation)) {
		*model = previous->model;
		pthread_mutex_lock(&shared_lock);
		*unsaved = previous->model_unsaved;
		pthread_mutex_unlock(&shared_lock);
		return DB_OK;
	}
	int status = analytics_store_fit_get(db, key, model);
	if (status != DB_OK && status != DB_NOT_FOUND)
		return status;
	if (status == DB_OK && analytics_model_usable(model, live, settings, purchase_generation))
		return DB_OK;
	int64_t started = time_monotonic_us();
	analytics_model_fit_histories(histories, count, as_of_day, purchase_generation, model);
	*fit_us = time_monotonic_us() - started;
	*unsaved = true;
	return DB_OK;
}

/* A new snapshot with its version set (refs 1, no rows yet). */
static struct scores_snapshot *snapshot_new(bool live, int64_t as_of_day, int64_t config_generation,
					    int64_t change_seq, bool private_data)
{
	struct scores_snapshot *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->live = live;
	s->as_of_day = as_of_day;
	s->config_generation = config_generation;
	s->change_seq = change_seq;
	s->private_data = private_data;
	pthread_mutex_lock(&shared_lock);
	s->token = ++last_token;
	pthread_mutex_unlock(&shared_lock);
	return s;
}

/*
 * Builds every contact's scores inside the caller's transaction. `previous` (may be NULL)
 * lends its model when it still serves. On success *out is a new snapshot (one reference)
 * with its sorted measures.
 */
static int scores_build(struct db *db, bool live, int64_t as_of_day, int64_t change_seq,
			int64_t config_generation, int64_t purchase_generation, bool private_data,
			const struct scores_snapshot *previous, struct scores_snapshot **out)
{
	struct analytics_history *histories = NULL;
	struct scores_row *rows = NULL;
	size_t count = 0, customers = 0;
	int64_t fit_us = 0, started = time_monotonic_us();
	struct scores_snapshot *s =
		snapshot_new(live, as_of_day, config_generation, change_seq, private_data);
	*out = NULL;
	if (live)
		snprintf(s->fit_key, sizeof(s->fit_key), "%s", LIVE_KEY);
	else
		analytics_store_format_day(as_of_day, s->fit_key);
	int status = analytics_store_settings(db, &s->settings);
	if (status == DB_OK)
		status = analytics_store_histories(db, live ? -1 : as_of_day, &histories, &count);
	int64_t read_us = time_monotonic_us() - started;
	if (status == DB_OK)
		status = build_model(db, previous, s->fit_key, live, &s->settings,
				     purchase_generation, histories, count, as_of_day, &s->model,
				     &s->model_unsaved, &fit_us);
	if (status != DB_OK)
		goto cleanup;

	/* Predict everybody (on several cores) and collect the customers' measures. */
	int64_t predict_started = time_monotonic_us();
	rows = xmalloc((count ? count : 1) * sizeof(*rows));
	struct predict_job job = { histories, 0, count, as_of_day, &s->model, &s->settings, rows };
	predict_parallel(&job);
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		s->sorted[k] = xmalloc((count ? count : 1) * sizeof(int64_t));
	for (size_t i = 0; i < count; i++) {
		if (rows[i].purchase_days == 0)
			continue;
		struct analytics_metrics metrics;
		scores_row_metrics(&rows[i], &s->settings, &metrics);
		for (int k = 0; k < ANALYTICS_METRICS; k++)
			s->sorted[k][customers] = analytics_metric_of(&metrics, k);
		customers++;
	}
	int64_t sort_started = time_monotonic_us();
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		analytics_sort_int64(s->sorted[k], customers);
	analytics_cuts_from_sorted((const int64_t *const *)s->sorted, customers, &s->settings,
				   &s->cuts);
	s->customers = customers;
	int64_t chunks_started = time_monotonic_us();
	snapshot_set_rows(s, rows, count);
	s->model_json = analytics_model_to_text(&s->model);
	s->cuts_json = analytics_cuts_to_text(&s->cuts, s->settings.tier_count);
	int64_t done = time_monotonic_us();
	pthread_mutex_lock(&shared_lock);
	full_builds++;
	pthread_mutex_unlock(&shared_lock);
	log_info("analytics: scores of %zu contacts (%zu customers) as of %s built in %lld ms "
		 "(read %lld, fit %lld, predict %lld, sort %lld, chunks %lld)",
		 count, customers, live ? "today" : s->fit_key, (long long)(done - started) / 1000,
		 (long long)read_us / 1000, (long long)fit_us / 1000,
		 (long long)(sort_started - predict_started) / 1000,
		 (long long)(chunks_started - sort_started) / 1000,
		 (long long)(done - chunks_started) / 1000);
	*out = s;
	s = NULL;
cleanup:
	scores_snapshot_unref(s);
	free(rows);
	free(histories);
	return status;
}

/* ================================================================ incremental update */

/*
 * sorted (n, ascending) minus the multiset `removed` plus `added` (both sorted), in one
 * merge pass. Returns a new array; *n is updated.
 */
static int64_t *merge_sorted(const int64_t *sorted, size_t *n, const int64_t *removed,
			     size_t removed_count, const int64_t *added, size_t added_count)
{
	size_t total = *n + added_count, out = 0, i = 0, r = 0, a = 0;
	int64_t *result = xmalloc((total ? total : 1) * sizeof(*result));
	while (i < *n || a < added_count) {
		if (i < *n && r < removed_count && sorted[i] == removed[r]) {
			i++;
			r++;
			continue;
		}
		if (i < *n && r < removed_count && removed[r] < sorted[i]) {
			r++; /* cannot happen: every removed value is in the array */
			continue;
		}
		if (a < added_count && (i >= *n || added[a] <= sorted[i]))
			result[out++] = added[a++];
		else
			result[out++] = sorted[i++];
	}
	*n = out;
	return result;
}

/* One changed contact: its new row, if it has one. */
struct change {
	struct scores_row row;
	bool present;
};

/*
 * The chunks of `s` (a copy of the base's chunk array, every chunk referenced) with the
 * changes (ascending by id) merged in: each chunk a change falls in is replaced by a new one.
 * Returns false when an id falls outside what the chunking allows (a full build then).
 */
static bool chunks_apply(struct scores_snapshot *s, const struct change *changes, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		size_t index = chunk_index(s, changes[j].row.contact_id);
		if (index == SIZE_MAX || index >= chunk_limit(s->count + k))
			return false;
		if (index >= s->chunk_count) {
			s->chunks = xrealloc(s->chunks, (index + 1) * sizeof(*s->chunks));
			memset(s->chunks + s->chunk_count, 0,
			       (index + 1 - s->chunk_count) * sizeof(*s->chunks));
			s->chunk_count = index + 1;
		}
	}
	for (size_t j = 0; j < k;) {
		size_t index = chunk_index(s, changes[j].row.contact_id), end = j;
		while (end < k && chunk_index(s, changes[end].row.contact_id) == index)
			end++;
		struct scores_chunk *old = s->chunks[index];
		size_t old_count = old ? old->count : 0;
		struct scores_chunk *chunk = chunk_new(old_count + (end - j));
		size_t out = 0, i = 0, c = j;
		while (i < old_count || c < end) {
			if (c < end && (i >= old_count || changes[c].row.contact_id <= old->rows[i].contact_id)) {
				if (i < old_count && old->rows[i].contact_id == changes[c].row.contact_id)
					i++; /* replaced or removed */
				if (changes[c].present)
					chunk->rows[out++] = changes[c].row;
				c++;
			} else {
				chunk->rows[out++] = old->rows[i++];
			}
		}
		s->count = s->count - old_count + out;
		chunk->count = (uint32_t)out;
		chunk_unref(old);
		if (out == 0) {
			chunk_unref(chunk);
			chunk = NULL;
		}
		s->chunks[index] = chunk;
		j = end;
	}
	return true;
}

/*
 * A new snapshot from `base` (which has its sorted measures) with the contacts `ids` (k,
 * ascending, distinct) redone from the caller's transaction, at version `change_seq`. The
 * new one keeps sorted measures when `keep_sorted` (it becomes the head). Returns a
 * db_status; *out NULL with DB_OK when the update cannot be done incrementally.
 */
static int scores_derive(struct db *db, const struct scores_snapshot *base, const int64_t *ids,
			 size_t k, int64_t change_seq, bool private_data, bool keep_sorted,
			 struct scores_snapshot **out)
{
	struct change *changes = xcalloc(k ? k : 1, sizeof(*changes));
	int64_t *removed[ANALYTICS_METRICS], *added[ANALYTICS_METRICS];
	size_t removed_count = 0, added_count = 0;
	int status = DB_OK;
	*out = NULL;
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		removed[m] = xmalloc((k ? k : 1) * sizeof(int64_t));
		added[m] = xmalloc((k ? k : 1) * sizeof(int64_t));
	}
	for (size_t j = 0; j < k && status == DB_OK; j++) {
		struct analytics_history history;
		status = analytics_store_history(db, ids[j], -1, &history);
		if (status != DB_OK)
			break;
		const struct scores_row *old = scores_snapshot_find(base, ids[j]);
		struct analytics_metrics metrics;
		if (old && old->purchase_days > 0) {
			scores_row_metrics(old, &base->settings, &metrics);
			for (int m = 0; m < ANALYTICS_METRICS; m++)
				removed[m][removed_count] = analytics_metric_of(&metrics, m);
			removed_count++;
		}
		struct change *change = &changes[j];
		change->present = history.purchases_count > 0 || history.interactions_count > 0;
		struct analytics_figures figures;
		analytics_figures_predict(&history, base->as_of_day, &base->model, &base->settings,
					  base->settings.horizon_days, &figures);
		row_of(&history, base->as_of_day, &figures, &change->row);
		if (change->present && history.purchase_days > 0) {
			scores_row_metrics(&change->row, &base->settings, &metrics);
			for (int m = 0; m < ANALYTICS_METRICS; m++)
				added[m][added_count] = analytics_metric_of(&metrics, m);
			added_count++;
		}
	}
	if (status != DB_OK)
		goto cleanup;

	struct scores_snapshot *s = snapshot_new(base->live, base->as_of_day,
						 base->config_generation, change_seq, private_data);
	s->settings = base->settings;
	s->model = base->model;
	s->model_json = xstrdup(base->model_json);
	snprintf(s->fit_key, sizeof(s->fit_key), "%s", base->fit_key);
	pthread_mutex_lock(&shared_lock);
	s->model_unsaved = base->model_unsaved;
	pthread_mutex_unlock(&shared_lock);
	s->base_id = base->base_id;
	s->shift = base->shift;
	s->count = base->count;
	s->chunk_count = base->chunk_count;
	s->chunks = xmalloc((s->chunk_count ? s->chunk_count : 1) * sizeof(*s->chunks));
	for (size_t i = 0; i < s->chunk_count; i++) {
		s->chunks[i] = base->chunks[i];
		if (s->chunks[i])
			atomic_fetch_add(&s->chunks[i]->refs, 1);
	}
	if (!chunks_apply(s, changes, k)) {
		scores_snapshot_unref(s);
		goto cleanup; /* DB_OK, *out NULL: build in full */
	}
	/* The measures and cut points of the new customer base. */
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		qsort(removed[m], removed_count, sizeof(int64_t), compare_int64);
		qsort(added[m], added_count, sizeof(int64_t), compare_int64);
		size_t n = base->customers;
		s->sorted[m] = merge_sorted(base->sorted[m], &n, removed[m], removed_count,
					    added[m], added_count);
		s->customers = n;
	}
	analytics_cuts_from_sorted((const int64_t *const *)s->sorted, s->customers, &s->settings,
				   &s->cuts);
	s->cuts_json = analytics_cuts_to_text(&s->cuts, s->settings.tier_count);
	if (!keep_sorted)
		snapshot_free_sorted(s);
	pthread_mutex_lock(&shared_lock);
	incremental_updates++;
	pthread_mutex_unlock(&shared_lock);
	*out = s;
cleanup:
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		free(removed[m]);
		free(added[m]);
	}
	free(changes);
	return status;
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
		snapshot_free_sorted(live_head); /* only the newest needs them; only builders read them */
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
			status = scores_derive(db, head, ids, k, v->change_seq, v->writing, becomes_head,
					       out);
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
			snapshot_free_sorted(*out); /* not the head: nobody derives from it */
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
