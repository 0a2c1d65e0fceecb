/*
 * gateway/kv.h — the gateway's Redis connection (hiredis 0.14, synchronous API).
 *
 * Used only by the bridge thread, which already does blocking I/O, so the lws thread
 * never waits on Redis. The connection is made lazily, with a connect and a command
 * timeout; after a failure it is retried at most once per backoff step (100 ms doubling
 * to 5 s) and every call in between fails at once with GW_KV_EDOWN, so an outage costs
 * no waiting. Not thread-safe: one owner thread.
 */
#ifndef GW_KV_H
#define GW_KV_H

#include <stddef.h>

#define GW_KV_EDOWN  (-1) /* Redis unreachable, timed out or lost (reconnects later) */
#define GW_KV_EREPLY (-2) /* Redis answered an error or an unexpected reply type */

struct gw_store;

/* 0 if url has the form redis://[[user]:password@]host[:port][/db], else -1. */
int gw_store_check_url(const char *url);

/* A store for `url` (copied); does not connect yet. NULL when the URL is malformed. */
struct gw_store *gw_store_new(const char *url);

/* Closes the connection and frees the store. NULL is a no-op. */
void gw_store_free(struct gw_store *st);

/*
 * Asks EXISTS for each of the n NUL-terminated keys in one pipelined round trip and
 * sets out[i] to 1 (present) or 0. Returns 0, GW_KV_EDOWN or GW_KV_EREPLY (then out is
 * unspecified and the caller must treat every key as unknown).
 */
int gw_store_exists(struct gw_store *st, const char *const *keys, size_t n, int *out);

#endif
