/*
 * buf.h - the one growable string buffer of the project, plus allocation wrappers.
 *
 * A `struct buf` is always NUL-terminated: `buf.data` is never NULL once initialised
 * (it points at a shared empty string until the first append). Out-of-memory aborts the
 * process through xmalloc() and friends instead of being checked at every call.
 */
#ifndef CRM_BUF_H
#define CRM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NUL-terminated contents; never NULL */
	size_t len;   /* bytes used, not counting the NUL */
	size_t alloc; /* bytes allocated; 0 while data points at the shared empty string */
};

#define BUF_INIT { buf_empty_string, 0, 0 }
extern char buf_empty_string[];

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *text);
char *xstrndup(const char *text, size_t len);

void buf_init(struct buf *b);
/* Frees the contents and leaves `b` initialised and empty. */
void buf_release(struct buf *b);
/* Empties `b`, keeping its memory. */
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *text);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *format, va_list args);
/* Gives the contents to the caller (free() them) and leaves `b` empty. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
