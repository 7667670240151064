/*
 * cli_two_factor.c - crmctl's commands of two-factor sign-in: `user 2fa reset EMAIL` (a lost
 * device: the user enrols again at the next login) and `role set ROLE --require-2fa on|off`.
 * Both are audited writes of core (two_factor.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/two_factor.h"
#include "crm/users.h"
#include "crm/banned.h"

int cli_user_2fa_reset(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL;
	int result = cli_parse_options("user 2fa reset", argc, argv, NULL, &email, 1);
	if (result != CLI_OK)
		return result;
	struct user user;
	int status = users_store_get_by_email(cli->db, email, &user, NULL, 0);
	if (status == DB_NOT_FOUND) {
		cli_error("no such user '%s'", email);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("the database does not answer; try again");
		return CLI_FAILED;
	}
	struct outcome outcome = OUTCOME_INIT;
	if (two_factor_reset(cli->db, user.id, 0, AUDIT_ACTOR_CLI, &outcome) != 0)
		return cli_fail_outcome(&outcome, email);
	printf("two-factor sign-in of %s reset: the next login starts a new enrolment if the "
	       "role requires it\n",
	       email);
	return CLI_OK;
}

int cli_role_set(struct cli_context *cli, int argc, char **argv)
{
	const char *role = NULL, *require = NULL;
	const struct cli_option options[] = { { "--require-2fa", &require, NULL }, { NULL } };
	int result = cli_parse_options("role set", argc, argv, options, &role, 1);
	if (result != CLI_OK)
		return result;
	if (!require)
		return cli_usage_error("role set", "nothing to change: give --require-2fa on|off");
	bool required = strcmp(require, "on") == 0;
	if (!required && strcmp(require, "off") != 0)
		return cli_usage_error("role set", "--require-2fa takes on or off, not '%s'", require);
	struct outcome outcome = OUTCOME_INIT;
	if (two_factor_role_require(cli->db, role, required, 0, AUDIT_ACTOR_CLI, &outcome) != 0)
		return cli_fail_outcome(&outcome, role);
	printf("role %s: two-factor sign-in %s\n", role, required ? "required" : "not required");
	return CLI_OK;
}
