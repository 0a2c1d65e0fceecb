/*
 * Unit tests for gateway/fanout.c and status.c: collecting the parts of a fan-out (each once,
 * bodies moved, complete at the last one) and the /api/status body built from them, byte for
 * byte (the web app and the e2e tests read it).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "fanout.h"
#include "ft_test.h"
#include "status.h"

#include "proto/topology.h"

static void done_stub(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    (void)s;
    (void)wsi;
    (void)c;
}

static void body_of(struct proto_buf *b, const char *text)
{
    proto_buf_reset(b);
    proto_buf_puts(b, text);
}

static void test_fanout_collects_each_part_once(void)
{
    struct gw_fanout *f = gw_fanout_new(3, done_stub);
    CU_ASSERT_EQUAL(f->n, 3);
    CU_ASSERT_PTR_EQUAL(f->done, done_stub);
    struct proto_buf b = {0};
    body_of(&b, "{\"a\":1}");
    CU_ASSERT_EQUAL(gw_fanout_put(f, 1, 200, 1.5, &b), 0);
    CU_ASSERT_EQUAL(b.len, 0); /* moved, not copied */
    CU_ASSERT_EQUAL(f->part[1].status, 200);
    CU_ASSERT_EQUAL(f->part[1].body.len, 7);
    CU_ASSERT_EQUAL(memcmp(f->part[1].body.data, "{\"a\":1}", 7), 0);
    /* a second answer for a part that is in changes nothing */
    body_of(&b, "{}");
    CU_ASSERT_EQUAL(gw_fanout_put(f, 1, 504, 9, &b), 0);
    CU_ASSERT_EQUAL(f->part[1].status, 200);
    CU_ASSERT_EQUAL(f->left, 2);
    CU_ASSERT_EQUAL(gw_fanout_put(f, 0, 503, 0, NULL), 0);
    CU_ASSERT_EQUAL(f->part[0].body.len, 0);
    CU_ASSERT_EQUAL(gw_fanout_put(f, 2, 504, 2.25, NULL), 1); /* the last one completes */
    CU_ASSERT_EQUAL(f->left, 0);
    CU_ASSERT_EQUAL(gw_fanout_put(f, 2, 200, 1, NULL), 0);
    proto_buf_free(&b);
    gw_fanout_free(f);
    gw_fanout_free(NULL);
}

static void test_status_json_shape(void)
{
    CU_ASSERT_EQUAL_FATAL(PROTO_WORKER_COUNT, 7);
    struct gw_fanout *f = gw_fanout_new(PROTO_WORKER_COUNT, done_stub);
    struct proto_buf b = {0};
    body_of(&b, "{\"version\":\"0.1.0\",\"pid\":12446,\"uptime_ms\":1711,\"other\":[1]}");
    gw_fanout_put(f, 0, 200, 2.261, &b);
    gw_fanout_put(f, 1, 503, 0, NULL); /* could not be sent */
    body_of(&b, "{\"detail\":\"no\",\"code\":\"x\"}");
    gw_fanout_put(f, 2, 500, 1.0, &b); /* an error reply */
    gw_fanout_put(f, 3, 504, 1500.0004, NULL);
    body_of(&b, "{\"version\":7,\"pid\":-1,\"uptime_ms\":\"x\"}"); /* wrong types */
    gw_fanout_put(f, 4, 200, 0.5, &b);
    body_of(&b, "[1,2]"); /* not an object */
    gw_fanout_put(f, 5, 200, 0.5, &b);
    body_of(&b, "{\"version\":\"a\\\"b\",\"pid\":0,\"uptime_ms\":0}");
    gw_fanout_put(f, 6, 200, 3.8386, &b);
    gw_status_json(&b, f, 1, GW_STORE_OK);
    const char *want =
        "{\"workers\":["
        "{\"name\":\"auth\",\"ok\":true,\"ms\":2.261,\"status\":200,\"version\":\"0.1.0\","
        "\"pid\":12446,\"uptime_ms\":1711},"
        "{\"name\":\"transaction\",\"ok\":false,\"ms\":0.000,\"status\":503,\"version\":null,"
        "\"pid\":null,\"uptime_ms\":null},"
        "{\"name\":\"twin\",\"ok\":false,\"ms\":1.000,\"status\":500,\"version\":null,"
        "\"pid\":null,\"uptime_ms\":null},"
        "{\"name\":\"risk\",\"ok\":false,\"ms\":1500.000,\"status\":504,\"version\":null,"
        "\"pid\":null,\"uptime_ms\":null},"
        "{\"name\":\"portfolio\",\"ok\":true,\"ms\":0.500,\"status\":200,\"version\":null,"
        "\"pid\":null,\"uptime_ms\":null},"
        "{\"name\":\"persona\",\"ok\":true,\"ms\":0.500,\"status\":200,\"version\":null,"
        "\"pid\":null,\"uptime_ms\":null},"
        "{\"name\":\"notification\",\"ok\":true,\"ms\":3.839,\"status\":200,"
        "\"version\":\"a\\\"b\",\"pid\":0,\"uptime_ms\":0}"
        "],\"broker\":{\"ok\":true},\"redis\":{\"ok\":true,\"denylist\":\"ok\"},\"ok\":false}";
    CU_ASSERT_FATAL(b.data != NULL);
    CU_ASSERT_STRING_EQUAL(b.data, want);
    proto_buf_free(&b);
    gw_fanout_free(f);
}

static void test_status_json_ok_needs_everything(void)
{
    struct gw_fanout *f = gw_fanout_new(PROTO_WORKER_COUNT, done_stub);
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        gw_fanout_put(f, w, 200, 1, NULL);
    struct proto_buf b = {0};
    gw_status_json(&b, f, 1, GW_STORE_OK);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "\"redis\":{\"ok\":true,\"denylist\":\"ok\"},\"ok\":true}"));
    gw_status_json(&b, f, 0, GW_STORE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"broker\":{\"ok\":false},"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "},\"ok\":false}"));
    gw_status_json(&b, f, 1, GW_STORE_UNSEEDED);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "\"redis\":{\"ok\":false,\"denylist\":\"restoring\"},\"ok\":false}"));
    gw_status_json(&b, f, 1, GW_STORE_DOWN);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"denylist\":\"down\"},\"ok\":false}"));
    proto_buf_free(&b);
    gw_fanout_free(f);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("fanout", NULL, NULL);
    CU_add_test(s, "test_fanout_collects_each_part_once", test_fanout_collects_each_part_once);
    CU_add_test(s, "test_status_json_shape", test_status_json_shape);
    CU_add_test(s, "test_status_json_ok_needs_everything", test_status_json_ok_needs_everything);
    return ft_cunit_run();
}
