/*
 * Worker runtime, broker restart: RabbitMQ is stopped and started again under a
 * running worker; the same worker process reconnects by itself (backoff up to
 * 5 s), redeclares its queue and serves again. Needs the service script
 * (FT_SERVICES, FT_SVC_DIR, FT_SVC_OFF from deploy/local/test.sh or dev-env.sh);
 * skipped without it outside CI. Runs serially: it takes the broker away.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_test.h"
#include "itest.h"

static void test_wk_broker_restart_worker_reconnects(void)
{
    struct itest t;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    pid_t pid = itest_spawn(&t, NULL, NULL);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_FATAL(itest_wait_ready(&t, 20000));

    ft_amqp_close(t.a);
    t.a = NULL;
    CU_ASSERT_EQUAL_FATAL(itest_services("stop-rabbit"), 0);
    int start_rc = itest_services("start-rabbit");
    CU_ASSERT_EQUAL_FATAL(start_rc, 0);
    CU_ASSERT_FALSE(ft_exited(pid, NULL)); /* the worker rode it out */

    /* Reconnect the client and ask until the same worker answers again. */
    int64_t end = ft_now_ms() + 60000;
    int answered = 0;
    while (!answered && ft_now_ms() < end) {
        if (!t.a) {
            t.a = ft_amqp_open(ft_env("AMQP_URL", ""));
            if (t.a && ft_amqp_declare_rpc(t.a, t.name) != 0) {
                ft_amqp_close(t.a);
                t.a = NULL;
            }
            if (!t.a) {
                struct timespec ts = {0, 100 * 1000 * 1000}; /* poll, bounded by `end` */
                nanosleep(&ts, NULL);
                continue;
            }
        }
        struct ft_reply r;
        int got = ft_amqp_call(t.a, t.name, "sys.ping", NULL, 5000, &r);
        if (got == 1) {
            char want[64];
            snprintf(want, sizeof want, "\"pid\":%d", (int)pid);
            CU_ASSERT_EQUAL(r.status, 200);
            CU_ASSERT_PTR_NOT_NULL(r.body_json ? strstr(r.body_json, want) : NULL);
            answered = 1;
        } else if (got < 0) {
            ft_amqp_close(t.a);
            t.a = NULL;
        }
        ft_reply_free(&r);
    }
    CU_ASSERT_TRUE(answered);
    CU_ASSERT_FALSE(ft_exited(pid, NULL));
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if ((rc = ft_need_services()))
        return rc;
    return ft_cunit_run_one("wk_broker_restart", "test_wk_broker_restart_worker_reconnects",
                            test_wk_broker_restart_worker_reconnects);
}
