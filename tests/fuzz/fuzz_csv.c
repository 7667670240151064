/*
 * fuzz_csv.c - the RFC 4180 reader and the cell writer (csv.h). Properties: reading any
 * bytes ends (a record, the end, or an error naming a line within the text) without
 * crashing; every record read, written again with csv_add_cell() and read back, gives the
 * same fields once their formula guards are removed; no written cell, split at any of
 * , ; tab (CR LF), has a piece that starts a formula (fuzz_check_csv_cell_inert); and all
 * the records written as one file read back as as many records (blank ones aside).
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crm/buf.h"
#include "crm/csv.h"
#include "fuzz.h"
#include "crm/banned.h"

/* Writes `record` as one CSV row and checks that it reads back as the same fields. */
static void check_round_trip(const struct csv_record *record)
{
	struct buf row = BUF_INIT;
	struct buf cell = BUF_INIT;
	for (size_t i = 0; i < record->count; i++) {
		if (i)
			buf_addch(&row, ',');
		buf_reset(&cell);
		csv_add_cell(&cell, csv_record_field(record, i));
		fuzz_check_csv_cell_inert(cell.data);
		buf_adds(&row, cell.data);
	}
	buf_release(&cell);
	buf_adds(&row, "\r\n");
	struct csv_reader reader;
	struct csv_record again;
	csv_reader_init(&reader, row.data, row.len);
	csv_record_init(&again);
	int status = csv_read_record(&reader, &again);
	if (csv_record_blank(record)) {
		/* a row of empty cells may read back as nothing (an empty line) */
	} else if (status != 1 || again.count != record->count) {
		fuzz_fail("a written row did not read back (%d, %zu fields instead of %zu): %s",
			  status, again.count, record->count, row.data);
	} else {
		for (size_t i = 0; i < record->count; i++) {
			char *unguarded = csv_cell_unguard(csv_record_field(&again, i));
			if (strcmp(unguarded, csv_record_field(record, i)) != 0)
				fuzz_fail("field %zu changed in a round trip: \"%s\" -> \"%s\"", i,
					  csv_record_field(record, i), csv_record_field(&again, i));
			free(unguarded);
		}
	}
	csv_record_release(&again);
	buf_release(&row);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r';
	struct csv_reader reader;
	struct csv_record record;
	csv_reader_init(&reader, (const char *)data, size);
	csv_record_init(&record);
	int status;
	size_t records = 0, written = 0;
	struct buf file = BUF_INIT;
	while ((status = csv_read_record(&reader, &record)) == 1) {
		if (record.count == 0 || record.count > CSV_MAX_FIELDS || record.line > lines)
			fuzz_fail("a record with %zu fields on line %zu", record.count, record.line);
		check_round_trip(&record);
		if (++records > size + 1)
			fuzz_fail("more records than bytes");
		if (csv_record_blank(&record))
			continue;
		for (size_t i = 0; i < record.count; i++) {
			if (i)
				buf_addch(&file, ',');
			csv_add_cell(&file, csv_record_field(&record, i));
		}
		buf_adds(&file, "\n");
		written++;
	}
	/* the whole file again: as many records as were written */
	struct csv_reader again;
	csv_reader_init(&again, file.data, file.len);
	size_t read_back = 0;
	int again_status;
	while ((again_status = csv_read_record(&again, &record)) == 1)
		read_back++;
	if (again_status != 0 || read_back != written)
		fuzz_fail("%zu records written, %zu read back (status %d)", written, read_back,
			  again_status);
	buf_release(&file);
	if (status < 0 && (reader.error_line < 1 || reader.error_line > lines || !reader.error[0]))
		fuzz_fail("an error on line %zu of %zu: %s", reader.error_line, lines, reader.error);
	if (status < 0 && csv_read_record(&reader, &record) != -1)
		fuzz_fail("the reader went on after an error");
	csv_record_release(&record);
	return 0;
}
