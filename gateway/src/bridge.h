/*
 * gateway/bridge.h — the AMQP bridge thread: the only owner of librabbitmq.
 *
 * The lws thread hands RPC requests over with gw_bridge_submit (a locked queue plus
 * an eventfd the bridge polls together with the AMQP socket). The bridge publishes
 * them to ft.rpc (mandatory, direct reply-to), reads every reply or basic.return that
 * is available, turns each into a gw_result (status + JSON body, decoded here so the
 * lws thread does no msgpack work) and hands them back through a second locked queue,
 * calling cfg.wake (lws_cancel_service) once per batch. Requests and results name each
 * other only by correlation id.
 *
 * A job for a protected route names its token's jti: right before publishing, the bridge
 * asks Redis (kv.c) whether ft:deny:<jti> exists, one pipelined round trip per batch,
 * and answers 401 token_revoked for a revoked token and 503 auth_unavailable when Redis
 * cannot be asked (fail closed) instead of publishing. Blocking on Redis here keeps the
 * lws thread non-blocking.
 *
 * The bridge declares the topology at every connect, checks each rpc.<worker> queue's
 * consumer count about once a second, and reconnects with backoff (100 ms doubling to
 * 5 s) when the broker is lost, reporting the loss as a GW_RES_BROKER_LOST result.
 */
#ifndef GW_BRIDGE_H
#define GW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/envelope.h"

#define GW_REPLY_HEADERS_MAX 3 /* Idempotent-Replayed, Retry-After, Location */
#define GW_HEADER_VALUE_MAX  512
#define GW_DENY_PREFIX       "ft:deny:" /* + jti: written by the auth worker at logout */

struct gw_job {
    struct gw_job *next;
    char corr[PROTO_ID_MAX + 1];  /* correlation id */
    int worker;                   /* index into proto_worker_names */
    uint64_t seq;                 /* submit sequence (see GW_RES_BROKER_LOST) */
    int64_t deadline_ms;          /* unix ms; expiration = deadline - now at publish */
    char jti[PROTO_UUID_LEN + 1]; /* "" for public routes; else checked against the denylist */
    size_t len;
    char data[]; /* the msgpack request envelope */
};

enum gw_result_kind {
    GW_RES_REPLY,       /* corr, status, body (JSON), headers */
    GW_RES_BROKER_LOST, /* the connection dropped: fail every pending request with seq <= seq */
};

struct gw_result {
    struct gw_result *next;
    enum gw_result_kind kind;
    char corr[PROTO_ID_MAX + 1];
    int status;
    struct proto_buf body; /* JSON text; empty for no body */
    int nheaders;
    char hname[GW_REPLY_HEADERS_MAX][24];
    char hvalue[GW_REPLY_HEADERS_MAX][GW_HEADER_VALUE_MAX + 1];
    uint64_t seq;
    int local; /* answered by the bridge itself (denylist), not by a worker */
    /* Fields of a sys.ping reply body, for /api/status (has_ping = 1 when a map). */
    int has_ping;
    char version[64];
    long long pid, uptime_ms; /* -1 when absent */
};

struct gw_bridge_cfg {
    const char *amqp_url;         /* copied */
    const char *redis_url;        /* copied; the denylist store (see gw_store_check_url) */
    void (*wake)(void *wake_arg); /* called from the bridge thread after pushing results */
    void *wake_arg;
};

struct gw_bridge;

/* Starts the bridge thread. Returns NULL on a malformed URL (AMQP or Redis) or when the thread
 * cannot start. Call from the main thread. */
struct gw_bridge *gw_bridge_start(const struct gw_bridge_cfg *cfg);

/* Stops the thread (closing the connection politely), joins it, frees everything,
 * including unclaimed jobs and results. NULL is a no-op. Main/lws thread. */
void gw_bridge_stop(struct gw_bridge *b);

/* Allocates a job with room for `len` bytes of envelope (zeroed header). Aborts on OOM. */
struct gw_job *gw_job_new(size_t len);

/* Queues a job (ownership passes to the bridge). Any thread; used by the lws thread. */
void gw_bridge_submit(struct gw_bridge *b, struct gw_job *job);

/* Takes every result queued so far as a list in arrival order (NULL if none). The
 * caller frees each with gw_result_free. Any thread; used by the lws thread. */
struct gw_result *gw_bridge_take_results(struct gw_bridge *b);
void gw_result_free(struct gw_result *r);

/* 1 while the bridge is connected with its topology declared and reply consumer set. Any thread. */
int gw_bridge_connected(struct gw_bridge *b);

/* Consumers on rpc.<worker> at the last check, or -1 when unknown. Any thread. */
int gw_bridge_consumers(struct gw_bridge *b, int worker);

#endif
