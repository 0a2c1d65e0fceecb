/* A blocking AMQP client for integration tests; see ft_amqp.h. */
#include "ft_amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_test.h"
#include "proto/buf.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define CH 1

struct pending {
    char tag[64];
    struct ft_msg m;
};

struct ft_amqp {
    amqp_connection_state_t conn;
    int reply_consumer; /* consuming amq.rabbitmq.reply-to */
    struct pending *buf;
    size_t n, cap;
};

static int rpc_ok(struct ft_amqp *a, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(a->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        fprintf(stderr, "ft_amqp: %s: channel closed: %u %.*s\n", what, m->reply_code,
                (int)m->reply_text.len, (char *)m->reply_text.bytes);
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        fprintf(stderr, "ft_amqp: %s: %s\n", what, amqp_error_string2(r.library_error));
    } else {
        fprintf(stderr, "ft_amqp: %s failed (reply type %d)\n", what, (int)r.reply_type);
    }
    return -1;
}

static amqp_connection_state_t connect_url(const char *url)
{
    struct amqp_connection_info info;
    char *copy = strdup(url);
    if (!copy || amqp_parse_url(copy, &info) != AMQP_STATUS_OK) {
        fprintf(stderr, "ft_amqp: bad AMQP url\n");
        free(copy);
        return NULL;
    }
    /* "amqp://host:port/" parses to vhost ""; RabbitMQ's default vhost is "/". */
    if (!info.vhost || !*info.vhost)
        info.vhost = "/";
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    struct timeval tv = {5, 0};
    if (!s || amqp_socket_open_noblock(s, info.host, info.port, &tv) != AMQP_STATUS_OK) {
        fprintf(stderr, "ft_amqp: cannot connect to %s:%d\n", info.host, info.port);
        goto fail;
    }
    amqp_rpc_reply_t r =
        amqp_login(c, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "ft_amqp: login failed\n");
        goto fail;
    }
    amqp_channel_open(c, CH);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "ft_amqp: channel.open failed\n");
        goto fail;
    }
    free(copy);
    return c;
fail:
    amqp_destroy_connection(c);
    free(copy);
    return NULL;
}

struct ft_amqp *ft_amqp_open(const char *url)
{
    amqp_connection_state_t c = connect_url(url);
    if (!c)
        return NULL;
    struct ft_amqp *a = calloc(1, sizeof *a);
    a->conn = c;
    return a;
}

void ft_msg_free(struct ft_msg *m)
{
    free(m->body);
    m->body = NULL;
}

void ft_amqp_close(struct ft_amqp *a)
{
    if (!a)
        return;
    amqp_channel_close(a->conn, CH, AMQP_REPLY_SUCCESS);
    amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(a->conn);
    for (size_t i = 0; i < a->n; i++)
        ft_msg_free(&a->buf[i].m);
    free(a->buf);
    free(a);
}

/* Declares queue q (for `worker` when it is per worker) with its arguments (proto/topology.h)
 * and binds it once. */
static int declare_queue(struct ft_amqp *a, const struct proto_topo_queue *q, const char *worker)
{
    char name[256];
    amqp_table_entry_t e[PROTO_TOPO_MAX_ARGS];
    if (proto_topo_queue_name(q, worker, name, sizeof name) != 0)
        return -1;
    for (size_t i = 0; i < q->nargs; i++) {
        const struct proto_topo_arg *g = &q->args[i];
        e[i].key = amqp_cstring_bytes(g->key);
        e[i].value.kind =
            g->kind == PROTO_TOPO_ARG_STR ? AMQP_FIELD_KIND_UTF8 : AMQP_FIELD_KIND_I32;
        if (g->kind == PROTO_TOPO_ARG_STR)
            e[i].value.value.bytes = amqp_cstring_bytes(g->str);
        else
            e[i].value.value.i32 = g->i32;
    }
    amqp_queue_declare(a->conn, CH, amqp_cstring_bytes(name), 0, q->durable, 0, 0,
                       (amqp_table_t){(int)q->nargs, e});
    if (rpc_ok(a, name))
        return -1;
    amqp_queue_bind(a->conn, CH, amqp_cstring_bytes(name), amqp_cstring_bytes(q->exchange),
                    amqp_cstring_bytes(q->bind == PROTO_TOPO_BIND_WORKER ? worker : ""),
                    amqp_empty_table);
    return rpc_ok(a, "queue.bind");
}

int ft_amqp_declare_rpc(struct ft_amqp *a, const char *worker)
{
    for (const struct proto_topo_exchange *x = proto_topo_exchanges; x->name; x++) {
        amqp_exchange_declare(a->conn, CH, amqp_cstring_bytes(x->name), amqp_cstring_bytes(x->type),
                              0, 1, 0, 0, amqp_empty_table);
        if (rpc_ok(a, x->name))
            return -1;
    }
    if (declare_queue(a, proto_topo_queue(PROTO_TOPO_DLQ), NULL))
        return -1;
    return declare_queue(a, proto_topo_queue(PROTO_TOPO_RPC), worker);
}

int ft_amqp_delete_queue(struct ft_amqp *a, const char *queue)
{
    amqp_queue_delete(a->conn, CH, amqp_cstring_bytes(queue), 0, 0);
    return rpc_ok(a, "queue.delete");
}

/* NULL when the queue does not exist (quietly: the broker closed the channel, and later calls
 * on this connection fail) or on any other error (said on stderr). */
static amqp_queue_declare_ok_t *passive_declare(struct ft_amqp *a, const char *queue)
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(a->conn, CH, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(a->conn);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
        ((amqp_channel_close_t *)r.reply.decoded)->reply_code == AMQP_NOT_FOUND)
        return NULL;
    return rpc_ok(a, "passive declare") ? NULL : ok;
}

long ft_amqp_queue_depth(struct ft_amqp *a, const char *queue)
{
    amqp_queue_declare_ok_t *ok = passive_declare(a, queue);
    return ok ? (long)ok->message_count : -1;
}

int ft_amqp_purge_queue(struct ft_amqp *a, const char *queue)
{
    if (!passive_declare(a, queue))
        return -1;
    amqp_queue_purge(a->conn, CH, amqp_cstring_bytes(queue));
    return rpc_ok(a, "queue.purge");
}

long ft_amqp_queue_consumers(struct ft_amqp *a, const char *queue)
{
    amqp_queue_declare_ok_t *ok = passive_declare(a, queue);
    return ok ? (long)ok->consumer_count : -1;
}

static int ensure_reply_consumer(struct ft_amqp *a)
{
    if (a->reply_consumer)
        return 0;
    amqp_basic_consume(a->conn, CH, amqp_cstring_bytes(PROTO_REPLY_TO),
                       amqp_cstring_bytes("ft-reply"), 0, 1, 0, amqp_empty_table);
    if (rpc_ok(a, "consume reply-to"))
        return -1;
    a->reply_consumer = 1;
    return 0;
}

static int publish(struct ft_amqp *a, const char *exchange, const char *key, const char *corr,
                   int reply_to, int ttl_ms, const void *body, size_t len)
{
    if (reply_to && ensure_reply_consumer(a))
        return -1;
    amqp_basic_properties_t p;
    char exp[32];
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes(PROTO_CONTENT_TYPE);
    p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    if (corr) {
        p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p.correlation_id = amqp_cstring_bytes(corr);
    }
    if (reply_to) {
        p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
        p.reply_to = amqp_cstring_bytes(PROTO_REPLY_TO);
    }
    if (ttl_ms > 0) {
        snprintf(exp, sizeof exp, "%d", ttl_ms);
        p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        p.expiration = amqp_cstring_bytes(exp);
    }
    amqp_bytes_t b = {len, (void *)body};
    int st = amqp_basic_publish(a->conn, CH, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                                0, 0, &p, b);
    if (st != AMQP_STATUS_OK) {
        fprintf(stderr, "ft_amqp: publish: %s\n", amqp_error_string2(st));
        return -1;
    }
    return 0;
}

int ft_amqp_publish(struct ft_amqp *a, const char *exchange, const char *key, const char *corr,
                    int reply_to, const void *body, size_t len)
{
    return publish(a, exchange, key, corr, reply_to, 0, body, len);
}

/* Packs JSON text into pk; -1 (printed) when it does not parse. */
static int pack_json(msgpack_packer *pk, const char *json, const char *what)
{
    char err[128];
    if (proto_json_to_msgpack(json, strlen(json), &proto_json_default_limits, pk, err,
                              sizeof err) != 0) {
        fprintf(stderr, "ft_amqp: bad %s JSON: %s\n", what, err);
        return -1;
    }
    return 0;
}

int ft_amqp_request_as(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                       const char *user, const char *meta_json, const char *body_json, int ttl_ms)
{
    msgpack_sbuffer args, env;
    msgpack_packer pk;
    int rc = -1;
    msgpack_sbuffer_init(&args);
    msgpack_sbuffer_init(&env);
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, meta_json ? 4 : 3);
    msgpack_pack_str_with_body(&pk, "path", 4);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "query", 5);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "body", 4);
    if (body_json) {
        if (pack_json(&pk, body_json, "body") != 0)
            goto done;
    } else {
        msgpack_pack_nil(&pk);
    }
    if (meta_json) {
        msgpack_pack_str_with_body(&pk, "meta", 4);
        if (pack_json(&pk, meta_json, "meta") != 0)
            goto done;
    }
    struct proto_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.id, sizeof req.id, "%s", id);
    snprintf(req.method, sizeof req.method, "%s", method);
    if (user)
        snprintf(req.user, sizeof req.user, "%s", user);
    req.deadline_ms = proto_now_ms() + ttl_ms;
    if (proto_request_encode(&env, &req, args.data, args.size) != 0) {
        fprintf(stderr, "ft_amqp: request encode failed\n");
        goto done;
    }
    rc = publish(a, PROTO_EX_RPC, worker, id, 1, ttl_ms, env.data, env.size);
done:
    msgpack_sbuffer_destroy(&args);
    msgpack_sbuffer_destroy(&env);
    return rc;
}

int ft_amqp_request(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                    const char *body_json, int ttl_ms)
{
    return ft_amqp_request_as(a, worker, id, method, NULL, NULL, body_json, ttl_ms);
}

/* Receives at most one delivery (or other frame) within timeout_ms and buffers it.
 * Returns 1 (buffered), 0 (timeout or another frame), -1 (connection error). */
static int pump(struct ft_amqp *a, int timeout_ms)
{
    amqp_envelope_t env;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    amqp_maybe_release_buffers(a->conn);
    amqp_rpc_reply_t r = amqp_consume_message(a->conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        amqp_frame_t f;
        return amqp_simple_wait_frame(a->conn, &f) == AMQP_STATUS_OK ? 0 : -1;
    }
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "ft_amqp: consume failed (reply type %d)\n", (int)r.reply_type);
        return -1;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->buf = realloc(a->buf, a->cap * sizeof *a->buf);
    }
    struct pending *p = &a->buf[a->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->tag, sizeof p->tag, "%.*s", (int)env.consumer_tag.len,
             (char *)env.consumer_tag.bytes);
    p->m.len = env.message.body.len;
    p->m.body = malloc(p->m.len + 1);
    memcpy(p->m.body, env.message.body.bytes, p->m.len);
    p->m.body[p->m.len] = '\0';
    amqp_basic_properties_t *props = &env.message.properties;
    if (props->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        snprintf(p->m.corr, sizeof p->m.corr, "%.*s", (int)props->correlation_id.len,
                 (char *)props->correlation_id.bytes);
    snprintf(p->m.routing_key, sizeof p->m.routing_key, "%.*s", (int)env.routing_key.len,
             (char *)env.routing_key.bytes);
    if (props->_flags & AMQP_BASIC_TYPE_FLAG)
        snprintf(p->m.type, sizeof p->m.type, "%.*s", (int)props->type.len,
                 (char *)props->type.bytes);
    if (props->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
        snprintf(p->m.content_type, sizeof p->m.content_type, "%.*s", (int)props->content_type.len,
                 (char *)props->content_type.bytes);
    if (props->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
        p->m.delivery_mode = props->delivery_mode;
    amqp_destroy_envelope(&env);
    return 1;
}

/* Removes and returns the first buffered message for tag (and corr if not NULL). */
static int take(struct ft_amqp *a, const char *tag, const char *corr, struct ft_msg *out)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->buf[i].tag, tag) != 0 || (corr && strcmp(a->buf[i].m.corr, corr) != 0))
            continue;
        *out = a->buf[i].m;
        memmove(&a->buf[i], &a->buf[i + 1], (a->n - i - 1) * sizeof *a->buf);
        a->n--;
        return 1;
    }
    return 0;
}

static int wait_for(struct ft_amqp *a, const char *tag, const char *corr, int timeout_ms,
                    struct ft_msg *out)
{
    int64_t end = ft_now_ms() + timeout_ms;
    for (;;) {
        if (take(a, tag, corr, out))
            return 1;
        int64_t left = end - ft_now_ms();
        if (left <= 0)
            return 0;
        if (pump(a, left > 100 ? 100 : (int)left) < 0)
            return -1;
    }
}

int ft_amqp_wait_msg(struct ft_amqp *a, const char *tag, int timeout_ms, struct ft_msg *m)
{
    return wait_for(a, tag, NULL, timeout_ms, m);
}

void ft_reply_free(struct ft_reply *r)
{
    free(r->body_json);
    free(r->headers_json);
    r->body_json = r->headers_json = NULL;
}

static char *to_json(const msgpack_object *o)
{
    struct proto_buf b = {0};
    if (proto_msgpack_to_json(o, 64, &b) != 0) {
        proto_buf_free(&b);
        return strdup("<unprintable>");
    }
    char *s = strdup(b.data ? b.data : "");
    proto_buf_free(&b);
    return s;
}

int ft_amqp_wait_reply(struct ft_amqp *a, const char *id, int timeout_ms, struct ft_reply *r)
{
    struct ft_msg m;
    memset(r, 0, sizeof *r);
    int got = wait_for(a, "ft-reply", id, timeout_ms, &m);
    if (got != 1)
        return got;
    msgpack_unpacked up;
    struct proto_reply rep;
    msgpack_unpacked_init(&up);
    int rc = proto_reply_decode(m.body, m.len, &up, &rep);
    if (rc != 0) {
        fprintf(stderr, "ft_amqp: undecodable reply (%d)\n", rc);
        msgpack_unpacked_destroy(&up);
        ft_msg_free(&m);
        return -1;
    }
    r->status = rep.status;
    r->is_error = rep.is_error;
    snprintf(r->code, sizeof r->code, "%s", rep.code);
    snprintf(r->message, sizeof r->message, "%s", rep.message);
    if (!rep.is_error)
        r->body_json = to_json(&rep.body);
    if (rep.headers.type == MSGPACK_OBJECT_MAP)
        r->headers_json = to_json(&rep.headers);
    msgpack_unpacked_destroy(&up);
    ft_msg_free(&m);
    return 1;
}

int ft_amqp_count_replies(struct ft_amqp *a, const char *id, int window_ms)
{
    int n = 0;
    int64_t end = ft_now_ms() + window_ms;
    for (;;) {
        struct ft_msg m;
        while (take(a, "ft-reply", id, &m)) {
            ft_msg_free(&m);
            n++;
        }
        int64_t left = end - ft_now_ms();
        if (left <= 0)
            return n;
        if (pump(a, left > 100 ? 100 : (int)left) < 0)
            return -1;
    }
}

void ft_rand_name(char *out, size_t size, const char *prefix)
{
    char u[PROTO_UUID_LEN + 1];
    proto_uuid_v4(u);
    snprintf(out, size, "%s%.8s", prefix, u);
}

int ft_amqp_call(struct ft_amqp *a, const char *worker, const char *method, const char *body_json,
                 int timeout_ms, struct ft_reply *r)
{
    char id[64];
    ft_rand_name(id, sizeof id, "req-");
    memset(r, 0, sizeof *r);
    if (ft_amqp_request(a, worker, id, method, body_json, timeout_ms) != 0)
        return -1;
    return ft_amqp_wait_reply(a, id, timeout_ms, r);
}

int ft_amqp_call_as(struct ft_amqp *a, const char *worker, const char *method, const char *user,
                    const char *meta_json, const char *body_json, int timeout_ms,
                    struct ft_reply *r)
{
    char id[64];
    ft_rand_name(id, sizeof id, "req-");
    memset(r, 0, sizeof *r);
    if (ft_amqp_request_as(a, worker, id, method, user, meta_json, body_json, timeout_ms) != 0)
        return -1;
    return ft_amqp_wait_reply(a, id, timeout_ms, r);
}

int ft_amqp_request_ex(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                       const struct ft_call *c, int ttl_ms)
{
    msgpack_sbuffer args, env;
    msgpack_packer pk;
    int rc = -1;
    msgpack_sbuffer_init(&args);
    msgpack_sbuffer_init(&env);
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, c->meta_json ? 4 : 3);
    msgpack_pack_str_with_body(&pk, "path", 4);
    if (pack_json(&pk, c->path_json ? c->path_json : "{}", "path") != 0)
        goto done;
    msgpack_pack_str_with_body(&pk, "query", 5);
    if (pack_json(&pk, c->query_json ? c->query_json : "{}", "query") != 0)
        goto done;
    if (c->meta_json) {
        msgpack_pack_str_with_body(&pk, "meta", 4);
        if (pack_json(&pk, c->meta_json, "meta") != 0)
            goto done;
    }
    msgpack_pack_str_with_body(&pk, "body", 4);
    if (c->body_json) {
        if (pack_json(&pk, c->body_json, "body") != 0)
            goto done;
    } else {
        msgpack_pack_nil(&pk);
    }
    struct proto_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.id, sizeof req.id, "%s", id);
    snprintf(req.method, sizeof req.method, "%s", method);
    if (c->user)
        snprintf(req.user, sizeof req.user, "%s", c->user);
    if (c->idem)
        snprintf(req.idem, sizeof req.idem, "%s", c->idem);
    req.deadline_ms = proto_now_ms() + ttl_ms;
    if (proto_request_encode(&env, &req, args.data, args.size) != 0) {
        fprintf(stderr, "ft_amqp: request encode failed\n");
        goto done;
    }
    rc = publish(a, PROTO_EX_RPC, worker, id, 1, ttl_ms, env.data, env.size);
done:
    msgpack_sbuffer_destroy(&args);
    msgpack_sbuffer_destroy(&env);
    return rc;
}

int ft_amqp_call_ex(struct ft_amqp *a, const char *worker, const char *method,
                    const struct ft_call *c, int timeout_ms, struct ft_reply *r)
{
    char id[64];
    ft_rand_name(id, sizeof id, "req-");
    memset(r, 0, sizeof *r);
    if (ft_amqp_request_ex(a, worker, id, method, c, timeout_ms) != 0)
        return -1;
    return ft_amqp_wait_reply(a, id, timeout_ms, r);
}

int ft_amqp_bind_temp(struct ft_amqp *a, const char *exchange, const char *key, const char *tag)
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(a->conn, CH, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (rpc_ok(a, "declare temp queue") || !ok)
        return -1;
    amqp_bytes_t q = amqp_bytes_malloc_dup(ok->queue);
    amqp_queue_bind(a->conn, CH, q, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                    amqp_empty_table);
    int rc = rpc_ok(a, "bind temp queue");
    if (rc == 0) {
        amqp_basic_consume(a->conn, CH, q, amqp_cstring_bytes(tag), 0, 1, 1, amqp_empty_table);
        rc = rpc_ok(a, "consume temp queue");
    }
    amqp_bytes_free(q);
    return rc;
}

/* Copies the x-first-death-reason header ("rejected", "delivery_limit", ...). */
static void death_reason(const amqp_basic_properties_t *p, char *out, size_t size)
{
    if (!out || size == 0)
        return;
    out[0] = '\0';
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        return;
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len == 20 && memcmp(e->key.bytes, "x-first-death-reason", 20) == 0 &&
            (e->value.kind == AMQP_FIELD_KIND_UTF8 || e->value.kind == AMQP_FIELD_KIND_BYTES))
            snprintf(out, size, "%.*s", (int)e->value.value.bytes.len,
                     (char *)e->value.value.bytes.bytes);
    }
}

int ft_amqp_dlq_take(struct ft_amqp *a, const char *corr, int timeout_ms, char *reason,
                     size_t reason_size)
{
    int64_t end = ft_now_ms() + timeout_ms;
    for (;;) {
        int found = 0;
        uint64_t last_other = 0;
        for (;;) {
            amqp_rpc_reply_t r = amqp_basic_get(a->conn, CH, amqp_cstring_bytes(PROTO_Q_DLQ), 0);
            if (r.reply_type != AMQP_RESPONSE_NORMAL)
                return rpc_ok(a, "basic.get");
            if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
                break; /* get-empty */
            uint64_t tag = ((amqp_basic_get_ok_t *)r.reply.decoded)->delivery_tag;
            amqp_message_t msg;
            if (amqp_read_message(a->conn, CH, &msg, 0).reply_type != AMQP_RESPONSE_NORMAL)
                return -1;
            int match = (msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) &&
                        msg.properties.correlation_id.len == strlen(corr) &&
                        memcmp(msg.properties.correlation_id.bytes, corr, strlen(corr)) == 0;
            if (match)
                death_reason(&msg.properties, reason, reason_size);
            amqp_destroy_message(&msg);
            if (match) {
                amqp_basic_ack(a->conn, CH, tag, 0);
                found = 1;
                break;
            }
            last_other = tag;
        }
        /* Put back what other tests (or nobody) dead-lettered. */
        if (last_other)
            amqp_basic_nack(a->conn, CH, last_other, 1, 1);
        if (found)
            return 1;
        if (ft_now_ms() >= end)
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000}; /* poll interval, bounded by `end` */
        nanosleep(&ts, NULL);
    }
}

int ft_amqp_take_and_die(const char *url, const char *queue, const char *corr, int timeout_ms)
{
    struct ft_amqp *a = ft_amqp_open(url);
    if (!a)
        return -1;
    int rc = -1;
    amqp_basic_qos(a->conn, CH, 0, 1, 0);
    if (rpc_ok(a, "basic.qos"))
        goto done;
    amqp_basic_consume(a->conn, CH, amqp_cstring_bytes(queue), amqp_cstring_bytes("dier"), 0, 0, 0,
                       amqp_empty_table);
    if (rpc_ok(a, "consume"))
        goto done;
    struct ft_msg m;
    int got = wait_for(a, "dier", NULL, timeout_ms, &m);
    if (got == 1) {
        rc = strcmp(m.corr, corr) == 0 ? 1 : 2;
        ft_msg_free(&m);
    } else {
        rc = got;
    }
done:
    ft_amqp_close(a); /* closes without acking: the broker returns the message */
    return rc;
}
