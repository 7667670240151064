/*
 * webhooks.c - outgoing webhooks (webhooks.h): the endpoint resource on the generic
 * mechanism with its rules (URL, events, the write-only secret), the event emission that
 * every change reaches through the resource mechanism's event hook (and modules call
 * directly), the private-address policy, and the routes of the delivery log.
 *
 * The SQL is in webhooks_store.c; sending is webhook_delivery.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/log.h"
#include "crm/operations.h"
#include "crm/perm.h"
#include "crm/router.h"
#include "crm/timeutil.h"
#include "crm/webhook_delivery.h"
#include "crm/banned.h"

/* ================================================================ event names */

const char *const webhooks_event_names[] = {
	"contact.created",       "contact.updated",         "contact.deleted",
	"contact.merged",        "contact.erased",          "company.created",         "company.updated",
	"company.deleted",       "interaction.created",     "interaction.updated",
	"interaction.deleted",   "task.created",            "task.updated",
	"task.deleted",          "opportunity.created",     "opportunity.updated",
	"opportunity.deleted",   "opportunity.stage_changed", "opportunity.won",
	"opportunity.lost",      "purchase.created",        "purchase.updated",
	"purchase.deleted",      "segment.created",         "segment.updated",
	"segment.deleted",       "segment.member_added",    "segment.member_removed",
	NULL,
};

static bool event_known(const char *name)
{
	for (int i = 0; webhooks_event_names[i]; i++)
		if (strcmp(webhooks_event_names[i], name) == 0)
			return true;
	return false;
}

/* Whether `name` is "<entity>.*" for an entity that has events. */
static bool event_family_known(const char *name)
{
	size_t len = strlen(name);
	if (len < 3 || strcmp(name + len - 2, ".*") != 0)
		return false;
	for (int i = 0; webhooks_event_names[i]; i++)
		if (strncmp(webhooks_event_names[i], name, len - 1) == 0)
			return true;
	return false;
}

void webhooks_check_events(const json_t *events, struct field_errors *errors)
{
	if (!json_is_array(events) || json_array_size(events) == 0) {
		field_errors_add(errors, "events",
				 "must list at least one event, \"<entity>.*\" or \"*\" for all");
		return;
	}
	size_t index;
	const json_t *event;
	json_array_foreach(events, index, event) {
		const char *name = json_string_value(event);
		if (!name || (strcmp(name, "*") != 0 && !event_known(name) &&
			      !event_family_known(name))) {
			field_errors_add(errors, "events",
					 "unknown event (GET /api/v1/webhooks/events lists them)");
			return;
		}
	}
}

/* ================================================================ addresses and URLs */

static bool ipv4_allowed(uint32_t address)
{
	static const struct {
		uint32_t network;
		int bits;
	} refused[] = {
		{ 0x00000000, 8 },  /* "this network", unspecified */
		{ 0x0A000000, 8 },  /* private */
		{ 0x64400000, 10 }, /* shared address space (carrier-grade NAT) */
		{ 0x7F000000, 8 },  /* loopback */
		{ 0xA9FE0000, 16 }, /* link-local (cloud metadata services live here) */
		{ 0xAC100000, 12 }, /* private */
		{ 0xC0000000, 24 }, /* IETF protocol assignments */
		{ 0xC0000200, 24 }, /* documentation */
		{ 0xC0A80000, 16 }, /* private */
		{ 0xC6120000, 15 }, /* benchmarking */
		{ 0xC6336400, 24 }, /* documentation */
		{ 0xCB007100, 24 }, /* documentation */
		{ 0xE0000000, 4 },  /* multicast */
		{ 0xF0000000, 4 },  /* reserved, broadcast */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		uint32_t mask = 0xFFFFFFFFu << (32 - refused[i].bits);
		if ((address & mask) == refused[i].network)
			return false;
	}
	return true;
}

static uint32_t ipv4_at(const unsigned char *bytes)
{
	return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
	       (uint32_t)bytes[3];
}

static bool ipv6_allowed(const unsigned char *a)
{
	static const unsigned char zeros[12] = { 0 };
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	static const unsigned char nat64[12] = { 0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0 };
	static const unsigned char nat64_local[6] = { 0, 0x64, 0xFF, 0x9B, 0, 0x01 };
	if (memcmp(a, zeros, 12) == 0 || memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return ipv4_allowed(ipv4_at(a + 12)); /* ::, ::1 and embedded IPv4 */
	if (memcmp(a, translated, 12) == 0) /* IPv4-translated ::ffff:0:0:0/96 (SIIT) */
		return false;
	if (memcmp(a, nat64_local, 6) == 0) /* local-use NAT64 64:ff9b:1::/48 */
		return false;
	if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 */
		return ipv4_allowed(ipv4_at(a + 2));
	if ((a[0] & 0xFE) == 0xFC) /* unique local fc00::/7 */
		return false;
	if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) /* link-local fe80::/10 */
		return false;
	if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) /* site-local fec0::/10 (deprecated) */
		return false;
	if (a[0] == 0xFF) /* multicast */
		return false;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) /* documentation */
		return false;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00) /* Teredo */
		return false;
	if (a[0] == 0x01 && a[1] == 0x00 && memcmp(a + 2, zeros, 6) == 0) /* discard-only */
		return false;
	return true;
}

bool webhooks_address_allowed(const struct sockaddr *address)
{
	if (address->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)address;
		return ipv4_allowed(ntohl(in->sin_addr.s_addr));
	}
	if (address->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)address;
		return ipv6_allowed(in6->sin6_addr.s6_addr);
	}
	return false;
}

/* Copies a URL part that curl allocated (may be NULL) into `out`; false if it does not fit. */
static bool copy_part(char *part, char *out, size_t out_size)
{
	bool fits = part && strlen(part) < out_size;
	if (fits)
		memcpy(out, part, strlen(part) + 1);
	curl_free(part);
	return fits;
}

int webhooks_url_parse(const char *url, struct webhooks_url *parsed, char *why, size_t why_size)
{
	memset(parsed, 0, sizeof(*parsed));
	int result = -1;
	CURLU *handle = curl_url();
	if (!handle) {
		snprintf(why, why_size, "cannot be parsed now");
		return -1;
	}
	char *part = NULL;
	if (curl_url_set(handle, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(why, why_size, "must be an absolute http:// or https:// URL");
		goto cleanup;
	}
	if (curl_url_get(handle, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
	    !copy_part(part, parsed->scheme, sizeof(parsed->scheme)) ||
	    (strcmp(parsed->scheme, "http") != 0 && strcmp(parsed->scheme, "https") != 0)) {
		snprintf(why, why_size, "must start with http:// or https://");
		goto cleanup;
	}
	part = NULL;
	if (curl_url_get(handle, CURLUPART_USER, &part, 0) != CURLUE_NO_USER) {
		curl_free(part);
		snprintf(why, why_size, "must not contain a user name or password");
		goto cleanup;
	}
	part = NULL;
	if (curl_url_get(handle, CURLUPART_FRAGMENT, &part, 0) != CURLUE_NO_FRAGMENT) {
		curl_free(part);
		snprintf(why, why_size, "must not contain a #fragment");
		goto cleanup;
	}
	part = NULL;
	char host[sizeof(parsed->host) + 2];
	if (curl_url_get(handle, CURLUPART_HOST, &part, 0) != CURLUE_OK ||
	    !copy_part(part, host, sizeof(host)) || !host[0]) {
		snprintf(why, why_size, "must name a host");
		goto cleanup;
	}
	part = NULL;
	size_t len = strlen(host);
	if (host[0] == '[') { /* an IPv6 literal; curl keeps a zone id apart */
		if (len < 3 || host[len - 1] != ']') {
			snprintf(why, why_size, "has a malformed IPv6 address");
			goto cleanup;
		}
		memcpy(parsed->host, host + 1, len - 2);
		parsed->host[len - 2] = '\0';
	} else {
		memcpy(parsed->host, host, len + 1);
	}
	if (curl_url_get(handle, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    !part) {
		snprintf(why, why_size, "has a malformed port");
		goto cleanup;
	}
	long port = strtol(part, NULL, 10);
	curl_free(part);
	if (port < 1 || port > 65535) {
		snprintf(why, why_size, "has a malformed port");
		goto cleanup;
	}
	parsed->port = (unsigned)port;
	unsigned char address[sizeof(struct in6_addr)];
	parsed->host_is_ip = inet_pton(AF_INET, parsed->host, address) == 1 ||
			     inet_pton(AF_INET6, parsed->host, address) == 1;
	result = 0;
cleanup:
	curl_url_cleanup(handle);
	return result;
}

/* Whether a literal address (text) may be connected to. */
static bool literal_allowed(const char *host)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	if (inet_pton(AF_INET, host, &in.sin_addr) == 1)
		return webhooks_address_allowed((const struct sockaddr *)(const void *)&in);
	if (inet_pton(AF_INET6, host, &in6.sin6_addr) == 1)
		return webhooks_address_allowed((const struct sockaddr *)(const void *)&in6);
	return true;
}

void webhooks_check_url(struct db *db, const char *url, struct field_errors *errors)
{
	if (strlen(url) > WEBHOOKS_URL_MAX) {
		field_errors_add(errors, "url", "must be at most %d characters", WEBHOOKS_URL_MAX);
		return;
	}
	struct webhooks_url parsed;
	char why[96];
	if (webhooks_url_parse(url, &parsed, why, sizeof(why)) != 0) {
		field_errors_add(errors, "url", "%s", why);
		return;
	}
	if (!parsed.host_is_ip || literal_allowed(parsed.host))
		return;
	bool allowed = false;
	if (webhooks_store_allow_private(db, &allowed) != DB_OK || !allowed)
		field_errors_add(errors, "url",
				 "points to a private, loopback, link-local or reserved address; "
				 "deliveries go to public addresses only (the operator may allow "
				 "private ones: crmctl webhook private on)");
}

void webhooks_secret_generate(char out[WEBHOOKS_SECRET_SIZE])
{
	unsigned char random[32];
	randombytes_buf(random, sizeof(random));
	size_t prefix = strlen(WEBHOOKS_SECRET_PREFIX);
	memcpy(out, WEBHOOKS_SECRET_PREFIX, prefix);
	sodium_bin2hex(out + prefix, WEBHOOKS_SECRET_SIZE - prefix, random, sizeof(random));
	sodium_memzero(random, sizeof(random));
}

/* ================================================================ the resource */

static const struct resource_field webhook_fields[] = {
	{ .name = "url", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = WEBHOOKS_URL_MAX },
	{ .name = "events", .type = RESOURCE_FIELD_TAGS },
	{ .name = "secret", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_WRITE_ONLY,
	  .max_length = WEBHOOKS_SECRET_MAX },
	{ .name = "active", .type = RESOURCE_FIELD_BOOLEAN, .flags = RESOURCE_FIELD_FILTER },
	{ .name = "description", .type = RESOURCE_FIELD_TEXT, .max_length = 1000 },
	{ .name = NULL },
};

static bool is_null(const json_t *value)
{
	return !value || json_is_null(value);
}

static bool member_changed(const json_t *record, const json_t *before, const char *name)
{
	return !before || !json_equal(json_object_get(record, name), json_object_get(before, name));
}

/*
 * Defaults (events ["*"] when a create or replacement leaves them out, active true, a
 * generated secret on create; the stored secret when a change leaves it out or null) and the checks of a changed URL, events and secret. Runs in
 * the write transaction; changes change->record in place.
 */
static void webhooks_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	const json_t *before = change->before;
	if (change->operation != RESOURCE_UPDATE && !json_object_get(change->input, "events"))
		json_object_set_new(record, "events", json_pack("[s]", "*"));
	if (is_null(json_object_get(record, "active")))
		json_object_set_new(record, "active", json_true());
	const json_t *secret = json_object_get(record, "secret");
	if (is_null(secret)) {
		if (before && !is_null(json_object_get(before, "secret"))) {
			json_object_set(record, "secret", json_object_get(before, "secret"));
		} else {
			char generated[WEBHOOKS_SECRET_SIZE];
			webhooks_secret_generate(generated);
			json_object_set_new(record, "secret", json_string(generated));
			sodium_memzero(generated, sizeof(generated));
		}
	} else if (member_changed(record, before, "secret") &&
		   strlen(json_string_value(secret)) < WEBHOOKS_SECRET_MIN) {
		field_errors_add(errors, "secret", "must be at least %d characters",
				 WEBHOOKS_SECRET_MIN);
	}
	const char *url = json_string_value(json_object_get(record, "url"));
	if (url && member_changed(record, before, "url"))
		webhooks_check_url(change->db, url, errors);
	if (member_changed(record, before, "events"))
		webhooks_check_events(json_object_get(record, "events"), errors);
}

const struct resource webhooks_resource = {
	.name = "webhooks",
	.singular = "webhook",
	.table = "webhooks",
	.fields = webhook_fields,
	.owner_field = NULL, /* administrators only: scope all */
	.fts_table = NULL,
	.range_filters = NULL,
	.prepare = webhooks_prepare,
	.shape = NULL,
};

/* ================================================================ emitting events */

/*
 * The members of `after` (a public record, borrowed) whose value differs in `before`
 * (borrowed), with the value they had: a new object (empty when nothing differs).
 */
static json_t *previous_values(const json_t *before, const json_t *after)
{
	json_t *previous = json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)after, key, value) {
		if (strcmp(key, "updated_at") == 0 || strcmp(key, "version") == 0)
			continue;
		const json_t *old = json_object_get(before, key);
		if (!old || !json_equal(old, value))
			json_object_set_new(previous, key, old ? json_deep_copy(old) : json_null());
	}
	return previous;
}

int webhooks_emit(struct db *db, const char *event, const json_t *data, const json_t *previous)
{
	int subscribed = webhooks_store_subscribed(db, event);
	if (subscribed <= 0)
		return subscribed;
	char occurred_at[TIME_RFC3339_SIZE];
	time_now_rfc3339(occurred_at);
	char *data_text = json_to_text(data, NULL);
	char *previous_text = previous ? json_to_text(previous, NULL) : NULL;
	int64_t deliveries = 0;
	int status = webhooks_store_enqueue(db, event, occurred_at, data_text, previous_text,
					    (int64_t)time(NULL), &deliveries);
	free(data_text);
	free(previous_text);
	if (status == DB_OK && deliveries > 0)
		webhook_delivery_notify(); /* the thread's claim waits for this transaction */
	return status;
}

int webhooks_emit_record(struct db *db, const char *event, const struct resource *resource,
			 const json_t *record, const json_t *previous)
{
	int subscribed = webhooks_store_subscribed(db, event);
	if (subscribed <= 0)
		return subscribed;
	json_t *data = resource_record_public(db, resource, record);
	int status = webhooks_emit(db, event, data, previous);
	json_decref(data);
	return status;
}

/* The resource mechanism's event hook: "<singular>.created|updated|deleted". */
static int webhooks_on_change(struct db *db, const struct resource *resource,
			      enum resource_event kind, const json_t *before, const json_t *after)
{
	if (resource == &webhooks_resource)
		return DB_OK;
	static const char *const verbs[] = {
		[RESOURCE_EVENT_CREATED] = "created",
		[RESOURCE_EVENT_UPDATED] = "updated",
		[RESOURCE_EVENT_DELETED] = "deleted",
	};
	char event[WEBHOOKS_EVENT_MAX + 1];
	snprintf(event, sizeof(event), "%s.%s", resource->singular, verbs[kind]);
	int subscribed = webhooks_store_subscribed(db, event);
	if (subscribed <= 0)
		return subscribed;
	json_t *data = resource_record_public(db, resource, after ? after : before);
	json_t *previous = NULL;
	if (kind == RESOURCE_EVENT_UPDATED) {
		json_t *old = resource_record_public(db, resource, before);
		previous = previous_values(old, data);
		json_decref(old);
	}
	int status = webhooks_emit(db, event, data, previous);
	json_decref(previous);
	json_decref(data);
	return status;
}

/* ================================================================ routes */

static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* GET /api/v1/webhooks/events: the event names. */
static void handle_events(struct request *req, struct response *res)
{
	static const char *const names[] = { NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || operations_params_or_reply(req, res, names, values) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (perm_scope_for(db, caller, "webhooks", PERM_READ) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read webhooks");
		return;
	}
	json_t *data = json_array();
	for (int i = 0; webhooks_event_names[i]; i++)
		json_array_append_new(data, json_string(webhooks_event_names[i]));
	response_json(res, HTTP_OK, json_pack("{s:o}", "data", data));
}

#define DELIVERIES_CURSOR_SORT "deliveries"

static const char *const delivery_statuses[] = { "pending", "sending", "delivered", "failed",
						 NULL };

/* GET /api/v1/webhooks/{id}/deliveries: the delivery log, newest first, paged. */
static void handle_deliveries(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", "status", "event", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	int limit;
	int64_t before_id = 0;
	if (operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &limit) != 0)
		return;
	if (values[1]) {
		json_t *ignored = NULL;
		int decoded = cursor_decode(values[1], DELIVERIES_CURSOR_SORT, &ignored, &before_id);
		json_decref(ignored);
		if (decoded != 0 || before_id <= 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	if (values[2]) {
		bool known = false;
		for (int i = 0; delivery_statuses[i]; i++)
			known = known || strcmp(delivery_statuses[i], values[2]) == 0;
		if (!known) {
			response_problem(res, HTTP_BAD_REQUEST,
					 "status must be pending, sending, delivered or failed");
			return;
		}
	}
	if (values[3] && !event_known(values[3])) {
		response_problem(res, HTTP_BAD_REQUEST, "event must be an event name");
		return;
	}
	json_t *webhook = NULL, *rows = NULL;
	if (resource_read_or_reply(&webhooks_resource, req, res, req->path_params[0], &webhook) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		goto cleanup;
	bool more;
	int status = webhooks_store_deliveries(db, json_integer_value(json_object_get(webhook, "id")),
					       values[2], values[3], before_id, limit, &rows, &more);
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		goto cleanup;
	}
	json_t *next = json_null();
	size_t count = json_array_size(rows);
	if (more && count) {
		char *cursor = cursor_encode(
			DELIVERIES_CURSOR_SORT, NULL,
			json_integer_value(json_object_get(json_array_get(rows, count - 1), "id")));
		next = json_string(cursor);
		free(cursor);
	}
	response_json(res, HTTP_OK, json_pack("{s:O, s:o}", "data", rows, "next_cursor", next));
cleanup:
	json_decref(rows);
	json_decref(webhook);
}

/*
 * Loads the webhook of the path (readable, else answered) and parses the delivery id.
 * Returns 0 with *webhook (new reference) and *delivery_id, or -1 after answering.
 */
static int delivery_path_or_reply(struct request *req, struct response *res, json_t **webhook,
				  int64_t *delivery_id)
{
	if (resource_read_or_reply(&webhooks_resource, req, res, req->path_params[0], webhook) != 0)
		return -1;
	if (resource_parse_id(req->path_params[1], delivery_id) != 0) {
		json_decref(*webhook);
		*webhook = NULL;
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
		return -1;
	}
	return 0;
}

/* Answers delivery `delivery_id` of `webhook_id` as stored now. */
static void send_delivery(struct db *db, struct response *res, int64_t webhook_id,
			  int64_t delivery_id)
{
	json_t *delivery = NULL;
	int status = webhooks_store_delivery_get(db, webhook_id, delivery_id, &delivery);
	if (status == DB_NOT_FOUND)
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
	else if (status != DB_OK)
		operations_reply_db_status(res, status);
	else
		response_json(res, HTTP_OK, delivery);
}

/* GET /api/v1/webhooks/{id}/deliveries/{delivery_id}: one delivery, its payload, attempts. */
static void handle_delivery(struct request *req, struct response *res)
{
	static const char *const names[] = { NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	if (operations_params_or_reply(req, res, names, values) != 0)
		return;
	json_t *webhook;
	int64_t delivery_id;
	if (delivery_path_or_reply(req, res, &webhook, &delivery_id) != 0)
		return;
	struct db *db = app_db_or_reply(res);
	if (db)
		send_delivery(db, res, json_integer_value(json_object_get(webhook, "id")),
			      delivery_id);
	json_decref(webhook);
}

/* Accepts an empty body or {}; anything else answers. Returns 0 or -1. */
static int empty_body_or_reply(struct request *req, struct response *res)
{
	if (req->body_len == 0)
		return 0;
	json_t *body = request_json_object_or_reply(req, res);
	if (!body)
		return -1;
	int result = 0;
	if (json_object_size(body) > 0) {
		struct field_errors errors = { NULL };
		const char *key;
		json_t *value;
		json_object_foreach(body, key, value)
			field_errors_add(&errors, key, "unknown field");
		field_errors_reply(&errors, res);
		result = -1;
	}
	json_decref(body);
	return result;
}

/* POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver: send it again now. */
static void handle_redeliver(struct request *req, struct response *res)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || empty_body_or_reply(req, res) != 0)
		return;
	json_t *webhook;
	int64_t delivery_id;
	if (delivery_path_or_reply(req, res, &webhook, &delivery_id) != 0)
		return;
	int64_t webhook_id = json_integer_value(json_object_get(webhook, "id"));
	json_decref(webhook);
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	if (perm_scope_for(db, caller, "webhooks", PERM_WRITE) != PERM_SCOPE_ALL) {
		response_problem(res, HTTP_FORBIDDEN, "you may not change webhooks");
		return;
	}
	int status = db_begin_write(db);
	if (status == DB_OK)
		status = webhooks_store_redeliver(db, webhook_id, delivery_id, (int64_t)time(NULL));
	if (status == DB_OK) {
		json_t *after = json_pack("{s:I}", "delivery_id", (json_int_t)delivery_id);
		status = audit_record(db, caller->user_id, AUDIT_ACTOR_API, "webhooks", webhook_id,
				      "redeliver", NULL, after);
		json_decref(after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status == DB_NOT_FOUND) {
		response_problem(res, HTTP_NOT_FOUND, "no such delivery");
		return;
	}
	if (status == DB_CONFLICT) {
		response_problem(res, HTTP_CONFLICT,
				 "an attempt to send this delivery is in progress; try again later");
		return;
	}
	if (status != DB_OK) {
		operations_reply_db_status(res, status);
		return;
	}
	webhook_delivery_notify();
	send_delivery(db, res, webhook_id, delivery_id);
}

void webhooks_install_event_hook(void)
{
	resource_set_event_hook(webhooks_on_change);
}

void webhooks_routes_register(struct router *router)
{
	resource_routes_register(router, &webhooks_resource);
	webhooks_install_event_hook();
	router_add(router, "GET", "/api/v1/webhooks/events", handle_events, 0);
	router_add(router, "GET", "/api/v1/webhooks/{id}/deliveries", handle_deliveries, 0);
	router_add(router, "GET", "/api/v1/webhooks/{id}/deliveries/{delivery_id}", handle_delivery,
		   0);
	router_add(router, "POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
		   handle_redeliver, 0);
}
