/*
 * login_queue.c - the fair login queue of login_queue.h: places shared among client
 * addresses, the least recently served address hashed first. Linear scans: the queue
 * holds a few logins per hash thread, the address memory LOGIN_QUEUE_MEMORY entries.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/login_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/banned.h"

void login_queue_init(struct login_queue *queue, int capacity)
{
	memset(queue, 0, sizeof(*queue));
	if (capacity < 1)
		capacity = 1;
	if (capacity > LOGIN_QUEUE_MEMORY)
		capacity = LOGIN_QUEUE_MEMORY; /* each place's address must be remembered */
	queue->capacity = capacity;
	queue->items = xcalloc((size_t)capacity, sizeof(*queue->items));
	queue->addresses = xcalloc(LOGIN_QUEUE_MEMORY, sizeof(*queue->addresses));
}

void login_queue_release(struct login_queue *queue)
{
	free(queue->items);
	free(queue->addresses);
	memset(queue, 0, sizeof(*queue));
}

/* The index of `text` in the address memory, or -1. */
static int address_find(const struct login_queue *queue, const char *text)
{
	for (int i = 0; i < queue->address_count; i++)
		if (strcmp(queue->addresses[i].text, text) == 0)
			return i;
	return -1;
}

/*
 * The index of `text`, remembered now if it was not: in a free entry, else in place of the
 * address served longest ago that holds no place (forgetting it makes it "never served",
 * which orders it where it was: first).
 */
static int address_entry(struct login_queue *queue, const char *text)
{
	int index = address_find(queue, text);
	if (index >= 0)
		return index;
	if (queue->address_count < LOGIN_QUEUE_MEMORY) {
		index = queue->address_count++;
	} else {
		for (int i = 0; i < queue->address_count; i++)
			if (queue->addresses[i].held == 0 &&
			    (index < 0 || queue->addresses[i].served < queue->addresses[index].served))
				index = i;
		if (index < 0)
			abort(); /* every remembered address holds a place: capacity <= memory */
	}
	struct login_queue_address *entry = &queue->addresses[index];
	memset(entry, 0, sizeof(*entry));
	snprintf(entry->text, sizeof(entry->text), "%s", text);
	return index;
}

/* The waiting login with the lowest priority (see login_queue.h), or -1 when none waits. */
static int lowest_priority_item(const struct login_queue *queue)
{
	int worst = -1;
	for (int i = 0; i < queue->item_count; i++) {
		const struct login_queue_address *a = &queue->addresses[queue->items[i].address];
		if (worst < 0) {
			worst = i;
			continue;
		}
		const struct login_queue_address *w = &queue->addresses[queue->items[worst].address];
		if (a->held != w->held ? a->held > w->held
		    : a->served != w->served ? a->served > w->served
					     : queue->items[i].arrival > queue->items[worst].arrival)
			worst = i;
	}
	return worst;
}

static void item_remove(struct login_queue *queue, int index)
{
	queue->items[index] = queue->items[--queue->item_count];
}

bool login_queue_admit(struct login_queue *queue, const char *address, void **evicted)
{
	*evicted = NULL;
	int index = address_entry(queue, address);
	struct login_queue_address *entry = &queue->addresses[index];
	if (queue->held < queue->capacity) {
		queue->held++;
		entry->held++;
		return true;
	}
	int victim = lowest_priority_item(queue);
	if (victim < 0)
		return false; /* every place is hashing or about to wait */
	struct login_queue_address *other = &queue->addresses[queue->items[victim].address];
	bool higher = entry->held + 1 != other->held ? entry->held + 1 < other->held
						     : entry->served < other->served;
	if (!higher)
		return false;
	*evicted = queue->items[victim].job;
	other->held--;
	item_remove(queue, victim);
	entry->held++; /* the place passes from the evicted login to this one */
	return true;
}

void login_queue_push(struct login_queue *queue, const char *address, void *job)
{
	int index = address_find(queue, address);
	if (index < 0 || queue->item_count >= queue->capacity)
		abort(); /* pushed without a place */
	queue->items[queue->item_count++] =
		(struct login_queue_item){ .job = job, .address = index, .arrival = ++queue->clock };
}

void *login_queue_pop(struct login_queue *queue)
{
	int best = -1;
	for (int i = 0; i < queue->item_count; i++) {
		if (best < 0) {
			best = i;
			continue;
		}
		uint64_t served = queue->addresses[queue->items[i].address].served;
		uint64_t best_served = queue->addresses[queue->items[best].address].served;
		if (served != best_served ? served < best_served
					  : queue->items[i].arrival < queue->items[best].arrival)
			best = i;
	}
	if (best < 0)
		return NULL;
	void *job = queue->items[best].job;
	queue->addresses[queue->items[best].address].served = ++queue->clock;
	item_remove(queue, best);
	return job;
}

void login_queue_done(struct login_queue *queue, const char *address)
{
	int index = address_find(queue, address);
	if (index < 0 || queue->addresses[index].held <= 0 || queue->held <= 0)
		abort(); /* a place given back twice */
	queue->addresses[index].held--;
	queue->held--;
}

int login_queue_held_by(const struct login_queue *queue, const char *address)
{
	int index = address_find(queue, address);
	return index < 0 ? 0 : queue->addresses[index].held;
}
