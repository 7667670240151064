/*
 * companies.h - the companies resource (API.md section 5) on the generic resource
 * mechanism (resource.h): its descriptor and route registration.
 */
#ifndef CRM_COMPANIES_H
#define CRM_COMPANIES_H

#include <stdbool.h>

#include "crm/resource.h"

struct router;

extern const struct resource companies_resource;

/* Registers the generic routes of /api/v1/companies. */
void companies_routes_register(struct router *router);

/* Whether `domain` is a host name: dot-separated labels of letters, digits and '-'. */
bool companies_domain_valid(const char *domain);

#endif
