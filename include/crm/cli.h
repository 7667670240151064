/*
 * cli.h - crmctl's commands. Each command is a function taking its own arguments (after
 * the command words) and returning the exit status: CLI_OK, CLI_FAILED (one clear line
 * on stderr) or CLI_USAGE (usage error). Every command answers --help.
 */
#ifndef CRM_CLI_H
#define CRM_CLI_H

#include <stdbool.h>

struct db;

enum cli_status { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

enum cli_database {
	CLI_DATABASE_NONE,     /* the command opens what it needs itself */
	CLI_DATABASE_OPEN,     /* opened, not migrated (init, migrate) */
	CLI_DATABASE_MIGRATED, /* opened and migrated */
};

struct cli_context {
	const char *db_path;
	struct db *db; /* opened and migrated before the command runs, unless it opens itself */
};

struct cli_command {
	const char *words;   /* "user add" */
	const char *usage;   /* "user add EMAIL --name NAME --role ROLE [--team TEAM] ..." */
	const char *summary; /* one line for the overview */
	int (*run)(struct cli_context *cli, int argc, char **argv);
	enum cli_database database; /* what main does with the database before `run` */
};

/* The command table, terminated by an entry with NULL words. */
extern const struct cli_command cli_commands[];

/* Prints "crmctl: <message>" on stderr. */
void cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* True when argv (the command's own arguments) contains --help or -h. */
bool cli_wants_help(int argc, char **argv);
/* Prints the usage of `command` on stdout (help) or stderr (error) and returns CLI_OK/CLI_USAGE. */
int cli_usage(const struct cli_command *command, bool is_error);
/*
 * Reads a password: one line from stdin when `from_stdin`, otherwise from the terminal
 * without echo (asked twice when `confirm`). Returns a malloc'd string or NULL.
 */
char *cli_read_password(bool from_stdin, bool confirm);

/* Commands, implemented in src/cli/. */
int cli_init(struct cli_context *cli, int argc, char **argv);
int cli_migrate(struct cli_context *cli, int argc, char **argv);

#endif
