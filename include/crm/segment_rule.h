/*
 * segment_rule.h - the rule language of dynamic segments (API.md section 5) and its
 * compiler into ONE parameterised SQL condition over contacts.
 *
 * A rule is a JSON tree:
 *   {"all": [rule, ...]}    every sub-rule holds (at least one sub-rule)
 *   {"any": [rule, ...]}    at least one holds (at least one sub-rule)
 *   {"not": rule}           the sub-rule does not hold
 *   {"field": F, "op": OP, "value": V}   a condition on one field of a contact
 *
 * Fields (a compiled-in whitelist; each maps to a fixed SQL expression):
 *   text       first_name, last_name, email (compared ignoring ASCII case), phone, title,
 *              source, external_id, tier, rfm
 *   choice     lifecycle (lead|prospect|customer|churned: other values are refused)
 *   integer    id, company_id, owner_id, relationship_level, ltv_cents, purchases_count,
 *              predicted_ltv_cents
 *   number     churn_risk (0..1)
 *   timestamp  created_at, updated_at, consent.recorded_at, last_purchase_at,
 *              last_interaction_at
 *   boolean    consent.email
 *   tags       tags
 *   custom.KEY a member of the contact's free-form `custom` object; KEY is 1 to 64
 *              letters, digits, '_' or '-'; its value may be text, a number or a boolean.
 * The computed fields (ltv_cents, predicted_ltv_cents, tier, rfm, churn_risk,
 * purchases_count, last_purchase_at, last_interaction_at) come from the TEMP table
 * temp.contact_scores (analytics.h), joined as `s`; ltv_cents, predicted_ltv_cents and
 * purchases_count of a contact without purchases are 0, the others are absent (null).
 *
 * Operators and the fields they apply to:
 *   eq, ne               every field but tags. `ne` also holds when the field is absent.
 *   lt, lte, gt, gte     text, integer, number, timestamp, custom
 *   in                   a non-empty array of values: text, choice, integer, number, custom;
 *                        for tags: has at least one of the given tags
 *   contains             text and custom: substring, ignoring ASCII case;
 *                        tags: has this tag (exact)
 *   exists               every field; value true (the default, also for null) or false.
 *                        For tags: has any tag.
 *   before, after        timestamp and custom: strictly earlier / later than the value
 * Timestamp values (eq ... gte, before, after) are an RFC 3339 timestamp, a date
 * "YYYY-MM-DD" (midnight UTC), "now", or a time relative to now: a sign, a whole number
 * and a unit - "-90d" (90 days ago), "+2w"; units h (hours), d (days), w (weeks),
 * m (calendar months: the day is clamped to the month's last), y (calendar years); at most
 * 100 years (36525 days) either way.
 * Values must have the field's type (an integer for integer fields, ...); null is not a
 * value of the other operators (use exists). Text values are non-empty and at most
 * SEGMENT_RULE_MAX_TEXT characters.
 *
 * An absent (NULL) field makes a condition false (but `ne` and `exists: false` hold), and
 * `not` is the exact complement of its sub-rule (NULL counts as false before negating), so
 * exactly one of x and not(x) holds for every contact.
 *
 * Errors name the faulty node by its JSON path from the given prefix:
 * "rule.all[2].op", "rule.any[0].not.value[3]", "rule.all[1]" (a malformed node).
 * Limits: nesting depth, node count, `in` list size (below).
 *
 * Safety: the SQL text is built only from compiled-in fragments; every value from the
 * rule (including the KEY of custom.KEY, as a JSON path) is a bound parameter, in order.
 * This module is pure (no database, no I/O, no global state), for tests and fuzzing.
 */
#ifndef CRM_SEGMENT_RULE_H
#define CRM_SEGMENT_RULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "crm/buf.h"
#include "crm/json.h"
#include "crm/timeutil.h"

#define SEGMENT_RULE_MAX_DEPTH 10     /* levels of all/any/not above a condition */
#define SEGMENT_RULE_MAX_NODES 100    /* all/any/not nodes plus conditions */
#define SEGMENT_RULE_MAX_IN_VALUES 500
#define SEGMENT_RULE_MAX_TEXT 1000    /* characters of a text value */
#define SEGMENT_RULE_MAX_ERRORS 20    /* errors reported for one rule */
#define SEGMENT_RULE_CUSTOM_KEY_MAX 64

/* A compiled rule. Initialise with segment_rule_sql_init(), free with _release(). */
struct segment_rule_sql {
	/*
	 * A boolean SQL expression over `c` (the contacts table) and, when uses_scores,
	 * `s` (temp.contact_scores, LEFT JOINed on s.contact_id = c.id). Never NULL.
	 */
	struct buf where;
	json_t *binds;    /* owned array: the value of each '?' in `where`, in order */
	bool uses_scores; /* whether `where` needs `s` */
	/*
	 * The cost model: the estimated time in nanoseconds that `where` takes per contact
	 * (the sum of its conditions' costs, below), and the JSON path of the costliest
	 * condition ("rule.all[3]"), named when a rule is refused as too costly.
	 */
	double cost_ns;
	char costliest[96];
};

/*
 * The cost of a condition per contact, in nanoseconds (measured on a 2-core x86-64 at
 * 20k-100k contacts, rounded up: 99 `contains` of 999 characters ran at ~11 us per
 * contact). Every condition is counted as if tested on every contact: the members query
 * walks the contacts by id, and SQLite cannot use an index through any/not or for
 * `contains`, so a condition on a field without an index is a full scan.
 */
#define SEGMENT_COST_CONDITION_NS 40     /* any condition: a column and a comparison */
#define SEGMENT_COST_CONTAINS_NS 80      /* contains on text: lower() and instr() */
#define SEGMENT_COST_PATTERN_CHAR_NS 0.1 /* ... plus this per character of the pattern */
#define SEGMENT_COST_JSON_NS 400         /* json_extract() of a custom or consent field */
#define SEGMENT_COST_SET_NS 60           /* in (a list) and tags: a lookup per contact */

/*
 * The estimated milliseconds of running a compiled rule over `contacts` contacts.
 */
double segment_rule_cost_ms(const struct segment_rule_sql *sql, int64_t contacts);

void segment_rule_sql_init(struct segment_rule_sql *sql);
void segment_rule_sql_release(struct segment_rule_sql *sql);

/*
 * Compiles `rule` (borrowed). `path` names the rule in errors ("rule"). `now` is the
 * time relative dates count from. On success returns 0 with `out` filled (it must be
 * initialised; previous contents are replaced). On a bad rule returns -1, adds errors
 * (at most SEGMENT_RULE_MAX_ERRORS) to `errors`, and leaves `out` empty.
 */
int segment_rule_compile(const json_t *rule, const char *path, time_t now,
			 struct segment_rule_sql *out, struct field_errors *errors);

/* Checks `rule` only: segment_rule_compile() without keeping the SQL. 0 or -1. */
int segment_rule_check(const json_t *rule, const char *path, struct field_errors *errors);

/*
 * Resolves a timestamp value of the rule language (see above) against `now` into RFC 3339
 * UTC text in `out`. Returns 0, or -1 if `text` is none of the accepted forms.
 */
int segment_rule_resolve_time(const char *text, time_t now, char out[TIME_RFC3339_SIZE]);

#endif
