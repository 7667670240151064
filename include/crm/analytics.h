/*
 * analytics.h - customer analytics (API.md section 5, issue 4): per-contact summaries kept
 * current by triggers, historical and predictive lifetime value (BG/NBD + Gamma-Gamma from
 * ltv_model.h, fitted and cached), RFM, tiers, value class, loyalty, churn risk and
 * relationship stage, the analytics endpoints and `crmctl analytics fit`.
 * The rules and formulas are written out in docs/analytics.md.
 *
 * Layers (one file each):
 *   migrations/0004_analytics.sql  contact_summaries (one row per contact with purchases or
 *                                  interactions), kept current IN THE WRITER'S TRANSACTION
 *                                  by triggers on purchases and interactions; the fit cache
 *                                  analytics_fits; the change counter analytics_state.
 *   src/analytics/analytics_rules.c          pure rules: model input, RFM cut points and scores, tiers,
 *                                  value class, loyalty, churn risk, relationship stage.
 *   src/store/analytics_store.c          the SQL (data layer): histories, fits, settings, the
 *                                  change log, rankings and figures over the scores.
 *   src/analytics/analytics_model.c          the model cache: which fit serves, fitting, refits.
 *   src/analytics/analytics_scores.c         the scores, once per process: the shared snapshots,
 *                                  the start-up warm-up, analytics_scores_prepare();
 *                                  analytics_scores_build.c (full builds, incremental
 *                                  updates), analytics_scores_snapshot.c (the structure).
 *   src/store/analytics_scores_table.c   temp.contact_scores, the virtual table showing them.
 *   src/analytics/analytics_report.c         the JSON of the endpoints.
 *   src/http/analytics_http.c           the HTTP handlers.
 *   src/cli/cli_analytics.c        crmctl analytics fit | settings.
 *
 * Time. A history is looked at "as of" a UTC day D: everything up to the end of D counts,
 * later records are ignored. Without as_of, D is today (UTC). Purchases on one UTC day are
 * one purchase for the models (the CDNOW convention); the models' time unit is the week
 * (days / 7), so alpha and the horizon are in weeks internally; the API takes days.
 */
#ifndef CRM_ANALYTICS_H
#define CRM_ANALYTICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/ltv_model.h"

struct db;
struct router;
struct auth_context;

/* =================================================================== the segments contract */

/*
 * Makes temp.contact_scores on this connection (a read-only virtual table)
 *
 *   temp.contact_scores(contact_id INTEGER, ltv_cents INTEGER, predicted_ltv_cents INTEGER,
 *                       tier TEXT, rfm TEXT, churn_risk REAL, purchases_count INTEGER,
 *                       last_purchase_at TEXT, last_interaction_at TEXT,
 *                       first_purchase_at TEXT, loyalty TEXT, value_class TEXT,
 *                       relationship_stage TEXT)
 *
 * show the data as this connection's transaction sees it, as of `as_of_or_0` (seconds since
 * the epoch; only its UTC day counts: history through the end of that day; 0 means
 * now/today). Rows: one per contact that has a purchase or an interaction (up to that day),
 * in contact id order; a lookup by contact_id costs one binary search; a contact without a
 * row has ltv_cents 0, purchases_count 0 and no other figure (LEFT JOIN it). Contacts
 * without purchases have ltv_cents 0, predicted_ltv_cents 0, purchases_count 0 and NULL
 * tier, rfm, churn_risk and last_purchase_at. Timestamps are RFC 3339 UTC text.
 *
 * The scores are built once per process (src/analytics/analytics_scores.c: at start-up by
 * analytics_scores_warm_up_start(), then kept current from the triggers' change log) and
 * shared by every connection; each connection shows the snapshot that matches its own
 * transaction (also one older than the newest, or one with its own uncommitted writes,
 * which nobody else sees). When nothing analytics-relevant changed this costs two indexed
 * reads. May be called inside the caller's transaction (then the scores are those of its
 * snapshot); otherwise it opens its own read transaction, and the table keeps showing that
 * moment's scores until the next call. It may refit the live model when the data moved
 * enough (never inside a caller's transaction: then the cached fit is used). Returns a
 * db_status (DB_OK, DB_BUSY, DB_ERROR, ...).
 */
int analytics_scores_prepare(struct db *db, int64_t as_of_or_0);

/*
 * The same inside the caller's (read) transaction, for callers that read the scores in the
 * same snapshot. A fit made here cannot be stored yet: call analytics_scores_finish() after
 * the transaction ended (harmless when there is nothing to store).
 */
int analytics_scores_prepare_in_transaction(struct db *db, int64_t as_of_or_0);
void analytics_scores_finish(struct db *db);

/* Full builds and incremental updates done so far by this process (tests, metrics). */
void analytics_scores_counts(int64_t *builds, int64_t *updates);

/*
 * Starts building the live scores on a background thread (crmd at start-up, after the
 * per-thread connections are set up: db_thread_setup()). Requests that need the scores
 * meanwhile wait for that build and then use it. Returns 0, or -1 (logged: the first
 * request builds them). analytics_scores_warm_up_wait() joins the thread (before exit).
 */
int analytics_scores_warm_up_start(void);
void analytics_scores_warm_up_wait(void);
/* Drops the process-wide scores (at exit; the next request builds them again). */
void analytics_scores_release_all(void);

/* ==================================================================== settings */

#define ANALYTICS_TIERS_MAX 8
#define ANALYTICS_TIER_NAME_MAX 32
#define ANALYTICS_HORIZON_DAYS_DEFAULT 365
#define ANALYTICS_HORIZON_DAYS_MAX 3650

enum analytics_tier_basis {
	ANALYTICS_TIERS_BY_SHARE, /* the top share of customers ranked by the metric */
	ANALYTICS_TIERS_BY_VALUE, /* a minimum value of the metric, in cents */
};
enum analytics_tier_metric {
	ANALYTICS_METRIC_PREDICTED_LTV, /* predicted_ltv_cents (the default) */
	ANALYTICS_METRIC_LTV,           /* ltv_cents: historical */
};

/* One tier: by share, `share_bp` (basis points, 1/10000) of the customers below the
 * tiers before it; by value, customers with the metric >= min_cents. The last tier takes
 * everybody left (its share/min are ignored). */
struct analytics_tier {
	char name[ANALYTICS_TIER_NAME_MAX];
	int share_bp;
	int64_t min_cents;
};

/*
 * What the settings table says (keys "analytics.*", see docs/analytics.md), with defaults
 * for absent or invalid entries (an invalid entry is logged and ignored).
 */
struct analytics_settings {
	double gross_margin;   /* analytics.gross_margin, 0 < m <= 1; 1 */
	int horizon_days;      /* analytics.horizon_days, the tiers' horizon: 365 */
	double discount_rate;  /* analytics.discount_rate: per 30-day month, 0 <= d < 1; 0 */
	double refit_change;   /* analytics.refit_change: refit when purchase writes since the
				  fit exceed this share of the purchases at fit time; 0.1 */
	int refit_days;        /* analytics.refit_days: refit a live fit older than this; 30 */
	enum analytics_tier_basis tier_basis;
	enum analytics_tier_metric tier_metric;
	int tier_count;
	struct analytics_tier tiers[ANALYTICS_TIERS_MAX];
};

/* The defaults: margin 1, 365 days, no discount, 10 %, 30 days, platinum 5 %, gold 15 %,
 * silver 30 %, bronze the rest, by predicted LTV. */
void analytics_settings_defaults(struct analytics_settings *settings);

/*
 * Applies one setting (key without the "analytics." prefix, value as stored: a number, or
 * for "tiers" a JSON object, see docs/analytics.md). Returns 0, or -1 with a reason in
 * `why` (and *settings unchanged) when the key is unknown or the value invalid.
 */
int analytics_settings_apply(struct analytics_settings *settings, const char *key,
			     const char *value, char *why, size_t why_size);

/* ==================================================================== one contact's history */

/*
 * What every figure of one contact is derived from, as of a day. Timestamps are seconds
 * since the epoch; they mean something only when the matching count is > 0.
 */
struct analytics_history {
	int64_t contact_id;
	int64_t purchases_count;    /* purchase records */
	int64_t purchase_days;      /* distinct UTC days with a purchase: the models' purchases */
	int64_t total_cents;        /* sum of all amounts */
	int64_t first_day_cents;    /* sum of the amounts on the first purchase day */
	int64_t first_purchase_at;
	int64_t last_purchase_at;
	int64_t interactions_count;
	int64_t service_count;      /* interactions that are tickets or inbound */
	int64_t last_interaction_at;
};

/* Days since the epoch of a time (floor(seconds / 86400)). */
int64_t analytics_day_of(int64_t seconds);

/*
 * The model input of a customer (purchase_days >= 1) as of day `as_of_day`: x = purchase
 * days - 1; t_x = (last day - first day) / 7; T = (as_of_day - first day) / 7 (at least
 * t_x: a purchase dated after the day counts as on it); zbar = (total - first day's
 * amount) / x in cents (0 when x = 0). T may be 0 (first purchase that day): fits skip
 * such customers (they add nothing to the likelihood), predictions use T = 1/7.
 */
void analytics_customer_of(const struct analytics_history *history, int64_t as_of_day,
			   struct ltv_customer *customer);

/* ==================================================================== the fitted models */

/* Fitted models plus what they were fitted on. */
struct analytics_model {
	struct ltv_bgnbd_fit bgnbd;
	struct ltv_gamma_gamma_fit gamma_gamma;
	double mean_spend_cents;      /* ltv_population_mean_spend(): the spend fallback */
	int64_t customers;            /* customers in the fit (T > 0) */
	int64_t purchases;            /* purchase records at fit time */
	int64_t purchase_generation;  /* analytics_state.purchase_generation at fit time */
	char fitted_at[24];           /* RFC 3339 */
	char data_as_of[12];          /* YYYY-MM-DD: the day T was measured to */
	int64_t duration_ms;
};

/*
 * Fits both models on `customers` (n; those with T <= 0 are skipped). Fills *model
 * (fitted_at = now, the data fields left as they are). Returns 0 when both converged,
 * -1 when one fell back (the model says which and why). Nothing to free.
 */
int analytics_model_fit(const struct ltv_customer *customers, size_t n,
			struct analytics_model *model);

/* The model's parameters, methods and status as the API shows them (new reference). */
json_t *analytics_model_to_json(const struct analytics_model *model);

/* ==================================================================== scores of the customer base */

/* Score thresholds of the whole customer base (see analytics_cuts_build()). */
struct analytics_cuts {
	int64_t customers;              /* customers (purchase_days >= 1) */
	int64_t recency[4];             /* R >= s+2 iff recency_days < recency[s] */
	int64_t frequency[4];           /* F >= s+2 iff purchase_days > frequency[s] */
	int64_t monetary[4];            /* M >= s+2 iff total_cents > monetary[s] */
	int64_t tier_min[ANALYTICS_TIERS_MAX]; /* a customer is in the first tier i with
						   metric >= tier_min[i]; the last is INT64_MIN */
	int64_t metric_min;             /* the lowest tier metric of a customer */
};

/* One customer's values that the cut points are computed over. */
struct analytics_metrics {
	int64_t recency_days;
	int64_t purchase_days;
	int64_t total_cents;
	int64_t tier_metric; /* predicted or historical LTV in cents, by the settings */
};

/*
 * Computes the cut points over the n customers (all with purchase_days >= 1). Quintiles: a
 * customer's score is 1 + floor(5 * w / n) where w is the number of customers strictly
 * worse on that measure (ties share a score). Tiers by share: tier i's minimum is the
 * metric of the customer at rank ceil(cumulative share * n) (ties with it join the tier).
 * Sorts copies; `metrics` is not changed. Returns 0.
 */
int analytics_cuts_build(const struct analytics_metrics *metrics, size_t n,
			 const struct analytics_settings *settings, struct analytics_cuts *cuts);

/* The figures of one contact (API.md section 5). String members are static. */
struct analytics_figures {
	int64_t historical_ltv_cents;   /* total x gross margin, rounded */
	int64_t predicted_ltv_cents;    /* expected purchases x expected spend x margin */
	double expected_purchases;      /* over the horizon; NAN without purchases */
	double expected_spend_cents;    /* per purchase; NAN without purchases */
	double p_alive;                 /* NAN without purchases */
	double churn_risk;              /* 1 - p_alive; NAN without purchases */
	int64_t recency_days;           /* -1 without purchases */
	int r, f, m;                    /* 1..5; 0 without purchases */
	char rfm[4];                    /* "545"; "" without purchases */
	int tier;                       /* index into settings->tiers; -1 without purchases */
	const char *value_class;        /* NULL without purchases */
	const char *loyalty;            /* active | passive | none */
	const char *relationship_stage; /* contact ... dissolution */
	const char *purchases_method;   /* the model or fallback used (LTV_METHOD_*) */
	const char *spend_method;
};

/*
 * The model-based figures of one contact as of `as_of_day` with a horizon in days:
 * historical and predicted LTV, expected purchases and spend, P(alive), churn risk, recency.
 * `model` may be NULL (fallbacks only). Leaves RFM, tier and the classes alone.
 */
void analytics_figures_predict(const struct analytics_history *history, int64_t as_of_day,
			       const struct analytics_model *model,
			       const struct analytics_settings *settings, int horizon_days,
			       struct analytics_figures *figures);

/*
 * RFM, tier, value class, loyalty and relationship stage of one contact from its history,
 * its predicted figures (for the tier metric) and the cut points (NULL: no customers yet).
 */
void analytics_figures_classify(const struct analytics_history *history, int64_t as_of_day,
				const struct analytics_cuts *cuts,
				const struct analytics_settings *settings,
				struct analytics_figures *figures);

/* The score 1..5 of one value against four cut points (higher_is_better: F, M). */
int analytics_quintile(int64_t value, const int64_t cuts[4], bool higher_is_better);

/* The four measures the cut points are over, as indexes. */
enum analytics_metric_index {
	ANALYTICS_METRIC_RECENCY,
	ANALYTICS_METRIC_FREQUENCY,
	ANALYTICS_METRIC_MONETARY,
	ANALYTICS_METRIC_TIER,
	ANALYTICS_METRICS
};
/* One of the four measures of `metrics` by index. */
int64_t analytics_metric_of(const struct analytics_metrics *metrics, int which);
/* Sorts ascending (a radix sort: a million values in milliseconds). */
void analytics_sort_int64(int64_t *values, size_t n);
/*
 * The cut points from the n customers' measures, each array sorted ascending (what
 * analytics_cuts_build() does after sorting copies). Returns 0.
 */
int analytics_cuts_from_sorted(const int64_t *const sorted[ANALYTICS_METRICS], size_t n,
			       const struct analytics_settings *settings, struct analytics_cuts *cuts);

/* The figures that depend on the cut points: R, F, M, tier (index) and value class. */
struct analytics_relative {
	int r, f, m;
	int tier;
	const char *value_class; /* static */
};
/* Classifies one customer's measures against the cut points (NULL: none yet). */
void analytics_classify_relative(const struct analytics_metrics *metrics, bool high_service,
				 const struct analytics_cuts *cuts,
				 const struct analytics_settings *settings,
				 struct analytics_relative *out);
/* Whether the history shows a high service need (see docs/analytics.md). */
bool analytics_high_service(const struct analytics_history *history);

/* ---- the classification rules (pure; thresholds in docs/analytics.md) */

#define ANALYTICS_MIN_GAP_DAYS 7          /* a customer's rhythm is at least a week */
#define ANALYTICS_OVERDUE_FACTOR 1.5      /* no purchase for 1.5 x the rhythm: overdue */
#define ANALYTICS_LAPSED_FACTOR 4.0       /* 4 x the rhythm: lapsed */
#define ANALYTICS_ONE_TIME_LAPSE_DAYS 365 /* a single purchase older than this: lapsed */
#define ANALYTICS_INVOLVEMENT_INTERACTIONS 3
#define ANALYTICS_INTIMACY_PURCHASE_DAYS 3
#define ANALYTICS_HIGH_VALUE_M 4          /* M quintile from which value is high */
#define ANALYTICS_HIGH_SERVICE_RATIO 1.0  /* service interactions per purchase day */

/* The customer's rhythm in days: max(7, (last day - first day) / (purchase days - 1)),
 * or 0 with fewer than two purchase days. */
double analytics_rhythm_days(const struct analytics_history *history);
/* "active", "passive" or "none". */
const char *analytics_loyalty(const struct analytics_history *history, int64_t as_of_day);
/* "contact", "involvement", "intimacy", "deterioration", "repair" or "dissolution". */
const char *analytics_relationship_stage(const struct analytics_history *history,
					 int64_t as_of_day);
/* "high_value_high_service", "high_value_low_service", "low_value_potential",
 * "low_value_high_service", or NULL for a contact without purchases. */
const char *analytics_value_class(const struct analytics_history *history, int m);
/* Fallback P(alive) when the BG/NBD fit is unusable (see docs/analytics.md). */
double analytics_fallback_p_alive(const struct analytics_history *history, int64_t as_of_day);

/* ==================================================================== data layer (src/store/analytics_store.c) */

/* Which contacts a ranking covers: the caller's read scope (perm.h), as the store needs it. */
struct analytics_scope {
	int scope;           /* enum perm_scope */
	int64_t user_id;
	const char *team;    /* borrowed; "" when none */
};



/* Reads the analytics.* settings over the defaults. Returns a db_status. */
int analytics_store_settings(struct db *db, struct analytics_settings *settings);

/*
 * The counters of analytics_state: `config_generation` moves on a change of analytics.*
 * settings and on a refit, `purchase_generation` on every purchase write; `purchases` is
 * the number of purchase records. Returns a db_status.
 */
int analytics_store_state(struct db *db, int64_t *config_generation,
			  int64_t *purchase_generation, int64_t *purchases);
/* Bumps config_generation (after a refit). In the caller's write transaction. */
int analytics_store_bump_generation(struct db *db);
/* The lowest and highest seq of the change log (0 when empty). */
int analytics_store_changes_range(struct db *db, int64_t *min_seq, int64_t *max_seq);
/*
 * The distinct contacts changed after `after_seq`, ascending, at most limit + 1 of them
 * (one more than `limit` says "too many"). *ids is malloc'd (the caller frees, also on
 * error). Returns a db_status.
 */
int analytics_store_changed_contacts(struct db *db, int64_t after_seq, size_t limit,
				     int64_t **ids, size_t *count);

/*
 * One contact's history as of `as_of_day` (-1: now, from contact_summaries; otherwise from
 * the purchases and interactions up to the end of that day). A contact without any is all
 * zeros (DB_OK). Returns a db_status.
 */
int analytics_store_history(struct db *db, int64_t contact_id, int64_t as_of_day,
			    struct analytics_history *history);

/*
 * The histories of every contact with a purchase or an interaction, ordered by contact id
 * (as_of_day as above). *histories is malloc'd (the caller frees); *count rows. Returns a
 * db_status.
 */
int analytics_store_histories(struct db *db, int64_t as_of_day,
			      struct analytics_history **histories, size_t *count);

/*
 * The cached fit for `key` ("live" or an as-of date "YYYY-MM-DD"). Returns DB_OK (model
 * filled), DB_NOT_FOUND or an error.
 */
int analytics_store_fit_get(struct db *db, const char *key, struct analytics_model *model);
/* Stores (replaces) the fit for `key`; keeps the 50 newest as-of fits. In a write txn. */
int analytics_store_fit_put(struct db *db, const char *key, const struct analytics_model *model);

/* Sets (value not NULL) or removes the setting "analytics.<key>". In a write txn. */
int analytics_store_setting_put(struct db *db, const char *key, const char *value);
/* The stored analytics.* settings as an object of strings (*out, new reference). */
int analytics_store_settings_list(struct db *db, json_t **out);

/* Whether the connection is inside a transaction. */
bool analytics_store_in_transaction(struct db *db);

/* ---- dates (UTC, proleptic Gregorian) */

#define ANALYTICS_DATE_SIZE 11 /* "YYYY-MM-DD" plus NUL */

/* Parses a stored timestamp (fast path for "YYYY-MM-DDTHH:MM:SSZ"; anything time.h's
 * RFC 3339 parser takes, or a plain date). Returns false when it is none of these. */
bool analytics_store_parse_time(const char *text, int64_t *seconds);
/* Formats seconds as "YYYY-MM-DDTHH:MM:SSZ" (TIME_RFC3339_SIZE bytes). */
void analytics_store_format_time(int64_t seconds, char out[21]);
/* Formats a day number as "YYYY-MM-DD". */
void analytics_store_format_day(int64_t day, char out[ANALYTICS_DATE_SIZE]);
/* Day number of a calendar date, and back. */
int64_t analytics_store_day_from_date(int year, int month, int day);
void analytics_store_date_of_day(int64_t day, int *year, int *month, int *mday);

/* ---- the scores a connection shows (src/analytics/analytics_scores.c) */

/* Registers temp.contact_scores on this connection when missing. Returns a db_status. */
int analytics_scores_ensure(struct db *db);

/* What the scores this connection shows were built from. Release with _release(). */
struct analytics_scores_state {
	int64_t change_seq;        /* the last analytics_changes.seq they reflect */
	int64_t config_generation; /* analytics_state.config_generation they reflect */
	int64_t token;             /* the snapshot's, unique in this process */
	bool live;           /* built for "now" */
	int64_t as_of_day;   /* the day they are as of */
	char *cuts_json;     /* malloc'd analytics_cuts_to_text() text */
	char *model_json;    /* malloc'd analytics_model_to_text() text, or NULL (no model) */
	char fit_key[ANALYTICS_DATE_SIZE + 4]; /* "live" or the as-of date */
	bool model_unsaved;  /* fitted inside a caller's transaction: not stored yet */
};
/* DB_OK (state filled from the pinned snapshot), DB_NOT_FOUND (none yet). */
int analytics_scores_state_get(struct db *db, struct analytics_scores_state *state);
void analytics_scores_state_release(struct analytics_scores_state *state);
/* Marks the pinned snapshot's model as stored. */
int analytics_scores_model_saved(struct db *db);
/*
 * Members, historical and predicted LTV per tier index (arrays of tier_count) over every
 * customer of the pinned snapshot, without SQL: what analytics_store_tier_counts() gives
 * for the scope "all". Returns DB_OK or DB_NOT_FOUND (nothing pinned).
 */
int analytics_scores_tier_totals(struct db *db, int tier_count, int64_t members[],
				 int64_t revenue_cents[], int64_t predicted_cents[]);

/* ---- queries over the scores (after analytics_scores_prepare(), in one read txn) */

/* Whether the caller's scope covers contact `contact_id` (it exists and is readable). */
int analytics_store_contact_readable(struct db *db, const struct analytics_scope *scope,
				     int64_t contact_id, bool *readable);
/* The top `limit` readable customers by predicted LTV: *rows a new array of objects. */
int analytics_store_ranking(struct db *db, const struct analytics_scope *scope, int limit,
			    json_t **rows);
/* Adds first_name, last_name and email of a contact to `row` (borrowed). */
int analytics_store_contact_names(struct db *db, int64_t contact_id, json_t *row);
/* Per tier name: {"members","revenue","predicted"} over readable contacts (*by_tier new). */
int analytics_store_tier_counts(struct db *db, const struct analytics_scope *scope,
				const struct analytics_settings *settings, json_t **by_tier);

#define ANALYTICS_SCORE_COUNTS 22
/* The names of the figures analytics_store_score_counts() returns, in order; "a.b" names
 * member b of group a. */
extern const char *const analytics_score_count_names[ANALYTICS_SCORE_COUNTS];
/* Counts over the readable contacts' scores; new customers in [this_start, this_end) and
 * [last_start, this_start) (RFC 3339 or date text). */
int analytics_store_score_counts(struct db *db, const struct analytics_scope *scope,
				 const char *this_start, const char *this_end,
				 const char *last_start, double counts[ANALYTICS_SCORE_COUNTS]);

/* Purchases and interactions of readable contacts in [from, to). */
struct analytics_period {
	int64_t orders;
	double revenue_cents;
	int64_t buyers;
	int64_t interactions;
};
int analytics_store_period(struct db *db, const struct analytics_scope *scope, const char *from,
			   const char *to, struct analytics_period *period);
/* Readable contacts. */
int analytics_store_contacts_count(struct db *db, const struct analytics_scope *scope,
				   int64_t *count);

/* ---- serialising fits and cut points (src/analytics/analytics_model.c) */

/* The two fits as JSON texts (malloc'd, the caller frees both). */
void analytics_model_fits_to_text(const struct analytics_model *model, char **bgnbd,
				  char **gamma_gamma);
/* Restores the fits from those texts into *model (other fields untouched). 0 or -1. */
int analytics_model_fits_from_text(struct analytics_model *model, const char *bgnbd,
				   const char *gamma_gamma);
/* A model from analytics_model_to_json() text. 0 or -1. */
int analytics_model_from_text(struct analytics_model *model, const char *text);
/* Cut points as JSON text (malloc'd) and back (0 or -1). */
char *analytics_cuts_to_text(const struct analytics_cuts *cuts, int tier_count);
int analytics_cuts_from_text(struct analytics_cuts *cuts, const char *text);

/* ==================================================================== the analytics service */

/* The fitted model for a day (live or as of), and whether it was fitted just now. */
struct analytics_fit_result {
	struct analytics_model model;
	bool refitted;
	bool stored;
};

/* Today's day number (UTC). */
int64_t analytics_today(void);
/* Whether `model` serves a live build (not stale by the settings) or an as-of one (fitted
 * at this very purchase_generation). */
bool analytics_model_usable(const struct analytics_model *model, bool live,
			    const struct analytics_settings *settings, int64_t purchase_generation);
/* Fits the models on the customers among `histories` as of `as_of_day`; fills the data
 * fields of *model too. Nothing to free. */
void analytics_model_fit_histories(const struct analytics_history *histories, size_t count,
				   int64_t as_of_day, int64_t purchase_generation,
				   struct analytics_model *model);
/* The model as JSON text with its purchase_generation (malloc'd; analytics_model_from_text
 * reads it). */
char *analytics_model_to_text(const struct analytics_model *model);
/* Stores the fit a build made inside a caller's transaction (outside any transaction;
 * failures are logged, the fit is redone later). */
void analytics_model_flush(struct db *db);

/*
 * Fits the live models now on every customer (as of today) and stores the fit, bumping the
 * change counter so that every connection rebuilds its scores. Returns a db_status.
 */
int analytics_refit(struct db *db, struct analytics_model *model);

/*
 * Everything GET contacts/{id}/analytics answers, as a new JSON object (*out), for the
 * contact `contact_id` (the caller checked it may read it), as of `as_of` (0: now) with a
 * horizon in days. `scope` (enum perm_scope) is the caller's analytics read scope: below
 * "all" the model is shown without the whole base's figures. Returns a db_status.
 */
int analytics_contact_json(struct db *db, int64_t contact_id, int64_t as_of, int horizon_days,
			   int scope, json_t **out);

/*
 * GET analytics/ltv: the top `limit` readable contacts by predicted LTV (new object); the
 * model in full only for the scope "all". GET analytics/tiers: tier thresholds (cut over the
 * whole base) only for the scope "all", null otherwise.
 */
int analytics_ltv_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
		       int horizon_days, int limit, json_t **out);
/* GET analytics/tiers (new object). */
int analytics_tiers_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
			 json_t **out);
/* GET analytics/summary (new object); period "month", "quarter" or "year". */
int analytics_summary_json(struct db *db, const struct analytics_scope *scope, int64_t as_of,
			   const char *period, json_t **out);

/* Registers /api/v1/contacts/{id}/analytics and /api/v1/analytics/... */
void analytics_routes_register(struct router *router);

/* crmctl analytics fit | settings | set (src/cli/cli_analytics.c; cli.h's conventions). */
struct cli_context;
int cli_analytics_fit(struct cli_context *cli, int argc, char **argv);
int cli_analytics_settings(struct cli_context *cli, int argc, char **argv);
int cli_analytics_set(struct cli_context *cli, int argc, char **argv);

#endif
