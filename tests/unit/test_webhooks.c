/*
 * test_webhooks.c - the pure parts of webhooks (webhooks.h, webhook_delivery.h): the
 * private-address policy, URL parsing, event names, generated secrets, the retry schedule
 * parser and the signature (checked against a value computed with Python's hmac); and
 * that an event emitted inside a write transaction that is rolled back leaves nothing in
 * the outbox.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/registry.h"
#include "crm/resource.h"
#include "crm/routes.h"
#include "crm/webhook_delivery.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

/* Whether the policy allows the literal address `text` (IPv4 or IPv6). */
static int allowed(const char *text)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	if (inet_pton(AF_INET, text, &in.sin_addr) == 1)
		return webhooks_address_allowed((const struct sockaddr *)(const void *)&in);
	if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1)
		return webhooks_address_allowed((const struct sockaddr *)(const void *)&in6);
	return -1;
}

static void test_private_addresses_are_refused(void)
{
	static const char *const refused[] = {
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
		"127.0.0.1", "127.9.9.9", "169.254.169.254", "172.16.0.1", "172.31.255.255",
		"192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
		"198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255", "::", "::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1",
		"64:ff9b::a00:1", "2002:c0a8:101::1", "fc00::1", "fd12:3456::1", "fe80::1",
		"febf::1", "fec0::1", "ff02::1", "2001:db8::1", "2001:0::1", "100::1", "::ffff:0:127.0.0.1",
		"::ffff:0:8.8.8.8", "::ffff:0:0:0", "64:ff9b:1::1", "64:ff9b:1::808:808",
		"64:ff9b:1:ffff::1", NULL,
	};
	for (int i = 0; refused[i]; i++) {
		int result = allowed(refused[i]);
		if (result != 0)
			fprintf(stderr, "  %s\n", refused[i]);
		CHECK_INT(0, result);
	}
	static const char *const public[] = {
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.1",
		"126.255.255.255", "128.0.0.1", "169.253.0.1", "172.15.255.255", "172.32.0.1",
		"192.167.255.255", "192.169.0.1", "198.17.255.255", "198.20.0.1", "223.255.255.255",
		"2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
		"64:ff9b:2::1", NULL,
	};
	for (int i = 0; public[i]; i++) {
		int result = allowed(public[i]);
		if (result != 1)
			fprintf(stderr, "  %s\n", public[i]);
		CHECK_INT(1, result);
	}
	struct sockaddr unknown = { .sa_family = AF_UNIX };
	CHECK(!webhooks_address_allowed(&unknown));
}

static void test_urls_are_parsed_like_curl_does(void)
{
	struct webhooks_url url;
	char why[96];
	CHECK_INT(0, webhooks_url_parse("https://hooks.example.com/in?x=1", &url, why, sizeof(why)));
	CHECK_STR("https", url.scheme);
	CHECK_STR("hooks.example.com", url.host);
	CHECK_INT(443, url.port);
	CHECK(!url.host_is_ip);
	CHECK_INT(0, webhooks_url_parse("HTTP://127.0.0.1:8080/", &url, why, sizeof(why)));
	CHECK_STR("http", url.scheme);
	CHECK_INT(8080, url.port);
	CHECK(url.host_is_ip);
	CHECK_INT(0, webhooks_url_parse("http://[::1]/hook", &url, why, sizeof(why)));
	CHECK_STR("::1", url.host);
	CHECK_INT(80, url.port);
	CHECK(url.host_is_ip);
	static const char *const bad[] = {
		"ftp://example.com/", "example.com/hook", "https://user:pw@example.com/",
		"https://example.com/#part", "http://[::1/", "", "https://exa mple.com/",
		"http://example.com:99999/", NULL,
	};
	for (int i = 0; bad[i]; i++) {
		int result = webhooks_url_parse(bad[i], &url, why, sizeof(why));
		if (result != -1)
			fprintf(stderr, "  %s\n", bad[i]);
		CHECK_INT(-1, result);
		CHECK(why[0] != '\0');
	}
}

static void test_event_names(void)
{
	struct field_errors errors = { NULL };
	json_t *good = json_pack("[s, s, s, s]", "contact.created", "opportunity.*", "*",
				 "segment.member_added");
	webhooks_check_events(good, &errors);
	CHECK(!field_errors_any(&errors));
	json_decref(good);
	const char *const bad[] = { "contact.exploded", "webhook.created", "contacts.*", ".*", "",
				    "contact.", NULL };
	for (int i = 0; bad[i]; i++) {
		json_t *events = json_pack("[s]", bad[i]);
		webhooks_check_events(events, &errors);
		CHECK(field_errors_any(&errors));
		field_errors_release(&errors);
		json_decref(events);
	}
	json_t *empty = json_array();
	webhooks_check_events(empty, &errors);
	CHECK(field_errors_any(&errors));
	field_errors_release(&errors);
	json_decref(empty);
	json_t *names = registry_events_json(), *name;
	size_t i;
	CHECK_INT(28, (int)json_array_size(names));
	json_array_foreach(names, i, name)
		CHECK(strchr(json_string_value(name), '.') != NULL);
	json_decref(names);
}

static void test_secrets_are_random(void)
{
	char a[WEBHOOKS_SECRET_SIZE], b[WEBHOOKS_SECRET_SIZE];
	webhooks_secret_generate(a);
	webhooks_secret_generate(b);
	CHECK_INT(strlen(WEBHOOKS_SECRET_PREFIX) + 64, strlen(a));
	CHECK(strncmp(a, WEBHOOKS_SECRET_PREFIX, strlen(WEBHOOKS_SECRET_PREFIX)) == 0);
	CHECK(strcmp(a, b) != 0);
}

static void test_retry_schedule(void)
{
	struct webhook_delivery_options options = { 0 };
	CHECK_INT(0, webhook_delivery_parse_delays(WEBHOOK_DELIVERY_DELAYS_DEFAULT, &options));
	CHECK_INT(7, options.delay_count);
	CHECK_INT(10, options.delays[0]);
	CHECK_INT(3600, options.delays[6]);
	CHECK_INT(0, webhook_delivery_parse_delays("1", &options));
	CHECK_INT(1, options.delay_count);
	CHECK_INT(1, options.delays[0]);
	static const char *const bad[] = { "", ",", "1,", ",1", "0", "1,,2", "a", "-5", "86401",
					   "1 2", "1234567", NULL };
	for (int i = 0; bad[i]; i++) {
		int result = webhook_delivery_parse_delays(bad[i], &options);
		if (result != -1)
			fprintf(stderr, "  \"%s\"\n", bad[i]);
		CHECK_INT(-1, result);
	}
	struct buf many = BUF_INIT;
	for (int i = 0; i <= WEBHOOK_DELIVERY_MAX_DELAYS; i++)
		buf_adds(&many, i ? ",1" : "1");
	CHECK_INT(-1, webhook_delivery_parse_delays(many.data, &options));
	buf_release(&many);
}

static void test_signature(void)
{
	char header[128];
	const char *body = "{\"id\":1}";
	webhook_delivery_sign("whsec_test-secret", 1700000000, body, strlen(body), header,
			      sizeof(header));
	CHECK_STR("t=1700000000,v1=7487361a495ea0b652674fac0b3a5f4ce25e59adf71166eb4d9394a8867f11e0",
		  header);
}

static int count_rows(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	int count = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return count;
}

/* Emits contact.created both ways a change does (directly and through the resource hook). */
static void emit_both_ways(struct db *db, const json_t *contact)
{
	CHECK_INT(DB_OK, webhooks_emit(db, "contact.created", contact, NULL));
	CHECK_INT(DB_OK, resource_event_emit(db, &contacts_resource, RESOURCE_EVENT_CREATED, NULL,
					     contact));
}

static void test_rolled_back_events_leave_nothing(void)
{
	struct db *db = open_fresh_db("webhooks", true);
	CHECK_INT(DB_OK, db_run(db, "INSERT INTO webhooks (url, events, secret, created_at,"
				    " updated_at) VALUES ('https://hooks.example.com/', '[\"*\"]',"
				    " 'whsec_unit', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
				"unit test"));
	webhooks_install_event_hook();
	json_t *contact = json_pack("{s:i, s:s, s:i}", "id", 7, "first_name", "Rolled", "version", 1);
	static const char *const outbox = "SELECT count(*) FROM webhook_outbox";
	static const char *const deliveries = "SELECT count(*) FROM webhook_deliveries";

	CHECK_INT(DB_OK, db_begin_write(db));
	emit_both_ways(db, contact);
	CHECK_INT(2, count_rows(db, outbox)); /* queued inside the transaction... */
	CHECK_INT(2, count_rows(db, deliveries));
	db_rollback(db);
	CHECK_INT(0, count_rows(db, outbox)); /* ...and gone with it */
	CHECK_INT(0, count_rows(db, deliveries));

	CHECK_INT(DB_OK, db_begin_write(db)); /* a committed change keeps its events */
	emit_both_ways(db, contact);
	CHECK_INT(DB_OK, db_commit(db));
	CHECK_INT(2, count_rows(db, outbox));
	CHECK_INT(2, count_rows(db, deliveries));

	json_decref(contact);
	db_close(db);
	remove_db_files();
}

int main(void)
{
	routes_register_resources(); /* the event names come from the descriptors */
	RUN(test_private_addresses_are_refused);
	RUN(test_urls_are_parsed_like_curl_does);
	RUN(test_event_names);
	RUN(test_secrets_are_random);
	RUN(test_retry_schedule);
	RUN(test_signature);
	RUN(test_rolled_back_events_leave_nothing);
	return check_finish();
}
