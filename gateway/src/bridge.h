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
 * asks Redis (kv.c) whether ft:deny:<jti> exists, one pipelined round trip per batch that
 * also asks for the marker ft:denylist:seeded (proto/kvkeys.h), and answers 401
 * token_revoked for a revoked token and 503 auth_unavailable when Redis cannot be asked or
 * its denylist is not known to be complete (fail closed) instead of publishing. Blocking on
 * Redis here keeps the lws thread non-blocking.
 *
 * The bridge declares the topology at every connect, checks each rpc.<worker> queue's
 * consumer count about once a second, and reconnects with backoff (100 ms doubling to
 * 5 s) when the broker is lost, reporting the loss as a GW_RES_BROKER_LOST result.
 *
 * Live push (GET /api/ws, see ws.h): at every connect the bridge declares this instance's
 * own exclusive, auto-delete, server-named queue, consumes it without acks on its own
 * channel, and reports GW_RES_LIVE_RESET: the lws thread then asks again for every user
 * that still has sockets (GW_JOB_LIVE_BIND), which is how bindings survive a reconnect.
 * Binds are sent without waiting and confirmed together by one synchronous call on the
 * same channel (a channel handles methods in order), then answered GW_RES_LIVE_BOUND.
 * Deliveries from ft.live become GW_RES_LIVE results (the frame text after GW_WS_PRE
 * bytes of headroom, or a close order). The denylist check of a WebSocket's token
 * (GW_JOB_WS_AUTH) uses Redis like RPC jobs, and works while the broker is away.
 */
#ifndef GW_BRIDGE_H
#define GW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/envelope.h"

#define GW_REPLY_HEADERS_MAX 3 /* Idempotent-Replayed, Retry-After, Location */
#define GW_HEADER_VALUE_MAX  512
#define GW_LIVE_KEY_PREFIX   "user." /* + lowercase user uuid: routing keys on ft.live */
#define GW_LIVE_FRAME_MAX    65536   /* larger live frames are dropped (and logged) */
#define GW_LIVE_REASON_MAX   123     /* close reason bytes (a close frame payload is <= 125) */
#define GW_WS_PRE            16      /* headroom before a live frame: >= LWS_PRE (ws.c checks) */

enum gw_job_kind {
    GW_JOB_RPC,         /* publish data[] to ft.rpc (a zeroed job is an RPC) */
    GW_JOB_WS_AUTH,     /* is jti revoked? answered GW_RES_WS_AUTH for ws_id, user */
    GW_JOB_LIVE_BIND,   /* bind user.<user> to our live queue; answered GW_RES_LIVE_BOUND */
    GW_JOB_LIVE_UNBIND, /* remove that binding; not answered */
};

struct gw_job {
    struct gw_job *next;
    enum gw_job_kind kind;
    uint64_t ws_id;                /* GW_JOB_WS_AUTH: the socket (ws.c's registry id) */
    char user[PROTO_UUID_LEN + 1]; /* GW_JOB_WS_AUTH and GW_JOB_LIVE_*: lowercase uuid */
    uint32_t bind_seq;             /* GW_JOB_LIVE_BIND: echoed in GW_RES_LIVE_BOUND */
    char corr[PROTO_ID_MAX + 1];   /* correlation id */
    int worker;                    /* index into proto_worker_names */
    uint64_t seq;                  /* submit sequence (see GW_RES_BROKER_LOST) */
    int64_t deadline_ms;           /* unix ms; expiration = deadline - now at publish */
    char jti[PROTO_UUID_LEN + 1];  /* "" for public routes; else checked against the denylist */
    size_t len;
    char data[]; /* the msgpack request envelope */
};

enum gw_result_kind {
    GW_RES_REPLY,       /* corr, status, body (JSON), headers */
    GW_RES_BROKER_LOST, /* the connection dropped: fail every pending request with seq <= seq */
    GW_RES_WS_AUTH,     /* ws_id, user; status: 0 ok, GW_WS_REVOKED or GW_WS_AUTH_DOWN */
    GW_RES_LIVE_BOUND,  /* user, bind_seq: the binding is in place (or will be at reconnect) */
    GW_RES_LIVE,        /* user; close_code 0: body = GW_WS_PRE bytes + one text frame;
                           else close every socket of user with close_code and close_reason */
    GW_RES_LIVE_RESET,  /* the live queue is new: bind every user with sockets again */
};

#define GW_WS_REVOKED   1 /* ft:deny:<jti> exists */
#define GW_WS_AUTH_DOWN 2 /* Redis could not be asked (fail closed) */

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
    /* Live push (GW_RES_WS_AUTH, GW_RES_LIVE*). */
    uint64_t ws_id;
    char user[PROTO_UUID_LEN + 1];
    uint32_t bind_seq;
    int close_code;
    char close_reason[GW_LIVE_REASON_MAX + 1];
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

/* Live frames dropped by the bridge so far: too large (or not UTF-8 text, or a routing
 * key that names no user). Any thread. */
uint64_t gw_bridge_live_dropped(struct gw_bridge *b);

/* The session store (Redis) as the bridge last saw it, about once a second and at every
 * denylist lookup. Any thread. */
enum gw_store_state {
    GW_STORE_DOWN = 0,     /* unreachable (or not asked yet): authenticated requests get 503 */
    GW_STORE_UNSEEDED = 1, /* up, but its denylist marker is missing (restarted or flushed):
                              503 until the auth worker has re-seeded it (proto/kvkeys.h) */
    GW_STORE_OK = 2,
};
enum gw_store_state gw_bridge_store_state(struct gw_bridge *b);

/* "ok", "restoring" or "down", for /readyz, /api/status and logs. */
const char *gw_store_state_name(enum gw_store_state st);

#endif
