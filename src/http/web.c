/*
 * web.c - the embedded web UI. Files are found by path in the table tools/embed.c made
 * from web/; their ETag is a hash of the contents computed once at first use, and
 * If-None-Match ("*", lists, weak tags) answers 304 when it names it.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/web.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "crm/embed.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/banned.h"

#define WEB_CSP                                                                              \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "            \
	"form-action 'self'; frame-ancestors 'none'"

static char (*file_etags)[24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static size_t web_file_count(void)
{
	size_t count = 0;
	while (embedded_web_files[count].name)
		count++;
	return count;
}

static void compute_etags(void)
{
	size_t count = web_file_count();
	static char storage[512][24];
	file_etags = storage;
	for (size_t i = 0; i < count && i < 512; i++) {
		uint64_t hash = 1469598103934665603ULL;
		for (size_t j = 0; j < embedded_web_files[i].size; j++) {
			hash ^= embedded_web_files[i].data[j];
			hash *= 1099511628211ULL;
		}
		snprintf(storage[i], sizeof(storage[i]), "\"%016llx\"", (unsigned long long)hash);
	}
}

/* Skips spaces and tabs. */
static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Whether an If-None-Match value names `etag` (quotes included): "*", or one entity tag of
 * a comma-separated list, compared weakly as RFC 9110 13.1.2 asks (W/"x" matches "x").
 * A malformed member matches nothing.
 */
bool web_etag_matches(const char *header, const char *etag)
{
	size_t etag_len = strlen(etag);
	const char *p = header;
	while (*p) {
		p = skip_blanks(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (!*p)
			break;
		const char *start = p;
		if (*p == '*') {
			p++;
		} else {
			if (p[0] == 'W' && p[1] == '/')
				start = p += 2;
			if (*p == '"') {
				p = strchr(p + 1, '"');
				p = p ? p + 1 : start + strlen(start);
			}
		}
		const char *end = p;
		p = skip_blanks(p);
		bool whole = end > start && (*p == ',' || !*p);
		if (whole && end - start == 1 && *start == '*')
			return true;
		if (whole && (size_t)(end - start) == etag_len && memcmp(start, etag, etag_len) == 0)
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

const char *web_content_type(const char *name)
{
	static const struct {
		const char *extension, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
	};
	const char *dot = strrchr(name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].extension) == 0)
				return types[i].type;
	return "application/octet-stream";
}

void web_serve(struct request *req, struct response *res)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		response_set_header(res, "Allow", "GET, HEAD");
		response_problem(res, HTTP_METHOD_NOT_ALLOWED, "the web UI is read-only");
		return;
	}
	pthread_once(&etags_once, compute_etags);
	const char *name = req->path + 1;
	if (!*name)
		name = "index.html";
	for (size_t i = 0; embedded_web_files[i].name && i < 512; i++) {
		const struct embedded_file *file = &embedded_web_files[i];
		if (strcmp(file->name, name) != 0)
			continue;
		const char *etag = file_etags[i];
		response_set_header(res, "ETag", etag);
		response_set_header(res, "Cache-Control", "no-cache");
		response_set_header(res, "Content-Security-Policy", WEB_CSP);
		const char *if_none_match = request_header(req, "If-None-Match");
		if (if_none_match && web_etag_matches(if_none_match, etag)) {
			response_set_static_body(res, HTTP_NOT_MODIFIED, web_content_type(name), "", 0);
			return;
		}
		response_set_static_body(res, HTTP_OK, web_content_type(name), file->data, file->size);
		return;
	}
	response_problem(res, HTTP_NOT_FOUND, "no such page");
}
