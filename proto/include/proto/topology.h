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

/* 1 when rpc.<worker> queues are the old durable quorum queues (FT_RPC_QUEUE_TYPE=quorum, read
 * once; benchmarks only), else 0: classic and non-durable. Every declarer asks this. */
int proto_rpc_queue_quorum(void);

/* The seven worker kinds, in a fixed order, NULL-terminated. */
extern const char *const proto_worker_names[];
#define PROTO_WORKER_COUNT 7

#endif
