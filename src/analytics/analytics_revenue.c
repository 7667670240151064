/*
 * analytics_revenue.c - revenue over time (analytics_revenue.h): the calendar of the
 * buckets (UTC days, ISO weeks, months, quarters, years) and the JSON answer of
 * GET /api/v1/analytics/revenue. The figures come from analytics_revenue_store.c in one
 * statement; the handler is in analytics_http.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics_revenue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/analytics.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "crm/operations.h"
#include "crm/banned.h"

static const char *const by_names[] = {
	[ANALYTICS_REVENUE_BY_DAY] = "day",         [ANALYTICS_REVENUE_BY_WEEK] = "week",
	[ANALYTICS_REVENUE_BY_MONTH] = "month",     [ANALYTICS_REVENUE_BY_QUARTER] = "quarter",
	[ANALYTICS_REVENUE_BY_YEAR] = "year",
};

bool analytics_revenue_by_parse(const char *text, enum analytics_revenue_by *by)
{
	for (size_t i = 0; text && i < sizeof(by_names) / sizeof(by_names[0]); i++)
		if (strcmp(text, by_names[i]) == 0) {
			*by = (enum analytics_revenue_by)i;
			return true;
		}
	return false;
}

const char *analytics_revenue_by_name(enum analytics_revenue_by by)
{
	return by_names[by];
}

/* ================================================================ the calendar */

/* Months of a period that is counted in months (month 1, quarter 3, year 12). */
static int period_months(enum analytics_revenue_by by)
{
	return by == ANALYTICS_REVENUE_BY_YEAR ? 12 : by == ANALYTICS_REVENUE_BY_QUARTER ? 3 : 1;
}

/* The first day of the month `months` after (or before, when negative) year/month. */
static int64_t month_start(int year, int month, int months)
{
	int64_t index = (int64_t)year * 12 + (month - 1) + months;
	int64_t new_year = index >= 0 ? index / 12 : (index - 11) / 12;
	return analytics_store_day_from_date((int)new_year, (int)(index - new_year * 12) + 1, 1);
}

/* Days since the Monday on or before `day` (1970-01-01, day 0, was a Thursday). */
static int64_t days_since_monday(int64_t day)
{
	return ((day + 3) % 7 + 7) % 7;
}

int64_t analytics_revenue_period_start(enum analytics_revenue_by by, int64_t day)
{
	if (by == ANALYTICS_REVENUE_BY_DAY)
		return day;
	if (by == ANALYTICS_REVENUE_BY_WEEK)
		return day - days_since_monday(day);
	int year, month, mday;
	analytics_store_date_of_day(day, &year, &month, &mday);
	int length = period_months(by);
	return month_start(year, (month - 1) / length * length + 1, 0);
}

int64_t analytics_revenue_period_next(enum analytics_revenue_by by, int64_t day)
{
	if (by == ANALYTICS_REVENUE_BY_DAY)
		return day + 1;
	if (by == ANALYTICS_REVENUE_BY_WEEK)
		return day - days_since_monday(day) + 7;
	int year, month, mday;
	analytics_store_date_of_day(analytics_revenue_period_start(by, day), &year, &month, &mday);
	return month_start(year, month, period_months(by));
}

int64_t analytics_revenue_default_from(enum analytics_revenue_by by, int64_t to_day)
{
	int year, month, mday;
	analytics_store_date_of_day(to_day, &year, &month, &mday);
	int64_t first = month_start(year, month, -(ANALYTICS_REVENUE_DEFAULT_MONTHS - 1));
	int64_t start = analytics_revenue_period_start(by, first);
	return start < 0 ? 0 : start; /* never before 1970-01-01 */
}

int64_t analytics_revenue_bucket_count(enum analytics_revenue_by by, int64_t from_day,
				       int64_t to_day)
{
	if (by == ANALYTICS_REVENUE_BY_DAY)
		return to_day - from_day + 1;
	if (by == ANALYTICS_REVENUE_BY_WEEK) {
		int64_t days = analytics_revenue_period_start(by, to_day) -
			       analytics_revenue_period_start(by, from_day);
		return days / 7 + 1;
	}
	int from_year, from_month, to_year, to_month, mday;
	analytics_store_date_of_day(from_day, &from_year, &from_month, &mday);
	analytics_store_date_of_day(to_day, &to_year, &to_month, &mday);
	int length = period_months(by);
	int64_t from_index = (int64_t)from_year * 12 + from_month - 1;
	int64_t to_index = (int64_t)to_year * 12 + to_month - 1;
	return to_index / length - from_index / length + 1;
}

/*
 * The buckets of the request, days set and figures zero: the periods that meet
 * [from_day, to_day], the first and last clipped to it. *count of them, malloc'd (the
 * caller frees).
 */
static struct analytics_revenue_bucket *buckets_of(const struct analytics_revenue_request *request,
						   size_t *count)
{
	int64_t n = analytics_revenue_bucket_count(request->by, request->from_day, request->to_day);
	struct analytics_revenue_bucket *buckets = xcalloc((size_t)n, sizeof(*buckets));
	int64_t start = request->from_day;
	for (int64_t i = 0; i < n; i++) {
		int64_t next = analytics_revenue_period_next(request->by, start);
		buckets[i].start_day = start;
		buckets[i].end_day = next <= request->to_day ? next : request->to_day + 1;
		start = next;
	}
	*count = (size_t)n;
	return buckets;
}

/* ================================================================ the answer */

static json_t *day_json(int64_t day)
{
	char text[ANALYTICS_DATE_SIZE];
	analytics_store_format_day(day, text);
	return json_string(text);
}

static json_t *bucket_json(const struct analytics_revenue_bucket *bucket)
{
	return json_pack("{s:o,s:o,s:I,s:I,s:I}", "start", day_json(bucket->start_day), "end",
			 day_json(bucket->end_day), "revenue_cents",
			 (json_int_t)llround(bucket->revenue_cents), "purchases",
			 (json_int_t)bucket->purchases, "customers", (json_int_t)bucket->customers);
}

int analytics_revenue_json(struct db *db, const struct analytics_scope *scope,
			   const struct analytics_revenue_request *request, json_t **out)
{
	*out = NULL;
	char currency[4];
	int status = DB_OK;
	if (request->currency)
		snprintf(currency, sizeof(currency), "%s", request->currency);
	else
		status = operations_store_default_currency(db, currency);
	if (status != DB_OK)
		return status;
	size_t count;
	struct analytics_revenue_bucket *buckets = buckets_of(request, &count);
	status = analytics_revenue_store_buckets(db, scope, request->currency, buckets, count);
	if (status == DB_OK) {
		json_t *list = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(list, bucket_json(&buckets[i]));
		*out = json_pack("{s:s,s:o,s:o,s:o,s:s,s:o}", "by",
				 analytics_revenue_by_name(request->by), "from",
				 day_json(request->from_day), "to", day_json(request->to_day),
				 "as_of", day_json(request->as_of_day), "currency", currency,
				 "buckets", list);
	}
	free(buckets);
	return status;
}
