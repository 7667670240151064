/*
 * request_cost.c - the limits on the cost of one request (request_cost.h): the budgets,
 * and the costly requests each user has in flight, counted in a small table under a mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/request_cost.h"

#include <pthread.h>

#include "crm/banned.h"

static struct request_cost_limits limits = {
	REQUEST_BUDGET_MS_DEFAULT, REQUEST_BULK_BUDGET_MS_DEFAULT, REQUEST_COSTLY_PER_USER_DEFAULT,
};

/*
 * The users with costly requests in flight: at most one slot per worker thread is in use
 * at any time, so a fixed table larger than any thread pool (256, http.c) never fills.
 */
#define IN_FLIGHT_SLOTS 512

struct in_flight {
	int64_t user_id; /* 0: a free slot */
	int count;
};

static struct in_flight in_flight[IN_FLIGHT_SLOTS];
static pthread_mutex_t in_flight_mutex = PTHREAD_MUTEX_INITIALIZER;

void request_cost_configure(const struct request_cost_limits *given)
{
	limits.budget_ms = given->budget_ms > 0 ? given->budget_ms : REQUEST_BUDGET_MS_DEFAULT;
	limits.bulk_budget_ms =
		given->bulk_budget_ms > 0 ? given->bulk_budget_ms : REQUEST_BULK_BUDGET_MS_DEFAULT;
	limits.costly_per_user =
		given->costly_per_user > 0 ? given->costly_per_user : REQUEST_COSTLY_PER_USER_DEFAULT;
}

int request_cost_budget_ms(bool bulk)
{
	return bulk ? limits.bulk_budget_ms : limits.budget_ms;
}

/* The slot of `user_id`, or a free one (user_id 0), or NULL. Under the mutex. */
static struct in_flight *slot_of(int64_t user_id)
{
	struct in_flight *free_slot = NULL;
	for (int i = 0; i < IN_FLIGHT_SLOTS; i++) {
		if (in_flight[i].user_id == user_id)
			return &in_flight[i];
		if (!free_slot && in_flight[i].user_id == 0)
			free_slot = &in_flight[i];
	}
	return free_slot;
}

bool request_cost_enter(int64_t user_id)
{
	pthread_mutex_lock(&in_flight_mutex);
	struct in_flight *slot = slot_of(user_id);
	bool entered = slot && slot->count < limits.costly_per_user;
	if (entered) {
		slot->user_id = user_id;
		slot->count++;
	}
	pthread_mutex_unlock(&in_flight_mutex);
	return entered;
}

void request_cost_leave(int64_t user_id)
{
	pthread_mutex_lock(&in_flight_mutex);
	struct in_flight *slot = slot_of(user_id);
	if (slot && slot->user_id == user_id && slot->count > 0 && --slot->count == 0)
		slot->user_id = 0;
	pthread_mutex_unlock(&in_flight_mutex);
}
