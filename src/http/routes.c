/*
 * routes.c - the one list of modules that serve API routes, and of the built-in resource
 * descriptors. A resource with only a descriptor (no module routes) is served by the
 * generic routes once it is registered (resource_register()).
 */
#include "crm/routes.h"

#include <stdbool.h>

#include "crm/analytics.h"
#include "crm/api_keys.h"
#include "crm/audit_api.h"
#include "crm/auth.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/contacts_import.h"
#include "crm/contacts_merge.h"
#include "crm/gdpr.h"
#include "crm/interactions.h"
#include "crm/meta.h"
#include "crm/openapi.h"
#include "crm/opportunities.h"
#include "crm/pipeline.h"
#include "crm/purchases.h"
#include "crm/resource_http.h"
#include "crm/router.h"
#include "crm/segments.h"
#include "crm/two_factor_http.h"
#include "crm/tasks.h"
#include "crm/timeline.h"
#include "crm/user_directory.h"
#include "crm/users.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

/* In this order: permission names and event names follow it (registry.h). */
static const struct resource *const builtin_resources[] = {
	&contacts_resource, &companies_resource, &interactions_resource, &tasks_resource,
	&opportunities_resource, &purchases_resource, &segments_resource, &webhooks_resource,
	NULL,
};

void routes_register_resources(void)
{
	for (int i = 0; builtin_resources[i]; i++)
		resource_register(builtin_resources[i]);
}

static bool builtin(const struct resource *resource)
{
	for (int i = 0; builtin_resources[i]; i++)
		if (builtin_resources[i] == resource)
			return true;
	return false;
}

void routes_register_all(struct router *router)
{
	routes_register_resources();
	auth_routes_register(router);
	two_factor_routes_register(router);
	users_routes_register(router);
	user_directory_routes_register(router);
	api_keys_routes_register(router);
	openapi_routes_register(router);
	resource_routes_register(router, &companies_resource);
	resource_routes_register(router, &contacts_resource);
	segments_routes_register(router);
	resource_routes_register(router, &interactions_resource);
	resource_routes_register(router, &tasks_resource);
	opportunities_routes_register(router);
	pipeline_routes_register(router);
	resource_routes_register(router, &purchases_resource);
	timeline_routes_register(router);
	analytics_routes_register(router);
	audit_api_routes_register(router);
	gdpr_routes_register(router);
	contacts_import_routes_register(router);
	contacts_merge_routes_register(router);
	webhooks_routes_register(router);
	meta_routes_register(router);
	const struct resource *resource;
	for (int i = 0; (resource = resource_at(i)) != NULL; i++)
		if (!builtin(resource))
			resource_routes_register(router, resource);
}
