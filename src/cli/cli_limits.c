/*
 * cli_limits.c - crmctl role limit | key limit: the API rate limits of a role's users and of
 * one API key (ratelimit.h). Without options they show the stored limit; --rate N/min and
 * --burst N set one part, --inherit clears both (the key then follows its user's role, the
 * role crmd's --rate-limit/--rate-burst). A running crmd applies a change at its next
 * request.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "crm/audit.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/ratelimit.h"
#include "crm/roles.h"
#include "crm/banned.h"

struct limit_options {
	const char *rate, *burst;
	bool inherit;
};

/* Applies the options to `limit`. Returns CLI_OK or a usage error of command `words`. */
static int limit_from_options(const char *words, const struct limit_options *options,
			      struct ratelimit_limit *limit)
{
	if (options->inherit && (options->rate || options->burst))
		return cli_usage_error(words, "--inherit clears the limit: give it alone");
	if (options->inherit) {
		limit->per_minute = limit->burst = 0;
		return CLI_OK;
	}
	if (options->rate && ratelimit_parse_rate(options->rate, &limit->per_minute) != 0)
		return cli_usage_error(words,
				       "--rate takes N/min, N/s or N/h (N from 1; at most %d a "
				       "minute)", RATELIMIT_MAX);
	if (options->burst) {
		char *end;
		errno = 0;
		long burst = strtol(options->burst, &end, 10);
		if (!*options->burst || *end || errno || burst < 1 || burst > RATELIMIT_MAX)
			return cli_usage_error(words, "--burst takes a number from 1 to %d",
					       RATELIMIT_MAX);
		limit->burst = (int)burst;
	}
	return CLI_OK;
}

static void print_limit(const char *what, const struct ratelimit_limit *limit)
{
	printf("%s: rate ", what);
	if (limit->per_minute > 0)
		printf("%d/min", limit->per_minute);
	else
		printf("inherited");
	printf(", burst ");
	if (limit->burst > 0)
		printf("%d\n", limit->burst);
	else
		printf("inherited\n");
}

/* Shows, or changes and shows, the limit of a role (`role`) or a key (`key_id`). */
static int show_or_set(struct cli_context *cli, const char *words, const char *role,
		       int64_t key_id, const struct limit_options *options)
{
	struct ratelimit_limit of_role, of_key;
	int status = ratelimit_store_limits(cli->db, role, key_id, &of_role, &of_key);
	if (role && status == DB_OK && roles_store_exists(cli->db, role) != DB_OK)
		status = DB_NOT_FOUND;
	struct ratelimit_limit limit = role ? of_role : of_key;
	char what[96];
	if (role)
		snprintf(what, sizeof(what), "role %s", role);
	else
		snprintf(what, sizeof(what), "key %lld", (long long)key_id);
	bool change = options->rate || options->burst || options->inherit;
	int result = CLI_OK;
	if (status == DB_OK && change && (result = limit_from_options(words, options, &limit)) != CLI_OK)
		return result;
	if (status == DB_OK && change)
		status = role ? ratelimit_role_limit(cli->db, role, &limit, 0, AUDIT_ACTOR_CLI)
			      : ratelimit_key_limit(cli->db, key_id, &limit, 0, AUDIT_ACTOR_CLI);
	if (status == DB_NOT_FOUND && role)
		cli_error("no such role '%s' (see crmctl role list)", role);
	else if (status == DB_NOT_FOUND)
		cli_error("no API key with ID %lld (see crmctl key list)", (long long)key_id);
	else if (status != DB_OK)
		cli_error("cannot %s the limit of %s", change ? "change" : "read", what);
	if (status != DB_OK)
		return CLI_FAILED;
	print_limit(what, &limit);
	return CLI_OK;
}

int cli_role_limit(struct cli_context *cli, int argc, char **argv)
{
	struct limit_options options = { NULL, NULL, false };
	const char *role = NULL;
	const struct cli_option list[] = {
		{ "--rate", &options.rate, NULL },
		{ "--burst", &options.burst, NULL },
		{ "--inherit", NULL, &options.inherit },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("role limit", argc, argv, list, &role, 1);
	if (result != CLI_OK)
		return result;
	if (!roles_name_valid(role)) {
		cli_error("no such role '%s' (see crmctl role list)", role);
		return CLI_FAILED;
	}
	return show_or_set(cli, "role limit", role, 0, &options);
}

int cli_key_limit(struct cli_context *cli, int argc, char **argv)
{
	struct limit_options options = { NULL, NULL, false };
	const char *id_text = NULL;
	const struct cli_option list[] = {
		{ "--rate", &options.rate, NULL },
		{ "--burst", &options.burst, NULL },
		{ "--inherit", NULL, &options.inherit },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("key limit", argc, argv, list, &id_text, 1);
	if (result != CLI_OK)
		return result;
	char *end;
	errno = 0;
	long long id = strtoll(id_text, &end, 10);
	if (*id_text < '0' || *id_text > '9' || *end || errno || id < 1)
		return cli_usage_error("key limit", "the key ID is a number (see crmctl key list)");
	return show_or_set(cli, "key limit", NULL, id, &options);
}
