/*
 * timeline.h - GET /api/v1/contacts/{id}/timeline: everything that happened with a
 * contact, newest first.
 *
 * Items: {"type": t, "at": RFC 3339, "id": record id, "record": {...}} where t and "at" are
 *   interaction   the interaction (as GET interactions/{id}), at its occurred_at
 *   opportunity   the opportunity, at its created_at
 *   stage_change  a later stage change of one of its opportunities (as in
 *                 opportunities/{id}/stages), at its changed_at; the first stage is the
 *                 opportunity item itself
 *   purchase      the purchase, at its occurred_at
 *   task          the task, at its created_at
 * Order: at descending, then type ascending (alphabetical, as above), then id descending:
 * a total order, so the keyset paging (?limit 1-500, default 50, ?cursor from next_cursor)
 * has no duplicates or gaps across pages, also with equal timestamps.
 * Answer: {"data":[items], "next_cursor": text | null}.
 * 404 when the contact is not readable. Each kind of item follows the caller's read scope
 * for its resource (interactions by user_id, opportunities and their stage changes by
 * owner_id, tasks by assignee_id, purchases by the contact's owner): what the caller may
 * not read is left out.
 */
#ifndef CRM_TIMELINE_H
#define CRM_TIMELINE_H

struct router;

void timeline_routes_register(struct router *router);

#endif
