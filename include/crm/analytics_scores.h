/*
 * analytics_scores.h - the scores of the customer base as they are held in memory: the
 * snapshots that src/analytics/analytics_scores.c builds and the store's virtual table
 * temp.contact_scores (src/store/analytics_scores_table.c, analytics_scores_table.h) shows
 * in SQL. Neither engine nor HTTP in it: the model both layers read.
 *
 * A snapshot is immutable once published and reference-counted. Its rows are cut into
 * chunks by contact id (ids id >> shift == i are in chunk i); a snapshot derived from
 * another by an incremental update shares every chunk it did not change, so a new
 * snapshot costs the changed chunks, not the whole customer base.
 */
#ifndef CRM_ANALYTICS_SCORES_H
#define CRM_ANALYTICS_SCORES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/analytics.h"

/* One contact's scores, enough to answer every column of temp.contact_scores; the
 * figures that depend on the cut points (r, f, m, tier, value class) are derived when read. */
struct scores_row {
	int64_t contact_id;
	int64_t predicted_ltv_cents;
	int64_t total_cents;
	int64_t first_purchase_at; /* seconds; meaningful when purchases_count > 0 */
	int64_t last_purchase_at;
	int64_t last_interaction_at; /* meaningful when has_interactions */
	double churn_risk;           /* NAN unless a customer (purchase_days > 0) */
	int32_t purchases_count;
	int32_t purchase_days;
	int32_t recency_days; /* -1: not a customer */
	uint8_t high_service;
	uint8_t has_interactions;
	uint8_t loyalty;            /* index into scores_loyalty_names */
	uint8_t relationship_stage; /* index into scores_stage_names */
};

/* The names the two indexes above stand for (index 0: NULL). */
extern const char *const scores_loyalty_names[4];
extern const char *const scores_stage_names[7];

/* Rows whose contact id >> shift is the chunk's index, ascending by id. */
struct scores_chunk {
	atomic_int refs;
	uint32_t count;
	struct scores_row rows[];
};

struct scores_snapshot {
	atomic_int refs;
	/* The version: what the rows reflect. */
	bool live;
	bool private_data;        /* built inside a write transaction: never shared */
	int64_t as_of_day;
	int64_t config_generation;
	int64_t change_seq;
	int64_t token;            /* unique per snapshot in this process */
	/* What classifying and reporting need. */
	struct analytics_settings settings;
	struct analytics_model model;
	char *model_json;         /* analytics_model_to_text() */
	char fit_key[ANALYTICS_DATE_SIZE + 4];
	bool model_unsaved;       /* under the shared lock of analytics_scores.c */
	struct analytics_cuts cuts;
	char *cuts_json;
	/* The rows: chunk i holds the ids with (id - base_id) >> shift == i. */
	int64_t base_id;
	unsigned shift;
	size_t chunk_count;
	struct scores_chunk **chunks; /* NULL entries: no rows */
	size_t count;                 /* rows */
	size_t customers;             /* rows with purchase_days > 0 */
	/* The customers' four measures, ascending: only on the newest live snapshot (the one
	 * the next incremental update starts from); NULL elsewhere. */
	int64_t *sorted[ANALYTICS_METRICS];
};

/* Takes / drops a reference (the last drop frees the snapshot and its chunks). */
void scores_snapshot_ref(struct scores_snapshot *snapshot);
void scores_snapshot_unref(struct scores_snapshot *snapshot);

/* The row of `contact_id`, or NULL. */
const struct scores_row *scores_snapshot_find(const struct scores_snapshot *snapshot,
					      int64_t contact_id);

/* The measures of a customer's row (historical LTV from the settings' margin). */
void scores_row_metrics(const struct scores_row *row, const struct analytics_settings *settings,
			struct analytics_metrics *metrics);
/* Historical LTV of a row: total x gross margin, rounded. */
int64_t scores_row_ltv_cents(const struct scores_row *row, const struct analytics_settings *settings);

#endif
