/*
 * ratelimit_memory.c - the token buckets of this process (struct ratelimit_buckets,
 * ratelimit.h): a hash table of subjects under one mutex. Memory is bounded: a bucket that
 * is full again is the same as a new one and is forgotten (swept once a minute and whenever
 * the table is full); when every bucket is busy the least recently used one goes.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/banned.h"

#define SUBJECT_SIZE 48
#define SWEEP_INTERVAL_MS 60000

struct entry {
	struct entry *next;
	char subject[SUBJECT_SIZE];
	struct ratelimit_bucket bucket;
	int64_t full_at_ms;   /* when the bucket is full again: then it may be forgotten */
	int64_t last_used_ms;
};

struct memory_buckets {
	struct ratelimit_buckets base; /* first: the interface */
	pthread_mutex_t lock;
	struct entry **slots;
	size_t slot_count; /* a power of two */
	size_t count, max;
	int64_t last_sweep_ms;
};

static size_t subject_hash(const char *subject)
{
	size_t hash = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)subject; *p; p++)
		hash = (hash ^ *p) * 1099511628211u;
	return hash;
}

/* Forgets the buckets that are full at `now_ms`. */
static void sweep_idle(struct memory_buckets *self, int64_t now_ms)
{
	self->last_sweep_ms = now_ms;
	for (size_t i = 0; i < self->slot_count; i++) {
		struct entry **link = &self->slots[i];
		while (*link) {
			struct entry *entry = *link;
			if (entry->full_at_ms <= now_ms) {
				*link = entry->next;
				free(entry);
				self->count--;
			} else {
				link = &entry->next;
			}
		}
	}
}

/* Forgets the least recently used bucket. */
static void evict_oldest(struct memory_buckets *self)
{
	struct entry **oldest = NULL;
	for (size_t i = 0; i < self->slot_count; i++)
		for (struct entry **link = &self->slots[i]; *link; link = &(*link)->next)
			if (!oldest || (*link)->last_used_ms < (*oldest)->last_used_ms)
				oldest = link;
	if (oldest) {
		struct entry *entry = *oldest;
		*oldest = entry->next;
		free(entry);
		self->count--;
	}
}

/* The entry of `subject`, made (full) when missing. */
static struct entry *entry_for(struct memory_buckets *self, const char *subject,
			       const struct ratelimit_policy *policy, int64_t now_ms)
{
	size_t slot = subject_hash(subject) & (self->slot_count - 1);
	for (struct entry *entry = self->slots[slot]; entry; entry = entry->next)
		if (strcmp(entry->subject, subject) == 0)
			return entry;
	if (self->count >= self->max)
		sweep_idle(self, now_ms);
	if (self->count >= self->max)
		evict_oldest(self);
	struct entry *entry = xcalloc(1, sizeof(*entry));
	snprintf(entry->subject, sizeof(entry->subject), "%s", subject);
	ratelimit_bucket_init(&entry->bucket, policy, now_ms);
	entry->next = self->slots[slot];
	self->slots[slot] = entry;
	self->count++;
	return entry;
}

static int memory_take(struct ratelimit_buckets *buckets, const char *subject,
		       const struct ratelimit_policy *policy, int64_t now_ms,
		       struct ratelimit_decision *out)
{
	struct memory_buckets *self = (struct memory_buckets *)buckets;
	if (strlen(subject) >= SUBJECT_SIZE)
		return -1;
	pthread_mutex_lock(&self->lock);
	if (now_ms - self->last_sweep_ms >= SWEEP_INTERVAL_MS)
		sweep_idle(self, now_ms);
	struct entry *entry = entry_for(self, subject, policy, now_ms);
	entry->full_at_ms = ratelimit_bucket_take(&entry->bucket, policy, now_ms, out);
	entry->last_used_ms = now_ms;
	pthread_mutex_unlock(&self->lock);
	return 0;
}

static long memory_count(struct ratelimit_buckets *buckets)
{
	struct memory_buckets *self = (struct memory_buckets *)buckets;
	pthread_mutex_lock(&self->lock);
	long count = (long)self->count;
	pthread_mutex_unlock(&self->lock);
	return count;
}

static void memory_free(struct ratelimit_buckets *buckets)
{
	struct memory_buckets *self = (struct memory_buckets *)buckets;
	if (!self)
		return;
	for (size_t i = 0; i < self->slot_count; i++) {
		struct entry *entry = self->slots[i];
		while (entry) {
			struct entry *next = entry->next;
			free(entry);
			entry = next;
		}
	}
	free(self->slots);
	pthread_mutex_destroy(&self->lock);
	free(self);
}

struct ratelimit_buckets *ratelimit_memory_buckets_new(size_t max_buckets)
{
	struct memory_buckets *self = xcalloc(1, sizeof(*self));
	self->base.take = memory_take;
	self->base.count = memory_count;
	self->base.free = memory_free;
	pthread_mutex_init(&self->lock, NULL);
	self->max = max_buckets ? max_buckets : 1;
	self->slot_count = 16;
	while (self->slot_count < self->max && self->slot_count < 65536)
		self->slot_count *= 2;
	self->slots = xcalloc(self->slot_count, sizeof(*self->slots));
	return &self->base;
}
