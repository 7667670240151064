/*
 * analytics_scores.c - the per-connection TEMP table of scores (temp.contact_scores) and
 * analytics_scores_prepare(), the contract with segments (analytics.h).
 *
 * A full build reads every contact's history, takes the fitted models (this connection's,
 * the stored ones, or a new fit), predicts every customer, sorts the four measures the cut
 * points are over (recency, frequency, monetary, tier metric), classifies and fills the
 * table. It costs a few seconds per million contacts, so it happens only when it must: on
 * the first use of a connection, on a new day (every customer's age moved), after a refit
 * or a settings change, for another as_of day, or when many contacts changed.
 *
 * Otherwise the triggers' change log (analytics_changes) names the contacts that changed
 * since the table's build, and only they are redone: each one's history is read again,
 * predicted with the same models and put in the table; the sorted measures are merged with
 * the old and new values of those contacts, the cut points recomputed from them, and when a
 * cut point moved, every customer is reclassified in memory and the rows whose rfm, tier or
 * value class changed are rewritten. The result is exactly what a full build would give.
 * That needs the measures in memory: each thread keeps the last build of its connection
 * (struct scores_cache, about 72 bytes per customer), freed when the thread ends.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define LIVE_KEY "live"
/* Incremental updates stop paying off beyond this share of the rows (or 2,000 contacts). */
#define INCREMENTAL_MIN_CONTACTS 2000
#define INCREMENTAL_SHARE_DIVISOR 10

/* ================================================================ the in-memory copy */

static const char *const value_classes[] = { NULL, "high_value_high_service",
					      "high_value_low_service", "low_value_potential",
					      "low_value_high_service" };

static uint8_t value_class_index(const char *name)
{
	for (uint8_t i = 1; i < sizeof(value_classes) / sizeof(value_classes[0]); i++)
		if (name && strcmp(value_classes[i], name) == 0)
			return i;
	return 0;
}

/* What reclassifying a row needs: its measures and its current relative figures. */
struct cache_row {
	int64_t contact_id;
	struct analytics_metrics metrics; /* recency_days -1: not a customer */
	uint8_t high_service;
	uint8_t r, f, m;
	int8_t tier;
	uint8_t value_class; /* index into value_classes */
};

struct scores_cache {
	struct db *db;          /* the connection of the build */
	int64_t token;          /* the build's, also in temp.analytics_scores_state */
	bool valid;
	int64_t as_of_day;
	struct analytics_settings settings;
	struct analytics_model model;
	struct cache_row *rows; /* every row of the table, by contact id */
	size_t count;
	int64_t *sorted[ANALYTICS_METRICS]; /* the customers' measures, ascending */
	size_t customers;
	struct analytics_cuts cuts;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_token;
static int64_t full_builds, incremental_updates; /* under token_lock */

static void cache_release(struct scores_cache *cache)
{
	free(cache->rows);
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		free(cache->sorted[k]);
	memset(cache, 0, sizeof(*cache));
}

static void cache_destroy(void *cache)
{
	cache_release(cache);
	free(cache);
}

/* At exit, the thread calling exit() (usually main) frees its copy: key destructors run
 * only for threads that end. */
static void cache_destroy_at_exit(void)
{
	struct scores_cache *cache = pthread_getspecific(cache_key);
	if (cache) {
		pthread_setspecific(cache_key, NULL);
		cache_destroy(cache);
	}
}

static void cache_key_create(void)
{
	pthread_key_create(&cache_key, cache_destroy);
	atexit(cache_destroy_at_exit);
}

/* This thread's cache (allocated on first use, freed when the thread ends). */
static struct scores_cache *thread_cache(void)
{
	pthread_once(&cache_once, cache_key_create);
	struct scores_cache *cache = pthread_getspecific(cache_key);
	if (!cache) {
		cache = xcalloc(1, sizeof(*cache));
		pthread_setspecific(cache_key, cache);
	}
	return cache;
}

void analytics_scores_counts(int64_t *builds, int64_t *updates)
{
	pthread_mutex_lock(&token_lock);
	*builds = full_builds;
	*updates = incremental_updates;
	pthread_mutex_unlock(&token_lock);
}

static void count_build(bool full)
{
	pthread_mutex_lock(&token_lock);
	if (full)
		full_builds++;
	else
		incremental_updates++;
	pthread_mutex_unlock(&token_lock);
}

static int64_t next_token(void)
{
	pthread_mutex_lock(&token_lock);
	int64_t token = ++last_token;
	pthread_mutex_unlock(&token_lock);
	return token;
}

static void fill_relative(struct cache_row *row, const struct analytics_relative *relative)
{
	row->r = (uint8_t)relative->r;
	row->f = (uint8_t)relative->f;
	row->m = (uint8_t)relative->m;
	row->tier = (int8_t)relative->tier;
	row->value_class = value_class_index(relative->value_class);
}

/* ================================================================ one contact's row */

/* A contact's row and figures from its history (models, cut points and settings given). */
static void score_contact(const struct analytics_history *h, int64_t as_of_day,
			  const struct analytics_model *model, const struct analytics_settings *settings,
			  struct analytics_figures *figures, struct cache_row *row)
{
	analytics_figures_predict(h, as_of_day, model, settings, settings->horizon_days, figures);
	memset(row, 0, sizeof(*row));
	row->contact_id = h->contact_id;
	row->metrics.recency_days = -1;
	row->tier = -1;
	if (h->purchase_days == 0)
		return;
	row->metrics.recency_days = figures->recency_days;
	row->metrics.purchase_days = h->purchase_days;
	row->metrics.total_cents = h->total_cents;
	row->metrics.tier_metric = settings->tier_metric == ANALYTICS_METRIC_LTV
					   ? figures->historical_ltv_cents
					   : figures->predicted_ltv_cents;
	row->high_service = analytics_high_service(h);
}

/* What figures_of_row() needs during a fill. */
struct fill_context {
	const struct analytics_history *histories;
	const struct analytics_figures *figures; /* predicted, one per history */
	const struct analytics_cuts *cuts;
	const struct analytics_settings *settings;
	int64_t as_of_day;
};

/* analytics_figures_fn: classify row `index` with the predicted figures and cut points. */
static void figures_of_row(void *context, size_t index, struct analytics_figures *figures,
			   const char **tier_name)
{
	const struct fill_context *fill = context;
	*figures = fill->figures[index];
	analytics_figures_classify(&fill->histories[index], fill->as_of_day, fill->cuts,
				   fill->settings, figures);
	*tier_name = figures->tier >= 0 ? fill->settings->tiers[figures->tier].name : NULL;
}

/* A compact copy of the figures pass one needs again in pass two. */
struct compact_figures {
	int64_t predicted_ltv_cents;
	double p_alive, expected_purchases;
};

/* analytics_figures_fn for the full build: rebuilds the figures from the compact copy. */
struct full_fill_context {
	const struct analytics_history *histories;
	const struct compact_figures *compact;
	struct cache_row *rows;
	const struct analytics_cuts *cuts;
	const struct analytics_settings *settings;
	int64_t as_of_day;
};

static void figures_of_full_row(void *context, size_t index, struct analytics_figures *figures,
				const char **tier_name)
{
	const struct full_fill_context *fill = context;
	const struct analytics_history *h = &fill->histories[index];
	const struct compact_figures *compact = &fill->compact[index];
	memset(figures, 0, sizeof(*figures));
	figures->historical_ltv_cents =
		(int64_t)llround((double)h->total_cents * fill->settings->gross_margin);
	figures->predicted_ltv_cents = compact->predicted_ltv_cents;
	figures->p_alive = compact->p_alive;
	figures->churn_risk = 1.0 - compact->p_alive;
	figures->expected_purchases = compact->expected_purchases;
	figures->recency_days = fill->rows[index].metrics.recency_days;
	analytics_figures_classify(h, fill->as_of_day, fill->cuts, fill->settings, figures);
	*tier_name = figures->tier >= 0 ? fill->settings->tiers[figures->tier].name : NULL;
	struct analytics_relative relative = { figures->r, figures->f, figures->m, figures->tier,
					       figures->value_class };
	if (h->purchase_days > 0)
		fill_relative(&fill->rows[index], &relative);
}

/* ================================================================ full build */

/* Predictions of histories[from, to) into rows[] and compact[] (disjoint per job). */
struct predict_job {
	const struct analytics_history *histories;
	size_t from, to;
	int64_t as_of_day;
	const struct analytics_model *model;
	const struct analytics_settings *settings;
	struct cache_row *rows;
	struct compact_figures *compact;
};

static void *predict_range(void *context)
{
	const struct predict_job *job = context;
	for (size_t i = job->from; i < job->to; i++) {
		struct analytics_figures figures;
		score_contact(&job->histories[i], job->as_of_day, job->model, job->settings, &figures,
			      &job->rows[i]);
		job->compact[i].predicted_ltv_cents = figures.predicted_ltv_cents;
		job->compact[i].p_alive = figures.p_alive;
		job->compact[i].expected_purchases = figures.expected_purchases;
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

/* The fit for a build: this connection's (maybe unsaved), the stored one, or a new one. */
static int build_model(struct db *db, const struct analytics_scores_state *previous,
		       const char *key, bool live, const struct analytics_settings *settings,
		       int64_t purchase_generation, const struct analytics_history *histories,
		       size_t count, int64_t as_of_day, struct analytics_model *model,
		       bool *unsaved, int64_t *fit_us)
{
	*unsaved = false;
	*fit_us = 0;
	if (previous && previous->model_json && strcmp(previous->fit_key, key) == 0 &&
	    analytics_model_from_text(model, previous->model_json) == 0 &&
	    analytics_model_usable(model, live, settings, purchase_generation)) {
		*unsaved = previous->model_unsaved;
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

/*
 * Rebuilds the whole table and, for a live build, this thread's cache. Inside the
 * caller's transaction.
 */
static int scores_build(struct db *db, bool live, int64_t as_of_day, int64_t change_seq,
			int64_t config_generation, int64_t purchase_generation,
			const struct analytics_scores_state *previous)
{
	struct scores_cache *cache = thread_cache();
	struct analytics_history *histories = NULL;
	struct compact_figures *compact = NULL;
	size_t count = 0, customers = 0;
	struct analytics_settings settings;
	struct analytics_model model;
	bool unsaved;
	int64_t fit_us = 0, started = time_monotonic_us();
	char key[ANALYTICS_DATE_SIZE + 4];
	char *model_text = NULL, *cuts_text = NULL;

	cache_release(cache); /* the table is about to change: the copy is void until done */
	if (live)
		snprintf(key, sizeof(key), "%s", LIVE_KEY);
	else
		analytics_store_format_day(as_of_day, key);
	int status = analytics_store_settings(db, &settings);
	if (status == DB_OK)
		status = analytics_store_histories(db, live ? -1 : as_of_day, &histories, &count);
	int64_t read_us = time_monotonic_us() - started;
	if (status == DB_OK)
		status = build_model(db, previous, key, live, &settings, purchase_generation,
				     histories, count, as_of_day, &model, &unsaved, &fit_us);
	if (status != DB_OK)
		goto cleanup;

	/* Pass one: predict everybody (on several cores) and collect the customers' measures. */
	int64_t predict_started = time_monotonic_us();
	struct cache_row *rows = xmalloc((count ? count : 1) * sizeof(*rows));
	compact = xmalloc((count ? count : 1) * sizeof(*compact));
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		cache->sorted[k] = xmalloc((count ? count : 1) * sizeof(int64_t));
	cache->rows = rows;
	struct predict_job job = { histories, 0, count, as_of_day, &model, &settings, rows, compact };
	predict_parallel(&job);
	for (size_t i = 0; i < count; i++) {
		if (histories[i].purchase_days == 0)
			continue;
		for (int k = 0; k < ANALYTICS_METRICS; k++)
			cache->sorted[k][customers] = analytics_metric_of(&rows[i].metrics, k);
		customers++;
	}
	int64_t sort_started = time_monotonic_us();
	for (int k = 0; k < ANALYTICS_METRICS; k++)
		analytics_sort_int64(cache->sorted[k], customers);
	analytics_cuts_from_sorted((const int64_t *const *)cache->sorted, customers, &settings,
				   &cache->cuts);

	/* Pass two: classify and fill the table. */
	int64_t fill_started = time_monotonic_us();
	struct full_fill_context fill = { histories, compact, rows, &cache->cuts, &settings,
					  as_of_day };
	status = analytics_store_scores_clear(db);
	if (status == DB_OK)
		status = analytics_store_scores_fill(db, histories, count, figures_of_full_row, &fill);
	if (status != DB_OK)
		goto cleanup;
	model_text = analytics_model_to_text(&model);
	cuts_text = analytics_cuts_to_text(&cache->cuts, settings.tier_count);
	struct analytics_scores_state state = {
		.change_seq = change_seq,
		.config_generation = config_generation,
		.token = next_token(),
		.live = live,
		.as_of_day = as_of_day,
		.cuts_json = cuts_text,
		.model_json = model_text,
		.model_unsaved = unsaved,
	};
	snprintf(state.fit_key, sizeof(state.fit_key), "%s", key);
	status = analytics_store_scores_state_put(db, &state);
	if (status != DB_OK)
		goto cleanup;
	int64_t done = time_monotonic_us();
	count_build(true);
	log_info("analytics: scores of %zu contacts (%zu customers) as of %s built in %lld ms "
		 "(read %lld, fit %lld, predict %lld, sort %lld, table %lld)",
		 count, customers, live ? "today" : key, (long long)(done - started) / 1000,
		 (long long)read_us / 1000, (long long)fit_us / 1000,
		 (long long)(sort_started - predict_started) / 1000,
		 (long long)(fill_started - sort_started) / 1000,
		 (long long)(done - fill_started) / 1000);
	if (live) { /* keep the copy for incremental updates */
		cache->db = db;
		cache->token = state.token;
		cache->valid = true;
		cache->as_of_day = as_of_day;
		cache->settings = settings;
		cache->model = model;
		cache->count = count;
		cache->customers = customers;
	}
cleanup:
	if (!cache->valid)
		cache_release(cache);
	free(model_text);
	free(cuts_text);
	free(compact);
	free(histories);
	return status;
}

/* ================================================================ incremental update */

static int compare_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The row of `contact_id` in the cache, or NULL. */
static struct cache_row *cache_find(struct scores_cache *cache, int64_t contact_id)
{
	size_t low = 0, high = cache->count;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (cache->rows[middle].contact_id < contact_id)
			low = middle + 1;
		else
			high = middle;
	}
	return low < cache->count && cache->rows[low].contact_id == contact_id ? &cache->rows[low]
									       : NULL;
}

/*
 * sorted (n, ascending) minus the multiset `removed` plus `added` (both sorted), in one
 * merge pass. Returns a new array (the caller frees the old one); *n is updated.
 */
static int64_t *merge_sorted(const int64_t *sorted, size_t *n, const int64_t *removed,
			     size_t removed_count, const int64_t *added, size_t added_count)
{
	size_t total = *n - removed_count + added_count, out = 0, i = 0, r = 0, a = 0;
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

/* One changed contact: its new history (if any) and row. */
struct change {
	struct analytics_history history;
	struct analytics_figures figures;
	struct cache_row row;
	bool present; /* has a row now */
};

/* Applies the changed contacts to the cache's rows: one merge pass. */
static void cache_merge_rows(struct scores_cache *cache, const struct change *changes, size_t k)
{
	size_t present = 0;
	for (size_t j = 0; j < k; j++)
		present += changes[j].present;
	struct cache_row *rows = xmalloc((cache->count + present + 1) * sizeof(*rows));
	size_t out = 0, i = 0, j = 0;
	while (i < cache->count || j < k) {
		if (j < k && (i >= cache->count || changes[j].row.contact_id <= cache->rows[i].contact_id)) {
			if (i < cache->count && cache->rows[i].contact_id == changes[j].row.contact_id)
				i++; /* replaced or removed */
			if (changes[j].present)
				rows[out++] = changes[j].row;
			j++;
		} else {
			rows[out++] = cache->rows[i++];
		}
	}
	free(cache->rows);
	cache->rows = rows;
	cache->count = out;
}

/*
 * Brings the table from its change_seq to max_seq by redoing the contacts in `ids` (k,
 * ascending). Inside the caller's transaction. On an error the cache is dropped (the next
 * call rebuilds).
 */
static int scores_update(struct db *db, struct scores_cache *cache, const int64_t *ids, size_t k,
			 int64_t max_seq)
{
	struct change *changes = xcalloc(k ? k : 1, sizeof(*changes));
	int64_t *removed[ANALYTICS_METRICS], *added[ANALYTICS_METRICS];
	size_t removed_count = 0, added_count = 0;
	char *cuts_text = NULL;
	int status = DB_OK;
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		removed[m] = xmalloc((k ? k : 1) * sizeof(int64_t));
		added[m] = xmalloc((k ? k : 1) * sizeof(int64_t));
	}

	for (size_t j = 0; j < k && status == DB_OK; j++) {
		struct change *change = &changes[j];
		status = analytics_store_history(db, ids[j], -1, &change->history);
		if (status != DB_OK)
			break;
		const struct cache_row *old = cache_find(cache, ids[j]);
		if (old && old->metrics.recency_days >= 0) {
			for (int m = 0; m < ANALYTICS_METRICS; m++)
				removed[m][removed_count] = analytics_metric_of(&old->metrics, m);
			removed_count++;
		}
		change->present = change->history.purchases_count > 0 ||
				  change->history.interactions_count > 0;
		score_contact(&change->history, cache->as_of_day, &cache->model, &cache->settings,
			      &change->figures, &change->row);
		if (change->present && change->history.purchase_days > 0) {
			for (int m = 0; m < ANALYTICS_METRICS; m++)
				added[m][added_count] = analytics_metric_of(&change->row.metrics, m);
			added_count++;
		}
	}
	if (status != DB_OK)
		goto cleanup;

	/* The measures and cut points of the new customer base. */
	size_t customers = cache->customers;
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		qsort(removed[m], removed_count, sizeof(int64_t), compare_int64);
		qsort(added[m], added_count, sizeof(int64_t), compare_int64);
		size_t n = cache->customers;
		int64_t *merged = merge_sorted(cache->sorted[m], &n, removed[m], removed_count,
					       added[m], added_count);
		free(cache->sorted[m]);
		cache->sorted[m] = merged;
		customers = n;
	}
	cache->customers = customers;
	struct analytics_cuts cuts;
	analytics_cuts_from_sorted((const int64_t *const *)cache->sorted, customers, &cache->settings,
				   &cuts);
	bool cuts_moved = memcmp(&cuts, &cache->cuts, sizeof(cuts)) != 0;
	cache->cuts = cuts;
	cache_merge_rows(cache, changes, k);

	/* The changed contacts' rows. */
	for (size_t j = 0; j < k && status == DB_OK; j++) {
		struct change *change = &changes[j];
		status = analytics_store_scores_delete(db, ids[j]);
		if (status != DB_OK || !change->present)
			continue;
		struct fill_context fill = { &change->history, &change->figures, &cache->cuts,
					     &cache->settings, cache->as_of_day };
		status = analytics_store_scores_fill(db, &change->history, 1, figures_of_row, &fill);
		struct cache_row *row = cache_find(cache, ids[j]);
		if (row && row->metrics.recency_days >= 0) {
			struct analytics_relative relative;
			analytics_classify_relative(&row->metrics, row->high_service, &cache->cuts,
						    &cache->settings, &relative);
			fill_relative(row, &relative);
		}
	}
	/* Everybody whose quintile, tier or value class a moved cut point changed. */
	for (size_t i = 0; cuts_moved && status == DB_OK && i < cache->count; i++) {
		struct cache_row *row = &cache->rows[i];
		if (row->metrics.recency_days < 0)
			continue;
		struct analytics_relative relative;
		analytics_classify_relative(&row->metrics, row->high_service, &cache->cuts,
					    &cache->settings, &relative);
		uint8_t class_index = value_class_index(relative.value_class);
		if (relative.r == row->r && relative.f == row->f && relative.m == row->m &&
		    relative.tier == row->tier && class_index == row->value_class)
			continue;
		fill_relative(row, &relative);
		char rfm[4] = { (char)('0' + relative.r), (char)('0' + relative.f),
				(char)('0' + relative.m), '\0' };
		status = analytics_store_scores_set_relative(
			db, row->contact_id, rfm, cache->settings.tiers[relative.tier].name,
			relative.value_class);
	}
	if (status != DB_OK)
		goto cleanup;
	/* A new token: if the caller's transaction is rolled back, the table returns to the
	 * old state and its token no longer matches this copy, which then is not trusted. */
	cuts_text = analytics_cuts_to_text(&cache->cuts, cache->settings.tier_count);
	cache->token = next_token();
	status = analytics_store_scores_state_advance(db, max_seq, cache->token, cuts_text);
cleanup:
	if (status != DB_OK)
		cache_release(cache);
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		free(removed[m]);
		free(added[m]);
	}
	free(cuts_text);
	free(changes);
	return status;
}

/* ================================================================ prepare */

/*
 * Brings the scores up to date inside the current transaction: nothing, an incremental
 * update, or a full build. Returns a db_status.
 */
static int scores_refresh(struct db *db, bool live, int64_t as_of_day)
{
	int64_t config_generation, purchase_generation, purchases, min_seq, max_seq;
	struct analytics_scores_state state;
	int64_t *ids = NULL;
	int status = analytics_store_state(db, &config_generation, &purchase_generation, &purchases);
	if (status == DB_OK)
		status = analytics_store_changes_range(db, &min_seq, &max_seq);
	if (status != DB_OK)
		return status;
	(void)purchases;
	status = analytics_store_scores_state_get(db, &state);
	if (status != DB_OK && status != DB_NOT_FOUND)
		return status;
	bool built = status == DB_OK;
	bool same_base = built && state.config_generation == config_generation &&
			 state.live == live && state.as_of_day == as_of_day;
	if (same_base && state.change_seq == max_seq) {
		analytics_scores_state_release(&state);
		return DB_OK;
	}

	/* A few live changes on this thread's copy of this very table: update just those. */
	struct scores_cache *cache = thread_cache();
	if (same_base && live && cache->valid && cache->db == db && cache->token == state.token &&
	    min_seq <= state.change_seq + 1) {
		struct analytics_settings settings;
		status = analytics_store_settings(db, &settings);
		if (status != DB_OK)
			goto cleanup;
		size_t limit = cache->count / INCREMENTAL_SHARE_DIVISOR;
		if (limit < INCREMENTAL_MIN_CONTACTS)
			limit = INCREMENTAL_MIN_CONTACTS;
		size_t k = 0;
		bool model_fresh =
			analytics_model_usable(&cache->model, true, &settings, purchase_generation);
		if (model_fresh)
			status = analytics_store_changed_contacts(db, state.change_seq, limit, &ids, &k);
		if (status != DB_OK)
			goto cleanup;
		if (model_fresh && k <= limit) {
			int64_t started = time_monotonic_us();
			status = scores_update(db, cache, ids, k, max_seq);
			if (status == DB_OK)
				count_build(false);
			log_info("analytics: scores of %zu changed contacts updated in %lld us", k,
				 (long long)(time_monotonic_us() - started));
			goto cleanup;
		}
	}
	status = scores_build(db, live, as_of_day, max_seq, config_generation, purchase_generation,
			      built ? &state : NULL);
cleanup:
	free(ids);
	analytics_scores_state_release(&state);
	return status;
}

int analytics_scores_prepare_in_transaction(struct db *db, int64_t as_of_or_0)
{
	int status = analytics_store_scores_ensure(db);
	if (status != DB_OK)
		return status;
	bool live = as_of_or_0 == 0;
	int64_t as_of_day = live ? analytics_today() : analytics_day_of(as_of_or_0);
	return scores_refresh(db, live, as_of_day);
}

int analytics_scores_prepare(struct db *db, int64_t as_of_or_0)
{
	if (analytics_store_in_transaction(db))
		return analytics_scores_prepare_in_transaction(db, as_of_or_0);
	int status = analytics_store_scores_ensure(db);
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
