/*
 * timeutil.h - timestamps as the API shows them: RFC 3339 in UTC with second precision
 * ("2026-11-23T16:00:00Z"), dates as "YYYY-MM-DD", and a monotonic clock for durations.
 */
#ifndef CRM_TIMEUTIL_H
#define CRM_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define TIME_RFC3339_SIZE 21 /* "2026-11-23T16:00:00Z" plus NUL */

/* Writes `when` (seconds since the epoch) as RFC 3339 UTC into `out`. */
void time_format_rfc3339(time_t when, char out[TIME_RFC3339_SIZE]);
/* Writes the current time as RFC 3339 UTC into `out`. */
void time_now_rfc3339(char out[TIME_RFC3339_SIZE]);
/*
 * Parses an RFC 3339 timestamp ("2026-11-23T16:00:00Z", optional fraction, "Z" or a
 * "+hh:mm" offset) or, when `allow_date` is true, a plain date (midnight UTC). Returns
 * true and sets *out on success; false for anything else, including impossible dates.
 */
bool time_parse_rfc3339(const char *text, bool allow_date, time_t *out);
/* Parses a plain date "YYYY-MM-DD" (a valid calendar date). */
bool time_parse_date(const char *text, time_t *out);
/* Monotonic time in microseconds, for measuring durations. */
int64_t time_monotonic_us(void);

#endif
