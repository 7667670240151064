/*
 * contacts_merge.h - merging duplicate contacts and finding likely duplicates
 * (src/http/contacts_merge.c, the SQL in src/store/contacts_merge_store.c).
 *
 *   POST /api/v1/contacts/{id}/merge   {"from": [ids]}  (1 to CONTACTS_MERGE_MAX ids)
 *        Merges the `from` contacts into contact {id}, the kept one, in one transaction:
 *        their interactions, opportunities, purchases and tasks move to the kept contact
 *        (each moved record gets version + 1), so do their static segment memberships
 *        (audited and announced as member changes: segments_contact_merging());
 *        every empty field of the kept contact takes the value of the first `from`
 *        contact (in the order given) that has one, tags are united (the kept contact's
 *        first, at most RESOURCE_TAGS_MAX), custom fields are merged key by key (the kept
 *        contact's keys win, as long as the object stays within its size limit); then the
 *        merged contacts are deleted and the kept one's version goes up. One audit entry
 *        (entity contacts, the kept id, action "merge") holds the contacts before, the
 *        merged ids and what moved. Webhooks: contact.deleted for each merged contact,
 *        contact.updated and contact.merged ({"contact", "merged", "moved"}) for the kept.
 *        Needs write on the kept contact and delete on each merged one (403); 404 when the
 *        kept contact is not readable; If-Match applies to it (412); 422 naming from[i]
 *        for an id that is unknown or not readable, the kept contact itself, a repeated
 *        id, or an erased contact (anonymous revenue is never tied to a person again).
 *        Answers 200 with the kept contact as stored.
 *   GET  /api/v1/contacts/duplicates   ?limit=1..500&cursor=&reason=email|phone|name
 *        Groups of likely duplicates among the contacts the caller may read (erased ones
 *        left out), each {"reason", "key", "count", "contacts": [at most
 *        CONTACTS_DUPLICATES_GROUP_MAX records]} (name groups also have "company_id"),
 *        ordered by reason (email, phone, name) then by their smallest contact id, paged.
 *        Reasons:
 *          email  the same address, ignoring ASCII case;
 *          phone  the same number: digits only (at least 7), compared on their last 9
 *                 digits, so that a country code (+49 or 0049) and a national trunk 0
 *                 do not matter: +49 30 1234567, 0049 30 1234567 and 030 1234567 are one
 *                 number, as are +1 415 555 0100 and (415) 555-0100;
 *          name   at the same company, first and last name (lower-cased ASCII, single
 *                 spaces) equal, or one edit apart (a letter added, removed, replaced,
 *                 or two neighbours swapped) when both have at least 5 characters;
 *                 groups are closed under this (Ann Lee ~ Anne Lee ~ Anne Leo).
 *        A contact may be in a group for each reason. Every page scans the contacts
 *        (it is a report, not a hot path).
 */
#ifndef CRM_CONTACTS_MERGE_H
#define CRM_CONTACTS_MERGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crm/operations.h"

struct db;
struct router;

#define CONTACTS_MERGE_MAX 50
#define CONTACTS_DUPLICATES_GROUP_MAX 100
#define CONTACTS_PHONE_KEY_SIZE 16
#define CONTACTS_PHONE_KEY_DIGITS 9
#define CONTACTS_PHONE_MIN_DIGITS 7
#define CONTACTS_NAME_FUZZY_MIN 5

/* Registers the two routes above. */
void contacts_merge_routes_register(struct router *router);

/* ---- the duplicate rules (pure; exposed for unit tests) ------------------------------- */

/*
 * The comparison key of a phone number (the rule above) into `out`. Returns 0, or -1 when
 * the number has fewer than CONTACTS_PHONE_MIN_DIGITS digits (no key).
 */
int contacts_phone_key(const char *phone, char out[CONTACTS_PHONE_KEY_SIZE]);

/*
 * The comparison form of a name: first and last name (either may be NULL) lower-cased
 * (ASCII), white space runs as one space, trimmed. Returns a malloc'd string (the caller
 * frees it), or NULL when both are empty.
 */
char *contacts_name_key(const char *first_name, const char *last_name);

/* Whether two name keys count as the same person (the rule above). */
bool contacts_names_similar(const char *a, const char *b);

/* ---- the data layer (src/store/contacts_merge_store.c) -------------------------------------- */

/* Whether contact `id` is erased (gdpr.h). DB_OK, DB_NOT_FOUND or an error. */
int contacts_merge_store_erased(struct db *db, int64_t id, bool *erased);

/*
 * Moves what belongs to contact `from_id` to `into_id`: interactions, opportunities,
 * purchases and tasks (contact_id, version + 1, updated_at = `now`), and static segment
 * memberships. Appends the ids of what moved to the arrays "interactions",
 * "opportunities", "purchases", "tasks" and "segments" of `moved` (borrowed; created when
 * missing). Call inside the merge's write transaction. Returns a db_status.
 */
int contacts_merge_store_move(struct db *db, int64_t from_id, int64_t into_id, const char *now,
			      json_t *moved);

enum contacts_duplicate_reason {
	CONTACTS_DUPLICATE_EMAIL,
	CONTACTS_DUPLICATE_PHONE,
	CONTACTS_DUPLICATE_NAME,
};

/*
 * Calls `visit` for every contact `scope` may read that is not erased and has what
 * `reason` compares (an email; a phone; a company), with its id, company_id (0 for none)
 * and the texts (email: the address and NULL; phone: the number and NULL; name: first and
 * last name, either NULL). Order: email by address ignoring case, then id; phone by id;
 * name by company_id, then id. A non-zero return from `visit` stops. Returns a db_status.
 */
int contacts_merge_store_scan(struct db *db, enum contacts_duplicate_reason reason,
			      const struct operations_scope *scope,
			      int (*visit)(void *context, int64_t id, int64_t company_id,
					   const char *a, const char *b),
			      void *context);

/* ---- the report and the merge (src/core/contacts_merge.c) ------------------------------ */

/* A group of likely duplicates; a list of them. */
struct contacts_duplicate_group {
	enum contacts_duplicate_reason reason;
	int64_t min_id;
	int64_t company_id; /* name groups */
	char *key;          /* owned */
	int64_t *ids;       /* owned, ascending */
	size_t count;
};

struct contacts_duplicate_groups {
	struct contacts_duplicate_group *items;
	size_t count, alloc;
};

void contacts_duplicate_groups_release(struct contacts_duplicate_groups *groups);
/* Adds the groups of `reason` the scope sees to `groups`. Returns a db_status. */
int contacts_duplicates_collect(struct db *db, enum contacts_duplicate_reason reason,
				const struct operations_scope *scope,
				struct contacts_duplicate_groups *groups);
/* Puts the groups in report order: by reason, then by smallest id. */
void contacts_duplicates_sort(struct contacts_duplicate_groups *groups);

/* What one merge holds; released by contacts_merge_release(). */
struct contacts_merge {
	int64_t ids[CONTACTS_MERGE_MAX];
	json_t *others[CONTACTS_MERGE_MAX]; /* the merged contacts as stored */
	size_t count;
	json_t *kept, *record, *stored, *moved, *body;
};
void contacts_merge_release(struct contacts_merge *m);
/*
 * Merges m->others into the kept contact `kept_id` (m->kept), inside the caller's write
 * transaction: references and static memberships move, the others are deleted, the kept
 * one takes their missing fields (m->record, m->stored, m->moved are set), one "merge"
 * audit entry by `user_id`, the events. Returns a db_status.
 */
int contacts_merge_apply(struct db *db, int64_t user_id, struct contacts_merge *m,
			 int64_t kept_id);

#endif
