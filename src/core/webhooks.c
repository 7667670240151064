/*
 * webhooks.c - outgoing webhooks (webhooks.h): the endpoint resource on the generic
 * mechanism with its rules (URL, events, the write-only secret), the event emission that
 * every change reaches through the write pipeline's event hook (and modules call
 * directly), and the private-address policy. The routes are src/http/webhooks_http.c.
 *
 * The SQL is in webhooks_store.c; sending is src/jobs/webhook_delivery.c, which asks to
 * be woken when deliveries are queued (webhooks_set_queued_hook()).
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

#include "crm/buf.h"
#include "crm/db.h"
#include "crm/log.h"
#include "crm/perm.h"
#include "crm/registry.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* ================================================================ event names */

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
		if (!name || (strcmp(name, "*") != 0 && !registry_event_known(name) &&
			      !registry_event_family_known(name))) {
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
	.events = NULL, /* changes of webhooks are announced to nobody */
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

static void (*queued_hook)(void);

void webhooks_set_queued_hook(void (*hook)(void))
{
	queued_hook = hook;
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
	if (status == DB_OK && deliveries > 0 && queued_hook)
		queued_hook(); /* the sender's claim waits for this transaction */
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

/* Whether `verb` is one of the resource's events. */
static bool resource_has_event(const struct resource *resource, const char *verb)
{
	for (int i = 0; resource->events && resource->events[i]; i++)
		if (strcmp(resource->events[i], verb) == 0)
			return true;
	return false;
}

/* The resource mechanism's event hook: "<singular>.created|updated|deleted" for the
 * resources that list them in their `events`. */
static int webhooks_on_change(struct db *db, const struct resource *resource,
			      enum resource_event kind, const json_t *before, const json_t *after)
{
	static const char *const verbs[] = {
		[RESOURCE_EVENT_CREATED] = "created",
		[RESOURCE_EVENT_UPDATED] = "updated",
		[RESOURCE_EVENT_DELETED] = "deleted",
	};
	if (!resource_has_event(resource, verbs[kind]))
		return DB_OK;
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

void webhooks_install_event_hook(void)
{
	resource_set_event_hook(webhooks_on_change);
}

bool webhooks_event_known(const char *name)
{
	return registry_event_known(name);
}
