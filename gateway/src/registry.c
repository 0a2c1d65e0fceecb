/* Ids for things async answers must find again; see registry.h. */
#include "registry.h"

#include <stdlib.h>

#include "proto/buf.h"

void gw_registry_init(struct gw_registry *r)
{
    r->slots = NULL;
    r->nslots = 0;
    r->free_head = -1;
}

void gw_registry_free(struct gw_registry *r)
{
    free(r->slots);
    gw_registry_init(r);
}

uint64_t gw_registry_add(struct gw_registry *r, void *ptr)
{
    if (r->free_head < 0) {
        int old = r->nslots, n = old ? old * 2 : 256;
        r->slots = proto_xrealloc(r->slots, (size_t)n * sizeof *r->slots);
        for (int i = old; i < n; i++) {
            r->slots[i].ptr = NULL;
            r->slots[i].gen = 0;
            r->slots[i].next_free = i + 1 < n ? i + 1 : -1;
        }
        r->free_head = old;
        r->nslots = n;
    }
    int i = r->free_head;
    r->free_head = r->slots[i].next_free;
    r->slots[i].ptr = ptr;
    r->slots[i].gen++;
    return ((uint64_t)r->slots[i].gen << 32) | (uint64_t)(i + 1);
}

void *gw_registry_get(const struct gw_registry *r, uint64_t id)
{
    int i = (int)(id & 0xffffffffu) - 1;
    if (i < 0 || i >= r->nslots || r->slots[i].gen != (uint32_t)(id >> 32))
        return NULL;
    return r->slots[i].ptr;
}

void gw_registry_remove(struct gw_registry *r, uint64_t id)
{
    int i = (int)(id & 0xffffffffu) - 1;
    r->slots[i].ptr = NULL;
    r->slots[i].gen++;
    r->slots[i].next_free = r->free_head;
    r->free_head = i;
}
