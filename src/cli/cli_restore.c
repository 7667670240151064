/*
 * cli_restore.c - crmctl restore PATH: replaces the database with a backup, with the
 * server stopped. The backup is copied next to the database, checked there (it opens,
 * PRAGMA integrity_check says ok, the schema version is one this program runs), synced,
 * and renamed over the database in one step; a crash at any point leaves either the old
 * database or the restored one, never a mix. A running crmd holds a shared flock() on
 * the database (db_server_lock), so restore refuses while one serves it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/banned.h"

/* Removes the SQLite side files of `path` (-wal, -shm); missing ones are fine. */
static void remove_side_files(const char *path)
{
	struct buf side = BUF_INIT;
	buf_addf(&side, "%s-wal", path);
	unlink(side.data);
	buf_reset(&side);
	buf_addf(&side, "%s-shm", path);
	unlink(side.data);
	buf_release(&side);
}

/* Removes `path` and its side files. */
static void remove_with_side_files(const char *path)
{
	unlink(path);
	remove_side_files(path);
}

/* Copies the file `from` into the open descriptor `to` and fsyncs it. Returns 0 or -1. */
static int copy_into(const char *from, int to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		cli_error("cannot read %s: %s", from, strerror(errno));
		return -1;
	}
	int result = -1;
	char chunk[65536];
	for (;;) {
		ssize_t got = read(in, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			cli_error("cannot read %s: %s", from, strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		for (ssize_t done = 0; done < got;) {
			ssize_t put = write(to, chunk + done, (size_t)(got - done));
			if (put < 0 && errno == EINTR)
				continue;
			if (put < 0) {
				cli_error("cannot write the copy: %s", strerror(errno));
				goto cleanup;
			}
			done += put;
		}
	}
	if (fsync(to) != 0) {
		cli_error("cannot sync the copy: %s", strerror(errno));
		goto cleanup;
	}
	result = 0;
cleanup:
	close(in);
	return result;
}

/* fsyncs the directory holding `path`, so that a rename in it is durable. */
static int sync_directory_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Refuses a backup that has a write-ahead log beside it: its last commits would be lost. */
static int check_no_wal(const char *source)
{
	struct buf wal = BUF_INIT;
	buf_addf(&wal, "%s-wal", source);
	struct stat info;
	int result = 0;
	if (stat(wal.data, &info) == 0 && info.st_size > 0) {
		cli_error("%s has a write-ahead log (%s) beside it; restore a file made by "
			  "crmctl backup, or a database closed cleanly",
			  source, wal.data);
		result = -1;
	}
	buf_release(&wal);
	return result;
}

int cli_restore(struct cli_context *cli, int argc, char **argv)
{
	const char *source = NULL;
	int result = cli_parse_options("restore", argc, argv, NULL, &source, 1);
	if (result != CLI_OK)
		return result;
	const char *target = cli->db_path;
	struct stat source_info, target_info;
	if (stat(source, &source_info) != 0) {
		cli_error("cannot read backup %s: %s", source, strerror(errno));
		return CLI_FAILED;
	}
	if (!S_ISREG(source_info.st_mode)) {
		cli_error("backup %s is not a regular file", source);
		return CLI_FAILED;
	}
	bool target_exists = stat(target, &target_info) == 0;
	if (target_exists && source_info.st_dev == target_info.st_dev &&
	    source_info.st_ino == target_info.st_ino) {
		cli_error("%s is the database itself", source);
		return CLI_FAILED;
	}
	if (check_no_wal(source) != 0)
		return CLI_FAILED;

	int lock_fd = -1;
	int locked = db_restore_lock(target, &lock_fd);
	if (locked == 1) {
		cli_error("a running crmd serves %s: stop it first (restore replaces the database "
			  "and needs the server stopped)",
			  target);
		return CLI_FAILED;
	}
	if (locked < 0) {
		cli_error("cannot lock %s: %s", target, strerror(errno));
		return CLI_FAILED;
	}

	result = CLI_FAILED;
	struct buf temporary = BUF_INIT;
	buf_addf(&temporary, "%s.restore-XXXXXX", target);
	int fd = mkstemp(temporary.data);
	if (fd < 0) {
		cli_error("cannot create a file beside %s: %s", target, strerror(errno));
		goto cleanup;
	}
	if (target_exists)
		fchmod(fd, target_info.st_mode & 0777);
	int copied = copy_into(source, fd);
	close(fd);
	if (copied != 0) {
		remove_with_side_files(temporary.data);
		goto cleanup;
	}
	int version;
	char why[256];
	if (db_check_file(temporary.data, &version, why, sizeof(why)) != 0) {
		remove_with_side_files(temporary.data);
		cli_error("%s cannot be restored: %s; the database is unchanged", source, why);
		goto cleanup;
	}
	/* The stale log of the old database must go before the new file takes its name:
	 * SQLite would otherwise replay it into the restored one. */
	remove_side_files(temporary.data);
	remove_side_files(target);
	if (rename(temporary.data, target) != 0) {
		cli_error("cannot replace %s: %s", target, strerror(errno));
		remove_with_side_files(temporary.data);
		goto cleanup;
	}
	if (sync_directory_of(target) != 0)
		cli_error("warning: cannot sync the directory of %s", target);
	printf("restored %s from %s (schema version %d)\n", target, source, version);
	result = CLI_OK;
cleanup:
	buf_release(&temporary);
	if (lock_fd >= 0)
		close(lock_fd);
	return result;
}
