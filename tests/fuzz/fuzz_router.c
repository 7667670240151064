/*
 * fuzz_router.c - the router over crmd's real route table: "METHOD PATH" (the method up
 * to the first space). Properties: a match captures 1..HTTP_MAX_PATH_PARAMS non-empty
 * segments without '/', the route's method is the one asked (HEAD: GET), a 405 lists the
 * allowed methods, and resource_parse_id() on every capture is sane.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crm/app.h"
#include "crm/resource.h"
#include "crm/router.h"
#include "fuzz.h"
#include "crm/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	if (!initialised) {
		app_init();
		initialised = 1;
	}
	char *text = fuzz_text(data, size);
	char *space = strchr(text, ' ');
	const char *method = "GET";
	const char *path = text;
	if (space) {
		*space = '\0';
		method = text;
		path = space + 1;
	}
	struct route_match match;
	enum router_result result = router_match(app_router(), method, path, &match);
	if (result == ROUTER_FOUND) {
		const char *expected = strcmp(method, "HEAD") == 0 ? "GET" : method;
		if (strcmp(match.route->method, expected) != 0)
			fuzz_fail("%s %s matched a %s route", method, path, match.route->method);
		if (match.param_count < 0 || match.param_count > HTTP_MAX_PATH_PARAMS)
			fuzz_fail("%d captures", match.param_count);
		int braces = 0;
		for (const char *p = match.route->pattern; *p; p++)
			braces += *p == '{';
		if (braces != match.param_count)
			fuzz_fail("%d captures for %s", match.param_count, match.route->pattern);
		for (int i = 0; i < match.param_count; i++) {
			if (!match.params[i][0] || strchr(match.params[i], '/'))
				fuzz_fail("capture \"%s\" of %s", match.params[i], path);
			int64_t id;
			if (resource_parse_id(match.params[i], &id) == 0 && id <= 0)
				fuzz_fail("id %lld parsed from \"%s\"", (long long)id, match.params[i]);
		}
	} else if (result == ROUTER_METHOD_NOT_ALLOWED) {
		if (!match.allow[0])
			fuzz_fail("405 for %s %s without Allow", method, path);
	}
	free(text);
	return 0;
}
