/*
 * analytics_revenue.h - revenue over time: GET /api/v1/analytics/revenue (docs/analytics.md,
 * "Revenue over time"). The purchases of the contacts the caller may read, summed per
 * calendar bucket (day, ISO week from Monday, month, quarter or year, UTC) over a range of
 * days, every bucket present (zeros when empty) so that a chart has no gaps.
 *
 *   src/analytics/analytics_revenue.c        the calendar of the buckets and the JSON answer.
 *   src/store/analytics_revenue_store.c  the SQL (data layer): one statement for every bucket.
 *   src/http/analytics_http.c           the handler (query parameters, scope, problems).
 *
 * Days are day numbers (days since 1970-01-01, UTC; analytics.h's analytics_day_of()).
 * Buckets are the calendar periods that meet the range [from_day, to_day], clipped to it:
 * the first starts at from_day, the last ends after to_day; the others are whole periods.
 */
#ifndef CRM_ANALYTICS_REVENUE_H
#define CRM_ANALYTICS_REVENUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct analytics_scope;

/* Buckets in one answer at most: 1000 days are more than 2.7 years by day. */
#define ANALYTICS_REVENUE_BUCKETS_MAX 1000
/* The default range: this many calendar months up to `to` (its month included). */
#define ANALYTICS_REVENUE_DEFAULT_MONTHS 12
/* Dates the range may use: 1970-01-01 (day 0) to 9998-12-31. */
#define ANALYTICS_REVENUE_LAST_DAY 2932531

enum analytics_revenue_by {
	ANALYTICS_REVENUE_BY_DAY,
	ANALYTICS_REVENUE_BY_WEEK,    /* ISO weeks: Monday to Sunday */
	ANALYTICS_REVENUE_BY_MONTH,   /* the default */
	ANALYTICS_REVENUE_BY_QUARTER, /* January, April, July, October */
	ANALYTICS_REVENUE_BY_YEAR,
};

/* "day", "week", "month", "quarter" or "year" into *by; false for anything else. */
bool analytics_revenue_by_parse(const char *text, enum analytics_revenue_by *by);
/* The name of a bucket size ("month"). Static. */
const char *analytics_revenue_by_name(enum analytics_revenue_by by);

/* The first day of the calendar period of size `by` that contains `day`. */
int64_t analytics_revenue_period_start(enum analytics_revenue_by by, int64_t day);
/* The first day of the period after the one that contains `day`. */
int64_t analytics_revenue_period_next(enum analytics_revenue_by by, int64_t day);
/*
 * The default first day for a range that ends on `to_day`: the start of the period that
 * contains the first day of the month ANALYTICS_REVENUE_DEFAULT_MONTHS - 1 months before
 * to_day's month (by month: the twelve months up to and including to_day's).
 */
int64_t analytics_revenue_default_from(enum analytics_revenue_by by, int64_t to_day);
/* The number of buckets of the range [from_day, to_day] (from_day <= to_day). */
int64_t analytics_revenue_bucket_count(enum analytics_revenue_by by, int64_t from_day,
				       int64_t to_day);

/* One bucket: the days [start_day, end_day) and the purchases in them. */
struct analytics_revenue_bucket {
	int64_t start_day;
	int64_t end_day;      /* exclusive */
	int64_t purchases;    /* purchase records */
	double revenue_cents; /* their amounts summed as stored (refunds are negative) */
	int64_t customers;    /* distinct contacts among them */
};

/* What GET analytics/revenue asks for, checked by the handler. */
struct analytics_revenue_request {
	enum analytics_revenue_by by;
	int64_t from_day;     /* first day counted */
	int64_t to_day;       /* last day counted (inclusive), from_day <= to_day, at most
				 ANALYTICS_REVENUE_BUCKETS_MAX buckets */
	int64_t as_of_day;    /* the analytics' day D (today without as_of), for the answer */
	const char *currency; /* borrowed; NULL: every purchase, whatever its currency */
};

/*
 * The answer of GET analytics/revenue as a new object (*out):
 *   {"by","from","to","as_of","currency","buckets":[{"start","end","revenue_cents",
 *    "purchases","customers"}, ...]}
 * over the purchases of the contacts `scope` covers (erased contacts' anonymous purchases
 * included, like every analytics figure). `currency` is the one asked for, or else the
 * house currency (setting default_currency): without ?currency= amounts are summed as
 * stored, like the other analytics figures (docs/analytics.md: one house currency).
 * Returns a db_status.
 */
int analytics_revenue_json(struct db *db, const struct analytics_scope *scope,
			   const struct analytics_revenue_request *request, json_t **out);

/*
 * Data layer: fills the figures of `count` buckets whose start_day and end_day are set
 * (ascending, not overlapping), counting the purchases in `currency` only when it is not
 * NULL, of the contacts `scope` covers. One statement: each bucket is one range of the
 * index purchases_analytics_period (occurred_at, contact_id, amount_cents). Returns a
 * db_status.
 */
int analytics_revenue_store_buckets(struct db *db, const struct analytics_scope *scope,
				    const char *currency, struct analytics_revenue_bucket *buckets,
				    size_t count);

#endif
