/*
 * router.c - the route table. Each pattern is split into its segments once, when it is
 * added, and the routes are grouped by their number of segments: a path is compared only
 * with the routes of its own length, segment by segment, lengths first. Matching every
 * pattern with string scans was a tenth of the instructions of a GET by id (issue 6).
 */
#include "crm/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/banned.h"

#define ROUTER_MAX_SEGMENTS 32

/* One segment of a pattern: a literal, or a "{name}" capture. Points into the pattern. */
struct pattern_segment {
	const char *text;
	size_t len;
	bool capture;
};

/* A pattern split at add time; segment_count 0 when it can match no path. */
struct split_pattern {
	struct pattern_segment *segments; /* owned */
	int segment_count;
};

/* The indexes (into router.routes) of the routes with one number of segments. */
struct route_group {
	size_t *indexes;
	size_t count;
	size_t alloc;
};

struct router {
	struct route *routes;
	struct split_pattern *split; /* parallel to routes */
	size_t count;
	size_t alloc;
	struct route_group by_segments[ROUTER_MAX_SEGMENTS + 1];
};

struct router *router_new(void)
{
	return xcalloc(1, sizeof(struct router));
}

void router_free(struct router *router)
{
	if (!router)
		return;
	for (size_t i = 0; i < router->count; i++)
		free(router->split[i].segments);
	for (int i = 0; i <= ROUTER_MAX_SEGMENTS; i++)
		free(router->by_segments[i].indexes);
	free(router->split);
	free(router->routes);
	free(router);
}

/*
 * Splits `pattern` ("/api/v1/contacts/{id}"). A pattern that does not start with '/', or
 * has more segments than a path may have, matches nothing (segment_count 0).
 */
static struct split_pattern split_pattern(const char *pattern)
{
	struct split_pattern split = { NULL, 0 };
	if (pattern[0] != '/')
		return split;
	int count = 1;
	for (const char *p = pattern + 1; *p; p++)
		count += *p == '/';
	if (count > ROUTER_MAX_SEGMENTS)
		return split;
	split.segments = xcalloc((size_t)count, sizeof(*split.segments));
	const char *p = pattern + 1;
	for (int i = 0; i < count; i++) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		split.segments[i].text = p;
		split.segments[i].len = len;
		split.segments[i].capture = len >= 2 && p[0] == '{' && p[len - 1] == '}';
		p += len + 1;
	}
	split.segment_count = count;
	return split;
}

static void group_add(struct route_group *group, size_t index)
{
	if (group->count == group->alloc) {
		group->alloc = group->alloc ? group->alloc * 2 : 16;
		group->indexes = xrealloc(group->indexes, group->alloc * sizeof(*group->indexes));
	}
	group->indexes[group->count++] = index;
}

void router_add(struct router *router, const char *method, const char *pattern,
		http_handler_fn handler, unsigned flags)
{
	if (router->count == router->alloc) {
		router->alloc = router->alloc ? router->alloc * 2 : 32;
		router->routes = xrealloc(router->routes, router->alloc * sizeof(*router->routes));
		router->split = xrealloc(router->split, router->alloc * sizeof(*router->split));
	}
	size_t index = router->count++;
	router->routes[index] = (struct route){ method, pattern, handler, flags };
	router->split[index] = split_pattern(pattern);
	if (router->split[index].segment_count)
		group_add(&router->by_segments[router->split[index].segment_count], index);
}

void router_each(const struct router *router, void (*visit)(void *context, const struct route *),
		 void *context)
{
	for (size_t i = 0; i < router->count; i++)
		visit(context, &router->routes[i]);
}

/* A path split in place: segment texts (NUL-terminated) and their lengths. */
struct split_path {
	char *segments[ROUTER_MAX_SEGMENTS];
	size_t lengths[ROUTER_MAX_SEGMENTS];
	int count;
};

/*
 * Matches a split pattern against the path (of the same number of segments); on success
 * fills the captures. A capture never matches an empty segment.
 */
static bool pattern_matches(const struct split_pattern *pattern, const struct split_path *path,
			    const char **params, int *param_count)
{
	*param_count = 0;
	for (int i = 0; i < pattern->segment_count; i++) {
		const struct pattern_segment *segment = &pattern->segments[i];
		if (segment->capture) {
			if (!path->lengths[i] || *param_count >= HTTP_MAX_PATH_PARAMS)
				return false;
			params[(*param_count)++] = path->segments[i];
		} else if (segment->len != path->lengths[i] ||
			   memcmp(segment->text, path->segments[i], segment->len) != 0) {
			return false;
		}
	}
	return true;
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

/* Splits match->path_copy into segments in place; a trailing slash makes an empty last
 * segment. Returns -1 when the path has too many segments. */
static int split_path(char *path, struct split_path *split)
{
	split->count = 0;
	char *p = path + 1;
	for (;;) {
		if (split->count == ROUTER_MAX_SEGMENTS)
			return -1;
		char *slash = strchr(p, '/');
		split->segments[split->count] = p;
		split->lengths[split->count] = slash ? (size_t)(slash - p) : strlen(p);
		split->count++;
		if (!slash)
			return 0;
		*slash = '\0';
		p = slash + 1;
	}
}

/*
 * Which of the patterns that match one path are the path's routes: a literal segment wins
 * over a capture, from the left. So /contacts/import (POST) is the only route of the path
 * /contacts/import, and GET there is a 405, not a GET of a contact "import"; and
 * /contacts/external/{external_id} wins over /contacts/{id}/timeline, so "external" is
 * never taken for an id. The rank has a bit per capture, the first segment highest: the
 * lowest rank wins.
 */
static uint64_t pattern_rank(const struct split_pattern *pattern)
{
	uint64_t rank = 0;
	for (int i = 0; i < pattern->segment_count; i++)
		if (pattern->segments[i].capture)
			rank |= UINT64_C(1) << (ROUTER_MAX_SEGMENTS - 1 - i);
	return rank;
}

/* Adds `method` to the Allow list; HEAD with GET, which the router serves for it. */
static void allow_method(char *allow, size_t size, const char *method)
{
	add_allowed_method(allow, size, method);
	if (strcmp(method, "GET") == 0)
		add_allowed_method(allow, size, "HEAD");
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
	struct split_path split;
	if (split_path(match->path_copy, &split) != 0)
		return ROUTER_NOT_FOUND;

	const char *effective_method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	bool path_known = false;
	uint64_t best_rank = 0;
	const struct route_group *group = &router->by_segments[split.count];
	/* in the order the routes were added: of equal candidates, the first one wins */
	for (size_t i = 0; i < group->count; i++) {
		const struct route *route = &router->routes[group->indexes[i]];
		const char *params[HTTP_MAX_PATH_PARAMS];
		int param_count;
		const struct split_pattern *pattern = &router->split[group->indexes[i]];
		if (!pattern_matches(pattern, &split, params, &param_count))
			continue;
		uint64_t rank = pattern_rank(pattern);
		if (path_known && rank > best_rank)
			continue;
		if (!path_known || rank < best_rank) { /* a more specific pattern: start again */
			match->route = NULL;
			match->param_count = 0;
			match->allow[0] = '\0';
			best_rank = rank;
			path_known = true;
		}
		allow_method(match->allow, sizeof(match->allow), route->method);
		if (strcmp(route->method, effective_method) == 0 && !match->route) {
			match->route = route;
			match->param_count = param_count;
			memcpy(match->params, params, sizeof(params[0]) * (size_t)param_count);
		}
	}
	if (match->route)
		return ROUTER_FOUND;
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}
