/*
 * cli_import.c - crmctl import contacts FILE.csv [--dedupe email] [--dry-run] [--owner EMAIL]
 * [--map "HEADER=FIELD"]... [--map-file FILE]... [--ignore HEADER]...: the CSV import of
 * contacts_import.h on the database file, as crmctl (no permission checks; audited with
 * actor crmctl). FILE "-" reads standard input.
 *
 * Output: one summary line on stdout; each bad row as "line N: field: message" on stderr
 * (then nothing was imported, exit 1). On imports of CONTACTS_IMPORT_PROGRESS_EVERY rows
 * or more, a progress line goes to stderr every that many rows of each phase (checking,
 * then writing), whether stderr is a terminal or not (on a terminal it is rewritten in
 * place), so that logs of scheduled imports show it too.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/contacts_import.h"
#include "crm/db.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

/* Reads all of `path` ("-": stdin) into `out`. Returns 0, or -1 after an error message. */
static int read_whole_file(const char *path, struct buf *out)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *file = is_stdin ? stdin : fopen(path, "rb");
	if (!file) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0)
		buf_add(out, chunk, got);
	bool failed = ferror(file) != 0;
	if (!is_stdin)
		fclose(file);
	if (failed) {
		cli_error("cannot read %s", path);
		return -1;
	}
	return 0;
}

struct progress_state {
	bool terminal;
	bool shown;    /* a progress line was printed (the final one then follows) */
	int64_t started;
};

/* Prints "import: 20000 rows checked" (of N when known) on stderr: see the top. */
static void show_progress(void *context, const char *phase, size_t done, size_t total)
{
	struct progress_state *state = context;
	bool final = done % CONTACTS_IMPORT_PROGRESS_EVERY != 0 || (total && done == total);
	if (done < CONTACTS_IMPORT_PROGRESS_EVERY && !state->shown)
		return; /* short imports need no progress */
	state->shown = true;
	double seconds = (double)(time_monotonic_us() - state->started) / 1e6;
	if (total)
		fprintf(stderr, "%simport: %zu of %zu rows %s (%.1f s)%s", state->terminal ? "\r" : "",
			done, total, phase, seconds, state->terminal && !final ? "" : "\n");
	else
		fprintf(stderr, "%simport: %zu rows %s (%.1f s)%s", state->terminal ? "\r" : "", done,
			phase, seconds, state->terminal && !final ? "" : "\n");
	fflush(stderr);
}

/*
 * Adds the mappings of --map-file `path`: one "HEADER=FIELD" a line (blank lines and lines
 * starting with '#' skipped, CRLF allowed). Returns CLI_OK, CLI_FAILED when the file cannot
 * be read, or CLI_USAGE naming the bad line.
 */
static int read_mapping_file(const char *path, struct contacts_import_mapping *mapping)
{
	struct buf text = BUF_INIT;
	if (read_whole_file(path, &text) != 0) {
		buf_release(&text);
		return CLI_FAILED;
	}
	int result = CLI_OK;
	size_t number = 0;
	for (char *line = text.data; result == CLI_OK && line && *line; number++) {
		char *end = strchr(line, '\n');
		char *next = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (line[strspn(line, " \t")] && line[strspn(line, " \t")] != '#') {
			struct buf error = BUF_INIT;
			if (contacts_import_mapping_add(mapping, line, '=', false, &error) != 0)
				result = cli_usage_error("import contacts", "%s line %zu: %s", path,
							 number + 1, error.data);
			buf_release(&error);
		}
		line = next;
	}
	buf_release(&text);
	return result;
}

/*
 * Moves the repeatable --map "HEADER=FIELD", --map-file FILE and --ignore HEADER (also
 * --map=..., up to a "--") out of argv into `mapping`, leaving the other arguments in
 * `rest` (argc in *rest_count). Returns CLI_OK, or CLI_USAGE after the message and the
 * usage (CLI_FAILED when a mapping file cannot be read).
 */
static int take_mapping_options(int argc, char **argv, char **rest, int *rest_count,
				struct contacts_import_mapping *mapping)
{
	*rest_count = 0;
	bool options_over = false;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		bool is_map = strncmp(arg, "--map", 5) == 0 && (!arg[5] || arg[5] == '=');
		bool is_ignore = strncmp(arg, "--ignore", 8) == 0 && (!arg[8] || arg[8] == '=');
		bool is_file = strncmp(arg, "--map-file", 10) == 0 && (!arg[10] || arg[10] == '=');
		if (strcmp(arg, "--") == 0)
			options_over = true;
		if (options_over || (!is_map && !is_ignore && !is_file)) {
			rest[(*rest_count)++] = argv[i];
			continue;
		}
		const char *name = is_map ? "--map" : is_file ? "--map-file" : "--ignore";
		const char *value = strchr(arg, '=');
		if (value) {
			value++;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return cli_usage_error("import contacts", "%s needs a value", name);
		}
		if (is_file) {
			int result = read_mapping_file(value, mapping);
			if (result != CLI_OK)
				return result;
			continue;
		}
		struct buf error = BUF_INIT;
		if (contacts_import_mapping_add(mapping, value, '=', is_ignore, &error) != 0) {
			int result = cli_usage_error("import contacts", "%s: %s", name, error.data);
			buf_release(&error);
			return result;
		}
		buf_release(&error);
	}
	return CLI_OK;
}

int cli_import_contacts(struct cli_context *cli, int argc, char **argv)
{
	const char *path = NULL, *dedupe = NULL, *owner = NULL;
	bool dry_run = false;
	const struct cli_option options[] = {
		{ "--dedupe", &dedupe, NULL },
		{ "--dry-run", NULL, &dry_run },
		{ "--owner", &owner, NULL },
		{ NULL, NULL, NULL },
	};
	struct contacts_import_mapping mapping;
	contacts_import_mapping_init(&mapping);
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	int rest_count;
	int result = take_mapping_options(argc, argv, rest, &rest_count, &mapping);
	if (result == CLI_OK)
		result = cli_parse_options("import contacts", rest_count, rest, options, &path, 1);
	free(rest);
	if (result != CLI_OK) {
		contacts_import_mapping_release(&mapping);
		return result;
	}
	struct contacts_import_options import = { .dry_run = dry_run, .mapping = &mapping };
	if (dedupe && strcmp(dedupe, "email") == 0)
		import.dedupe = CONTACTS_IMPORT_DEDUPE_EMAIL;
	struct buf text = BUF_INIT;
	struct contacts_import_report report;
	contacts_import_report_init(&report);
	result = CLI_FAILED;
	if (dedupe && strcmp(dedupe, "none") != 0 && !import.dedupe) {
		result = cli_usage_error("import contacts", "--dedupe takes email (or none)");
		goto cleanup;
	}
	if (owner) {
		struct user user;
		int status = users_store_get_by_email(cli->db, owner, &user, NULL, 0);
		if (status == DB_NOT_FOUND) {
			cli_error("there is no user %s", owner);
			goto cleanup;
		}
		if (status != DB_OK) {
			cli_error("cannot read the users of %s", cli->db_path);
			goto cleanup;
		}
		import.default_owner_id = user.id;
	}
	if (read_whole_file(path, &text) != 0)
		goto cleanup;
	struct progress_state progress = { isatty(STDERR_FILENO) == 1, false, time_monotonic_us() };
	import.progress = show_progress;
	import.progress_context = &progress;
	int status = contacts_import_csv(cli->db, text.data, text.len, &import, &report);
	size_t index;
	json_t *error;
	json_array_foreach(report.errors, index, error)
		fprintf(stderr, "line %lld: %s: %s\n",
			(long long)json_integer_value(json_object_get(error, "line")),
			json_string_value(json_object_get(error, "field")),
			json_string_value(json_object_get(error, "message")));
	if (status == DB_BUSY) {
		cli_error("the database is busy; try again");
		goto cleanup;
	}
	if (status != DB_OK) {
		cli_error("cannot import into %s (database status %d); nothing was imported",
			  cli->db_path, status);
		goto cleanup;
	}
	if (json_array_size(report.errors)) {
		cli_error("%s%zu error%s; nothing was imported", report.errors_truncated ? "more than " : "",
			  json_array_size(report.errors), json_array_size(report.errors) == 1 ? "" : "s");
		goto cleanup;
	}
	double seconds = (double)(time_monotonic_us() - progress.started) / 1e6;
	printf("%s %zu rows: %zu created, %zu updated, %zu unchanged, %zu companies created "
	       "(%.1f s)\n",
	       dry_run ? "dry run, nothing written:" : "imported", report.rows, report.created,
	       report.updated, report.unchanged, report.companies_created, seconds);
	result = CLI_OK;
cleanup:
	contacts_import_report_release(&report);
	contacts_import_mapping_release(&mapping);
	buf_release(&text);
	return result;
}
