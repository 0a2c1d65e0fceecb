/*
 * proto/topology.h — names on the broker that the gateway and the workers share.
 *
 * Declared (idempotently, with the same arguments everywhere) by both sides at connect:
 *   ft.rpc    direct, durable   routing key = worker name -> queue rpc.<worker>
 *   rpc.<w>   classic, non-durable (not exclusive, not auto-delete), x-dead-letter-exchange
 *             ft.dlx. Requests are transient and expire at their deadline: nothing in them is
 *             worth replicating or fsyncing (a client retries with its Idempotency-Key). Classic
 *             queues have no delivery limit: the worker runtime dead-letters a request on its
 *             PROTO_RPC_MAX_DELIVERIES-th delivery (counted in Redis), so a request that kills
 *             its consumer cannot loop. FT_RPC_QUEUE_TYPE=quorum declares the old durable quorum
 *             queue instead, for tests/bench/rpc.sh's comparison only.
 *   ft.dlx    fanout, durable   -> queue ft.dlq (bounded by PROTO_DLQ_MAX_LENGTH)
 *   ft.events topic, durable    keys "txn.posted", ...; each reacting worker has events.<worker>,
 *             a durable quorum queue (committed facts) with x-dead-letter-exchange ft.dlx and
 *             x-delivery-limit PROTO_EVENTS_DELIVERY_LIMIT
 *   ft.live   topic, durable    keys "user.<uuid>" -> one exclusive queue per gateway instance
 */
#ifndef PROTO_TOPOLOGY_H
#define PROTO_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_EX_RPC                "ft.rpc"
#define PROTO_EX_DLX                "ft.dlx"
#define PROTO_Q_DLQ                 "ft.dlq"
#define PROTO_EX_EVENTS             "ft.events"
#define PROTO_EX_LIVE               "ft.live"
#define PROTO_RPC_QUEUE_PREFIX      "rpc."
#define PROTO_EVENTS_QUEUE_PREFIX   "events."
#define PROTO_RPC_MAX_DELIVERIES    3
#define PROTO_EVENTS_DELIVERY_LIMIT 5
#define PROTO_DLQ_MAX_LENGTH        100000
#define PROTO_CONTENT_TYPE          "application/msgpack"
#define PROTO_REPLY_TO              "amq.rabbitmq.reply-to"

/* The seven worker kinds, in a fixed order, NULL-terminated. */
extern const char *const proto_worker_names[];
#define PROTO_WORKER_COUNT 7

/* The PostgreSQL schema that holds worker kind `worker`'s outbox/inbox ("transaction" ->
 * "ledger"), or NULL for a name that is not one of proto_worker_names. */
const char *proto_worker_schema(const char *worker);

/* ---- the topology as plain data ----
 * The rows below are everything the gateway (gateway/src/bridge.c), the worker runtime
 * (workers/runtime/src/mq.c) and the tests (tests/support/ft_amqp.c) declare; each converts
 * them to its AMQP library's types in its own wrapper. Declaring them is idempotent; a queue
 * redeclared with other arguments is refused by the broker (PRECONDITION_FAILED). */

/* An exchange: durable, not auto-delete, not internal, no arguments. */
struct proto_topo_exchange {
    const char *name;
    const char *type; /* "direct", "fanout", "topic" */
};

/* ft.rpc, ft.dlx, ft.events, ft.live, in that order, ended by a row with name NULL. */
extern const struct proto_topo_exchange proto_topo_exchanges[];

enum proto_topo_arg_kind {
    PROTO_TOPO_ARG_STR, /* an AMQP long string */
    PROTO_TOPO_ARG_I32, /* a signed 32-bit integer; RabbitMQ compares integer arguments by
                         * value, not width, so queues first declared with I64 stay equivalent */
};

/* One entry of a queue's x-arguments. */
struct proto_topo_arg {
    const char *key;
    enum proto_topo_arg_kind kind;
    const char *str; /* PROTO_TOPO_ARG_STR */
    int32_t i32;     /* PROTO_TOPO_ARG_I32 */
};

/* How a queue is bound. */
enum proto_topo_bind {
    PROTO_TOPO_BIND_EMPTY,  /* once, routing key "" */
    PROTO_TOPO_BIND_WORKER, /* once, routing key = the worker's name */
    PROTO_TOPO_BIND_TYPES,  /* once per event type the worker handles */
};

#define PROTO_TOPO_MAX_ARGS 3

/* A queue: not exclusive, not auto-delete. */
struct proto_topo_queue {
    const char *name; /* the name, or for a per-worker queue the prefix of <name><worker> */
    int per_worker;   /* 1: one queue per worker kind, named name + worker */
    int durable;
    const char *exchange;      /* bound to this exchange ... */
    enum proto_topo_bind bind; /* ... with these keys */
    size_t nargs;
    struct proto_topo_arg args[PROTO_TOPO_MAX_ARGS];
};

enum proto_topo_queue_kind {
    PROTO_TOPO_DLQ,    /* ft.dlq: classic, durable, x-max-length, bound to ft.dlx */
    PROTO_TOPO_RPC,    /* rpc.<worker>: classic, non-durable, dead-lettered to ft.dlx, bound to
                        * ft.rpc by worker name (quorum + x-delivery-limit under
                        * FT_RPC_QUEUE_TYPE=quorum) */
    PROTO_TOPO_EVENTS, /* events.<worker>: quorum, durable, dead-lettered to ft.dlx,
                        * x-delivery-limit, bound to ft.events once per event type */
};

/* The row of queue `kind` (static storage). For PROTO_TOPO_RPC it is the classic,
 * non-durable row, or the old durable quorum row when FT_RPC_QUEUE_TYPE=quorum (read at each
 * call; tests/bench/rpc.sh's comparison only). Any thread. */
const struct proto_topo_queue *proto_topo_queue(enum proto_topo_queue_kind kind);

/* Writes queue q's name for `worker` (ignored unless q->per_worker) into out[size]. 0, or
 * PROTO_EINVAL when it does not fit. */
int proto_topo_queue_name(const struct proto_topo_queue *q, const char *worker, char *out,
                          size_t size);

#endif
