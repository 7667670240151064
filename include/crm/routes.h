/*
 * routes.h - the one list of modules that serve API routes and of the resource descriptors
 * they bring (src/http/routes.c), called once by app_init().
 */
#ifndef CRM_ROUTES_H
#define CRM_ROUTES_H

struct router;

/*
 * Registers every built-in resource descriptor (resource_register()), in the order that
 * permission and event names follow. Call at start-up before the database is written
 * (migrations included: their commits index pending full-text rows of these resources):
 * crmd, crmctl and tests that write. Harmless to call again.
 */
void routes_register_resources(void);

/*
 * Registers every module's routes, then the generic routes of any resource registered
 * without a module of its own (one that only has a descriptor and a migration).
 */
void routes_register_all(struct router *router);

#endif
