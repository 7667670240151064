/*
 * cli_segments.c - crmctl segment export ID: a segment's members as CSV on stdout, the
 * same CSV as GET /api/v1/segments/{id}/export (segments_export_csv), with every contact
 * readable (crmctl works on the database as its administrator).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "crm/buf.h"
#include "crm/resource_store.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/segments.h"
#include "crm/banned.h"

int cli_segment_export(struct cli_context *cli, int argc, char **argv)
{
	const char *id_text = NULL;
	int result = cli_parse_options("segment export", argc, argv, NULL, &id_text, 1);
	if (result != CLI_OK)
		return result;
	int64_t id;
	if (resource_parse_id(id_text, &id) != 0)
		return cli_usage_error("segment export", "'%s' is not a segment id", id_text);
	json_t *segment = NULL;
	struct buf csv = BUF_INIT;
	int status = resource_store_get(cli->db, &segments_resource, id, &segment);
	if (status == DB_NOT_FOUND) {
		cli_error("there is no segment %lld", (long long)id);
		result = CLI_FAILED;
		goto cleanup;
	}
	const struct segments_viewer everyone = { PERM_SCOPE_ALL, 0, "", PERM_SCOPE_ALL };
	if (status == DB_OK)
		status = segments_export_csv(cli->db, segment, &everyone, &csv);
	if (status == SEGMENTS_RULE_INVALID) {
		cli_error("the rule of segment %lld is not valid any more", (long long)id);
		result = CLI_FAILED;
		goto cleanup;
	}
	if (status != DB_OK) {
		cli_error("cannot read segment %lld from %s", (long long)id, cli->db_path);
		result = CLI_FAILED;
		goto cleanup;
	}
	if (fwrite(csv.data, 1, csv.len, stdout) != csv.len || fflush(stdout) != 0) {
		cli_error("cannot write the CSV to stdout");
		result = CLI_FAILED;
		goto cleanup;
	}
	result = CLI_OK;
cleanup:
	buf_release(&csv);
	json_decref(segment);
	return result;
}
