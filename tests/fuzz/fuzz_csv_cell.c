/*
 * fuzz_csv_cell.c - the cells of the CSV exports: one cell of the segment export
 * (segments_csv_add_cell) and a whole row of the contacts export (contacts_export_csv_row)
 * whose text fields are the input and whose tags are the input split at ';'. Properties:
 * - a cell reads back as exactly one field that, with its guards removed
 *   (csv_cell_unguard), is the text itself; a text that starts like a formula is behind a
 *   single quote;
 * - no cell, split at any one of , ; tab, has a piece starting with = + - @ or a control
 *   character (issue 16), nor, more strictly, one starting so after spaces or after a line
 *   break (fuzz_check_csv_cell_inert): every element of a multi-value cell is guarded.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/contacts_import.h"
#include "crm/csv.h"
#include "crm/segments.h"
#include "fuzz.h"
#include "crm/banned.h"

/* The field that the written cell `cell` reads back as, by RFC 4180 (the caller frees). */
static char *read_cell(const char *cell)
{
	struct buf field = BUF_INIT;
	const char *p = cell;
	if (*p == '"') {
		for (p++; *p; p++) {
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			buf_addch(&field, *p);
		}
		if (*p != '"' || p[1] != '\0')
			fuzz_fail("quoted cell not closed at its end: %s", cell);
	} else {
		if (strpbrk(p, ",;\t\"\r\n"))
			fuzz_fail("unquoted cell with a separator: %s", cell);
		buf_adds(&field, p);
	}
	return buf_detach(&field, NULL);
}

static void check_segment_cell(const char *text)
{
	struct buf cell = BUF_INIT;
	segments_csv_add_cell(&cell, text);
	fuzz_check_csv_cell_inert(cell.data);
	char *field = read_cell(cell.data);
	char *unguarded = csv_cell_unguard(field);
	if (strcmp(unguarded, text) != 0)
		fuzz_fail("\"%s\" exported as \"%s\", read back as \"%s\"", text, field, unguarded);
	if (text[0] && strchr("=+-@\t\r", text[0]) && field[0] != '\'')
		fuzz_fail("formula \"%s\" exported as \"%s\"", text, field);
	free(unguarded);
	free(field);
	buf_release(&cell);
}

/* Checks each cell of one row written by the contacts export (CRLF at its end). */
static void check_row_cells(const char *row)
{
	struct buf cell = BUF_INIT;
	bool quoted = false;
	for (const char *p = row; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		if (!quoted && (*p == ',' || (p[0] == '\r' && p[1] == '\n' && !p[2]))) {
			fuzz_check_csv_cell_inert(cell.data);
			buf_reset(&cell);
			if (*p == '\r')
				break;
			continue;
		}
		buf_addch(&cell, *p);
	}
	if (quoted)
		fuzz_fail("a row ends inside a quoted cell: %s", row);
	buf_release(&cell);
}

static void check_contact_row(const char *text)
{
	json_t *contact = json_object();
	json_t *tags = json_array();
	char *copy = xstrdup(text);
	for (char *start = copy;;) {
		char *end = strchr(start, ';');
		if (end)
			*end = '\0';
		json_array_append_new(tags, json_string_nocheck(start));
		if (!end)
			break;
		start = end + 1;
	}
	json_object_set_new(contact, "first_name", json_string_nocheck(text));
	json_object_set_new(contact, "title", json_string_nocheck(text));
	json_object_set_new(contact, "tags", tags);
	struct buf row = BUF_INIT;
	contacts_export_csv_row(&row, contact, text);
	check_row_cells(row.data);
	buf_release(&row);
	free(copy);
	json_decref(contact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	check_segment_cell(text);
	check_contact_row(text);
	free(text);
	return 0;
}
