/*
 * buf.c - growable NUL-terminated string buffer and abort-on-OOM allocation wrappers.
 */
#include "crm/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_empty_string[1];

static void die_out_of_memory(size_t size)
{
	fprintf(stderr, "fatal: out of memory (%zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *ptr = malloc(size ? size : 1);
	if (!ptr)
		die_out_of_memory(size);
	return ptr;
}

void *xcalloc(size_t count, size_t size)
{
	void *ptr = calloc(count ? count : 1, size ? size : 1);
	if (!ptr)
		die_out_of_memory(count * size);
	return ptr;
}

void *xrealloc(void *ptr, size_t size)
{
	void *grown = realloc(ptr, size ? size : 1);
	if (!grown)
		die_out_of_memory(size);
	return grown;
}

char *xstrndup(const char *text, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	return copy;
}

char *xstrdup(const char *text)
{
	return xstrndup(text, strlen(text));
}

void buf_init(struct buf *b)
{
	b->data = buf_empty_string;
	b->len = 0;
	b->alloc = 0;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->data[0] = '\0';
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t needed = b->len + extra + 1;
	if (needed <= b->alloc)
		return;
	size_t alloc = b->alloc ? b->alloc : 64;
	while (alloc < needed)
		alloc = alloc * 3 / 2 + 16;
	if (b->alloc) {
		b->data = xrealloc(b->data, alloc);
	} else {
		b->data = xmalloc(alloc);
		b->data[0] = '\0';
	}
	b->alloc = alloc;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *text)
{
	buf_add(b, text, strlen(text));
}

void buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vaddf(struct buf *b, const char *format, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	int needed = vsnprintf(NULL, 0, format, copy);
	va_end(copy);
	if (needed < 0)
		return;
	buf_grow(b, (size_t)needed);
	vsnprintf(b->data + b->len, (size_t)needed + 1, format, args);
	b->len += (size_t)needed;
}

void buf_addf(struct buf *b, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	buf_vaddf(b, format, args);
	va_end(args);
}

char *buf_detach(struct buf *b, size_t *len_out)
{
	char *data;
	if (len_out)
		*len_out = b->len;
	if (b->alloc)
		data = b->data;
	else
		data = xstrdup("");
	buf_init(b);
	return data;
}
