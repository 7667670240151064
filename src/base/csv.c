/*
 * csv.c - the RFC 4180 reader and the guarded cell writer of csv.h. No I/O and no state
 * beyond the reader and record structs, for the fuzz harness.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/banned.h"

void csv_reader_init(struct csv_reader *reader, const char *data, size_t len)
{
	memset(reader, 0, sizeof(*reader));
	reader->data = data;
	reader->len = len;
	reader->line = 1;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		reader->pos = 3;
}

void csv_record_init(struct csv_record *record)
{
	memset(record, 0, sizeof(*record));
	buf_init(&record->text);
}

void csv_record_release(struct csv_record *record)
{
	buf_release(&record->text);
	free(record->offsets);
	csv_record_init(record);
}

const char *csv_record_field(const struct csv_record *record, size_t index)
{
	return index < record->count ? record->text.data + record->offsets[index] : "";
}

bool csv_record_blank(const struct csv_record *record)
{
	for (size_t i = 0; i < record->count; i++)
		for (const char *p = csv_record_field(record, i); *p; p++)
			if (*p != ' ' && *p != '\t')
				return false;
	return true;
}

/* Records an error at `line` and returns -1. */
static int reader_fail(struct csv_reader *reader, size_t line, const char *message)
{
	reader->error_line = line;
	snprintf(reader->error, sizeof(reader->error), "%s", message);
	return -1;
}

/* Starts a new field at the end of the record's text. Returns 0, or -1 when too many. */
static int record_start_field(struct csv_record *record)
{
	if (record->count == CSV_MAX_FIELDS)
		return -1;
	if (record->count == record->capacity) {
		record->capacity = record->capacity ? record->capacity * 2 : 16;
		record->offsets = xrealloc(record->offsets, record->capacity * sizeof(*record->offsets));
	}
	record->offsets[record->count++] = record->text.len;
	return 0;
}

/* Consumes a line break at the reader's position (CRLF, LF or CR), if there is one. */
static bool reader_skip_line_break(struct csv_reader *reader)
{
	if (reader->pos >= reader->len)
		return false;
	char c = reader->data[reader->pos];
	if (c == '\r') {
		reader->pos++;
		if (reader->pos < reader->len && reader->data[reader->pos] == '\n')
			reader->pos++;
	} else if (c == '\n') {
		reader->pos++;
	} else {
		return false;
	}
	reader->line++;
	return true;
}

/* Reads a quoted field (the reader is at its opening quote) into the record's text. */
static int read_quoted(struct csv_reader *reader, struct csv_record *record)
{
	size_t opened_on = reader->line;
	reader->pos++;
	for (;;) {
		if (reader->pos >= reader->len)
			return reader_fail(reader, opened_on, "a quoted field is not closed");
		size_t end = reader->pos;
		while (end < reader->len && !strchr("\"\r\n", reader->data[end]))
			end++; /* strchr finds '\0' too: a NUL stops the span */
		buf_add(&record->text, reader->data + reader->pos, end - reader->pos);
		reader->pos = end;
		if (reader->pos >= reader->len)
			continue; /* not closed: the check above answers */
		char c = reader->data[reader->pos];
		if (c == '\0')
			return reader_fail(reader, reader->line, "a NUL byte in the text");
		if (c == '"') {
			if (reader->pos + 1 < reader->len && reader->data[reader->pos + 1] == '"') {
				buf_addch(&record->text, '"');
				reader->pos += 2;
				continue;
			}
			reader->pos++;
			return 0;
		}
		/* a line break inside the field is kept as it is written */
		buf_addch(&record->text, c);
		reader->pos++;
		if (c == '\r' && reader->pos < reader->len && reader->data[reader->pos] == '\n') {
			buf_addch(&record->text, '\n');
			reader->pos++;
		}
		reader->line++;
	}
}

/* Reads an unquoted field up to the next separator, line break or the end. */
static int read_plain(struct csv_reader *reader, struct csv_record *record)
{
	size_t start = reader->pos;
	while (reader->pos < reader->len) {
		char c = reader->data[reader->pos];
		if (c == ',' || c == '\r' || c == '\n')
			break;
		if (c == '"')
			return reader_fail(reader, reader->line,
					   "a quote inside an unquoted field (quote the whole field "
					   "and write inner quotes twice)");
		if (c == '\0')
			return reader_fail(reader, reader->line, "a NUL byte in the text");
		reader->pos++;
	}
	buf_add(&record->text, reader->data + start, reader->pos - start);
	return 0;
}

int csv_read_record(struct csv_reader *reader, struct csv_record *record)
{
	if (reader->error[0])
		return -1;
	while (reader_skip_line_break(reader))
		; /* empty lines */
	if (reader->pos >= reader->len)
		return 0;
	buf_reset(&record->text);
	record->count = 0;
	record->line = reader->line;
	for (;;) {
		if (record_start_field(record) != 0)
			return reader_fail(reader, reader->line, "more fields than the limit");
		bool quoted = reader->data[reader->pos] == '"';
		int status = quoted ? read_quoted(reader, record) : read_plain(reader, record);
		buf_add(&record->text, "", 1); /* the field's NUL */
		if (status != 0)
			return -1;
		if (reader->pos >= reader->len)
			return 1;
		char c = reader->data[reader->pos];
		if (c == ',') {
			reader->pos++;
			if (reader->pos >= reader->len) { /* "a,b," at the end: a last empty field */
				if (record_start_field(record) != 0)
					return reader_fail(reader, reader->line, "more fields than the limit");
				buf_add(&record->text, "", 1);
				return 1;
			}
			continue;
		}
		if (reader_skip_line_break(reader))
			return 1;
		return reader_fail(reader, reader->line,
				   "unexpected text after a closing quote (a separator or the end "
				   "of the line must follow)");
	}
}

/* ================================================================ writing */

/*
 * A spreadsheet may start a new cell, and so read a formula, after any of the separators
 * of the common locales (',' in English, ';' in most of Europe, tab) and at a new line.
 */
#define CSV_PIECE_SEPARATORS ",;\t\r\n"

/* Whether a new piece starts after the byte `c`. */
static bool is_piece_separator(char c)
{
	return c != '\0' && strchr(CSV_PIECE_SEPARATORS, c) != NULL;
}

/*
 * Whether `c` must not start a piece: = + - @ make a spreadsheet read a formula, and a
 * control character may be taken for a separator or dropped before one.
 */
static bool is_risky_start(char c)
{
	unsigned char byte = (unsigned char)c;
	if (byte == '\0')
		return false;
	return strchr("=+-@", c) != NULL || byte < 0x20 || byte == 0x7f;
}

/*
 * Whether `piece` starts riskily after the spaces and double quotes a spreadsheet may drop
 * before the value (a piece of "a;""=b" read with ';' as the separator is the quoted field
 * ""=b, whose text after its early closing quote is =b).
 */
static bool starts_risky(const char *piece)
{
	while (*piece == ' ' || *piece == '"')
		piece++;
	return is_risky_start(*piece);
}

/* Whether `piece` starts with a guard quote: a quote before a risky start or a quote. */
static bool starts_with_guard(const char *piece)
{
	return piece[0] == '\'' && (piece[1] == '\'' || starts_risky(piece + 1));
}

/*
 * Whether the piece at `piece`, which follows the byte `before` ('\0' at the start of the
 * cell), gets a guard quote. A text that starts with something taken for a guard is guarded
 * too, so that the guard can always be removed again. A line break within CRLF (or a run of
 * them) is one break, not a new piece.
 */
static bool piece_needs_guard(const char *piece, char before)
{
	if ((before == '\r' || before == '\n') && (piece[0] == '\r' || piece[0] == '\n'))
		return false;
	return starts_risky(piece) || starts_with_guard(piece);
}

char *csv_cell_unguard(const char *text)
{
	struct buf out = BUF_INIT;
	bool piece_start = true;
	for (const char *p = text; *p; p++) {
		if (piece_start && starts_with_guard(p))
			p++;
		buf_addch(&out, *p);
		piece_start = is_piece_separator(*p);
	}
	return buf_detach(&out, NULL);
}

void csv_add_cell(struct buf *out, const char *text)
{
	if (!text || !text[0])
		return;
	size_t len = strlen(text);
	/* quoted also: leading or trailing spaces, and a leading byte order mark (a reader
	 * skips one at the start of a file) */
	bool quote = strpbrk(text, ",;\t\"\r\n") != NULL || text[0] == ' ' ||
		     text[len - 1] == ' ' || strncmp(text, "\xEF\xBB\xBF", 3) == 0;
	if (quote)
		buf_addch(out, '"');
	char before = '\0';
	for (const char *p = text; *p; p++) {
		bool piece_start = p == text || is_piece_separator(before);
		if (piece_start && piece_needs_guard(p, before))
			buf_addch(out, '\'');
		if (*p == '"')
			buf_addch(out, '"');
		buf_addch(out, *p);
		before = *p;
	}
	if (quote)
		buf_addch(out, '"');
}
