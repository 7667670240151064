/*
 * cli_backup.c - crmctl backup PATH: an online, consistent copy of the database (SQLite's
 * backup API in db_backup), safe while crmd runs. Never overwrites an existing file.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crm/cli.h"
#include "crm/db.h"
#include "crm/banned.h"

int cli_backup(struct cli_context *cli, int argc, char **argv)
{
	const char *destination = NULL;
	int result = cli_parse_options("backup", argc, argv, NULL, &destination, 1);
	if (result != CLI_OK)
		return result;
	struct stat info;
	if (stat(cli->db_path, &info) != 0) {
		cli_error("cannot read database %s: %s", cli->db_path, strerror(errno));
		return CLI_FAILED;
	}
	/* Claim the name first, so that an existing file (or a racing backup) is never
	 * overwritten; SQLite treats the empty file as a new database. */
	int fd = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			cli_error("%s exists already; refusing to overwrite it", destination);
		else
			cli_error("cannot create %s: %s", destination, strerror(errno));
		return CLI_FAILED;
	}
	close(fd);
	struct db *db = db_open(cli->db_path, DB_SYNC_NORMAL);
	if (!db || db_backup(db, destination) != 0) {
		db_close(db);
		unlink(destination);
		cli_error("the backup failed; nothing was written to %s", destination);
		return CLI_FAILED;
	}
	db_close(db);
	printf("backed up %s to %s\n", cli->db_path, destination);
	return CLI_OK;
}
