/*
 * costly_pool.c - the threads that run costly requests off the workers (costly_pool.h):
 * a queue of jobs (a private copy of the request, request_copy.h, and the answer) under a
 * mutex, and the pool threads that take them one at a time.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/costly_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "crm/db.h"
#include "crm/json.h"
#include "crm/log.h"
#include "crm/reply.h"
#include "crm/request_copy.h"
#include "crm/request_cost.h"
#include "crm/banned.h"

/* Distinct SQL texts a pool connection keeps prepared (see db_request_finished). */
#define POOL_STATEMENT_CACHE_LIMIT 1024

#define JOB_MAGIC 0x636f7374u /* "cost" */

struct costly_job {
	unsigned magic;
	struct costly_job *next;
	struct http_resumer *resumer;
	http_handler_fn handler;
	bool bulk;
	bool slot_held; /* the caller's slot (request_cost_enter), until the handler ran */
	struct request_copy copy;
	struct response res;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t queued;
	pthread_t threads[COSTLY_POOL_MAX_THREADS];
	int thread_count;
	bool stopping;
	struct costly_job *head, *tail;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .queued = PTHREAD_COND_INITIALIZER };

static void release_slot(struct costly_job *job)
{
	if (!job->slot_held)
		return;
	job->slot_held = false;
	request_cost_leave(job->copy.caller.user_id);
}

static void job_free(void *context)
{
	struct costly_job *job = context;
	if (!job)
		return;
	release_slot(job); /* the request never ran (crmd stopped first) */
	request_copy_release(&job->copy);
	response_release(&job->res);
	free(job);
}

/* The `start` of response_suspend(): queues the job for the pool. */
static void job_start(void *context, struct http_resumer *resumer)
{
	struct costly_job *job = context;
	job->resumer = resumer;
	job->next = NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.tail)
		pool.tail->next = job;
	else
		pool.head = job;
	pool.tail = job;
	pthread_cond_signal(&pool.queued);
	pthread_mutex_unlock(&pool.lock);
}

void costly_pool_submit(struct request *req, struct response *res, http_handler_fn handler,
			bool bulk)
{
	struct costly_job *job = xcalloc(1, sizeof(*job));
	job->magic = JOB_MAGIC;
	job->handler = handler;
	job->bulk = bulk;
	job->slot_held = req->auth != NULL;
	request_copy_init(&job->copy, req);
	response_init(&job->res);
	/* Headers set before the handler (the rate limit's) go out with its answer. */
	response_copy_headers(&job->res, res);
	response_suspend(res, job_start, job_free, job);
}

bool costly_pool_answer(struct request *req, struct response *res)
{
	struct costly_job *job = req->resumed;
	if (!job || job->magic != JOB_MAGIC)
		return false;
	response_release(res);
	*res = job->res;
	response_init(&job->res);
	req->log_user_id = job->copy.req.log_user_id;
	return true;
}

/* Runs one job's handler with its budget armed, on this thread's connection. */
static void run_job(struct costly_job *job)
{
	struct db *db = db_thread();
	if (db)
		db_set_budget(db, request_cost_budget_ms(job->bulk));
	job->handler(&job->copy.req, &job->res);
	if (db) {
		if (db_budget_spent(db) && job->res.status == HTTP_INTERNAL_ERROR)
			db_status_reply(&job->res, DB_TOO_COSTLY, NULL);
		db_request_finished(db, POOL_STATEMENT_CACHE_LIMIT); /* disarms the budget too */
	}
	release_slot(job);
}

static void *pool_main(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&pool.lock);
		while (!pool.head && !pool.stopping)
			pthread_cond_wait(&pool.queued, &pool.lock);
		struct costly_job *job = pool.head;
		if (job) {
			pool.head = job->next;
			if (!pool.head)
				pool.tail = NULL;
		}
		pthread_mutex_unlock(&pool.lock);
		if (!job)
			break; /* stopping, and the queue is empty */
		run_job(job);
		http_resume(job->resumer); /* from here on the worker may free the job */
	}
	db_thread_close();
	return NULL;
}

int costly_pool_start(int threads)
{
	if (threads <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 1 ? (int)(cores / 2) : 1;
	}
	if (threads > COSTLY_POOL_MAX_THREADS)
		threads = COSTLY_POOL_MAX_THREADS;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = false;
	pthread_mutex_unlock(&pool.lock);
	for (int i = 0; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, pool_main, NULL) != 0) {
			log_error("cannot start the threads of costly requests");
			return -1;
		}
		pthread_mutex_lock(&pool.lock);
		pool.threads[pool.thread_count++] = thread;
		pthread_mutex_unlock(&pool.lock);
	}
	return 0;
}

void costly_pool_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.queued);
	int count = pool.thread_count;
	pthread_mutex_unlock(&pool.lock);
	for (int i = 0; i < count; i++)
		pthread_join(pool.threads[i], NULL);
	pthread_mutex_lock(&pool.lock);
	pool.thread_count = 0;
	pthread_mutex_unlock(&pool.lock);
}

bool costly_pool_running(void)
{
	pthread_mutex_lock(&pool.lock);
	bool running = pool.thread_count > 0 && !pool.stopping;
	pthread_mutex_unlock(&pool.lock);
	return running;
}
