/* Unit tests for proto/topology.h: the one table every declarer reads. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"
#include "proto/topology.h"

/* The argument `key` of q, or NULL. */
static const struct proto_topo_arg *arg(const struct proto_topo_queue *q, const char *key)
{
    for (size_t i = 0; i < q->nargs; i++)
        if (strcmp(q->args[i].key, key) == 0)
            return &q->args[i];
    return NULL;
}

static void test_topology_exchanges(void)
{
    static const char *const want[][2] = {
        {"ft.rpc", "direct"}, {"ft.dlx", "fanout"}, {"ft.events", "topic"}, {"ft.live", "topic"}};
    size_t n = 0;
    for (const struct proto_topo_exchange *x = proto_topo_exchanges; x->name; x++, n++) {
        CU_ASSERT_FATAL(n < 4);
        CU_ASSERT_STRING_EQUAL(x->name, want[n][0]);
        CU_ASSERT_STRING_EQUAL(x->type, want[n][1]);
    }
    CU_ASSERT_EQUAL(n, 4);
}

static void test_topology_dlq(void)
{
    const struct proto_topo_queue *q = proto_topo_queue(PROTO_TOPO_DLQ);
    char name[32];
    CU_ASSERT_EQUAL(proto_topo_queue_name(q, "auth", name, sizeof name), 0);
    CU_ASSERT_STRING_EQUAL(name, "ft.dlq");
    CU_ASSERT_EQUAL(q->durable, 1);
    CU_ASSERT_STRING_EQUAL(q->exchange, "ft.dlx");
    CU_ASSERT_EQUAL(q->bind, PROTO_TOPO_BIND_EMPTY);
    CU_ASSERT_EQUAL(q->nargs, 2);
    const struct proto_topo_arg *a = arg(q, "x-max-length");
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL(a->kind, PROTO_TOPO_ARG_I32); /* as the broker has it stored */
    CU_ASSERT_EQUAL(a->i32, PROTO_DLQ_MAX_LENGTH);
    CU_ASSERT_STRING_EQUAL(arg(q, "x-queue-type")->str, "classic");
}

static void test_topology_rpc_classic_and_quorum(void)
{
    unsetenv("FT_RPC_QUEUE_TYPE");
    const struct proto_topo_queue *q = proto_topo_queue(PROTO_TOPO_RPC);
    char name[32];
    CU_ASSERT_EQUAL(proto_topo_queue_name(q, "transaction", name, sizeof name), 0);
    CU_ASSERT_STRING_EQUAL(name, "rpc.transaction");
    CU_ASSERT_EQUAL(q->durable, 0);
    CU_ASSERT_STRING_EQUAL(q->exchange, "ft.rpc");
    CU_ASSERT_EQUAL(q->bind, PROTO_TOPO_BIND_WORKER);
    CU_ASSERT_EQUAL(q->nargs, 2);
    CU_ASSERT_STRING_EQUAL(arg(q, "x-queue-type")->str, "classic");
    CU_ASSERT_STRING_EQUAL(arg(q, "x-dead-letter-exchange")->str, "ft.dlx");
    CU_ASSERT_PTR_NULL(arg(q, "x-delivery-limit"));

    setenv("FT_RPC_QUEUE_TYPE", "quorum", 1);
    q = proto_topo_queue(PROTO_TOPO_RPC);
    CU_ASSERT_EQUAL(q->durable, 1);
    CU_ASSERT_EQUAL(q->nargs, 3);
    CU_ASSERT_STRING_EQUAL(arg(q, "x-queue-type")->str, "quorum");
    CU_ASSERT_EQUAL(arg(q, "x-delivery-limit")->i32, PROTO_EVENTS_DELIVERY_LIMIT);
    unsetenv("FT_RPC_QUEUE_TYPE");
}

static void test_topology_events(void)
{
    const struct proto_topo_queue *q = proto_topo_queue(PROTO_TOPO_EVENTS);
    char name[32];
    CU_ASSERT_EQUAL(proto_topo_queue_name(q, "notification", name, sizeof name), 0);
    CU_ASSERT_STRING_EQUAL(name, "events.notification");
    CU_ASSERT_EQUAL(q->durable, 1);
    CU_ASSERT_STRING_EQUAL(q->exchange, "ft.events");
    CU_ASSERT_EQUAL(q->bind, PROTO_TOPO_BIND_TYPES);
    CU_ASSERT_STRING_EQUAL(arg(q, "x-queue-type")->str, "quorum");
    CU_ASSERT_STRING_EQUAL(arg(q, "x-dead-letter-exchange")->str, "ft.dlx");
    CU_ASSERT_EQUAL(arg(q, "x-delivery-limit")->kind, PROTO_TOPO_ARG_I32);
    CU_ASSERT_EQUAL(arg(q, "x-delivery-limit")->i32, PROTO_EVENTS_DELIVERY_LIMIT);
}

static void test_topology_queue_name_too_long(void)
{
    char name[8];
    CU_ASSERT_EQUAL(
        proto_topo_queue_name(proto_topo_queue(PROTO_TOPO_RPC), "transaction", name, sizeof name),
        PROTO_EINVAL);
}

static void test_topology_worker_schema(void)
{
    size_t n = 0;
    for (const char *const *w = proto_worker_names; *w; w++, n++)
        CU_ASSERT_PTR_NOT_NULL(proto_worker_schema(*w));
    CU_ASSERT_EQUAL(n, PROTO_WORKER_COUNT);
    CU_ASSERT_STRING_EQUAL(proto_worker_schema("transaction"), "ledger");
    CU_ASSERT_STRING_EQUAL(proto_worker_schema("notification"), "notify");
    CU_ASSERT_STRING_EQUAL(proto_worker_schema("auth"), "auth");
    CU_ASSERT_PTR_NULL(proto_worker_schema("ledger"));
    CU_ASSERT_PTR_NULL(proto_worker_schema(""));
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("topology", NULL, NULL);
    CU_ADD_TEST(s, test_topology_exchanges);
    CU_ADD_TEST(s, test_topology_dlq);
    CU_ADD_TEST(s, test_topology_rpc_classic_and_quorum);
    CU_ADD_TEST(s, test_topology_events);
    CU_ADD_TEST(s, test_topology_queue_name_too_long);
    CU_ADD_TEST(s, test_topology_worker_schema);
    return ft_cunit_run();
}
