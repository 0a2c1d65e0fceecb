/*
 * gateway/registry.h — ids for things that async answers must find again.
 *
 * Across threads and async gaps the gateway names a connection by id, never by pointer: a
 * pending RPC (pending.h) holds its HTTP connection's id, and the reply looks it up here; a
 * connection that closed meanwhile is simply not found. An id is gen << 32 | (index + 1);
 * removing an entry bumps its slot's generation, so an old id never finds a successor.
 * The registry stores the pointer without looking at it; a walk over every entry reads
 * slots[0..nslots) and skips a NULL ptr. Not thread-safe: one owner thread (the server's
 * registry of HTTP connections and ws.c's of WebSockets belong to the lws thread).
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stdint.h>

struct gw_registry_slot {
    void *ptr;
    uint32_t gen;
    int next_free;
};

struct gw_registry {
    struct gw_registry_slot *slots;
    int nslots, free_head; /* free_head -1: none free (the table grows) */
};

/* An empty registry (no allocation until the first gw_registry_add). */
void gw_registry_init(struct gw_registry *r);

/* Frees the slots and leaves r empty. */
void gw_registry_free(struct gw_registry *r);

/* Registers ptr and returns its id (never 0). Grows the table; aborts on OOM. */
uint64_t gw_registry_add(struct gw_registry *r, void *ptr);

/* The pointer registered under `id`, or NULL when it was removed (or id is not one of ours). */
void *gw_registry_get(const struct gw_registry *r, uint64_t id);

/* Removes `id` (from gw_registry_add, not removed yet). */
void gw_registry_remove(struct gw_registry *r, uint64_t id);

#endif
