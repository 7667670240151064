/*
 * router.c - a linear route table. With a few dozen routes a scan over pre-split
 * patterns is faster than anything cleverer and easy to read.
 */
#include "crm/router.h"

#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/banned.h"

struct router {
	struct route *routes;
	size_t count;
	size_t alloc;
};

struct router *router_new(void)
{
	return xcalloc(1, sizeof(struct router));
}

void router_free(struct router *router)
{
	if (!router)
		return;
	free(router->routes);
	free(router);
}

void router_add(struct router *router, const char *method, const char *pattern,
		http_handler_fn handler, unsigned flags)
{
	if (router->count == router->alloc) {
		router->alloc = router->alloc ? router->alloc * 2 : 32;
		router->routes = xrealloc(router->routes, router->alloc * sizeof(*router->routes));
	}
	router->routes[router->count++] = (struct route){ method, pattern, handler, flags };
}

void router_each(const struct router *router, void (*visit)(void *context, const struct route *),
		 void *context)
{
	for (size_t i = 0; i < router->count; i++)
		visit(context, &router->routes[i]);
}

/*
 * Matches `pattern` against the path split into `segments`; on success fills the
 * captures. A capture never matches an empty segment.
 */
static bool pattern_matches(const char *pattern, char **segments, int segment_count,
			    const char **params, int *param_count)
{
	int index = 0;
	*param_count = 0;
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
		} else if (strlen(segment) != len || memcmp(segment, p, len) != 0) {
			return false;
		}
		p += len;
	}
	return index == segment_count;
}

static void add_allowed_method(char *allow, size_t size, const char *method)
{
	size_t len = strlen(allow);
	size_t method_len = strlen(method);
	/* avoid duplicates like "GET, GET" */
	for (const char *p = allow; (p = strstr(p, method)); p += method_len)
		if ((p == allow || p[-1] == ' ') && (p[method_len] == ',' || p[method_len] == '\0'))
			return;
	if (len + method_len + 3 >= size)
		return;
	if (len) {
		memcpy(allow + len, ", ", 2);
		len += 2;
	}
	memcpy(allow + len, method, method_len + 1);
}

enum router_result router_match(const struct router *router, const char *method,
				const char *path, struct route_match *match)
{
	match->route = NULL;
	match->param_count = 0;
	match->allow[0] = '\0';
	size_t path_len = strlen(path);
	if (path_len >= sizeof(match->path_copy) || path[0] != '/')
		return ROUTER_NOT_FOUND;
	memcpy(match->path_copy, path, path_len + 1);

	/* Split into segments in place; a trailing slash makes an empty last segment. */
	char *segments[32];
	int segment_count = 0;
	char *p = match->path_copy + 1;
	for (;;) {
		if (segment_count == 32)
			return ROUTER_NOT_FOUND;
		segments[segment_count++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}

	const char *effective_method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	bool path_known = false;
	for (size_t i = 0; i < router->count; i++) {
		const struct route *route = &router->routes[i];
		const char *params[HTTP_MAX_PATH_PARAMS];
		int param_count;
		if (!pattern_matches(route->pattern, segments, segment_count, params, &param_count))
			continue;
		path_known = true;
		add_allowed_method(match->allow, sizeof(match->allow), route->method);
		/* A literal segment wins over a capture: contacts/duplicates before contacts/{id}. */
		if (strcmp(route->method, effective_method) == 0 &&
		    (!match->route || param_count < match->param_count)) {
			match->route = route;
			match->param_count = param_count;
			memcpy(match->params, params, sizeof(params[0]) * (size_t)param_count);
		}
	}
	if (match->route)
		return ROUTER_FOUND;
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}
