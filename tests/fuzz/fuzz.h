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

#endif
