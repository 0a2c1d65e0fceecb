/*
 * Worker runtime, poison messages: a malformed envelope is dead-lettered to
 * ft.dlq at once and the next request is still answered; a request whose handling
 * kills the worker is dead-lettered on its PROTO_RPC_MAX_DELIVERIES-th delivery (the
 * rpc queues are classic and have no delivery limit: the runtime counts redeliveries
 * in Redis) and the queue keeps flowing.
 */
#include <CUnit/Basic.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "ft_test.h"
#include "itest.h"
#include "proto/topology.h"

static void test_wk_poison_malformed_is_dead_lettered(void)
{
    struct itest t;
    struct ft_amqp *dlq = NULL;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    CU_ASSERT_FATAL(itest_spawn(&t, NULL, NULL) > 0);
    CU_ASSERT_FATAL(itest_wait_ready(&t, 20000));
    dlq = ft_amqp_open(ft_env("AMQP_URL", ""));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dlq);

    /* Not msgpack at all. */
    char bad1[64];
    ft_rand_name(bad1, sizeof bad1, "poison-");
    const char junk[] = "this is not msgpack \xc1\xc1";
    CU_ASSERT_EQUAL(ft_amqp_publish(t.a, PROTO_EX_RPC, t.name, bad1, 1, junk, sizeof junk - 1), 0);

    /* Valid msgpack, wrong envelope (version 2, no method). */
    char bad2[64];
    ft_rand_name(bad2, sizeof bad2, "poison-");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, bad2, strlen(bad2));
    CU_ASSERT_EQUAL(ft_amqp_publish(t.a, PROTO_EX_RPC, t.name, bad2, 1, sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);

    /* Rejected at the first delivery, not after the delivery limit. */
    char why[64];
    CU_ASSERT_EQUAL(ft_amqp_dlq_take(dlq, bad1, 20000, why, sizeof why), 1);
    CU_ASSERT_STRING_EQUAL(why, "rejected");
    CU_ASSERT_EQUAL(ft_amqp_dlq_take(dlq, bad2, 20000, why, sizeof why), 1);
    CU_ASSERT_STRING_EQUAL(why, "rejected");
    /* No reply for either, and the worker still answers the next request. */
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_call(t.a, t.name, "test.echo", "{\"ok\":true}", 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "(no body)", "{\"ok\":true}");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(ft_amqp_count_replies(t.a, bad1, 200), 0);
    CU_ASSERT_EQUAL(ft_amqp_count_replies(t.a, bad2, 200), 0);
    CU_ASSERT_EQUAL(ft_amqp_queue_depth(t.a, t.queue), 0);

    ft_amqp_close(dlq);
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

/* 1 if one line of the file at path contains both a and b. */
static int log_has(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    int found = 0;
    while (f && !found && fgets(buf, sizeof buf, f))
        found = strstr(buf, a) && strstr(buf, b);
    if (f)
        fclose(f);
    return found;
}

static void test_wk_poison_request_that_kills_the_worker_is_dead_lettered(void)
{
    struct itest t;
    struct ft_amqp *dlq = NULL;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    dlq = ft_amqp_open(ft_env("AMQP_URL", ""));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dlq);

    char id[64];
    ft_rand_name(id, sizeof id, "doomed-");
    CU_ASSERT_EQUAL_FATAL(ft_amqp_request(t.a, t.name, id, "test.die", "{}", 120000), 0);
    /* Each worker takes the request and dies in its handler, until one dead-letters it. */
    int died = 0, alive = 0;
    for (int i = 0; i < PROTO_RPC_MAX_DELIVERIES + 2 && !alive; i++) {
        pid_t pid = itest_spawn(&t, NULL, NULL);
        CU_ASSERT_FATAL(pid > 0);
        int status = 0;
        if (ft_wait_exit(pid, 15000, &status)) {
            itest_forget(&t, pid);
            CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 3);
            died++;
        } else {
            alive = 1; /* it dead-lettered the request and went on waiting for work */
        }
    }
    char why[64];
    CU_ASSERT_EQUAL(ft_amqp_dlq_take(dlq, id, 20000, why, sizeof why), 1);
    CU_ASSERT_STRING_EQUAL(why, "rejected");
    fprintf(stderr, "workers killed by the request: %d (limit: dead-lettered on delivery %d)\n",
            died, PROTO_RPC_MAX_DELIVERIES);
    CU_ASSERT_EQUAL(died, PROTO_RPC_MAX_DELIVERIES - 1);
    CU_ASSERT(alive);
    CU_ASSERT_EQUAL(ft_amqp_queue_depth(t.a, t.queue), 0);
    /* The runtime said why, naming the delivery it stopped at. */
    char line[128];
    snprintf(line, sizeof line, "delivery=%d", PROTO_RPC_MAX_DELIVERIES);
    CU_ASSERT(log_has(t.log, "request dead-lettered: redelivered too often", line));

    /* The queue is not stalled: the surviving worker answers the next request. */
    CU_ASSERT(itest_wait_ready(&t, 20000));
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_call(t.a, t.name, "test.echo", "{\"ok\":true}", 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(ft_amqp_count_replies(t.a, id, 200), 0);

    ft_amqp_close(dlq);
    itest_teardown(&t, CU_get_number_of_failures() > failures);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("wk_poison", NULL, NULL);
    CU_add_test(s, "test_wk_poison_malformed_is_dead_lettered",
                test_wk_poison_malformed_is_dead_lettered);
    CU_add_test(s, "test_wk_poison_request_that_kills_the_worker_is_dead_lettered",
                test_wk_poison_request_that_kills_the_worker_is_dead_lettered);
    return ft_cunit_run();
}
