/*
 * Worker runtime, crash recovery: a worker SIGKILLed in the middle of a message
 * never acked it, so the broker redelivers it to a second instance, and the
 * client receives exactly one reply (from the second instance).
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ft_test.h"
#include "itest.h"

struct lines {
    const char *path;
    int want;
};

static int has_lines(void *arg)
{
    struct lines *l = arg;
    return itest_count_lines(l->path) >= l->want;
}

static void test_wk_crash_redelivers_to_another_instance(void)
{
    struct itest t;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    pid_t first = itest_spawn(&t, NULL, NULL);
    CU_ASSERT_FATAL(first > 0);
    CU_ASSERT_FATAL(itest_wait_ready(&t, 20000));

    char mark[300], body[512], id[64];
    snprintf(mark, sizeof mark, "%s/%s.mark", ft_env("TMPDIR", "/tmp"), t.name);
    unlink(mark);
    snprintf(body, sizeof body, "{\"ms\":2000,\"mark\":\"%s\"}", mark);
    ft_rand_name(id, sizeof id, "crash-");
    CU_ASSERT_EQUAL_FATAL(ft_amqp_request(t.a, t.name, id, "test.sleep", body, 60000), 0);

    /* The first instance has started the work: kill it before it can answer. */
    struct lines one = {mark, 1};
    CU_ASSERT_FATAL(ft_wait_until(has_lines, &one, 15000));
    ft_stop(first, SIGKILL, 5000);
    itest_forget(&t, first);

    pid_t second = itest_spawn(&t, NULL, NULL);
    CU_ASSERT_FATAL(second > 0);
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_reply(t.a, id, 30000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    char want[64];
    snprintf(want, sizeof want, "\"pid\":%d", (int)second);
    CU_ASSERT_PTR_NOT_NULL(r.body_json ? strstr(r.body_json, want) : NULL);
    ft_reply_free(&r);
    /* Exactly once: no second reply, and the work ran once per instance. */
    CU_ASSERT_EQUAL(ft_amqp_count_replies(t.a, id, 1500), 0);
    CU_ASSERT_EQUAL(itest_count_lines(mark), 2);
    CU_ASSERT_EQUAL(ft_amqp_queue_depth(t.a, t.queue), 0);

    unlink(mark);
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    return ft_cunit_run_one("wk_crash", "test_wk_crash_redelivers_to_another_instance",
                            test_wk_crash_redelivers_to_another_instance);
}
