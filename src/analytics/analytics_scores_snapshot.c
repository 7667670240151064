/*
 * analytics_scores_snapshot.c - the scores snapshot as a data structure (analytics_scores.h):
 * rows made from a contact's history, chunks of rows by contact id, reference counting,
 * lookups, and the two ways a snapshot gets its rows: cut from a full build's sorted rows,
 * or a base's chunks shared with the changed ones replaced. Also the merge of sorted
 * measures an incremental update needs. No locks and no database: analytics_scores.c
 * decides which snapshot exists, analytics_scores_build.c fills them.
 */
#define _POSIX_C_SOURCE 200809L
#include "analytics/analytics_scores_int.h"

#include <math.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/banned.h"

/* Chunks of up to 4,096 ids; more chunk pointers than this allows means sparse ids. */
#define CHUNK_SHIFT 12

const char *const scores_loyalty_names[4] = { NULL, "active", "passive", "none" };
const char *const scores_stage_names[7] = { NULL,	     "contact",	    "involvement", "intimacy",
					    "deterioration", "repair", "dissolution" };

/* Unique per snapshot in this process. */
static _Atomic int64_t last_token;

static uint8_t name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 1; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (uint8_t)i;
	return 0;
}

/* ================================================================ rows */

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
void scores_row_of(const struct analytics_history *h, int64_t as_of_day,
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

/* ================================================================ chunks and snapshots */

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

void scores_snapshot_free_sorted(struct scores_snapshot *snapshot)
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
	scores_snapshot_free_sorted(snapshot);
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

/* A new snapshot with its version set (refs 1, no rows yet). */
struct scores_snapshot *scores_snapshot_new(bool live, int64_t as_of_day, int64_t config_generation,
					    int64_t change_seq, bool private_data)
{
	struct scores_snapshot *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->live = live;
	s->as_of_day = as_of_day;
	s->config_generation = config_generation;
	s->change_seq = change_seq;
	s->private_data = private_data;
	s->token = atomic_fetch_add(&last_token, 1) + 1;
	return s;
}

/* Cuts `rows` (count, ascending by id) into the snapshot's chunks. */
void scores_snapshot_set_rows(struct scores_snapshot *s, const struct scores_row *rows,
			      size_t count)
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

void scores_snapshot_share_chunks(struct scores_snapshot *s, const struct scores_snapshot *base)
{
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
}

/*
 * The chunks of `s` (a copy of the base's chunk array, every chunk referenced) with the
 * changes (ascending by id) merged in: each chunk a change falls in is replaced by a new one.
 * Returns false when an id falls outside what the chunking allows (a full build then).
 */
bool scores_snapshot_apply(struct scores_snapshot *s, const struct scores_change *changes, size_t k)
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

/* ================================================================ sorted measures */

int scores_compare_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * sorted (n, ascending) minus the multiset `removed` plus `added` (both sorted), in one
 * merge pass. Returns a new array; *n is updated.
 */
int64_t *scores_merge_sorted(const int64_t *sorted, size_t *n, const int64_t *removed,
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
