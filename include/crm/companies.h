/*
 * companies.h - the companies resource (API.md section 5) on the generic resource
 * mechanism (resource.h): its descriptor.
 */
#ifndef CRM_COMPANIES_H
#define CRM_COMPANIES_H

#include <stdbool.h>

#include "crm/resource.h"


extern const struct resource companies_resource;


/* Whether `domain` is a host name: dot-separated labels of letters, digits and '-'. */
bool companies_domain_valid(const char *domain);

#endif
