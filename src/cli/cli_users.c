/*
 * cli_users.c - crmctl user add|list|passwd|disable|enable|set|unlock: user accounts straight
 * in the database (also while crmd runs; it sees changes at the next request). Every
 * change goes through users_store, which audits it as actor "crmctl".
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/auth_store.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/roles.h"
#include "crm/users.h"
#include "crm/banned.h"

static const struct user_actor cli_actor = { 0, AUDIT_ACTOR_CLI };

/* Reports a failed store call in one line; returns CLI_FAILED. */
static int store_failure(int status, const char *email)
{
	switch (status) {
	case DB_NOT_FOUND:
		cli_error("no such user '%s'", email);
		break;
	case DB_CONFLICT:
		cli_error("a user with email '%s' exists already", email);
		break;
	case DB_INVALID:
		cli_error("no such role (see crmctl role list)");
		break;
	case DB_BUSY:
		cli_error("the database is busy; try again");
		break;
	default:
		cli_error("the database refused the change (see the message above)");
		break;
	}
	return CLI_FAILED;
}

/* Looks up `email`; prints why and returns CLI_FAILED when it cannot. */
static int find_user(struct db *db, const char *email, struct user *user)
{
	int status = users_store_get_by_email(db, email, user, NULL, 0);
	return status == DB_OK ? CLI_OK : store_failure(status, email);
}

/* Checks a role name against the database. */
static int check_role(struct db *db, const char *role)
{
	int status = roles_name_valid(role) ? roles_store_exists(db, role) : DB_NOT_FOUND;
	if (status == DB_NOT_FOUND) {
		cli_error("no such role '%s' (see crmctl role list)", role);
		return CLI_FAILED;
	}
	return status == DB_OK ? CLI_OK : store_failure(status, "");
}

static int check_name(const char *name)
{
	if (!name[0] || name[strspn(name, " \t")] == '\0' || strlen(name) > USERS_NAME_MAX) {
		cli_error("the name must not be empty and at most %d bytes", USERS_NAME_MAX);
		return CLI_FAILED;
	}
	return CLI_OK;
}

static int check_team(const char *team)
{
	if (strlen(team) > USERS_TEAM_MAX) {
		cli_error("the team name is longer than %d bytes", USERS_TEAM_MAX);
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* Reads a new password (stdin or terminal) and hashes it into `hash`. */
static int read_new_password(bool from_stdin, char hash[128])
{
	char *password = cli_read_password(from_stdin, true);
	if (!password) {
		cli_error(from_stdin ? "no password on stdin"
				     : "no password given (no terminal? use --password-stdin)");
		return CLI_FAILED;
	}
	size_t len = strlen(password);
	int result = CLI_OK;
	if (len < USERS_PASSWORD_MIN || len > USERS_PASSWORD_MAX) {
		cli_error("the password must have %d to %d characters", USERS_PASSWORD_MIN,
			  USERS_PASSWORD_MAX);
		result = CLI_FAILED;
	} else if (auth_password_hash(password, hash) != 0) {
		cli_error("cannot hash the password (out of memory?)");
		result = CLI_FAILED;
	}
	sodium_memzero(password, len);
	free(password);
	return result;
}

int cli_user_add(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL, *name = NULL, *role = NULL, *team = NULL;
	bool password_stdin = false, no_password = false;
	const struct cli_option options[] = {
		{ "--name", &name, NULL },
		{ "--role", &role, NULL },
		{ "--team", &team, NULL },
		{ "--password-stdin", NULL, &password_stdin },
		{ "--no-password", NULL, &no_password },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("user add", argc, argv, options, &email, 1);
	if (result != CLI_OK)
		return result;
	if (!name || !role)
		return cli_usage_error("user add", "--name and --role are required");
	if (password_stdin && no_password)
		return cli_usage_error("user add", "--password-stdin and --no-password exclude each other");
	if (!users_email_valid(email)) {
		cli_error("'%s' is not a valid email address", email);
		return CLI_FAILED;
	}
	if ((result = check_name(name)) != CLI_OK || (result = check_role(cli->db, role)) != CLI_OK ||
	    (team && (result = check_team(team)) != CLI_OK))
		return result;
	struct user existing;
	if (users_store_get_by_email(cli->db, email, &existing, NULL, 0) == DB_OK) {
		cli_error("a user with email '%s' exists already", email);
		return CLI_FAILED;
	}
	char hash[128] = "";
	if (!no_password && (result = read_new_password(password_stdin, hash)) != CLI_OK)
		return result;
	struct user_change fields = USER_CHANGE_INIT;
	fields.email = email;
	fields.name = name;
	fields.role = role;
	fields.set_team = team != NULL;
	fields.team = team;
	fields.set_password = !no_password;
	fields.password_hash = no_password ? NULL : hash;
	struct user created;
	int status = users_create(cli->db, &fields, &cli_actor, &created);
	sodium_memzero(hash, sizeof(hash));
	if (status != DB_OK)
		return store_failure(status, email);
	printf("created user %lld %s (role %s)\n", (long long)created.id, created.email,
	       created.role);
	return CLI_OK;
}

struct list_page {
	int rows;
	int64_t last_id;
};

static int print_user(void *context, const struct user *user)
{
	struct list_page *page = context;
	printf("%-6lld %-32s %-24s %-10s %-14s %s\n", (long long)user->id, user->email, user->name,
	       user->role, user->has_team ? user->team : "-",
	       user->disabled ? "disabled" : (user->has_password ? "active" : "active (no password)"));
	page->rows++;
	page->last_id = user->id;
	return 0;
}

int cli_user_list(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("user list", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	printf("%-6s %-32s %-24s %-10s %-14s %s\n", "ID", "EMAIL", "NAME", "ROLE", "TEAM", "STATUS");
	struct users_query query = { .sort = "id", .disabled = -1, .limit = 500 };
	for (;;) {
		struct list_page page = { 0, 0 };
		int status = users_store_list(cli->db, &query, print_user, &page);
		if (status != DB_OK)
			return store_failure(status, "");
		if (page.rows < query.limit)
			break;
		query.has_after = true;
		query.after_id = page.last_id;
	}
	return CLI_OK;
}

/* Applies `change` to the user `email`; prints "<before><email><after>". */
static int update_user(struct cli_context *cli, const char *email, const struct user_change *change,
		       const char *before, const char *after_text)
{
	struct user user, after;
	int result = find_user(cli->db, email, &user);
	if (result != CLI_OK)
		return result;
	int status = users_update(cli->db, user.id, 0, change, &cli_actor, 0, &after);
	if (status != DB_OK)
		return store_failure(status, email);
	printf("%s%s%s\n", before, after.email, after_text);
	return CLI_OK;
}

int cli_user_passwd(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL;
	bool password_stdin = false;
	const struct cli_option options[] = {
		{ "--password-stdin", NULL, &password_stdin },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("user passwd", argc, argv, options, &email, 1);
	if (result != CLI_OK)
		return result;
	struct user user;
	if ((result = find_user(cli->db, email, &user)) != CLI_OK)
		return result;
	char hash[128];
	if ((result = read_new_password(password_stdin, hash)) != CLI_OK)
		return result;
	struct user_change change = USER_CHANGE_INIT;
	change.set_password = true;
	change.password_hash = hash;
	result = update_user(cli, email, &change, "password changed for ", "; their sessions ended");
	sodium_memzero(hash, sizeof(hash));
	return result;
}

static int set_disabled(struct cli_context *cli, const char *words, int argc, char **argv,
			int disabled)
{
	const char *email = NULL;
	int result = cli_parse_options(words, argc, argv, NULL, &email, 1);
	if (result != CLI_OK)
		return result;
	struct user_change change = USER_CHANGE_INIT;
	change.disabled = disabled;
	return update_user(cli, email, &change, disabled ? "disabled " : "enabled ",
			   disabled ? ": their sessions and API keys stop working now" : "");
}

int cli_user_disable(struct cli_context *cli, int argc, char **argv)
{
	return set_disabled(cli, "user disable", argc, argv, 1);
}

int cli_user_enable(struct cli_context *cli, int argc, char **argv)
{
	return set_disabled(cli, "user enable", argc, argv, 0);
}

int cli_user_set(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL, *name = NULL, *role = NULL, *team = NULL;
	const struct cli_option options[] = {
		{ "--name", &name, NULL },
		{ "--role", &role, NULL },
		{ "--team", &team, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("user set", argc, argv, options, &email, 1);
	if (result != CLI_OK)
		return result;
	if (!name && !role && !team)
		return cli_usage_error("user set", "nothing to change: give --role, --team or --name");
	if ((name && (result = check_name(name)) != CLI_OK) ||
	    (role && (result = check_role(cli->db, role)) != CLI_OK) ||
	    (team && (result = check_team(team)) != CLI_OK))
		return result;
	struct user_change change = USER_CHANGE_INIT;
	change.name = name;
	change.role = role;
	change.set_team = team != NULL;
	change.team = team; /* "" clears */
	return update_user(cli, email, &change, "updated ", "");
}

/*
 * crmctl user unlock EMAIL: forgets the failed logins counted against the account (its
 * own count and that of every address with it), so that its owner can log in again at
 * once. Audited as an "unlock" of the user.
 */
int cli_user_unlock(struct cli_context *cli, int argc, char **argv)
{
	const char *email = NULL;
	int result = cli_parse_options("user unlock", argc, argv, NULL, &email, 1);
	if (result != CLI_OK)
		return result;
	struct user user;
	if ((result = find_user(cli->db, email, &user)) != CLI_OK)
		return result;
	int forgotten = 0;
	int status = db_begin_write(cli->db);
	if (status == DB_OK)
		status = auth_store_failures_clear_account(cli->db, email, &forgotten);
	if (status == DB_OK) {
		json_t *after = json_pack("{s:i}", "failed_logins_forgotten", forgotten);
		status = audit_record(cli->db, 0, AUDIT_ACTOR_CLI, "users", user.id, "unlock", NULL,
				      after);
		json_decref(after);
	}
	if (status == DB_OK)
		status = db_commit(cli->db);
	else
		db_rollback(cli->db);
	if (status != DB_OK)
		return store_failure(status, email);
	printf("unlocked %s: %d failed login%s forgotten\n", email, forgotten,
	       forgotten == 1 ? "" : "s");
	return CLI_OK;
}
