/*
 * check.h - the tiny unit-test harness shared by tests/unit/test_*.c.
 *
 * Each test file defines `static void test_xxx(void)` functions and a main() that runs
 * them with RUN(test_xxx) and ends with `return check_finish();`. A failed CHECK prints
 * the file, line, the expression and (for the typed variants) what was expected and what
 * came, and makes the program exit non-zero, but the test goes on.
 */
#ifndef CRM_TESTS_CHECK_H
#define CRM_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                   \
	do {                                                                              \
		check_count++;                                                                \
		if (!(cond)) {                                                                \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                             \
	} while (0)

#define CHECK_INT(expected, actual)                                                          \
	do {                                                                                     \
		long long check_e_ = (long long)(expected), check_a_ = (long long)(actual);          \
		check_count++;                                                                       \
		if (check_e_ != check_a_) {                                                          \
			check_failures++;                                                                \
			fprintf(stderr, "%s:%d: %s: expected %lld, got %lld\n", __FILE__, __LINE__,     \
				#actual, check_e_, check_a_);                                                \
		}                                                                                    \
	} while (0)

#define CHECK_STR(expected, actual)                                                          \
	do {                                                                                     \
		const char *check_e_ = (expected), *check_a_ = (actual);                             \
		check_count++;                                                                       \
		if (!check_a_ || strcmp(check_e_, check_a_) != 0) {                                  \
			check_failures++;                                                                \
			fprintf(stderr, "%s:%d: %s: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
				#actual, check_e_, check_a_ ? check_a_ : "(null)");                          \
		}                                                                                    \
	} while (0)

/* Relative closeness: |actual - expected| <= tolerance * |expected|. */
#define CHECK_NEAR(expected, actual, tolerance)                                               \
	do {                                                                                      \
		double check_e_ = (expected), check_a_ = (actual);                                    \
		check_count++;                                                                        \
		if (!(fabs(check_a_ - check_e_) <= (tolerance) * fabs(check_e_))) {                   \
			check_failures++;                                                                 \
			fprintf(stderr, "%s:%d: %s: expected %.6g (±%g relative), got %.6g\n", __FILE__,   \
				__LINE__, #actual, check_e_, (double)(tolerance), check_a_);                  \
		}                                                                                     \
	} while (0)

#define RUN(test_function)                  \
	do {                                    \
		int before_ = check_failures;       \
		test_function();                    \
		fprintf(stderr, "%s %s\n",          \
			check_failures == before_ ? "ok  " : "FAIL", #test_function); \
	} while (0)

static inline int check_finish(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
