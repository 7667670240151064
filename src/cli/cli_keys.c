/*
 * cli_keys.c - crmctl key create|list|revoke and session revoke: API keys for
 * integrations and ending browser sessions. A new key is printed once, alone on stdout,
 * and stored only as a hash; revocations apply to a running crmd at its next request.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/auth_store.h"
#include "crm/credentials.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define KEY_NAME_MAX 100
#define KEY_EXPIRES_DAYS_MAX 3650

/* Parses a whole positive decimal number up to `max`; -1 when `text` is not one. */
static long long parse_positive(const char *text, long long max)
{
	if (!text || !*text)
		return -1;
	for (const char *p = text; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	long long value = strtoll(text, NULL, 10);
	return errno || value < 1 || value > max ? -1 : value;
}

static int lookup_user(struct db *db, const char *email, struct user *user)
{
	int status = users_store_get_by_email(db, email, user, NULL, 0);
	if (status == DB_NOT_FOUND) {
		cli_error("no such user '%s'", email);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("cannot read the users table");
		return CLI_FAILED;
	}
	return CLI_OK;
}

int cli_key_create(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL, *name = NULL, *expires_days = NULL;
	bool read_only = false;
	const struct cli_option options[] = {
		{ "--user", &email, NULL },
		{ "--name", &name, NULL },
		{ "--expires-days", &expires_days, NULL },
		{ "--read-only", NULL, &read_only },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("key create", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	if (!email || !name)
		return cli_usage_error("key create", "--user and --name are required");
	if (!name[0] || strlen(name) > KEY_NAME_MAX) {
		cli_error("the key name must have 1 to %d bytes", KEY_NAME_MAX);
		return CLI_FAILED;
	}
	char expires_at[TIME_RFC3339_SIZE];
	if (expires_days) {
		long long days = parse_positive(expires_days, KEY_EXPIRES_DAYS_MAX);
		if (days < 0)
			return cli_usage_error("key create",
					       "--expires-days takes a whole number from 1 to %d",
					       KEY_EXPIRES_DAYS_MAX);
		time_format_rfc3339(time(NULL) + (time_t)days * 86400, expires_at);
	}
	struct user user;
	if ((result = lookup_user(cli->db, email, &user)) != CLI_OK)
		return result;
	if (user.disabled)
		fprintf(stderr, "crmctl: warning: %s is disabled; the key works once they are enabled\n",
			user.email);
	char key[AUTH_KEY_TEXT_SIZE];
	int64_t id;
	int status = auth_key_create(cli->db, user.id, name, read_only,
				     expires_days ? expires_at : NULL, 0, AUDIT_ACTOR_CLI, key, &id);
	if (status != DB_OK) {
		cli_error("cannot store the key");
		return CLI_FAILED;
	}
	printf("%s\n", key);
	fflush(stdout);
	sodium_memzero(key, sizeof(key));
	return CLI_OK;
}

static void print_key(void *context, const struct auth_key_info *key)
{
	const char *now = context;
	const char *status = "active";
	if (key->revoked_at)
		status = "revoked";
	else if (key->expires_at && strcmp(key->expires_at, now) <= 0)
		status = "expired";
	printf("%-5lld %-28s %-20s %-13s %-10s %-20s %-20s %-20s %s\n", (long long)key->id,
	       key->user_email ? key->user_email : "?", key->name ? key->name : "",
	       key->prefix ? key->prefix : "", key->read_only ? "read-only" : "read-write",
	       key->created_at ? key->created_at : "-", key->expires_at ? key->expires_at : "never",
	       key->last_used_at ? key->last_used_at : "never", status);
}

int cli_key_list(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("key list", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	printf("%-5s %-28s %-20s %-13s %-10s %-20s %-20s %-20s %s\n", "ID", "USER", "NAME", "PREFIX",
	       "ACCESS", "CREATED", "EXPIRES", "LAST USED", "STATUS");
	if (auth_store_key_list(cli->db, print_key, now) != DB_OK) {
		cli_error("cannot read the API keys");
		return CLI_FAILED;
	}
	return CLI_OK;
}

int cli_key_revoke(struct cli_context *cli, int argc, char **argv)
{
	const char *id_text = NULL;
	int result = cli_parse_options("key revoke", argc, argv, NULL, &id_text, 1);
	if (result != CLI_OK)
		return result;
	long long id = parse_positive(id_text, INT64_MAX);
	if (id < 0)
		return cli_usage_error("key revoke", "the key ID is a number (see crmctl key list)");
	int status = credentials_key_revoke(cli->db, id, 0, AUDIT_ACTOR_CLI);
	if (status == DB_NOT_FOUND) {
		cli_error("no API key with ID %lld", id);
		return CLI_FAILED;
	}
	if (status == DB_CONFLICT) {
		printf("key %lld was revoked already\n", id);
		return CLI_OK;
	}
	if (status != DB_OK) {
		cli_error("cannot revoke key %lld", id);
		return CLI_FAILED;
	}
	printf("revoked key %lld\n", id);
	return CLI_OK;
}

int cli_session_revoke(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL;
	const struct cli_option options[] = {
		{ "--user", &email, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("session revoke", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	if (!email)
		return cli_usage_error("session revoke", "--user is required");
	struct user user;
	if ((result = lookup_user(cli->db, email, &user)) != CLI_OK)
		return result;
	int count = 0;
	if (credentials_sessions_revoke(cli->db, user.id, 0, AUDIT_ACTOR_CLI, &count) !=
	    DB_OK) {
		cli_error("cannot revoke the sessions of %s", user.email);
		return CLI_FAILED;
	}
	printf("revoked %d session%s of %s\n", count, count == 1 ? "" : "s", user.email);
	return CLI_OK;
}
