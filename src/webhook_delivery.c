/*
 * webhook_delivery.c - crmd's webhook delivery thread (webhook_delivery.h): claims due
 * deliveries from the outbox, checks and pins the receiver's address, POSTs the signed
 * payload with libcurl and records each attempt with the next retry or the final state.
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
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crm/buf.h"
#include "crm/log.h"
#include "crm/timeutil.h"
#include "crm/version.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

#define CLAIM_BATCH 8
#define POLL_SECONDS 1
#define PRUNE_EVERY_SECONDS 3600

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool notified;      /* under lock */
	atomic_bool stopping;
	bool running;       /* only the starting/stopping thread touches it */
	pthread_t thread;
	struct webhook_delivery_options options;
	char *db_path;
} worker = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

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
	bool interrupted;  /* cut short by shutdown: not an attempt */
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

static int check_stopping(void *context, curl_off_t download_total, curl_off_t downloaded,
			  curl_off_t upload_total, curl_off_t uploaded)
{
	(void)context;
	(void)download_total;
	(void)downloaded;
	(void)upload_total;
	(void)uploaded;
	return atomic_load(&worker.stopping) ? 1 : 0;
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

/* Sends `job` once; fills `outcome`. */
static void send_job(struct db *db, const struct webhooks_job *job, struct outcome *outcome)
{
	struct webhooks_url url;
	char why[96];
	if (webhooks_url_parse(job->url, &url, why, sizeof(why)) != 0) {
		buf_addf(&outcome->error, "the URL %s", why);
		return;
	}
	bool allow_private = false;
	if (webhooks_store_allow_private(db, &allow_private) != DB_OK) {
		buf_adds(&outcome->error, "cannot read the private-address setting");
		return;
	}
	struct buf pin = BUF_INIT;
	if (pick_addresses(&url, allow_private, &pin, outcome) != 0) {
		buf_release(&pin);
		return;
	}

	CURL *curl = curl_easy_init();
	if (!curl) {
		buf_adds(&outcome->error, "cannot start an HTTP client");
		buf_release(&pin);
		return;
	}
	char signature[128];
	size_t body_len = strlen(job->body);
	webhook_delivery_sign(job->secret, (int64_t)time(NULL), job->body, body_len, signature,
			      sizeof(signature));
	struct curl_slist *headers = NULL;
	headers = add_header(headers, "Content-Type: application/json");
	headers = add_header(headers, "User-Agent: crmd/%s", CRM_VERSION);
	headers = add_header(headers, "X-CRM-Event: %s", job->event);
	headers = add_header(headers, "X-CRM-Delivery: %lld", (long long)job->delivery_id);
	headers = add_header(headers, "X-CRM-Signature: %s", signature);
	headers = add_header(headers, "Expect:"); /* no 100-continue round trip */
	struct curl_slist *resolve = pin.len ? curl_slist_append(NULL, pin.data) : NULL;
	char error_text[CURL_ERROR_SIZE] = "";

	curl_easy_setopt(curl, CURLOPT_URL, job->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* a proxy would defeat the pinning */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)WEBHOOK_DELIVERY_CONNECT_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)WEBHOOK_DELIVERY_TIMEOUT_SECONDS);
	if (resolve)
		curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, job->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_stopping);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);

	CURLcode code = curl_easy_perform(curl);
	long status_code = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status_code);
	if (code == CURLE_ABORTED_BY_CALLBACK && atomic_load(&worker.stopping)) {
		outcome->interrupted = true;
	} else if (code != CURLE_OK) {
		buf_addf(&outcome->error, "%s", error_text[0] ? error_text : curl_easy_strerror(code));
	} else {
		outcome->status_code = (int)status_code;
		if (status_code < 200 || status_code > 299)
			buf_addf(&outcome->error, "the receiver answered HTTP %ld", status_code);
	}
	curl_slist_free_all(resolve);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	buf_release(&pin);
}

/* Sends claimed delivery `delivery_id` and records the attempt. */
static void deliver(struct db *db, int64_t delivery_id)
{
	const struct webhook_delivery_options *options = &worker.options;
	struct webhooks_job job;
	int status = webhooks_store_job_load(db, delivery_id, &job);
	if (status != DB_OK) {
		if (status != DB_NOT_FOUND)
			webhooks_store_release(db, delivery_id, (int64_t)time(NULL) + POLL_SECONDS);
		return;
	}
	char attempted_at[TIME_RFC3339_SIZE];
	time_now_rfc3339(attempted_at);
	int64_t started = time_monotonic_us();
	struct outcome outcome = { 0, BUF_INIT, false };
	send_job(db, &job, &outcome);
	int64_t now = (int64_t)time(NULL);
	if (outcome.interrupted) {
		webhooks_store_release(db, delivery_id, now);
		goto cleanup;
	}
	struct webhooks_attempt attempt = {
		.attempted_at = attempted_at,
		.status_code = outcome.status_code,
		.error = outcome.error.len ? outcome.error.data : NULL,
		.duration_ms = (time_monotonic_us() - started) / 1000,
		.status = "delivered",
	};
	if (attempt.error) {
		int index = job.attempts < options->delay_count ? job.attempts
								: options->delay_count - 1;
		attempt.next_attempt_at = now + options->delays[index];
		bool expired = attempt.next_attempt_at > job.retry_since + options->retry_for_seconds;
		attempt.status = expired ? "failed" : "pending";
		log_info("webhook %lld delivery %lld (%s) attempt %d failed: %s%s",
			 (long long)job.webhook_id, (long long)delivery_id, job.event,
			 job.attempts + 1, attempt.error, expired ? "; giving up" : "");
	}
	status = webhooks_store_attempt_finish(db, delivery_id, &attempt);
	if (status != DB_OK)
		log_error("cannot record webhook delivery %lld", (long long)delivery_id);
cleanup:
	buf_release(&outcome.error);
	sodium_memzero(job.secret, strlen(job.secret));
	webhooks_job_release(&job);
}

/*
 * Claims and sends what is due. Returns how many were claimed. Unless `notified` (a
 * request has just queued something: the claim's write transaction then waits for its
 * commit), a read looks first, so that an idle server takes no write lock every second.
 */
static int deliver_due(struct db *db, bool notified)
{
	int64_t ids[CLAIM_BATCH];
	int count = 0;
	if (!notified && webhooks_store_due(db, (int64_t)time(NULL)) <= 0)
		return 0;
	if (webhooks_store_claim(db, (int64_t)time(NULL), ids, CLAIM_BATCH, &count) != DB_OK)
		return 0;
	for (int i = 0; i < count; i++) {
		if (atomic_load(&worker.stopping)) {
			webhooks_store_release(db, ids[i], (int64_t)time(NULL));
			continue;
		}
		deliver(db, ids[i]);
	}
	return count;
}

/* ================================================================ the thread */

/* Waits until notified, stopping, or POLL_SECONDS passed. Returns whether notified. */
static bool wait_for_work(void)
{
	pthread_mutex_lock(&worker.lock);
	if (!worker.notified && !atomic_load(&worker.stopping)) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += POLL_SECONDS;
		pthread_cond_timedwait(&worker.wake, &worker.lock, &until);
	}
	bool notified = worker.notified;
	worker.notified = false;
	pthread_mutex_unlock(&worker.lock);
	return notified;
}

static void *worker_main(void *context)
{
	(void)context;
	struct db *db = NULL;
	int64_t last_prune = 0;
	bool notified = true; /* look at once after a start */
	while (!atomic_load(&worker.stopping)) {
		if (!db) {
			db = db_open(worker.db_path, worker.options.sync);
			if (!db || webhooks_store_recover(db, (int64_t)time(NULL)) != DB_OK) {
				log_error("webhook delivery: cannot use the database; retrying");
				db_close(db);
				db = NULL;
				wait_for_work();
				continue;
			}
		}
		int claimed = deliver_due(db, notified);
		int64_t now = (int64_t)time(NULL);
		if (now - last_prune >= PRUNE_EVERY_SECONDS) {
			char before[TIME_RFC3339_SIZE];
			time_format_rfc3339((time_t)(now - WEBHOOK_DELIVERY_KEEP_DAYS * 86400), before);
			if (webhooks_store_prune(db, before) == DB_OK)
				last_prune = now;
		}
		notified = claimed < CLAIM_BATCH ? wait_for_work() : true;
	}
	if (db)
		db_close(db);
	return NULL;
}

int webhook_delivery_start(const struct webhook_delivery_options *options)
{
	if (worker.running)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("webhook delivery: libcurl cannot start");
		return -1;
	}
	worker.options = *options;
	worker.options.db_path = NULL;
	worker.db_path = xstrdup(options->db_path);
	worker.notified = false;
	atomic_store(&worker.stopping, false);
	int rc = pthread_create(&worker.thread, NULL, worker_main, NULL);
	if (rc != 0) {
		log_error("webhook delivery: cannot start the thread: %s", strerror(rc));
		free(worker.db_path);
		worker.db_path = NULL;
		curl_global_cleanup();
		return -1;
	}
	worker.running = true;
	return 0;
}

void webhook_delivery_stop(void)
{
	if (!worker.running)
		return;
	pthread_mutex_lock(&worker.lock);
	atomic_store(&worker.stopping, true);
	pthread_cond_signal(&worker.wake);
	pthread_mutex_unlock(&worker.lock);
	pthread_join(worker.thread, NULL);
	worker.running = false;
	free(worker.db_path);
	worker.db_path = NULL;
	curl_global_cleanup();
}

void webhook_delivery_notify(void)
{
	pthread_mutex_lock(&worker.lock);
	worker.notified = true;
	pthread_cond_signal(&worker.wake);
	pthread_mutex_unlock(&worker.lock);
}
