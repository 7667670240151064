/*
 * segments.h - segments of contacts (API.md section 5): a resource on the generic
 * mechanism (resource.h) plus its own routes, and the data layer behind them.
 *
 * A segment has `name` (required), `kind` (dynamic|static; default: dynamic when a rule
 * is given, else static; it cannot change later), `rule` (dynamic only, required there:
 * a rule tree of segment_rule.h, checked on every write with errors naming the faulty
 * node), `description`, `owner_id` (default: the caller), `tags`, `external_id`.
 *
 *   POST   /api/v1/segments/preview      {"rule":..} -> {"count":n,"sample":[10 contacts]}
 *   GET    /api/v1/segments/{id}/members  paged contacts, ?limit=1..500&cursor=, by id
 *   POST   /api/v1/segments/{id}/members  static: {"contact_ids":[..]} -> {"added":n}
 *   DELETE /api/v1/segments/{id}/members  static: {"contact_ids":[..]} -> {"removed":n}
 *   GET    /api/v1/segments/{id}/export   the members as CSV (segments_export_csv)
 *
 * Members of a dynamic segment are the contacts its rule matches now; of a static one,
 * those added. Either way only the contacts the caller may read (their read scope on
 * contacts) are listed, counted or exported. Adding or removing members needs the write
 * scope on the segment, bumps its version (If-Match is honoured) and is audited; the ids
 * (1 to SEGMENTS_MEMBERS_MAX) must name contacts the caller may read, else 422 naming
 * each bad one ("contact_ids[2]"). A dynamic segment answers 409 to both.
 */
#ifndef CRM_SEGMENTS_H
#define CRM_SEGMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/buf.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/segment_rule.h"

struct db;
struct router;

#define SEGMENTS_PREVIEW_SAMPLE 10
#define SEGMENTS_MEMBERS_MAX 1000 /* contact ids in one add or remove */

extern const struct resource segments_resource;

/* Registers the generic segment routes and the ones above. */
void segments_routes_register(struct router *router);

/*
 * Whose view of the contacts: a read scope on contacts and the caller it is relative to;
 * company_scope (read on companies) says whose company names an export shows.
 */
struct segments_viewer {
	enum perm_scope scope;
	int64_t user_id;
	const char *team; /* borrowed; "" when none */
	enum perm_scope company_scope;
};

/*
 * Appends the members of `segment` (a stored segment record, borrowed) that `viewer` may
 * read to `out` as CSV (RFC 4180, CRLF line ends) for people with a spreadsheet: a header
 * row, then one row per contact by id: id, first_name, last_name, email, phone, title,
 * company_id, company (its name, when the viewer may read the company), owner_id, owner
 * (the user's name), lifecycle, relationship_level, tier, predicted_ltv_cents, tags
 * (joined with "; "), source, external_id, created_at, updated_at. Text cells go through
 * segments_csv_add_cell(), phone numbers through segments_csv_add_phone(). Runs in one
 * read transaction. Returns a db_status, or SEGMENTS_RULE_INVALID when the stored rule
 * no longer compiles.
 */
#define SEGMENTS_RULE_INVALID (-100)
int segments_export_csv(struct db *db, const json_t *segment,
			const struct segments_viewer *viewer, struct buf *out);

/*
 * Appends one CSV cell (no separator) as csv_add_cell() (crm/csv.h) writes it: quoted when
 * it holds , ; tab quote CR LF, and a guard quote before every piece of it (its start, and
 * after each of , ; tab CR LF) that a spreadsheet would take for a formula.
 */
void segments_csv_add_cell(struct buf *out, const char *text);

/*
 * Appends a phone number as one CSV cell. A plain number (digits, spaces and + ( ) - . /
 * only) that starts with + or - cannot be a harmful formula, but a spreadsheet would still
 * compute it: it is written as the text formula ="+49 30 5", shown as +49 30 5 without a
 * quote. Anything else goes through segments_csv_add_cell().
 */
void segments_csv_add_phone(struct buf *out, const char *text);

/*
 * Static memberships that go with a contact, as member changes of their segments made by
 * user `user_id`: each is announced exactly like the same change through
 * DELETE/POST segments/{id}/members, inside the caller's write transaction: the segment's
 * version + 1, an audit entry (entity segments, the segment's id, action remove_members
 * with before {"contact_ids":[id],"removed":1}, or add_members with after
 * {"contact_ids":[id],"added":1}; actor api, or cli without a user) and the webhook event segment.member_removed
 * or segment.member_added {"segment_id","contact_id"}. Return a db_status.
 *
 * segments_contact_deleted: contact `contact_id` is about to be deleted (the contacts
 * resource's delete_dependants hook, resource.h): it leaves each of its static segments.
 * segments_contact_merging: contact `from_id` is about to be merged into `into_id`
 * (contacts_merge.h), which then moves the rows itself: `from_id` leaves each of its
 * static segments and `into_id` joins those it is not yet in. Writes no membership rows.
 */
int segments_contact_deleted(struct db *db, int64_t user_id, const json_t *contact);
int segments_contact_merging(struct db *db, int64_t user_id, int64_t from_id, int64_t into_id);

/*
 * Emits segment.member_added (`add`) or segment.member_removed {"segment_id","contact_id"}
 * inside the caller's write transaction: the one shape of the member events of static
 * segments (segments.c) and dynamic ones (segment_watch.c). Returns a db_status.
 */
int segments_member_event(struct db *db, int64_t segment_id, int64_t contact_id, bool add);

/* ---- the data layer (src/store/segments_store.c) ---------------------------------------------- */

/* Which members to read: a static segment's stored ones, or those of a compiled rule. */
struct segments_member_query {
	int64_t segment_id;                  /* static: whose members (rule is NULL) */
	const struct segment_rule_sql *rule; /* dynamic: the compiled rule (borrowed) */
	struct segments_viewer viewer;       /* only contacts this viewer may read */
	int64_t after_id;                    /* keyset: contact ids greater than this */
	int limit;                           /* at most this many ids */
};

/*
 * Makes the computed fields (temp.contact_scores) current on this connection when `rule`
 * uses them (analytics.h); does nothing otherwise. Call inside the read transaction that
 * then reads the members. Returns a db_status.
 */
int segments_store_prepare(struct db *db, const struct segment_rule_sql *rule);
/* The same whatever the rule: for an export, whose columns show the scores. */
int segments_store_prepare_scores(struct db *db);

/*
 * An upper bound of the number of contacts a rule is tested on, cheap at any size (the
 * highest contact id: one index lookup). Returns a db_status.
 */
int segments_store_contacts_estimate(struct db *db, int64_t *contacts);

/*
 * Fills `ids` (room for query->limit) with member contact ids in ascending order, sets
 * *count. Returns a db_status.
 */
int segments_store_member_ids(struct db *db, const struct segments_member_query *query,
			      int64_t *ids, int *count);

/* Counts the members (limit and after_id are ignored). Returns a db_status. */
int segments_store_member_count(struct db *db, const struct segments_member_query *query,
				int64_t *count);

/*
 * Adds (or removes) contacts `ids` to the static segment `segment_id`; ids already in
 * (or not in) it are skipped. Sets *changed to how many rows changed. In a write
 * transaction. Returns a db_status.
 */
int segments_store_members_add(struct db *db, int64_t segment_id, const int64_t *ids,
			       size_t count, int64_t *changed);
int segments_store_members_remove(struct db *db, int64_t segment_id, const int64_t *ids,
				  size_t count, int64_t *changed);
/*
 * The ids of the static segments that contact `contact_id` is a member of, ascending, as
 * a new JSON array in *ids (the caller frees it, also after an error). Returns a db_status.
 */
int segments_store_contact_segment_ids(struct db *db, int64_t contact_id, json_t **ids);

/*
 * Reads members in one read transaction: `page` receives at most query->limit contacts
 * after query->after_id and *more whether more follow; `total` (optional) the number of
 * all members (query->after_id must then be 0). Returns a db_status.
 */
int segments_read_members(struct db *db, const struct segments_member_query *query,
			  json_t *page, bool *more, int64_t *total);

/*
 * Records that `count` contacts (`contact_ids`, borrowed) joined (`add`) or left static
 * segment `segment` (the stored record, borrowed): its version + 1 (the stored record in
 * *stored unless `stored` is NULL) and the audit entry. The actor is the API, or crmctl
 * when there is no user. Inside the caller's write transaction. Returns a db_status.
 */
int segments_record_member_change(struct db *db, int64_t user_id, const json_t *segment,
				   const json_t *contact_ids, int64_t count, bool add,
				   json_t **stored);

/* Whether a stored segment (borrowed) is dynamic. */
bool segments_is_dynamic(const json_t *segment);
/* Compiles a stored segment's rule at the current time. Returns 0, or -1 (rule invalid). */
int segments_compile_stored_rule(const json_t *segment, struct segment_rule_sql *rule);

/*
 * The cost model's verdict (segment_rule.h) on running `rule` (NULL: a static segment,
 * always affordable) within the budget armed on `db` (db_set_budget(); none: always).
 * Returns 0 when the estimate fits, else -1 with `outcome` INVALID naming the rule's
 * costliest part (its path) with the estimate, the contacts and the budget.
 */
struct outcome;
int segments_rule_affordable(struct db *db, const struct segment_rule_sql *rule,
			     struct outcome *outcome);

/*
 * Adds (`add`) or removes the contacts `ids` (`count`; `contact_ids` is the same list as
 * sent, for the audit entry) to or from static segment `segment` (stored record, borrowed),
 * inside the caller's write transaction: an event for each contact that really joins or
 * leaves, then the segment's version + 1 and its audit entry when any did. Sets *changed
 * and *stored (the segment as stored, new reference, or NULL when nothing changed).
 * Returns a db_status.
 */
int segments_change_members(struct db *db, int64_t user_id, const json_t *segment,
			    const int64_t *ids, size_t count, const json_t *contact_ids, bool add,
			    int64_t *changed, json_t **stored);

/* What an export shows of a member beyond its own fields. */
struct segments_member_extras {
	char company[256];           /* its company's name; "" without one or not readable */
	char owner[256];             /* its owner's name; "" without one */
	char tier[32];               /* "" without purchases */
	int64_t predicted_ltv_cents; /* 0 without purchases */
};

/*
 * The company and owner names and the scores of contact `contact_id` for `viewer`: the
 * company name only where viewer->company_scope covers the company's owner. Needs
 * temp.contact_scores made current first (analytics_scores_prepare()). Returns a
 * db_status (DB_NOT_FOUND for an unknown contact).
 */
int segments_store_member_extras(struct db *db, const struct segments_viewer *viewer,
				 int64_t contact_id, struct segments_member_extras *out);

#endif
