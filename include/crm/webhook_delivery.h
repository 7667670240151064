/*
 * webhook_delivery.h - crmd's webhook delivery thread (src/jobs/webhook_delivery.c).
 *
 * One background thread with its own database connection sends the pending deliveries of
 * the outbox (webhooks.h), oldest due first, several at once with libcurl's multi
 * interface but at most one at a time per endpoint (so an endpoint gets its deliveries in
 * order, and a slow receiver holds up only its own). It is woken when a request
 * queued something (webhook_delivery_notify(); it then waits for that transaction's
 * commit, see webhooks_store_claim()) and looks for due deliveries at least every second
 * anyway (retries, and anything another process queued).
 *
 * A delivery is an HTTP POST of the event's JSON payload with
 *   Content-Type: application/json
 *   X-CRM-Event: contact.created
 *   X-CRM-Delivery: <delivery id>    the same for every attempt: receivers dedupe on it
 *   X-CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>", keyed with the
 *                    endpoint's secret (its UTF-8 bytes)>
 * with a 5 s connect and a 10 s total timeout, no redirects followed, no proxy, and the
 * connection pinned (CURLOPT_RESOLVE) to the address that passed the private-address
 * check, so a DNS answer that changes after the check cannot redirect it. A 2xx answer
 * delivers it. Anything else (another status, a timeout, a refused address) is an attempt
 * that failed: the delivery is tried again after the next delay of the schedule (the last
 * delay repeats) until `retry_for_seconds` have passed since it was queued (or redelivered),
 * then it is failed. Every attempt is logged (webhook_attempts).
 *
 * Delivery is at least once: a crash between a send and its record, or one of crmd, sends
 * again after the restart (deliveries left "sending" are pending again at start).
 * One crmd per database is assumed (as for crmctl restore).
 */
#ifndef CRM_WEBHOOK_DELIVERY_H
#define CRM_WEBHOOK_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "crm/db.h"

#define WEBHOOK_DELIVERY_DELAYS_DEFAULT "10,30,60,300,900,1800,3600"
#define WEBHOOK_DELIVERY_RETRY_FOR_DEFAULT (24 * 3600)
#define WEBHOOK_DELIVERY_MAX_DELAYS 32
#define WEBHOOK_DELIVERY_CONNECT_TIMEOUT_SECONDS 5
#define WEBHOOK_DELIVERY_TIMEOUT_SECONDS 10
#define WEBHOOK_DELIVERY_KEEP_DAYS 30 /* finished deliveries are forgotten after this */

struct webhook_delivery_options {
	const char *db_path;            /* borrowed; the thread opens its own connection */
	enum db_sync_mode sync;
	int delays[WEBHOOK_DELIVERY_MAX_DELAYS]; /* seconds before retry 1, 2, ... */
	int delay_count;                /* at least 1 */
	int retry_for_seconds;          /* give up after this long */
};

/*
 * Parses a retry schedule "10,30,60" (1 to WEBHOOK_DELIVERY_MAX_DELAYS delays of 1 second
 * to 1 day each) into `options`. Returns 0, or -1 when malformed.
 */
int webhook_delivery_parse_delays(const char *text, struct webhook_delivery_options *options);

/*
 * Starts the thread (once; options copied). Call after the signal mask is set, before
 * serving. Returns 0, or -1 (logged) when it cannot start.
 */
int webhook_delivery_start(const struct webhook_delivery_options *options);
/*
 * Stops the thread: an attempt in flight is cut short (its delivery stays pending, to be
 * sent after the next start), the connection closed. Call after the HTTP server stopped,
 * before the database is closed. Does nothing when the thread is not running.
 */
void webhook_delivery_stop(void);
/* Wakes the thread (a request queued deliveries). Cheap; harmless without a thread. */
void webhook_delivery_notify(void);

/*
 * The signature header value for `body` (`len` bytes) sent at `timestamp` with `secret`:
 * "t=<timestamp>,v1=<64 hex digits>". Writes at most `out_size` bytes (96 is enough).
 */
void webhook_delivery_sign(const char *secret, int64_t timestamp, const char *body, size_t len,
			   char *out, size_t out_size);

#endif
