/* test_router.c - route matching, captures, 405 with Allow, literal before capture; and the
 * indexed table against the plain scan of every pattern it replaced. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

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
	CHECK_STR("GET, HEAD, POST", match.allow);

	CHECK_INT(ROUTER_FOUND,
		  router_match(router, "PUT", "/api/v1/contacts/external/crm-7", &match));
	CHECK_STR("crm-7", match.params[0]);

	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1/contacts/42/x", &match));
	router_free(router);
}

/* A literal segment wins over a capture for the whole path, not only per method: no
 * method reaches a contact "import" or "external", and Allow names the literal route's. */
static void test_literal_segments_are_never_ids(void)
{
	struct router *router = router_new();
	router_add(router, "GET", "/api/v1/contacts/{id}", handler_a, 0);
	router_add(router, "DELETE", "/api/v1/contacts/{id}", handler_a, 0);
	router_add(router, "POST", "/api/v1/contacts/import", handler_b, 0);
	router_add(router, "GET", "/api/v1/contacts/{id}/timeline", handler_a, 0);
	router_add(router, "POST", "/api/v1/contacts/{id}/erase", handler_a, 0);
	router_add(router, "GET", "/api/v1/contacts/external/{external_id}", handler_b, 0);
	router_add(router, "PUT", "/api/v1/contacts/external/{external_id}", handler_b, 0);

	struct route_match match;
	CHECK_INT(ROUTER_METHOD_NOT_ALLOWED,
		  router_match(router, "GET", "/api/v1/contacts/import", &match));
	CHECK_STR("POST", match.allow);
	CHECK_INT(ROUTER_METHOD_NOT_ALLOWED,
		  router_match(router, "DELETE", "/api/v1/contacts/import", &match));
	CHECK_INT(ROUTER_FOUND, router_match(router, "DELETE", "/api/v1/contacts/7", &match));
	CHECK_STR("GET, HEAD, DELETE", match.allow);

	CHECK_INT(ROUTER_FOUND,
		  router_match(router, "GET", "/api/v1/contacts/external/timeline", &match));
	CHECK(match.route->handler == handler_b);
	CHECK_STR("timeline", match.params[0]);
	CHECK_INT(ROUTER_METHOD_NOT_ALLOWED,
		  router_match(router, "POST", "/api/v1/contacts/external/erase", &match));
	CHECK_STR("GET, HEAD, PUT", match.allow);
	CHECK_INT(ROUTER_FOUND, router_match(router, "POST", "/api/v1/contacts/7/erase", &match));
	CHECK_STR("7", match.params[0]);
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1/contacts/", &match));
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "/api/v1", &match));
	CHECK_INT(ROUTER_NOT_FOUND, router_match(router, "GET", "", &match));
	router_free(router);
}

/* ---------------------------------------------------------------- against a reference */

/*
 * The matcher as a scan of every pattern with string compares (as it was before the table
 * was indexed), keeping of the matching patterns the most specific ones (a literal segment
 * beats a capture, from the left): the indexed router must give the same answer for every
 * path.
 */
static bool reference_pattern_matches(const char *pattern, char **segments, int segment_count,
				      const char **params, int *param_count, char *shape)
{
	int index = 0;
	*param_count = 0;
	shape[0] = '\0';
	const char *p = pattern;
	while (*p) {
		if (*p != '/')
			return false;
		p++;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (index >= segment_count)
			return false;
		const char *segment = segments[index++];
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (!*segment || *param_count >= HTTP_MAX_PATH_PARAMS)
				return false;
			params[(*param_count)++] = segment;
			strcat(shape, "c");
		} else if (strlen(segment) != len || memcmp(segment, p, len) != 0) {
			return false;
		} else {
			strcat(shape, "a"); /* a literal sorts before a capture */
		}
		p += len;
	}
	return index == segment_count;
}

struct reference_route {
	const char *method, *pattern;
};

/* Returns the index of the route found (-1 none), and the allowed methods and captures. */
static int reference_match(const struct reference_route *routes, int count, const char *method,
			   const char *path, char *allow, char params_out[][64], int *params_count)
{
	char copy[ROUTER_PATH_MAX];
	allow[0] = '\0';
	*params_count = 0;
	size_t path_len = strlen(path);
	if (path_len >= sizeof(copy) || path[0] != '/')
		return -2;
	memcpy(copy, path, path_len + 1);
	char *segments[32];
	int segment_count = 0;
	char *p = copy + 1;
	for (;;) {
		if (segment_count == 32)
			return -2;
		segments[segment_count++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	const char *effective = strcmp(method, "HEAD") == 0 ? "GET" : method;
	/* the most specific shape of the matching patterns first, then its routes */
	char best[40] = "", shape[40];
	const char *params[HTTP_MAX_PATH_PARAMS];
	int n;
	bool known = false;
	for (int i = 0; i < count; i++) {
		if (reference_pattern_matches(routes[i].pattern, segments, segment_count, params, &n,
					      shape) &&
		    (!known || strcmp(shape, best) < 0)) {
			snprintf(best, sizeof(best), "%s", shape);
			known = true;
		}
	}
	int found = -1;
	for (int i = 0; i < count; i++) {
		if (!reference_pattern_matches(routes[i].pattern, segments, segment_count, params, &n,
					       shape) ||
		    strcmp(shape, best) != 0)
			continue;
		const char *names[2] = { routes[i].method,
					 strcmp(routes[i].method, "GET") == 0 ? "HEAD" : NULL };
		for (int k = 0; k < 2 && names[k]; k++) {
			if (!strstr(allow, names[k])) {
				size_t len = strlen(allow);
				snprintf(allow + len, 96 - len, "%s%s", len ? ", " : "", names[k]);
			}
		}
		if (strcmp(routes[i].method, effective) == 0 && found < 0) {
			found = i;
			for (int k = 0; k < n; k++)
				snprintf(params_out[k], 64, "%s", params[k]);
			*params_count = n;
		}
	}
	return found >= 0 ? found : known ? -1 : -2;
}

static void test_against_reference(void)
{
	static const struct reference_route routes[] = {
	    {"GET", "/api/v1/contacts"},
	    {"POST", "/api/v1/contacts"},
	    {"GET", "/api/v1/contacts/{id}"},
	    {"PATCH", "/api/v1/contacts/{id}"},
	    {"DELETE", "/api/v1/contacts/{id}"},
	    {"GET", "/api/v1/contacts/duplicates"},
	    {"GET", "/api/v1/contacts/{id}/timeline"},
	    {"POST", "/api/v1/contacts/{id}/erase"},
	    {"GET", "/api/v1/contacts/external/{external_id}"},
	    {"PUT", "/api/v1/contacts/external/{external_id}"},
	    {"GET", "/api/v1/companies"},
	    {"GET", "/api/v1/companies/{id}"},
	    {"GET", "/api/v1/{resource}/{id}/{a}/{b}/{c}"}, /* more captures than allowed */
	    {"GET", "/api/v1/{resource}/{id}/x"},
	    {"GET", "/api/v1/contacts/{id}/x"},
	    {"GET", "/api/v1/segments/{id}/members"},
	    {"POST", "/api/v1/segments/{id}/members"},
	    {"GET", "/api/v1/trailing/"},
	    {"GET", "api/v1/no-slash"},
	    {"GET", ""},
	    {"GET", "/"},
	    {"GET", "/api/v1/{}"},
	    {"GET", "/api/v1/{x"},
	    {"GET", "/api/v1/contacts"}, /* a duplicate: the first one wins */
	};
	int count = (int)(sizeof(routes) / sizeof(routes[0]));
	struct router *router = router_new();
	for (int i = 0; i < count; i++)
		router_add(router, routes[i].method, routes[i].pattern, handler_a, (unsigned)i);
	static const char *const paths[] = {
	    "/api/v1/contacts",
	    "/api/v1/contacts/",
	    "/api/v1/contacts/7",
	    "/api/v1/contacts/duplicates",
	    "/api/v1/contacts/7/timeline",
	    "/api/v1/contacts/7/erase",
	    "/api/v1/contacts/external/a-b",
	    "/api/v1/contacts/external/",
	    "/api/v1/contacts/external",
	    "/api/v1/companies/3",
	    "/api/v1/companies/3/x",
	    "/api/v1/contacts/3/x",
	    "/api/v1/deals/3/x",
	    "/api/v1/a/b/c/d/e",
	    "/api/v1/segments/1/members",
	    "/api/v1/trailing/",
	    "/api/v1/trailing",
	    "api/v1/no-slash",
	    "/",
	    "",
	    "//",
	    "/api//contacts",
	    "/api/v1/{}",
	    "/api/v1/{x",
	    "/api/v1/contacts/7/",
	    "/api/v1/contact",
	    "/api/v1/contactss",
	    "/API/v1/contacts",
	    "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28/29/30/31/"
	    "32",
	    "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28/29/30/31/"
	    "32/33",
	};
	static const char *const methods[] = {"GET",   "HEAD",   "POST",   "PUT",
					      "PATCH", "DELETE", "OPTIONS"};
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			char allow[96], params[HTTP_MAX_PATH_PARAMS][64];
			int params_count;
			int expected = reference_match(routes, count, methods[m], paths[p], allow,
						       params, &params_count);
			struct route_match match;
			enum router_result result =
			    router_match(router, methods[m], paths[p], &match);
			CHECK_INT(expected >= 0    ? ROUTER_FOUND
				  : expected == -1 ? ROUTER_METHOD_NOT_ALLOWED
						   : ROUTER_NOT_FOUND,
				  result);
			if (result == ROUTER_FOUND) {
				CHECK_INT(expected, (int)match.route->flags);
				CHECK_INT(params_count, match.param_count);
				for (int k = 0; k < params_count && k < match.param_count; k++)
					CHECK_STR(params[k], match.params[k]);
			}
			if (result != ROUTER_NOT_FOUND)
				CHECK_STR(allow, match.allow);
		}
	}
	router_free(router);
}

int main(void)
{
	RUN(test_routes);
	RUN(test_literal_segments_are_never_ids);
	RUN(test_against_reference);
	return check_finish();
}
