/*
 * demo_activity.h - the second half of `crmctl demo-data` (src/cli/cli_demo_activity.c):
 * the history of the contacts cli_demo.c has just made. Per contact, on average:
 *
 *   interactions  ~10 (--interactions-per-contact): calls, e-mails, meetings, notes,
 *                 tickets, chats, SMS and visits between the contact's creation and today,
 *                 with directions, outcomes, ticket statuses, subjects and short bodies;
 *                 engaged contacts (and customers) have more.
 *   purchases     ~5 (--purchases-per-contact), from customers and churned contacts only,
 *                 drawn as the BG/NBD and Gamma-Gamma models assume: each buyer has their
 *                 own purchase rate (gamma distributed), a chance to drop out after each
 *                 repeat purchase (beta distributed) and a spend level (gamma distributed,
 *                 with gamma distributed amounts around it); churned contacts stopped
 *                 buying at least half a year ago. So the LTV models, tiers and RFM have
 *                 something real to find.
 *   opportunities ~0.2, moving lead -> qualified -> proposal -> negotiation -> won/lost
 *                 with realistic durations (open ones are still on their way), every stage
 *                 change in opportunity_stage_changes, closed_at and lost_reason set; a won
 *                 opportunity leads to a purchase linked to it.
 *   tasks         ~0.3 follow-ups, the past ones mostly done.
 * Owners and users are the contact's owner mostly, other demo users sometimes.
 *
 * Everything goes through the store's multi-row INSERTs (demo_store.h) inside the caller's
 * write transaction, with every trigger active (full-text index, contact_summaries, the
 * analytics change log), so the data is exactly what the API would have written.
 * Deterministic for a seed and a day. Interactions and purchases are written in time order
 * at the end (ids follow time; the indexes by time grow at their end): a million contacts
 * take about ten minutes of one core, most of it SQLite maintaining the full-text index and
 * the two dozen indexes of these tables.
 */
#ifndef CRM_DEMO_ACTIVITY_H
#define CRM_DEMO_ACTIVITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

#define DEMO_ACTIVITY_INTERACTIONS_DEFAULT 10.0
#define DEMO_ACTIVITY_PURCHASES_DEFAULT 5.0
#define DEMO_ACTIVITY_PER_CONTACT_MAX 1000.0

struct demo_activity_options {
	struct db *db;
	uint64_t seed;
	time_t reference;                   /* today's midnight UTC: nothing happens after it */
	int64_t first_contact_id, last_contact_id; /* the contacts to give a history */
	const int64_t *user_ids;            /* the demo users (borrowed) */
	size_t user_count;
	double interactions_per_contact;    /* on average; 0: none */
	double purchases_per_contact;       /* on average over all contacts; 0: none */
	bool progress;                      /* a progress line on stderr every 100,000 contacts */
};

struct demo_activity_counts {
	size_t interactions, purchases, opportunities, stage_changes, tasks;
};

/*
 * Generates the history above inside the caller's write transaction. Returns 0, or -1
 * after printing why (the caller rolls back).
 */
int demo_activity_generate(const struct demo_activity_options *options,
			   struct demo_activity_counts *counts);

#endif
