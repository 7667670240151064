/*
 * write_batch.c - group commit: the batch writer thread and its queue (see write_batch.h).
 *
 * A job holds a private copy of its request and the caller's identity (request_copy.h),
 * and the answer the writer made.
 * The writer answers every job of a batch only after the batch's commit.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/write_batch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/fts_pending.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/log.h"
#include "crm/request_copy.h"
#include "crm/banned.h"

/* Distinct SQL texts the writer's connection keeps prepared (see db_request_finished). */
#define WRITER_STATEMENT_CACHE_LIMIT 1024

#define JOB_MAGIC 0x77726974u /* "writ" */

struct write_job {
	unsigned magic;
	struct write_job *next;
	struct http_resumer *resumer;
	http_handler_fn handler;
	struct request_copy copy; /* the request */
	struct response res;      /* the answer */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t queued;
	pthread_t thread;
	bool running;
	bool stopping;
	struct write_job *head, *tail;
	_Atomic uint64_t batches, requests; /* for /metrics */
} writer = { .lock = PTHREAD_MUTEX_INITIALIZER, .queued = PTHREAD_COND_INITIALIZER };

/* ---------------------------------------------------------------- jobs */

static struct write_job *job_new(const struct request *req, http_handler_fn handler)
{
	struct write_job *job = xcalloc(1, sizeof(*job));
	job->magic = JOB_MAGIC;
	job->handler = handler;
	request_copy_init(&job->copy, req);
	response_init(&job->res);
	return job;
}

static void job_free(void *context)
{
	struct write_job *job = context;
	if (!job)
		return;
	request_copy_release(&job->copy);
	response_release(&job->res);
	free(job);
}

/* The `start` of response_suspend(): queues the job for the writer. */
static void job_start(void *context, struct http_resumer *resumer)
{
	struct write_job *job = context;
	job->resumer = resumer;
	job->next = NULL;
	pthread_mutex_lock(&writer.lock);
	if (writer.tail)
		writer.tail->next = job;
	else
		writer.head = job;
	writer.tail = job;
	pthread_cond_signal(&writer.queued);
	pthread_mutex_unlock(&writer.lock);
}

void write_batch_submit(struct request *req, struct response *res, http_handler_fn handler)
{
	struct write_job *job = job_new(req, handler);
	/* Headers set before the handler (the rate limit's) go out with its answer. */
	response_copy_headers(&job->res, res);
	response_suspend(res, job_start, job_free, job);
}

bool write_batch_answer(struct request *req, struct response *res)
{
	struct write_job *job = req->resumed;
	if (!job || job->magic != JOB_MAGIC)
		return false;
	response_release(res);
	*res = job->res;
	response_init(&job->res);
	req->log_user_id = job->copy.req.log_user_id;
	return true;
}

/* ---------------------------------------------------------------- the writer */

/* Replaces the answers of jobs [first, end) by a 503: their writes were not stored. */
static void answer_not_stored(struct write_job *first, struct write_job *end)
{
	for (struct write_job *job = first; job != end; job = job->next) {
		response_release(&job->res);
		response_init(&job->res);
		response_problem(&job->res, HTTP_SERVICE_UNAVAILABLE,
				 "the change could not be stored; try again");
		response_set_header(&job->res, "Retry-After", "1");
	}
}

/* The writer's connection: its commits leave new rows pending full-text indexing. */
static struct db *writer_db(void)
{
	struct db *db = db_thread();
	if (db)
		db_defer_fts(db, true);
	return db;
}

/* Indexes the rows pending full-text indexing (fts_pending.h), in a transaction of its own. */
static void flush_full_text(void)
{
	struct db *db = writer_db();
	if (!db)
		return;
	if (fts_pending_flush_now(db) != DB_OK)
		log_warn("full-text indexing of new rows failed; retried later");
	db_request_finished(db, WRITER_STATEMENT_CACHE_LIMIT);
}

static struct timespec realtime_after_ms(int milliseconds)
{
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += milliseconds / 1000;
	at.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	return at;
}

static bool reached(const struct timespec *at)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > at->tv_sec || (now.tv_sec == at->tv_sec && now.tv_nsec >= at->tv_nsec);
}

/*
 * Runs the jobs from `first` to `end` (linked by next) in one transaction and leaves their
 * answers in the jobs.
 */
static void run_batch(struct write_job *first, struct write_job *end)
{
	struct db *db = writer_db();
	if (!db || db_batch_begin(db) != DB_OK) {
		/* The database cannot be opened, stays busy (another process writes) or fails:
		 * as for a lone request, a 503. */
		answer_not_stored(first, end);
		if (db)
			db_request_finished(db, WRITER_STATEMENT_CACHE_LIMIT);
		return;
	}
	struct write_job *batch_start = first;
	for (struct write_job *job = first; job != end; job = job->next) {
		job->handler(&job->copy.req, &job->res);
		db_batch_request_finished(db);
		if (db_batch_intact(db))
			continue;
		/* SQLite rolled the whole transaction back (disk full, I/O error): this job's
		 * writes and those of the jobs before it in the batch are gone. */
		db_batch_rollback(db);
		answer_not_stored(batch_start, job->next);
		batch_start = job->next;
		if (batch_start != end && db_batch_begin(db) != DB_OK) {
			answer_not_stored(batch_start, end);
			batch_start = end;
			break;
		}
	}
	if (batch_start != end && db_batch_commit(db) != DB_OK)
		answer_not_stored(batch_start, end);
	db_request_finished(db, WRITER_STATEMENT_CACHE_LIMIT);
}

/*
 * The writer: takes what is queued, runs it as one batch, answers. Rows written are
 * indexed for full-text search at most WRITE_BATCH_FTS_FLUSH_MS after their batch (a
 * search indexes them at once if it comes first), also when no more writes come, and on
 * stop. At start, what a crash may have left pending is indexed the same way.
 */
static void *writer_main(void *unused)
{
	(void)unused;
	bool unflushed = true;
	struct timespec flush_at = realtime_after_ms(WRITE_BATCH_FTS_FLUSH_MS);
	for (;;) {
		pthread_mutex_lock(&writer.lock);
		while (!writer.head && !writer.stopping) {
			if (!unflushed) {
				pthread_cond_wait(&writer.queued, &writer.lock);
				continue;
			}
			pthread_cond_timedwait(&writer.queued, &writer.lock, &flush_at);
			if (reached(&flush_at))
				break;
		}
		if (!writer.head) {
			bool stopping = writer.stopping;
			pthread_mutex_unlock(&writer.lock);
			if (unflushed)
				flush_full_text();
			unflushed = false;
			if (stopping)
				break;
			continue;
		}
		struct write_job *first = writer.head;
		struct write_job *last = first;
		for (int n = 1; n < WRITE_BATCH_MAX && last->next; n++)
			last = last->next;
		writer.head = last->next;
		if (!writer.head)
			writer.tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&writer.lock);

		run_batch(first, NULL);
		uint64_t count = 0;
		for (struct write_job *job = first; job; job = job->next)
			count++;
		atomic_fetch_add_explicit(&writer.batches, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&writer.requests, count, memory_order_relaxed);
		/* Once resumed, a job may be freed by its worker at any moment. */
		for (struct write_job *job = first, *next; job; job = next) {
			next = job->next;
			http_resume(job->resumer);
		}
		if (!unflushed) {
			unflushed = true;
			flush_at = realtime_after_ms(WRITE_BATCH_FTS_FLUSH_MS);
		} else if (reached(&flush_at)) {
			flush_full_text();
			unflushed = false;
		}
	}
	db_thread_close();
	return NULL;
}

int write_batch_start(void)
{
	pthread_mutex_lock(&writer.lock);
	bool running = writer.running;
	writer.stopping = false;
	pthread_mutex_unlock(&writer.lock);
	if (running)
		return 0;
	if (pthread_create(&writer.thread, NULL, writer_main, NULL) != 0) {
		log_error("cannot start the batch writer thread");
		return -1;
	}
	pthread_mutex_lock(&writer.lock);
	writer.running = true;
	pthread_mutex_unlock(&writer.lock);
	return 0;
}

void write_batch_stop(void)
{
	pthread_mutex_lock(&writer.lock);
	bool running = writer.running;
	writer.stopping = true;
	pthread_cond_broadcast(&writer.queued);
	pthread_mutex_unlock(&writer.lock);
	if (!running)
		return;
	pthread_join(writer.thread, NULL);
	pthread_mutex_lock(&writer.lock);
	writer.running = false;
	pthread_mutex_unlock(&writer.lock);
}

bool write_batch_running(void)
{
	pthread_mutex_lock(&writer.lock);
	bool running = writer.running && !writer.stopping;
	pthread_mutex_unlock(&writer.lock);
	return running;
}

void write_batch_counts(uint64_t *batches, uint64_t *requests)
{
	*batches = atomic_load_explicit(&writer.batches, memory_order_relaxed);
	*requests = atomic_load_explicit(&writer.requests, memory_order_relaxed);
}
