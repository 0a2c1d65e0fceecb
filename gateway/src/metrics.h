/*
 * gateway/metrics.h — the gateway's own counters and their Prometheus text (GET /metrics).
 *
 * The counters belong to the lws thread: the server bumps them through the gw_metrics_*
 * functions as requests finish, and only the lws thread reads them, so they need no atomics.
 * Gauges owned by other modules (in-flight RPCs, broker and store state) are passed in by
 * value when the text is built; ws.c and edge.c append their own lines after it.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

struct gw_metrics {
    uint64_t by_class[6]; /* HTTP responses, index status / 100 */
    double rpc_seconds_sum;
    uint64_t rpc_count;
    uint64_t rpc_timeouts;
    uint64_t auth_refused; /* 401s from the local token check (no RPC published) */
};

/* The gauges of the text, read by the caller at the time of the request. */
struct gw_metrics_gauges {
    size_t inflight;      /* RPCs waiting for a reply */
    int broker_connected; /* 1 when the AMQP bridge is connected */
    int store_ok;         /* 1 when Redis answers and its denylist is seeded */
};

/* A response with `status` was written (statuses outside 100..599 are not counted). */
void gw_metrics_response(struct gw_metrics *m, int status);

/* A worker answered an RPC after `seconds` (denylist answers of the bridge do not count). */
void gw_metrics_rpc(struct gw_metrics *m, double seconds);

/* An RPC was answered 504 because its deadline passed. */
void gw_metrics_timeout(struct gw_metrics *m);

/* A protected request was refused 401 by the local token check. */
void gw_metrics_auth_refused(struct gw_metrics *m);

/* Appends the counters and gauges as Prometheus text (format 0.0.4) to b. */
void gw_metrics_text(const struct gw_metrics *m, const struct gw_metrics_gauges *g,
                     struct proto_buf *b);

#endif
