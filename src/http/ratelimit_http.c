/*
 * ratelimit_http.c - the rate-limit step of the request pipeline (ratelimit_http.h): one
 * token per authenticated request from the bucket of the caller's API key, or of its user
 * for a browser session (all of a user's sessions share one, so signing in again does not
 * refill it). The headers follow draft-ietf-httpapi-ratelimit-headers (structured fields):
 *
 *   RateLimit-Policy: "default";q=10000;w=10   the bucket holds q requests and refills
 *                                             completely in w seconds (the rate is q/w)
 *   RateLimit: "default";r=999;t=1            r requests left now; full again in t seconds
 *
 * The policy's name says where its numbers come from: "key", "role" or "default".
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/ratelimit_http.h"

#include <math.h>
#include <stdio.h>

#include "crm/auth.h"
#include "crm/db.h"
#include "crm/outcome.h"
#include "crm/ratelimit.h"
#include "crm/reply.h"
#include "crm/banned.h"

static void set_headers(struct response *res, const struct ratelimit_policy *policy,
			const struct ratelimit_decision *decision)
{
	long window = (long)ceil((double)policy->burst * 60.0 / policy->per_minute);
	char text[128];
	snprintf(text, sizeof(text), "\"%s\";q=%d;w=%ld", policy->name, policy->burst,
		 window < 1 ? 1 : window);
	response_set_header(res, "RateLimit-Policy", text);
	snprintf(text, sizeof(text), "\"%s\";r=%d;t=%d", policy->name, decision->remaining,
		 decision->reset_seconds);
	response_set_header(res, "RateLimit", text);
}

int ratelimit_check_or_reply(struct db *db, const struct auth_context *caller,
			     struct response *res)
{
	bool by_key = caller->method == AUTH_METHOD_API_KEY;
	struct ratelimit_policy policy;
	ratelimit_policy_for(db, caller->role, by_key ? caller->key_id : 0, &policy);
	char subject[48];
	snprintf(subject, sizeof(subject), "%s:%lld", by_key ? "key" : "user",
		 (long long)(by_key ? caller->key_id : caller->user_id));
	struct ratelimit_decision decision;
	if (ratelimit_take(subject, &policy, ratelimit_now_ms(), &decision) != 0)
		return 0; /* the state cannot be reached: serve rather than refuse everyone */
	set_headers(res, &policy, &decision);
	if (decision.allowed)
		return 0;
	struct outcome outcome = OUTCOME_INIT;
	outcome_fail(&outcome, OUTCOME_TOO_MANY,
		     "too many requests: this %s may send %d a minute (bursts of up to %d); try "
		     "again in %d second%s",
		     by_key ? "API key" : "user", policy.per_minute, policy.burst,
		     decision.retry_after, decision.retry_after == 1 ? "" : "s");
	outcome.retry_after = decision.retry_after;
	outcome_reply(res, &outcome);
	return -1;
}
