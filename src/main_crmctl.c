/*
 * main_crmctl.c - crmctl, the admin CLI. Parses the global --db option, finds the
 * command in cli_commands by its words ("user add"), opens and migrates the database
 * when the command needs it, and runs it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/cli.h"
#include "crm/db.h"
#include "crm/routes.h"
#include "crm/version.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

static void print_overview(FILE *out)
{
	fprintf(out, "usage: crmctl [--db PATH] COMMAND ...\n\n"
		     "The CRM's admin CLI. Works on the database file directly, also while crmd "
		     "runs.\n--db PATH defaults to ./crm.db (or $CRM_DB).\n\nCommands:\n");
	for (const struct cli_command *command = cli_commands; command->words; command++)
		fprintf(out, "  %-52s %s\n", command->usage, command->summary);
	fprintf(out, "\nEvery command takes --help. Exit status: 0 done, 1 failed, 2 usage error.\n");
}

/*
 * After a command group's name ("user") alone or with an unknown subcommand: lists the
 * group's commands on stderr and returns true; false when `name` is no group.
 */
static bool print_group(const char *name, const char *subcommand)
{
	size_t len = strlen(name);
	bool any = false;
	for (const struct cli_command *command = cli_commands; command->words; command++) {
		if (strncmp(command->words, name, len) != 0 || command->words[len] != ' ')
			continue;
		if (!any && subcommand)
			fprintf(stderr, "crmctl: unknown %s command '%s'; one of:\n", name, subcommand);
		else if (!any)
			fprintf(stderr, "crmctl: '%s' needs a command, one of:\n", name);
		fprintf(stderr, "  %-52s %s\n", command->usage, command->summary);
		any = true;
	}
	return any;
}

/* How many of argv's first words spell `words` ("user add" = 2), or 0. */
static int match_words(const char *words, int argc, char **argv)
{
	int used = 0;
	const char *p = words;
	while (*p) {
		const char *space = strchr(p, ' ');
		size_t len = space ? (size_t)(space - p) : strlen(p);
		if (used >= argc || strlen(argv[used]) != len || strncmp(argv[used], p, len) != 0)
			return 0;
		used++;
		p += len;
		while (*p == ' ')
			p++;
	}
	return used;
}

int main(int argc, char **argv)
{
	const char *db_path = getenv("CRM_DB") ? getenv("CRM_DB") : "./crm.db";
	int arg = 1;
	while (arg < argc && argv[arg][0] == '-') {
		if (strcmp(argv[arg], "--db") == 0 && arg + 1 < argc) {
			db_path = argv[arg + 1];
			arg += 2;
		} else if (strncmp(argv[arg], "--db=", 5) == 0) {
			db_path = argv[arg] + 5;
			arg++;
		} else if (strcmp(argv[arg], "--help") == 0 || strcmp(argv[arg], "-h") == 0) {
			print_overview(stdout);
			return CLI_OK;
		} else if (strcmp(argv[arg], "--version") == 0) {
			printf("crmctl %s\n", CRM_VERSION);
			return CLI_OK;
		} else {
			fprintf(stderr, "crmctl: unknown option '%s'\n", argv[arg]);
			print_overview(stderr);
			return CLI_USAGE;
		}
	}
	if (arg == argc) {
		print_overview(stderr);
		return CLI_USAGE;
	}
	const struct cli_command *found = NULL;
	int used = 0;
	for (const struct cli_command *command = cli_commands; command->words; command++) {
		int words = match_words(command->words, argc - arg, argv + arg);
		if (words > used) {
			found = command;
			used = words;
		}
	}
	const char *subcommand = arg + 1 < argc && argv[arg + 1][0] != '-' ? argv[arg + 1] : NULL;
	if (!found && print_group(argv[arg], subcommand))
		return CLI_USAGE;
	if (!found) {
		fprintf(stderr, "crmctl: unknown command '%s'\n", argv[arg]);
		print_overview(stderr);
		return CLI_USAGE;
	}
	int command_argc = argc - arg - used;
	char **command_argv = argv + arg + used;
	if (cli_wants_help(command_argc, command_argv))
		return cli_usage(found, false);

	routes_register_resources(); /* what they index, announce and permit (registry.h) */
	webhooks_install_event_hook(); /* changes made here queue their webhook events too */
	struct cli_context cli = { .db_path = db_path, .db = NULL };
	if (found->database == CLI_DATABASE_MIGRATED && !cli_database_exists(db_path))
		return CLI_FAILED;
	if (found->database != CLI_DATABASE_NONE) {
		cli.db = db_open(db_path, DB_SYNC_FULL);
		if (!cli.db)
			return CLI_FAILED;
		if (found->database == CLI_DATABASE_MIGRATED && db_migrate(cli.db, NULL) != 0) {
			cli_error("cannot migrate %s", db_path);
			db_close(cli.db);
			return CLI_FAILED;
		}
	}
	int status = found->run(&cli, command_argc, command_argv);
	db_close(cli.db);
	return status;
}
