/*
 * proto/topology.h — names on the broker that the gateway and the workers share.
 *
 * Declared (idempotently, with the same arguments everywhere) by both sides at connect:
 *   ft.rpc    direct, durable   routing key = worker name -> queue rpc.<worker>
 *   rpc.<w>   durable quorum queue, x-dead-letter-exchange ft.dlx, x-delivery-limit
 *             PROTO_RPC_DELIVERY_LIMIT (a poison message cannot loop forever)
 *   ft.dlx    fanout, durable   -> queue ft.dlq (bounded by PROTO_DLQ_MAX_LENGTH)
 *   ft.events topic, durable    keys "txn.posted", ...; each reacting worker has events.<worker>
 *   ft.live   topic, durable    keys "user.<uuid>" -> one exclusive queue per gateway instance
 */
#ifndef PROTO_TOPOLOGY_H
#define PROTO_TOPOLOGY_H

#include <stddef.h>

#define PROTO_EX_RPC              "ft.rpc"
#define PROTO_EX_DLX              "ft.dlx"
#define PROTO_Q_DLQ               "ft.dlq"
#define PROTO_EX_EVENTS           "ft.events"
#define PROTO_EX_LIVE             "ft.live"
#define PROTO_RPC_QUEUE_PREFIX    "rpc."
#define PROTO_EVENTS_QUEUE_PREFIX "events."
#define PROTO_RPC_DELIVERY_LIMIT  5
#define PROTO_DLQ_MAX_LENGTH      100000
#define PROTO_CONTENT_TYPE        "application/msgpack"
#define PROTO_REPLY_TO            "amq.rabbitmq.reply-to"

/* The seven worker kinds, in a fixed order, NULL-terminated. */
extern const char *const proto_worker_names[];
#define PROTO_WORKER_COUNT 7

#endif
