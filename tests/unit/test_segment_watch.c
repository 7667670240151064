/*
 * test_segment_watch.c - the membership pass of dynamic segments (segment_watch.h) on a
 * real database: a baseline emits nothing; then exactly one event per contact that joined
 * or left, over several windows of contact ids with gaps between them; a pass stopped
 * halfway loses and repeats nothing; without a subscriber the kept sets are forgotten.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/segment_watch.h"
#include "crm/banned.h"

static void exec(struct db *db, const char *sql)
{
	int status = db_run(db, sql, "unit test");
	if (status != DB_OK)
		fprintf(stderr, "  %s\n", sql);
	CHECK_INT(DB_OK, status);
}

static long long count_rows(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	long long count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return count;
}

/* The members the rule (lifecycle = customer) has now, and the kept ones. */
#define CURRENT "SELECT id FROM contacts WHERE lifecycle = 'customer' AND erased_at IS NULL"
#define KEPT "SELECT contact_id FROM segment_watch_members WHERE segment_id = 1"
#define OUTBOX(event)                                                                    \
	"SELECT count(*) FROM webhook_outbox WHERE event = '" event "' AND "             \
	"json_extract(data, '$.segment_id') = 1"

static int stop_after;

/* should_stop(): true from the stop_after-th question on. */
static bool stop_soon(void)
{
	return --stop_after < 0;
}

static void test_pass(void)
{
	struct db *db = open_fresh_db("segwatch", true);
	/* contacts 1..3000 and 9001..12000: several windows, and a gap to skip */
	exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) "
		 "INSERT INTO contacts (id, first_name, lifecycle, tags, custom, created_at, "
		 "updated_at) SELECT i, 'C', CASE WHEN i % 3 = 0 THEN 'customer' ELSE 'lead' END, "
		 "'[]', '{}', 'x', 'x' FROM n WHERE i <= 3000 OR i > 9000");
	exec(db, "INSERT INTO segments (id, name, kind, rule, created_at, updated_at) VALUES "
		 "(1, 'Customers', 'dynamic', '{\"field\":\"lifecycle\",\"op\":\"eq\","
		 "\"value\":\"customer\"}', 'x', 'x')");
	struct segment_watch_result result;

	/* nobody subscribed: nothing kept */
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK(!result.subscribed);
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM segment_watch_state"));

	exec(db, "INSERT INTO webhooks (url, events, secret, created_at, updated_at) VALUES "
		 "('https://hooks.example.com/', '[\"segment.member_added\","
		 "\"segment.member_removed\"]', 'whsec_unit', 'x', 'x')");
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK(result.subscribed);
	CHECK_INT(1, result.segments);
	CHECK_INT(1, result.baselines);
	CHECK_INT(0, result.added);
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM webhook_outbox"));
	CHECK_INT(2000, count_rows(db, "SELECT count(*) FROM (" KEPT ")"));
	CHECK_INT(2000, count_rows(db, "SELECT members FROM segment_watch_state"));
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM segment_watch_state WHERE baseline_at "
				    "IS NOT NULL AND checked_at IS NOT NULL"));

	/* some join, some leave, in every window */
	exec(db, "UPDATE contacts SET lifecycle = 'customer' WHERE id % 5 = 0");
	exec(db, "UPDATE contacts SET lifecycle = 'churned' WHERE id % 3 = 0 AND id % 2 = 0 "
		 "AND id % 5 <> 0");
	long long joined = count_rows(db, "SELECT count(*) FROM (" CURRENT " EXCEPT " KEPT ")");
	long long left = count_rows(db, "SELECT count(*) FROM (" KEPT " EXCEPT " CURRENT ")");
	CHECK_INT(800, joined); /* multiples of 5 that were not of 3 */
	CHECK_INT(800, left);   /* multiples of 6 but not of 5 */

	/* stopped after two windows: what was done is kept, nothing is repeated */
	stop_after = 2;
	CHECK_INT(DB_OK, segment_watch_pass(db, stop_soon, &result));
	CHECK(result.stopped);
	CHECK_INT(0, result.baselines);
	long long first_added = result.added, first_removed = result.removed;
	CHECK(first_added > 0 && first_added < joined);
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK(!result.stopped);
	CHECK_INT(joined, first_added + result.added);
	CHECK_INT(left, first_removed + result.removed);
	CHECK_INT(joined, count_rows(db, OUTBOX("segment.member_added")));
	CHECK_INT(left, count_rows(db, OUTBOX("segment.member_removed")));
	CHECK_INT(joined + left, count_rows(db, "SELECT count(*) FROM webhook_deliveries"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM (" CURRENT " EXCEPT " KEPT ")"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM (" KEPT " EXCEPT " CURRENT ")"));

	/* nothing changed: nothing emitted */
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK_INT(0, result.added + result.removed);
	CHECK_INT(joined + left, count_rows(db, "SELECT count(*) FROM webhook_outbox"));

	/* the payload is the static segments' one */
	CHECK_INT(1, count_rows(db, "SELECT count(*) FROM (SELECT data FROM webhook_outbox "
				    "ORDER BY id LIMIT 1) WHERE json_type(data, '$.segment_id') = "
				    "'integer' AND json_type(data, '$.contact_id') = 'integer' AND "
				    "(SELECT count(*) FROM json_each(data)) = 2"));

	/* a deleted contact leaves the kept set at once, without an event */
	long long kept_before = count_rows(db, "SELECT count(*) FROM (" KEPT ")");
	exec(db, "DELETE FROM contacts WHERE id = 10");
	CHECK_INT(kept_before - 1, count_rows(db, "SELECT count(*) FROM (" KEPT ")"));
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK_INT(0, result.added + result.removed);

	/* the subscriber goes: everything kept is forgotten */
	exec(db, "UPDATE webhooks SET active = 0");
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK(!result.subscribed);
	CHECK_INT(1, result.dropped);
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM segment_watch_state"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM segment_watch_members"));

	/* it comes back: a new baseline, no event */
	exec(db, "UPDATE webhooks SET active = 1, events = '[\"*\"]'");
	exec(db, "UPDATE contacts SET lifecycle = 'customer' WHERE id = 1");
	long long outbox = count_rows(db, "SELECT count(*) FROM webhook_outbox");
	CHECK_INT(DB_OK, segment_watch_pass(db, NULL, &result));
	CHECK_INT(1, result.baselines);
	CHECK_INT(outbox, count_rows(db, "SELECT count(*) FROM webhook_outbox"));

	/* a deleted segment takes its kept set with it */
	exec(db, "DELETE FROM segments WHERE id = 1");
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM segment_watch_state"));
	CHECK_INT(0, count_rows(db, "SELECT count(*) FROM segment_watch_members"));

	db_close(db);
	remove_db_files();
}

int main(void)
{
	RUN(test_pass);
	return check_finish();
}
