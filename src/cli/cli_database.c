/*
 * cli_database.c - crmctl init and migrate: create or upgrade the database. `init` can
 * also create the first admin account with a random password, printed once.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/users.h"
#include "crm/banned.h"

int cli_migrate(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("migrate", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	int applied = 0;
	if (db_migrate(cli->db, &applied) != 0) {
		cli_error("migration failed; the database is unchanged by the failing step");
		return CLI_FAILED;
	}
	printf("database %s is at schema version %d (%d migration%s applied)\n", cli->db_path,
	       db_schema_version(cli->db), applied, applied == 1 ? "" : "s");
	return CLI_OK;
}

/*
 * Creates the admin `email` with a random password printed once, unless a user with that
 * email exists already (then nothing changes: init stays idempotent).
 */
static int create_first_admin(struct cli_context *cli, const char *email)
{
	if (!users_email_valid(email)) {
		cli_error("'%s' is not a valid email address", email);
		return CLI_FAILED;
	}
	struct user user;
	int status = users_store_get_by_email(cli->db, email, &user, NULL, 0);
	if (status == DB_OK) {
		printf("user %s exists already; its password is unchanged\n", user.email);
		return CLI_OK;
	}
	if (status != DB_NOT_FOUND) {
		cli_error("cannot read the users table");
		return CLI_FAILED;
	}
	unsigned char random[18];
	char password[32], hash[128];
	randombytes_buf(random, sizeof(random));
	sodium_bin2base64(password, sizeof(password), random, sizeof(random),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(random, sizeof(random));
	if (auth_password_hash(password, hash) != 0) {
		cli_error("cannot hash the password (out of memory?)");
		return CLI_FAILED;
	}
	struct user_change fields = USER_CHANGE_INIT;
	fields.email = email;
	fields.name = "Administrator";
	fields.role = "admin";
	fields.set_password = true;
	fields.password_hash = hash;
	struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	status = users_create(cli->db, &fields, &actor, &user);
	sodium_memzero(hash, sizeof(hash));
	if (status != DB_OK) {
		sodium_memzero(password, sizeof(password));
		cli_error("cannot create the admin user %s", email);
		return CLI_FAILED;
	}
	printf("created admin %s with password: %s\n(shown once; change it with crmctl user "
	       "passwd %s)\n", user.email, password, user.email);
	sodium_memzero(password, sizeof(password));
	return CLI_OK;
}

int cli_init(struct cli_context *cli, int argc, char **argv)
{
	const char *admin = NULL;
	const struct cli_option options[] = {
		{ "--admin", &admin, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("init", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	if ((result = cli_migrate(cli, 0, NULL)) != CLI_OK)
		return result;
	return admin ? create_first_admin(cli, admin) : CLI_OK;
}
