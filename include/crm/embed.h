/*
 * embed.h - files compiled into the binaries at build time by tools/embed.c: the web UI
 * (web/) and the SQL migrations (migrations/). Each table ends with an entry whose
 * `name` is NULL.
 */
#ifndef CRM_EMBED_H
#define CRM_EMBED_H

#include <stddef.h>

struct embedded_file {
	const char *name;           /* path relative to its folder, e.g. "index.html" */
	const unsigned char *data;  /* contents, followed by a NUL byte */
	size_t size;                /* bytes, not counting the NUL */
};

extern const struct embedded_file embedded_web_files[];
extern const struct embedded_file embedded_migrations[];

#endif
