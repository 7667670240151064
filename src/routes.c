/*
 * routes.c - the one list of modules that serve API routes.
 */
#include "crm/routes.h"

#include "crm/auth.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/router.h"
#include "crm/users.h"
#include "crm/banned.h"

void routes_register_all(struct router *router)
{
	(void)router;
	auth_routes_register(router);
	users_routes_register(router);
	companies_routes_register(router);
	contacts_routes_register(router);
}
