/*
 * test_analytics_revenue.c - the calendar of revenue over time (analytics_revenue.h): the
 * bucket sizes by name, the period that holds each day from 1970 to 2200 (ISO weeks from
 * Monday, months, quarters, years, leap days included), bucket counts against a walk from
 * period to period, and the default range of twelve months.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "crm/analytics.h"
#include "crm/analytics_revenue.h"

static const enum analytics_revenue_by every_size[] = {
	ANALYTICS_REVENUE_BY_DAY, ANALYTICS_REVENUE_BY_WEEK, ANALYTICS_REVENUE_BY_MONTH,
	ANALYTICS_REVENUE_BY_QUARTER, ANALYTICS_REVENUE_BY_YEAR,
};
#define SIZES (sizeof(every_size) / sizeof(every_size[0]))

static int64_t day_of(int year, int month, int mday)
{
	return analytics_store_day_from_date(year, month, mday);
}

static void test_names(void)
{
	static const char *const names[] = { "day", "week", "month", "quarter", "year" };
	for (size_t i = 0; i < SIZES; i++) {
		enum analytics_revenue_by by = ANALYTICS_REVENUE_BY_YEAR;
		CHECK(analytics_revenue_by_parse(names[i], &by));
		CHECK_INT(every_size[i], by);
		CHECK_STR(names[i], analytics_revenue_by_name(by));
	}
	enum analytics_revenue_by by = ANALYTICS_REVENUE_BY_DAY;
	CHECK(!analytics_revenue_by_parse("Month", &by));
	CHECK(!analytics_revenue_by_parse("", &by));
	CHECK(!analytics_revenue_by_parse("months", &by));
	CHECK(!analytics_revenue_by_parse(NULL, &by));
	CHECK_INT(ANALYTICS_REVENUE_BY_DAY, by);
}

/* Whether `start` is where a period of size `by` may begin. */
static bool is_period_start(enum analytics_revenue_by by, int64_t start)
{
	int year, month, mday;
	analytics_store_date_of_day(start, &year, &month, &mday);
	switch (by) {
	case ANALYTICS_REVENUE_BY_DAY:
		return true;
	case ANALYTICS_REVENUE_BY_WEEK:
		return (start - day_of(1970, 1, 5)) % 7 == 0; /* 1970-01-05 was a Monday */
	case ANALYTICS_REVENUE_BY_MONTH:
		return mday == 1;
	case ANALYTICS_REVENUE_BY_QUARTER:
		return mday == 1 && (month - 1) % 3 == 0;
	case ANALYTICS_REVENUE_BY_YEAR:
		return mday == 1 && month == 1;
	}
	return false;
}

/* Every day from 1970 to 2200 lies in [start, next) of its period, which begins where a
 * period may and is as long as its kind; periods follow each other without gaps. */
static void test_every_day_in_its_period(void)
{
	static const int shortest[] = { 1, 7, 28, 90, 365 }, longest[] = { 1, 7, 31, 92, 366 };
	int64_t last = day_of(2200, 12, 31);
	for (size_t i = 0; i < SIZES; i++) {
		enum analytics_revenue_by by = every_size[i];
		int failures = check_failures;
		int64_t expected_start = analytics_revenue_period_start(by, 0);
		for (int64_t day = 0; day <= last && check_failures == failures; day++) {
			int64_t start = analytics_revenue_period_start(by, day);
			int64_t next = analytics_revenue_period_next(by, day);
			if (day > 0 && is_period_start(by, day))
				expected_start = day;
			CHECK_INT(expected_start, start);
			CHECK(is_period_start(by, start));
			CHECK(start <= day && day < next);
			CHECK(next - start >= shortest[i] && next - start <= longest[i]);
			CHECK(is_period_start(by, next));
		}
	}
	/* leap years: February 2000 and 2024 have 29 days, 1900 and 2100 do not */
	CHECK_INT(day_of(2000, 3, 1), analytics_revenue_period_next(ANALYTICS_REVENUE_BY_MONTH,
								    day_of(2000, 2, 29)));
	CHECK_INT(29, day_of(2024, 3, 1) - day_of(2024, 2, 1));
	CHECK_INT(28, analytics_revenue_period_next(ANALYTICS_REVENUE_BY_MONTH, day_of(2100, 2, 1)) -
			      day_of(2100, 2, 1));
	CHECK_INT(day_of(2025, 12, 29),
		  analytics_revenue_period_start(ANALYTICS_REVENUE_BY_WEEK, day_of(2026, 1, 1)));
	CHECK_INT(day_of(2026, 10, 1),
		  analytics_revenue_period_start(ANALYTICS_REVENUE_BY_QUARTER, day_of(2026, 12, 31)));
	CHECK_INT(day_of(2027, 1, 1),
		  analytics_revenue_period_next(ANALYTICS_REVENUE_BY_QUARTER, day_of(2026, 10, 1)));
}

/* The number of buckets from `from` to `to`, by walking from period to period. */
static int64_t walked_count(enum analytics_revenue_by by, int64_t from, int64_t to)
{
	int64_t count = 0;
	for (int64_t day = from; day <= to; day = analytics_revenue_period_next(by, day))
		count++;
	return count;
}

static void test_bucket_counts(void)
{
	unsigned long long state = 42;
	int64_t span = day_of(2100, 1, 1);
	for (int round = 0; round < 3000; round++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		int64_t from = (int64_t)((state >> 20) % (unsigned long long)span);
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		int64_t to = from + (int64_t)((state >> 20) % 1500);
		for (size_t i = 0; i < SIZES; i++)
			CHECK_INT(walked_count(every_size[i], from, to),
				  analytics_revenue_bucket_count(every_size[i], from, to));
	}
	CHECK_INT(1, analytics_revenue_bucket_count(ANALYTICS_REVENUE_BY_YEAR, day_of(2026, 1, 1),
						    day_of(2026, 12, 31)));
	CHECK_INT(2, analytics_revenue_bucket_count(ANALYTICS_REVENUE_BY_WEEK, day_of(2026, 1, 4),
						    day_of(2026, 1, 5))); /* Sunday, Monday */
	CHECK_INT(1000, analytics_revenue_bucket_count(ANALYTICS_REVENUE_BY_DAY, day_of(2020, 1, 1),
						       day_of(2022, 9, 26)));
}

static void test_default_range(void)
{
	int64_t to = day_of(2026, 12, 4);
	CHECK_INT(day_of(2026, 1, 1), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_MONTH, to));
	CHECK_INT(day_of(2026, 1, 1), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_DAY, to));
	CHECK_INT(day_of(2025, 12, 29), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_WEEK, to));
	CHECK_INT(day_of(2026, 1, 1),
		  analytics_revenue_default_from(ANALYTICS_REVENUE_BY_QUARTER, to));
	CHECK_INT(day_of(2026, 1, 1), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_YEAR, to));
	to = day_of(2026, 3, 31);
	CHECK_INT(day_of(2025, 4, 1), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_MONTH, to));
	CHECK_INT(day_of(2025, 4, 1),
		  analytics_revenue_default_from(ANALYTICS_REVENUE_BY_QUARTER, to));
	CHECK_INT(day_of(2025, 1, 1), analytics_revenue_default_from(ANALYTICS_REVENUE_BY_YEAR, to));
	CHECK_INT(12, analytics_revenue_bucket_count(
			      ANALYTICS_REVENUE_BY_MONTH,
			      analytics_revenue_default_from(ANALYTICS_REVENUE_BY_MONTH, to), to));
	/* never before 1970-01-01 */
	CHECK_INT(0, analytics_revenue_default_from(ANALYTICS_REVENUE_BY_WEEK, day_of(1970, 6, 1)));
	CHECK_INT(ANALYTICS_REVENUE_LAST_DAY, day_of(9998, 12, 31));
}

int main(void)
{
	RUN(test_names);
	RUN(test_every_day_in_its_period);
	RUN(test_bucket_counts);
	RUN(test_default_range);
	return check_finish();
}
