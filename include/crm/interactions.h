/*
 * interactions.h - the interactions resource (API.md section 5: every touch point with a
 * contact) on the generic resource mechanism (resource.h).
 *
 * Rules beyond the field types:
 *   - contact_id and kind are required; occurred_at defaults to the time of creation (a
 *     replacement without it keeps the stored time).
 *   - user_id is the user who logged the interaction: the caller, set by the server on
 *     create, read-only (422 in a body) and never changed afterwards.
 *   - status belongs to tickets only: a ticket always has one (open when not given or
 *     cleared with null); status on any other kind is a 422. Changing a ticket into another
 *     kind drops its status unless the same request sets one (which is then a 422).
 * Permissions: user_id is the owner. A rep (write own) may change the interactions they
 * logged; a manager (write team) those logged by the team; deletes follow the delete scope.
 * Logging an interaction needs the write scope to cover the caller and read access to the
 * contact (else 422 contact_id).
 * Lists: filters contact_id, kind, direction, status, outcome, user_id (also `me`), since
 * (occurred_at >= value) and until (occurred_at < value); ?q= searches subject and body;
 * ?sort=occurred_at.
 */
#ifndef CRM_INTERACTIONS_H
#define CRM_INTERACTIONS_H

#include "crm/resource.h"


extern const struct resource interactions_resource;

/* Kinds, NULL-terminated: call, email, meeting, note, ticket, chat, sms, visit. */
extern const char *const interactions_kinds[];
/* Ticket statuses, NULL-terminated: open, pending, closed. */
extern const char *const interactions_statuses[];


#endif
