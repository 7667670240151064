/*
 * job_thread.c - the thread helper of the background jobs (job_thread.h): start, the
 * periodic wait on a condition variable that a wake or a stop cuts short, stop and join.
 * The waits use CLOCK_REALTIME deadlines (the condition's default clock).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/job_thread.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "crm/log.h"
#include "crm/banned.h"

/* Waits (the lock held) until a wake, a stop or `wait_ms` milliseconds from now. */
static void wait_locked(struct job_thread *job, int wait_ms)
{
	if (wait_ms <= 0 || job->woken || atomic_load(&job->stopping))
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* a wakeup without a wake or a stop is spurious: wait out the deadline */
	while (!job->woken && !atomic_load(&job->stopping) &&
	       pthread_cond_timedwait(&job->changed, &job->lock, &until) != ETIMEDOUT)
		;
}

/* A periodic job's loop: wait, pass, wait as the pass asks, ... until stopped. */
static void run_passes(struct job_thread *job)
{
	int wait_ms = job->first_wait_ms;
	pthread_mutex_lock(&job->lock);
	for (;;) {
		wait_locked(job, wait_ms);
		if (atomic_load(&job->stopping))
			break;
		bool woken = job->woken;
		job->woken = false;
		void *context = job->context;
		pthread_mutex_unlock(&job->lock);
		wait_ms = job->pass(context, woken);
		pthread_mutex_lock(&job->lock);
	}
	void *context = job->context;
	pthread_mutex_unlock(&job->lock);
	if (job->finish)
		job->finish(context);
}

static void *job_thread_main(void *argument)
{
	struct job_thread *job = argument;
	if (job->run)
		job->run(job);
	else
		run_passes(job);
	return NULL;
}

int job_thread_start(struct job_thread *job, void *context)
{
	if (job->running)
		return 0;
	pthread_mutex_lock(&job->lock);
	job->context = context;
	job->woken = false;
	atomic_store(&job->stopping, false);
	pthread_mutex_unlock(&job->lock);
	int rc = pthread_create(&job->thread, NULL, job_thread_main, job);
	if (rc != 0) {
		log_error("cannot start the %s thread: %s", job->name, strerror(rc));
		pthread_mutex_lock(&job->lock);
		job->context = NULL;
		pthread_mutex_unlock(&job->lock);
		return -1;
	}
	job->running = true;
	return 0;
}

void job_thread_stop(struct job_thread *job)
{
	if (!job->running)
		return;
	pthread_mutex_lock(&job->lock);
	atomic_store(&job->stopping, true);
	pthread_cond_signal(&job->changed);
	if (job->interrupt)
		job->interrupt(job->context);
	pthread_mutex_unlock(&job->lock);
	pthread_join(job->thread, NULL);
	pthread_mutex_lock(&job->lock);
	job->context = NULL;
	pthread_mutex_unlock(&job->lock);
	job->running = false;
}

void job_thread_wake(struct job_thread *job)
{
	pthread_mutex_lock(&job->lock);
	if (!job->woken) {
		job->woken = true;
		pthread_cond_signal(&job->changed);
	}
	if (job->interrupt)
		job->interrupt(job->context);
	pthread_mutex_unlock(&job->lock);
}

bool job_thread_stopping(struct job_thread *job)
{
	return atomic_load(&job->stopping);
}

bool job_thread_take_wake(struct job_thread *job)
{
	pthread_mutex_lock(&job->lock);
	bool woken = job->woken;
	job->woken = false;
	pthread_mutex_unlock(&job->lock);
	return woken;
}

bool job_thread_idle(struct job_thread *job)
{
	pthread_mutex_lock(&job->lock);
	bool idle = !job->woken && !atomic_load(&job->stopping);
	pthread_mutex_unlock(&job->lock);
	return idle;
}
