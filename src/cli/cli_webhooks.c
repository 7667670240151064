/*
 * cli_webhooks.c - crmctl webhook add|list|remove|private: the webhook endpoints
 * (webhooks.h) from the command line, with the same rules as the API, audited as
 * crmctl. A generated secret is printed once; `private` is the operator's switch
 * for deliveries to private and loopback addresses, which the API cannot change.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/resource.h"
#include "crm/resource_save.h"
#include "crm/resource_store.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

/* Prints the first error of `errors` ("url: ...") and returns CLI_FAILED. */
static int fail_with_errors(struct field_errors *errors)
{
	const json_t *first = json_array_get(errors->list, 0);
	cli_error("%s: %s", json_string_value(json_object_get(first, "field")),
		  json_string_value(json_object_get(first, "message")));
	field_errors_release(errors);
	return CLI_FAILED;
}

/* The normalized value of field `name` for `text` (NULL: null), or NULL after an error. */
static json_t *normalized(const char *name, const char *text, struct field_errors *errors)
{
	const struct resource_field *field = resource_field_find(&webhooks_resource, name);
	json_t *raw = text ? json_string(text) : json_null();
	if (!raw) {
		field_errors_add(errors, name, "must be UTF-8 text");
		return NULL;
	}
	json_t *value = resource_field_normalize(field, raw, name, errors);
	json_decref(raw);
	return value;
}

/* "a, b,c" -> ["a","b","c"] (new array; empty words dropped). */
static json_t *split_events(const char *text)
{
	json_t *events = json_array();
	struct buf word = BUF_INIT;
	for (const char *p = text;; p++) {
		if (*p == ',' || *p == '\0') {
			size_t start = strspn(word.data, " \t");
			size_t end = word.len;
			while (end > start && (word.data[end - 1] == ' ' || word.data[end - 1] == '\t'))
				end--;
			if (end > start) {
				json_t *name = json_stringn(word.data + start, end - start);
				json_array_append_new(events, name ? name : json_string("?"));
			}
			buf_reset(&word);
			if (*p == '\0')
				break;
			continue;
		}
		buf_addch(&word, *p);
	}
	buf_release(&word);
	return events;
}

int cli_webhook_add(struct cli_context *cli, int argc, char **argv)
{
	const char *url_text = NULL, *events_text = NULL, *secret_text = NULL;
	const char *description = NULL;
	bool inactive = false;
	const struct cli_option options[] = {
		{ "--events", &events_text, NULL },
		{ "--secret", &secret_text, NULL },
		{ "--description", &description, NULL },
		{ "--inactive", NULL, &inactive },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("webhook add", argc, argv, options, &url_text, 1);
	if (result != CLI_OK)
		return result;
	struct field_errors errors = { NULL };
	json_t *record = json_object(), *stored = NULL;
	char generated[WEBHOOKS_SECRET_SIZE] = "";
	json_t *url = normalized("url", url_text, &errors);
	json_t *events = events_text ? split_events(events_text) : json_pack("[s]", "*");
	json_t *secret = NULL;
	if (secret_text) {
		secret = normalized("secret", secret_text, &errors);
		if (secret && (!json_is_string(secret) ||
			       strlen(json_string_value(secret)) < WEBHOOKS_SECRET_MIN))
			field_errors_add(&errors, "secret", "must be at least %d characters",
					 WEBHOOKS_SECRET_MIN);
	} else {
		webhooks_secret_generate(generated);
		secret = json_string(generated);
	}
	json_t *text = normalized("description", description, &errors);
	if (url && !json_is_string(url))
		field_errors_add(&errors, "url", "is required");
	if (url && json_is_string(url))
		webhooks_check_url(cli->db, json_string_value(url), &errors);
	webhooks_check_events(events, &errors);
	if (field_errors_any(&errors)) {
		result = fail_with_errors(&errors);
		goto cleanup;
	}
	json_object_set(record, "url", url);
	json_object_set(record, "events", events);
	json_object_set(record, "secret", secret);
	json_object_set_new(record, "active", json_boolean(!inactive));
	json_object_set(record, "description", text);

	struct write_actor actor = cli_write_actor(cli);
	struct outcome outcome = OUTCOME_INIT;
	bool changed;
	int status = db_begin_write(cli->db);
	if (status != DB_OK)
		outcome_from_db(&outcome, status, "webhook");
	else if (resource_save(&actor, &webhooks_resource, RESOURCE_CREATE, record, NULL, record,
			       &errors, &stored, &changed, &outcome) != 0)
		db_rollback(cli->db);
	else if ((status = db_commit(cli->db)) != DB_OK)
		outcome_from_db(&outcome, status, "webhook");
	if (outcome_failed(&outcome)) {
		result = cli_fail_outcome(&outcome, "cannot store the webhook");
		goto cleanup;
	}
	printf("created webhook %lld\n", (long long)json_integer_value(json_object_get(stored, "id")));
	if (!secret_text)
		printf("secret %s\n", generated);
	fflush(stdout);
	result = CLI_OK;
cleanup:
	sodium_memzero(generated, sizeof(generated));
	field_errors_release(&errors);
	json_decref(url);
	json_decref(events);
	json_decref(secret);
	json_decref(text);
	json_decref(record);
	json_decref(stored);
	return result;
}

int cli_webhook_list(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("webhook list", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	json_t *rows = NULL;
	if (webhooks_store_summaries(cli->db, &rows) != DB_OK) {
		json_decref(rows);
		cli_error("cannot read the webhooks");
		return CLI_FAILED;
	}
	printf("%-5s %-8s %-8s %-10s %-7s %-40s %s\n", "ID", "ACTIVE", "PENDING", "DELIVERED",
	       "FAILED", "EVENTS", "URL");
	size_t index;
	json_t *row;
	json_array_foreach(rows, index, row) {
		struct buf events = BUF_INIT;
		size_t k;
		json_t *event;
		json_array_foreach(json_object_get(row, "events"), k, event)
			buf_addf(&events, "%s%s", k ? "," : "", json_string_value(event));
		printf("%-5lld %-8s %-8lld %-10lld %-7lld %-40s %s\n",
		       (long long)json_integer_value(json_object_get(row, "id")),
		       json_is_true(json_object_get(row, "active")) ? "yes" : "no",
		       (long long)json_integer_value(json_object_get(row, "pending")),
		       (long long)json_integer_value(json_object_get(row, "delivered")),
		       (long long)json_integer_value(json_object_get(row, "failed")), events.data,
		       json_string_value(json_object_get(row, "url")));
		buf_release(&events);
	}
	json_decref(rows);
	return CLI_OK;
}

int cli_webhook_remove(struct cli_context *cli, int argc, char **argv)
{
	const char *id_text = NULL;
	int result = cli_parse_options("webhook remove", argc, argv, NULL, &id_text, 1);
	if (result != CLI_OK)
		return result;
	int64_t id;
	if (resource_parse_id(id_text, &id) != 0)
		return cli_usage_error("webhook remove",
				       "the webhook ID is a number (see crmctl webhook list)");
	json_t *before = NULL;
	struct write_actor actor = cli_write_actor(cli);
	struct outcome outcome = OUTCOME_INIT;
	int status = db_begin_write(cli->db);
	if (status == DB_OK)
		status = resource_store_get(cli->db, &webhooks_resource, id, &before);
	if (status != DB_OK) {
		db_rollback(cli->db);
		outcome_from_db(&outcome, status, "webhook");
	} else if (resource_remove(&actor, &webhooks_resource, before, &outcome) != 0) {
		db_rollback(cli->db);
	} else if ((status = db_commit(cli->db)) != DB_OK) {
		outcome_from_db(&outcome, status, "webhook");
	}
	json_decref(before);
	if (outcome.db_status == DB_NOT_FOUND) {
		outcome_release(&outcome);
		cli_error("no webhook with ID %lld", (long long)id);
		return CLI_FAILED;
	}
	if (outcome_failed(&outcome))
		return cli_fail_outcome(&outcome, "cannot remove the webhook");
	printf("removed webhook %lld\n", (long long)id);
	return CLI_OK;
}

int cli_webhook_private(struct cli_context *cli, int argc, char **argv)
{
	const char *state = NULL;
	int result = cli_parse_options("webhook private", argc, argv, NULL, &state, 1);
	if (result != CLI_OK)
		return result;
	if (strcmp(state, "on") != 0 && strcmp(state, "off") != 0)
		return cli_usage_error("webhook private", "say on or off");
	bool allowed = strcmp(state, "on") == 0, before = false;
	int status = db_begin_write(cli->db);
	if (status == DB_OK)
		status = webhooks_store_allow_private(cli->db, &before);
	if (status == DB_OK)
		status = webhooks_store_set_allow_private(cli->db, allowed);
	if (status == DB_OK && before != allowed) {
		json_t *old = json_pack("{s:b}", WEBHOOKS_SETTING_ALLOW_PRIVATE, before);
		json_t *now = json_pack("{s:b}", WEBHOOKS_SETTING_ALLOW_PRIVATE, allowed);
		status = audit_record(cli->db, 0, AUDIT_ACTOR_CLI, "settings", 0, "update", old, now);
		json_decref(old);
		json_decref(now);
	}
	if (status == DB_OK)
		status = db_commit(cli->db);
	else
		db_rollback(cli->db);
	if (status != DB_OK) {
		cli_error("cannot store the setting");
		return CLI_FAILED;
	}
	printf("webhook deliveries to private and loopback addresses: %s\n",
	       allowed ? "allowed" : "refused");
	return CLI_OK;
}
