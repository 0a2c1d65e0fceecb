/*
 * proto/buf.h — a growable byte buffer, used for JSON text and log lines.
 *
 * A zero-initialised struct proto_buf is an empty buffer. The buffer owns `data`;
 * data is always NUL-terminated after any append (len excludes the NUL).
 * Allocation failure aborts (the x* allocator rule). Not thread-safe: one owner.
 */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>

struct proto_buf {
    char *data;
    size_t len;
    size_t cap;
};

void proto_buf_append(struct proto_buf *b, const void *data, size_t len);
void proto_buf_puts(struct proto_buf *b, const char *s);
void proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties the buffer but keeps its memory. */
void proto_buf_reset(struct proto_buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. NULL is a no-op. */
void proto_buf_free(struct proto_buf *b);

/* Allocators that abort on out-of-memory (STYLE, "Errors and ownership"). */
void *proto_xmalloc(size_t n);
void *proto_xcalloc(size_t n, size_t size);
void *proto_xrealloc(void *p, size_t n);
char *proto_xstrdup(const char *s);
char *proto_xstrndup(const char *s, size_t n);

#endif
