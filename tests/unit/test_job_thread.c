/*
 * test_job_thread.c - the thread helper of the background jobs (job_thread.h): a periodic
 * job waits before its first pass and between passes as long as the pass asks, a wake cuts
 * a wait short and the pass learns it, the stop ends a long wait at once and runs finish
 * once, a job with its own loop gets its wakes and its interrupt (never with a stale
 * context), and wakes before the start and after the stop are harmless. Every wait on the
 * thread is a poll with a deadline.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "check.h"
#include "crm/job_thread.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

#define DEADLINE_US 10000000LL /* 10 s: generous for a loaded machine */
#define LONG_WAIT_MS 600000   /* 10 minutes: a test passes only if something cuts it short */

/* Polls `value` until it is at least `wanted` or the deadline passes; returns the value. */
static int wait_for_count(atomic_int *value, int wanted)
{
	int64_t deadline = time_monotonic_us() + DEADLINE_US;
	struct timespec pause = { 0, 1000000 };
	while (atomic_load(value) < wanted && time_monotonic_us() < deadline)
		nanosleep(&pause, NULL);
	return atomic_load(value);
}

/* ---------------------------------------------------------------- a periodic job */

static atomic_int passes, woken_passes, finishes, quick_passes;
static int context_value = 42;
static atomic_int wrong_context;

static int periodic_pass(void *context, bool woken)
{
	if (context != &context_value)
		atomic_fetch_add(&wrong_context, 1);
	atomic_fetch_add(&passes, 1);
	if (woken)
		atomic_fetch_add(&woken_passes, 1);
	/* the first three passes ask for the next at once, then a long wait */
	return atomic_fetch_add(&quick_passes, 1) < 2 ? 0 : LONG_WAIT_MS;
}

static void periodic_finish(void *context)
{
	if (context != &context_value)
		atomic_fetch_add(&wrong_context, 1);
	atomic_fetch_add(&finishes, 1);
}

static struct job_thread periodic = JOB_THREAD_INIT(.name = "test periodic",
						    .pass = periodic_pass,
						    .first_wait_ms = LONG_WAIT_MS,
						    .finish = periodic_finish);

static void test_wake_cuts_the_first_wait_short(void)
{
	job_thread_wake(&periodic); /* before the start: forgotten by the start */
	CHECK_INT(0, job_thread_start(&periodic, &context_value));
	CHECK_INT(0, job_thread_start(&periodic, &context_value)); /* runs already */
	CHECK_INT(0, atomic_load(&passes));
	job_thread_wake(&periodic);
	/* woken: one pass, then two more at once (the pass asked for 0 ms), then the wait */
	CHECK_INT(3, wait_for_count(&passes, 3));
	CHECK_INT(1, atomic_load(&woken_passes));
	job_thread_wake(&periodic);
	CHECK_INT(4, wait_for_count(&passes, 4));
	CHECK_INT(2, atomic_load(&woken_passes));
	CHECK(!job_thread_stopping(&periodic));
}

static void test_stop_ends_a_long_wait_and_finishes_once(void)
{
	int64_t started = time_monotonic_us();
	job_thread_stop(&periodic); /* the thread waits LONG_WAIT_MS: the stop cuts it short */
	CHECK(time_monotonic_us() - started < DEADLINE_US);
	CHECK_INT(1, atomic_load(&finishes));
	CHECK_INT(4, atomic_load(&passes));
	CHECK(job_thread_stopping(&periodic));
	job_thread_stop(&periodic); /* not running: nothing */
	job_thread_wake(&periodic); /* after the stop: harmless */
	CHECK_INT(1, atomic_load(&finishes));
	CHECK_INT(0, atomic_load(&wrong_context));
}

static void test_restart_after_stop(void)
{
	CHECK_INT(0, job_thread_start(&periodic, &context_value));
	CHECK(!job_thread_stopping(&periodic));
	job_thread_wake(&periodic);
	CHECK_INT(5, wait_for_count(&passes, 5));
	job_thread_stop(&periodic);
	CHECK_INT(2, atomic_load(&finishes));
	CHECK_INT(0, atomic_load(&wrong_context));
}

/* ---------------------------------------------------------------- a pass that sees the stop */

static atomic_int long_pass_started, long_pass_saw_stop;
static struct job_thread stoppable;

static int stoppable_pass(void *context, bool woken)
{
	(void)context;
	(void)woken;
	atomic_fetch_add(&long_pass_started, 1);
	int64_t deadline = time_monotonic_us() + DEADLINE_US;
	struct timespec pause = { 0, 1000000 };
	while (!job_thread_stopping(&stoppable) && time_monotonic_us() < deadline)
		nanosleep(&pause, NULL);
	if (job_thread_stopping(&stoppable))
		atomic_fetch_add(&long_pass_saw_stop, 1);
	return LONG_WAIT_MS;
}

static struct job_thread stoppable = JOB_THREAD_INIT(.name = "test stoppable",
						     .pass = stoppable_pass, .first_wait_ms = 0);

static void test_a_long_pass_sees_the_stop(void)
{
	CHECK_INT(0, job_thread_start(&stoppable, NULL));
	CHECK_INT(1, wait_for_count(&long_pass_started, 1)); /* first_wait_ms 0: at once */
	job_thread_stop(&stoppable);
	CHECK_INT(1, atomic_load(&long_pass_saw_stop));
}

/* ---------------------------------------------------------------- a job with its own loop */

static atomic_int loop_wakes, interrupts, null_interrupts, loop_ended;
static int loop_context = 7;

static void loop_interrupt(void *context)
{
	if (context)
		atomic_fetch_add(&interrupts, 1);
	else
		atomic_fetch_add(&null_interrupts, 1);
}

static void loop_run(struct job_thread *job)
{
	struct timespec pause = { 0, 1000000 };
	while (!job_thread_stopping(job)) {
		if (job_thread_idle(job))
			nanosleep(&pause, NULL); /* its own wait (a poll in webhook delivery) */
		if (job_thread_take_wake(job))
			atomic_fetch_add(&loop_wakes, 1);
	}
	if (job->context == &loop_context)
		atomic_fetch_add(&loop_ended, 1);
}

static struct job_thread own_loop = JOB_THREAD_INIT(.name = "test loop", .run = loop_run,
						    .interrupt = loop_interrupt);

static void test_own_loop_gets_wakes_and_interrupts(void)
{
	job_thread_wake(&own_loop); /* before the start: the interrupt sees no context */
	CHECK_INT(1, atomic_load(&null_interrupts));
	CHECK_INT(0, job_thread_start(&own_loop, &loop_context));
	job_thread_wake(&own_loop);
	CHECK_INT(1, wait_for_count(&loop_wakes, 1));
	CHECK_INT(1, atomic_load(&interrupts));
	job_thread_wake(&own_loop);
	CHECK_INT(2, wait_for_count(&loop_wakes, 2));
	job_thread_stop(&own_loop); /* interrupts once more, with the context */
	CHECK_INT(3, atomic_load(&interrupts));
	CHECK_INT(1, atomic_load(&loop_ended));
	job_thread_wake(&own_loop); /* after the stop: the context is forgotten */
	CHECK_INT(3, atomic_load(&interrupts));
	CHECK_INT(2, atomic_load(&null_interrupts));
}

int main(void)
{
	RUN(test_wake_cuts_the_first_wait_short);
	RUN(test_stop_ends_a_long_wait_and_finishes_once);
	RUN(test_restart_after_stop);
	RUN(test_a_long_pass_sees_the_stop);
	RUN(test_own_loop_gets_wakes_and_interrupts);
	return check_finish();
}
