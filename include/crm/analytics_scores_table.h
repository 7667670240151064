/*
 * analytics_scores_table.h - the store's side of the scores (src/store/analytics_scores_table.c):
 * temp.contact_scores, a read-only virtual table on each connection that shows the
 * snapshot (analytics_scores.h) pinned on that connection. src/analytics/analytics_scores.c
 * builds the snapshots and pins them here; segments and the analytics queries read them
 * through SQL. Keyed on the neutral `struct db`: nothing of the engine above the store.
 */
#ifndef CRM_ANALYTICS_SCORES_TABLE_H
#define CRM_ANALYTICS_SCORES_TABLE_H

#include "crm/analytics_scores.h"

struct db;

/*
 * Registers the virtual table module and creates temp.contact_scores on this connection
 * when missing (the binding lives until the connection closes). Returns DB_OK, or
 * DB_ERROR when the engine refused (logged).
 */
int scores_table_attach(struct db *db);

/* The snapshot pinned on this connection (borrowed), or NULL: none, or not attached. */
struct scores_snapshot *scores_table_pinned(struct db *db);

/*
 * Pins `snapshot` on this connection, taking over the caller's reference, and drops the
 * one pinned before. The connection must be attached (scores_table_attach()). Only the
 * thread using the connection pins or reads its snapshot.
 */
void scores_table_pin(struct db *db, struct scores_snapshot *snapshot);

#endif
