/*
 * csv.h - CSV as RFC 4180 writes it: a reader over text in memory and a cell writer.
 *
 * Pure (no database, no I/O, no global state), so that the contacts import, crmctl's
 * export and the fuzz harness tests/fuzz/fuzz_csv.c all use the same code.
 *
 * Reading. Fields are separated by ','; a record ends at CRLF, LF or a lone CR. A field
 * may be quoted with '"': it then holds commas, line breaks and quotes written twice
 * (""). A UTF-8 byte order mark at the very start is skipped; empty lines are skipped.
 * Malformed input is an error naming its line, never a guess: a quote inside an unquoted
 * field, anything but a separator or a line end after a closing quote, a quoted field
 * still open at the end of the text, a NUL byte, more than CSV_MAX_FIELDS fields. Bytes
 * are passed through as they are (UTF-8 is the caller's business).
 *
 * Writing. csv_add_cell() quotes when needed and guards against formula injection. A
 * spreadsheet may split a cell at any of ',' ';' tab (the separators of other locales) and
 * at a line break, so the guard applies to every piece of the cell: the start, and after
 * each of , ; tab CR LF. A piece that a spreadsheet would take for a formula -- starting,
 * after any spaces and double quotes, with = + - @ or a control character -- gets a leading
 * single quote, so that no piece of an exported cell, split at any of those, starts a
 * formula (the fuzz property of tests/fuzz/fuzz_csv.c and fuzz_csv_cell.c). A multi-value
 * cell (tags joined with ';') thus has every element guarded. csv_cell_unguard() undoes
 * exactly that, so an export reads back as the values exported: a piece that itself starts
 * with a single quote followed by a risky start or a second single quote is guarded as
 * well, so unguard(guard(x)) == x for all x.
 */
#ifndef CRM_CSV_H
#define CRM_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "crm/buf.h"

#define CSV_MAX_FIELDS 1024
#define CSV_ERROR_SIZE 160

/* A position in a text being read. Needs no release: it borrows the text. */
struct csv_reader {
	const char *data;   /* borrowed; need not be NUL-terminated */
	size_t len;
	size_t pos;         /* next byte to read */
	size_t line;        /* the (1-based) line of data[pos] */
	size_t error_line;  /* after an error: the line it is on */
	char error[CSV_ERROR_SIZE]; /* after an error: what is wrong */
};

/* One record: its fields, each NUL-terminated. Release with csv_record_release(). */
struct csv_record {
	struct buf text;    /* the fields one after the other, each with its NUL */
	size_t *offsets;    /* offsets[i]: where field i starts in text.data */
	size_t count;       /* fields in the record (at least 1) */
	size_t capacity;    /* room in offsets */
	size_t line;        /* the line the record starts on (1-based) */
};

/* Starts reading `len` bytes at `data` (borrowed for the reader's life); skips a BOM. */
void csv_reader_init(struct csv_reader *reader, const char *data, size_t len);

void csv_record_init(struct csv_record *record);
void csv_record_release(struct csv_record *record);

/*
 * Reads the next non-empty record into `record` (its previous contents are replaced).
 * Returns 1 when a record was read, 0 at the end of the text, -1 when the text is
 * malformed (reader->error and reader->error_line say why and where; the reader stays at
 * the error, so further calls return -1 again).
 */
int csv_read_record(struct csv_reader *reader, struct csv_record *record);

/* Field `index` of `record` (borrowed, valid until the next read), or "" past the end. */
const char *csv_record_field(const struct csv_record *record, size_t index);

/* Whether every field of `record` is empty or white space (a blank row). */
bool csv_record_blank(const struct csv_record *record);

/*
 * Appends one cell (without separator) to `out`: empty for NULL; with the formula guards
 * described above; quoted (inner quotes doubled) when it holds a comma, semicolon, tab,
 * quote, CR or LF, starts or ends with a space, or starts with a byte order mark.
 */
void csv_add_cell(struct buf *out, const char *text);

/*
 * The text of a cell read back with the guard quotes of csv_add_cell() removed from each of
 * its pieces (a new string: the caller frees), so csv_cell_unguard(written x) == x.
 */
char *csv_cell_unguard(const char *text);

#endif
