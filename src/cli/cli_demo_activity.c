/*
 * cli_demo_activity.c - the history of crmctl demo-data's contacts (demo_activity.h):
 * interactions, opportunities with their stage changes, tasks and purchases, drawn from
 * simple customer models so that the analytics have realistic data to work on.
 *
 * It reads the new contacts back (with their company's name) in id order and, for each,
 * draws its history: opportunities, stage changes and tasks go straight to the store's
 * batches of multi-row INSERTs (demo_store.h); interactions and purchases wait in compact
 * rows (about 40 bytes each: 600 MB for a million contacts) and are written at the end in
 * time order. The triggers keep the full-text index and contact_summaries in step as for
 * the API. Opportunities are flushed before the rows that refer to them (stage changes,
 * tasks, purchases), so foreign keys hold at every statement.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/demo_activity.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/demo_store.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define DAY 86400.0
/* cli_demo.c spreads creation times evenly over two years: a contact has lived a year on
 * average. Counts are drawn in proportion to a contact's life over this mean. */
#define MEAN_LIFE_DAYS 365.0
#define MAX_PER_CONTACT 5000
#define PROGRESS_EVERY 100000

/* ================================================================ random draws */

/* splitmix64, as cli_demo.c: the same sequence everywhere for a seed. */
struct draw {
	uint64_t state;
};

static uint64_t draw_next(struct draw *draw)
{
	uint64_t z = (draw->state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double draw_uniform(struct draw *draw)
{
	return ((double)(draw_next(draw) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static size_t draw_below(struct draw *draw, size_t bound)
{
	return bound ? (size_t)(draw_next(draw) % bound) : 0;
}

static bool draw_chance(struct draw *draw, double probability)
{
	return draw_uniform(draw) < probability;
}

static double draw_exponential(struct draw *draw, double mean)
{
	return -mean * log(draw_uniform(draw));
}

static double draw_normal(struct draw *draw)
{
	return sqrt(-2.0 * log(draw_uniform(draw))) * cos(6.283185307179586 * draw_uniform(draw));
}

/* Gamma(shape, scale): Marsaglia and Tsang (2000), boosted for shape < 1. */
static double draw_gamma(struct draw *draw, double shape, double scale)
{
	if (shape < 1.0)
		return draw_gamma(draw, shape + 1.0, scale) * pow(draw_uniform(draw), 1.0 / shape);
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x = draw_normal(draw), v = 1.0 + c * x;
		if (v <= 0.0)
			continue;
		v = v * v * v;
		double u = draw_uniform(draw);
		if (u < 1.0 - 0.0331 * x * x * x * x ||
		    log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v * scale;
	}
}

static double draw_beta(struct draw *draw, double a, double b)
{
	double x = draw_gamma(draw, a, 1.0), y = draw_gamma(draw, b, 1.0);
	return x / (x + y);
}

/* Poisson(mean): by multiplication for small means, normal approximation above. */
static size_t draw_poisson(struct draw *draw, double mean)
{
	if (mean <= 0.0)
		return 0;
	if (mean > 30.0) {
		double value = floor(mean + sqrt(mean) * draw_normal(draw) + 0.5);
		return value > 0.0 ? (size_t)value : 0;
	}
	double limit = exp(-mean), product = draw_uniform(draw);
	size_t count = 0;
	while (product > limit) {
		count++;
		product *= draw_uniform(draw);
	}
	return count;
}

#define PICK(draw, array) (array[draw_below(draw, sizeof(array) / sizeof(array[0]))])

/* ================================================================ vocabulary */

static const char *const products[] = {
	"Analytics Suite", "Cloud Storage", "Support Plan", "Onboarding Package", "Mobile App",
	"API Access", "Training", "Hardware Bundle", "Premium Licence", "Consulting Days",
};
static const char *const call_subjects[] = { "Intro call", "Follow-up call",
					     "Quarterly check-in", "Call about %s",
					     "Pricing call for %s" };
static const char *const email_subjects[] = { "Re: %s", "Your quote for %s", "Welcome aboard",
					      "Invoice question", "Re: newsletter",
					      "Documents for %s" };
static const char *const meeting_subjects[] = { "Meeting: %s", "Demo of %s", "Workshop",
						"Quarterly business review", "Kick-off for %s" };
static const char *const note_subjects[] = { "Note", "Account note", "Internal note on %s" };
static const char *const ticket_subjects[] = { "Cannot log in", "Invoice is wrong",
					       "Delivery delayed", "Feature request: %s",
					       "Bug report in %s", "Refund request" };
static const char *const chat_subjects[] = { "Website chat", "Chat: pricing question",
					     "Chat about %s" };
static const char *const sms_subjects[] = { "SMS reminder", "SMS: appointment",
					    "SMS about %s" };
static const char *const visit_subjects[] = { "Visit at their office", "Site visit",
					      "Trade show visit", "Visit: %s training" };
static const char *const sentences[] = {
	"Discussed the renewal and the next steps.",
	"They asked for a detailed quote for %s.",
	"Budget is approved for the next quarter.",
	"Sent the documentation and the price list.",
	"Needs a decision from their finance team first.",
	"Very happy with %s so far.",
	"Reported a problem with the last delivery.",
	"Wants to compare us with a competitor.",
	"Agreed to a trial of %s.",
	"Asked for references from similar customers.",
	"Will introduce us to their operations manager.",
	"Complained about response times of the support.",
	"Interested in the annual plan with a discount.",
	"Our contact is moving to a new role in spring.",
	"Scheduled a workshop for the whole team.",
	"Requested an invoice copy for accounting.",
	"Liked the demo, especially the reporting.",
	"No need at the moment; check again in six months.",
};
/* outcomes: [1, 6) of calls, [6, 10) of meetings and visits, then single ones */
static const char *const outcomes[] = { NULL, "connected", "voicemail", "no answer", "interested",
					"callback requested", "positive", "neutral",
					"follow-up scheduled", "not interested", "replied",
					"resolved", "escalated" };
enum { OUTCOME_CALL = 1, OUTCOME_MEETING = 6, OUTCOME_REPLIED = 10, OUTCOME_RESOLVED = 11,
       OUTCOME_ESCALATED = 12 };
static const char *const directions[] = { NULL, "inbound", "outbound" };
static const char *const ticket_states[] = { NULL, "open", "pending", "closed" };
static const char *const lost_reasons[] = { "price", "timing", "competitor", "no budget",
					    "no decision", "missing features" };
static const char *const task_titles[] = { "Follow up with %s", "Send the proposal to %s",
					   "Call %s back", "Prepare the meeting with %s",
					   "Check in with %s after the last order",
					   "Renewal reminder for %s" };

enum kind { KIND_CALL, KIND_EMAIL, KIND_MEETING, KIND_NOTE, KIND_TICKET, KIND_CHAT, KIND_SMS,
	    KIND_VISIT, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = { "call", "email", "meeting", "note",
						    "ticket", "chat", "sms", "visit" };
/* percent of interactions of each kind */
static const int kind_weights[KIND_COUNT] = { 20, 34, 10, 14, 8, 6, 4, 4 };
#define COUNT_OF(array) (sizeof(array) / sizeof(array[0]))
static const char *const *const kind_subjects[KIND_COUNT] = {
	call_subjects, email_subjects, meeting_subjects, note_subjects,
	ticket_subjects, chat_subjects, sms_subjects, visit_subjects,
};
static const size_t kind_subject_counts[KIND_COUNT] = {
	COUNT_OF(call_subjects), COUNT_OF(email_subjects), COUNT_OF(meeting_subjects),
	COUNT_OF(note_subjects), COUNT_OF(ticket_subjects), COUNT_OF(chat_subjects),
	COUNT_OF(sms_subjects), COUNT_OF(visit_subjects),
};

/* Writes a template with its one "%s" (if any) replaced by `word`. */
static void fill(char *out, size_t size, const char *template_text, const char *word)
{
	const char *hole = strstr(template_text, "%s");
	if (hole)
		snprintf(out, size, "%.*s%s%s", (int)(hole - template_text), template_text, word,
			 hole + 2);
	else
		snprintf(out, size, "%s", template_text);
}

/* ================================================================ generators */
/*
 * Interactions and purchases are drawn contact by contact but written in time order (ids
 * then follow time, as in a real database, and the indexes by time, kind, user and
 * creation only grow at their end, which makes the load several times cheaper than
 * inserting each contact's history at once). Until then they wait in these compact rows.
 */
struct pending_interaction {
	int64_t contact_id, user_id, when;
	uint32_t serial; /* order of drawing: ties in time keep it */
	uint8_t kind, direction, subject, product, first, second, second_product, outcome, state;
	bool has_body;
};

struct pending_purchase {
	int64_t contact_id, when, amount_cents, opportunity_id;
	uint32_t serial;
};

struct activity {
	const struct demo_activity_options *options;
	struct draw draw;
	struct demo_rows *interactions, *purchases, *opportunities, *stage_changes, *tasks;
	int64_t next_opportunity_id;
	double purchase_rate_scale; /* scales the buyers' purchase rates to the wanted mean */
	struct pending_interaction *pending_interactions;
	size_t interaction_count, interaction_capacity;
	struct pending_purchase *pending_purchases;
	size_t purchase_count, purchase_capacity;
	int64_t started;     /* time_monotonic_us() at the start, for the progress lines */
	size_t contacts_done;
};

/* One contact as read back. Strings borrowed from the statement's row. */
struct person {
	int64_t id, owner_id, company_id;
	const char *lifecycle, *first_name, *last_name, *company_name;
	time_t created;
};

static int64_t pick_user(struct activity *a, const struct person *person, double owner_share)
{
	if (person->owner_id && draw_chance(&a->draw, owner_share))
		return person->owner_id;
	return a->options->user_ids[draw_below(&a->draw, a->options->user_count)];
}

static struct pending_interaction *next_interaction(struct activity *a)
{
	if (a->interaction_count == a->interaction_capacity) {
		a->interaction_capacity = a->interaction_capacity ? a->interaction_capacity * 2 : 4096;
		a->pending_interactions = xrealloc(a->pending_interactions,
						   a->interaction_capacity * sizeof(*a->pending_interactions));
	}
	struct pending_interaction *row = &a->pending_interactions[a->interaction_count];
	memset(row, 0, sizeof(*row));
	row->serial = (uint32_t)a->interaction_count++;
	return row;
}

static void add_interactions(struct activity *a, const struct person *person, double engagement)
{
	double life = difftime(a->options->reference, person->created);
	if (life <= 0.0)
		return;
	size_t count = draw_poisson(&a->draw, a->options->interactions_per_contact * engagement *
						      life / (MEAN_LIFE_DAYS * DAY));
	if (count > MAX_PER_CONTACT)
		count = MAX_PER_CONTACT;
	for (size_t i = 0; i < count; i++) {
		struct pending_interaction *row = next_interaction(a);
		row->contact_id = person->id;
		row->when = person->created + (time_t)(draw_uniform(&a->draw) * life);
		int roll = (int)draw_below(&a->draw, 100), kind = 0;
		while (kind < KIND_COUNT - 1 && roll >= kind_weights[kind])
			roll -= kind_weights[kind++];
		row->kind = (uint8_t)kind;
		row->subject = (uint8_t)draw_below(&a->draw, kind_subject_counts[kind]);
		row->product = (uint8_t)draw_below(&a->draw, COUNT_OF(products));
		switch (kind) {
		case KIND_CALL:
			row->direction = draw_chance(&a->draw, 0.5) ? 1 : 2;
			row->outcome = (uint8_t)(OUTCOME_CALL + draw_below(&a->draw, 5));
			break;
		case KIND_EMAIL:
			row->direction = draw_chance(&a->draw, 0.45) ? 1 : 2;
			row->outcome = draw_chance(&a->draw, 0.3) ? OUTCOME_REPLIED : 0;
			break;
		case KIND_MEETING:
		case KIND_VISIT:
			row->direction = draw_chance(&a->draw, 0.3) ? 1 : 2;
			row->outcome = (uint8_t)(OUTCOME_MEETING + draw_below(&a->draw, 4));
			break;
		case KIND_NOTE:
			break;
		case KIND_TICKET: {
			row->direction = 1;
			bool recent = difftime(a->options->reference, (time_t)row->when) < 14 * DAY;
			bool closed = draw_chance(&a->draw, recent ? 0.3 : 0.92);
			row->state = closed ? 3 : draw_chance(&a->draw, 0.5) ? 2 : 1;
			if (closed)
				row->outcome = draw_chance(&a->draw, 0.85) ? OUTCOME_RESOLVED
									   : OUTCOME_ESCALATED;
			break;
		}
		case KIND_CHAT:
			row->direction = draw_chance(&a->draw, 0.8) ? 1 : 2;
			break;
		default:
			row->direction = draw_chance(&a->draw, 0.3) ? 1 : 2;
			break;
		}
		/* bodies: two sentences for the written kinds, one or none for the quick ones
		 * (most of the cost of an interaction is indexing its words) */
		row->first = (uint8_t)draw_below(&a->draw, COUNT_OF(sentences));
		bool written = kind == KIND_EMAIL || kind == KIND_MEETING || kind == KIND_NOTE ||
			       kind == KIND_TICKET;
		if (written) {
			row->second = (uint8_t)(1 + draw_below(&a->draw, COUNT_OF(sentences)));
			row->second_product = (uint8_t)draw_below(&a->draw, COUNT_OF(products));
		}
		row->has_body = written || draw_chance(&a->draw, 0.5);
		row->user_id = pick_user(a, person, 0.8);
	}
}

static int compare_interactions(const void *x, const void *y)
{
	const struct pending_interaction *a = x, *b = y;
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	return (a->serial > b->serial) - (a->serial < b->serial);
}

/* Writes one waiting interaction (its texts made from the vocabulary). */
static int write_interaction(struct activity *a, const struct pending_interaction *row)
{
	const char *product = products[row->product];
	char subject[128], first[160], second[160], body[330];
	fill(subject, sizeof(subject), kind_subjects[row->kind][row->subject], product);
	fill(first, sizeof(first), sentences[row->first], product);
	if (row->second) {
		fill(second, sizeof(second), sentences[row->second - 1], products[row->second_product]);
		snprintf(body, sizeof(body), "%s %s", first, second);
	} else {
		snprintf(body, sizeof(body), "%s", first);
	}
	struct demo_rows *b = a->interactions;
	demo_rows_integer(b, row->contact_id);
	demo_rows_text(b, kind_names[row->kind]);
	demo_rows_text(b, directions[row->direction]);
	demo_rows_text(b, subject);
	demo_rows_text(b, row->has_body ? body : NULL);
	demo_rows_time(b, (time_t)row->when);
	demo_rows_text(b, outcomes[row->outcome]);
	demo_rows_text(b, ticket_states[row->state]);
	demo_rows_integer(b, row->user_id);
	demo_rows_time(b, (time_t)row->when);
	demo_rows_time(b, (time_t)row->when);
	return demo_rows_end_row(b);
}

static void add_purchase(struct activity *a, const struct person *person, time_t when,
			 int64_t amount_cents, int64_t opportunity_id)
{
	if (a->purchase_count == a->purchase_capacity) {
		a->purchase_capacity = a->purchase_capacity ? a->purchase_capacity * 2 : 4096;
		a->pending_purchases = xrealloc(a->pending_purchases,
						a->purchase_capacity * sizeof(*a->pending_purchases));
	}
	struct pending_purchase *row = &a->pending_purchases[a->purchase_count];
	row->contact_id = person->id;
	row->when = when;
	row->amount_cents = amount_cents;
	row->opportunity_id = opportunity_id;
	row->serial = (uint32_t)a->purchase_count++;
}

static int compare_purchases(const void *x, const void *y)
{
	const struct pending_purchase *a = x, *b = y;
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	return (a->serial > b->serial) - (a->serial < b->serial);
}

/* Writes one waiting purchase; references are order numbers in time order. */
static int write_purchase(struct activity *a, const struct pending_purchase *row, size_t number)
{
	struct demo_rows *b = a->purchases;
	char reference[32];
	if (row->opportunity_id)
		snprintf(reference, sizeof(reference), "DEAL-%06lld", (long long)row->opportunity_id);
	else
		snprintf(reference, sizeof(reference), "ORD-%07zu", number);
	demo_rows_integer(b, row->contact_id);
	demo_rows_integer(b, row->amount_cents);
	demo_rows_text(b, "EUR");
	demo_rows_time(b, (time_t)row->when);
	if (row->opportunity_id)
		demo_rows_integer(b, row->opportunity_id);
	else
		demo_rows_null(b);
	demo_rows_text(b, reference);
	demo_rows_time(b, (time_t)row->when);
	demo_rows_time(b, (time_t)row->when);
	return demo_rows_end_row(b);
}

/*
 * A buyer as BG/NBD and Gamma-Gamma assume one: a first purchase soon after the contact
 * appeared, then a Poisson process at the buyer's own rate until the buyer drops out
 * (after each repeat purchase, with the buyer's own probability) or the end; amounts are
 * gamma distributed around the buyer's own spend level. Churned contacts stopped half a
 * year ago or earlier. Times in seconds since the epoch.
 */
struct buyer {
	double start, end;   /* the first purchase; no purchase at or after end */
	double rate;         /* purchases a second while alive */
	double dropout;      /* chance to stop after each repeat purchase */
	double spend_rate;   /* Gamma-Gamma's nu: amounts ~ gamma(6, 1/nu), mean 6/nu cents */
};

/* Draws a buyer who appeared at `created`. Returns false when there is no time to buy. */
static bool draw_buyer(struct draw *draw, double created, double reference, bool churned,
		       double rate_scale, struct buyer *buyer)
{
	buyer->end = reference;
	if (churned)
		buyer->end -= 180.0 * DAY + draw_exponential(draw, 120.0 * DAY);
	buyer->start = created + draw_exponential(draw, 20.0 * DAY);
	if (buyer->start >= buyer->end) {
		if (buyer->end <= created)
			return false;
		buyer->start = created + draw_uniform(draw) * (buyer->end - created);
	}
	/* purchases a year: gamma across buyers (BG/NBD's r, alpha), mean rate_scale */
	buyer->rate = draw_gamma(draw, 1.4, 1.0 / 1.4) * rate_scale / (365.0 * DAY);
	buyer->dropout = draw_beta(draw, 1.3, 9.0);
	/* nu ~ gamma(4, rate 3000): mean amount 6 * 3000 / 3 = 6000 cents */
	buyer->spend_rate = draw_gamma(draw, 4.0, 1.0 / 3000.0);
	return buyer->rate > 0.0;
}

/*
 * After purchase number `count` (1 for the first) at *when: whether the buyer buys again,
 * and when (into *when).
 */
static bool buyer_next(struct draw *draw, const struct buyer *buyer, size_t count, double *when)
{
	if (count >= MAX_PER_CONTACT || (count > 1 && draw_chance(draw, buyer->dropout)))
		return false;
	*when += draw_exponential(draw, 1.0 / buyer->rate);
	return *when < buyer->end;
}

/*
 * The rate scale that gives `purchases_per_contact` on average over demo-data's contacts:
 * created evenly over two years, 40% customers and 10% churned ones buying (cli_demo.c's
 * lifecycle mix). The mean is not proportional to the rate (buyers drop out), so it is
 * found by bisection over a simulation with a fixed seed: about a tenth of a second.
 */
static double purchase_rate_scale_for(double purchases_per_contact)
{
	if (purchases_per_contact <= 0.0)
		return 0.0;
	const size_t contacts = 30000;
	const double reference = 0.0, history = 2.0 * MEAN_LIFE_DAYS * DAY;
	double low = 0.001, high = 100000.0;
	for (int iteration = 0; iteration < 40 && high / low > 1.001; iteration++) {
		double scale = sqrt(low * high);
		struct draw draw = { 0x5EEDCA11B8A7E5ULL };
		size_t total = 0;
		for (size_t i = 0; i < contacts; i++) {
			double created = reference - history * ((double)i + 0.5) / (double)contacts;
			double lifecycle = draw_uniform(&draw);
			struct buyer buyer;
			if (lifecycle >= 0.5 ||
			    !draw_buyer(&draw, created, reference, lifecycle >= 0.4, scale, &buyer))
				continue;
			double when = buyer.start;
			size_t count = 1;
			while (buyer_next(&draw, &buyer, count, &when))
				count++;
			total += count;
		}
		if ((double)total / (double)contacts < purchases_per_contact)
			low = scale;
		else
			high = scale;
	}
	return sqrt(low * high);
}

static int add_purchases(struct activity *a, const struct person *person)
{
	bool churned = person->lifecycle && strcmp(person->lifecycle, "churned") == 0;
	bool customer = person->lifecycle && strcmp(person->lifecycle, "customer") == 0;
	struct buyer buyer;
	if ((!churned && !customer) || a->purchase_rate_scale <= 0.0 ||
	    !draw_buyer(&a->draw, (double)person->created, (double)a->options->reference, churned,
			a->purchase_rate_scale, &buyer))
		return DB_OK;
	double when = buyer.start;
	for (size_t count = 1;; count++) {
		double amount = fmin(fmax(draw_gamma(&a->draw, 6.0, 1.0 / buyer.spend_rate), 100.0), 1e9);
		add_purchase(a, person, (time_t)when, (int64_t)llround(amount), 0);
		if (!buyer_next(&a->draw, &buyer, count, &when))
			break;
	}
	return DB_OK;
}

/* The opportunities of a contact with their stage history; a won one is also a purchase. */
static int add_opportunities(struct activity *a, const struct person *person,
			     int64_t *last_opportunity_id)
{
	*last_opportunity_id = 0;
	double life = difftime(a->options->reference, person->created);
	size_t count = draw_chance(&a->draw, 0.19) ? 1 : 0;
	if (draw_chance(&a->draw, 0.01))
		count++;
	static const char *const stages[] = { "lead", "qualified", "proposal", "negotiation" };
	static const double advance[] = { 0.65, 0.7, 0.7, 0.65 }; /* to the next, else lost */
	static const int probabilities[] = { 10, 25, 50, 75 };
	int status = DB_OK;
	for (size_t n = 0; n < count && status == DB_OK && life > DAY; n++) {
		int64_t id = a->next_opportunity_id++;
		*last_opportunity_id = id;
		int64_t user = person->owner_id ? person->owner_id : pick_user(a, person, 0.0);
		time_t created = person->created + (time_t)(draw_uniform(&a->draw) * life);
		double amount = exp(log(1000000.0) + 0.9 * draw_normal(&a->draw));
		int64_t amount_cents = (int64_t)llround(fmin(fmax(amount, 50000.0), 1e11) / 100.0) * 100;
		/* the walk through the stages; each change becomes a row after the opportunity's */
		struct {
			const char *from, *to;
			time_t at;
		} changes[5];
		int change_count = 0;
		const char *stage = "lead";
		time_t at = created, closed_at = 0;
		int probability = 10;
		changes[change_count].from = NULL;
		changes[change_count].to = stage;
		changes[change_count++].at = at;
		for (int step = 0; step < 4 && !closed_at; step++) {
			time_t next = at + (time_t)draw_exponential(&a->draw, 18.0 * DAY) + 3600;
			if (next >= a->options->reference)
				break; /* still open */
			const char *from = stage;
			at = next;
			if (draw_chance(&a->draw, advance[step])) {
				stage = step == 3 ? "won" : stages[step + 1];
				probability = step == 3 ? 100 : probabilities[step + 1];
			} else {
				stage = "lost";
				probability = 0;
			}
			if (strcmp(stage, "won") == 0 || strcmp(stage, "lost") == 0)
				closed_at = at;
			changes[change_count].from = from;
			changes[change_count].to = stage;
			changes[change_count++].at = at;
		}
		char name[256], expected[16];
		const char *product = PICK(&a->draw, products);
		if (person->company_name)
			snprintf(name, sizeof(name), "%s - %s", person->company_name, product);
		else
			snprintf(name, sizeof(name), "%s %s - %s", person->first_name ? person->first_name : "",
				 person->last_name ? person->last_name : "", product);
		char expected_time[TIME_RFC3339_SIZE];
		time_format_rfc3339(created + (time_t)((30.0 + draw_uniform(&a->draw) * 90.0) * DAY),
				    expected_time);
		snprintf(expected, sizeof(expected), "%.10s", expected_time);
		struct demo_rows *b = a->opportunities;
		demo_rows_integer(b, id);
		demo_rows_text(b, name);
		demo_rows_integer(b, person->id);
		if (person->company_id)
			demo_rows_integer(b, person->company_id);
		else
			demo_rows_null(b);
		demo_rows_integer(b, user);
		demo_rows_text(b, stage);
		demo_rows_integer(b, amount_cents);
		demo_rows_text(b, "EUR");
		demo_rows_integer(b, probability);
		demo_rows_text(b, expected);
		if (closed_at)
			demo_rows_time(b, closed_at);
		else
			demo_rows_null(b);
		demo_rows_text(b, strcmp(stage, "lost") == 0 ? PICK(&a->draw, lost_reasons) : NULL);
		demo_rows_time(b, created);
		demo_rows_time(b, at);
		if ((status = demo_rows_end_row(b)) != DB_OK)
			return status;
		for (int i = 0; i < change_count && status == DB_OK; i++) {
			struct demo_rows *history = a->stage_changes;
			demo_rows_integer(history, id);
			demo_rows_text(history, changes[i].from);
			demo_rows_text(history, changes[i].to);
			demo_rows_time(history, changes[i].at);
			demo_rows_integer(history, user);
			status = demo_rows_end_row(history);
		}
		if (status == DB_OK && strcmp(stage, "won") == 0)
			add_purchase(a, person, closed_at, amount_cents, id);
	}
	return status;
}

static int add_tasks(struct activity *a, const struct person *person, int64_t opportunity_id)
{
	size_t count = draw_chance(&a->draw, 0.25) ? 1 : 0;
	if (draw_chance(&a->draw, 0.05))
		count++;
	time_t reference = a->options->reference;
	int status = DB_OK;
	for (size_t n = 0; n < count && status == DB_OK; n++) {
		double span = difftime(reference, person->created) + 30.0 * DAY;
		time_t due = person->created + (time_t)(draw_uniform(&a->draw) * span);
		time_t created = due - (time_t)draw_exponential(&a->draw, 5.0 * DAY);
		if (created < person->created)
			created = person->created;
		if (created >= reference)
			created = reference - 1;
		bool past = difftime(reference, due) > 2 * DAY;
		bool done = draw_chance(&a->draw, past ? 0.85 : 0.1);
		time_t done_at = due + (time_t)(draw_normal(&a->draw) * DAY);
		if (done_at < created)
			done_at = created;
		if (done_at >= reference)
			done_at = reference - 1;
		const char *who = person->company_name && draw_chance(&a->draw, 0.3) ? person->company_name
				  : person->first_name                        ? person->first_name
									      : "the contact";
		char title[256];
		fill(title, sizeof(title), PICK(&a->draw, task_titles), who);
		struct demo_rows *b = a->tasks;
		demo_rows_text(b, title);
		demo_rows_time(b, due);
		demo_rows_integer(b, person->id);
		if (opportunity_id && draw_chance(&a->draw, 0.5))
			demo_rows_integer(b, opportunity_id);
		else
			demo_rows_null(b);
		demo_rows_integer(b, person->owner_id ? person->owner_id : pick_user(a, person, 0.0));
		demo_rows_integer(b, done ? 1 : 0);
		if (done)
			demo_rows_time(b, done_at);
		else
			demo_rows_null(b);
		demo_rows_time(b, created);
		demo_rows_time(b, done ? done_at : created);
		status = demo_rows_end_row(b);
	}
	return status;
}

/* Everything for one contact. */
static int add_history(struct activity *a, const struct person *person)
{
	const char *lifecycle = person->lifecycle ? person->lifecycle : "";
	double engagement = draw_gamma(&a->draw, 2.0, 0.5);
	if (strcmp(lifecycle, "customer") == 0)
		engagement *= 1.3;
	else if (strcmp(lifecycle, "lead") == 0)
		engagement *= 0.7;
	int64_t opportunity_id;
	add_interactions(a, person, engagement);
	int status = add_opportunities(a, person, &opportunity_id);
	if (status == DB_OK)
		status = add_tasks(a, person, opportunity_id);
	if (status == DB_OK)
		status = add_purchases(a, person);
	return status;
}

/* The history of one contact read back (demo_store_each_contact()'s callback). */
static int add_contact_history(void *context, const struct demo_contact *contact)
{
	struct activity *a = context;
	const struct demo_activity_options *options = a->options;
	struct person person = {
		.id = contact->id,
		.owner_id = contact->owner_id,
		.company_id = contact->company_id,
		.lifecycle = contact->lifecycle,
		.first_name = contact->first_name,
		.last_name = contact->last_name,
		.company_name = contact->company_name,
	};
	if (!contact->created_at || !time_parse_rfc3339(contact->created_at, false, &person.created))
		person.created = options->reference - 86400;
	int status = add_history(a, &person);
	if (++a->contacts_done % PROGRESS_EVERY == 0 && options->progress)
		fprintf(stderr, "demo-data: history of %zu of %zu contacts drawn: %zu "
				"interactions, %zu purchases (%.1f s)\n",
			a->contacts_done,
			(size_t)(options->last_contact_id - options->first_contact_id + 1),
			a->interaction_count, a->purchase_count,
			(double)(time_monotonic_us() - a->started) / 1e6);
	return status;
}

/* A progress line every million rows written of `what`. */
static void written_progress(const struct activity *a, const char *what, size_t done, size_t total)
{
	if (done % (10 * PROGRESS_EVERY) == 0 && a->options->progress)
		fprintf(stderr, "demo-data: %zu of %zu %s written (%.1f s)\n", done, total, what,
			(double)(time_monotonic_us() - a->started) / 1e6);
}

/* Writes the waiting interactions, then the waiting purchases, each in time order. */
static int write_pending(struct activity *a)
{
	int status = DB_OK;
	if (a->interaction_count)
		qsort(a->pending_interactions, a->interaction_count,
		      sizeof(*a->pending_interactions), compare_interactions);
	for (size_t i = 0; i < a->interaction_count && status == DB_OK; i++) {
		status = write_interaction(a, &a->pending_interactions[i]);
		written_progress(a, "interactions", i + 1, a->interaction_count);
	}
	if (status == DB_OK)
		status = demo_rows_flush(a->interactions);
	if (a->purchase_count)
		qsort(a->pending_purchases, a->purchase_count, sizeof(*a->pending_purchases),
		      compare_purchases);
	for (size_t i = 0; i < a->purchase_count && status == DB_OK; i++) {
		status = write_purchase(a, &a->pending_purchases[i], i + 1);
		written_progress(a, "purchases", i + 1, a->purchase_count);
	}
	if (status == DB_OK)
		status = demo_rows_flush(a->purchases);
	return status;
}

int demo_activity_generate(const struct demo_activity_options *options,
			   struct demo_activity_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	if (options->last_contact_id < options->first_contact_id || !options->user_count)
		return 0;
	struct db *db = options->db;
	struct activity a = {
		.options = options,
		.draw = { options->seed ^ 0xA5A5F00DC0FFEE11ULL },
		.purchase_rate_scale = purchase_rate_scale_for(options->purchases_per_contact),
		.started = time_monotonic_us(),
	};
	/* opportunities first: the rows that refer to them are written after them */
	a.opportunities = demo_rows_new(db, DEMO_TABLE_OPPORTUNITIES, NULL);
	a.interactions = demo_rows_new(db, DEMO_TABLE_INTERACTIONS, NULL);
	a.purchases = demo_rows_new(db, DEMO_TABLE_PURCHASES, a.opportunities);
	a.stage_changes = demo_rows_new(db, DEMO_TABLE_STAGE_CHANGES, a.opportunities);
	a.tasks = demo_rows_new(db, DEMO_TABLE_TASKS, a.opportunities);
	int status = demo_store_next_id(db, DEMO_TABLE_OPPORTUNITIES, &a.next_opportunity_id);
	if (status == DB_OK)
		status = demo_store_each_contact(db, options->first_contact_id,
						 options->last_contact_id, add_contact_history, &a);
	struct demo_rows *drawn[] = { a.opportunities, a.stage_changes, a.tasks };
	for (size_t i = 0; i < sizeof(drawn) / sizeof(drawn[0]) && status == DB_OK; i++)
		status = demo_rows_flush(drawn[i]);
	if (status == DB_OK)
		status = write_pending(&a);
	free(a.pending_interactions);
	free(a.pending_purchases);
	counts->interactions = demo_rows_written(a.interactions);
	counts->purchases = demo_rows_written(a.purchases);
	counts->opportunities = demo_rows_written(a.opportunities);
	counts->stage_changes = demo_rows_written(a.stage_changes);
	counts->tasks = demo_rows_written(a.tasks);
	demo_rows_free(a.tasks);
	demo_rows_free(a.stage_changes);
	demo_rows_free(a.purchases);
	demo_rows_free(a.interactions);
	demo_rows_free(a.opportunities);
	if (status != DB_OK) {
		cli_error("cannot store the demo history (database status %d)", status);
		return -1;
	}
	return 0;
}
