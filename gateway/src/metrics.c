/* The gateway's counters and their Prometheus text; see metrics.h. */
#include "metrics.h"

#include <inttypes.h>

void gw_metrics_response(struct gw_metrics *m, int status)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        m->by_class[cls]++;
}

void gw_metrics_rpc(struct gw_metrics *m, double seconds)
{
    m->rpc_seconds_sum += seconds;
    m->rpc_count++;
}

void gw_metrics_timeout(struct gw_metrics *m)
{
    m->rpc_timeouts++;
}

void gw_metrics_auth_refused(struct gw_metrics *m)
{
    m->auth_refused++;
}

void gw_metrics_text(const struct gw_metrics *m, const struct gw_metrics_gauges *g,
                     struct proto_buf *b)
{
    proto_buf_puts(b, "# HELP fintwin_gateway_requests_total HTTP responses by status class.\n"
                      "# TYPE fintwin_gateway_requests_total counter\n");
    for (int k = 1; k <= 5; k++)
        proto_buf_printf(b, "fintwin_gateway_requests_total{class=\"%dxx\"} %" PRIu64 "\n", k,
                         m->by_class[k]);
    proto_buf_printf(
        b,
        "# HELP fintwin_gateway_rpc_latency_seconds RPC round trips through the broker.\n"
        "# TYPE fintwin_gateway_rpc_latency_seconds summary\n"
        "fintwin_gateway_rpc_latency_seconds_sum %.6f\n"
        "fintwin_gateway_rpc_latency_seconds_count %" PRIu64 "\n"
        "# HELP fintwin_gateway_rpc_timeouts_total RPCs answered 504.\n"
        "# TYPE fintwin_gateway_rpc_timeouts_total counter\n"
        "fintwin_gateway_rpc_timeouts_total %" PRIu64 "\n"
        "# HELP fintwin_gateway_auth_refused_total Requests refused 401 by the local token check.\n"
        "# TYPE fintwin_gateway_auth_refused_total counter\n"
        "fintwin_gateway_auth_refused_total %" PRIu64 "\n"
        "# HELP fintwin_gateway_inflight RPCs waiting for a reply.\n"
        "# TYPE fintwin_gateway_inflight gauge\n"
        "fintwin_gateway_inflight %zu\n"
        "# HELP fintwin_gateway_broker_connected 1 when the AMQP bridge is connected.\n"
        "# TYPE fintwin_gateway_broker_connected gauge\n"
        "fintwin_gateway_broker_connected %d\n"
        "# HELP fintwin_gateway_session_store_ok 1 when Redis answers and its denylist is seeded.\n"
        "# TYPE fintwin_gateway_session_store_ok gauge\n"
        "fintwin_gateway_session_store_ok %d\n",
        m->rpc_seconds_sum, m->rpc_count, m->rpc_timeouts, m->auth_refused, g->inflight,
        g->broker_connected, g->store_ok);
}
