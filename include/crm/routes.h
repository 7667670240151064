/*
 * routes.h - every module's route registration, called once by app_init(). A new
 * resource adds its *_routes_register() here and in src/http/routes.c.
 */
#ifndef CRM_ROUTES_H
#define CRM_ROUTES_H

struct router;

void routes_register_all(struct router *router);

#endif
