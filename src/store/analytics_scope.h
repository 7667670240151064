/*
 * analytics_scope.h - private to the store: the SQL condition that limits an analytics
 * query to the caller's read scope, shared by analytics_store.c and
 * analytics_revenue_store.c.
 */
#ifndef CRM_STORE_ANALYTICS_SCOPE_H
#define CRM_STORE_ANALYTICS_SCOPE_H

#include "crm/analytics.h"
#include "store/db_sqlite.h"

/*
 * SQL text: the caller's read scope on `c` (contacts) for OWN and TEAM, over the
 * parameters ?1 the caller's id, ?2 the caller's team ('' for none: a team of one), ?3 the
 * scope; bind them with analytics_scope_bind(). ALL needs no condition; NONE is refused
 * before any query. Shared by every analytics query that honours the scope.
 */
#define ANALYTICS_SCOPE_CONDITION                                                            \
	"(c.owner_id = ?1 OR (?3 = 2 AND ?2 <> '' AND "                                        \
	"c.owner_id IN (SELECT id FROM users WHERE team = ?2)))"

/* Binds ?1..?3 of ANALYTICS_SCOPE_CONDITION. */
void analytics_scope_bind(sqlite3_stmt *stmt, const struct analytics_scope *scope);

#endif
