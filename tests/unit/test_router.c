/* test_router.c - route matching, captures, 405 with Allow, literal before capture. */
#include "check.h"
#include "crm/router.h"

static void handler_a(struct request *req, struct response *res) { (void)req; (void)res; }
static void handler_b(struct request *req, struct response *res) { (void)req; (void)res; }

static void test_routes(void)
{
	struct router *router = router_new();
	router_add(router, "GET", "/api/v1/contacts", handler_a, 0);
	router_add(router, "POST", "/api/v1/contacts", handler_a, 0);
	router_add(router, "GET", "/api/v1/contacts/{id}", handler_a, 0);
	router_add(router, "PATCH", "/api/v1/contacts/{id}", handler_a, 0);
	router_add(router, "GET", "/api/v1/contacts/duplicates", handler_b, 0);
	router_add(router, "PUT", "/api/v1/contacts/external/{external_id}", handler_b, 0);

	struct route_match match;
	CHECK_INT(ROUTER_FOUND, router_match(router, "GET", "/api/v1/contacts/42", &match));
	CHECK_INT(1, match.param_count);
	CHECK_STR("42", match.params[0]);
	CHECK(match.route->handler == handler_a);

	CHECK_INT(ROUTER_FOUND, router_match(router, "GET", "/api/v1/contacts/duplicates", &match));
	CHECK(match.route->handler == handler_b);
	CHECK_INT(0, match.param_count);

	CHECK_INT(ROUTER_FOUND, router_match(router, "HEAD", "/api/v1/contacts", &match));

	CHECK_INT(ROUTER_METHOD_NOT_ALLOWED, router_match(router, "DELETE", "/api/v1/contacts", &match));
	CHECK_STR("GET, POST", match.allow);

	CHECK_INT(ROUTER_FOUND,
		  router_match(router, "PUT", "/api/v1/contacts/external/crm-7", &match));
	CHECK_STR("crm-7", match.params[0]);

	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1/contacts/42/x", &match));
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1/contacts/", &match));
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1", &match));
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "", &match));
	router_free(router);
}

int main(void)
{
	RUN(test_routes);
	return check_finish();
}
