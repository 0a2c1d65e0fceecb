/* Unit tests for gateway/metrics.c: the counters and their Prometheus text, byte for byte
 * (dashboards and scrapers read these names). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "ft_test.h"
#include "metrics.h"

static void test_metrics_text_format(void)
{
    struct gw_metrics m;
    memset(&m, 0, sizeof m);
    gw_metrics_response(&m, 200);
    gw_metrics_response(&m, 204);
    gw_metrics_response(&m, 404);
    gw_metrics_response(&m, 503);
    gw_metrics_response(&m, 0);   /* not counted */
    gw_metrics_response(&m, 600); /* not counted */
    gw_metrics_rpc(&m, 0.25);
    gw_metrics_rpc(&m, 0.5);
    gw_metrics_timeout(&m);
    gw_metrics_auth_refused(&m);
    gw_metrics_auth_refused(&m);
    struct gw_metrics_gauges g = {.inflight = 3, .broker_connected = 1, .store_ok = 0};
    struct proto_buf b = {0};
    gw_metrics_text(&m, &g, &b);
    const char *want =
        "# HELP fintwin_gateway_requests_total HTTP responses by status class.\n"
        "# TYPE fintwin_gateway_requests_total counter\n"
        "fintwin_gateway_requests_total{class=\"1xx\"} 0\n"
        "fintwin_gateway_requests_total{class=\"2xx\"} 2\n"
        "fintwin_gateway_requests_total{class=\"3xx\"} 0\n"
        "fintwin_gateway_requests_total{class=\"4xx\"} 1\n"
        "fintwin_gateway_requests_total{class=\"5xx\"} 1\n"
        "# HELP fintwin_gateway_rpc_latency_seconds RPC round trips through the broker.\n"
        "# TYPE fintwin_gateway_rpc_latency_seconds summary\n"
        "fintwin_gateway_rpc_latency_seconds_sum 0.750000\n"
        "fintwin_gateway_rpc_latency_seconds_count 2\n"
        "# HELP fintwin_gateway_rpc_timeouts_total RPCs answered 504.\n"
        "# TYPE fintwin_gateway_rpc_timeouts_total counter\n"
        "fintwin_gateway_rpc_timeouts_total 1\n"
        "# HELP fintwin_gateway_auth_refused_total Requests refused 401 by the local token check.\n"
        "# TYPE fintwin_gateway_auth_refused_total counter\n"
        "fintwin_gateway_auth_refused_total 2\n"
        "# HELP fintwin_gateway_inflight RPCs waiting for a reply.\n"
        "# TYPE fintwin_gateway_inflight gauge\n"
        "fintwin_gateway_inflight 3\n"
        "# HELP fintwin_gateway_broker_connected 1 when the AMQP bridge is connected.\n"
        "# TYPE fintwin_gateway_broker_connected gauge\n"
        "fintwin_gateway_broker_connected 1\n"
        "# HELP fintwin_gateway_session_store_ok 1 when Redis answers and its denylist is seeded.\n"
        "# TYPE fintwin_gateway_session_store_ok gauge\n"
        "fintwin_gateway_session_store_ok 0\n";
    CU_ASSERT_FATAL(b.data != NULL);
    CU_ASSERT_STRING_EQUAL(b.data, want);
    proto_buf_free(&b);
}

/* The text is appended: ws.c and edge.c add their lines after it in the same buffer. */
static void test_metrics_text_appends(void)
{
    struct gw_metrics m;
    memset(&m, 0, sizeof m);
    struct gw_metrics_gauges g = {0};
    struct proto_buf b = {0};
    proto_buf_puts(&b, "# before\n");
    gw_metrics_text(&m, &g, &b);
    CU_ASSERT_FATAL(b.data != NULL);
    CU_ASSERT_EQUAL(strncmp(b.data, "# before\n# HELP fintwin_gateway_requests_total", 46), 0);
    proto_buf_free(&b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "test_metrics_text_format", test_metrics_text_format);
    CU_add_test(s, "test_metrics_text_appends", test_metrics_text_appends);
    return ft_cunit_run();
}
