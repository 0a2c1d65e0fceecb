/*
 * Worker runtime, graceful stop: SIGTERM during a message lets the worker finish
 * it (the reply arrives) and exit 0; a request that arrived meanwhile is not lost
 * but answered by the next instance.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
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

static void test_wk_sigterm_finishes_message_and_exits_0(void)
{
    struct itest t;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    pid_t pid = itest_spawn(&t, NULL, NULL);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_FATAL(itest_wait_ready(&t, 20000));

    char mark[300], body[512], id[64], id2[64];
    snprintf(mark, sizeof mark, "%s/%s.mark", ft_env("TMPDIR", "/tmp"), t.name);
    unlink(mark);
    snprintf(body, sizeof body, "{\"ms\":1500,\"mark\":\"%s\"}", mark);
    ft_rand_name(id, sizeof id, "term-");
    CU_ASSERT_EQUAL_FATAL(ft_amqp_request(t.a, t.name, id, "test.sleep", body, 60000), 0);
    struct lines one = {mark, 1};
    CU_ASSERT_FATAL(ft_wait_until(has_lines, &one, 15000));

    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    ft_rand_name(id2, sizeof id2, "after-");
    CU_ASSERT_EQUAL(ft_amqp_request(t.a, t.name, id2, "test.echo", "{\"n\":2}", 60000), 0);

    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(t.a, id, 15000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);

    int status = -1;
    CU_ASSERT_FATAL(ft_wait_exit(pid, 15000, &status));
    itest_forget(&t, pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    /* The stopping worker must not have answered the later request... */
    CU_ASSERT_EQUAL(ft_amqp_count_replies(t.a, id2, 200), 0);
    /* ...which waits in the queue for the next instance. */
    CU_ASSERT_FATAL(itest_spawn(&t, NULL, NULL) > 0);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(t.a, id2, 20000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);

    unlink(mark);
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    return ft_cunit_run_one("wk_sigterm", "test_wk_sigterm_finishes_message_and_exits_0",
                            test_wk_sigterm_finishes_message_and_exits_0);
}
