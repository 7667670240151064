/*
 * test_login_queue.c - the fair login queue (login_queue.h): a flooding address cannot
 * hold the places another address wants, and the least recently served address hashes
 * first.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "crm/login_queue.h"

static int jobs[64];

/* Admits and pushes one login of `address` as job `n`; returns whether it was admitted. */
static bool arrive(struct login_queue *queue, const char *address, int n, void **evicted)
{
	if (!login_queue_admit(queue, address, evicted))
		return false;
	login_queue_push(queue, address, &jobs[n]);
	return true;
}

static void test_one_address_alone_may_fill_the_queue(void)
{
	struct login_queue queue;
	login_queue_init(&queue, 4);
	void *evicted;
	for (int i = 0; i < 4; i++)
		CHECK(arrive(&queue, "10.0.0.1", i, &evicted));
	CHECK(!arrive(&queue, "10.0.0.1", 4, &evicted)); /* full: its own logins wait */
	CHECK(evicted == NULL);
	CHECK_INT(4, login_queue_held_by(&queue, "10.0.0.1"));
	/* first come, first served within one address */
	for (int i = 0; i < 4; i++) {
		CHECK(login_queue_pop(&queue) == &jobs[i]);
		login_queue_done(&queue, "10.0.0.1");
	}
	CHECK(login_queue_pop(&queue) == NULL);
	login_queue_release(&queue);
}

static void test_a_flood_gives_way_to_another_address(void)
{
	struct login_queue queue;
	login_queue_init(&queue, 4);
	void *evicted;
	for (int i = 0; i < 4; i++)
		CHECK(arrive(&queue, "flood", i, &evicted));
	CHECK(login_queue_pop(&queue) == &jobs[0]); /* a hash thread takes the first */
	/* another address takes the flood's newest waiting place */
	CHECK(arrive(&queue, "user", 10, &evicted));
	CHECK(evicted == &jobs[3]);
	CHECK_INT(3, login_queue_held_by(&queue, "flood"));
	/* and is hashed before the flood's waiting logins (its address was never served) */
	CHECK(login_queue_pop(&queue) == &jobs[10]);
	login_queue_done(&queue, "flood");
	login_queue_done(&queue, "user");
	/* the two share the places */
	CHECK(arrive(&queue, "user", 11, &evicted));
	CHECK(arrive(&queue, "user", 12, &evicted));
	CHECK(evicted == NULL); /* there was room */
	CHECK(!arrive(&queue, "flood", 5, &evicted)); /* 2 each: no more for the flood */
	CHECK(evicted == NULL);
	CHECK(!arrive(&queue, "user", 13, &evicted)); /* nor for the user */
	CHECK_INT(2, login_queue_held_by(&queue, "flood"));
	CHECK_INT(2, login_queue_held_by(&queue, "user"));
	login_queue_release(&queue);
}

static void test_many_addresses_a_fresh_one_still_gets_in(void)
{
	struct login_queue queue;
	login_queue_init(&queue, 4);
	void *evicted;
	char address[32];
	/* attackers 0..3 each hold a place and have been served once before */
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "attacker-%d", i);
		CHECK(arrive(&queue, address, i, &evicted));
	}
	for (int i = 0; i < 4; i++) {
		void *job = login_queue_pop(&queue);
		CHECK(job == &jobs[i]);
		snprintf(address, sizeof(address), "attacker-%d", i);
		login_queue_done(&queue, address);
		CHECK(arrive(&queue, address, 20 + i, &evicted));
		CHECK(evicted == NULL);
	}
	/* a new attacker address, never served, takes the most recently served one's place */
	CHECK(arrive(&queue, "attacker-new", 30, &evicted));
	CHECK(evicted == &jobs[23]); /* the most recently served attacker gives way */
	/* a fresh user still gets in (attackers 0..2 were served), and is hashed first */
	CHECK(arrive(&queue, "user", 31, &evicted));
	CHECK(evicted == &jobs[22]);
	/* both never served: by arrival, before every attacker that was */
	CHECK(login_queue_pop(&queue) == &jobs[30]);
	CHECK(login_queue_pop(&queue) == &jobs[31]);
	/* an attacker that holds a place already gets no second one */
	CHECK(!arrive(&queue, "attacker-0", 40, &evicted));
	CHECK(evicted == NULL);
	login_queue_release(&queue);
}

static void test_the_least_recently_served_address_goes_first(void)
{
	struct login_queue queue;
	login_queue_init(&queue, 8);
	void *evicted;
	CHECK(arrive(&queue, "a", 0, &evicted));
	CHECK(login_queue_pop(&queue) == &jobs[0]); /* a served at 2 */
	login_queue_done(&queue, "a");
	CHECK(arrive(&queue, "b", 1, &evicted));
	CHECK(login_queue_pop(&queue) == &jobs[1]); /* b served after a */
	login_queue_done(&queue, "b");
	CHECK(arrive(&queue, "b", 2, &evicted));
	CHECK(arrive(&queue, "a", 3, &evicted));
	CHECK(arrive(&queue, "c", 4, &evicted));
	CHECK(login_queue_pop(&queue) == &jobs[4]); /* never served */
	CHECK(login_queue_pop(&queue) == &jobs[3]); /* a was served before b */
	CHECK(login_queue_pop(&queue) == &jobs[2]);
	for (const char *const *p = (const char *const[]){ "c", "a", "b", NULL }; *p; p++)
		login_queue_done(&queue, *p);
	CHECK_INT(0, queue.held);
	login_queue_release(&queue);
}

static void test_the_address_memory_is_bounded(void)
{
	struct login_queue queue;
	login_queue_init(&queue, 2);
	void *evicted;
	char address[32];
	for (int i = 0; i < LOGIN_QUEUE_MEMORY + 50; i++) {
		snprintf(address, sizeof(address), "10.1.%d.%d", i / 256, i % 256);
		CHECK(arrive(&queue, address, 0, &evicted));
		CHECK(login_queue_pop(&queue) == &jobs[0]);
		login_queue_done(&queue, address);
	}
	CHECK_INT(LOGIN_QUEUE_MEMORY, queue.address_count);
	CHECK_INT(0, queue.held);
	login_queue_release(&queue);
}

int main(void)
{
	RUN(test_one_address_alone_may_fill_the_queue);
	RUN(test_a_flood_gives_way_to_another_address);
	RUN(test_many_addresses_a_fresh_one_still_gets_in);
	RUN(test_the_least_recently_served_address_goes_first);
	RUN(test_the_address_memory_is_bounded);
	return check_finish();
}
