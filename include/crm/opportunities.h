/*
 * opportunities.h - the opportunities resource (API.md section 5: the sales pipeline) on
 * the generic resource mechanism (resource.h), and its stage history.
 *
 * Rules beyond the field types:
 *   - name is required; owner_id defaults to the caller; stage defaults to lead;
 *     amount_cents is an integer of minor units from 0 to 10^13 (null or absent: 0);
 *     currency defaults to the default currency (below).
 *   - probability (0-100) defaults from the stage: lead 10, qualified 25, proposal 50,
 *     negotiation 75, won 100, lost 0. When a write changes the stage and does not send a
 *     probability, the probability becomes the new stage's default; null also means the
 *     stage's default.
 *   - closed_at (a timestamp) may be sent when the stage is won or lost (syncing a deal
 *     closed earlier); sent non-null on an open stage it is a 422. Not sent (or null), it
 *     is the current time when the stage becomes won or lost (also won -> lost), cleared
 *     when the stage becomes an open one, and kept otherwise.
 *   - lost_reason belongs to lost opportunities: setting it on another stage is a 422; a
 *     write that moves an opportunity out of lost clears it.
 *   - Every stage an opportunity enters is recorded in its stage history (the first one at
 *     creation, with from_stage null) with the user and the time, in the write's
 *     transaction. Deleting the opportunity deletes its history.
 * Permissions: owner_id is the owner (as for contacts).
 * Lists: filters stage, owner_id (also `me`), contact_id, company_id, currency, tag,
 * expected_close_from / expected_close_to (inclusive dates); ?sort=amount_cents,
 * probability, expected_close, closed_at, name.
 *
 * GET /api/v1/opportunities/{id}/stages -> {"data":[{"id","opportunity_id","from_stage",
 * "to_stage","changed_at","user_id"}, ...], "next_cursor"}: the history, oldest first,
 * paged with ?limit (1-500, default 50) and ?cursor. 404 when the opportunity is not
 * readable.
 */
#ifndef CRM_OPPORTUNITIES_H
#define CRM_OPPORTUNITIES_H

#include <stdbool.h>

#include "crm/resource.h"

struct router;

#define OPPORTUNITIES_STAGE_COUNT 6
#define OPPORTUNITIES_AMOUNT_MAX 10000000000000LL /* 10^13 minor units */
#define OPPORTUNITIES_DEFAULT_CURRENCY "EUR"

extern const struct resource opportunities_resource;

/* The stages in pipeline order, NULL-terminated: lead ... negotiation, won, lost. */
extern const char *const opportunities_stages[];

/* The position of `stage` in opportunities_stages, or -1. */
int opportunities_stage_index(const char *stage);
/* The default probability of `stage` (lead 10 ... won 100, lost 0), or -1 if unknown. */
int opportunities_stage_probability(const char *stage);
/* Whether `stage` is a closed one (won or lost). */
bool opportunities_stage_closed(const char *stage);

/* Registers /api/v1/opportunities (generic routes) and .../{id}/stages. */
void opportunities_routes_register(struct router *router);

#endif
