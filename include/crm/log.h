/*
 * log.h - the server's log: one line per event on stderr, as text or as JSON objects.
 */
#ifndef CRM_LOG_H
#define CRM_LOG_H

#include <stdint.h>

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_configure(enum log_format format, enum log_level level);
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Start-up and shutdown lines: written whatever the level (tools wait for "listening on"). */
void log_notice(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* The access log line: method, path (without query string), status, duration, user,
 * client address. */
void log_request(const char *method, const char *path, int status, int64_t duration_us,
		 int64_t user_id, const char *client);

#endif
