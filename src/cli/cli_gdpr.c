/*
 * cli_gdpr.c - crmctl gdpr export ID | gdpr erase ID | gdpr purge [--vacuum]: the GDPR
 * functions of gdpr.h from the command line (as crmctl: every contact, audited with actor
 * crmctl), and the purge that removes the physical remains of erased text from the files
 * (gdpr_purge.c, which crmd also runs after erasures).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "crm/audit.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/gdpr.h"
#include "crm/json.h"
#include "crm/resource.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* Parses the one positional contact id of `words`. Returns CLI_OK or CLI_USAGE. */
static int contact_id_argument(const char *words, int argc, char **argv, int64_t *id)
{
	const char *text = NULL;
	int result = cli_parse_options(words, argc, argv, NULL, &text, 1);
	if (result != CLI_OK)
		return result;
	if (resource_parse_id(text, id) != 0)
		return cli_usage_error(words, "'%s' is not a contact id", text);
	return CLI_OK;
}

int cli_gdpr_export(struct cli_context *cli, int argc, char **argv)
{
	int64_t id;
	int result = contact_id_argument("gdpr export", argc, argv, &id);
	if (result != CLI_OK)
		return result;
	json_t *document = NULL;
	int status = gdpr_contact_export(cli->db, id, &document);
	if (status == DB_NOT_FOUND) {
		cli_error("there is no contact %lld", (long long)id);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("cannot read contact %lld from %s", (long long)id, cli->db_path);
		return CLI_FAILED;
	}
	char *text = json_dumps(document, JSON_INDENT(2));
	json_decref(document);
	result = CLI_OK;
	if (!text || fputs(text, stdout) < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		cli_error("cannot write to stdout");
		result = CLI_FAILED;
	}
	free(text);
	return result;
}

int cli_gdpr_erase(struct cli_context *cli, int argc, char **argv)
{
	int64_t id;
	int result = contact_id_argument("gdpr erase", argc, argv, &id);
	if (result != CLI_OK)
		return result;
	int status = db_begin_write(cli->db);
	if (status != DB_OK) {
		cli_error("the database is busy; try again");
		return CLI_FAILED;
	}
	struct gdpr_erase_counts counts;
	status = gdpr_contact_erase(cli->db, id, 0, 0, AUDIT_ACTOR_CLI, &counts);
	if (status == DB_OK)
		status = db_commit(cli->db);
	else
		db_rollback(cli->db);
	if (status == DB_NOT_FOUND) {
		cli_error("there is no contact %lld", (long long)id);
		return CLI_FAILED;
	}
	if (status != DB_OK) {
		cli_error("cannot erase contact %lld (database status %d); nothing was changed",
			  (long long)id, status);
		return CLI_FAILED;
	}
	printf("erased contact %lld: %lld interactions, %lld tasks, %lld opportunities cleared, "
	       "%lld purchases kept anonymous, %lld audit entries redacted; run crmctl gdpr purge "
	       "to remove the remains from the database file\n",
	       (long long)id, (long long)counts.interactions, (long long)counts.tasks,
	       (long long)counts.opportunities, (long long)counts.purchases_kept,
	       (long long)counts.audit_entries);
	return CLI_OK;
}

int cli_gdpr_purge(struct cli_context *cli, int argc, char **argv)
{
	bool vacuum = false;
	const struct cli_option options[] = {
		{ "--vacuum", NULL, &vacuum },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("gdpr purge", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	int64_t started = time_monotonic_us();
	struct gdpr_purge_result purged;
	int status = gdpr_purge(cli->db, vacuum ? GDPR_PURGE_VACUUM : GDPR_PURGE_PLAIN, NULL,
				 &purged);
	for (int t = 0; gdpr_fts_tables[t] && t < GDPR_FTS_TABLES_MAX && purged.steps[t] > 0; t++)
		printf("merged the full-text index %s (%d steps)\n", gdpr_fts_tables[t],
		       purged.steps[t]);
	if (purged.vacuumed)
		printf("vacuumed the database\n");
	bool complete = purged.wal_truncated;
	int64_t pending = purged.pending;
	if (status != DB_OK) {
		cli_error("the purge stopped (database status %d); run it again", status);
		return CLI_FAILED;
	}
	if (!complete) {
		cli_error("the write-ahead log is still in use by another connection: run the purge "
			  "again when crmd is idle (or stopped) to truncate it");
		return CLI_FAILED;
	}
	printf("purged after %lld erasure%s in %.1f s: the write-ahead log is truncated\n",
	       (long long)pending, pending == 1 ? "" : "s",
	       (double)(time_monotonic_us() - started) / 1e6);
	return CLI_OK;
}
