/*
 * test_ratelimit.c - the token bucket and the in-memory bucket state (ratelimit.h), with
 * the clock passed in: bursts, refills without waiting, Retry-After and reset times, a
 * policy that shrinks, one subject never draining another, idle buckets forgotten and the
 * memory bound; rate parsing; and the 429 of the one mapping (outcome TOO_MANY).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "crm/http.h"
#include "crm/outcome.h"
#include "crm/ratelimit.h"
#include "crm/reply.h"

static const struct ratelimit_policy sixty_burst_ten = { "test", 60, 10 }; /* 1 a second */

static void test_burst_then_refused(void)
{
	struct ratelimit_bucket bucket;
	struct ratelimit_decision decision;
	ratelimit_bucket_init(&bucket, &sixty_burst_ten, 1000);
	for (int i = 0; i < 10; i++) {
		ratelimit_bucket_take(&bucket, &sixty_burst_ten, 1000, &decision);
		CHECK(decision.allowed);
		CHECK_INT(9 - i, decision.remaining);
		CHECK_INT(0, decision.retry_after);
		CHECK_INT(i + 1, decision.reset_seconds); /* a token a second back to full */
	}
	int64_t full_at = ratelimit_bucket_take(&bucket, &sixty_burst_ten, 1000, &decision);
	CHECK(!decision.allowed);
	CHECK_INT(0, decision.remaining);
	CHECK_INT(1, decision.retry_after);
	CHECK_INT(10, decision.reset_seconds);
	CHECK_INT(11000, full_at);
}

static void test_refill_with_the_clock(void)
{
	struct ratelimit_bucket bucket;
	struct ratelimit_decision decision;
	ratelimit_bucket_init(&bucket, &sixty_burst_ten, 0);
	for (int i = 0; i < 10; i++)
		ratelimit_bucket_take(&bucket, &sixty_burst_ten, 0, &decision);
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 400, &decision); /* 0.4 tokens */
	CHECK(!decision.allowed);
	CHECK_INT(1, decision.retry_after); /* 0.6 s, rounded up */
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 1000, &decision); /* 1.0 token */
	CHECK(decision.allowed);
	CHECK_INT(0, decision.remaining);
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 3500, &decision); /* 2.5 tokens */
	CHECK(decision.allowed);
	CHECK_INT(1, decision.remaining);
	/* time going backwards adds nothing */
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 100, &decision);
	CHECK(decision.allowed);
	CHECK_INT(0, decision.remaining);
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 100, &decision);
	CHECK(!decision.allowed);
	/* an hour later: full, never more than the burst */
	ratelimit_bucket_take(&bucket, &sixty_burst_ten, 3600 * 1000, &decision);
	CHECK(decision.allowed);
	CHECK_INT(9, decision.remaining);
	/* a slow rate: one a minute means a minute until the next token */
	struct ratelimit_policy slow = { "slow", 1, 1 };
	ratelimit_bucket_init(&bucket, &slow, 0);
	ratelimit_bucket_take(&bucket, &slow, 0, &decision);
	ratelimit_bucket_take(&bucket, &slow, 0, &decision);
	CHECK(!decision.allowed);
	CHECK_INT(60, decision.retry_after);
}

static void test_policy_change_clamps(void)
{
	struct ratelimit_bucket bucket;
	struct ratelimit_decision decision;
	ratelimit_bucket_init(&bucket, &sixty_burst_ten, 0);
	struct ratelimit_policy smaller = { "test", 60, 3 };
	ratelimit_bucket_take(&bucket, &smaller, 0, &decision);
	CHECK(decision.allowed);
	CHECK_INT(2, decision.remaining);
}

static void test_memory_buckets(void)
{
	struct ratelimit_buckets *buckets = ratelimit_memory_buckets_new(3);
	struct ratelimit_decision decision;
	struct ratelimit_policy two = { "test", 60, 2 };
	for (int i = 0; i < 2; i++) {
		CHECK_INT(0, buckets->take(buckets, "key:1", &two, 0, &decision));
		CHECK(decision.allowed);
	}
	buckets->take(buckets, "key:1", &two, 0, &decision);
	CHECK(!decision.allowed);
	/* another subject has its own bucket */
	buckets->take(buckets, "key:2", &two, 0, &decision);
	CHECK(decision.allowed);
	CHECK_INT(1, decision.remaining);
	CHECK_INT(2, buckets->count(buckets));
	/* at the bound, a full (idle) bucket is forgotten first: key:2 is full after 1 s */
	buckets->take(buckets, "key:3", &two, 500, &decision);
	CHECK_INT(3, buckets->count(buckets));
	buckets->take(buckets, "key:4", &two, 1000, &decision);
	CHECK(decision.allowed);
	CHECK_INT(3, buckets->count(buckets));
	/* key:1 still remembers it is nearly empty (1 token back after 1 s, of 2) */
	buckets->take(buckets, "key:1", &two, 1000, &decision);
	CHECK(decision.allowed);
	CHECK_INT(0, decision.remaining);
	/* none idle: the least recently used (key:3) goes, the bound holds */
	buckets->take(buckets, "key:5", &two, 1000, &decision);
	CHECK_INT(3, buckets->count(buckets));
	buckets->take(buckets, "key:1", &two, 1000, &decision);
	CHECK(!decision.allowed); /* key:1 was kept */
	/* a minute later the sweep forgets every idle bucket */
	buckets->take(buckets, "key:6", &two, 70000, &decision);
	CHECK_INT(1, buckets->count(buckets));
	char long_subject[80];
	memset(long_subject, 'x', sizeof(long_subject) - 1);
	long_subject[sizeof(long_subject) - 1] = '\0';
	CHECK_INT(-1, buckets->take(buckets, long_subject, &two, 0, &decision));
	buckets->free(buckets);
}

static void test_installed_buckets(void)
{
	ratelimit_set_buckets(ratelimit_memory_buckets_new(10));
	struct ratelimit_decision decision;
	struct ratelimit_policy one = { "test", 60, 1 };
	CHECK_INT(0, ratelimit_take("user:1", &one, 0, &decision));
	CHECK(decision.allowed);
	ratelimit_take("user:1", &one, 0, &decision);
	CHECK(!decision.allowed);
	ratelimit_shutdown();
	/* without installed buckets the first take makes in-memory ones: a fresh bucket */
	ratelimit_take("user:1", &one, 0, &decision);
	CHECK(decision.allowed);
	ratelimit_shutdown();
}

static void test_parse_rate(void)
{
	int value = 0;
	CHECK_INT(0, ratelimit_parse_rate("600/min", &value));
	CHECK_INT(600, value);
	CHECK_INT(0, ratelimit_parse_rate("600", &value));
	CHECK_INT(600, value);
	CHECK_INT(0, ratelimit_parse_rate("5/s", &value));
	CHECK_INT(300, value);
	CHECK_INT(0, ratelimit_parse_rate("90/h", &value));
	CHECK_INT(2, value);
	const char *bad[] = { "", "0/min", "-1/min", "10/day", "x", "10/min ", "99999999/s",
			      "60000001" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(-1, ratelimit_parse_rate(bad[i], &value));
}

static void test_too_many_reply(void)
{
	struct response res;
	response_init(&res);
	struct outcome outcome = OUTCOME_INIT;
	outcome_fail(&outcome, OUTCOME_TOO_MANY, "slow down");
	outcome.retry_after = 7;
	outcome_reply(&res, &outcome);
	CHECK_INT(429, res.status);
	CHECK_STR("application/problem+json", res.content_type);
	const char *retry = NULL;
	for (int i = 0; i < res.header_count; i++)
		if (strcmp(res.header_names[i], "Retry-After") == 0)
			retry = res.header_values[i];
	CHECK_STR("7", retry);
	CHECK(strstr(res.body, "slow down") != NULL);
	response_release(&res);
}

int main(void)
{
	test_burst_then_refused();
	test_refill_with_the_clock();
	test_policy_change_clamps();
	test_memory_buckets();
	test_installed_buckets();
	test_parse_rate();
	test_too_many_reply();
	return check_finish();
}
