/*
 * purchases.h - the purchases resource (API.md section 5: revenue events) on the generic
 * resource mechanism (resource.h).
 *
 * Rules beyond the field types:
 *   - contact_id and amount_cents are required. amount_cents is an integer of minor units
 *     from -10^13 to 10^13: a negative amount is a refund, zero a free order.
 *   - currency defaults to the default currency (opportunities.h); occurred_at to the time
 *     of creation (a replacement without it keeps the stored time).
 *   - opportunity_id, when set or changed, must name an opportunity the caller may read
 *     (else 422) that is won (else 422: revenue comes from won deals). A purchase keeps its
 *     opportunity if that is reopened later.
 * Permissions: a purchase belongs to the owner of its contact (owner_via_reference on
 * contact_id: nothing is copied, so a new contact owner takes over at once). Recording a
 * purchase needs the write scope to cover the contact's owner: a rep records revenue of
 * their own contacts, a manager of the team's.
 * Lists: filters contact_id, opportunity_id, currency, reference, since (occurred_at >=
 * value) and until (occurred_at < value); ?sort=occurred_at or amount_cents.
 */
#ifndef CRM_PURCHASES_H
#define CRM_PURCHASES_H

#include "crm/resource.h"


#define PURCHASES_AMOUNT_MAX 10000000000000LL /* 10^13 minor units, either sign */

extern const struct resource purchases_resource;


#endif
