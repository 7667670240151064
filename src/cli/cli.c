/*
 * cli.c - crmctl's command table and the helpers commands share (errors, usage,
 * password prompts).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crm/analytics.h"
#include "crm/audit.h"
#include "crm/outcome.h"
#include "crm/resource_save.h"
#include "crm/buf.h"
#include "crm/banned.h"

const struct cli_command cli_commands[] = {
	{ "init", "init [--admin EMAIL]",
	  "create or upgrade the database; --admin also creates an admin with a printed password",
	  cli_init, CLI_DATABASE_OPEN },
	{ "migrate", "migrate", "apply the migrations the database lacks (idempotent)", cli_migrate,
	  CLI_DATABASE_OPEN },
	{ "user add",
	  "user add EMAIL --name NAME --role ROLE [--team TEAM] [--password-stdin | --no-password]",
	  "create a user (password asked without echo, one line on stdin, or none: cannot log in "
	  "until set)",
	  cli_user_add,
	  CLI_DATABASE_MIGRATED },
	{ "user list", "user list", "list the users", cli_user_list, CLI_DATABASE_MIGRATED },
	{ "user passwd", "user passwd EMAIL [--password-stdin]",
	  "set a user's password (ends their sessions)", cli_user_passwd, CLI_DATABASE_MIGRATED },
	{ "user disable", "user disable EMAIL",
	  "disable a user: their sessions and keys stop working at once", cli_user_disable,
	  CLI_DATABASE_MIGRATED },
	{ "user enable", "user enable EMAIL", "enable a disabled user", cli_user_enable,
	  CLI_DATABASE_MIGRATED },
	{ "user unlock", "user unlock EMAIL",
	  "forget the failed logins counted against a user, so they can log in at once",
	  cli_user_unlock, CLI_DATABASE_MIGRATED },
	{ "user 2fa reset", "user 2fa reset EMAIL",
	  "turn off a user's two-factor sign-in (a lost device): secret and recovery codes are "
	  "removed; the user enrols again",
	  cli_user_2fa_reset, CLI_DATABASE_MIGRATED },
	{ "user set", "user set EMAIL [--role ROLE] [--team TEAM] [--name NAME]",
	  "change a user's role, team (\"\" for none) or name", cli_user_set, CLI_DATABASE_MIGRATED },
	{ "role list", "role list", "list the roles", cli_role_list, CLI_DATABASE_MIGRATED },
	{ "role show", "role show ROLE", "show a role's grants", cli_role_show,
	  CLI_DATABASE_MIGRATED },
	{ "role create", "role create NAME [--from ROLE] [--description TEXT]",
	  "create a role, optionally with the grants of another", cli_role_create,
	  CLI_DATABASE_MIGRATED },
	{ "role grant", "role grant ROLE RESOURCE ACTION SCOPE",
	  "set a grant: ACTION read|write|delete, SCOPE all|team|own|none", cli_role_grant,
	  CLI_DATABASE_MIGRATED },
	{ "role set", "role set ROLE --require-2fa on|off",
	  "require two-factor sign-in (TOTP) of every user of a role: without it they can log in "
	  "only to enrol",
	  cli_role_set, CLI_DATABASE_MIGRATED },
	{ "role limit", "role limit ROLE [--rate N/min] [--burst N] [--inherit]",
	  "show or set the API rate limit of the role's users (per key and per signed-in user; "
	  "--inherit: crmd's --rate-limit/--rate-burst)",
	  cli_role_limit, CLI_DATABASE_MIGRATED },
	{ "resource list", "resource list",
	  "list the resources this build serves (name, table, full-text table, events)",
	  cli_resource_list, CLI_DATABASE_NONE },
	{ "resource sql", "resource sql NAME",
	  "print the SQL of a migration for resource NAME, written from its descriptor (table, "
	  "indexes, full-text table and triggers, default grants)",
	  cli_resource_sql, CLI_DATABASE_NONE },
	{ "key create", "key create --user EMAIL --name NAME [--read-only] [--expires-days N]",
	  "create an API key; prints it (once) alone on stdout", cli_key_create,
	  CLI_DATABASE_MIGRATED },
	{ "key list", "key list", "list API keys (never the keys themselves)", cli_key_list,
	  CLI_DATABASE_MIGRATED },
	{ "key revoke", "key revoke ID", "revoke an API key at once", cli_key_revoke,
	  CLI_DATABASE_MIGRATED },
	{ "key limit", "key limit ID [--rate N/min] [--burst N] [--inherit]",
	  "show or set an API key's own rate limit (--inherit: its user's role's)",
	  cli_key_limit, CLI_DATABASE_MIGRATED },
	{ "session revoke", "session revoke --user EMAIL", "end all browser sessions of a user",
	  cli_session_revoke, CLI_DATABASE_MIGRATED },
	{ "backup", "backup PATH", "online, consistent copy of the database (never overwrites)",
	  cli_backup, CLI_DATABASE_NONE },
	{ "restore", "restore PATH",
	  "replace the database with a backup (crmd stopped; checked first, atomic)", cli_restore,
	  CLI_DATABASE_NONE },
	{ "demo-data",
	  "demo-data [--contacts N] [--seed S] [--interactions-per-contact N] "
	  "[--purchases-per-contact N]",
	  "add realistic synthetic companies, contacts and their history: interactions, "
	  "opportunities, tasks, purchases (deterministic for a seed)",
	  cli_demo_data, CLI_DATABASE_MIGRATED },
	{ "import contacts",
	  "import contacts FILE.csv [--dedupe email] [--dry-run] [--owner EMAIL] "
	  "[--map \"HEADER=FIELD\"]... [--map-file FILE] [--ignore HEADER]...",
	  "import contacts from CSV (FILE - is stdin): all rows or none; columns are contact "
	  "fields or aliases (First Name, E-mail, Company, tags split on ;); --map reads column "
	  "HEADER as FIELD (a field, an alias or custom.KEY; --map-file: one a line), --ignore "
	  "skips a column; any "
	  "other unknown column is an error",
	  cli_import_contacts, CLI_DATABASE_MIGRATED },
	{ "export contacts", "export contacts [--format csv|json]",
	  "print every contact (not erased) on stdout; the CSV imports again", cli_export_contacts,
	  CLI_DATABASE_MIGRATED },
	{ "gdpr export", "gdpr export ID", "print everything held about contact ID as JSON",
	  cli_gdpr_export, CLI_DATABASE_MIGRATED },
	{ "gdpr erase", "gdpr erase ID",
	  "erase the personal data of contact ID everywhere (keeps anonymous revenue)",
	  cli_gdpr_erase, CLI_DATABASE_MIGRATED },
	{ "gdpr purge", "gdpr purge [--vacuum]",
	  "merge the full-text indexes and truncate the WAL so no erased text stays in the files",
	  cli_gdpr_purge, CLI_DATABASE_MIGRATED },
	{ "segment export", "segment export ID",
	  "print a segment's members as CSV (the same as the API's export)", cli_segment_export,
	  CLI_DATABASE_MIGRATED },
	{ "analytics fit", "analytics fit [--summary-csv FILE]",
	  "fit the LTV models: on a summary CSV (ID,x,t_x,T,zbar; prints JSON) or on the "
	  "database (stores the fit)",
	  cli_analytics_fit, CLI_DATABASE_NONE },
	{ "analytics settings", "analytics settings", "show the analytics.* settings (JSON)",
	  cli_analytics_settings, CLI_DATABASE_MIGRATED },
	{ "analytics set", "analytics set KEY VALUE",
	  "check and store an analytics setting (docs/analytics.md); VALUE \"\" removes it",
	  cli_analytics_set, CLI_DATABASE_MIGRATED },
	{ "webhook add",
	  "webhook add URL [--events a,b] [--secret S] [--description TEXT] [--inactive]",
	  "register a webhook endpoint (events: names, entity.* or *, the default); a generated "
	  "secret is printed once",
	  cli_webhook_add, CLI_DATABASE_MIGRATED },
	{ "webhook list", "webhook list", "list the webhook endpoints with their delivery counts",
	  cli_webhook_list, CLI_DATABASE_MIGRATED },
	{ "webhook remove", "webhook remove ID", "remove a webhook endpoint and its delivery log",
	  cli_webhook_remove, CLI_DATABASE_MIGRATED },
	{ "webhook private", "webhook private on|off",
	  "allow (on) or refuse (off, the default) webhook deliveries to private, loopback and "
	  "link-local addresses",
	  cli_webhook_private, CLI_DATABASE_MIGRATED },
	{ NULL, NULL, NULL, NULL, CLI_DATABASE_NONE },
};

void cli_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("crmctl: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
}

bool cli_database_exists(const char *path)
{
	if (access(path, F_OK) == 0)
		return true;
	cli_error("no database at %s (run crmctl init)", path);
	return false;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int cli_usage(const struct cli_command *command, bool is_error)
{
	FILE *out = is_error ? stderr : stdout;
	fprintf(out, "usage: crmctl [--db PATH] %s\n%s\n", command->usage, command->summary);
	return is_error ? CLI_USAGE : CLI_OK;
}

static char *read_line(FILE *in)
{
	struct buf line = BUF_INIT;
	int c;
	while ((c = getc(in)) != EOF && c != '\n')
		buf_addch(&line, (char)c);
	if (c == EOF && line.len == 0) {
		buf_release(&line);
		return NULL;
	}
	if (line.len && line.data[line.len - 1] == '\r')
		line.data[--line.len] = '\0';
	return buf_detach(&line, NULL);
}

static char *prompt_hidden(const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty)
		return NULL;
	struct termios saved, quiet;
	fputs(prompt, tty);
	fflush(tty);
	bool restored = tcgetattr(fileno(tty), &saved) == 0;
	if (restored) {
		quiet = saved;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	char *answer = read_line(tty);
	if (restored)
		tcsetattr(fileno(tty), TCSAFLUSH, &saved);
	fputc('\n', tty);
	fclose(tty);
	return answer;
}

char *cli_read_password(bool from_stdin, bool confirm)
{
	if (from_stdin)
		return read_line(stdin);
	char *first = prompt_hidden("Password: ");
	if (!first || !confirm)
		return first;
	char *second = prompt_hidden("Repeat password: ");
	if (!second || strcmp(first, second) != 0) {
		cli_error("the passwords do not match");
		free(first);
		free(second);
		return NULL;
	}
	free(second);
	return first;
}

struct write_actor cli_write_actor(struct cli_context *cli)
{
	return (struct write_actor){ cli->db, NULL, 0, AUDIT_ACTOR_CLI };
}

int cli_fail_outcome(struct outcome *outcome, const char *what)
{
	size_t index;
	json_t *error;
	if (field_errors_any(&outcome->errors)) {
		json_array_foreach(outcome->errors.list, index, error)
			cli_error("%s: %s", json_string_value(json_object_get(error, "field")),
				  json_string_value(json_object_get(error, "message")));
	} else {
		struct buf detail = BUF_INIT;
		outcome_detail_text(outcome, &detail);
		cli_error("%s: %s", what, detail.data);
		buf_release(&detail);
	}
	outcome_release(outcome);
	return CLI_FAILED;
}
