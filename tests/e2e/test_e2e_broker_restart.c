/*
 * E2E: RabbitMQ stops and starts under a running gateway and workers. During the
 * outage /readyz is 503 and requests answer 503 at once; afterwards, with no restart
 * of anything else, /api/status shows all seven workers ok within 30 s.
 * Needs FT_SERVICES/FT_SVC_DIR/FT_SVC_OFF (deploy/local/test.sh); runs serially.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static struct e2e st;
static int broker_down;

/* Runs `$FT_SERVICES <cmd> $FT_SVC_DIR $FT_SVC_OFF`; returns its exit status or -1. */
static int services(const char *cmd)
{
    char *argv[] = {(char *)ft_env("FT_SERVICES", ""), (char *)cmd,
                    (char *)ft_env("FT_SVC_DIR", ""), (char *)ft_env("FT_SVC_OFF", "0"), NULL};
    char log[300];
    snprintf(log, sizeof log, "%s/services.log", st.dir);
    pid_t pid = ft_spawn(argv[0], argv, NULL, log);
    int status;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int suite_init(void)
{
    e2e_init(&st, "broker-restart");
    return e2e_start_all(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    if (broker_down && services("start-rabbit") == 0)
        broker_down = 0;
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static int not_ready(void *arg)
{
    (void)arg;
    return e2e_get_status(&st, "/readyz") == 503;
}

static void test_e2e_broker_outage_fails_fast(void)
{
    broker_down = 1;
    CU_ASSERT_EQUAL_FATAL(services("stop-rabbit"), 0);
    CU_ASSERT_TRUE(ft_wait_until(not_ready, NULL, 15000));
    for (int i = 0; i < 3; i++) {
        struct ft_http_resp r;
        int64_t t0 = ft_now_ms();
        CU_ASSERT_EQUAL(
            ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), NULL, NULL, 0, 10000, &r), 0);
        int64_t ms = ft_now_ms() - t0;
        CU_ASSERT_EQUAL(r.status, 503);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\""));
        CU_ASSERT(ms < 2500); /* answered at once, not after the 5 s RPC timeout */
        ft_http_resp_free(&r);
    }
    /* The process itself stays healthy. */
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/healthz"), 200);
}

static void test_e2e_broker_back_serves_again(void)
{
    CU_ASSERT_EQUAL_FATAL(services("start-rabbit"), 0);
    broker_down = 0;
    int64_t t0 = ft_now_ms();
    CU_ASSERT_TRUE(e2e_wait_all_ok(&st, 30000));
    fprintf(stderr, "all workers ok %lld ms after the broker was back\n",
            (long long)(ft_now_ms() - t0));
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/readyz"), 200);
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/api/sys/portfolio/ping"), 200);
}

int main(void)
{
    int rc;
    if ((rc = ft_need_servers()) || (rc = ft_need_services()))
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_broker_restart", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_broker_outage_fails_fast", test_e2e_broker_outage_fails_fast);
    CU_add_test(s, "test_e2e_broker_back_serves_again", test_e2e_broker_back_serves_again);
    return ft_cunit_run();
}
