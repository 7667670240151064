/*
 * job_thread.h - the one thread helper of crmd's background jobs (src/jobs/job_thread.c):
 * start a thread, wake it, let it wait for the next pass on a condition variable, stop it
 * and join it. The checkpointer (with the GDPR purge of the full-text indexes), the
 * segment watch and the webhook delivery each hold one.
 *
 * A periodic job gives `pass`: the thread waits `first_wait_ms`, then runs pass() each time
 * it wakes, and waits again as long as pass() asks; job_thread_wake() cuts a wait short
 * (pass() then learns that it was woken), job_thread_stop() ends it. A job that waits on
 * something else (the webhook delivery polls its sockets) gives `run` instead, its own
 * loop, which checks job_thread_stopping() and takes wakes with job_thread_take_wake();
 * `interrupt` then tells its wait to return (it is also called by job_thread_wake()).
 *
 * Declare one with JOB_THREAD_INIT(.name = ..., .pass = ...): the lock and condition are
 * static, so that job_thread_wake() is safe before the start and after the stop.
 */
#ifndef CRM_JOB_THREAD_H
#define CRM_JOB_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct job_thread {
	/* Set in the declaration. */
	const char *name; /* for the log: "segment watch" */
	/*
	 * One pass of a periodic job, on the thread, without the lock. `woken`: a
	 * job_thread_wake() came since the last pass. Returns how long to wait before the next
	 * pass at most, in milliseconds (a wake cuts it short; 0: at once).
	 */
	int (*pass)(void *context, bool woken);
	int first_wait_ms; /* before the first pass */
	/* Optional: on the thread, after the last pass (a periodic job's last work). */
	void (*finish)(void *context);
	/* Instead of pass: the thread's whole loop (returns when job_thread_stopping()). */
	void (*run)(struct job_thread *job);
	/* Optional: makes a `run` loop's own wait return; called under the lock with the
	 * context (NULL before the start and after the stop). */
	void (*interrupt)(void *context);

	/* The helper's own (job_thread.c). */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t thread;
	void *context;    /* under lock */
	bool woken;       /* under lock */
	atomic_bool stopping;
	bool running;     /* only the starting and stopping thread touches it */
};

#define JOB_THREAD_INIT(...)                                                                 \
	{ .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, __VA_ARGS__ }

/*
 * Starts the thread with `context` (borrowed until job_thread_stop() returns). Does
 * nothing when it runs already. Returns 0, or -1 after logging.
 */
int job_thread_start(struct job_thread *job, void *context);

/*
 * Asks the thread to stop, wakes it (interrupt included) and joins it; then forgets the
 * context under the lock, so that a late job_thread_wake() does not reach it. Does nothing
 * when it does not run.
 */
void job_thread_stop(struct job_thread *job);

/* Wakes the thread for a pass now (or marks the wake for a `run` loop). Any thread. */
void job_thread_wake(struct job_thread *job);

/* Whether the thread was asked to stop (for long passes: stop early). Any thread. */
bool job_thread_stopping(struct job_thread *job);

/* For `run` loops: whether a wake came since the last call (and forgets it). */
bool job_thread_take_wake(struct job_thread *job);
/* For `run` loops: whether neither a wake nor a stop is pending (then it may wait). */
bool job_thread_idle(struct job_thread *job);

#endif
