/*
 * app.h - the request pipeline of crmd: health check, API routing with authentication,
 * CSRF and read-only checks, and the embedded web UI for everything else.
 */
#ifndef CRM_APP_H
#define CRM_APP_H

#include "crm/http.h"

struct router;

/* Builds the route table. Call once before serving. */
void app_init(void);
void app_free(void);
/* The http_handler_fn of crmd. */
void app_handle(struct request *req, struct response *res);
const struct router *app_router(void);

/*
 * The calling thread's database connection for handlers, or NULL after answering 503.
 * Handlers pass it to the data layer; they never run SQL themselves.
 */
struct db *app_db_or_reply(struct response *res);

#endif
