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

/* Length of the valid UTF-8 sequence at `p` (1-4), or 0 when the bytes are not one. */
static size_t utf8_sequence_length(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t length = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < length; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return length;
}

/*
 * Appends client-supplied `text` (a method or a path) so that it cannot forge or break a
 * log line: control characters, spaces and bytes that are not UTF-8 become '?'.
 */
static void add_client_text(struct buf *line, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t length = utf8_sequence_length(p);
		if (length == 0 || *p < 0x20 || *p == 0x7f || *p == ' ') {
			buf_addch(line, '?');
			p++;
		} else {
			buf_add(line, p, length);
			p += length;
		}
	}
}

void log_request(const char *method, const char *path, int status, int64_t duration_us,
		 int64_t user_id, const char *client)
{
	if (current_level < LOG_LEVEL_INFO)
		return;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	struct buf line = BUF_INIT, safe_method = BUF_INIT, safe_path = BUF_INIT;
	struct buf safe_client = BUF_INIT;
	add_client_text(&safe_method, method);
	add_client_text(&safe_path, path);
	add_client_text(&safe_client, client && client[0] ? client : "-");
	if (current_format == LOG_FORMAT_JSON) {
		json_t *object = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I, s:s}", "time", now,
					   "level", "info", "method", safe_method.data, "path",
					   safe_path.data, "status", status, "duration_ms",
					   duration_us / 1000.0, "user_id", (json_int_t)user_id,
					   "client", safe_client.data);
		char *text = json_dumps(object, JSON_COMPACT);
		buf_adds(&line, text ? text : "{}");
		free(text);
		json_decref(object);
	} else {
		buf_addf(&line, "%s info %s %s %d %.3fms user=", now, safe_method.data,
			 safe_path.data, status, duration_us / 1000.0);
		if (user_id > 0)
			buf_addf(&line, "%lld", (long long)user_id);
		else
			buf_addch(&line, '-');
		buf_addf(&line, " client=%s", safe_client.data);
	}
	write_line(&line);
	buf_release(&line);
	buf_release(&safe_client);
	buf_release(&safe_method);
	buf_release(&safe_path);
}
