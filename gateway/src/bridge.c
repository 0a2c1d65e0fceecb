/* The AMQP bridge thread; see bridge.h. Everything named amqp_* is used only here. */
#include "bridge.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "jsondoc.h"
#include "kv.h"

#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/kvkeys.h"
#include "proto/log.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "proto/topology.h"

#define CH_RPC         1 /* publishes and the direct reply-to consumer */
#define CH_ADMIN       2 /* declares and passive checks: a failure there must not cost replies */
#define CH_LIVE        3 /* the live queue: its consumer, binds and unbinds */
#define CHECK_EVERY_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HEARTBEAT_S    10
#define READ_BATCH     4096
#define DENY_BATCH     256 /* denylist keys per Redis round trip */

struct gw_bridge {
    char *url; /* amqp_parse_url points ci into this copy */
    struct amqp_connection_info ci;
    void (*wake)(void *);
    void *wake_arg;
    pthread_t thread;
    int efd;
    atomic_int stop;
    atomic_int connected;
    atomic_int consumers[PROTO_WORKER_COUNT];

    pthread_mutex_t in_mu;
    struct gw_job *in_head, *in_tail;
    pthread_mutex_t out_mu;
    struct gw_result *out_head, *out_tail;

    /* Bridge thread only. */
    struct gw_store *store; /* the token denylist */
    amqp_connection_state_t conn;
    uint64_t taken_seq; /* highest job seq taken from the queue */
    struct gw_result *batch_head, *batch_tail;
    char live_q[256]; /* this connection's server-named live queue; "" when none */
    atomic_uint_fast64_t live_dropped;
    atomic_int store_state; /* enum gw_store_state */
};

struct gw_job *gw_job_new(size_t len)
{
    struct gw_job *j = proto_xmalloc(sizeof *j + len);
    memset(j, 0, sizeof *j);
    j->len = len;
    return j;
}

void gw_result_free(struct gw_result *r)
{
    if (!r)
        return;
    proto_buf_free(&r->body);
    free(r);
}

static struct gw_result *result_new(enum gw_result_kind kind, const char *corr, size_t corr_len)
{
    struct gw_result *r = proto_xcalloc(1, sizeof *r);
    r->kind = kind;
    if (corr_len > PROTO_ID_MAX)
        corr_len = PROTO_ID_MAX;
    memcpy(r->corr, corr, corr_len);
    r->corr[corr_len] = '\0';
    return r;
}

static void batch_add(struct gw_bridge *b, struct gw_result *r)
{
    if (b->batch_tail)
        b->batch_tail->next = r;
    else
        b->batch_head = r;
    b->batch_tail = r;
}

/* Hands the batch to the lws thread and wakes it once. */
static void batch_flush(struct gw_bridge *b)
{
    if (!b->batch_head)
        return;
    pthread_mutex_lock(&b->out_mu);
    if (b->out_tail)
        b->out_tail->next = b->batch_head;
    else
        b->out_head = b->batch_head;
    b->out_tail = b->batch_tail;
    pthread_mutex_unlock(&b->out_mu);
    b->batch_head = b->batch_tail = NULL;
    b->wake(b->wake_arg);
}

static void error_body(struct proto_buf *out, const char *detail, size_t dlen, const char *code)
{
    proto_buf_reset(out);
    proto_buf_puts(out, "{\"detail\":");
    if (proto_json_quote(out, detail, dlen) != 0)
        proto_buf_puts(out, "\"invalid message\"");
    proto_buf_puts(out, ",\"code\":");
    if (proto_json_quote(out, code, strlen(code)) != 0)
        proto_buf_puts(out, "\"error\"");
    proto_buf_puts(out, "}");
}

static void fail_result(struct gw_result *r, int status, const char *code, const char *detail)
{
    r->status = status;
    r->nheaders = 0;
    error_body(&r->body, detail, strlen(detail), code);
}

static const char *const allowed_headers[GW_REPLY_HEADERS_MAX] = {"Idempotent-Replayed",
                                                                  "Retry-After", "Location"};

/* Copies the allow-listed reply headers whose values are safe to put on the wire. */
static void copy_headers(struct gw_result *r, const msgpack_object *h)
{
    if (h->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < h->via.map.size; i++) {
        const msgpack_object *k = &h->via.map.ptr[i].key, *v = &h->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_STR)
            continue;
        for (int a = 0; a < GW_REPLY_HEADERS_MAX; a++) {
            const char *name = allowed_headers[a];
            if (k->via.str.size != strlen(name) ||
                strncasecmp(k->via.str.ptr, name, k->via.str.size) != 0)
                continue;
            size_t vl = v->via.str.size;
            int ok = vl > 0 && vl <= GW_HEADER_VALUE_MAX && r->nheaders < GW_REPLY_HEADERS_MAX;
            for (size_t c = 0; ok && c < vl; c++)
                ok = (unsigned char)v->via.str.ptr[c] >= 0x20 &&
                     (unsigned char)v->via.str.ptr[c] < 0x7f;
            if (!ok)
                break;
            snprintf(r->hname[r->nheaders], sizeof r->hname[0], "%s", name);
            memcpy(r->hvalue[r->nheaders], v->via.str.ptr, vl);
            r->hvalue[r->nheaders][vl] = '\0';
            r->nheaders++;
            break;
        }
    }
}

static void handle_reply(struct gw_bridge *b, const amqp_message_t *msg)
{
    const amqp_basic_properties_t *p = &msg->properties;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_reply rep;
    int rc = proto_reply_decode(msg->body.bytes, msg->body.len, &up, &rep);
    struct gw_result *r;
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        r = result_new(GW_RES_REPLY, p->correlation_id.bytes, p->correlation_id.len);
    else if (rc == 0)
        r = result_new(GW_RES_REPLY, rep.id, strlen(rep.id));
    else
        r = NULL;
    if (!r) {
        PROTO_WARN(NULL, "reply without correlation id dropped", NULL);
        goto out;
    }
    if (rc != 0) {
        PROTO_WARN(r->corr, "malformed reply", "err=%s", proto_log_str(proto_strerror(rc)));
        fail_result(r, 502, "bad_gateway", "the service sent a malformed reply");
    } else if (rep.is_error) {
        r->status = rep.status < 200 ? 502 : rep.status;
        error_body(&r->body, rep.message, strlen(rep.message), rep.code);
        copy_headers(r, &rep.headers);
    } else if (rep.status < 200) {
        /* An interim status cannot end an HTTP exchange. */
        fail_result(r, 502, "bad_gateway", "the service sent an invalid status");
    } else {
        r->status = rep.status;
        if (rep.status != 204 && rep.status != 304 &&
            proto_msgpack_to_json(&rep.body, PROTO_ENVELOPE_MAX_DEPTH, &r->body) != 0) {
            PROTO_WARN(r->corr, "reply body is not JSON-able", NULL);
            fail_result(r, 502, "bad_gateway", "the service sent a malformed reply");
        } else {
            copy_headers(r, &rep.headers);
        }
    }
    batch_add(b, r);
out:
    msgpack_unpacked_destroy(&up);
}

static void handle_return(struct gw_bridge *b, const amqp_basic_return_t *ret,
                          const amqp_message_t *msg)
{
    const amqp_basic_properties_t *p = &msg->properties;
    if (!(p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG))
        return;
    struct gw_result *r = result_new(GW_RES_REPLY, p->correlation_id.bytes, p->correlation_id.len);
    PROTO_WARN(r->corr, "request returned unroutable", "key=%.*s code=%u",
               (int)ret->routing_key.len, (const char *)ret->routing_key.bytes,
               (unsigned)ret->reply_code);
    fail_result(r, 503, "worker_unavailable", "no worker is serving this request");
    r->nheaders = 1;
    strcpy(r->hname[0], "Retry-After");
    strcpy(r->hvalue[0], "1");
    batch_add(b, r);
}

static void job_failed(struct gw_bridge *b, const struct gw_job *j)
{
    struct gw_result *r = result_new(GW_RES_REPLY, j->corr, strlen(j->corr));
    fail_result(r, 503, "broker_unavailable", "the message broker is unavailable");
    r->nheaders = 1;
    strcpy(r->hname[0], "Retry-After");
    strcpy(r->hvalue[0], "1");
    batch_add(b, r);
}

/* Answers a job here instead of publishing it (a revoked token, or Redis down). */
static void job_refused(struct gw_bridge *b, const struct gw_job *j, int status, const char *code,
                        const char *detail)
{
    struct gw_result *r = result_new(GW_RES_REPLY, j->corr, strlen(j->corr));
    fail_result(r, status, code, detail);
    r->local = 1;
    r->nheaders = 1;
    if (status == 401) {
        strcpy(r->hname[0], "WWW-Authenticate");
        strcpy(r->hvalue[0], "Bearer realm=\"fintwin\", error=\"invalid_token\"");
    } else {
        strcpy(r->hname[0], "Retry-After");
        strcpy(r->hvalue[0], "1");
    }
    batch_add(b, r);
}

/*
 * Asks Redis, in one pipelined round trip, for the seeded marker and the n (<= DENY_BATCH)
 * denylist keys; found[i] is set only when the answer is GW_STORE_OK. Records the state for
 * gw_bridge_store_state and logs its changes.
 */
static enum gw_store_state deny_lookup(struct gw_bridge *b, const char *const *keys, size_t n,
                                       int *found)
{
    const char *all[DENY_BATCH + 1];
    int got[DENY_BATCH + 1];
    all[0] = PROTO_KV_DENY_SEEDED;
    for (size_t i = 0; i < n; i++)
        all[i + 1] = keys[i];
    int rc = gw_store_exists(b->store, all, n + 1, got);
    enum gw_store_state st = rc != 0 ? GW_STORE_DOWN : got[0] ? GW_STORE_OK : GW_STORE_UNSEEDED;
    if (st == GW_STORE_OK)
        for (size_t i = 0; i < n; i++)
            found[i] = got[i + 1];
    int was = atomic_exchange(&b->store_state, (int)st);
    if (was != (int)st)
        PROTO_INFO(NULL, "session store state", "state=%s was=%s", gw_store_state_name(st),
                   gw_store_state_name((enum gw_store_state)was));
    return st;
}

/*
 * Checks up to DENY_BATCH jobs of the list starting at *jp against the denylist and
 * refuses the revoked ones (and every checked one when Redis cannot answer). Returns
 * the surviving jobs, in order; refused jobs are freed.
 */
static struct gw_job *screen_jobs(struct gw_bridge *b, struct gw_job *list)
{
    struct gw_job *out = NULL, **tail = &out;
    while (list) {
        struct gw_job *chunk[DENY_BATCH];
        char keys[DENY_BATCH][sizeof PROTO_KV_DENY_PREFIX + PROTO_UUID_LEN];
        const char *kp[DENY_BATCH];
        int found[DENY_BATCH];
        size_t n = 0;
        struct gw_job *rest = list;
        /* Take the next DENY_BATCH jobs that need a check; the others pass untouched. */
        while (rest && n < DENY_BATCH) {
            struct gw_job *next = rest->next;
            rest->next = NULL;
            if (rest->jti[0]) {
                chunk[n] = rest;
                snprintf(keys[n], sizeof keys[n], "%s%s", PROTO_KV_DENY_PREFIX, rest->jti);
                kp[n] = keys[n];
                n++;
            } else {
                *tail = rest;
                tail = &rest->next;
            }
            rest = next;
        }
        list = rest;
        if (n == 0) /* no job here carries a token (sign-in, sys.ping): no Redis round trip */
            break;
        enum gw_store_state st = deny_lookup(b, kp, n, found);
        for (size_t i = 0; i < n; i++) {
            if (st != GW_STORE_OK) {
                job_refused(b, chunk[i], 503, "auth_unavailable",
                            st == GW_STORE_DOWN ? "the session store is unavailable; try again"
                                                : "the session store is being restored; try again");
                free(chunk[i]);
            } else if (found[i]) {
                job_refused(b, chunk[i], 401, "token_revoked", "the access token has been revoked");
                free(chunk[i]);
            } else {
                *tail = chunk[i];
                tail = &chunk[i]->next;
            }
        }
    }
    return out;
}

/* ---- connection ---- */

static int rpc_ok(struct gw_bridge *b, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        PROTO_WARN(NULL, "amqp call failed", "op=%s err=%s", what,
                   proto_log_str(amqp_error_string2(r.library_error)));
        return -2;
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *c = r.reply.decoded;
        char text[256];
        snprintf(text, sizeof text, "%.*s", (int)c->reply_text.len,
                 (const char *)c->reply_text.bytes);
        PROTO_ERROR(NULL, "broker refused", "op=%s code=%u text=%s", what, (unsigned)c->reply_code,
                    proto_log_str(text));
        return -1;
    }
    PROTO_WARN(NULL, "connection closed by broker", "op=%s", what);
    return -2;
}

/* After a channel-level exception on CH_ADMIN: acknowledge the close and reopen it. */
static int admin_reopen(struct gw_bridge *b)
{
    amqp_channel_close_ok_t ok = {0};
    if (amqp_send_method(b->conn, CH_ADMIN, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK)
        return -2;
    amqp_channel_open(b->conn, CH_ADMIN);
    return rpc_ok(b, "channel.open") == 0 ? 0 : -2;
}

/* Runs one admin call's result check; a refused declare is logged and survived. */
static int admin_step(struct gw_bridge *b, const char *what)
{
    int rc = rpc_ok(b, what);
    if (rc == -1)
        return admin_reopen(b);
    return rc;
}

/* Queue q's arguments (proto/topology.h) as a rabbitmq-c table over e. */
static amqp_table_t topo_args(const struct proto_topo_queue *q, amqp_table_entry_t *e)
{
    for (size_t i = 0; i < q->nargs; i++) {
        const struct proto_topo_arg *a = &q->args[i];
        e[i].key = amqp_cstring_bytes(a->key);
        e[i].value.kind =
            a->kind == PROTO_TOPO_ARG_STR ? AMQP_FIELD_KIND_UTF8 : AMQP_FIELD_KIND_I32;
        if (a->kind == PROTO_TOPO_ARG_STR)
            e[i].value.value.bytes = amqp_cstring_bytes(a->str);
        else
            e[i].value.value.i32 = a->i32;
    }
    return (amqp_table_t){(int)q->nargs, e};
}

/* Declares queue q (for worker w when it is per worker) and its one binding. */
static int declare_queue(struct gw_bridge *b, const struct proto_topo_queue *q, const char *w)
{
    char name[64], what[sizeof "bind " + sizeof name];
    amqp_table_entry_t e[PROTO_TOPO_MAX_ARGS];
    int rc;
    if (proto_topo_queue_name(q, w, name, sizeof name) != 0)
        return -2;
    snprintf(what, sizeof what, "bind %s", name);
    amqp_queue_declare(b->conn, CH_ADMIN, amqp_cstring_bytes(name), 0, q->durable, 0, 0,
                       topo_args(q, e));
    if ((rc = admin_step(b, name)) < -1)
        return rc;
    const char *key = q->bind == PROTO_TOPO_BIND_WORKER ? w : "";
    amqp_queue_bind(b->conn, CH_ADMIN, amqp_cstring_bytes(name), amqp_cstring_bytes(q->exchange),
                    amqp_cstring_bytes(key), amqp_empty_table);
    return admin_step(b, what);
}

/* Declares the exchanges, ft.dlq and every rpc.<worker>: proto/topology.h's rows. */
static int declare_topology(struct gw_bridge *b)
{
    int rc;
    for (const struct proto_topo_exchange *x = proto_topo_exchanges; x->name; x++) {
        amqp_exchange_declare(b->conn, CH_ADMIN, amqp_cstring_bytes(x->name),
                              amqp_cstring_bytes(x->type), 0, 1, 0, 0, amqp_empty_table);
        if ((rc = admin_step(b, x->name)) < -1)
            return rc;
    }
    if ((rc = declare_queue(b, proto_topo_queue(PROTO_TOPO_DLQ), NULL)) < -1)
        return rc;
    const struct proto_topo_queue *rpc = proto_topo_queue(PROTO_TOPO_RPC);
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        if ((rc = declare_queue(b, rpc, proto_worker_names[w])) < -1)
            return rc;
    return 0;
}

/* Passive declare of each rpc.<worker>: records its consumer count (0 if it is missing). */
static int check_consumers(struct gw_bridge *b)
{
    for (int w = 0; w < PROTO_WORKER_COUNT; w++) {
        char q[64];
        snprintf(q, sizeof q, "%s%s", PROTO_RPC_QUEUE_PREFIX, proto_worker_names[w]);
        amqp_queue_declare_ok_t *ok = amqp_queue_declare(b->conn, CH_ADMIN, amqp_cstring_bytes(q),
                                                         1, 0, 0, 0, amqp_empty_table);
        int rc = admin_step(b, q);
        if (rc < -1)
            return rc;
        atomic_store(&b->consumers[w], rc == 0 && ok ? (int)ok->consumer_count : 0);
    }
    return 0;
}

/* ---- live push (ft.live -> this instance's queue -> GET /api/ws sockets) ---- */

/* Declares this connection's exclusive, auto-delete, server-named queue and consumes it
 * without acks: a live frame is best effort, and a frame sent while a user had no socket
 * is never replayed (clients catch up over HTTP). 0 or -1. */
static int live_setup(struct gw_bridge *b)
{
    b->live_q[0] = '\0';
    amqp_channel_open(b->conn, CH_LIVE);
    if (rpc_ok(b, "channel.open live") != 0)
        return -1;
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(b->conn, CH_LIVE, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (rpc_ok(b, "declare live queue") != 0 || !ok || ok->queue.len >= sizeof b->live_q)
        return -1;
    memcpy(b->live_q, ok->queue.bytes, ok->queue.len);
    b->live_q[ok->queue.len] = '\0';
    amqp_basic_consume(b->conn, CH_LIVE, amqp_cstring_bytes(b->live_q), amqp_empty_bytes, 0, 1, 1,
                       amqp_empty_table);
    if (rpc_ok(b, "consume live queue") != 0) {
        b->live_q[0] = '\0';
        return -1;
    }
    /* Bindings died with the old queue: the lws thread asks again for every user. */
    batch_add(b, result_new(GW_RES_LIVE_RESET, "", 0));
    return 0;
}

/* Sends queue.bind (no-wait) or queue.unbind (its -ok is read and ignored later) for
 * user.<user>. 0 or -1 (the connection is unusable). */
static int live_send_binding(struct gw_bridge *b, const char *user, int bind)
{
    char key[sizeof GW_LIVE_KEY_PREFIX + PROTO_UUID_LEN];
    snprintf(key, sizeof key, "%s%s", GW_LIVE_KEY_PREFIX, user);
    int rc;
    if (bind) {
        amqp_queue_bind_t m = {0,
                               amqp_cstring_bytes(b->live_q),
                               amqp_cstring_bytes(PROTO_EX_LIVE),
                               amqp_cstring_bytes(key),
                               1,
                               amqp_empty_table};
        rc = amqp_send_method(b->conn, CH_LIVE, AMQP_QUEUE_BIND_METHOD, &m);
    } else {
        amqp_queue_unbind_t m = {0, amqp_cstring_bytes(b->live_q),
                                 amqp_cstring_bytes(PROTO_EX_LIVE), amqp_cstring_bytes(key),
                                 amqp_empty_table};
        rc = amqp_send_method(b->conn, CH_LIVE, AMQP_QUEUE_UNBIND_METHOD, &m);
    }
    return rc == AMQP_STATUS_OK ? 0 : -1;
}

static void broker_lost(struct gw_bridge *b, const char *why);

/*
 * Applies the bind/unbind jobs of one batch in order, then confirms the binds with one
 * synchronous passive declare on the same channel: its answer comes after every method
 * sent before it was handled. Every bind is answered GW_RES_LIVE_BOUND, also when the
 * broker is away (the socket is ready; GW_RES_LIVE_RESET rebinds it at reconnect).
 */
static void live_bindings(struct gw_bridge *b, struct gw_job *list)
{
    int binds = 0;
    for (struct gw_job *j = list; j && b->conn && b->live_q[0]; j = j->next) {
        if (live_send_binding(b, j->user, j->kind == GW_JOB_LIVE_BIND) != 0) {
            broker_lost(b, "live binding failed");
            break;
        }
        binds += j->kind == GW_JOB_LIVE_BIND;
    }
    if (binds && b->conn) {
        amqp_queue_declare(b->conn, CH_LIVE, amqp_cstring_bytes(b->live_q), 1, 0, 1, 1,
                           amqp_empty_table);
        if (rpc_ok(b, "confirm live bindings") != 0)
            broker_lost(b, "live binding refused");
    }
    for (struct gw_job *j = list; j; j = j->next) {
        if (j->kind != GW_JOB_LIVE_BIND)
            continue;
        struct gw_result *r = result_new(GW_RES_LIVE_BOUND, "", 0);
        memcpy(r->user, j->user, sizeof r->user);
        r->bind_seq = j->bind_seq;
        batch_add(b, r);
    }
}

/* Answers GW_JOB_WS_AUTH jobs: one pipelined EXISTS round trip per DENY_BATCH. */
static void live_auth(struct gw_bridge *b, struct gw_job **jobs, size_t n)
{
    for (size_t off = 0; off < n; off += DENY_BATCH) {
        size_t m = n - off < DENY_BATCH ? n - off : DENY_BATCH;
        char keys[DENY_BATCH][sizeof PROTO_KV_DENY_PREFIX + PROTO_UUID_LEN];
        const char *kp[DENY_BATCH];
        int found[DENY_BATCH];
        for (size_t i = 0; i < m; i++) {
            snprintf(keys[i], sizeof keys[i], "%s%s", PROTO_KV_DENY_PREFIX, jobs[off + i]->jti);
            kp[i] = keys[i];
        }
        enum gw_store_state st = deny_lookup(b, kp, m, found);
        for (size_t i = 0; i < m; i++) {
            struct gw_result *r = result_new(GW_RES_WS_AUTH, "", 0);
            r->ws_id = jobs[off + i]->ws_id;
            memcpy(r->user, jobs[off + i]->user, sizeof r->user);
            r->status = st != GW_STORE_OK ? GW_WS_AUTH_DOWN : found[i] ? GW_WS_REVOKED : 0;
            batch_add(b, r);
        }
    }
}

/* Handles (and frees) every live job of one batch. */
static void live_jobs(struct gw_bridge *b, struct gw_job *list)
{
    struct gw_job *auth[DENY_BATCH * 4], *bind = NULL, **bind_tail = &bind;
    size_t nauth = 0;
    while (list) {
        struct gw_job *j = list;
        list = j->next;
        j->next = NULL;
        if (j->kind == GW_JOB_WS_AUTH) {
            auth[nauth++] = j;
            if (nauth == sizeof auth / sizeof auth[0]) {
                live_auth(b, auth, nauth);
                for (size_t i = 0; i < nauth; i++)
                    free(auth[i]);
                nauth = 0;
            }
        } else {
            *bind_tail = j;
            bind_tail = &j->next;
        }
    }
    live_auth(b, auth, nauth);
    for (size_t i = 0; i < nauth; i++)
        free(auth[i]);
    live_bindings(b, bind);
    while (bind) {
        struct gw_job *next = bind->next;
        free(bind);
        bind = next;
    }
}

/* Reads {"code": <int>, "reason": "<text>"} of a close order; defaults 1008 "closed". */
static void parse_close(const amqp_bytes_t *body, struct gw_result *r)
{
    r->close_code = 1008;
    snprintf(r->close_reason, sizeof r->close_reason, "closed");
    struct proto_json_limits lim = {4096, 2, 1024, 16};
    struct gw_jsondoc doc;
    const msgpack_object *msg = gw_jsondoc_parse(&doc, body->bytes, body->len, &lim);
    if (!msg)
        goto out;
    int64_t code;
    const msgpack_object *v = proto_map_get(msg, "code");
    /* Only codes an endpoint may send: 1000-1003, 1007-1014, 3000-4999. */
    if (v && proto_obj_int(v, &code) == 0 &&
        ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999)))
        r->close_code = (int)code;
    v = proto_map_get(msg, "reason");
    char reason[GW_LIVE_REASON_MAX + 1];
    if (v && proto_obj_str(v, reason, sizeof reason) == 0)
        memcpy(r->close_reason, reason, sizeof reason);
out:
    gw_jsondoc_free(&doc);
}

/* 1 if key is "user.<lowercase uuid>"; copies the uuid into user. */
static int live_key_user(const amqp_bytes_t *key, char user[PROTO_UUID_LEN + 1])
{
    size_t pl = sizeof GW_LIVE_KEY_PREFIX - 1;
    if (key->len != pl + PROTO_UUID_LEN || memcmp(key->bytes, GW_LIVE_KEY_PREFIX, pl) != 0)
        return 0;
    memcpy(user, (const char *)key->bytes + pl, PROTO_UUID_LEN);
    user[PROTO_UUID_LEN] = '\0';
    for (size_t i = 0; i < PROTO_UUID_LEN; i++)
        if (user[i] >= 'A' && user[i] <= 'F')
            return 0;
    return proto_uuid_valid(user);
}

/* One delivery from the live queue: a frame to forward, or (type "close") a close order. */
static void handle_live(struct gw_bridge *b, const amqp_bytes_t *key, const amqp_message_t *msg)
{
    const amqp_basic_properties_t *p = &msg->properties;
    char user[PROTO_UUID_LEN + 1];
    if (!live_key_user(key, user)) {
        atomic_fetch_add(&b->live_dropped, 1);
        PROTO_WARN(NULL, "live frame dropped", "why=routing_key key_bytes=%zu", key->len);
        return;
    }
    int is_close = (p->_flags & AMQP_BASIC_TYPE_FLAG) && p->type.len == 5 &&
                   memcmp(p->type.bytes, "close", 5) == 0;
    if (!is_close && (msg->body.len > GW_LIVE_FRAME_MAX || msg->body.len == 0 ||
                      !proto_utf8_valid(msg->body.bytes, msg->body.len))) {
        atomic_fetch_add(&b->live_dropped, 1);
        PROTO_WARN(NULL, "live frame dropped", "why=%s user=%s bytes=%zu",
                   msg->body.len > GW_LIVE_FRAME_MAX ? "too_large" : "not_text", user,
                   msg->body.len);
        return;
    }
    struct gw_result *r = result_new(GW_RES_LIVE, "", 0);
    memcpy(r->user, user, sizeof r->user);
    if (is_close) {
        parse_close(&msg->body, r);
    } else {
        static const char pre[GW_WS_PRE];
        proto_buf_append(&r->body, pre, sizeof pre);
        proto_buf_append(&r->body, msg->body.bytes, msg->body.len);
    }
    batch_add(b, r);
}

uint64_t gw_bridge_live_dropped(struct gw_bridge *b)
{
    return atomic_load(&b->live_dropped);
}

static void disconnect(struct gw_bridge *b, int polite)
{
    if (!b->conn)
        return;
    if (polite) {
        amqp_channel_close(b->conn, CH_RPC, AMQP_REPLY_SUCCESS);
        amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(b->conn);
    b->conn = NULL;
    b->live_q[0] = '\0';
    atomic_store(&b->connected, 0);
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        atomic_store(&b->consumers[w], -1);
}

static int connect_broker(struct gw_bridge *b)
{
    b->conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(b->conn);
    struct timeval tmo = {2, 0};
    if (!sock) {
        PROTO_ERROR(NULL, "amqp socket failed", NULL);
        goto fail;
    }
    int rc = amqp_socket_open_noblock(sock, b->ci.host, b->ci.port, &tmo);
    if (rc != AMQP_STATUS_OK) {
        PROTO_WARN(NULL, "broker connect failed", "host=%s port=%d err=%s", b->ci.host, b->ci.port,
                   proto_log_str(amqp_error_string2(rc)));
        goto fail;
    }
    amqp_set_rpc_timeout(b->conn, &tmo);
    amqp_rpc_reply_t r = amqp_login(b->conn, b->ci.vhost, 0, 131072, HEARTBEAT_S,
                                    AMQP_SASL_METHOD_PLAIN, b->ci.user, b->ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        PROTO_WARN(NULL, "broker login failed", "err=%s",
                   proto_log_str(r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                                     ? amqp_error_string2(r.library_error)
                                     : "refused by the broker"));
        goto fail;
    }
    amqp_channel_open(b->conn, CH_RPC);
    if (rpc_ok(b, "channel.open") != 0)
        goto fail;
    amqp_channel_open(b->conn, CH_ADMIN);
    if (rpc_ok(b, "channel.open") != 0)
        goto fail;
    if (declare_topology(b) < -1)
        goto fail;
    /* Direct reply-to: consume before the first publish, on the publishing channel. */
    amqp_basic_consume(b->conn, CH_RPC, amqp_cstring_bytes(PROTO_REPLY_TO), amqp_empty_bytes, 0, 1,
                       0, amqp_empty_table);
    if (rpc_ok(b, "basic.consume") != 0)
        goto fail;
    if (live_setup(b) != 0)
        goto fail;
    if (check_consumers(b) < -1)
        goto fail;
    atomic_store(&b->connected, 1);
    PROTO_INFO(NULL, "broker connected", "host=%s port=%d", b->ci.host, b->ci.port);
    return 0;
fail:
    disconnect(b, 0);
    return -1;
}

static void broker_lost(struct gw_bridge *b, const char *why)
{
    PROTO_WARN(NULL, "broker connection lost", "why=%s", proto_log_str(why));
    disconnect(b, 0);
    struct gw_result *r = result_new(GW_RES_BROKER_LOST, "", 0);
    r->seq = b->taken_seq;
    batch_add(b, r);
}

/* ---- the loop ---- */

static struct gw_job *take_jobs(struct gw_bridge *b)
{
    pthread_mutex_lock(&b->in_mu);
    struct gw_job *j = b->in_head;
    b->in_head = b->in_tail = NULL;
    pthread_mutex_unlock(&b->in_mu);
    return j;
}

/* Moves the live jobs of *list (in order) to the returned list; RPC jobs stay. */
static struct gw_job *split_live(struct gw_job **list)
{
    struct gw_job *live = NULL, **lt = &live, **rp = list;
    while (*rp) {
        struct gw_job *j = *rp;
        if (j->kind == GW_JOB_RPC) {
            rp = &j->next;
            continue;
        }
        *rp = j->next;
        j->next = NULL;
        *lt = j;
        lt = &j->next;
    }
    return live;
}

static int publish(struct gw_bridge *b, const struct gw_job *j)
{
    int64_t left = j->deadline_ms - proto_now_ms();
    if (left <= 0)
        return 0; /* the lws thread answers 504 at the deadline */
    char exp[24];
    snprintf(exp, sizeof exp, "%" PRId64, left);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG |
                   AMQP_BASIC_EXPIRATION_FLAG;
    props.content_type = amqp_cstring_bytes(PROTO_CONTENT_TYPE);
    props.delivery_mode = 1;
    props.reply_to = amqp_cstring_bytes(PROTO_REPLY_TO);
    props.correlation_id = amqp_cstring_bytes(j->corr);
    props.expiration = amqp_cstring_bytes(exp);
    amqp_bytes_t body = {j->len, (void *)j->data};
    int rc =
        amqp_basic_publish(b->conn, CH_RPC, amqp_cstring_bytes(PROTO_EX_RPC),
                           amqp_cstring_bytes(proto_worker_names[j->worker]), 1, 0, &props, body);
    return rc == AMQP_STATUS_OK ? 0 : -1;
}

/*
 * Reads the frames available without blocking (at most READ_BATCH, so that queued
 * publishes are not starved under load). Returns 0, or -1 when the connection is gone.
 */
static int read_available(struct gw_bridge *b)
{
    for (int n = 0; n < READ_BATCH; n++) {
        amqp_frame_t f;
        struct timeval zero = {0, 0};
        int rc = amqp_simple_wait_frame_noblock(b->conn, &f, &zero);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK) {
            broker_lost(b, amqp_error_string2(rc));
            return -1;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        amqp_method_number_t id = f.payload.method.id;
        if (id == AMQP_BASIC_DELIVER_METHOD || id == AMQP_BASIC_RETURN_METHOD) {
            amqp_basic_return_t ret = {0};
            if (id == AMQP_BASIC_RETURN_METHOD)
                ret = *(amqp_basic_return_t *)f.payload.method.decoded;
            char kbuf[96]; /* a live routing key is 41 bytes; longer ones are dropped */
            amqp_bytes_t key = {0, kbuf};
            if (id == AMQP_BASIC_DELIVER_METHOD) {
                const amqp_bytes_t *k =
                    &((amqp_basic_deliver_t *)f.payload.method.decoded)->routing_key;
                key.len = k->len < sizeof kbuf ? k->len : sizeof kbuf;
                memcpy(kbuf, k->bytes, key.len);
            }
            amqp_message_t msg;
            amqp_rpc_reply_t r = amqp_read_message(b->conn, f.channel, &msg, 0);
            if (r.reply_type != AMQP_RESPONSE_NORMAL) {
                broker_lost(b, "reading a message failed");
                return -1;
            }
            if (id == AMQP_BASIC_DELIVER_METHOD && f.channel == CH_LIVE)
                handle_live(b, &key, &msg);
            else if (id == AMQP_BASIC_DELIVER_METHOD)
                handle_reply(b, &msg);
            else
                handle_return(b, &ret, &msg);
            amqp_destroy_message(&msg);
        } else if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
            /* The RPC channel or the connection was closed by the broker: start over. */
            broker_lost(b, id == AMQP_CHANNEL_CLOSE_METHOD ? "channel closed by broker"
                                                           : "connection closed by broker");
            return -1;
        }
    }
    amqp_maybe_release_buffers(b->conn);
    return 0;
}

static void *bridge_main(void *arg)
{
    struct gw_bridge *b = arg;
    int64_t next_attempt = 0, next_check = 0, next_store_probe = 0;
    int backoff = BACKOFF_MIN_MS;
    while (!atomic_load(&b->stop)) {
        int64_t now = proto_mono_ms();
        /* /readyz and /api/status report the session store even when no request asks it. */
        if (now >= next_store_probe) {
            deny_lookup(b, NULL, 0, NULL);
            next_store_probe = now + CHECK_EVERY_MS;
        }
        if (!b->conn && now >= next_attempt) {
            if (connect_broker(b) == 0) {
                backoff = BACKOFF_MIN_MS;
                next_check = proto_mono_ms() + CHECK_EVERY_MS;
            } else {
                next_attempt = proto_mono_ms() + backoff;
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            }
        }

        /* Publish everything queued, then read everything available. */
        struct gw_job *j = take_jobs(b);
        struct gw_job *live = split_live(&j);
        if (live)
            live_jobs(b, live);
        if (j && b->conn)
            j = screen_jobs(b, j);
        while (j) {
            struct gw_job *next = j->next;
            if (j->seq > b->taken_seq)
                b->taken_seq = j->seq;
            if (!b->conn)
                job_failed(b, j);
            else if (publish(b, j) != 0) {
                job_failed(b, j);
                broker_lost(b, "publish failed");
            }
            free(j);
            j = next;
        }
        if (b->conn)
            read_available(b);
        if (b->conn && proto_mono_ms() >= next_check) {
            if (check_consumers(b) < -1)
                broker_lost(b, "queue check failed");
            next_check = proto_mono_ms() + CHECK_EVERY_MS;
            if (b->conn)
                read_available(b); /* deliveries queued during the checks */
        }
        batch_flush(b);

        int timeout;
        if (b->conn) {
            timeout = (int)(next_check - proto_mono_ms());
            if (amqp_frames_enqueued(b->conn) || amqp_data_in_buffer(b->conn))
                timeout = 0;
        } else {
            timeout = (int)(next_attempt - proto_mono_ms());
        }
        if (timeout > (int)(next_store_probe - proto_mono_ms()))
            timeout = (int)(next_store_probe - proto_mono_ms());
        if (timeout < 0)
            timeout = 0;
        struct pollfd pfd[2] = {{b->efd, POLLIN, 0}, {-1, POLLIN, 0}};
        if (b->conn)
            pfd[1].fd = amqp_socket_get_sockfd(amqp_get_socket(b->conn));
        if (poll(pfd, 2, timeout) > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            if (read(b->efd, &v, sizeof v) < 0 && errno != EAGAIN)
                PROTO_WARN(NULL, "eventfd read failed", NULL);
        }
    }
    /* Unpublished jobs get no answer here: the lws thread times them out or is exiting. */
    for (struct gw_job *j = take_jobs(b); j;) {
        struct gw_job *next = j->next;
        free(j);
        j = next;
    }
    disconnect(b, 1);
    return NULL;
}

struct gw_bridge *gw_bridge_start(const struct gw_bridge_cfg *cfg)
{
    struct gw_bridge *b = proto_xcalloc(1, sizeof *b);
    b->url = proto_xstrdup(cfg->amqp_url);
    b->store = gw_store_new(cfg->redis_url ? cfg->redis_url : "");
    if (!b->store) {
        PROTO_ERROR(NULL, "REDIS_URL is not a valid redis:// URL", NULL);
        goto fail;
    }
    b->wake = cfg->wake;
    b->wake_arg = cfg->wake_arg;
    amqp_default_connection_info(&b->ci);
    if (amqp_parse_url(b->url, &b->ci) != AMQP_STATUS_OK) {
        PROTO_ERROR(NULL, "AMQP_URL is not a valid amqp:// URL", NULL);
        goto fail;
    }
    /* "amqp://host:port/" parses to vhost ""; RabbitMQ's default vhost is "/". */
    if (!b->ci.vhost || !*b->ci.vhost)
        b->ci.vhost = "/";
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        atomic_init(&b->consumers[w], -1);
    b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (b->efd < 0)
        goto fail;
    pthread_mutex_init(&b->in_mu, NULL);
    pthread_mutex_init(&b->out_mu, NULL);
    if (pthread_create(&b->thread, NULL, bridge_main, b) != 0) {
        pthread_mutex_destroy(&b->in_mu);
        pthread_mutex_destroy(&b->out_mu);
        close(b->efd);
        goto fail;
    }
    return b;
fail:
    gw_store_free(b->store);
    free(b->url);
    free(b);
    return NULL;
}

static void wake_bridge(struct gw_bridge *b)
{
    uint64_t one = 1;
    if (write(b->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        PROTO_WARN(NULL, "eventfd write failed", NULL);
}

void gw_bridge_stop(struct gw_bridge *b)
{
    if (!b)
        return;
    atomic_store(&b->stop, 1);
    wake_bridge(b);
    pthread_join(b->thread, NULL);
    for (struct gw_result *r = gw_bridge_take_results(b); r;) {
        struct gw_result *next = r->next;
        gw_result_free(r);
        r = next;
    }
    pthread_mutex_destroy(&b->in_mu);
    pthread_mutex_destroy(&b->out_mu);
    close(b->efd);
    gw_store_free(b->store);
    free(b->url);
    free(b);
}

void gw_bridge_submit(struct gw_bridge *b, struct gw_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&b->in_mu);
    int was_empty = b->in_head == NULL;
    if (b->in_tail)
        b->in_tail->next = job;
    else
        b->in_head = job;
    b->in_tail = job;
    pthread_mutex_unlock(&b->in_mu);
    /* One wakeup per batch: the bridge empties the whole queue each time it wakes. */
    if (was_empty)
        wake_bridge(b);
}

struct gw_result *gw_bridge_take_results(struct gw_bridge *b)
{
    pthread_mutex_lock(&b->out_mu);
    struct gw_result *r = b->out_head;
    b->out_head = b->out_tail = NULL;
    pthread_mutex_unlock(&b->out_mu);
    return r;
}

enum gw_store_state gw_bridge_store_state(struct gw_bridge *b)
{
    return (enum gw_store_state)atomic_load(&b->store_state);
}

const char *gw_store_state_name(enum gw_store_state st)
{
    return st == GW_STORE_OK ? "ok" : st == GW_STORE_UNSEEDED ? "restoring" : "down";
}

int gw_bridge_connected(struct gw_bridge *b)
{
    return atomic_load(&b->connected);
}

int gw_bridge_consumers(struct gw_bridge *b, int worker)
{
    if (worker < 0 || worker >= PROTO_WORKER_COUNT)
        return -1;
    return atomic_load(&b->consumers[worker]);
}
