/*
 * gateway/server_internal.h — what server.c shares with intake.c and local.c, nothing else.
 *
 * struct gw_server is the one server behind server.h's opaque pointer; server.c creates and
 * frees it, intake.c and local.c read it (and the request intake registers connections in
 * `conns`). The functions below are server.c's: a connection's state (which counts the
 * requests in progress that shutdown waits for), its error answers, and RPC submission.
 * Everything here belongs to the lws thread.
 */
#ifndef GW_SERVER_INTERNAL_H
#define GW_SERVER_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <msgpack.h>

#include "config.h"
#include "http.h"
#include "metrics.h"
#include "registry.h"
#include "routes.h"

#include "proto/token.h"

struct ev_loop;
struct gw_bridge;
struct gw_ws_hub;
struct gw_pending_table;
struct gw_result;

struct gw_server {
    const struct gw_config *cfg;
    struct proto_token_keys keys; /* from cfg: verifies access tokens */
    struct lws_context *ctx;
    struct ev_loop *loop; /* libev (epoll), owned here; lws joins it as a foreign loop */
    struct gw_bridge *bridge;
    struct gw_ws_hub *hub;    /* GET /api/ws sockets */
    lws_retry_bo_t ws_policy; /* WebSocket pings */
    struct gw_pending_table *pending;
    const struct gw_route *routes;
    size_t nroutes;
    struct gw_registry conns; /* HTTP connections (their wsi) by id, registry.h */
    lws_sorted_usec_list_t sweep;
    lws_sorted_usec_list_t drain_more; /* results left for the next loop iteration */
    struct gw_result *backlog;         /* ... in arrival order */
    volatile sig_atomic_t stop;
    int draining;
    int lws_ready; /* LWS_CALLBACK_PROTOCOL_INIT came (see gw_server_new) */
    uint64_t submit_seq;
    int active; /* connections with a request in progress */
    msgpack_sbuffer env;
    struct gw_metrics m;
    atomic_int wake_pending; /* the bridge woke this thread for results it has not taken yet */
};

/* Moves c to state st, keeping s->active (connections with a request in progress). */
void gw_server_set_state(struct gw_server *s, struct gw_conn *c, enum gw_conn_state st);

/* Moves c to GW_CONN_RESPOND and stages the JSON error answer (gw_http_error, http.h). */
void gw_server_respond_error(struct gw_server *s, struct lws *wsi, struct gw_conn *c, int status,
                             const char *code, const char *detail);

/* A 503 with Retry-After: 1. */
void gw_server_respond_unavailable(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                                   const char *code, const char *detail);

/* Sends c's request (route, args packed, body value last) as an RPC to its route's worker and
 * waits for the reply; or answers at once when it cannot be sent (503, 500, 400). */
void gw_server_submit_request(struct gw_server *s, struct lws *wsi, struct gw_conn *c);

/*
 * Starts a fan-out on c: `method` with empty args to workers[0..n-1] (indices into
 * proto_worker_names), part i going to workers[i]; `done` answers once every part is in.
 */
void gw_server_start_fanout(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                            const char *method, const int *workers, int n, gw_local_fn *done);

#endif
