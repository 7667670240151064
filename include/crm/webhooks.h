/*
 * webhooks.h - outgoing webhooks: endpoints that administrators register, the events
 * that changes emit into a transactional outbox, and the data layer of both. The delivery
 * thread that sends them is webhook_delivery.h.
 *
 * Endpoints are the resource /api/v1/webhooks on the generic mechanism (resource.h), with
 * the permission resource `webhooks` (granted to admin only):
 *   url          http:// or https://, at most WEBHOOKS_URL_MAX characters, no user:password@,
 *                no #fragment. A literal IP address in it must be a public one unless the
 *                operator allowed private addresses (below): else 422.
 *   events       event names (registry.h), "<entity>.*" (contact.*) or "*" for all;
 *                default ["*"] when a create or a PUT leaves it out; [] is refused.
 *   secret       write-only: the HMAC-SHA256 key (at least WEBHOOKS_SECRET_MIN characters).
 *                Generated ("whsec_" + 64 hex digits) when a create leaves it out, and
 *                answered once, in the 201 of the create; never again (nor in the audit
 *                log). A PATCH may rotate it; a PUT without it (or null) keeps it.
 *   active       default true; the deliveries of an inactive endpoint wait, unsent, until
 *                it is active again; events emitted meanwhile are not queued for it.
 *   description  free text.
 *
 *   GET  /api/v1/webhooks/events                        the event names (read on webhooks)
 *   GET  /api/v1/webhooks/{id}/deliveries               the delivery log, newest first:
 *        ?limit=1..500&cursor=&status=pending|sending|delivered|failed&event=NAME
 *   GET  /api/v1/webhooks/{id}/deliveries/{delivery_id} one delivery with its attempts
 *   POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver
 *        sends it again now (write on webhooks): 202 with the delivery; 409 while an
 *        attempt is in flight. Audited (entity webhooks, action redeliver).
 *
 * Events. A change emits an event inside its own write transaction: webhooks_emit() writes
 * it into the outbox with one delivery per active endpoint subscribed to it, or does
 * nothing at all (one cached index probe) when there is none. Every create, change and
 * delete through the generic mechanism emits "<singular>.created|updated|deleted"
 * (contact.created, company.updated, interaction.deleted, ...; the webhooks resource
 * itself emits nothing); modules emit their own events where changes happen outside it
 * (opportunity.stage_changed, .won, .lost; segment.member_added, .member_removed;
 * contact.merged). The payload is
 *   {"id": <event id>, "event": "contact.updated", "occurred_at": "<RFC 3339>",
 *    "data": {<the record as GET shows it>}, "previous": {<changed fields' old values>}}
 * with "previous" only for updates and stage changes.
 * segment.member_added / .member_removed of a static segment are emitted at once by the
 * change of its members (segments.c); those of a dynamic segment by the periodic pass of
 * segment_watch.h, within its interval (crmd --segment-watch-interval), same data.
 *
 * Private addresses. Deliveries go only to public addresses: the host is resolved, and
 * loopback, private, link-local, unspecified, multicast and reserved addresses
 * (webhooks_address_allowed()) are refused unless the setting webhooks.allow_private is
 * "true" in the settings table. Only the operator changes it (crmctl webhook
 * private on|off), never the API, so a stolen administrator key cannot aim
 * deliveries at the internal network. The connection is pinned to the checked address.
 */
#ifndef CRM_WEBHOOKS_H
#define CRM_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/json.h"
#include "crm/resource.h"

struct db;
struct router;
struct sockaddr;

#define WEBHOOKS_URL_MAX 2048
#define WEBHOOKS_SECRET_MIN 16
#define WEBHOOKS_SECRET_MAX 255
#define WEBHOOKS_SECRET_PREFIX "whsec_"
#define WEBHOOKS_SECRET_SIZE 72 /* a generated secret: prefix, 64 hex digits, NUL */
#define WEBHOOKS_EVENT_MAX 64
#define WEBHOOKS_SETTING_ALLOW_PRIVATE "webhooks.allow_private"

extern const struct resource webhooks_resource;


/* Registers the generic webhook routes, the ones above, and the event hook. */
void webhooks_routes_register(struct router *router);
/*
 * Installs the resource mechanism's event hook alone (resource_set_event_hook()), so that
 * changes made outside crmd (crmctl import, ...) queue their events too; crmd's delivery
 * thread finds them when it polls the outbox.
 */
void webhooks_install_event_hook(void);

/* ---- events ------------------------------------------------------------------------ */

/*
 * Emits `event` (an event name of registry.h) with `data` (borrowed: the record as
 * the API shows it) and `previous` (borrowed, NULL for none). Call inside the write
 * transaction of the change: the event commits or rolls back with it. Does nothing when
 * no active endpoint is subscribed; otherwise wakes the delivery thread. Returns a
 * db_status.
 */
int webhooks_emit(struct db *db, const char *event, const json_t *data, const json_t *previous);

/*
 * The same, building `data` from a record of `resource` (borrowed, as stored) only when
 * somebody is subscribed: the record goes out as resource_record_public() shows it.
 */
int webhooks_emit_record(struct db *db, const char *event, const struct resource *resource,
			 const json_t *record, const json_t *previous);

/* ---- checks shared by the API and crmctl -------------------------------------------- */

/*
 * Checks a webhook URL (the rules above), adding errors named "url". Reads the setting
 * webhooks.allow_private for literal addresses.
 */
void webhooks_check_url(struct db *db, const char *url, struct field_errors *errors);
/* Checks an events array (the rules above), adding errors named "events". */
void webhooks_check_events(const json_t *events, struct field_errors *errors);
/* Writes a new random secret: WEBHOOKS_SECRET_PREFIX and 64 hex digits. */
void webhooks_secret_generate(char out[WEBHOOKS_SECRET_SIZE]);

/*
 * Whether a delivery may connect to `address` (AF_INET or AF_INET6, borrowed): false for
 * unspecified (0/8, ::), loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16,
 * 100.64/10, fc00::/7), link-local (169.254/16, fe80::/10), multicast (224/4, ff00::/8),
 * reserved and special (192.0.0/24, 198.18/15, 240/4 with broadcast, the documentation
 * ranges 192.0.2/24, 198.51.100/24, 203.0.113/24 and 2001:db8::/32), and IPv6 forms that
 * embed such an IPv4 address (::ffff:0:0/96, ::/96, 64:ff9b::/96, 2002::/16). The
 * IPv4-translated ::ffff:0:0:0/96 ([::ffff:0:127.0.0.1]) and the local-use NAT64
 * 64:ff9b:1::/48 are refused whole.
 */
bool webhooks_address_allowed(const struct sockaddr *address);

/* The parts of a URL a delivery needs (webhooks_url_parse()). */
struct webhooks_url {
	char scheme[8];   /* "http" or "https" */
	char host[256];   /* without brackets for IPv6 */
	unsigned port;    /* the given one, or the scheme's default */
	bool host_is_ip;  /* a literal IPv4 or IPv6 address */
};

/*
 * Parses `url` the way libcurl does (curl_url), so the checked host is the one connected
 * to. Returns 0, or -1 with a short reason in `why`.
 */
int webhooks_url_parse(const char *url, struct webhooks_url *parsed, char *why, size_t why_size);

/* ---- the data layer (src/store/webhooks_store.c) -------------------------------------------- */

/* Whether an active endpoint is subscribed to `event`: 1, 0 or a negative db_status. */
int webhooks_store_subscribed(struct db *db, const char *event);

/*
 * Whether a delivery of an active endpoint is due at `now` (a read, no write lock): 1, 0
 * or a negative db_status. The delivery thread asks this before it claims anything.
 */
int webhooks_store_due(struct db *db, int64_t now);

/*
 * Writes an event (JSON texts borrowed; `previous` may be NULL) into the outbox and one
 * pending delivery, due at `now`, per active endpoint subscribed to it. Sets *deliveries
 * to their number (0: nothing was written). Inside the change's write transaction.
 */
int webhooks_store_enqueue(struct db *db, const char *event, const char *occurred_at,
			   const char *data, const char *previous, int64_t now,
			   int64_t *deliveries);

/* The setting webhooks.allow_private ("true"): sets *allowed. Returns a db_status. */
int webhooks_store_allow_private(struct db *db, bool *allowed);
/* Stores the setting (crmctl webhook private). Returns a db_status. */
int webhooks_store_set_allow_private(struct db *db, bool allowed);

/* Deliveries not finished yet (pending or sending): the queue depth. */
int webhooks_store_queue_depth(struct db *db, int64_t *depth);

/*
 * The delivery log of webhook `webhook_id`, newest first: deliveries with ids below
 * `before_id` (0: from the newest), optionally only with `status` and/or `event` (NULL:
 * any). *rows gets a new array of at most `limit` deliveries (webhooks_store_delivery_get
 * shape) and *more whether more follow. Returns a db_status.
 */
int webhooks_store_deliveries(struct db *db, int64_t webhook_id, const char *status,
			      const char *event, int64_t before_id, int limit, json_t **rows,
			      bool *more);
/*
 * One delivery of webhook `webhook_id` (a new reference in *delivery): id, webhook_id,
 * event_id, event, status, attempts, created_at, next_attempt_at (pending only),
 * last_attempt_at, last_status_code, last_error, last_duration_ms, delivered_at, and
 * attempt_log [{attempted_at, status_code, error, duration_ms}] oldest first.
 * DB_OK, DB_NOT_FOUND or an error.
 */
int webhooks_store_delivery_get(struct db *db, int64_t webhook_id, int64_t delivery_id,
				json_t **delivery);
/*
 * Makes delivery `delivery_id` of `webhook_id` pending again, due `now`, with a new retry
 * window. DB_NOT_FOUND; DB_CONFLICT while an attempt is in flight. In a write transaction.
 */
int webhooks_store_redeliver(struct db *db, int64_t webhook_id, int64_t delivery_id,
			     int64_t now);

/* What crmctl webhook list shows: every endpoint with its delivery counts (new array). */
int webhooks_store_summaries(struct db *db, json_t **rows);

/* ---- the delivery thread's side of the store ------------------------------------------- */

/* After a restart: deliveries left in flight ("sending") are pending again, due `now`. */
int webhooks_store_recover(struct db *db, int64_t now);

/*
 * Claims up to `max` due deliveries of active endpoints (pending, next_attempt_at <= now),
 * oldest due first, at most one per endpoint and none of an endpoint with a delivery
 * already "sending" (so each endpoint gets its deliveries one at a time, in order),
 * marking them "sending" in one write transaction of its own (which also waits for a
 * writer that is committing new ones). Fills `ids`, sets *count.
 */
int webhooks_store_claim(struct db *db, int64_t now, int64_t *ids, int max, int *count);

/* One claimed delivery with what sending it needs. Strings owned; release below. */
struct webhooks_job {
	int64_t delivery_id, webhook_id, event_id;
	char *url, *secret, *event;
	char *body;          /* the payload, exactly as sent and signed */
	int attempts;        /* attempts made before this one */
	int64_t retry_since; /* start of the retry window, seconds since the epoch */
};
void webhooks_job_release(struct webhooks_job *job);
/* Loads a claimed delivery. DB_OK, DB_NOT_FOUND (deleted meanwhile) or an error. */
int webhooks_store_job_load(struct db *db, int64_t delivery_id, struct webhooks_job *job);

/* The outcome of one attempt (strings borrowed). */
struct webhooks_attempt {
	const char *attempted_at; /* RFC 3339 */
	int status_code;          /* 0: no HTTP answer */
	const char *error;        /* NULL when delivered */
	int64_t duration_ms;
	const char *status;       /* the delivery's new status: delivered, pending or failed */
	int64_t next_attempt_at;  /* pending: when to try again */
};
/* Records an attempt and the delivery's new state, in a write transaction of its own. */
int webhooks_store_attempt_finish(struct db *db, int64_t delivery_id,
				  const struct webhooks_attempt *attempt);
/* An attempt cut short by shutdown: pending again, due `now`, no attempt counted. */
int webhooks_store_release(struct db *db, int64_t delivery_id, int64_t now);

/*
 * Forgets delivered and failed deliveries created before `before` (RFC 3339) and events
 * left without deliveries. Returns a db_status.
 */
int webhooks_store_prune(struct db *db, const char *before);

/* Whether `name` is one of the event names (not a "family.*" pattern). */
bool webhooks_event_known(const char *name);

/*
 * Installs the function called after a change queued deliveries (the sending thread wakes
 * up; it claims them once the change has committed). NULL: none. Call before serving.
 */
void webhooks_set_queued_hook(void (*hook)(void));

#endif
