/* The handlers of routes.c's local rows; see local.h. */
#include "local.h"
#include "server_internal.h"

#include <libwebsockets.h>

#include "bridge.h"
#include "edge.h"
#include "http.h"
#include "metrics.h"
#include "pending.h"
#include "status.h"
#include "ws.h"

#include "proto/topology.h"

static void builtin_json(struct gw_server *s, struct lws *wsi, struct gw_conn *c, int status,
                         const char *json)
{
    proto_buf_reset(&c->resp);
    proto_buf_puts(&c->resp, json);
    gw_server_set_state(s, c, GW_CONN_RESPOND);
    gw_http_respond(wsi, c, status, "application/json");
}

void gw_local_healthz(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    builtin_json(s, wsi, c, 200, "{\"status\":\"ok\"}");
}

void gw_local_readyz(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    /* Ready means a signed-in request can be served: the broker and the session store. */
    enum gw_store_state store = gw_bridge_store_state(s->bridge);
    if (!gw_bridge_connected(s->bridge))
        gw_server_respond_unavailable(s, wsi, c, "not_ready",
                                      "the message broker is not connected");
    else if (store == GW_STORE_DOWN)
        gw_server_respond_unavailable(s, wsi, c, "not_ready",
                                      "the session store (Redis) is unreachable");
    else if (store == GW_STORE_UNSEEDED)
        gw_server_respond_unavailable(s, wsi, c, "not_ready",
                                      "the session store (Redis) is being restored");
    else
        builtin_json(s, wsi, c, 200, "{\"status\":\"ready\"}");
}

void gw_local_metrics(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    struct gw_metrics_gauges g = {
        .inflight = gw_pending_count(s->pending),
        .broker_connected = gw_bridge_connected(s->bridge),
        .store_ok = gw_bridge_store_state(s->bridge) == GW_STORE_OK,
    };
    proto_buf_reset(&c->resp);
    gw_metrics_text(&s->m, &g, &c->resp);
    gw_ws_metrics(s->hub, &c->resp);
    gw_edge_metrics(&c->resp);
    gw_http_respond(wsi, c, 200, "text/plain; version=0.0.4; charset=utf-8");
}

/* The completion of gw_local_status's fan-out. */
static void status_done(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    gw_status_json(&c->resp, c->fan, gw_bridge_connected(s->bridge),
                   gw_bridge_store_state(s->bridge));
    gw_server_set_state(s, c, GW_CONN_RESPOND);
    gw_http_respond(wsi, c, 200, "application/json");
}

void gw_local_status(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    int workers[PROTO_WORKER_COUNT];
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        workers[w] = w;
    gw_server_start_fanout(s, wsi, c, "sys.ping", workers, PROTO_WORKER_COUNT, status_done);
}
