/*
 * fuzz_csv_cell.c - one cell of the CSV export (segments_csv_add_cell). Properties: the
 * cell reads back as exactly one field that is the text itself, or the text behind a
 * single quote when it starts like a spreadsheet formula (= + - @ tab CR), which is then
 * never the first character a spreadsheet sees.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/segments.h"
#include "fuzz.h"
#include "crm/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct buf cell = BUF_INIT;
	segments_csv_add_cell(&cell, text);
	/* Read the cell back as RFC 4180 does. */
	struct buf field = BUF_INIT;
	const char *p = cell.data;
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
			fuzz_fail("quoted cell not closed at its end: %s", cell.data);
	} else {
		if (strpbrk(p, ",\"\r\n"))
			fuzz_fail("unquoted cell with a separator: %s", cell.data);
		buf_adds(&field, p);
	}
	bool formula = text[0] && strchr("=+-@\t\r", text[0]);
	if (formula) {
		if (field.data[0] != '\'' || strcmp(field.data + 1, text) != 0)
			fuzz_fail("formula \"%s\" exported as \"%s\"", text, field.data);
	} else if (strcmp(field.data, text) != 0) {
		fuzz_fail("\"%s\" exported as \"%s\"", text, field.data);
	}
	buf_release(&field);
	buf_release(&cell);
	free(text);
	return 0;
}
