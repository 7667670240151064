/*
 * cli_export.c - crmctl export contacts [--format csv|json]: every contact that is not
 * erased, by id, on stdout, read in one read transaction (a consistent snapshot, also
 * while crmd writes). CSV has the columns of contacts_export_csv_row(), which
 * `crmctl import contacts` reads back; JSON is one array of the records as the API shows
 * them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/contacts_import.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/banned.h"

#define EXPORT_PAGE 500

/* The name of company `id` (borrowed from `names`, a cache id -> name), or NULL. */
static const char *company_name(struct db *db, json_t *names, int64_t id, int *status)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	json_t *known = json_object_get(names, key);
	if (!known) {
		json_t *company = NULL;
		*status = resource_store_get(db, &companies_resource, id, &company);
		if (*status == DB_NOT_FOUND)
			*status = DB_OK;
		const json_t *name = json_object_get(company, "name");
		known = json_is_string(name) ? json_string(json_string_value(name)) : json_null();
		json_object_set_new(names, key, known);
		json_decref(company);
	}
	return json_string_value(known);
}

/* Writes one page of records to `out` in the format. Returns a db_status. */
static int add_page(struct db *db, const json_t *rows, bool json, bool *first, json_t *names,
		    struct buf *out)
{
	size_t index;
	json_t *contact;
	json_array_foreach(rows, index, contact) {
		if (json) {
			char *text = json_to_text(contact, NULL);
			buf_addf(out, "%s%s", *first ? "\n" : ",\n", text);
			free(text);
		} else {
			const json_t *company_id = json_object_get(contact, "company_id");
			int status = DB_OK;
			const char *name = json_is_integer(company_id)
						   ? company_name(db, names, json_integer_value(company_id),
								  &status)
						   : NULL;
			if (status != DB_OK)
				return status;
			contacts_export_csv_row(out, contact, name);
		}
		*first = false;
	}
	return DB_OK;
}

int cli_export_contacts(struct cli_context *cli, int argc, char **argv)
{
	const char *format = NULL;
	const struct cli_option options[] = {
		{ "--format", &format, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("export contacts", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("export contacts", "--format takes csv or json");
	bool json = format && strcmp(format, "json") == 0;

	struct buf out = BUF_INIT;
	json_t *names = json_object();
	struct resource_query query;
	resource_query_init(&query);
	query.scope = PERM_SCOPE_ALL;
	query.limit = EXPORT_PAGE;
	result = CLI_FAILED;
	int status = db_begin_read(cli->db);
	if (status != DB_OK) {
		cli_error("cannot read %s", cli->db_path);
		goto cleanup;
	}
	if (json)
		buf_adds(&out, "[");
	else
		contacts_export_csv_header(&out);
	bool first = true, more = true;
	while (more && status == DB_OK) {
		json_t *rows = NULL;
		status = resource_store_list(cli->db, &contacts_resource, &query, &rows, &more);
		if (status == DB_OK)
			status = add_page(cli->db, rows, json, &first, names, &out);
		size_t count = json_array_size(rows);
		if (count) {
			query.has_cursor = true;
			query.cursor_id = json_integer_value(json_object_get(json_array_get(rows, count - 1),
									     "id"));
		}
		json_decref(rows);
		if (fwrite(out.data, 1, out.len, stdout) != out.len) {
			cli_error("cannot write to stdout");
			db_rollback(cli->db);
			goto cleanup;
		}
		buf_reset(&out);
	}
	db_rollback(cli->db); /* only read */
	if (status != DB_OK) {
		cli_error("cannot read the contacts of %s (database status %d)", cli->db_path, status);
		goto cleanup;
	}
	if (json)
		buf_adds(&out, first ? "]\n" : "\n]\n");
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		cli_error("cannot write to stdout");
		goto cleanup;
	}
	result = CLI_OK;
cleanup:
	resource_query_release(&query);
	json_decref(names);
	buf_release(&out);
	return result;
}
