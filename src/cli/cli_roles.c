/*
 * cli_roles.c - crmctl role list|show|create|grant: roles and their grants
 * (resource, action, scope). A changed grant applies to a running crmd at once, since
 * permissions are read from the database on every request.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/perm.h"
#include "crm/registry.h"
#include "crm/roles.h"
#include "crm/banned.h"

static void print_role(void *context, const struct role_info *role)
{
	(void)context;
	printf("%-16s %-8s %-6d %s\n", role->name, role->builtin ? "built-in" : "custom",
	       role->user_count, role->description ? role->description : "");
}

int cli_role_list(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("role list", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	printf("%-16s %-8s %-6s %s\n", "ROLE", "KIND", "USERS", "DESCRIPTION");
	if (roles_store_list(cli->db, print_role, NULL) != DB_OK) {
		cli_error("cannot read the roles");
		return CLI_FAILED;
	}
	return CLI_OK;
}

static void print_grant_header(void)
{
	printf("%-16s %-8s %s\n", "RESOURCE", "ACTION", "SCOPE");
}

/* Prints one grant, after the header for the first (nothing on stdout for no role). */
static void print_grant(void *context, const char *resource, const char *action,
			const char *scope)
{
	int *count = context;
	if (*count == 0)
		print_grant_header();
	printf("%-16s %-8s %s\n", resource, action, scope);
	(*count)++;
}

int cli_role_show(struct cli_context *cli, int argc, char **argv)
{
	const char *role = NULL;
	int result = cli_parse_options("role show", argc, argv, NULL, &role, 1);
	if (result != CLI_OK)
		return result;
	int count = 0;
	int status = roles_name_valid(role) ? roles_store_grants(cli->db, role, print_grant, &count)
					    : DB_NOT_FOUND;
	if (status == DB_NOT_FOUND) {
		cli_error("no such role '%s' (see crmctl role list)", role);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("cannot read the grants of '%s'", role);
		return CLI_FAILED;
	}
	if (count == 0) {
		print_grant_header();
		printf("(no grants: this role can do nothing)\n");
	}
	return CLI_OK;
}

int cli_role_create(struct cli_context *cli, int argc, char **argv)
{
	const char *name = NULL, *from = NULL, *description = NULL;
	const struct cli_option options[] = {
		{ "--from", &from, NULL },
		{ "--description", &description, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("role create", argc, argv, options, &name, 1);
	if (result != CLI_OK)
		return result;
	if (!roles_name_valid(name))
		return cli_usage_error("role create",
				       "a role name is lower-case letters, digits, '_' or '-', "
				       "starting with a letter (at most %d)", ROLES_NAME_MAX);
	if (description && strlen(description) > 200) {
		cli_error("the description is longer than 200 bytes");
		return CLI_FAILED;
	}
	int status = roles_create(cli->db, name, description, from, 0, AUDIT_ACTOR_CLI);
	switch (status) {
	case DB_OK:
		printf("created role %s%s%s\n", name, from ? " with the grants of " : "",
		       from ? from : " (no grants yet: see crmctl role grant)");
		return CLI_OK;
	case DB_CONFLICT:
		cli_error("role '%s' exists already", name);
		return CLI_FAILED;
	case DB_NOT_FOUND:
		cli_error("no such role '%s' to copy from (see crmctl role list)", from);
		return CLI_FAILED;
	default:
		cli_error("cannot create role '%s'", name);
		return CLI_FAILED;
	}
}

int cli_role_grant(struct cli_context *cli, int argc, char **argv)
{
	const char *words[4] = { NULL, NULL, NULL, NULL };
	int result = cli_parse_options("role grant", argc, argv, NULL, words, 4);
	if (result != CLI_OK)
		return result;
	const char *role = words[0], *resource = words[1];
	int action = perm_action_parse(words[2]);
	int scope = perm_scope_parse(words[3]);
	if (!registry_permission_known(resource) &&
	    !roles_store_resource_granted(cli->db, resource)) {
		struct buf known = BUF_INIT;
		for (int i = 0; registry_permission_at(i); i++)
			buf_addf(&known, "%s%s", i ? ", " : "", registry_permission_at(i));
		result = cli_usage_error("role grant", "unknown resource '%s' (one of: %s)", resource,
					 known.data);
		buf_release(&known);
		return result;
	}
	if (action < 0)
		return cli_usage_error("role grant", "unknown action '%s' (read, write or delete)",
				       words[2]);
	if (scope < 0)
		return cli_usage_error("role grant", "unknown scope '%s' (all, team, own or none)",
				       words[3]);
	int status = roles_name_valid(role)
			     ? roles_grant(cli->db, role, resource, (enum perm_action)action,
						 (enum perm_scope)scope, 0, AUDIT_ACTOR_CLI)
			     : DB_NOT_FOUND;
	if (status == DB_NOT_FOUND) {
		cli_error("no such role '%s' (see crmctl role list)", role);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("cannot change the grant");
		return CLI_FAILED;
	}
	printf("role %s: %s %s %s\n", role, words[2], resource, words[3]);
	return CLI_OK;
}
