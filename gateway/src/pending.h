/*
 * gateway/pending.h — RPC requests waiting for a reply, keyed by correlation id.
 *
 * Owned by the lws service thread only (not thread-safe). Every entry has the same
 * timeout, so insertion order is also deadline order and submit-sequence order: the
 * table keeps one FIFO list besides the hash, and expiry pops from its head.
 * An entry names its HTTP connection by id (conn_id, conn_seq), never by pointer.
 */
#ifndef GW_PENDING_H
#define GW_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "proto/envelope.h"

struct gw_pending {
    struct gw_pending *hnext;       /* hash chain */
    struct gw_pending *prev, *next; /* FIFO */
    char corr[PROTO_ID_MAX + 1];    /* correlation id on the broker */
    uint64_t conn_id;               /* registry id of the HTTP connection */
    uint32_t conn_seq;              /* HTTP transaction on that connection */
    int part;                       /* -1: a plain request; >= 0: its part of a fan-out */
    uint64_t seq;                   /* submit sequence, increasing */
    int64_t start_us, deadline_us;  /* monotonic */
};

struct gw_pending_table;

/* A table with `buckets` hash buckets (rounded up to a power of two). Aborts on OOM. */
struct gw_pending_table *gw_pending_new(size_t buckets);
/* Frees the table and every entry still in it. NULL is a no-op. */
void gw_pending_free(struct gw_pending_table *t);

/*
 * Adds an entry for `corr` (copied) at the FIFO tail and returns it for the caller to
 * fill in (other fields zeroed). Returns NULL if `corr` is already present or too long.
 */
struct gw_pending *gw_pending_add(struct gw_pending_table *t, const char *corr);

/* Removes and returns the entry for `corr`, or NULL. The caller frees it with free(). */
struct gw_pending *gw_pending_take(struct gw_pending_table *t, const char *corr);

/* Removes and returns the FIFO head if its deadline_us <= now_us, else NULL. */
struct gw_pending *gw_pending_take_expired(struct gw_pending_table *t, int64_t now_us);

/* Removes and returns the FIFO head if its seq <= seq, else NULL. */
struct gw_pending *gw_pending_take_upto(struct gw_pending_table *t, uint64_t seq);

size_t gw_pending_count(const struct gw_pending_table *t);

#endif
