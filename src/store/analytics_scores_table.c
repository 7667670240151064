/*
 * analytics_scores_table.c - temp.contact_scores, the read-only SQLite virtual table through
 * which segments and the analytics queries read the scores (the contract of analytics.h).
 *
 * Every connection gets the module and the table on first use (scores_table_attach()); the
 * table shows the snapshot that analytics_scores_prepare() pinned on that connection, one of
 * the process-wide snapshots of analytics_scores.c. Nothing is copied per connection: a
 * lookup by contact id is a chunk index and a binary search, a scan walks the chunks in id
 * order. The figures that depend on the cut points (rfm, tier, value class) are derived
 * from the row and the snapshot's cut points when read, so a moved cut point changes no row.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/analytics_scores_table.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define MODULE_NAME "crm_contact_scores"

/*
 * One connection's binding: the snapshot its temp.contact_scores shows (a reference), set
 * by scores_table_pin() and read by the virtual table. Only the thread using the
 * connection touches `pinned`.
 */
struct scores_connection {
	struct db *db;
	struct scores_snapshot *pinned;
	struct scores_connection *next; /* the registry */
};

enum scores_column {
	COLUMN_CONTACT_ID,
	COLUMN_LTV_CENTS,
	COLUMN_PREDICTED_LTV_CENTS,
	COLUMN_TIER,
	COLUMN_RFM,
	COLUMN_CHURN_RISK,
	COLUMN_PURCHASES_COUNT,
	COLUMN_LAST_PURCHASE_AT,
	COLUMN_LAST_INTERACTION_AT,
	COLUMN_FIRST_PURCHASE_AT,
	COLUMN_LOYALTY,
	COLUMN_VALUE_CLASS,
	COLUMN_RELATIONSHIP_STAGE,
};

/* idxNum of xBestIndex: a full scan or one contact by id. */
enum { PLAN_SCAN = 0, PLAN_BY_ID = 1 };

struct scores_vtab {
	sqlite3_vtab base;
	struct scores_connection *connection;
};

struct scores_cursor {
	sqlite3_vtab_cursor base;
	struct scores_connection *connection;
	struct scores_snapshot *snapshot; /* a reference, NULL when nothing is pinned */
	size_t chunk, index;              /* the position of a scan */
	const struct scores_row *row;     /* NULL: at the end */
	bool single;                      /* PLAN_BY_ID: one row at most */
	bool relative_ready;              /* `relative` is the current row's */
	struct analytics_relative relative;
	char text[TIME_RFC3339_SIZE];
};

/* ================================================================ connecting */

static int scores_connect(sqlite3 *handle, void *aux, int argc, const char *const *argv,
			  sqlite3_vtab **out, char **error)
{
	(void)argc;
	(void)argv;
	(void)error;
	int rc = sqlite3_declare_vtab(
		handle, "CREATE TABLE x(contact_id INTEGER, ltv_cents INTEGER, "
			"predicted_ltv_cents INTEGER, tier TEXT, rfm TEXT, churn_risk REAL, "
			"purchases_count INTEGER, last_purchase_at TEXT, last_interaction_at TEXT, "
			"first_purchase_at TEXT, loyalty TEXT, value_class TEXT, "
			"relationship_stage TEXT)");
	if (rc != SQLITE_OK)
		return rc;
	struct scores_vtab *vtab = sqlite3_malloc(sizeof(*vtab));
	if (!vtab)
		return SQLITE_NOMEM;
	memset(vtab, 0, sizeof(*vtab));
	vtab->connection = aux;
	*out = &vtab->base;
	return SQLITE_OK;
}

static int scores_disconnect(sqlite3_vtab *vtab)
{
	sqlite3_free(vtab);
	return SQLITE_OK;
}

/* ================================================================ planning */

/*
 * An equality on contact_id (or the rowid) is a lookup costing about one row; otherwise a
 * scan of every row, in contact id order (so ORDER BY contact_id needs no sort).
 */
static int scores_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
	struct scores_vtab *vtab = (struct scores_vtab *)base;
	int by_id = -1;
	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		if (c->usable && c->op == SQLITE_INDEX_CONSTRAINT_EQ &&
		    (c->iColumn == COLUMN_CONTACT_ID || c->iColumn == -1)) {
			by_id = i;
			break;
		}
	}
	if (info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
	    (info->aOrderBy[0].iColumn == COLUMN_CONTACT_ID || info->aOrderBy[0].iColumn == -1))
		info->orderByConsumed = 1;
	if (by_id >= 0) {
		info->aConstraintUsage[by_id].argvIndex = 1;
		info->aConstraintUsage[by_id].omit = 1;
		info->idxNum = PLAN_BY_ID;
		info->estimatedCost = 10;
		info->estimatedRows = 1;
		info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
		return SQLITE_OK;
	}
	const struct scores_snapshot *pinned = vtab->connection->pinned;
	double rows = pinned && pinned->count > 0 ? (double)pinned->count : 1000000.0;
	info->idxNum = PLAN_SCAN;
	info->estimatedCost = rows;
	info->estimatedRows = (sqlite3_int64)rows;
	return SQLITE_OK;
}

/* ================================================================ cursors */

static int scores_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
	struct scores_cursor *cursor = sqlite3_malloc(sizeof(*cursor));
	if (!cursor)
		return SQLITE_NOMEM;
	memset(cursor, 0, sizeof(*cursor));
	cursor->connection = ((struct scores_vtab *)base)->connection;
	*out = &cursor->base;
	return SQLITE_OK;
}

static int scores_close(sqlite3_vtab_cursor *base)
{
	struct scores_cursor *cursor = (struct scores_cursor *)base;
	if (cursor->snapshot)
		scores_snapshot_unref(cursor->snapshot);
	sqlite3_free(cursor);
	return SQLITE_OK;
}

/* Moves a scan to the first row at or after (chunk, index); row NULL at the end. */
static void cursor_settle(struct scores_cursor *cursor)
{
	const struct scores_snapshot *s = cursor->snapshot;
	cursor->row = NULL;
	cursor->relative_ready = false;
	while (s && cursor->chunk < s->chunk_count) {
		const struct scores_chunk *chunk = s->chunks[cursor->chunk];
		if (chunk && cursor->index < chunk->count) {
			cursor->row = &chunk->rows[cursor->index];
			return;
		}
		cursor->chunk++;
		cursor->index = 0;
	}
}

/* The contact id a lookup asks for, when it is an integer (numeric text converts). */
static bool lookup_id(sqlite3_value *value, int64_t *id)
{
	switch (sqlite3_value_numeric_type(value)) {
	case SQLITE_INTEGER:
		*id = sqlite3_value_int64(value);
		return true;
	case SQLITE_FLOAT: {
		double d = sqlite3_value_double(value);
		if (d >= -9.2e18 && d <= 9.2e18 && d == floor(d)) {
			*id = (int64_t)d;
			return true;
		}
		return false;
	}
	default:
		return false;
	}
}

static int scores_filter(sqlite3_vtab_cursor *base, int plan, const char *plan_text, int argc,
			 sqlite3_value **argv)
{
	(void)plan_text;
	struct scores_cursor *cursor = (struct scores_cursor *)base;
	struct scores_snapshot *pinned = cursor->connection->pinned;
	if (cursor->snapshot != pinned) {
		if (cursor->snapshot)
			scores_snapshot_unref(cursor->snapshot);
		cursor->snapshot = pinned;
		if (pinned)
			scores_snapshot_ref(pinned);
	}
	cursor->relative_ready = false;
	cursor->single = plan == PLAN_BY_ID;
	if (cursor->single) {
		int64_t id;
		cursor->row = cursor->snapshot && argc == 1 && lookup_id(argv[0], &id)
				      ? scores_snapshot_find(cursor->snapshot, id)
				      : NULL;
		return SQLITE_OK;
	}
	cursor->chunk = 0;
	cursor->index = 0;
	cursor_settle(cursor);
	return SQLITE_OK;
}

static int scores_next(sqlite3_vtab_cursor *base)
{
	struct scores_cursor *cursor = (struct scores_cursor *)base;
	if (cursor->single) {
		cursor->row = NULL;
		return SQLITE_OK;
	}
	cursor->index++;
	cursor_settle(cursor);
	return SQLITE_OK;
}

static int scores_eof(sqlite3_vtab_cursor *base)
{
	return ((struct scores_cursor *)base)->row == NULL;
}

static int scores_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
	*rowid = ((struct scores_cursor *)base)->row->contact_id;
	return SQLITE_OK;
}

/* R, F, M, tier and value class of the current row (a customer), computed once per row. */
static const struct analytics_relative *cursor_relative(struct scores_cursor *cursor)
{
	if (!cursor->relative_ready) {
		const struct scores_snapshot *s = cursor->snapshot;
		struct analytics_metrics metrics;
		scores_row_metrics(cursor->row, &s->settings, &metrics);
		analytics_classify_relative(&metrics, cursor->row->high_service, &s->cuts,
					    &s->settings, &cursor->relative);
		cursor->relative_ready = true;
	}
	return &cursor->relative;
}

static void result_time(sqlite3_context *context, struct scores_cursor *cursor, bool present,
			int64_t seconds)
{
	if (!present) {
		sqlite3_result_null(context);
		return;
	}
	analytics_store_format_time(seconds, cursor->text);
	sqlite3_result_text(context, cursor->text, TIME_RFC3339_SIZE - 1, SQLITE_TRANSIENT);
}

static void result_static(sqlite3_context *context, const char *text)
{
	if (text)
		sqlite3_result_text(context, text, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(context);
}

static int scores_column(sqlite3_vtab_cursor *base, sqlite3_context *context, int column)
{
	struct scores_cursor *cursor = (struct scores_cursor *)base;
	const struct scores_row *row = cursor->row;
	const struct scores_snapshot *s = cursor->snapshot;
	bool customer = row->purchase_days > 0;
	switch (column) {
	case COLUMN_CONTACT_ID:
		sqlite3_result_int64(context, row->contact_id);
		break;
	case COLUMN_LTV_CENTS:
		sqlite3_result_int64(context, scores_row_ltv_cents(row, &s->settings));
		break;
	case COLUMN_PREDICTED_LTV_CENTS:
		sqlite3_result_int64(context, row->predicted_ltv_cents);
		break;
	case COLUMN_TIER:
		if (customer)
			sqlite3_result_text(context, s->settings.tiers[cursor_relative(cursor)->tier].name,
					    -1, SQLITE_TRANSIENT);
		else
			sqlite3_result_null(context);
		break;
	case COLUMN_RFM:
		if (customer) {
			const struct analytics_relative *r = cursor_relative(cursor);
			char rfm[3] = { (char)('0' + r->r), (char)('0' + r->f), (char)('0' + r->m) };
			sqlite3_result_text(context, rfm, 3, SQLITE_TRANSIENT);
		} else {
			sqlite3_result_null(context);
		}
		break;
	case COLUMN_CHURN_RISK:
		if (customer && isfinite(row->churn_risk))
			sqlite3_result_double(context, row->churn_risk);
		else
			sqlite3_result_null(context);
		break;
	case COLUMN_PURCHASES_COUNT:
		sqlite3_result_int64(context, row->purchases_count);
		break;
	case COLUMN_LAST_PURCHASE_AT:
		result_time(context, cursor, row->purchases_count > 0, row->last_purchase_at);
		break;
	case COLUMN_LAST_INTERACTION_AT:
		result_time(context, cursor, row->has_interactions, row->last_interaction_at);
		break;
	case COLUMN_FIRST_PURCHASE_AT:
		result_time(context, cursor, row->purchases_count > 0, row->first_purchase_at);
		break;
	case COLUMN_LOYALTY:
		result_static(context, scores_loyalty_names[row->loyalty]);
		break;
	case COLUMN_VALUE_CLASS:
		result_static(context, customer ? cursor_relative(cursor)->value_class : NULL);
		break;
	case COLUMN_RELATIONSHIP_STAGE:
		result_static(context, scores_stage_names[row->relationship_stage]);
		break;
	default:
		sqlite3_result_null(context);
		break;
	}
	return SQLITE_OK;
}

static const sqlite3_module scores_module = {
	.iVersion = 0,
	.xCreate = scores_connect,
	.xConnect = scores_connect,
	.xBestIndex = scores_best_index,
	.xDisconnect = scores_disconnect,
	.xDestroy = scores_disconnect,
	.xOpen = scores_open,
	.xClose = scores_close,
	.xFilter = scores_filter,
	.xNext = scores_next,
	.xEof = scores_eof,
	.xColumn = scores_column,
	.xRowid = scores_rowid,
};

/* ================================================================ the connections */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scores_connection *registry;

/* The module's client data destructor: runs when the connection closes. */
static void connection_destroy(void *data)
{
	struct scores_connection *connection = data;
	pthread_mutex_lock(&registry_lock);
	for (struct scores_connection **p = &registry; *p; p = &(*p)->next)
		if (*p == connection) {
			*p = connection->next;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	if (connection->pinned)
		scores_snapshot_unref(connection->pinned);
	free(connection);
}

static struct scores_connection *registry_find(struct db *db)
{
	pthread_mutex_lock(&registry_lock);
	struct scores_connection *found = registry;
	while (found && found->db != db)
		found = found->next;
	pthread_mutex_unlock(&registry_lock);
	return found;
}

int scores_table_attach(struct db *db)
{
	if (registry_find(db))
		return DB_OK;
	sqlite3 *handle = db_handle(db);
	struct scores_connection *connection = xcalloc(1, sizeof(*connection));
	connection->db = db;
	pthread_mutex_lock(&registry_lock);
	connection->next = registry;
	registry = connection;
	pthread_mutex_unlock(&registry_lock);
	/* On failure SQLite calls connection_destroy() itself. */
	int rc = sqlite3_create_module_v2(handle, MODULE_NAME, &scores_module, connection,
					  connection_destroy);
	if (rc != SQLITE_OK) {
		log_error("analytics: cannot register the scores table: %s", sqlite3_errstr(rc));
		return DB_ERROR;
	}
	char *message = NULL;
	rc = sqlite3_exec(handle, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.contact_scores "
				  "USING " MODULE_NAME, NULL, NULL, &message);
	if (rc != SQLITE_OK) {
		log_error("analytics: cannot create temp.contact_scores: %s",
			  message ? message : sqlite3_errstr(rc));
		sqlite3_free(message);
		return DB_ERROR;
	}
	return DB_OK;
}

struct scores_snapshot *scores_table_pinned(struct db *db)
{
	struct scores_connection *connection = registry_find(db);
	return connection ? connection->pinned : NULL;
}

void scores_table_pin(struct db *db, struct scores_snapshot *snapshot)
{
	struct scores_connection *connection = registry_find(db);
	assert(connection);
	struct scores_snapshot *old = connection->pinned;
	connection->pinned = snapshot;
	scores_snapshot_unref(old);
}
