/*
 * analytics_scores_int.h - private to src/analytics/analytics_scores*.c: what the snapshot
 * structure (analytics_scores_snapshot.c), the builders (analytics_scores_build.c) and the
 * shared state with analytics_scores_prepare() (analytics_scores.c) give each other. The
 * snapshot itself is in include/crm/analytics_scores.h, which the store's virtual table
 * reads too.
 */
#ifndef CRM_ANALYTICS_SCORES_INT_H
#define CRM_ANALYTICS_SCORES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/analytics_scores.h"

struct db;

/* The fit key of the live scores (as-of scores use their day, YYYY-MM-DD). */
#define SCORES_LIVE_KEY "live"

/* ---- the structure (analytics_scores_snapshot.c) */

/* A contact's row from its history and predicted figures. */
void scores_row_of(const struct analytics_history *history, int64_t as_of_day,
		   const struct analytics_figures *figures, struct scores_row *row);

/* A new snapshot with its version set and a new token (one reference, no rows yet). */
struct scores_snapshot *scores_snapshot_new(bool live, int64_t as_of_day,
					    int64_t config_generation, int64_t change_seq,
					    bool private_data);
/* Frees the sorted measures (only the head keeps them). */
void scores_snapshot_free_sorted(struct scores_snapshot *snapshot);
/* Cuts `rows` (count, ascending by id) into the snapshot's chunks. */
void scores_snapshot_set_rows(struct scores_snapshot *s, const struct scores_row *rows,
			      size_t count);
/* Gives `s` the rows of `base`: its chunk array copied, every chunk referenced. */
void scores_snapshot_share_chunks(struct scores_snapshot *s, const struct scores_snapshot *base);

/* One changed contact: its new row, if it has one. */
struct scores_change {
	struct scores_row row;
	bool present;
};
/*
 * Merges the changes (k, ascending by id) into the shared chunks of `s`, replacing each
 * chunk a change falls in. False when an id falls outside what the chunking allows (a
 * full build then).
 */
bool scores_snapshot_apply(struct scores_snapshot *s, const struct scores_change *changes,
			   size_t k);

/* qsort() comparison of int64_t. */
int scores_compare_int64(const void *a, const void *b);
/* sorted (*n, ascending) minus the multiset `removed` plus `added` (both sorted): a new
 * array (malloc'd); *n updated. */
int64_t *scores_merge_sorted(const int64_t *sorted, size_t *n, const int64_t *removed,
			     size_t removed_count, const int64_t *added, size_t added_count);

/* ---- making snapshots (analytics_scores_build.c), in the caller's transaction */

/*
 * Builds every contact's scores. `previous` (may be NULL) lends its model when it still
 * serves. On success *out is a new snapshot (one reference) with its sorted measures.
 */
int scores_build(struct db *db, bool live, int64_t as_of_day, int64_t change_seq,
		 int64_t config_generation, int64_t purchase_generation, bool private_data,
		 const struct scores_snapshot *previous, struct scores_snapshot **out);
/*
 * A new snapshot from `base` (which has its sorted measures) with the contacts `ids` (k,
 * ascending, distinct) redone, at version `change_seq`; it keeps sorted measures when
 * `keep_sorted`. Returns a db_status; *out NULL with DB_OK when the update cannot be done
 * incrementally.
 */
int scores_derive(struct db *db, const struct scores_snapshot *base, const int64_t *ids,
		  size_t k, int64_t change_seq, bool private_data, bool keep_sorted,
		  struct scores_snapshot **out);

/* ---- the shared state (analytics_scores.c) */

/* A snapshot's model_unsaved, read under the shared lock. */
bool scores_model_unsaved(const struct scores_snapshot *snapshot);
/* Counts a full build or an incremental update (analytics_scores_counts()). */
void scores_counted(bool incremental);

#endif
