/*
 * fuzz_auth_headers.c - the credential parsers of auth.c: the Cookie header
 * (auth_cookie_find) and the Authorization header (auth_bearer_parse). The first byte of
 * the input picks the cookie name's length; the name follows, then the header value.
 * Properties: a found value fits its buffer and occurs in the header; a bearer key points
 * into the header after "Bearer ".
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <strings.h>

#include "crm/auth.h"
#include "fuzz.h"
#include "crm/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t name_len = size ? data[0] % 24 : 0;
	if (size < 1 + name_len)
		return 0;
	char *name = fuzz_text(data + 1, name_len);
	char *header = fuzz_text(data + 1 + name_len, size - 1 - name_len);
	const char *names[] = { name, AUTH_SESSION_COOKIE, AUTH_SESSION_COOKIE_TLS };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t out_size = 1; out_size <= 64; out_size *= 4) {
			char out[64];
			memset(out, 'x', sizeof(out));
			int found = auth_cookie_find(header, names[i], out, out_size);
			if (found == 0 && (strlen(out) >= out_size || !strstr(header, out)))
				fuzz_fail("cookie %s: \"%s\" is not from \"%s\"", names[i], out, header);
			if (found == -2 && out[0] != '\0')
				fuzz_fail("a value too long for its buffer left \"%.8s\"", out);
			if (found != 0 && found != -1 && found != -2)
				fuzz_fail("auth_cookie_find returned %d", found);
		}
	}
	const char *key = NULL;
	if (auth_bearer_parse(header, &key) == 0) {
		if (!key || key < header + 7 || key > header + strlen(header) ||
		    strncasecmp(header, "Bearer ", 7) != 0)
			fuzz_fail("bearer key outside \"%s\"", header);
	} else if (strncasecmp(header, "Bearer ", 7) == 0) {
		fuzz_fail("\"%s\" not parsed as a bearer key", header);
	}
	free(name);
	free(header);
	return 0;
}
