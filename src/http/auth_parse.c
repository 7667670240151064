/*
 * auth_parse.c - reading credentials out of request headers (auth.h): the bearer key of an
 * Authorization header and one cookie of a Cookie header. Pure functions, fuzzed by
 * tests/fuzz/fuzz_auth_headers.c and checked by tests/unit/test_auth_parse.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/auth.h"

#include <string.h>
#include <strings.h>

#include "crm/banned.h"

int auth_bearer_parse(const char *authorization, const char **key)
{
	*key = NULL;
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return -1;
	const char *p = authorization + 7;
	while (*p == ' ')
		p++;
	*key = p;
	return 0;
}

int auth_cookie_find(const char *cookie_header, const char *name, char *out, size_t out_size)
{
	size_t name_len = strlen(name);
	if (out_size)
		out[0] = '\0';
	const char *p = cookie_header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *pair = p;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		p = end;
		const char *equals = memchr(pair, '=', (size_t)(end - pair));
		if (!equals)
			continue;
		const char *name_end = equals;
		while (name_end > pair && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		if ((size_t)(name_end - pair) != name_len || memcmp(pair, name, name_len) != 0)
			continue;
		const char *value = equals + 1;
		const char *value_end = end;
		while (value < value_end && (*value == ' ' || *value == '\t'))
			value++;
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			value_end--;
		if (value_end - value >= 2 && value[0] == '"' && value_end[-1] == '"') {
			value++;
			value_end--;
		}
		size_t len = (size_t)(value_end - value);
		if (len >= out_size)
			return -2;
		memcpy(out, value, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
}
