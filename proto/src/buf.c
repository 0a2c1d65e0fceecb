/* Growable byte buffer and aborting allocators; see proto/buf.h. */
#include "proto/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out-of-memory is not recoverable in our processes (STYLE): say so and abort,
 * so a NULL can never travel further and turn into a harder-to-read crash. */
static void oom(size_t n)
{
    fprintf(stderr, "proto: out of memory allocating %zu bytes\n", n);
    abort();
}

void *proto_xmalloc(size_t n)
{
    /* malloc(0) may legally return NULL; ask for one byte so NULL always means OOM. */
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *proto_xcalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *proto_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *proto_xstrdup(const char *s)
{
    return proto_xstrndup(s, strlen(s));
}

char *proto_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = proto_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Makes room for `extra` more bytes plus the NUL terminator. */
static void reserve(struct proto_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        oom(SIZE_MAX);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = proto_xrealloc(b->data, cap);
    b->cap = cap;
}

void proto_buf_append(struct proto_buf *b, const void *data, size_t len)
{
    reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void proto_buf_puts(struct proto_buf *b, const char *s)
{
    proto_buf_append(b, s, strlen(s));
}

void proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
{
    va_list ap;
    reserve(b, 0);
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        /* Only an invalid format gets here; keep the buffer consistent. */
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void proto_buf_reset(struct proto_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void proto_buf_free(struct proto_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
