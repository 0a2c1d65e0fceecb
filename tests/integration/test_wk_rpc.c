/*
 * Worker runtime, requests through a real worker process: sys.ping and test.echo
 * are answered, an unknown method is 404 unknown_method, handler failures map to
 * 500 internal (no partial body) and handler errors pass through.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "ft_test.h"
#include "itest.h"

static struct itest t;
static int failed_before;

static int suite_init(void)
{
    if (itest_setup(&t) != 0 || itest_spawn(&t, NULL, NULL) <= 0)
        return -1;
    return itest_wait_ready(&t, 20000) ? 0 : -1;
}

static int suite_clean(void)
{
    itest_teardown(&t, CU_get_number_of_failures() > (unsigned)failed_before);
    return 0;
}

static void test_wk_rpc_ping_answers(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "sys.ping", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_FALSE(r.is_error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body_json);
    char want[128];
    snprintf(want, sizeof want, "\"name\":\"%s\"", t.name);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"db\":\"ok\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"version\":\"" FT_VERSION "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"pid\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"uptime_ms\":"));
    ft_reply_free(&r);
}

static void test_wk_rpc_echo_answers_body(void)
{
    struct ft_reply r;
    const char *body = "{\"a\":1,\"s\":\"x\\u00e9\",\"amount\":12.50,\"list\":[true,null]}";
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.echo", body, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body_json);
    /* Exact decimals survive the round trip as text. */
    CU_ASSERT_STRING_EQUAL(r.body_json,
                           "{\"a\":1,\"s\":\"x\xc3\xa9\",\"amount\":12.50,\"list\":[true,null]}");
    ft_reply_free(&r);
}

static void test_wk_rpc_unknown_method_is_404(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "no.such.method", "{}", 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_TRUE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.code, "unknown_method");
    ft_reply_free(&r);
}

static void test_wk_rpc_handler_failure_is_500(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.fail", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_TRUE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.code, "internal");
    ft_reply_free(&r);
}

static void test_wk_rpc_handler_error_passes_through(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.reject", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 422);
    CU_ASSERT_STRING_EQUAL(r.code, "rejected");
    ft_reply_free(&r);
    /* The worker keeps serving after errors. */
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "sys.ping", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);
}

static void test_wk_rpc_db_query_answers(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.db", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "(no body)", "{\"one\":1}");
    ft_reply_free(&r);
}

/* Serialization failures (40001) are retried inside wk_db_tx: two injected failures
 * still end in one success; a failure on every attempt answers 503 busy, Retry-After. */
static void test_wk_rpc_serialization_failures_are_retried(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.retry", "{\"fail_times\":2}", 10000, &r),
                          1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "(no body)", "{\"attempts\":3}");
    ft_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(
        ft_amqp_call(t.a, t.name, "test.retry", "{\"fail_times\":100}", 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(r.code, "busy");
    CU_ASSERT_PTR_NOT_NULL(r.headers_json ? strstr(r.headers_json, "\"Retry-After\":\"1\"") : NULL);
    ft_reply_free(&r);
}

/* A worker whose database is unreachable still starts, answers sys.ping with
 * db "down", and answers a handler that needs the database 503 db_unavailable. */
static void test_wk_rpc_db_down_is_503(void)
{
    struct itest d;
    unsigned failures = CU_get_number_of_failures();
    char url[128];
    snprintf(url, sizeof url, "postgresql://nobody:x@127.0.0.1:%d/nothing", ft_free_port());
    CU_ASSERT_EQUAL_FATAL(itest_setup(&d), 0);
    CU_ASSERT_FATAL(itest_spawn_db(&d, NULL, NULL, url) > 0);
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_call(d.a, d.name, "sys.ping", NULL, 20000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(r.body_json ? strstr(r.body_json, "\"db\":\"down\"") : NULL);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(ft_amqp_call(d.a, d.name, "test.db", NULL, 20000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(r.code, "db_unavailable");
    ft_reply_free(&r);
    itest_teardown(&d, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("wk_rpc", suite_init, suite_clean);
    CU_add_test(s, "test_wk_rpc_ping_answers", test_wk_rpc_ping_answers);
    CU_add_test(s, "test_wk_rpc_echo_answers_body", test_wk_rpc_echo_answers_body);
    CU_add_test(s, "test_wk_rpc_unknown_method_is_404", test_wk_rpc_unknown_method_is_404);
    CU_add_test(s, "test_wk_rpc_handler_failure_is_500", test_wk_rpc_handler_failure_is_500);
    CU_add_test(s, "test_wk_rpc_handler_error_passes_through",
                test_wk_rpc_handler_error_passes_through);
    CU_add_test(s, "test_wk_rpc_db_query_answers", test_wk_rpc_db_query_answers);
    CU_add_test(s, "test_wk_rpc_db_down_is_503", test_wk_rpc_db_down_is_503);
    CU_add_test(s, "test_wk_rpc_serialization_failures_are_retried",
                test_wk_rpc_serialization_failures_are_retried);
    return ft_cunit_run();
}
