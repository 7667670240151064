/*
 * contacts.h - the contacts resource (API.md section 5) on the generic resource mechanism
 * (resource.h): its descriptor. Other modules that serve
 * contacts/{id}/... routes use `contacts_resource` with resource_read_or_reply().
 */
#ifndef CRM_CONTACTS_H
#define CRM_CONTACTS_H

#include "crm/resource.h"


extern const struct resource contacts_resource;

/* Lifecycle values, NULL-terminated: lead, prospect, customer, churned. */
extern const char *const contacts_lifecycles[];


#endif
