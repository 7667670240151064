/*
 * fuzz.h - what the fuzz harnesses in tests/fuzz/ share.
 *
 * Each harness fuzz_<name>.c defines LLVMFuzzerTestOneInput() and does its own one-time
 * setup on the first call. It is built twice (Makefile): with libFuzzer for `make fuzz`,
 * and with replay_main.c, a main() that runs the inputs of tests/fuzz/corpus/<name>/
 * through it, for `make check` (fuzz-regress): every crash found is kept there as a file.
 *
 * A harness checks properties, not only the absence of crashes; a broken property calls
 * fuzz_fail(), which aborts so that libFuzzer saves the input.
 */
#ifndef CRM_FUZZ_H
#define CRM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken property and aborts (libFuzzer then saves the input). */
#define fuzz_fail(...)                                                          \
	do {                                                                    \
		fprintf(stderr, "%s:%d: property broken: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                                   \
		fputc('\n', stderr);                                            \
		abort();                                                        \
	} while (0)

/* The input as a NUL-terminated string (up to its first NUL). The caller frees. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* Whether `c` may not start a piece of a CSV cell: = + - @ or a control character. */
static inline int fuzz_csv_risky(char c)
{
	unsigned char byte = (unsigned char)c;
	if (byte == '\0')
		return 0;
	return strchr("=+-@", c) != NULL || byte < 0x20 || byte == 0x7f;
}

/*
 * The formula property of one written CSV cell `cell` (as it stands in the file, quotes
 * included), checked in two strengths; fuzz_fail() when broken:
 * - as issue 16 states it: split at any one of , ; tab, no piece starts with = + - @ or a
 *   control character;
 * - stronger, on the cell's text inside its quotes: split at any one of , ; tab CR LF, no
 *   piece starts so after spaces and double quotes (a spreadsheet reading with another
 *   separator would open a quoted field at a quote and may drop it), except a line break
 *   right after a line break (CRLF).
 */
static inline void fuzz_check_csv_cell_inert(const char *cell)
{
	size_t len = strlen(cell);
	for (const char *sep = ",;\t"; *sep; sep++)
		for (size_t at = 0; at < len; at++)
			if ((at == 0 || cell[at - 1] == *sep) && fuzz_csv_risky(cell[at]))
				fuzz_fail("cell %s split at %#x has a piece starting with %#x", cell,
					  *sep, (unsigned char)cell[at]);
	const char *body = cell;
	if (len >= 2 && cell[0] == '"') {
		body = cell + 1;
		len -= 2;
	}
	for (const char *sep = ",;\t\r\n"; *sep; sep++)
		for (size_t at = 0; at <= len; at++) {
			if (at > 0 && body[at - 1] != *sep)
				continue;
			size_t start = at;
			while (start < len && (body[start] == ' ' || body[start] == '"'))
				start++;
			if (start == len || !fuzz_csv_risky(body[start]))
				continue;
			int line_break = *sep == '\r' || *sep == '\n';
			if (line_break && start == at && (body[at] == '\r' || body[at] == '\n'))
				continue;
			fuzz_fail("cell %s split at %#x has a piece starting (after spaces, quotes) with %#x",
				  cell, *sep, (unsigned char)body[start]);
		}
}

#endif
