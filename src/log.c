/*
 * log.c - log lines on stderr. Text lines look like
 *   2026-11-23T16:00:00Z info GET /api/v1/contacts 200 0.412ms user=3
 * and the JSON format writes one object per line with the same fields.
 * Query strings are never logged: they may carry search terms or personal data.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "crm/buf.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

static enum log_format current_format = LOG_FORMAT_TEXT;
static enum log_level current_level = LOG_LEVEL_INFO;

void log_configure(enum log_format format, enum log_level level)
{
	current_format = format;
	current_level = level;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARN: return "warn";
	case LOG_LEVEL_INFO: return "info";
	default: return "debug";
	}
}

/* Writes a whole line with one call so that lines of different threads do not mix. */
static void write_line(struct buf *line)
{
	buf_addch(line, '\n');
	fwrite(line->data, 1, line->len, stderr);
	fflush(stderr);
}

/* `always`: written whatever the configured level. */
static void log_message_at(enum log_level level, bool always, const char *format, va_list args)
{
	if (level > current_level && !always)
		return;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	struct buf message = BUF_INIT, line = BUF_INIT;
	buf_vaddf(&message, format, args);
	if (current_format == LOG_FORMAT_JSON) {
		json_t *object = json_pack("{s:s, s:s, s:s}", "time", now, "level", level_name(level),
					   "message", message.data);
		char *text = json_dumps(object, JSON_COMPACT);
		buf_adds(&line, text ? text : "{}");
		free(text);
		json_decref(object);
	} else {
		buf_addf(&line, "%s %s %s", now, level_name(level), message.data);
	}
	write_line(&line);
	buf_release(&message);
	buf_release(&line);
}

static void log_message(enum log_level level, const char *format, va_list args)
{
	log_message_at(level, false, format, args);
}

void log_notice(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	log_message_at(LOG_LEVEL_INFO, true, format, args);
	va_end(args);
}

void log_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	log_message(LOG_LEVEL_ERROR, format, args);
	va_end(args);
}

void log_warn(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	log_message(LOG_LEVEL_WARN, format, args);
	va_end(args);
}

void log_info(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	log_message(LOG_LEVEL_INFO, format, args);
	va_end(args);
}

void log_request(const char *method, const char *path, int status, int64_t duration_us,
		 int64_t user_id)
{
	if (current_level < LOG_LEVEL_INFO)
		return;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	struct buf line = BUF_INIT;
	if (current_format == LOG_FORMAT_JSON) {
		json_t *object = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I}", "time", now,
					   "level", "info", "method", method, "path", path,
					   "status", status, "duration_ms", duration_us / 1000.0,
					   "user_id", (json_int_t)user_id);
		char *text = json_dumps(object, JSON_COMPACT);
		buf_adds(&line, text ? text : "{}");
		free(text);
		json_decref(object);
	} else {
		buf_addf(&line, "%s info %s ", now, method);
		size_t path_start = line.len;
		buf_adds(&line, path);
		for (size_t i = path_start; i < line.len; i++) /* no forged log lines */
			if ((unsigned char)line.data[i] < 0x20 || line.data[i] == 0x7f || line.data[i] == ' ')
				line.data[i] = '?';
		buf_addf(&line, " %d %.3fms user=", status, duration_us / 1000.0);
		if (user_id > 0)
			buf_addf(&line, "%lld", (long long)user_id);
		else
			buf_addch(&line, '-');
	}
	write_line(&line);
	buf_release(&line);
}
