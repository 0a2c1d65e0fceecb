/* Pending RPC table: hash by correlation id plus a FIFO; see pending.h. */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"

struct gw_pending_table {
    struct gw_pending **buckets;
    size_t mask;
    size_t count;
    struct gw_pending *head, *tail;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct gw_pending_table *gw_pending_new(size_t buckets)
{
    size_t n = 16;
    while (n < buckets)
        n <<= 1;
    struct gw_pending_table *t = proto_xcalloc(1, sizeof *t);
    t->buckets = proto_xcalloc(n, sizeof *t->buckets);
    t->mask = n - 1;
    return t;
}

void gw_pending_free(struct gw_pending_table *t)
{
    if (!t)
        return;
    struct gw_pending *p = t->head;
    while (p) {
        struct gw_pending *next = p->next;
        free(p);
        p = next;
    }
    free(t->buckets);
    free(t);
}

static struct gw_pending **find_link(struct gw_pending_table *t, const char *corr)
{
    struct gw_pending **link = &t->buckets[hash_str(corr) & t->mask];
    while (*link && strcmp((*link)->corr, corr) != 0)
        link = &(*link)->hnext;
    return link;
}

struct gw_pending *gw_pending_add(struct gw_pending_table *t, const char *corr)
{
    if (strlen(corr) > PROTO_ID_MAX)
        return NULL;
    struct gw_pending **link = find_link(t, corr);
    if (*link)
        return NULL;
    struct gw_pending *p = proto_xcalloc(1, sizeof *p);
    strcpy(p->corr, corr);
    *link = p;
    p->prev = t->tail;
    if (t->tail)
        t->tail->next = p;
    else
        t->head = p;
    t->tail = p;
    t->count++;
    return p;
}

static void unlink_fifo(struct gw_pending_table *t, struct gw_pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        t->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        t->tail = p->prev;
    p->prev = p->next = NULL;
    t->count--;
}

struct gw_pending *gw_pending_take(struct gw_pending_table *t, const char *corr)
{
    struct gw_pending **link = find_link(t, corr);
    struct gw_pending *p = *link;
    if (!p)
        return NULL;
    *link = p->hnext;
    p->hnext = NULL;
    unlink_fifo(t, p);
    return p;
}

struct gw_pending *gw_pending_take_expired(struct gw_pending_table *t, int64_t now_us)
{
    if (!t->head || t->head->deadline_us > now_us)
        return NULL;
    return gw_pending_take(t, t->head->corr);
}

struct gw_pending *gw_pending_take_upto(struct gw_pending_table *t, uint64_t seq)
{
    if (!t->head || t->head->seq > seq)
        return NULL;
    return gw_pending_take(t, t->head->corr);
}

size_t gw_pending_count(const struct gw_pending_table *t)
{
    return t->count;
}
