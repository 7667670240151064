/*
 * analytics_store.c - the SQL of customer analytics (the data layer of analytics.h): the
 * settings, the change counters, one contact's or every contact's history (from
 * contact_summaries for "now", from the purchases and interactions tables for an as-of day),
 * the fit cache, and the queries the endpoints run over temp.contact_scores (the virtual
 * table of analytics_scores_table.c). Every value is a bound parameter; statements come
 * from db_prepare()'s cache.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "store/analytics_scope.h"
#include "crm/log.h"
#include "crm/perm.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define SECONDS_PER_DAY 86400

/* ================================================================ dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t year_of_era = year - era * 400;
	int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

/* The date of a day number (the inverse of days_from_civil). */
static void civil_from_days(int64_t days, int *year, int *month, int *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t day_of_era = days - era * 146097;
	int64_t year_of_era =
		(day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t mp = (5 * day_of_year + 2) / 153;
	*day = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(year_of_era + era * 400 + (*month <= 2));
}

static bool two_digits(const char *p, int *value)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	*value = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/*
 * Seconds since the epoch of a stored timestamp. The stored form "YYYY-MM-DDTHH:MM:SSZ"
 * (and a plain date) is parsed directly: this runs millions of times in a build; anything
 * else goes through the strict parser. Returns false for text that is no timestamp.
 */
bool analytics_store_parse_time(const char *text, int64_t *seconds)
{
	int century, year2, month, day, hour = 0, minute = 0, second = 0;
	size_t len = text ? strlen(text) : 0;
	if ((len == 20 && text[19] == 'Z') || len == 19 || len == 10) {
		if (two_digits(text, &century) && two_digits(text + 2, &year2) && text[4] == '-' &&
		    two_digits(text + 5, &month) && text[7] == '-' && two_digits(text + 8, &day) &&
		    month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
		    (len == 10 || ((text[10] == 'T' || text[10] == ' ') && two_digits(text + 11, &hour) &&
				   text[13] == ':' && two_digits(text + 14, &minute) &&
				   text[16] == ':' && two_digits(text + 17, &second)))) {
			*seconds = days_from_civil(century * 100 + year2, month, day) * SECONDS_PER_DAY +
				   hour * 3600 + minute * 60 + second;
			return true;
		}
	}
	time_t parsed;
	if (!text || !time_parse_rfc3339(text, true, &parsed))
		return false;
	*seconds = (int64_t)parsed;
	return true;
}

/* Writes `value` as `width` decimal digits. */
static void put_digits(char *out, int value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + value % 10);
		value /= 10;
	}
}

/* Digits by hand: snprintf was a sixth of a scores build. */
void analytics_store_format_time(int64_t seconds, char out[TIME_RFC3339_SIZE])
{
	int64_t day = seconds / SECONDS_PER_DAY, rest = seconds % SECONDS_PER_DAY;
	if (rest < 0) {
		rest += SECONDS_PER_DAY;
		day--;
	}
	int year, month, mday;
	civil_from_days(day, &year, &month, &mday);
	if (year < 0 || year > 9999) {
		snprintf(out, TIME_RFC3339_SIZE, "%s", year < 0 ? "0000-01-01T00:00:00Z"
							       : "9999-12-31T23:59:59Z");
		return;
	}
	put_digits(out, year, 4);
	out[4] = '-';
	put_digits(out + 5, month, 2);
	out[7] = '-';
	put_digits(out + 8, mday, 2);
	out[10] = 'T';
	put_digits(out + 11, (int)(rest / 3600), 2);
	out[13] = ':';
	put_digits(out + 14, (int)(rest / 60 % 60), 2);
	out[16] = ':';
	put_digits(out + 17, (int)(rest % 60), 2);
	out[19] = 'Z';
	out[20] = '\0';
}

void analytics_store_format_day(int64_t day, char out[ANALYTICS_DATE_SIZE])
{
	int year, month, mday;
	civil_from_days(day, &year, &month, &mday);
	if (year < 0 || year > 9999) {
		snprintf(out, ANALYTICS_DATE_SIZE, "%s", year < 0 ? "0000-01-01" : "9999-12-31");
		return;
	}
	snprintf(out, ANALYTICS_DATE_SIZE, "%04d-%02d-%02d", year, month, mday);
}

int64_t analytics_store_day_from_date(int year, int month, int day)
{
	return days_from_civil(year, month, day);
}

void analytics_store_date_of_day(int64_t day, int *year, int *month, int *mday)
{
	civil_from_days(day, year, month, mday);
}

/* ================================================================ small helpers */

bool analytics_store_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db_handle(db));
}

/* Column `i` as seconds since the epoch (0 when NULL or not a timestamp). */
static int64_t column_time(sqlite3_stmt *stmt, int i)
{
	int64_t seconds = 0;
	const char *text = db_column_text(stmt, i);
	if (text && !analytics_store_parse_time(text, &seconds))
		seconds = 0;
	return seconds;
}

/* ================================================================ settings and state */

int analytics_store_settings(struct db *db, struct analytics_settings *settings)
{
	analytics_settings_defaults(settings);
	sqlite3_stmt *stmt = db_prepare(db, "SELECT key, value FROM settings "
					    "WHERE key > 'analytics.' AND key < 'analytics/'");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *key = db_column_text(stmt, 0) + strlen("analytics.");
		const char *value = db_column_text(stmt, 1);
		char why[200];
		if (analytics_settings_apply(settings, key, value ? value : "", why, sizeof(why)) != 0)
			log_warn("ignoring setting analytics.%s: %s", key, why);
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics settings");
}

int analytics_store_setting_put(struct db *db, const char *key, const char *value)
{
	struct buf full = BUF_INIT;
	buf_addf(&full, "analytics.%s", key);
	sqlite3_stmt *stmt = value ? db_prepare(db, "INSERT INTO settings (key, value) VALUES (?, ?) "
						    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
				   : db_prepare(db, "DELETE FROM settings WHERE key = ?");
	int status = DB_ERROR;
	if (stmt) {
		db_bind_text(stmt, 1, full.data);
		if (value)
			db_bind_text(stmt, 2, value);
		status = db_step_done(db, stmt, "analytics setting");
	}
	buf_release(&full);
	return status;
}

int analytics_store_settings_list(struct db *db, json_t **out)
{
	*out = json_object();
	sqlite3_stmt *stmt = db_prepare(db, "SELECT key, value FROM settings "
					    "WHERE key > 'analytics.' AND key < 'analytics/' ORDER BY key");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_object_set_new(*out, db_column_text(stmt, 0), json_string(db_column_text(stmt, 1)));
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics settings");
}

int analytics_store_state(struct db *db, int64_t *config_generation,
			  int64_t *purchase_generation, int64_t *purchases)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT config_generation, purchase_generation, "
					    "purchases FROM analytics_state WHERE id = 1");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*config_generation = sqlite3_column_int64(stmt, 0);
		*purchase_generation = sqlite3_column_int64(stmt, 1);
		*purchases = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	return db_status_from_sqlite(db, rc, "analytics state");
}

int analytics_store_bump_generation(struct db *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "UPDATE analytics_state "
					    "SET config_generation = config_generation + 1 WHERE id = 1");
	return stmt ? db_step_done(db, stmt, "analytics state") : DB_ERROR;
}

/* Two single-row lookups: min() and max() together would scan the table. */
int analytics_store_changes_range(struct db *db, int64_t *min_seq, int64_t *max_seq)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT (SELECT seq FROM analytics_changes ORDER BY seq LIMIT 1), "
		    "(SELECT seq FROM analytics_changes ORDER BY seq DESC LIMIT 1)");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*min_seq = sqlite3_column_int64(stmt, 0); /* 0 when NULL: no change yet */
		*max_seq = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics changes");
}

int analytics_store_changed_contacts(struct db *db, int64_t after_seq, size_t limit,
				     int64_t **ids, size_t *count)
{
	*ids = xmalloc((limit + 1) * sizeof(**ids));
	*count = 0;
	sqlite3_stmt *stmt = db_prepare(db, "SELECT DISTINCT contact_id FROM analytics_changes "
					    "WHERE seq > ? ORDER BY contact_id LIMIT ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, after_seq);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)limit + 1);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *count <= limit)
		(*ids)[(*count)++] = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics changes");
}

/* ================================================================ histories */

/* The live history columns of contact_summaries, in the order read_summary_row() reads. */
#define SUMMARY_COLUMNS                                                                     \
	"contact_id, purchases_count, purchase_days, total_cents, first_day_cents, "         \
	"first_purchase_at, last_purchase_at, interactions_count, service_count, "            \
	"last_interaction_at"

static void read_summary_row(sqlite3_stmt *stmt, struct analytics_history *h)
{
	h->contact_id = sqlite3_column_int64(stmt, 0);
	h->purchases_count = sqlite3_column_int64(stmt, 1);
	h->purchase_days = sqlite3_column_int64(stmt, 2);
	h->total_cents = sqlite3_column_int64(stmt, 3);
	h->first_day_cents = sqlite3_column_int64(stmt, 4);
	h->first_purchase_at = column_time(stmt, 5);
	h->last_purchase_at = column_time(stmt, 6);
	h->interactions_count = sqlite3_column_int64(stmt, 7);
	h->service_count = sqlite3_column_int64(stmt, 8);
	h->last_interaction_at = column_time(stmt, 9);
}

/*
 * Folds one purchase into a history; purchases come in order of time. `last_day` (11
 * bytes, "" at the start) remembers the day of the previous one.
 */
static void history_add_purchase(struct analytics_history *h, const char *occurred_at,
				 int64_t amount_cents, char last_day[11])
{
	int64_t when = 0;
	if (!occurred_at || !analytics_store_parse_time(occurred_at, &when))
		return; /* not a timestamp: the resource layer never stores one */
	bool first = h->purchases_count == 0;
	if (first)
		h->first_purchase_at = when;
	if (first || strncmp(last_day, occurred_at, 10) != 0) {
		h->purchase_days++;
		memcpy(last_day, occurred_at, 10);
		last_day[10] = '\0';
	}
	if (h->purchase_days == 1)
		h->first_day_cents += amount_cents;
	h->purchases_count++;
	h->total_cents += amount_cents;
	h->last_purchase_at = when;
}

/* The exclusive upper bound of day `as_of_day` as text: the next day's date. */
static void cutoff_text(int64_t as_of_day, char out[ANALYTICS_DATE_SIZE])
{
	analytics_store_format_day(as_of_day + 1, out);
}

int analytics_store_history(struct db *db, int64_t contact_id, int64_t as_of_day,
			    struct analytics_history *history)
{
	memset(history, 0, sizeof(*history));
	history->contact_id = contact_id;
	if (as_of_day < 0) {
		sqlite3_stmt *stmt = db_prepare(db, "SELECT " SUMMARY_COLUMNS
						    " FROM contact_summaries WHERE contact_id = ?");
		if (!stmt)
			return DB_ERROR;
		sqlite3_bind_int64(stmt, 1, contact_id);
		int rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			read_summary_row(stmt, history);
		sqlite3_reset(stmt);
		return db_status_from_sqlite(db, rc, "analytics history");
	}
	char cutoff[ANALYTICS_DATE_SIZE];
	cutoff_text(as_of_day, cutoff);
	sqlite3_stmt *stmt = db_prepare(db, "SELECT occurred_at, amount_cents FROM purchases "
					    "WHERE contact_id = ? AND occurred_at < ? "
					    "ORDER BY occurred_at, id");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	db_bind_text(stmt, 2, cutoff);
	int rc;
	char last_day[11] = "";
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		history_add_purchase(history, db_column_text(stmt, 0), sqlite3_column_int64(stmt, 1),
				     last_day);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return db_status_from_sqlite(db, rc, "analytics history");
	stmt = db_prepare(db, "SELECT count(*), max(occurred_at), "
			      "count(*) FILTER (WHERE kind = 'ticket' OR direction IS 'inbound') "
			      "FROM interactions WHERE contact_id = ? AND occurred_at < ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	db_bind_text(stmt, 2, cutoff);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		history->interactions_count = sqlite3_column_int64(stmt, 0);
		history->last_interaction_at = column_time(stmt, 1);
		history->service_count = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics history");
}

/* A growing array of histories. */
struct history_list {
	struct analytics_history *items;
	size_t count, alloc;
};

static struct analytics_history *history_list_add(struct history_list *list, int64_t contact_id)
{
	if (list->count == list->alloc) {
		list->alloc = list->alloc ? list->alloc * 2 : 1024;
		list->items = xrealloc(list->items, list->alloc * sizeof(*list->items));
	}
	struct analytics_history *h = &list->items[list->count++];
	memset(h, 0, sizeof(*h));
	h->contact_id = contact_id;
	return h;
}

/* Adds the interactions up to the cutoff to the histories (merging by contact id). */
static int histories_add_interactions(struct db *db, const char *cutoff, struct history_list *list)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT contact_id, count(*), max(occurred_at), "
		    "count(*) FILTER (WHERE kind = 'ticket' OR direction IS 'inbound') "
		    "FROM interactions WHERE occurred_at < ? GROUP BY contact_id ORDER BY contact_id");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, cutoff);
	size_t purchasers = list->count, next = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t contact_id = sqlite3_column_int64(stmt, 0);
		while (next < purchasers && list->items[next].contact_id < contact_id)
			next++;
		struct analytics_history *h = next < purchasers &&
							      list->items[next].contact_id == contact_id
						      ? &list->items[next]
						      : history_list_add(list, contact_id);
		h->interactions_count = sqlite3_column_int64(stmt, 1);
		h->last_interaction_at = column_time(stmt, 2);
		h->service_count = sqlite3_column_int64(stmt, 3);
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics interactions");
}

static int compare_history_id(const void *a, const void *b)
{
	int64_t x = ((const struct analytics_history *)a)->contact_id;
	int64_t y = ((const struct analytics_history *)b)->contact_id;
	return (x > y) - (x < y);
}

int analytics_store_histories(struct db *db, int64_t as_of_day,
			      struct analytics_history **histories, size_t *count)
{
	struct history_list list = { NULL, 0, 0 };
	int status = DB_ERROR, rc;
	*histories = NULL;
	*count = 0;
	if (as_of_day < 0) {
		sqlite3_stmt *stmt = db_prepare(db, "SELECT " SUMMARY_COLUMNS
						    " FROM contact_summaries ORDER BY contact_id");
		if (!stmt)
			goto cleanup;
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			read_summary_row(stmt, history_list_add(&list, sqlite3_column_int64(stmt, 0)));
		sqlite3_reset(stmt);
		status = db_status_from_sqlite(db, rc, "analytics histories");
		goto cleanup;
	}
	char cutoff[ANALYTICS_DATE_SIZE];
	cutoff_text(as_of_day, cutoff);
	sqlite3_stmt *stmt = db_prepare(db, "SELECT contact_id, occurred_at, amount_cents "
					    "FROM purchases WHERE occurred_at < ? "
					    "ORDER BY contact_id, occurred_at, id");
	if (!stmt)
		goto cleanup;
	db_bind_text(stmt, 1, cutoff);
	struct analytics_history *current = NULL;
	char last_day[11] = "";
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t contact_id = sqlite3_column_int64(stmt, 0);
		if (!current || current->contact_id != contact_id) {
			current = history_list_add(&list, contact_id);
			last_day[0] = '\0';
		}
		history_add_purchase(current, db_column_text(stmt, 1), sqlite3_column_int64(stmt, 2),
				     last_day);
	}
	sqlite3_reset(stmt);
	status = db_status_from_sqlite(db, rc, "analytics purchases");
	if (status != DB_OK)
		goto cleanup;
	size_t purchasers = list.count;
	status = histories_add_interactions(db, cutoff, &list);
	if (status == DB_OK && list.count > purchasers)
		qsort(list.items, list.count, sizeof(*list.items), compare_history_id);
cleanup:
	if (status != DB_OK) {
		free(list.items);
		return status;
	}
	*histories = list.items;
	*count = list.count;
	return DB_OK;
}

/* ================================================================ fits */

int analytics_store_fit_get(struct db *db, const char *key, struct analytics_model *model)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT fitted_at, data_as_of, customers, purchases, "
					    "purchase_generation, duration_ms, mean_spend_cents, bgnbd, "
					    "gamma_gamma FROM analytics_fits WHERE key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, key);
	int rc = sqlite3_step(stmt);
	int status = DB_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		memset(model, 0, sizeof(*model));
		snprintf(model->fitted_at, sizeof(model->fitted_at), "%s",
			 db_column_text(stmt, 0) ? db_column_text(stmt, 0) : "");
		snprintf(model->data_as_of, sizeof(model->data_as_of), "%s",
			 db_column_text(stmt, 1) ? db_column_text(stmt, 1) : "");
		model->customers = sqlite3_column_int64(stmt, 2);
		model->purchases = sqlite3_column_int64(stmt, 3);
		model->purchase_generation = sqlite3_column_int64(stmt, 4);
		model->duration_ms = sqlite3_column_int64(stmt, 5);
		model->mean_spend_cents = sqlite3_column_double(stmt, 6);
		status = analytics_model_fits_from_text(model, db_column_text(stmt, 7),
							db_column_text(stmt, 8)) == 0
				 ? DB_OK
				 : DB_NOT_FOUND; /* unreadable: refit */
	} else if (rc != SQLITE_DONE) {
		status = db_status_from_sqlite(db, rc, "analytics fit");
	}
	sqlite3_reset(stmt);
	return status;
}

int analytics_store_fit_put(struct db *db, const char *key, const struct analytics_model *model)
{
	char *bgnbd = NULL, *gamma_gamma = NULL;
	analytics_model_fits_to_text(model, &bgnbd, &gamma_gamma);
	int status = DB_ERROR;
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT OR REPLACE INTO analytics_fits (key, fitted_at, data_as_of, customers, "
		    "purchases, purchase_generation, duration_ms, mean_spend_cents, bgnbd, gamma_gamma) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		goto cleanup;
	db_bind_text(stmt, 1, key);
	db_bind_text(stmt, 2, model->fitted_at);
	db_bind_text(stmt, 3, model->data_as_of);
	sqlite3_bind_int64(stmt, 4, model->customers);
	sqlite3_bind_int64(stmt, 5, model->purchases);
	sqlite3_bind_int64(stmt, 6, model->purchase_generation);
	sqlite3_bind_int64(stmt, 7, model->duration_ms);
	sqlite3_bind_double(stmt, 8, isfinite(model->mean_spend_cents) ? model->mean_spend_cents : 0);
	db_bind_text(stmt, 9, bgnbd);
	db_bind_text(stmt, 10, gamma_gamma);
	status = db_step_done(db, stmt, "analytics fit");
	if (status != DB_OK)
		goto cleanup;
	/* Keep the live fit and the 50 most recent as-of fits. */
	stmt = db_prepare(db, "DELETE FROM analytics_fits WHERE key <> 'live' AND key NOT IN "
			      "(SELECT key FROM analytics_fits WHERE key <> 'live' "
			      "ORDER BY fitted_at DESC LIMIT 50)");
	status = stmt ? db_step_done(db, stmt, "analytics fit") : DB_ERROR;
cleanup:
	free(bgnbd);
	free(gamma_gamma);
	return status;
}

/* ================================================================ queries over the scores */

/*
 * The scope condition on `c` (contacts) for OWN and TEAM: ?1 the caller's id, ?2 the
 * caller's team ('' for none: a team of one). ALL needs no join; NONE is refused earlier.
 */
void analytics_scope_bind(sqlite3_stmt *stmt, const struct analytics_scope *scope)
{
	sqlite3_bind_int64(stmt, 1, scope->user_id);
	db_bind_text(stmt, 2, scope->team ? scope->team : "");
	sqlite3_bind_int(stmt, 3, scope->scope);
}

static bool scope_is_all(const struct analytics_scope *scope)
{
	return scope->scope == PERM_SCOPE_ALL;
}

int analytics_store_contact_readable(struct db *db, const struct analytics_scope *scope,
				     int64_t contact_id, bool *readable)
{
	*readable = false;
	sqlite3_stmt *stmt = scope_is_all(scope)
				     ? db_prepare(db, "SELECT 1 FROM contacts c WHERE c.id = ?4")
				     : db_prepare(db, "SELECT 1 FROM contacts c WHERE c.id = ?4 AND "
						      ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	sqlite3_bind_int64(stmt, 4, contact_id);
	int rc = sqlite3_step(stmt);
	*readable = rc == SQLITE_ROW;
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics readable");
}

/* One ranking row as JSON (new reference). */
static json_t *ranking_row(sqlite3_stmt *stmt)
{
	json_t *row = json_pack("{s:I,s:I,s:I,s:I}", "contact_id",
				(json_int_t)sqlite3_column_int64(stmt, 0), "predicted_ltv_cents",
				(json_int_t)sqlite3_column_int64(stmt, 1), "historical_ltv_cents",
				(json_int_t)sqlite3_column_int64(stmt, 2), "purchases_count",
				(json_int_t)sqlite3_column_int64(stmt, 3));
	static const char *const real_names[] = { "p_alive", "churn_risk" };
	for (int i = 0; i < 2; i++)
		json_object_set_new(row, real_names[i],
				    sqlite3_column_type(stmt, 4 + i) == SQLITE_NULL
					    ? json_null()
					    : json_real(sqlite3_column_double(stmt, 4 + i)));
	static const char *const text_names[] = { "tier", "rfm", "last_purchase_at",
						   "first_name", "last_name", "email" };
	for (int i = 0; i < 6; i++) {
		const char *text = db_column_text(stmt, 6 + i);
		json_object_set_new(row, text_names[i], text ? json_string(text) : json_null());
	}
	return row;
}

#define RANKING_COLUMNS                                                                      \
	"s.contact_id, s.predicted_ltv_cents, s.ltv_cents, s.purchases_count, "                \
	"1.0 - s.churn_risk, s.churn_risk, s.tier, s.rfm, s.last_purchase_at, "                 \
	"c.first_name, c.last_name, c.email"

int analytics_store_ranking(struct db *db, const struct analytics_scope *scope, int limit,
			    json_t **rows)
{
	*rows = json_array();
	sqlite3_stmt *stmt =
		scope_is_all(scope)
			? db_prepare(db, "SELECT " RANKING_COLUMNS " FROM (SELECT * FROM "
					 "temp.contact_scores WHERE purchases_count > 0 "
					 "ORDER BY predicted_ltv_cents DESC, contact_id LIMIT ?4) s "
					 "JOIN contacts c ON c.id = s.contact_id "
					 "ORDER BY s.predicted_ltv_cents DESC, s.contact_id")
			: db_prepare(db, "SELECT " RANKING_COLUMNS " FROM temp.contact_scores s "
					 "JOIN contacts c ON c.id = s.contact_id "
					 "WHERE s.purchases_count > 0 AND " ANALYTICS_SCOPE_CONDITION
					 " ORDER BY s.predicted_ltv_cents DESC, s.contact_id LIMIT ?4");
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	sqlite3_bind_int(stmt, 4, limit);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(*rows, ranking_row(stmt));
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics ranking");
}

int analytics_store_contact_names(struct db *db, int64_t contact_id, json_t *row)
{
	sqlite3_stmt *stmt =
		db_prepare(db, "SELECT first_name, last_name, email FROM contacts WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, contact_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		static const char *const names[] = { "first_name", "last_name", "email" };
		for (int i = 0; i < 3; i++) {
			const char *text = db_column_text(stmt, i);
			json_object_set_new(row, names[i], text ? json_string(text) : json_null());
		}
	}
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics contact");
}

/* Members, revenue and predicted LTV of the tier named by parameter ?N. */
#define TIER_FIGURES(n)                                                                      \
	"count(*) FILTER (WHERE s.tier = ?" #n "), "                                           \
	"total(s.ltv_cents) FILTER (WHERE s.tier = ?" #n "), "                                 \
	"total(s.predicted_ltv_cents) FILTER (WHERE s.tier = ?" #n ")"
#define ALL_TIER_FIGURES                                                                     \
	TIER_FIGURES(4) ", " TIER_FIGURES(5) ", " TIER_FIGURES(6) ", " TIER_FIGURES(7) ", "    \
	TIER_FIGURES(8) ", " TIER_FIGURES(9) ", " TIER_FIGURES(10) ", " TIER_FIGURES(11)

/*
 * One scan with a filter per tier (up to ANALYTICS_TIERS_MAX, names bound as ?4..?11):
 * GROUP BY would sort the table first.
 */
int analytics_store_tier_counts(struct db *db, const struct analytics_scope *scope,
				const struct analytics_settings *settings, json_t **by_tier)
{
	*by_tier = json_object();
	sqlite3_stmt *stmt =
		scope_is_all(scope)
			? db_prepare(db, "SELECT " ALL_TIER_FIGURES " FROM temp.contact_scores s")
			: db_prepare(db, "SELECT " ALL_TIER_FIGURES " FROM temp.contact_scores s "
					 "JOIN contacts c ON c.id = s.contact_id WHERE " ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	for (int i = 0; i < settings->tier_count && i < ANALYTICS_TIERS_MAX; i++)
		db_bind_text(stmt, 4 + i, settings->tiers[i].name);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < settings->tier_count && i < ANALYTICS_TIERS_MAX; i++)
			json_object_set_new(*by_tier, settings->tiers[i].name,
					    json_pack("{s:I,s:f,s:f}", "members",
						      (json_int_t)sqlite3_column_int64(stmt, 3 * i),
						      "revenue", sqlite3_column_double(stmt, 3 * i + 1),
						      "predicted",
						      sqlite3_column_double(stmt, 3 * i + 2)));
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics tiers");
}

/* The counts of the summary, in the order of analytics_score_count_names. */
#define SCORE_COUNTS                                                                         \
	"count(*) FILTER (WHERE s.purchases_count > 0), total(s.ltv_cents), "                  \
	"total(s.predicted_ltv_cents), total(s.purchases_count), "                              \
	"count(*) FILTER (WHERE s.first_purchase_at >= ?5 AND s.first_purchase_at < ?6), "      \
	"count(*) FILTER (WHERE s.first_purchase_at >= ?7 AND s.first_purchase_at < ?5), "      \
	"count(*) FILTER (WHERE s.loyalty = 'active'), "                                        \
	"count(*) FILTER (WHERE s.loyalty = 'passive'), "                                       \
	"count(*) FILTER (WHERE s.purchases_count > 0 AND s.loyalty = 'none'), "                \
	"count(*) FILTER (WHERE s.churn_risk < 0.3), "                                          \
	"count(*) FILTER (WHERE s.churn_risk >= 0.3 AND s.churn_risk < 0.7), "                  \
	"count(*) FILTER (WHERE s.churn_risk >= 0.7), "                                         \
	"count(*) FILTER (WHERE s.relationship_stage = 'contact'), "                            \
	"count(*) FILTER (WHERE s.relationship_stage = 'involvement'), "                        \
	"count(*) FILTER (WHERE s.relationship_stage = 'intimacy'), "                           \
	"count(*) FILTER (WHERE s.relationship_stage = 'deterioration'), "                      \
	"count(*) FILTER (WHERE s.relationship_stage = 'repair'), "                             \
	"count(*) FILTER (WHERE s.relationship_stage = 'dissolution'), "                        \
	"count(*) FILTER (WHERE s.value_class = 'high_value_high_service'), "                   \
	"count(*) FILTER (WHERE s.value_class = 'high_value_low_service'), "                    \
	"count(*) FILTER (WHERE s.value_class = 'low_value_potential'), "                       \
	"count(*) FILTER (WHERE s.value_class = 'low_value_high_service')"

const char *const analytics_score_count_names[ANALYTICS_SCORE_COUNTS] = {
	"customers", "historical_ltv_cents", "predicted_ltv_cents", "purchases",
	"new_customers_this_period", "new_customers_last_period",
	"loyalty.active", "loyalty.passive", "loyalty.none",
	"churn_risk.low", "churn_risk.medium", "churn_risk.high",
	"stage.contact", "stage.involvement", "stage.intimacy", "stage.deterioration",
	"stage.repair", "stage.dissolution",
	"value_class.high_value_high_service", "value_class.high_value_low_service",
	"value_class.low_value_potential", "value_class.low_value_high_service",
};

int analytics_store_score_counts(struct db *db, const struct analytics_scope *scope,
				 const char *this_start, const char *this_end,
				 const char *last_start, double counts[ANALYTICS_SCORE_COUNTS])
{
	sqlite3_stmt *stmt =
		scope_is_all(scope)
			? db_prepare(db, "SELECT " SCORE_COUNTS " FROM temp.contact_scores s")
			: db_prepare(db, "SELECT " SCORE_COUNTS " FROM temp.contact_scores s "
					 "JOIN contacts c ON c.id = s.contact_id WHERE " ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	db_bind_text(stmt, 5, this_start);
	db_bind_text(stmt, 6, this_end);
	db_bind_text(stmt, 7, last_start);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < ANALYTICS_SCORE_COUNTS; i++)
			counts[i] = sqlite3_column_double(stmt, i);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics summary");
}

int analytics_store_period(struct db *db, const struct analytics_scope *scope, const char *from,
			   const char *to, struct analytics_period *period)
{
	memset(period, 0, sizeof(*period));
	sqlite3_stmt *stmt =
		scope_is_all(scope)
			? db_prepare(db, "SELECT count(*), total(p.amount_cents), "
					 "count(DISTINCT p.contact_id) FROM purchases p "
					 "WHERE p.occurred_at >= ?5 AND p.occurred_at < ?6")
			: db_prepare(db, "SELECT count(*), total(p.amount_cents), "
					 "count(DISTINCT p.contact_id) FROM purchases p "
					 "JOIN contacts c ON c.id = p.contact_id "
					 "WHERE p.occurred_at >= ?5 AND p.occurred_at < ?6 AND "
					 ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	db_bind_text(stmt, 5, from);
	db_bind_text(stmt, 6, to);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		period->orders = sqlite3_column_int64(stmt, 0);
		period->revenue_cents = sqlite3_column_double(stmt, 1);
		period->buyers = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return db_status_from_sqlite(db, rc, "analytics period");
	stmt = scope_is_all(scope)
		       ? db_prepare(db, "SELECT count(*) FROM interactions i "
					"WHERE i.occurred_at >= ?5 AND i.occurred_at < ?6")
		       : db_prepare(db, "SELECT count(*) FROM interactions i "
					"JOIN contacts c ON c.id = i.contact_id "
					"WHERE i.occurred_at >= ?5 AND i.occurred_at < ?6 AND "
					ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	db_bind_text(stmt, 5, from);
	db_bind_text(stmt, 6, to);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		period->interactions = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics period");
}

int analytics_store_contacts_count(struct db *db, const struct analytics_scope *scope,
				   int64_t *count)
{
	*count = 0;
	sqlite3_stmt *stmt = scope_is_all(scope)
				     ? db_prepare(db, "SELECT count(*) FROM contacts c")
				     : db_prepare(db, "SELECT count(*) FROM contacts c WHERE "
						      ANALYTICS_SCOPE_CONDITION);
	if (!stmt)
		return DB_ERROR;
	if (!scope_is_all(scope))
		analytics_scope_bind(stmt, scope);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "analytics contacts");
}
