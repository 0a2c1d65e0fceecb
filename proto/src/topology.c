/* The worker kinds and the broker topology both sides agree on; see proto/topology.h. */
#include "proto/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

enum { W_AUTH, W_TRANSACTION, W_TWIN, W_RISK, W_PORTFOLIO, W_PERSONA, W_NOTIFICATION, W_COUNT };

const char *const proto_worker_names[] = {
    [W_AUTH] = "auth",
    [W_TRANSACTION] = "transaction",
    [W_TWIN] = "twin",
    [W_RISK] = "risk",
    [W_PORTFOLIO] = "portfolio",
    [W_PERSONA] = "persona",
    [W_NOTIFICATION] = "notification",
    [W_COUNT] = NULL,
};

static const char *const worker_schemas[W_COUNT] = {
    [W_AUTH] = "auth",           [W_TRANSACTION] = "ledger",  [W_TWIN] = "twin",
    [W_RISK] = "risk",           [W_PORTFOLIO] = "portfolio", [W_PERSONA] = "persona",
    [W_NOTIFICATION] = "notify",
};

_Static_assert(W_COUNT == PROTO_WORKER_COUNT, "PROTO_WORKER_COUNT is the number of kinds");

const char *proto_worker_schema(const char *worker)
{
    for (int w = 0; w < W_COUNT; w++)
        if (strcmp(proto_worker_names[w], worker) == 0)
            return worker_schemas[w];
    return NULL;
}

/* 1 when rpc.<worker> queues are the old durable quorum queues (FT_RPC_QUEUE_TYPE=quorum). */
static int rpc_queue_quorum(void)
{
    /* Read at each (re)declaration, which is rare; nothing in the processes sets it. */
    const char *t = getenv("FT_RPC_QUEUE_TYPE");
    return t && strcmp(t, "quorum") == 0;
}

/* ---- topology ---- */

const struct proto_topo_exchange proto_topo_exchanges[] = {
    {PROTO_EX_RPC, "direct"},
    {PROTO_EX_DLX, "fanout"},
    {PROTO_EX_EVENTS, "topic"},
    {PROTO_EX_LIVE, "topic"},
    {NULL, NULL},
};

/* Arguments are {key, kind, str, i32}. */
static const struct proto_topo_queue queues[] = {
    [PROTO_TOPO_DLQ] = {.name = PROTO_Q_DLQ,
                        .durable = 1,
                        .exchange = PROTO_EX_DLX,
                        .bind = PROTO_TOPO_BIND_EMPTY,
                        .nargs = 2,
                        .args = {{"x-queue-type", PROTO_TOPO_ARG_STR, "classic", 0},
                                 {"x-max-length", PROTO_TOPO_ARG_I32, NULL, PROTO_DLQ_MAX_LENGTH}}},
    /* Classic and non-durable: see the header comment of proto/topology.h. */
    [PROTO_TOPO_RPC] = {.name = PROTO_RPC_QUEUE_PREFIX,
                        .per_worker = 1,
                        .durable = 0,
                        .exchange = PROTO_EX_RPC,
                        .bind = PROTO_TOPO_BIND_WORKER,
                        .nargs = 2,
                        .args = {{"x-queue-type", PROTO_TOPO_ARG_STR, "classic", 0},
                                 {"x-dead-letter-exchange", PROTO_TOPO_ARG_STR, PROTO_EX_DLX, 0}}},
    [PROTO_TOPO_EVENTS] = {.name = PROTO_EVENTS_QUEUE_PREFIX,
                           .per_worker = 1,
                           .durable = 1,
                           .exchange = PROTO_EX_EVENTS,
                           .bind = PROTO_TOPO_BIND_TYPES,
                           .nargs = 3,
                           .args = {{"x-queue-type", PROTO_TOPO_ARG_STR, "quorum", 0},
                                    {"x-dead-letter-exchange", PROTO_TOPO_ARG_STR, PROTO_EX_DLX, 0},
                                    {"x-delivery-limit", PROTO_TOPO_ARG_I32, NULL,
                                     PROTO_EVENTS_DELIVERY_LIMIT}}},
};

/* rpc.<worker> under FT_RPC_QUEUE_TYPE=quorum (tests/bench/rpc.sh's comparison only). */
static const struct proto_topo_queue rpc_quorum = {
    .name = PROTO_RPC_QUEUE_PREFIX,
    .per_worker = 1,
    .durable = 1,
    .exchange = PROTO_EX_RPC,
    .bind = PROTO_TOPO_BIND_WORKER,
    .nargs = 3,
    .args = {{"x-queue-type", PROTO_TOPO_ARG_STR, "quorum", 0},
             {"x-dead-letter-exchange", PROTO_TOPO_ARG_STR, PROTO_EX_DLX, 0},
             {"x-delivery-limit", PROTO_TOPO_ARG_I32, NULL, PROTO_EVENTS_DELIVERY_LIMIT}},
};

const struct proto_topo_queue *proto_topo_queue(enum proto_topo_queue_kind kind)
{
    if (kind == PROTO_TOPO_RPC && rpc_queue_quorum())
        return &rpc_quorum;
    return &queues[kind];
}

int proto_topo_queue_name(const struct proto_topo_queue *q, const char *worker, char *out,
                          size_t size)
{
    int n = q->per_worker ? snprintf(out, size, "%s%s", q->name, worker)
                          : snprintf(out, size, "%s", q->name);
    return n >= 0 && (size_t)n < size ? 0 : PROTO_EINVAL;
}
