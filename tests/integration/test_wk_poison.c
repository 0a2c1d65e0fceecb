/*
 * Worker runtime, poison messages: a malformed envelope is dead-lettered to
 * ft.dlq at once and the next request is still answered; a request whose
 * consumer keeps dying without ack is dead-lettered after the delivery limit
 * and the queue keeps flowing.
 */
#include <CUnit/Basic.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

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

static void test_wk_poison_dying_consumer_hits_delivery_limit(void)
{
    struct itest t;
    struct ft_amqp *dlq = NULL;
    unsigned failures = CU_get_number_of_failures();
    CU_ASSERT_EQUAL_FATAL(itest_setup(&t), 0);
    dlq = ft_amqp_open(ft_env("AMQP_URL", ""));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dlq);

    /* No worker yet: a consumer that takes the message and dies, again and again. */
    char id[64];
    ft_rand_name(id, sizeof id, "doomed-");
    CU_ASSERT_EQUAL_FATAL(ft_amqp_request(t.a, t.name, id, "test.echo", "{}", 120000), 0);
    int taken = 0, dead = 0;
    for (int i = 0; i < 3 * PROTO_RPC_DELIVERY_LIMIT && !dead; i++) {
        int r = ft_amqp_take_and_die(ft_env("AMQP_URL", ""), t.queue, id, 5000);
        CU_ASSERT_NOT_EQUAL(r, -1);
        CU_ASSERT_NOT_EQUAL(r, 2);
        if (r == 1)
            taken++;
        if (r == 0) /* nothing left to deliver: it must be in the DLQ now */
            dead = 1;
    }
    char why[64];
    CU_ASSERT_EQUAL(ft_amqp_dlq_take(dlq, id, 20000, why, sizeof why), 1);
    CU_ASSERT_STRING_EQUAL(why, "delivery_limit");
    fprintf(stderr, "delivered %d times before dead-lettering (limit %d)\n", taken,
            PROTO_RPC_DELIVERY_LIMIT);
    /* Delivered at most limit + 1 times (the broker counts returns from 0). */
    CU_ASSERT(taken >= PROTO_RPC_DELIVERY_LIMIT);
    CU_ASSERT(taken <= PROTO_RPC_DELIVERY_LIMIT + 1);
    CU_ASSERT_EQUAL(ft_amqp_queue_depth(t.a, t.queue), 0);

    /* The queue is not stalled: a real worker answers the next request. */
    CU_ASSERT_FATAL(itest_spawn(&t, NULL, NULL) > 0);
    CU_ASSERT(itest_wait_ready(&t, 20000));
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
    CU_add_test(s, "test_wk_poison_dying_consumer_hits_delivery_limit",
                test_wk_poison_dying_consumer_hits_delivery_limit);
    return ft_cunit_run();
}
