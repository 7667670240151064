/*
 * audit_api.h - reading the audit log that audit.h writes: GET /api/v1/audit for
 * administrators (src/http/audit_api.c) and its data layer (src/store/audit_store.c), which the GDPR
 * module shares.
 *
 *   GET /api/v1/audit?entity=contacts&entity_id=12&user_id=3&action=update
 *                    &since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z&limit=50&cursor=..
 *   -> {"data":[{"id","at","user_id","actor","entity","entity_id","action","before",
 *       "after"}, ...], "next_cursor": text | null}
 *
 * Every filter is optional and they combine with AND: entity (the resource or table name:
 * contacts, users, api_keys, roles, grants, sessions, ...), entity_id (a record id),
 * user_id (the acting user; `me` is the caller; entries made with crmctl have user_id
 * null and actor "crmctl"), action (create, update, delete, erase, revoke, grant, ...),
 * since (at >= it) and until (at < it), both RFC 3339. Entries come newest first, by id
 * (ids grow with time), keyset-paged with ?limit (1-500, default 50) and ?cursor: no
 * duplicates or gaps across pages while entries are added. before/after are the JSON
 * objects written with the entry (null when none: a create has no before, a delete no
 * after).
 *
 * Only callers whose role grants `audit` read with scope `all` (administrators) may read
 * the log: others get 403. Unknown, repeated or malformed parameters answer 400.
 */
#ifndef CRM_AUDIT_API_H
#define CRM_AUDIT_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct db;
struct router;

#define AUDIT_NAME_MAX 64 /* characters of an entity or action filter */

/* Registers GET /api/v1/audit. */
void audit_api_routes_register(struct router *router);

/* ---- the data layer (src/store/audit_store.c) -------------------------------------------------- */

/* A page of the log, newest first. Strings are borrowed; NULL or 0 means no filter. */
struct audit_query {
	const char *entity;
	int64_t entity_id;
	int64_t user_id;
	const char *action;
	const char *since;     /* RFC 3339 UTC as stored ("2026-11-23T16:00:00Z"), inclusive */
	const char *until;     /* exclusive */
	int64_t before_id;     /* keyset: only entries with a smaller id; 0 from the newest */
	int limit;             /* 1..500 */
};

/*
 * Runs `query`: *rows gets a new array of at most query->limit entries (as above) and
 * *more whether older ones follow. Returns a db_status.
 */
int audit_store_list(struct db *db, const struct audit_query *query, json_t **rows, bool *more);

/*
 * Appends every entry about record `entity_id` of `entity` to `rows` (borrowed array),
 * oldest first. Returns a db_status.
 */
int audit_store_entries_of(struct db *db, const char *entity, int64_t entity_id, json_t *rows);

#endif
