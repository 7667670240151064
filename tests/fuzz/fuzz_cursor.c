/*
 * fuzz_cursor.c - the pagination cursor decoder: clients send any text as ?cursor=. The
 * first byte picks the sort the cursor is checked against. Properties: a cursor that
 * decodes encodes back to one that decodes to the same value and id.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crm/cursor.h"
#include "fuzz.h"
#include "crm/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sorts[] = { "id", "-id", "created_at", "-updated_at", "name",
					     "-last_name", "email", "" };
	if (size < 1)
		return 0;
	const char *sort = sorts[data[0] % (sizeof(sorts) / sizeof(sorts[0]))];
	char *text = fuzz_text(data + 1, size - 1);
	json_t *value = NULL;
	int64_t id = 0;
	if (cursor_decode(text, sort, &value, &id) == 0) {
		if (!value)
			fuzz_fail("a decoded cursor without a value");
		char *again = cursor_encode(sort, value, id);
		json_t *value2 = NULL;
		int64_t id2 = 0;
		if (cursor_decode(again, sort, &value2, &id2) != 0 || id2 != id ||
		    !json_equal(value, value2))
			fuzz_fail("cursor \"%s\" does not survive encoding (\"%s\")", text, again);
		json_decref(value2);
		free(again);
		json_decref(value);
	}
	free(text);
	return 0;
}
