/* test_csv.c - the RFC 4180 reader and the guarded cell writer (csv.h). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/csv.h"

/* Reads all records of `text`; returns the count or -1 on error (message in *reader). */
static int read_all(struct csv_reader *reader, const char *text, size_t len,
		    struct csv_record *last)
{
	csv_reader_init(reader, text, len);
	int count = 0, status;
	while ((status = csv_read_record(reader, last)) == 1)
		count++;
	return status < 0 ? -1 : count;
}

static void test_simple_records(void)
{
	struct csv_reader reader;
	struct csv_record record;
	csv_record_init(&record);
	const char *text = "a,b,c\n1,,3\n";
	csv_reader_init(&reader, text, strlen(text));
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_INT(3, record.count);
	CHECK_STR("a", csv_record_field(&record, 0));
	CHECK_STR("c", csv_record_field(&record, 2));
	CHECK_STR("", csv_record_field(&record, 7));
	CHECK_INT(1, record.line);
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_STR("", csv_record_field(&record, 1));
	CHECK_STR("3", csv_record_field(&record, 2));
	CHECK_INT(2, record.line);
	CHECK_INT(0, csv_read_record(&reader, &record));
	CHECK_INT(0, csv_read_record(&reader, &record));
	csv_record_release(&record);
}

static void test_quotes_line_breaks_bom_crlf(void)
{
	struct csv_reader reader;
	struct csv_record record;
	csv_record_init(&record);
	const char *text = "\xEF\xBB\xBFname,note\r\n"
			   "\"Smith, Jane\",\"said \"\"hi\"\"\r\nand left\"\r\n"
			   "\r\n"
			   "\n"
			   "last,\"\"\r"
			   "cr,only";
	csv_reader_init(&reader, text, strlen(text));
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_STR("name", csv_record_field(&record, 0)); /* the BOM is gone */
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_INT(2, record.line);
	CHECK_STR("Smith, Jane", csv_record_field(&record, 0));
	CHECK_STR("said \"hi\"\r\nand left", csv_record_field(&record, 1));
	CHECK_INT(1, csv_read_record(&reader, &record)); /* blank lines skipped */
	CHECK_INT(6, record.line);
	CHECK_STR("last", csv_record_field(&record, 0));
	CHECK_STR("", csv_record_field(&record, 1));
	CHECK_INT(2, record.count);
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_INT(7, record.line);
	CHECK_STR("only", csv_record_field(&record, 1));
	CHECK_INT(0, csv_read_record(&reader, &record));

	/* a trailing separator is a last empty field */
	csv_reader_init(&reader, "a,b,", 4);
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_INT(3, record.count);
	CHECK(!csv_record_blank(&record));
	csv_reader_init(&reader, " , ,\t", 5);
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK(csv_record_blank(&record));
	csv_record_release(&record);
}

static void test_malformed_input_names_the_line(void)
{
	struct csv_reader reader;
	struct csv_record record;
	csv_record_init(&record);
	const char *bad_quote = "a,b\nx,y\"z\n";
	CHECK_INT(-1, read_all(&reader, bad_quote, strlen(bad_quote), &record));
	CHECK_INT(2, reader.error_line);
	CHECK(strstr(reader.error, "quote") != NULL);
	CHECK_INT(-1, csv_read_record(&reader, &record)); /* stays failed */

	const char *after_close = "a\n\"x\"y,1\n";
	CHECK_INT(-1, read_all(&reader, after_close, strlen(after_close), &record));
	CHECK_INT(2, reader.error_line);

	const char *unclosed = "a\nb\n\"open\nstill\nopen";
	CHECK_INT(-1, read_all(&reader, unclosed, strlen(unclosed), &record));
	CHECK_INT(3, reader.error_line);
	CHECK(strstr(reader.error, "not closed") != NULL);

	const char nul[] = { 'a', ',', 'b', '\n', 'c', '\0', 'd', '\n' };
	CHECK_INT(-1, read_all(&reader, nul, sizeof(nul), &record));
	CHECK_INT(2, reader.error_line);
	const char nul_quoted[] = { '"', 'a', '\0', '"' };
	CHECK_INT(-1, read_all(&reader, nul_quoted, sizeof(nul_quoted), &record));

	struct buf many = BUF_INIT;
	for (int i = 0; i <= CSV_MAX_FIELDS; i++)
		buf_adds(&many, "x,");
	CHECK_INT(-1, read_all(&reader, many.data, many.len, &record));
	buf_release(&many);

	/* not NUL-terminated: the reader stops at len */
	const char cut[] = { 'a', ',', '"', 'b' };
	CHECK_INT(-1, read_all(&reader, cut, sizeof(cut), &record));
	CHECK_INT(0, read_all(&reader, "", 0, &record));
	CHECK_INT(0, read_all(&reader, "\xEF\xBB\xBF", 3, &record));
	csv_record_release(&record);
}

static void test_cells_are_quoted_and_guarded(void)
{
	struct buf out = BUF_INIT;
	csv_add_cell(&out, NULL);
	CHECK_STR("", out.data);
	csv_add_cell(&out, "plain");
	CHECK_STR("plain", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "a,\"b\"");
	CHECK_STR("\"a,\"\"b\"\"\"", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "=SUM(A1:A9)");
	CHECK_STR("'=SUM(A1:A9)", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "+1 555 0100");
	CHECK_STR("'+1 555 0100", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "-2,5");
	CHECK_STR("\"'-2,5\"", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "@cmd");
	CHECK_STR("'@cmd", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "\tx");
	CHECK_STR("\"'\tx\"", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "\rx");
	CHECK_STR("\"'\rx\"", out.data);
	buf_reset(&out);
	csv_add_cell(&out, "'quoted");
	CHECK_STR("'quoted", out.data); /* a quote before a letter is kept as it is */
	buf_reset(&out);
	csv_add_cell(&out, "'=x");
	CHECK_STR("''=x", out.data);
	static const char *const unguarded[][2] = {
		{ "''=x", "'=x" }, { "'=x", "=x" }, { "'quoted", "'quoted" }, { "'", "'" },
		{ "", "" }, { "a;'=b;'+c", "a;=b;+c" }, { "a,' -b", "a, -b" }, { "a;'x", "a;'x" },
	};
	for (size_t i = 0; i < sizeof(unguarded) / sizeof(unguarded[0]); i++) {
		char *text = csv_cell_unguard(unguarded[i][0]);
		CHECK_STR(unguarded[i][1], text);
		free(text);
	}
	buf_release(&out);
}

/* The bypasses of issue 16: a formula after ; , or tab inside a cell, and in every tag. */
static void test_every_piece_is_guarded(void)
{
	static const char *const cases[][2] = {
		{ "x;=3+4;", "\"x;'=3+4;\"" },
		{ "=2+5;+cmd|x!A0", "\"'=2+5;'+cmd|x!A0\"" },
		{ "csvtest; =2+5; +cmd|x!A0", "\"csvtest;' =2+5;' +cmd|x!A0\"" },
		{ "a,@b", "\"a,'@b\"" },
		{ "a\t-1", "\"a\t'-1\"" },
		{ "a;\"=b\"", "\"a;'\"\"=b\"\"\"" },
		{ "Ann, \"Bo\" Smith", "\"Ann, \"\"Bo\"\" Smith\"" },
		{ "line\r\n=x", "\"line\r\n'=x\"" },
		{ "a;\x01b", "\"a;'\x01b\"" },
		{ "a;b;c", "\"a;b;c\"" },
		{ "a;'=b", "\"a;''=b\"" },
		{ "a-b=c+d", "a-b=c+d" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT;
		csv_add_cell(&out, cases[i][0]);
		CHECK_STR(cases[i][1], out.data);
		buf_release(&out);
	}
}

/* Every text written as a cell reads back, after unguarding, as itself. */
static void test_round_trip(void)
{
	static const char *const texts[] = {
		"", "x", "a b", " lead", "trail ", "a,b", "\"", "\"\"", "line\nbreak", "cr\rlf\r\n",
		"=1+1", "+", "-", "@", "'", "''", "'=", "'+1", "''=x", "\t", "Zoë Søren", "a\"b,c\nd",
		"x;=3+4;", "=2+5;+cmd|x!A0", "a; =b", "a;'=b", "a;''b", "a,\t;", ";;=", "\r\n\r\n-",
		"a;' '", "' =x",
	};
	size_t count = sizeof(texts) / sizeof(texts[0]);
	struct buf row = BUF_INIT;
	for (size_t i = 0; i < count; i++) {
		if (i)
			buf_addch(&row, ',');
		csv_add_cell(&row, texts[i]);
	}
	buf_adds(&row, "\r\n");
	struct csv_reader reader;
	struct csv_record record;
	csv_record_init(&record);
	csv_reader_init(&reader, row.data, row.len);
	CHECK_INT(1, csv_read_record(&reader, &record));
	CHECK_INT(count, record.count);
	for (size_t i = 0; i < count && i < record.count; i++) {
		char *text = csv_cell_unguard(csv_record_field(&record, i));
		CHECK_STR(texts[i], text);
		free(text);
	}
	CHECK_INT(0, csv_read_record(&reader, &record));
	csv_record_release(&record);
	buf_release(&row);
}

int main(void)
{
	RUN(test_simple_records);
	RUN(test_quotes_line_breaks_bom_crlf);
	RUN(test_malformed_input_names_the_line);
	RUN(test_cells_are_quoted_and_guarded);
	RUN(test_every_piece_is_guarded);
	RUN(test_round_trip);
	return check_finish();
}
