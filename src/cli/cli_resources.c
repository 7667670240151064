/*
 * cli_resources.c - crmctl resource list|sql: the registered resource descriptors, and the
 * migration SQL one of them needs (resource_schema.h), for adding a resource
 * (docs/adding-a-resource.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/resource.h"
#include "crm/resource_schema.h"
#include "crm/banned.h"

int cli_resource_list(struct cli_context *cli, int argc, char **argv)
{
	(void)cli;
	int result = cli_parse_options("resource list", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	const struct resource *resource;
	for (int i = 0; (resource = resource_at(i)) != NULL; i++) {
		printf("%s\ttable %s\tsearch %s\tevents", resource->name, resource->table,
		       resource->fts_table ? resource->fts_table : "-");
		for (int e = 0; resource->events && resource->events[e]; e++)
			printf("%s%s.%s", e ? "," : " ", resource->singular, resource->events[e]);
		printf("%s\n", resource->events && resource->events[0] ? "" : " -");
	}
	return CLI_OK;
}

int cli_resource_sql(struct cli_context *cli, int argc, char **argv)
{
	(void)cli;
	const char *name = NULL;
	int result = cli_parse_options("resource sql", argc, argv, NULL, &name, 1);
	if (result != CLI_OK)
		return result;
	const struct resource *resource = resource_find(name);
	if (!resource)
		return cli_usage_error("resource sql", "unknown resource '%s' (see crmctl resource "
						       "list)", name);
	struct buf sql = BUF_INIT;
	resource_schema_sql(resource, resource_find, &sql);
	fputs(sql.data, stdout);
	buf_release(&sql);
	return CLI_OK;
}
