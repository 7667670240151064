/*
 * db_budget.c - the budget of database work of one request (db_set_budget(), db.h): a
 * SQLite progress handler, called every few thousand virtual-machine instructions, stops
 * the running statement once the request's deadline has passed. The statement then fails
 * with SQLITE_INTERRUPT, which db_status_from_sqlite() reports as DB_TOO_COSTLY; SQLite
 * rolls back a write transaction the statement was part of.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/db_internal.h"

#include <time.h>

#include "crm/banned.h"

/* VM instructions between two looks at the clock (a look costs ~20 ns; 1000 ~ 5-20 µs). */
#define DB_BUDGET_CHECK_EVERY 1000

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* The progress handler: non-zero stops the statement. */
static int budget_check(void *context)
{
	struct db *db = context;
	if (!past(&db->budget_deadline))
		return 0;
	db->budget_spent = true;
	return 1;
}

void db_set_budget(struct db *db, int milliseconds)
{
	db->budget_spent = false;
	if (milliseconds <= 0) {
		db->budget_ms = 0;
		sqlite3_progress_handler(db->handle, 0, NULL, NULL);
		return;
	}
	db->budget_ms = milliseconds;
	clock_gettime(CLOCK_MONOTONIC, &db->budget_deadline);
	db->budget_deadline.tv_sec += milliseconds / 1000;
	db->budget_deadline.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
	if (db->budget_deadline.tv_nsec >= 1000000000L) {
		db->budget_deadline.tv_sec++;
		db->budget_deadline.tv_nsec -= 1000000000L;
	}
	sqlite3_progress_handler(db->handle, DB_BUDGET_CHECK_EVERY, budget_check, db);
}

int db_budget(struct db *db)
{
	return db->budget_ms;
}

bool db_budget_spent(struct db *db)
{
	return db->budget_spent;
}
