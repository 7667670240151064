/*
 * login_queue.h - fair admission of logins to the password hash threads (issue 16).
 *
 * Argon2id is the costly part of a login, so crmd admits a bounded number of logins to its
 * hash threads (hashing or waiting) and refuses the others at once (503). A plain FIFO of
 * that size lets whoever sends most fill it: a flood from many addresses then blocks every
 * real user. This queue shares the places among client addresses instead:
 *
 * - Order. The next login hashed is the one whose address was served least recently (an
 *   address never served, or forgotten, first; within an address, first come first
 *   served), so a login from an address that is not flooding waits for at most the hashes
 *   already running, however long the queue.
 * - Admission. While there is room, every login is admitted. When the queue is full, a
 *   login takes the place of the waiting login with the lowest priority -- the one whose
 *   address holds the most places, then was served most recently, then came last -- if
 *   it has a strictly higher priority itself (its address holding one place more than it
 *   does now, and its last service); that login is then refused. So one address can never
 *   hold more than its share against another that wants a place, and a fresh address gets
 *   in whenever the queue holds a login of an address that was served since.
 *
 * Pure bookkeeping (no threads, no I/O): the caller holds its own lock around every call.
 * A login is identified by an opaque `job` pointer and its address text.
 */
#ifndef CRM_LOGIN_QUEUE_H
#define CRM_LOGIN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGIN_QUEUE_ADDRESS_SIZE 64 /* an IPv6 address in text is at most 45 bytes */
#define LOGIN_QUEUE_MEMORY 1024     /* addresses whose last service is remembered */

struct login_queue_address {
	char text[LOGIN_QUEUE_ADDRESS_SIZE];
	int held;        /* places held: admitted and not yet done */
	uint64_t served; /* the queue's clock at its last service; 0: never */
};

struct login_queue_item {
	void *job;
	int address;      /* index into addresses */
	uint64_t arrival; /* the queue's clock when pushed */
};

struct login_queue {
	int capacity; /* places: logins admitted and not done */
	int held;     /* places taken */
	struct login_queue_item *items; /* waiting for a hash thread (capacity of them) */
	int item_count;
	struct login_queue_address *addresses; /* LOGIN_QUEUE_MEMORY of them */
	int address_count;
	uint64_t clock;
};

/* Sets up an empty queue of `capacity` places (at least 1). Release with _release(). */
void login_queue_init(struct login_queue *queue, int capacity);
void login_queue_release(struct login_queue *queue);

/*
 * Admits a login from `address`: true when it has a place (then login_queue_push() or
 * login_queue_done() must follow). When the queue was full and the place was taken from a
 * waiting login, *evicted is that login's job (removed from the queue, its place gone: the
 * caller refuses it and must not call _done() for it); otherwise *evicted is NULL.
 */
bool login_queue_admit(struct login_queue *queue, const char *address, void **evicted);

/* Puts an admitted login in line for a hash thread. */
void login_queue_push(struct login_queue *queue, const char *address, void *job);

/*
 * The next login to hash (its address's service time is now), or NULL when none waits.
 * Its place stays taken until login_queue_done().
 */
void *login_queue_pop(struct login_queue *queue);

/* Gives back the place of an admitted login of `address` (hashed, or not used). */
void login_queue_done(struct login_queue *queue, const char *address);

/* The places that `address` holds now (for tests and logs). */
int login_queue_held_by(const struct login_queue *queue, const char *address);

#endif
