/*
 * ltv_customers_csv.c - reads customer summaries for the LTV models from CSV
 * (ltv_customer_table_read_csv(), ltv_model.h): `ID,x,t_x,T,zbar` per line, as crmctl
 * fits them from a file and the unit tests read the CDNOW sample.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm/ltv_model.h"


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/ltv_model_int.h"
#include "crm/banned.h"

/* ==== Reading customer summaries ======================================================== */

static void ltv_error_set(struct ltv_error *err, long line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void ltv_error_set(struct ltv_error *err, long line, const char *format, ...)
{
	va_list args;
	int prefix = 0;

	if (!err)
		return;
	err->line = line;
	if (line > 0)
		prefix = snprintf(err->message, sizeof(err->message), "line %ld: ", line);
	if (prefix < 0 || (size_t)prefix >= sizeof(err->message))
		prefix = 0;
	va_start(args, format);
	vsnprintf(err->message + prefix, sizeof(err->message) - (size_t)prefix, format, args);
	va_end(args);
}

void ltv_customer_table_release(struct ltv_customer_table *table)
{
	free(table->customers);
	free(table->ids);
	free(table->id_storage);
	table->customers = NULL;
	table->ids = NULL;
	table->id_storage = NULL;
	table->count = 0;
}

/* Trims spaces and tabs at both ends of [*start, *end). */
static void csv_trim(const char **start, const char **end)
{
	while (*start < *end && (**start == ' ' || **start == '\t'))
		(*start)++;
	while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
}

/*
 * Splits `line` (NUL-terminated, line end removed) at commas into exactly five trimmed
 * fields, stored as [begin, end) pairs. Returns the number of fields found (may exceed 5).
 */
static int csv_split(const char *line, const char *begin[5], const char *end[5])
{
	const char *p = line;
	int count = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *stop = comma ? comma : p + strlen(p);

		if (count < 5) {
			begin[count] = p;
			end[count] = stop;
			csv_trim(&begin[count], &end[count]);
		}
		count++;
		if (!comma)
			return count;
		p = comma + 1;
	}
}

/* Parses [begin, end) as a finite double. Returns 0 or -1. */
static int csv_number(const char *begin, const char *end, double *value)
{
	char text[64], *stop;
	size_t len = (size_t)(end - begin);

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, begin, len);
	text[len] = '\0';
	errno = 0;
	*value = strtod(text, &stop);
	if (*stop != '\0' || errno == ERANGE || !isfinite(*value))
		return -1;
	return 0;
}

static const char *const csv_names[5] = {"ID", "x", "t_x", "T", "zbar"};

/* Whether the split line is the header ID,x,t_x,T,zbar. */
static int csv_is_header(int fields, const char *const begin[5], const char *const end[5])
{
	int f;

	for (f = 0; f < 5 && fields == 5; f++)
		if ((size_t)(end[f] - begin[f]) != strlen(csv_names[f]) ||
		    memcmp(begin[f], csv_names[f], strlen(csv_names[f])) != 0)
			break;
	return fields == 5 && f == 5;
}

/*
 * Checks a data row (`fields` fields split into begin/end) and reads x, t_x, T and zbar
 * into values[]. Returns 0, or -1 with *err telling why.
 */
static int csv_row_values(long line_no, int fields, const char *const begin[5],
			  const char *const end[5], double values[4], struct ltv_error *err)
{
	size_t id_len = (size_t)(end[0] - begin[0]);
	int f;

	if (fields != 5) {
		ltv_error_set(err, line_no, "expected 5 fields (ID,x,t_x,T,zbar), found %d", fields);
		return -1;
	}
	if (id_len == 0 || memchr(begin[0], '"', id_len)) {
		ltv_error_set(err, line_no, "ID must be non-empty text without quotes");
		return -1;
	}
	for (f = 1; f < 5; f++) {
		if (csv_number(begin[f], end[f], &values[f - 1])) {
			ltv_error_set(err, line_no, "%s: \"%.*s\" is not a number", csv_names[f],
				      (int)(end[f] - begin[f] > 40 ? 40 : end[f] - begin[f]), begin[f]);
			return -1;
		}
	}
	if (values[0] < 0.0 || values[0] != floor(values[0])) {
		ltv_error_set(err, line_no, "x (%g) must be a whole number >= 0", values[0]);
		return -1;
	}
	if (!(values[2] > 0.0)) {
		ltv_error_set(err, line_no, "T (%g) must be > 0", values[2]);
		return -1;
	}
	if (values[1] < 0.0 || values[1] > values[2]) {
		ltv_error_set(err, line_no, "t_x (%g) must be between 0 and T (%g)", values[1],
			      values[2]);
		return -1;
	}
	if (values[3] < 0.0) {
		ltv_error_set(err, line_no, "zbar (%g) must be >= 0", values[3]);
		return -1;
	}
	return 0;
}

/* A table being read: room for customers and their ids, the ids as offsets until the end. */
struct csv_table_growth {
	size_t alloc, storage_len, storage_alloc;
	size_t *offsets;
};

static void csv_table_append(struct ltv_customer_table *table, struct csv_table_growth *growth,
			     const char *id, size_t id_len, const double values[4])
{
	if (table->count == growth->alloc) {
		growth->alloc = growth->alloc ? 2 * growth->alloc : 1024;
		table->customers = ltv_xrealloc(table->customers, growth->alloc,
						sizeof(*table->customers));
		growth->offsets = ltv_xrealloc(growth->offsets, growth->alloc,
					       sizeof(*growth->offsets));
	}
	if (growth->storage_len + id_len + 1 > growth->storage_alloc) {
		growth->storage_alloc = 2 * (growth->storage_len + id_len + 1) + 4096;
		table->id_storage = ltv_xrealloc(table->id_storage, growth->storage_alloc, 1);
	}
	memcpy(table->id_storage + growth->storage_len, id, id_len);
	table->id_storage[growth->storage_len + id_len] = '\0';
	growth->offsets[table->count] = growth->storage_len;
	growth->storage_len += id_len + 1;
	table->customers[table->count].x = values[0];
	table->customers[table->count].t_x = values[1];
	table->customers[table->count].T = values[2];
	table->customers[table->count].zbar = values[3];
	table->count++;
}

int ltv_customer_table_read_csv(struct ltv_customer_table *table, FILE *in, struct ltv_error *err)
{
	struct csv_table_growth growth = { 0, 0, 0, NULL };
	char *line = NULL;
	size_t line_alloc = 0, i;
	ssize_t got;
	long line_no = 0;
	int header_seen = 0, ret = -1;

	ltv_customer_table_release(table);
	if (err) {
		err->line = 0;
		err->message[0] = '\0';
	}

	while ((got = getline(&line, &line_alloc, in)) != -1) {
		const char *begin[5], *end[5], *text = line;
		double values[4];
		size_t len = (size_t)got;
		int fields;

		line_no++;
		if (memchr(line, '\0', len)) {
			ltv_error_set(err, line_no, "NUL byte in line");
			goto cleanup;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line_no == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
			text += 3;
		if (text[strspn(text, " \t")] == '\0')
			continue; /* blank line */

		fields = csv_split(text, begin, end);
		if (!header_seen) {
			if (!csv_is_header(fields, begin, end)) {
				ltv_error_set(err, line_no, "expected the header ID,x,t_x,T,zbar");
				goto cleanup;
			}
			header_seen = 1;
			continue;
		}
		if (csv_row_values(line_no, fields, begin, end, values, err))
			goto cleanup;
		csv_table_append(table, &growth, begin[0], (size_t)(end[0] - begin[0]), values);
	}
	if (ferror(in)) {
		char reason[128];

		if (strerror_r(errno, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "errno %d", errno);
		ltv_error_set(err, line_no, "read error: %s", reason);
		goto cleanup;
	}
	if (!header_seen) {
		ltv_error_set(err, 0, "empty input: expected the header ID,x,t_x,T,zbar");
		goto cleanup;
	}
	if (table->count) {
		table->ids = ltv_xmalloc(table->count, sizeof(*table->ids));
		for (i = 0; i < table->count; i++)
			table->ids[i] = table->id_storage + growth.offsets[i];
	}
	ret = 0;

cleanup:
	free(growth.offsets);
	free(line);
	if (ret)
		ltv_customer_table_release(table);
	return ret;
}
