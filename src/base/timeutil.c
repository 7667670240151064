/*
 * timeutil.c - RFC 3339 formatting and strict parsing in UTC, without the banned,
 * non-reentrant gmtime/localtime.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "crm/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crm/banned.h"

void time_format_rfc3339(time_t when, char out[TIME_RFC3339_SIZE])
{
	struct tm tm;
	gmtime_r(&when, &tm);
	/* Not strftime's %Y: it writes the year 935 as "935". Four digits keep every stored
	 * time valid RFC 3339 that sorts as text (time_parse_rfc3339 keeps years in 1..9999). */
	int year = tm.tm_year + 1900;
	year = year < 1 ? 1 : year > 9999 ? 9999 : year;
	snprintf(out, TIME_RFC3339_SIZE, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)year % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

void time_now_rfc3339(char out[TIME_RFC3339_SIZE])
{
	time_format_rfc3339(time(NULL), out);
}

int64_t time_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Reads exactly `count` digits from *p into *value and advances *p. */
static bool read_digits(const char **p, int count, int *value)
{
	int result = 0;
	for (int i = 0; i < count; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		result = result * 10 + ((*p)[i] - '0');
	}
	*p += count;
	*value = result;
	return true;
}

static bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Parses "YYYY-MM-DD" at *p, advancing it; checks the calendar. */
static bool read_date(const char **p, int *year, int *month, int *day)
{
	if (!read_digits(p, 4, year) || **p != '-')
		return false;
	(*p)++;
	if (!read_digits(p, 2, month) || **p != '-')
		return false;
	(*p)++;
	if (!read_digits(p, 2, day))
		return false;
	return *year >= 1 && *month >= 1 && *month <= 12 && *day >= 1 &&
	       *day <= days_in_month(*year, *month);
}

static time_t utc_seconds(int year, int month, int day, int hour, int minute, int second)
{
	struct tm tm = { 0 };
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	return timegm(&tm);
}

bool time_parse_date(const char *text, time_t *out)
{
	int year, month, day;
	const char *p = text;
	if (!read_date(&p, &year, &month, &day) || *p)
		return false;
	*out = utc_seconds(year, month, day, 0, 0, 0);
	return true;
}

bool time_parse_rfc3339(const char *text, bool allow_date, time_t *out)
{
	int year, month, day, hour, minute, second;
	const char *p = text;
	if (!read_date(&p, &year, &month, &day))
		return false;
	if (!*p && allow_date) {
		*out = utc_seconds(year, month, day, 0, 0, 0);
		return true;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute) ||
	    *p++ != ':' || !read_digits(&p, 2, &second))
		return false;
	if (hour > 23 || minute > 59 || second > 60)
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, off_hour, off_minute;
		p++;
		if (!read_digits(&p, 2, &off_hour) || *p++ != ':' || !read_digits(&p, 2, &off_minute))
			return false;
		if (off_hour > 23 || off_minute > 59)
			return false;
		offset = sign * (off_hour * 3600L + off_minute * 60L);
	} else {
		return false;
	}
	if (*p)
		return false;
	time_t when = utc_seconds(year, month, day, hour, minute, second > 59 ? 59 : second) - offset;
	/* An offset must not carry the time out of the years 0001..9999 (found by fuzzing). */
	if (when < (time_t)-62135596800LL || when > (time_t)253402300799LL)
		return false;
	*out = when;
	return true;
}
