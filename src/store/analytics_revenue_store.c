/*
 * analytics_revenue_store.c - the SQL of revenue over time (the data layer of
 * analytics_revenue.h). One statement answers every bucket of a request: the buckets'
 * [start, end) days are bound as one JSON array and walked with json_each(); each bucket's
 * purchases are one range of the covering index purchases_analytics_period (occurred_at,
 * contact_id, amount_cents), aggregated by a correlated subquery. That reads each purchase
 * of the range once and sorts nothing (a GROUP BY over an expression of occurred_at would
 * sort every row first), and a bucket without purchases is still a row (zeros).
 * Every value is a bound parameter; statements come from db_prepare()'s cache.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics_revenue.h"

#include <math.h>
#include <stdlib.h>

#include "crm/analytics.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "store/analytics_scope.h"
#include "crm/perm.h"
#include "crm/banned.h"

/*
 * The figures of one bucket b (a json_each() row whose value is ["start","end"]) as
 * [purchases, revenue, customers]. `scope_condition` and `currency_condition` are "" or a
 * condition. Their unary + keeps SQLite on the bucket's range of occurred_at: on the
 * index of currency it would read every purchase in that currency for each bucket, and
 * driven by the readable contacts it would look every purchase row up for its amount.
 * The readable contacts are a list subquery, evaluated once per statement; probing it is
 * much cheaper than joining each purchase to its (wide) contacts row.
 */
#define BUCKET_FIGURES(scope_condition, currency_condition)                                  \
	"SELECT b.key, (SELECT json_array(count(*), total(p.amount_cents), "                   \
	"count(DISTINCT p.contact_id)) FROM purchases p "                                      \
	"WHERE p.occurred_at >= json_extract(b.value, '$[0]') "                                \
	"AND p.occurred_at < json_extract(b.value, '$[1]')" scope_condition currency_condition \
	") FROM json_each(?4) b"

#define READABLE                                                                             \
	" AND +p.contact_id IN (SELECT c.id FROM contacts c WHERE " ANALYTICS_SCOPE_CONDITION ")"
#define IN_CURRENCY " AND +p.currency = ?5"

/* The four statements: [scoped][in one currency]. */
static const char *const bucket_statements[2][2] = {
	{ BUCKET_FIGURES("", ""), BUCKET_FIGURES("", IN_CURRENCY) },
	{ BUCKET_FIGURES(READABLE, ""), BUCKET_FIGURES(READABLE, IN_CURRENCY) },
};

/* The buckets' days as the JSON text [["2026-01-01","2026-02-01"], ...] (malloc'd). */
static char *bounds_text(const struct analytics_revenue_bucket *buckets, size_t count)
{
	json_t *bounds = json_array();
	for (size_t i = 0; i < count; i++) {
		char start[ANALYTICS_DATE_SIZE], end[ANALYTICS_DATE_SIZE];
		analytics_store_format_day(buckets[i].start_day, start);
		analytics_store_format_day(buckets[i].end_day, end);
		json_array_append_new(bounds, json_pack("[s,s]", start, end));
	}
	char *text = json_dumps(bounds, JSON_COMPACT);
	json_decref(bounds);
	return text;
}

/* Reads [purchases, revenue, customers] into `bucket`; false when the text is not that. */
static bool figures_from_text(const char *text, struct analytics_revenue_bucket *bucket)
{
	json_t *figures = text ? json_loads(text, 0, NULL) : NULL;
	bool valid = json_is_array(figures) && json_array_size(figures) == 3;
	if (valid) {
		bucket->purchases = json_integer_value(json_array_get(figures, 0));
		bucket->revenue_cents = json_number_value(json_array_get(figures, 1));
		bucket->customers = json_integer_value(json_array_get(figures, 2));
	}
	json_decref(figures);
	return valid;
}

int analytics_revenue_store_buckets(struct db *db, const struct analytics_scope *scope,
				    const char *currency, struct analytics_revenue_bucket *buckets,
				    size_t count)
{
	bool scoped = scope->scope != PERM_SCOPE_ALL;
	sqlite3_stmt *stmt = db_prepare(db, bucket_statements[scoped][currency != NULL]);
	if (!stmt)
		return DB_ERROR;
	char *bounds = bounds_text(buckets, count);
	if (scoped)
		analytics_scope_bind(stmt, scope);
	db_bind_text(stmt, 4, bounds);
	if (currency)
		db_bind_text(stmt, 5, currency);
	int rc;
	int status = DB_OK;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t index = sqlite3_column_int64(stmt, 0);
		if (index < 0 || (size_t)index >= count ||
		    !figures_from_text(db_column_text(stmt, 1), &buckets[index]))
			status = DB_ERROR; /* cannot happen: json_each numbers the array we built */
	}
	sqlite3_reset(stmt);
	free(bounds);
	if (rc != SQLITE_DONE)
		return db_status_from_sqlite(db, rc, "analytics revenue");
	return status;
}
