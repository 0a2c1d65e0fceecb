/*
 * librabbitmq (rabbitmq-c 0.11) behind the runtime: connect, declare, consume,
 * publish, confirms. Every amqp_rpc_reply_t / status is checked here and turned
 * into a log line plus WK_EMQ; callers only see 0 / WK_EMQ and close on error.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/topology.h"

#define MQ_CHANNEL           1
#define MQ_CONNECT_TIMEOUT_S 5
#define MQ_RPC_TIMEOUT_S     10
#define MQ_FRAME_MAX         131072
#define MQ_RPC_TAG           "rpc"
#define MQ_EVENTS_TAG        "events"
/* Acks one multiple ack may carry: below the default prefetch (16), so the broker's window
 * never empties while acks wait. */
#define MQ_ACK_BATCH 8

/* Describes a failed amqp_rpc_reply_t for a log line. */
static const char *reply_text(amqp_rpc_reply_t r, char *buf, size_t size)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return "ok";
    case AMQP_RESPONSE_NONE:
        return "missing rpc reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            snprintf(buf, size, "connection closed by broker: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            snprintf(buf, size, "channel closed by broker: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(buf, size, "unexpected broker method 0x%08x", (unsigned)r.reply.id);
        }
        return buf;
    }
    return "unknown rpc reply";
}

/* Checks the reply of the last synchronous call; logs what failed. */
static int check_rpc(struct wk_mq *mq, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(mq->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    char buf[256];
    PROTO_ERROR(wk_log_id(mq->log), "amqp call failed", "op=%s err=%s", what,
                proto_log_str(reply_text(r, buf, sizeof buf)));
    return WK_EMQ;
}

int wk_mq_up(const struct wk_mq *mq)
{
    return mq->conn != NULL;
}

void wk_mq_close(struct wk_mq *mq)
{
    if (!mq->conn)
        return;
    /* Best effort: the socket may already be gone, so the results do not matter. */
    if (mq->ack_waiting)
        amqp_basic_ack(mq->conn, MQ_CHANNEL, mq->ack_upto, 1);
    amqp_channel_close(mq->conn, MQ_CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(mq->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(mq->conn);
    mq->conn = NULL;
    mq->next_tag = 0;
    mq->acked_upto = 0;
    mq->nacked = 0;
    mq->ack_upto = 0;
    mq->ack_waiting = 0;
}

int wk_mq_connect(struct wk_mq *mq, const char *url, int heartbeat_s, int confirm,
                  const struct wk_log *log)
{
    mq->log = log;
    struct amqp_connection_info info;
    char *copy = proto_xstrdup(url); /* amqp_parse_url writes into its argument */
    int st = amqp_parse_url(copy, &info);
    if (st != AMQP_STATUS_OK) {
        PROTO_ERROR(NULL, "AMQP_URL is not a valid amqp:// URL", "err=%s",
                    proto_log_str(amqp_error_string2(st)));
        free(copy);
        return WK_EMQ;
    }
    /* "amqp://host:port/" parses to vhost ""; RabbitMQ's default vhost is "/". */
    if (!info.vhost || !*info.vhost)
        info.vhost = "/";
    wk_mq_close(mq);
    mq->conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(mq->conn);
    if (!sock) {
        PROTO_ERROR(NULL, "amqp socket allocation failed", NULL);
        goto fail;
    }
    struct timeval tv = {MQ_CONNECT_TIMEOUT_S, 0};
    st = amqp_socket_open_noblock(sock, info.host, info.port, &tv);
    if (st != AMQP_STATUS_OK) {
        PROTO_WARN(NULL, "broker unreachable", "host=%s port=%d err=%s", proto_log_str(info.host),
                   info.port, proto_log_str(amqp_error_string2(st)));
        goto fail;
    }
    amqp_set_handshake_timeout(mq->conn, &tv);
    struct timeval rpc_tv = {MQ_RPC_TIMEOUT_S, 0};
    amqp_set_rpc_timeout(mq->conn, &rpc_tv);
    amqp_rpc_reply_t r = amqp_login(mq->conn, info.vhost, 0, MQ_FRAME_MAX, heartbeat_s,
                                    AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char buf[256];
        PROTO_WARN(NULL, "broker login failed", "err=%s",
                   proto_log_str(reply_text(r, buf, sizeof buf)));
        goto fail;
    }
    amqp_channel_open(mq->conn, MQ_CHANNEL);
    if (check_rpc(mq, "channel.open") != 0)
        goto fail;
    mq->confirm = confirm;
    if (confirm) {
        amqp_confirm_select(mq->conn, MQ_CHANNEL);
        if (check_rpc(mq, "confirm.select") != 0)
            goto fail;
        mq->next_tag = 1;
        mq->acked_upto = 0;
        mq->nacked = 0;
    }
    free(copy);
    return 0;

fail:
    if (mq->conn) {
        amqp_destroy_connection(mq->conn);
        mq->conn = NULL;
    }
    free(copy);
    return WK_EMQ;
}

/* Queue q's arguments (proto/topology.h) as a rabbitmq-c table over e. */
static amqp_table_t topo_args(const struct proto_topo_queue *q, amqp_table_entry_t *e)
{
    for (size_t i = 0; i < q->nargs; i++) {
        e[i].key = amqp_cstring_bytes(q->args[i].key);
        if (q->args[i].kind == PROTO_TOPO_ARG_STR) {
            e[i].value.kind = AMQP_FIELD_KIND_UTF8;
            e[i].value.value.bytes = amqp_cstring_bytes(q->args[i].str);
        } else {
            e[i].value.kind = AMQP_FIELD_KIND_I32;
            e[i].value.value.i32 = q->args[i].i32;
        }
    }
    return (amqp_table_t){(int)q->nargs, e};
}

static int bind_queue(struct wk_mq *mq, const char *queue, const char *exchange, const char *key)
{
    amqp_queue_bind(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(key), amqp_empty_table);
    return check_rpc(mq, "queue.bind");
}

/* Declares queue q (named for `worker` when it is per worker) and binds it: once, or once per
 * event type in types[ntypes] for PROTO_TOPO_BIND_TYPES. */
static int declare_queue(struct wk_mq *mq, const struct proto_topo_queue *q, const char *worker,
                         const char *const *types, size_t ntypes)
{
    char name[256]; /* an AMQP short string */
    amqp_table_entry_t e[PROTO_TOPO_MAX_ARGS];
    if (proto_topo_queue_name(q, worker, name, sizeof name) != 0) {
        PROTO_ERROR(NULL, "queue name too long", "worker=%s", proto_log_str(worker));
        return WK_EMQ;
    }
    amqp_queue_declare(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(name), 0, q->durable, 0, 0,
                       topo_args(q, e));
    if (check_rpc(mq, "queue.declare") != 0) {
        PROTO_ERROR(NULL, "queue declare refused (arguments differ from an existing queue?)",
                    "queue=%s", proto_log_str(name));
        return WK_EMQ;
    }
    if (q->bind != PROTO_TOPO_BIND_TYPES)
        return bind_queue(mq, name, q->exchange, q->bind == PROTO_TOPO_BIND_WORKER ? worker : "");
    for (size_t i = 0; i < ntypes; i++)
        if (bind_queue(mq, name, q->exchange, types[i]) != 0)
            return WK_EMQ;
    return 0;
}

int wk_mq_declare(struct wk_mq *mq, const char *worker, const char *const *types, size_t ntypes)
{
    for (const struct proto_topo_exchange *x = proto_topo_exchanges; x->name; x++) {
        amqp_exchange_declare(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(x->name),
                              amqp_cstring_bytes(x->type), 0, 1, 0, 0, amqp_empty_table);
        if (check_rpc(mq, "exchange.declare") != 0)
            return WK_EMQ;
    }
    if (declare_queue(mq, proto_topo_queue(PROTO_TOPO_DLQ), NULL, NULL, 0) != 0)
        return WK_EMQ;
    if (!worker)
        return 0;
    if (declare_queue(mq, proto_topo_queue(PROTO_TOPO_RPC), worker, NULL, 0) != 0)
        return WK_EMQ;
    if (ntypes > 0 &&
        declare_queue(mq, proto_topo_queue(PROTO_TOPO_EVENTS), worker, types, ntypes) != 0)
        return WK_EMQ;
    return 0;
}

int wk_mq_consume(struct wk_mq *mq, int prefetch, const char *rpc_queue, const char *events_queue)
{
    amqp_basic_qos(mq->conn, MQ_CHANNEL, 0, (uint16_t)prefetch, 0);
    if (check_rpc(mq, "basic.qos") != 0)
        return WK_EMQ;
    amqp_basic_consume(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(rpc_queue),
                       amqp_cstring_bytes(MQ_RPC_TAG), 0, 0, 0, amqp_empty_table);
    if (check_rpc(mq, "basic.consume") != 0)
        return WK_EMQ;
    return events_queue ? wk_mq_consume_events(mq, events_queue) : 0;
}

int wk_mq_consume_events(struct wk_mq *mq, const char *events_queue)
{
    if (!mq->conn)
        return WK_EMQ;
    amqp_basic_consume(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(events_queue),
                       amqp_cstring_bytes(MQ_EVENTS_TAG), 0, 0, 0, amqp_empty_table);
    return check_rpc(mq, "basic.consume");
}

int wk_mq_cancel_events(struct wk_mq *mq)
{
    if (!mq->conn)
        return WK_EMQ;
    /* Deliveries that cross the cancel are queued by the library and still arrive. */
    amqp_basic_cancel(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(MQ_EVENTS_TAG));
    return check_rpc(mq, "basic.cancel");
}

/* Takes a frame that is not a delivery (the library leaves it queued for us). */
static int handle_other_frame(struct wk_mq *mq)
{
    amqp_frame_t f;
    if (amqp_simple_wait_frame(mq->conn, &f) != AMQP_STATUS_OK)
        return WK_EMQ;
    if (f.frame_type != AMQP_FRAME_METHOD)
        return 0;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = f.payload.method.decoded;
        if (mq->confirm && a->delivery_tag > mq->acked_upto)
            mq->acked_upto = a->delivery_tag; /* see wk_mq_wait_confirms */
        return 0;
    }
    case AMQP_BASIC_NACK_METHOD:
        mq->nacked = 1;
        return 0;
    case AMQP_BASIC_RETURN_METHOD: {
        /* An unroutable mandatory publish: read and drop its content frames. */
        amqp_message_t m;
        amqp_rpc_reply_t r = amqp_read_message(mq->conn, f.channel, &m, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            return WK_EMQ;
        amqp_destroy_message(&m);
        return 0;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *m = f.payload.method.decoded;
        char text[256];
        snprintf(text, sizeof text, "%.*s", (int)m->reply_text.len,
                 (const char *)m->reply_text.bytes);
        PROTO_ERROR(NULL, "broker closed the channel", "code=%u text=%s", m->reply_code,
                    proto_log_str(text));
        return WK_EMQ;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *m = f.payload.method.decoded;
        PROTO_WARN(NULL, "broker closed the connection", "code=%u", m->reply_code);
        return WK_EMQ;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        PROTO_WARN(NULL, "broker cancelled our consumer (queue deleted?)", NULL);
        return WK_EMQ;
    default:
        return 0;
    }
}

int wk_mq_next(struct wk_mq *mq, struct wk_delivery *d, int timeout_ms)
{
    if (!mq->conn)
        return WK_EMQ;
    amqp_maybe_release_buffers(mq->conn);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    memset(d, 0, sizeof *d);
    amqp_rpc_reply_t r;
    if (mq->ack_waiting) {
        /* Acks wait only while the next delivery is already here. */
        struct timeval now = {0, 0};
        r = amqp_consume_message(mq->conn, &d->env, &now, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT) {
            if (wk_mq_flush_acks(mq) != 0)
                return WK_EMQ;
            r = amqp_consume_message(mq->conn, &d->env, &tv, 0);
        }
    } else {
        r = amqp_consume_message(mq->conn, &d->env, &tv, 0);
    }
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        d->from_events =
            d->env.consumer_tag.len == strlen(MQ_EVENTS_TAG) &&
            memcmp(d->env.consumer_tag.bytes, MQ_EVENTS_TAG, d->env.consumer_tag.len) == 0;
        return 1;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        if (r.library_error == AMQP_STATUS_TIMEOUT)
            return 0;
        if (r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
            return handle_other_frame(mq);
    }
    char buf[256];
    PROTO_WARN(NULL, "broker connection lost", "err=%s",
               proto_log_str(reply_text(r, buf, sizeof buf)));
    return WK_EMQ;
}

void wk_mq_delivery_free(struct wk_delivery *d)
{
    amqp_destroy_envelope(&d->env);
}

int wk_mq_flush_acks(struct wk_mq *mq)
{
    if (!mq->ack_waiting)
        return 0;
    uint64_t tag = mq->ack_upto;
    mq->ack_waiting = 0;
    if (!mq->conn || amqp_basic_ack(mq->conn, MQ_CHANNEL, tag, 1) != AMQP_STATUS_OK) {
        PROTO_WARN(NULL, "ack failed (the messages will be redelivered)", NULL);
        return WK_EMQ;
    }
    return 0;
}

int wk_mq_ack(struct wk_mq *mq, uint64_t tag)
{
    if (!mq->conn)
        return WK_EMQ;
    if (tag > mq->ack_upto)
        mq->ack_upto = tag;
    return ++mq->ack_waiting >= MQ_ACK_BATCH ? wk_mq_flush_acks(mq) : 0;
}

int wk_mq_reject(struct wk_mq *mq, uint64_t tag, int requeue)
{
    if (!mq->conn || amqp_basic_reject(mq->conn, MQ_CHANNEL, tag, requeue) != AMQP_STATUS_OK) {
        PROTO_WARN(wk_log_id(mq->log), "reject failed", NULL);
        return WK_EMQ;
    }
    return 0;
}

int wk_mq_publish(struct wk_mq *mq, const char *exchange, const char *key, const char *content_type,
                  const char *correlation_id, const char *message_id, int persistent,
                  const void *body, size_t len)
{
    return wk_mq_publish_typed(mq, exchange, key, content_type, NULL, correlation_id, message_id,
                               persistent, body, len);
}

int wk_mq_publish_typed(struct wk_mq *mq, const char *exchange, const char *key,
                        const char *content_type, const char *type, const char *correlation_id,
                        const char *message_id, int persistent, const void *body, size_t len)
{
    if (!mq->conn)
        return WK_EMQ;
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes(content_type ? content_type : PROTO_CONTENT_TYPE);
    p.delivery_mode = persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
    if (type) {
        p._flags |= AMQP_BASIC_TYPE_FLAG;
        p.type = amqp_cstring_bytes(type);
    }
    if (correlation_id) {
        p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p.correlation_id = amqp_cstring_bytes(correlation_id);
    }
    if (message_id) {
        p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        p.message_id = amqp_cstring_bytes(message_id);
    }
    amqp_bytes_t b = {len, (void *)body};
    int st = amqp_basic_publish(mq->conn, MQ_CHANNEL, amqp_cstring_bytes(exchange),
                                amqp_cstring_bytes(key), 0, 0, &p, b);
    if (st != AMQP_STATUS_OK) {
        PROTO_WARN(wk_log_id(mq->log), "publish failed", "exchange=%s err=%s",
                   proto_log_str(exchange), proto_log_str(amqp_error_string2(st)));
        return WK_EMQ;
    }
    if (mq->confirm)
        mq->next_tag++;
    return 0;
}

int wk_mq_wait_confirms(struct wk_mq *mq, int timeout_ms)
{
    if (!mq->conn || !mq->confirm)
        return WK_EMQ;
    int64_t end = proto_mono_ms() + timeout_ms;
    /* Tags are per channel and count from 1, so "acked_upto >= next_tag - 1" means all.
     * The broker may ack singly or with `multiple`; on one channel it acks in order. */
    while (mq->acked_upto + 1 < mq->next_tag && !mq->nacked) {
        int64_t left = end - proto_mono_ms();
        if (left <= 0) {
            PROTO_WARN(NULL, "publisher confirms timed out", "pending=%llu",
                       (unsigned long long)(mq->next_tag - 1 - mq->acked_upto));
            return WK_EMQ;
        }
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        amqp_frame_t f;
        int st = amqp_simple_wait_frame_noblock(mq->conn, &f, &tv);
        if (st == AMQP_STATUS_TIMEOUT)
            continue;
        if (st != AMQP_STATUS_OK) {
            PROTO_WARN(NULL, "relay connection lost", "err=%s",
                       proto_log_str(amqp_error_string2(st)));
            return WK_EMQ;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            if (a->delivery_tag > mq->acked_upto)
                mq->acked_upto = a->delivery_tag;
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            mq->nacked = 1;
        } else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            PROTO_WARN(NULL, "broker closed the relay connection", NULL);
            return WK_EMQ;
        }
    }
    if (mq->nacked) {
        mq->nacked = 0;
        PROTO_WARN(NULL, "broker nacked an event publish", NULL);
        return WK_EMQ;
    }
    return 0;
}
