/*
 * webhook_delivery.c - crmd's webhook delivery thread (webhook_delivery.h): claims due
 * deliveries from the outbox, checks and pins the receiver's address, POSTs the signed
 * payloads with libcurl's multi interface (up to MAX_IN_FLIGHT at once, one per endpoint)
 * and records each attempt with the next retry or the final state.
 *
 * The thread has its own database connection. Every write it makes is a short
 * transaction of its own; no transaction is open while it waits for a receiver.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/webhook_delivery.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crm/buf.h"
#include "crm/job_thread.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/version.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

#define MAX_IN_FLIGHT 8 /* deliveries sent at once (to different endpoints) */
#define POLL_SECONDS 1
#define PRUNE_EVERY_SECONDS 3600

static void worker_run(struct job_thread *job);
static void worker_interrupt(void *context);

/* The thread: a job_thread (job_thread.h) with its own loop, which waits in curl's poll;
 * its context is the curl multi handle, which a wake interrupts. */
static struct job_thread worker_thread = JOB_THREAD_INIT(.name = "webhook delivery",
							 .run = worker_run,
							 .interrupt = worker_interrupt);
static struct {
	struct webhook_delivery_options options;
	char *db_path;
	CURLM *multi; /* only the starting and stopping thread touches it */
} worker;

/* ================================================================ options */

int webhook_delivery_parse_delays(const char *text, struct webhook_delivery_options *options)
{
	int count = 0;
	const char *p = text;
	while (*p) {
		if (count == WEBHOOK_DELIVERY_MAX_DELAYS)
			return -1;
		long value = 0;
		const char *start = p;
		while (*p >= '0' && *p <= '9' && p - start < 6)
			value = value * 10 + (*p++ - '0');
		if (p == start || value < 1 || value > 86400 || (*p && *p != ','))
			return -1;
		options->delays[count++] = (int)value;
		if (*p == ',' && !*++p)
			return -1; /* a trailing comma */
	}
	if (count == 0)
		return -1;
	options->delay_count = count;
	return 0;
}

/* ================================================================ signing */

void webhook_delivery_sign(const char *secret, int64_t timestamp, const char *body, size_t len,
			   char *out, size_t out_size)
{
	char prefix[32];
	int prefix_len = snprintf(prefix, sizeof(prefix), "%lld.", (long long)timestamp);
	crypto_auth_hmacsha256_state state;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&state, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)prefix, (size_t)prefix_len);
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&state, mac);
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, out_size, "t=%lld,v1=%s", (long long)timestamp, hex);
	sodium_memzero(&state, sizeof(state));
}

/* ================================================================ one attempt */

/* What an attempt found out. */
struct outcome {
	int status_code;   /* 0 when no HTTP answer came */
	struct buf error;  /* empty when delivered */
};

#define PIN_MAX_ADDRESSES 8

/*
 * Resolves `url`'s host and keeps the addresses the private-address policy allows (all,
 * when `allow_private`), in the resolver's order. Writes the curl pin
 * "host:port:address[,address...]" into `pin` (empty for a literal address, which needs no
 * resolving). Returns 0, or -1 with the reason in `outcome`.
 */
static int pick_addresses(const struct webhooks_url *url, bool allow_private, struct buf *pin,
			  struct outcome *outcome)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	if (url->host_is_ip)
		hints.ai_flags = AI_NUMERICHOST;
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(url->host, NULL, &hints, &found);
	if (rc != 0) {
		buf_addf(&outcome->error, "cannot resolve the host: %s", gai_strerror(rc));
		return -1;
	}
	int kept = 0;
	for (const struct addrinfo *a = found; a && kept < PIN_MAX_ADDRESSES; a = a->ai_next) {
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
		    (!allow_private && !webhooks_address_allowed(a->ai_addr)))
			continue;
		const struct sockaddr_in *in = (const void *)a->ai_addr;
		const struct sockaddr_in6 *in6 = (const void *)a->ai_addr;
		const void *address = a->ai_family == AF_INET ? (const void *)&in->sin_addr
							      : (const void *)&in6->sin6_addr;
		char text[INET6_ADDRSTRLEN];
		if (!inet_ntop(a->ai_family, address, text, sizeof(text)))
			continue;
		if (url->host_is_ip) { /* nothing to pin: curl does not resolve a literal */
			kept++;
			break;
		}
		if (kept == 0)
			buf_addf(pin, "%s:%u:", url->host, url->port);
		else
			buf_addch(pin, ',');
		buf_addf(pin, a->ai_family == AF_INET6 ? "[%s]" : "%s", text);
		kept++;
	}
	freeaddrinfo(found);
	if (kept == 0) {
		buf_adds(&outcome->error,
			 "refused: the host resolves only to private, loopback, link-local or "
			 "reserved addresses (crmctl webhook private on allows them)");
		return -1;
	}
	return 0;
}

static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
	(void)data;
	(void)context;
	return size * count;
}

/* Adds one header line to `list`; returns the (new) list. */
static struct curl_slist *add_header(struct curl_slist *list, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
static struct curl_slist *add_header(struct curl_slist *list, const char *format, ...)
{
	struct buf line = BUF_INIT;
	va_list args;
	va_start(args, format);
	buf_vaddf(&line, format, args);
	va_end(args);
	struct curl_slist *grown = curl_slist_append(list, line.data);
	buf_release(&line);
	if (!grown) {
		log_error("out of memory building webhook headers");
		abort();
	}
	return grown;
}

/* One delivery being sent: its easy handle in the multi handle, and what it owns. */
struct transfer {
	bool used;
	CURL *curl;
	struct webhooks_job job;
	struct curl_slist *headers;
	struct curl_slist *resolve;
	char error_text[CURL_ERROR_SIZE];
	char attempted_at[TIME_RFC3339_SIZE];
	int64_t started; /* monotonic microseconds */
};

/* The worker thread's transfers in flight; only that thread touches them. */
static struct transfer transfers[MAX_IN_FLIGHT];

/*
 * Checks `t->job`'s URL and address and sets up its easy handle (not yet added to the
 * multi handle). Returns 0, or -1 with the reason in `outcome`.
 */
static int transfer_prepare(struct db *db, struct transfer *t, struct outcome *outcome)
{
	const struct webhooks_job *job = &t->job;
	struct webhooks_url url;
	char why[96];
	if (webhooks_url_parse(job->url, &url, why, sizeof(why)) != 0) {
		buf_addf(&outcome->error, "the URL %s", why);
		return -1;
	}
	bool allow_private = false;
	if (webhooks_store_allow_private(db, &allow_private) != DB_OK) {
		buf_adds(&outcome->error, "cannot read the private-address setting");
		return -1;
	}
	struct buf pin = BUF_INIT;
	if (pick_addresses(&url, allow_private, &pin, outcome) != 0) {
		buf_release(&pin);
		return -1;
	}
	t->curl = curl_easy_init();
	if (!t->curl) {
		buf_adds(&outcome->error, "cannot start an HTTP client");
		buf_release(&pin);
		return -1;
	}
	char signature[128];
	size_t body_len = strlen(job->body);
	webhook_delivery_sign(job->secret, (int64_t)time(NULL), job->body, body_len, signature,
			      sizeof(signature));
	t->headers = add_header(t->headers, "Content-Type: application/json");
	t->headers = add_header(t->headers, "User-Agent: crmd/%s", CRM_VERSION);
	t->headers = add_header(t->headers, "X-CRM-Event: %s", job->event);
	t->headers = add_header(t->headers, "X-CRM-Delivery: %lld", (long long)job->delivery_id);
	t->headers = add_header(t->headers, "X-CRM-Signature: %s", signature);
	t->headers = add_header(t->headers, "Expect:"); /* no 100-continue round trip */
	t->resolve = pin.len ? curl_slist_append(NULL, pin.data) : NULL;
	buf_release(&pin);
	t->error_text[0] = '\0';

	CURL *curl = t->curl;
	curl_easy_setopt(curl, CURLOPT_PRIVATE, (void *)t);
	curl_easy_setopt(curl, CURLOPT_URL, job->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* a proxy would defeat the pinning */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)WEBHOOK_DELIVERY_CONNECT_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)WEBHOOK_DELIVERY_TIMEOUT_SECONDS);
	if (t->resolve)
		curl_easy_setopt(curl, CURLOPT_RESOLVE, t->resolve);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, job->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->error_text);
	return 0;
}

/* Frees what `t` holds (its handle removed from `multi` if added) and frees the slot. */
static void transfer_clear(CURLM *multi, struct transfer *t, bool added)
{
	if (t->curl) {
		if (added)
			curl_multi_remove_handle(multi, t->curl);
		curl_easy_cleanup(t->curl);
	}
	curl_slist_free_all(t->resolve);
	curl_slist_free_all(t->headers);
	if (t->job.secret)
		sodium_memzero(t->job.secret, strlen(t->job.secret));
	webhooks_job_release(&t->job);
	memset(t, 0, sizeof(*t));
}

/* Records the attempt of `t` with `outcome`: delivered, or the next retry, or failed. */
static void record_attempt(struct db *db, const struct transfer *t, const struct outcome *outcome)
{
	const struct webhook_delivery_options *options = &worker.options;
	const struct webhooks_job *job = &t->job;
	int64_t now = (int64_t)time(NULL);
	struct webhooks_attempt attempt = {
		.attempted_at = t->attempted_at,
		.status_code = outcome->status_code,
		.error = outcome->error.len ? outcome->error.data : NULL,
		.duration_ms = (time_monotonic_us() - t->started) / 1000,
		.status = "delivered",
	};
	if (attempt.error) {
		int index = job->attempts < options->delay_count ? job->attempts
								 : options->delay_count - 1;
		attempt.next_attempt_at = now + options->delays[index];
		bool expired = attempt.next_attempt_at > job->retry_since + options->retry_for_seconds;
		attempt.status = expired ? "failed" : "pending";
		log_info("webhook %lld delivery %lld (%s) attempt %d failed: %s%s",
			 (long long)job->webhook_id, (long long)job->delivery_id, job->event,
			 job->attempts + 1, attempt.error, expired ? "; giving up" : "");
	}
	if (webhooks_store_attempt_finish(db, job->delivery_id, &attempt) != DB_OK)
		log_error("cannot record webhook delivery %lld", (long long)job->delivery_id);
}

static struct transfer *free_transfer(void)
{
	for (int i = 0; i < MAX_IN_FLIGHT; i++)
		if (!transfers[i].used)
			return &transfers[i];
	return NULL;
}

static int transfers_in_flight(void)
{
	int count = 0;
	for (int i = 0; i < MAX_IN_FLIGHT; i++)
		count += transfers[i].used;
	return count;
}

/*
 * Starts sending claimed delivery `delivery_id` in a free slot: adds it to `multi`, or
 * records the failed attempt at once when its address is refused (or the like).
 */
static void transfer_start(struct db *db, CURLM *multi, int64_t delivery_id)
{
	struct transfer *t = free_transfer();
	if (!t) { /* cannot happen: claims never exceed the free slots */
		webhooks_store_release(db, delivery_id, (int64_t)time(NULL));
		return;
	}
	int status = webhooks_store_job_load(db, delivery_id, &t->job);
	if (status != DB_OK) {
		if (status != DB_NOT_FOUND)
			webhooks_store_release(db, delivery_id, (int64_t)time(NULL) + POLL_SECONDS);
		webhooks_job_release(&t->job);
		return;
	}
	t->used = true;
	time_now_rfc3339(t->attempted_at);
	t->started = time_monotonic_us();
	struct outcome outcome = { 0, BUF_INIT };
	if (transfer_prepare(db, t, &outcome) == 0 &&
	    curl_multi_add_handle(multi, t->curl) == CURLM_OK) {
		buf_release(&outcome.error);
		return;
	}
	if (!outcome.error.len)
		buf_adds(&outcome.error, "cannot start an HTTP client");
	record_attempt(db, t, &outcome);
	buf_release(&outcome.error);
	transfer_clear(multi, t, false);
}

/* A transfer of `multi` ended with `code`: records the attempt and frees its slot. */
static void transfer_done(struct db *db, CURLM *multi, struct transfer *t, CURLcode code)
{
	struct outcome outcome = { 0, BUF_INIT };
	long status_code = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status_code);
	if (code != CURLE_OK) {
		buf_addf(&outcome.error, "%s",
			 t->error_text[0] ? t->error_text : curl_easy_strerror(code));
	} else {
		outcome.status_code = (int)status_code;
		if (status_code < 200 || status_code > 299)
			buf_addf(&outcome.error, "the receiver answered HTTP %ld", status_code);
	}
	record_attempt(db, t, &outcome);
	buf_release(&outcome.error);
	transfer_clear(multi, t, true);
}

/* Drives the transfers of `multi`; records the finished ones. Returns how many finished. */
static int transfers_run(struct db *db, CURLM *multi)
{
	int running = 0;
	curl_multi_perform(multi, &running);
	int finished = 0;
	int left = 0;
	CURLMsg *message;
	while ((message = curl_multi_info_read(multi, &left))) {
		if (message->msg != CURLMSG_DONE)
			continue;
		struct transfer *t = NULL;
		curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode code = message->data.result;
		if (t) {
			transfer_done(db, multi, t, code);
			finished++;
		}
	}
	return finished;
}

/*
 * At shutdown: cuts every transfer short. Its delivery is pending again, due now, without
 * an attempt counted: it is sent after the next start.
 */
static void transfers_abort(struct db *db, CURLM *multi)
{
	for (int i = 0; i < MAX_IN_FLIGHT; i++) {
		struct transfer *t = &transfers[i];
		if (!t->used)
			continue;
		if (db)
			webhooks_store_release(db, t->job.delivery_id, (int64_t)time(NULL));
		transfer_clear(multi, t, true);
	}
}

/*
 * Claims what is due for the free slots and starts sending it. Returns how many were
 * claimed. Unless `notified` (a request has just queued something: the claim's write
 * transaction then waits for its commit), a read looks first, so that an idle server
 * takes no write lock every second. The claim takes at most one delivery per endpoint and
 * none of an endpoint already being sent to (webhooks_store_claim()): a slow receiver
 * holds up only its own deliveries.
 */
static int claim_due(struct db *db, CURLM *multi, bool notified)
{
	int64_t ids[MAX_IN_FLIGHT];
	int count = 0;
	int free_slots = MAX_IN_FLIGHT - transfers_in_flight();
	if (free_slots <= 0 || job_thread_stopping(&worker_thread))
		return 0;
	if (!notified && webhooks_store_due(db, (int64_t)time(NULL)) <= 0)
		return 0;
	if (webhooks_store_claim(db, (int64_t)time(NULL), ids, free_slots, &count) != DB_OK)
		return 0;
	for (int i = 0; i < count; i++)
		transfer_start(db, multi, ids[i]);
	return count;
}

/* ================================================================ the thread */

/*
 * Waits until notified, stopping, a transfer of `multi` needs attention, or `timeout_ms`
 * passed. Returns whether notified.
 */
static bool wait_for_work(CURLM *multi, int timeout_ms)
{
	bool idle = job_thread_idle(&worker_thread);
	if (idle && timeout_ms > 0) /* a wakeup in between is kept: the poll returns at once */
		curl_multi_poll(multi, NULL, 0, timeout_ms, NULL);
	return job_thread_take_wake(&worker_thread);
}

/* Opens the thread's connection and recovers deliveries left "sending"; NULL on failure. */
static struct db *open_database(void)
{
	struct db *db = db_open(worker.db_path, worker.options.sync);
	if (!db || webhooks_store_recover(db, (int64_t)time(NULL)) != DB_OK) {
		log_error("webhook delivery: cannot use the database; retrying");
		db_close(db);
		return NULL;
	}
	return db;
}

static void prune_old(struct db *db, int64_t *last_prune)
{
	int64_t now = (int64_t)time(NULL);
	if (now - *last_prune < PRUNE_EVERY_SECONDS)
		return;
	char before[TIME_RFC3339_SIZE];
	time_format_rfc3339((time_t)(now - WEBHOOK_DELIVERY_KEEP_DAYS * 86400), before);
	if (webhooks_store_prune(db, before) == DB_OK)
		*last_prune = now;
}

/* Makes the thread's poll return (a wake or the stop); under the helper's lock. */
static void worker_interrupt(void *context)
{
	if (context)
		curl_multi_wakeup(context);
}

static void worker_run(struct job_thread *job)
{
	CURLM *multi = job->context; /* set before the thread started, until it ends */
	struct db *db = NULL;
	int64_t last_prune = 0;
	int64_t last_look = 0;
	bool look = true; /* at once after a start */
	bool notified = true;
	while (!job_thread_stopping(job)) {
		if (!db && !(db = open_database())) {
			wait_for_work(multi, POLL_SECONDS * 1000);
			continue;
		}
		if (look) {
			claim_due(db, multi, notified);
			last_look = time_monotonic_us();
		}
		int finished = transfers_run(db, multi);
		prune_old(db, &last_prune);
		int64_t since_look_ms = (time_monotonic_us() - last_look) / 1000;
		int timeout_ms = finished > 0 ? 0 : POLL_SECONDS * 1000 - (int)since_look_ms;
		notified = wait_for_work(multi, timeout_ms);
		/* a freed slot may take the endpoint's next delivery at once */
		look = notified || finished > 0 ||
		       time_monotonic_us() - last_look >= POLL_SECONDS * 1000000LL;
	}
	transfers_abort(db, multi);
	if (db)
		db_close(db);
}

int webhook_delivery_start(const struct webhook_delivery_options *options)
{
	if (worker.multi)
		return 0;
	webhooks_set_queued_hook(webhook_delivery_notify);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("webhook delivery: libcurl cannot start");
		return -1;
	}
	worker.options = *options;
	worker.options.db_path = NULL;
	worker.db_path = xstrdup(options->db_path);
	CURLM *multi = curl_multi_init();
	if (!multi || job_thread_start(&worker_thread, multi) != 0) {
		if (!multi)
			log_error("webhook delivery: cannot start the thread: no curl multi handle");
		else
			curl_multi_cleanup(multi);
		free(worker.db_path);
		worker.db_path = NULL;
		curl_global_cleanup();
		return -1;
	}
	worker.multi = multi;
	return 0;
}

void webhook_delivery_stop(void)
{
	if (!worker.multi)
		return;
	job_thread_stop(&worker_thread); /* forgets the handle before it is freed */
	curl_multi_cleanup(worker.multi);
	worker.multi = NULL;
	free(worker.db_path);
	worker.db_path = NULL;
	curl_global_cleanup();
}

void webhook_delivery_notify(void)
{
	job_thread_wake(&worker_thread);
}
