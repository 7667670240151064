/*
 * fuzz_fts_query.c - the full-text query builder (resource_fts_query) against SQLite's
 * FTS5 itself: whatever the user types into ?q=, the expression built from it must be
 * valid FTS5 syntax (never an SQL error) - the builder quotes every word.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <string.h>

#include "crm/resource.h"
#include "fuzz.h"
#include "crm/banned.h"

static sqlite3 *handle;
static sqlite3_stmt *query;

static void setup(void)
{
	if (sqlite3_open(":memory:", &handle) != SQLITE_OK ||
	    sqlite3_exec(handle,
			 "CREATE VIRTUAL TABLE f USING fts5(a, b, tokenize = 'unicode61 "
			 "remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8');" /* as contacts_fts */
			 "INSERT INTO f VALUES ('Ann Example', 'ann@example.com');",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(handle, "SELECT rowid FROM f WHERE f MATCH ?", -1, &query, NULL) !=
		    SQLITE_OK)
		fuzz_fail("cannot set up FTS5: %s", sqlite3_errmsg(handle));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!handle)
		setup();
	char *text = fuzz_text(data, size);
	char *match = resource_fts_query(text);
	if (match) {
		sqlite3_reset(query);
		sqlite3_bind_text(query, 1, match, -1, SQLITE_TRANSIENT);
		int rc;
		while ((rc = sqlite3_step(query)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE)
			fuzz_fail("FTS5 refused %s (from \"%s\"): %s", match, text,
				  sqlite3_errmsg(handle));
		free(match);
	}
	free(text);
	return 0;
}
