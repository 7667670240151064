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

/*
 * True when the database file `path` exists; otherwise prints "no database at PATH (run
 * crmctl init)" and returns false. Only init, migrate and restore create the database.
 */
bool cli_database_exists(const char *path);
/* Prints "crmctl: <message>" on stderr. */
void cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

struct write_actor;
struct outcome;
/* The write actor of crmctl for the write pipeline (resource_save.h): trusted, no user. */
struct write_actor cli_write_actor(struct cli_context *cli);
/*
 * Prints a failed outcome on stderr ("what: detail", each field error on a line of its own)
 * and releases it. Returns CLI_FAILED.
 */
int cli_fail_outcome(struct outcome *outcome, const char *what);
/* True when argv (the command's own arguments) contains --help or -h. */
bool cli_wants_help(int argc, char **argv);
/* Prints the usage of `command` on stdout (help) or stderr (error) and returns CLI_OK/CLI_USAGE. */
int cli_usage(const struct cli_command *command, bool is_error);
/*
 * Reads a password: one line from stdin when `from_stdin`, otherwise from the terminal
 * without echo (asked twice when `confirm`). Returns a malloc'd string or NULL.
 */
char *cli_read_password(bool from_stdin, bool confirm);

/*
 * One option of a command (src/cli/cli_options.c). With `value`, the option takes an
 * argument ("--name NAME" or "--name=NAME") stored there (borrowed from argv); with
 * `flag`, it is a switch that sets *flag.
 */
struct cli_option {
	const char *name; /* "--name" */
	const char **value;
	bool *flag;
};
/*
 * Parses the arguments of command `words` ("user add"): options (terminated by an entry
 * with NULL name) in any order and exactly `positional_count` other words into
 * `positional`. Returns CLI_OK, or CLI_USAGE after printing what is wrong and the usage.
 */
int cli_parse_options(const char *words, int argc, char **argv, const struct cli_option *options,
		      const char **positional, int positional_count);
/* Prints the usage of command `words` on stderr after `message`; returns CLI_USAGE. */
int cli_usage_error(const char *words, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Commands, implemented in src/cli/. */
int cli_init(struct cli_context *cli, int argc, char **argv);
int cli_migrate(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_users.c */
int cli_user_add(struct cli_context *cli, int argc, char **argv);
int cli_user_list(struct cli_context *cli, int argc, char **argv);
int cli_user_passwd(struct cli_context *cli, int argc, char **argv);
int cli_user_disable(struct cli_context *cli, int argc, char **argv);
int cli_user_enable(struct cli_context *cli, int argc, char **argv);
int cli_user_unlock(struct cli_context *cli, int argc, char **argv);
int cli_user_2fa_reset(struct cli_context *cli, int argc, char **argv);
int cli_user_set(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_roles.c */
int cli_role_list(struct cli_context *cli, int argc, char **argv);
int cli_role_show(struct cli_context *cli, int argc, char **argv);
int cli_role_create(struct cli_context *cli, int argc, char **argv);
int cli_role_grant(struct cli_context *cli, int argc, char **argv);
int cli_role_set(struct cli_context *cli, int argc, char **argv);
int cli_role_limit(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_resources.c */
int cli_resource_list(struct cli_context *cli, int argc, char **argv);
int cli_resource_sql(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_keys.c */
int cli_key_create(struct cli_context *cli, int argc, char **argv);
int cli_key_list(struct cli_context *cli, int argc, char **argv);
int cli_key_revoke(struct cli_context *cli, int argc, char **argv);
int cli_key_limit(struct cli_context *cli, int argc, char **argv);
int cli_session_revoke(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_backup.c */
int cli_backup(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_restore.c */
int cli_restore(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_segments.c */
int cli_segment_export(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_demo.c */
int cli_demo_data(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_import.c, src/cli/cli_export.c */
int cli_import_contacts(struct cli_context *cli, int argc, char **argv);
int cli_export_contacts(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_gdpr.c */
int cli_gdpr_export(struct cli_context *cli, int argc, char **argv);
int cli_gdpr_erase(struct cli_context *cli, int argc, char **argv);
int cli_gdpr_purge(struct cli_context *cli, int argc, char **argv);
/* src/cli/cli_webhooks.c */
int cli_webhook_add(struct cli_context *cli, int argc, char **argv);
int cli_webhook_list(struct cli_context *cli, int argc, char **argv);
int cli_webhook_remove(struct cli_context *cli, int argc, char **argv);
int cli_webhook_private(struct cli_context *cli, int argc, char **argv);

#endif
