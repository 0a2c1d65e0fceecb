/*
 * Worker runtime, database restart: PostgreSQL is stopped and started again under a
 * running worker. While it is down, a handler that needs it answers 503 db_unavailable
 * (quickly, not at the client's deadline) and sys.ping reports db "down"; afterwards
 * the same worker process reconnects by itself and the handler answers 200 again.
 * Needs the service script (FT_SERVICES, FT_SVC_DIR, FT_SVC_OFF); runs serially.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "ft_test.h"
#include "itest.h"

/* Calls test.db until it answers `want` (an HTTP status) or `timeout_ms` passes. */
static int db_call_until(struct itest *t, int want, int timeout_ms, struct ft_reply *last)
{
    int64_t end = ft_now_ms() + timeout_ms;
    memset(last, 0, sizeof *last);
    while (ft_now_ms() < end) {
        ft_reply_free(last);
        if (ft_amqp_call(t->a, t->name, "test.db", NULL, 5000, last) == 1 && last->status == want)
            return 1;
    }
    return 0;
}

static void test_wk_db_restart_worker_reconnects(void)
{
    struct itest t;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    pid_t pid = itest_spawn(&t, NULL, NULL);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_FATAL(itest_wait_ready(&t, 20000));
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_call(t.a, t.name, "test.db", NULL, 5000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(itest_services("stop-pg"), 0);
    int64_t t0 = ft_now_ms();
    CU_ASSERT_EQUAL(ft_amqp_call(t.a, t.name, "test.db", NULL, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(r.code, "db_unavailable");
    CU_ASSERT(ft_now_ms() - t0 < 5000); /* an answer, not the client's timeout */
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(ft_amqp_call(t.a, t.name, "sys.ping", NULL, 5000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(r.body_json ? strstr(r.body_json, "\"db\":\"down\"") : NULL);
    ft_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(itest_services("start-pg"), 0);
    CU_ASSERT_TRUE(db_call_until(&t, 200, 30000, &r));
    CU_ASSERT_PTR_NOT_NULL(r.body_json ? strstr(r.body_json, "\"one\":1") : NULL);
    ft_reply_free(&r);
    CU_ASSERT_FALSE(ft_exited(pid, NULL)); /* the same process, no restart */
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if ((rc = ft_need_services()))
        return rc;
    return ft_cunit_run_one("wk_db_restart", "test_wk_db_restart_worker_reconnects",
                            test_wk_db_restart_worker_reconnects);
}
