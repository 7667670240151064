/*
 * analytics_scores_build.c - making snapshots of the scores (analytics_scores_int.h): a full
 * build reads every contact's history in the caller's transaction, takes or fits the
 * models, predicts every customer on several cores, sorts the measures the cut points are
 * over and cuts the rows into chunks; an incremental update redoes only the contacts that
 * changed on top of a base snapshot and merges their measures into the sorted ones.
 * analytics_scores.c decides which to run and publishes the result.
 */
#define _POSIX_C_SOURCE 200809L
#include "analytics/analytics_scores_int.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

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
		scores_row_of(&job->histories[i], job->as_of_day, &figures, &job->rows[i]);
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
		*unsaved = scores_model_unsaved(previous);
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
 * Builds every contact's scores inside the caller's transaction. `previous` (may be NULL)
 * lends its model when it still serves. On success *out is a new snapshot (one reference)
 * with its sorted measures.
 */
int scores_build(struct db *db, bool live, int64_t as_of_day, int64_t change_seq,
		 int64_t config_generation, int64_t purchase_generation, bool private_data,
		 const struct scores_snapshot *previous, struct scores_snapshot **out)
{
	struct analytics_history *histories = NULL;
	struct scores_row *rows = NULL;
	size_t count = 0, customers = 0;
	int64_t fit_us = 0, started = time_monotonic_us();
	struct scores_snapshot *s =
	    scores_snapshot_new(live, as_of_day, config_generation, change_seq, private_data);
	*out = NULL;
	if (live)
		snprintf(s->fit_key, sizeof(s->fit_key), "%s", SCORES_LIVE_KEY);
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
	scores_snapshot_set_rows(s, rows, count);
	s->model_json = analytics_model_to_text(&s->model);
	s->cuts_json = analytics_cuts_to_text(&s->cuts, s->settings.tier_count);
	int64_t done = time_monotonic_us();
	scores_counted(false);
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
 * A new snapshot from `base` (which has its sorted measures) with the contacts `ids` (k,
 * ascending, distinct) redone from the caller's transaction, at version `change_seq`. The
 * new one keeps sorted measures when `keep_sorted` (it becomes the head). Returns a
 * db_status; *out NULL with DB_OK when the update cannot be done incrementally.
 */
int scores_derive(struct db *db, const struct scores_snapshot *base, const int64_t *ids, size_t k,
		  int64_t change_seq, bool private_data, bool keep_sorted,
		  struct scores_snapshot **out)
{
	struct scores_change *changes = xcalloc(k ? k : 1, sizeof(*changes));
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
		struct scores_change *change = &changes[j];
		change->present = history.purchases_count > 0 || history.interactions_count > 0;
		struct analytics_figures figures;
		analytics_figures_predict(&history, base->as_of_day, &base->model, &base->settings,
					  base->settings.horizon_days, &figures);
		scores_row_of(&history, base->as_of_day, &figures, &change->row);
		if (change->present && history.purchase_days > 0) {
			scores_row_metrics(&change->row, &base->settings, &metrics);
			for (int m = 0; m < ANALYTICS_METRICS; m++)
				added[m][added_count] = analytics_metric_of(&metrics, m);
			added_count++;
		}
	}
	if (status != DB_OK)
		goto cleanup;

	struct scores_snapshot *s = scores_snapshot_new(
	    base->live, base->as_of_day, base->config_generation, change_seq, private_data);
	s->settings = base->settings;
	s->model = base->model;
	s->model_json = xstrdup(base->model_json);
	snprintf(s->fit_key, sizeof(s->fit_key), "%s", base->fit_key);
	s->model_unsaved = scores_model_unsaved(base);
	scores_snapshot_share_chunks(s, base);
	if (!scores_snapshot_apply(s, changes, k)) {
		scores_snapshot_unref(s);
		goto cleanup; /* DB_OK, *out NULL: build in full */
	}
	/* The measures and cut points of the new customer base. */
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		qsort(removed[m], removed_count, sizeof(int64_t), scores_compare_int64);
		qsort(added[m], added_count, sizeof(int64_t), scores_compare_int64);
		size_t n = base->customers;
		s->sorted[m] = scores_merge_sorted(base->sorted[m], &n, removed[m], removed_count,
						   added[m], added_count);
		s->customers = n;
	}
	analytics_cuts_from_sorted((const int64_t *const *)s->sorted, s->customers, &s->settings,
				   &s->cuts);
	s->cuts_json = analytics_cuts_to_text(&s->cuts, s->settings.tier_count);
	if (!keep_sorted)
		scores_snapshot_free_sorted(s);
	scores_counted(true);
	*out = s;
cleanup:
	for (int m = 0; m < ANALYTICS_METRICS; m++) {
		free(removed[m]);
		free(added[m]);
	}
	free(changes);
	return status;
}
