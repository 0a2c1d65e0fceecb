/*
 * wk_run: configuration, the consume -> decode -> dispatch -> reply -> ack loop, sys.ping,
 * the event consumer with inbox dedupe, and reconnects. The top of the runtime: it calls
 * every other file (see internal.h), and none calls back into it.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/config.h"
#include "proto/kvkeys.h"
#include "proto/log.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "proto/topology.h"

#ifndef FT_VERSION
#define FT_VERSION "dev"
#endif

#define CONSUME_SLICE_MS 250
#define RELAY_QUIET_MS   2 /* no message for this long after an outbox write: relay now */
#define HEARTBEAT_S      30
#define MAX_EVENT_TYPES  64

const char *wk_schema_for(const char *worker_name)
{
    return proto_worker_schema(worker_name);
}

const char *wk_name(const struct wk_ctx *ctx)
{
    return ctx->name;
}

const char *wk_schema(const struct wk_ctx *ctx)
{
    return ctx->schema;
}

const char *wk_request_id(const struct wk_ctx *ctx)
{
    return ctx->log.req_id;
}

/* ---- built-in methods ---- */

static int sys_ping(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)req;
    int db_ok = wk_db_ping(ctx->db);
    msgpack_packer *pk = rep->body;
    msgpack_pack_map(pk, 5);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, ctx->name);
    proto_pack_cstr(pk, "version");
    proto_pack_cstr(pk, FT_VERSION);
    proto_pack_cstr(pk, "pid");
    msgpack_pack_int64(pk, (int64_t)getpid());
    proto_pack_cstr(pk, "uptime_ms");
    msgpack_pack_int64(pk, proto_mono_ms() - ctx->started_ms);
    proto_pack_cstr(pk, "db");
    proto_pack_cstr(pk, db_ok ? "ok" : "down");
    return 0;
}

static wk_handler_fn find_method(const struct wk_ctx *ctx, const char *name)
{
    if (strcmp(name, "sys.ping") == 0)
        return sys_ping;
    for (const struct wk_method *m = ctx->spec->methods; m && m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m->fn;
    return NULL;
}

/* ---- requests ---- */

/* Copies an AMQP short string property into buf; "" when absent. */
static void prop_str(const amqp_basic_properties_t *p, amqp_flags_t flag, amqp_bytes_t v, char *buf,
                     size_t size)
{
    buf[0] = '\0';
    if ((p->_flags & flag) && v.len < size) {
        memcpy(buf, v.bytes, v.len);
        buf[v.len] = '\0';
    }
}

/*
 * Poison protection for classic RPC queues, which have no delivery limit: a redelivered
 * request (its earlier delivery ended without an ack: the worker died, or lost the broker)
 * counts its deliveries in Redis under its id, with the remaining deadline as the key's
 * lifetime, in one atomic round trip. Returns the delivery number (2, 3, ...), 1 for a first
 * delivery (never counted: no Redis call on the normal path), or 0 when Redis could not count;
 * the request then runs, bounded still by its expiration (the broker drops it at the deadline).
 */
static long long delivery_number(struct wk_ctx *ctx, const struct wk_delivery *d,
                                 const struct proto_request *req)
{
    if (!d->env.redelivered)
        return 1;
    long long ttl_ms = (long long)(req->deadline_ms - proto_now_ms());
    if (ttl_ms < 1000)
        ttl_ms = 1000;
    redisReply *r =
        wk_kv_command(ctx->kv, "EVAL %s 1 " PROTO_KV_RPC_DELIVERIES_PREFIX "%s %lld",
                      "local n = redis.call('INCR', KEYS[1]) "
                      "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
                      req->id, ttl_ms);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer + 1 : 0;
    if (r)
        freeReplyObject(r);
    if (n == 0)
        PROTO_WARN(ctx->log.req_id,
                   "redelivery not counted (Redis unavailable); the deadline bounds it", NULL);
    return n;
}

/*
 * A request between its delivery and its settlement. A request is opened (decoded, and given
 * a verdict: run it, or settle it unhandled), run (alone through its method's fn, or with
 * others through a batch method), then closed in delivery-tag order: reply published, acked
 * (or acked/rejected unhandled). Closing in tag order keeps wk_mq_ack's invariant (every tag
 * below the newest is settled) for the coalesced acks.
 */
enum verdict {
    V_RUN,    /* run the handler, reply, ack */
    V_ACK,    /* deadline passed: ack unhandled, no reply */
    V_REJECT, /* malformed or redelivered too often: reject to ft.dlx */
};

struct wk_pending {
    struct wk_delivery d;
    msgpack_unpacked up;
    struct proto_request req;
    enum verdict verdict;
    char corr[256], reply_to[256];
    struct wk_reply rep;
    struct wk_reply_priv priv;
    int64_t started;
};

/* Decodes p->d and decides what to do with it; sets ctx->log.req_id. Settles nothing. */
static void request_open(struct wk_ctx *ctx, struct wk_pending *p)
{
    const amqp_basic_properties_t *props = &p->d.env.message.properties;
    prop_str(props, AMQP_BASIC_CORRELATION_ID_FLAG, props->correlation_id, p->corr, sizeof p->corr);
    prop_str(props, AMQP_BASIC_REPLY_TO_FLAG, props->reply_to, p->reply_to, sizeof p->reply_to);
    msgpack_unpacked_init(&p->up);
    p->started = proto_mono_ms();
    int rc = proto_request_decode(p->d.env.message.body.bytes, p->d.env.message.body.len, &p->up,
                                  &p->req);
    if (rc != 0) {
        /* Never redeliver what cannot be read: reject without requeue -> ft.dlx. */
        PROTO_WARN(p->corr[0] ? p->corr : NULL, "malformed request dead-lettered",
                   "err=%s bytes=%zu", proto_log_str(proto_strerror(rc)),
                   p->d.env.message.body.len);
        p->verdict = V_REJECT;
        ctx->log.req_id[0] = '\0';
        return;
    }
    snprintf(ctx->log.req_id, sizeof ctx->log.req_id, "%s", p->req.id);
    if (p->req.deadline_ms <= proto_now_ms()) {
        PROTO_INFO(ctx->log.req_id, "deadline passed, dropped", "method=%s late_ms=%lld",
                   proto_log_str(p->req.method), (long long)(proto_now_ms() - p->req.deadline_ms));
        p->verdict = V_ACK;
        return;
    }
    long long nth = delivery_number(ctx, &p->d, &p->req);
    if (nth >= PROTO_RPC_MAX_DELIVERIES) {
        /* Its earlier deliveries all ended without an ack: it likely kills its consumer. */
        PROTO_ERROR(ctx->log.req_id, "request dead-lettered: redelivered too often",
                    "method=%s delivery=%lld", proto_log_str(p->req.method), nth);
        p->verdict = V_REJECT;
        return;
    }
    p->verdict = V_RUN;
    wk_reply_init(&p->rep, &p->priv, &ctx->log);
}

/* A handler's failure code as the answer, when the handler set none. */
static void request_failed(struct wk_ctx *ctx, struct wk_pending *p, int hrc)
{
    if (hrc >= 0 || wk_reply_is_error(&p->rep))
        return;
    const char *id = p->req.id;
    if (hrc == WK_EDBDOWN || !wk_db_up(ctx->db)) {
        PROTO_ERROR(id, "handler failed: database unavailable", "method=%s err=%d",
                    proto_log_str(p->req.method), hrc);
        wk_reply_error(&p->rep, 503, "db_unavailable", "the database is unavailable");
    } else if (hrc == WK_ESERIAL) {
        PROTO_ERROR(id, "handler failed: too much contention", "method=%s err=%d",
                    proto_log_str(p->req.method), hrc);
        wk_reply_error(&p->rep, 503, "busy", "too much contention, retry");
        wk_reply_header(&p->rep, "Retry-After", "1");
    } else {
        PROTO_ERROR(id, "handler failed", "method=%s err=%d sqlstate=%s",
                    proto_log_str(p->req.method), hrc, wk_db_sqlstate(ctx->db));
        wk_reply_error(&p->rep, 500, "internal", "internal error");
    }
}

#ifdef FT_FAULT_HOOKS
/* Test builds only (CMake, Debug): WK_FAULT_EXIT_AFTER=<method> ends the process after that
 * method's handler returned - its transaction committed - and before the reply and the ack:
 * the crash the idempotency records exist for, made deterministic (tests/integration). */
static void fault_exit_after(const struct wk_ctx *ctx, const char *method)
{
    const char *fault = getenv("WK_FAULT_EXIT_AFTER");
    if (fault && strcmp(fault, method) == 0) {
        PROTO_WARN(ctx->log.req_id, "fault injected: exiting before the reply and the ack",
                   "method=%s", proto_log_str(method));
        _exit(86);
    }
}
#else
#define fault_exit_after(ctx, method) ((void)0)
#endif

/* Runs one opened (V_RUN) request through its method's fn. */
static void request_run(struct wk_ctx *ctx, struct wk_pending *p)
{
    /* Its own id for the log lines: after a batch, the request that ended it runs here with
     * the batch's ids already cleared. */
    snprintf(ctx->log.req_id, sizeof ctx->log.req_id, "%s", p->req.id);
    ctx->cur_reply = &p->rep;
    wk_db_maintain(ctx->db); /* a connection lost by the previous message comes back here */
    wk_handler_fn fn = find_method(ctx, p->req.method);
    if (!fn) {
        wk_reply_error(&p->rep, 404, "unknown_method", "no method %s on worker %s", p->req.method,
                       ctx->name);
    } else {
        int hrc = fn(ctx, &p->req, &p->rep);
        wk_db_end_stray_tx(ctx->db);
        fault_exit_after(ctx, p->req.method);
        request_failed(ctx, p, hrc);
    }
    ctx->cur_reply = NULL;
}

/* Frees what request_open took for p, and the delivery. */
static void request_free(struct wk_ctx *ctx, struct wk_pending *p)
{
    if (p->verdict == V_RUN)
        wk_reply_destroy(&p->rep);
    msgpack_unpacked_destroy(&p->up);
    wk_mq_delivery_free(&p->d);
    ctx->log.req_id[0] = '\0';
}

/* Publishes p's reply and acks it (or settles it unhandled), and frees it. 0, or WK_EMQ when
 * the broker connection failed on the way (the message will come back after the reconnect). */
static int request_close(struct wk_ctx *ctx, struct wk_pending *p)
{
    int rc = 0;
    if (p->verdict == V_REJECT) {
        rc = wk_mq_reject(&ctx->mq, p->d.env.delivery_tag, 0);
    } else if (p->verdict == V_ACK) {
        rc = wk_mq_ack(&ctx->mq, p->d.env.delivery_tag);
    } else {
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        if (wk_reply_encode(&p->rep, p->req.id, &out) != 0) {
            msgpack_sbuffer_clear(&out);
            wk_reply_reset(&p->rep);
            wk_reply_error(&p->rep, 500, "internal", "internal error");
            if (wk_reply_encode(&p->rep, p->req.id, &out) != 0)
                abort(); /* an error reply with fixed fields always encodes */
        }
        if (p->reply_to[0])
            rc = wk_mq_publish(&ctx->mq, "", p->reply_to, NULL, p->corr[0] ? p->corr : p->req.id,
                               NULL, 0, out.data, out.size);
        else
            PROTO_WARN(p->req.id, "request without reply_to, reply dropped", NULL);
        msgpack_sbuffer_destroy(&out);
        if (rc == 0)
            rc = wk_mq_ack(&ctx->mq, p->d.env.delivery_tag);
        PROTO_INFO(p->req.id, "rpc done", "method=%s status=%d ms=%lld redelivered=%d",
                   proto_log_str(p->req.method), p->rep.status,
                   (long long)(proto_mono_ms() - p->started), p->d.env.redelivered ? 1 : 0);
    }
    request_free(ctx, p);
    return rc;
}

/* Runs an opened request alone (when it is to run) and closes it. */
static int request_single(struct wk_ctx *ctx, struct wk_pending *p)
{
    if (p->verdict == V_RUN)
        request_run(ctx, p);
    return request_close(ctx, p);
}

static int handle_event(struct wk_ctx *ctx, struct wk_delivery *d);

static wk_batch_fn find_batch(const struct wk_ctx *ctx, const char *name)
{
    for (const struct wk_batch_method *m = ctx->spec->batches; m && m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m->fn;
    return NULL;
}

/* 1 when an opened request may join a batch of `method`. */
static int joins(const struct wk_pending *p, const char *method)
{
    return p->verdict == V_RUN && !p->d.env.redelivered && strcmp(p->req.method, method) == 0;
}

/*
 * Handles the rpc delivery in ctx->batch[0] (taken by the main loop) and, when its method is
 * served in batches, every delivery of that method the broker has already sent (waiting at most
 * WK_BATCH_WAIT_MS, default 0, for more: under load a batch fills while the previous one runs).
 * A delivery taken that cannot join (another method, a redelivery, an event) ends the batch and
 * is handled right after it, so everything is still settled in tag order.
 * Returns 0, or WK_EMQ when the broker connection failed.
 */
static int handle_requests(struct wk_ctx *ctx)
{
    struct wk_pending *b = ctx->batch;
    request_open(ctx, &b[0]);
    wk_batch_fn batch = joins(&b[0], b[0].req.method) ? find_batch(ctx, b[0].req.method) : NULL;
    if (!batch)
        return request_single(ctx, &b[0]);

    /* Everything already delivered that is this method's (or settles unhandled). */
    size_t n = 1;
    struct wk_pending *next = NULL;
    int lost = 0;
    int64_t fill_until = proto_mono_ms() + ctx->batch_wait_ms;
    while (n < (size_t)ctx->batch_max) {
        struct wk_pending *p = &b[n];
        int64_t left = fill_until - proto_mono_ms();
        int got = wk_mq_next(&ctx->mq, &p->d, left > 0 ? (int)left : 0);
        if (got < 0)
            lost = 1;
        if (got != 1)
            break;
        if (p->d.from_events) {
            next = p;
            break;
        }
        request_open(ctx, p);
        if (p->verdict == V_RUN && !joins(p, b[0].req.method)) {
            next = p;
            break;
        }
        n++;
    }
    if (lost) {
        /* Nothing handled or settled: all of it comes back after the reconnect. */
        for (size_t i = 0; i < n; i++)
            request_free(ctx, &b[i]);
        return WK_EMQ;
    }

    struct wk_call *calls = ctx->calls;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].verdict == V_RUN)
            calls[k++] = (struct wk_call){&b[i].req, &b[i].rep, 0};
    snprintf(ctx->log.req_id, sizeof ctx->log.req_id, "%s", b[0].req.id);
    PROTO_DEBUG(ctx->log.req_id, "batch", "method=%s requests=%zu", proto_log_str(b[0].req.method),
                k);
    wk_db_maintain(ctx->db);
    batch(ctx, calls, k);
    wk_db_end_stray_tx(ctx->db);
    fault_exit_after(ctx, b[0].req.method);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].verdict == V_RUN)
            request_failed(ctx, &b[i], calls[k++].rc);

    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int crc = request_close(ctx, &b[i]);
        if (rc == 0)
            rc = crc;
    }
    int nrc = 0;
    if (next && next->d.from_events) {
        nrc = handle_event(ctx, &next->d);
        wk_mq_delivery_free(&next->d);
    } else if (next) {
        nrc = request_single(ctx, next);
    }
    return rc ? rc : nrc;
}

/* ---- events ---- */

struct inbox_call {
    const struct proto_event *ev;
    wk_event_fn fn;
    int duplicate;
};

static int inbox_tx(struct wk_ctx *ctx, void *arg)
{
    struct inbox_call *c = arg;
    const char *params[] = {c->ev->id};
    PGresult *r = wk_db_exec_prepared(ctx->db, "wk_inbox_insert", ctx->sql_inbox_insert, 1, params);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    if (n == 0) {
        c->duplicate = 1;
        return 0;
    }
    return c->fn(ctx, c->ev);
}

static int handle_event(struct wk_ctx *ctx, struct wk_delivery *d)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_event ev;
    int rc = proto_event_decode(d->env.message.body.bytes, d->env.message.body.len, &up, &ev);
    if (rc != 0) {
        PROTO_WARN(NULL, "malformed event dead-lettered", "err=%s bytes=%zu",
                   proto_log_str(proto_strerror(rc)), d->env.message.body.len);
        msgpack_unpacked_destroy(&up);
        return wk_mq_reject(&ctx->mq, d->env.delivery_tag, 0);
    }
    wk_event_fn fn = NULL;
    for (const struct wk_event_handler *h = ctx->spec->events; h && h->type; h++)
        if (strcmp(h->type, ev.type) == 0)
            fn = h->fn;
    snprintf(ctx->log.req_id, sizeof ctx->log.req_id, "%s", ev.id);
    if (!fn) {
        PROTO_DEBUG(ctx->log.req_id, "event type not handled, acked", "type=%s",
                    proto_log_str(ev.type));
        rc = wk_mq_ack(&ctx->mq, d->env.delivery_tag);
        goto out;
    }
    int64_t started = proto_mono_ms();
    wk_db_maintain(ctx->db);
    struct inbox_call call = {&ev, fn, 0};
    int hrc = wk_db_tx(ctx, inbox_tx, &call);
    if (hrc == 0) {
        rc = wk_mq_ack(&ctx->mq, d->env.delivery_tag);
        PROTO_INFO(ctx->log.req_id, call.duplicate ? "event duplicate, skipped" : "event done",
                   "type=%s ms=%lld", proto_log_str(ev.type),
                   (long long)(proto_mono_ms() - started));
    } else {
        /* Requeue: the quorum queue's delivery limit dead-letters an event that
         * keeps failing, so this cannot loop forever. */
        PROTO_ERROR(ctx->log.req_id, "event handler failed, requeued", "type=%s err=%d",
                    proto_log_str(ev.type), hrc);
        rc = wk_mq_reject(&ctx->mq, d->env.delivery_tag, 1);
        /* Without a database every event would fail and burn its delivery count:
         * stop taking events until the connection is back (see the main loop). */
        if (rc == 0 && !wk_db_up(ctx->db) && !ctx->events_paused) {
            PROTO_WARN(NULL, "database down: pausing the event consumer", NULL);
            rc = wk_mq_cancel_events(&ctx->mq);
            ctx->events_paused = 1;
        }
    }
out:
    ctx->log.req_id[0] = '\0';
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* ---- event batches ---- */

struct wk_event_slot {
    struct wk_delivery d;
    msgpack_unpacked up;
    struct proto_event ev;
};

/* The batch handler for an event's type, or NULL. */
static wk_event_batch_fn find_event_batch(const struct wk_ctx *ctx, const char *type)
{
    for (const struct wk_event_handler *h = ctx->spec->events; h && h->type; h++)
        if (strcmp(h->type, type) == 0)
            return h->batch;
    return NULL;
}

/* Decodes slot->d: 0, or < 0 (slot->up then holds nothing to free). */
static int slot_open(struct wk_event_slot *slot)
{
    msgpack_unpacked_init(&slot->up);
    int rc = proto_event_decode(slot->d.env.message.body.bytes, slot->d.env.message.body.len,
                                &slot->up, &slot->ev);
    if (rc != 0)
        msgpack_unpacked_destroy(&slot->up);
    return rc;
}

struct inbox_batch {
    struct wk_event_slot *slots;
    size_t n;
    wk_event_batch_fn fn;
    struct proto_event *fresh; /* [n]: the events not seen before, in delivery order */
    size_t nfresh;
};

static int inbox_batch_tx(struct wk_ctx *ctx, void *arg)
{
    struct inbox_batch *c = arg;
    struct proto_buf ids = {0};
    proto_buf_puts(&ids, "{");
    for (size_t i = 0; i < c->n; i++)
        proto_buf_printf(&ids, "%s%s", i ? "," : "", c->slots[i].ev.id); /* UUIDs: no quoting */
    proto_buf_puts(&ids, "}");
    const char *params[] = {ids.data};
    PGresult *r =
        wk_db_exec_prepared(ctx->db, "wk_inbox_insert_many", ctx->sql_inbox_insert_many, 1, params);
    proto_buf_free(&ids);
    if (!r)
        return wk_db_fail(ctx);
    /* Each id the statement inserted stands for one delivery: the first that carries it (the
     * same event twice in one batch is handled once). */
    int nrows = PQntuples(r);
    char *taken = proto_xcalloc((size_t)nrows + 1, 1);
    c->nfresh = 0;
    for (size_t i = 0; i < c->n; i++)
        for (int j = 0; j < nrows; j++)
            if (!taken[j] && strcasecmp(PQgetvalue(r, j, 0), c->slots[i].ev.id) == 0) {
                taken[j] = 1;
                c->fresh[c->nfresh++] = c->slots[i].ev;
                break;
            }
    free(taken);
    PQclear(r);
    return c->nfresh ? c->fn(ctx, c->fresh, c->nfresh) : 0;
}

/*
 * Handles the event delivery `first` (taken by the main loop; freed here) and, when its type has
 * a batch handler, every first delivery of that type the broker has already sent, in one
 * transaction (wk_event_batch_fn). A delivery taken that cannot join (a request, a redelivery,
 * another type, an undecodable event) ends the batch and is handled right after it, so
 * everything is still settled in tag order. Returns 0, or WK_EMQ when the broker connection
 * failed.
 */
static int handle_events(struct wk_ctx *ctx, struct wk_delivery *first)
{
    struct wk_event_slot *slots = ctx->evs;
    if (!slots || first->env.redelivered) {
        int rc = handle_event(ctx, first);
        wk_mq_delivery_free(first);
        return rc;
    }
    slots[0].d = *first;
    int opened = slot_open(&slots[0]) == 0;
    wk_event_batch_fn fn = opened ? find_event_batch(ctx, slots[0].ev.type) : NULL;
    if (!fn) {
        /* No batch for this type, or undecodable (the single path dead-letters it and says why) */
        if (opened)
            msgpack_unpacked_destroy(&slots[0].up);
        int rc = handle_event(ctx, &slots[0].d);
        wk_mq_delivery_free(&slots[0].d);
        return rc;
    }

    size_t n = 1;
    struct wk_delivery next;
    int has_next = 0, lost = 0;
    while (n < (size_t)ctx->batch_max) {
        struct wk_event_slot *p = &slots[n];
        int got = wk_mq_next(&ctx->mq, &p->d, 0);
        if (got < 0)
            lost = 1;
        if (got != 1)
            break;
        if (!p->d.from_events || p->d.env.redelivered) {
            next = p->d;
            has_next = 1;
            break;
        }
        if (slot_open(p) != 0) {
            next = p->d;
            has_next = 1;
            break;
        }
        if (strcmp(p->ev.type, slots[0].ev.type) != 0) {
            msgpack_unpacked_destroy(&p->up);
            next = p->d;
            has_next = 1;
            break;
        }
        n++;
    }
    if (lost) {
        /* Nothing handled or settled: all of it comes back after the reconnect. */
        for (size_t i = 0; i < n; i++) {
            msgpack_unpacked_destroy(&slots[i].up);
            wk_mq_delivery_free(&slots[i].d);
        }
        return WK_EMQ;
    }

    snprintf(ctx->log.req_id, sizeof ctx->log.req_id, "%s", slots[0].ev.id);
    int64_t started = proto_mono_ms();
    wk_db_maintain(ctx->db);
    struct proto_event *fresh = proto_xcalloc(n, sizeof *fresh);
    struct inbox_batch call = {slots, n, fn, fresh, 0};
    int hrc = wk_db_tx(ctx, inbox_batch_tx, &call);
    int rc = 0;
    if (hrc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = wk_mq_ack(&ctx->mq, slots[i].d.env.delivery_tag);
        PROTO_INFO(ctx->log.req_id, "events done", "type=%s events=%zu new=%zu ms=%lld",
                   proto_log_str(slots[0].ev.type), n, call.nfresh,
                   (long long)(proto_mono_ms() - started));
    } else {
        PROTO_WARN(ctx->log.req_id, "event batch failed, handling its events one by one",
                   "type=%s events=%zu err=%d", proto_log_str(slots[0].ev.type), n, hrc);
    }
    free(fresh);
    for (size_t i = 0; i < n; i++) {
        msgpack_unpacked_destroy(&slots[i].up);
        if (hrc != 0 && rc == 0)
            rc = handle_event(ctx, &slots[i].d);
        wk_mq_delivery_free(&slots[i].d);
    }
    ctx->log.req_id[0] = '\0';
    if (rc != 0 || !has_next) {
        if (has_next)
            wk_mq_delivery_free(&next);
        return rc;
    }
    if (next.from_events) {
        rc = handle_event(ctx, &next);
        wk_mq_delivery_free(&next);
        return rc;
    }
    ctx->batch[0].d = next;
    return handle_requests(ctx); /* frees it */
}

/* ---- setup ---- */

static int valid_ident(const char *s)
{
    if (!*s || strlen(s) > WK_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > WK_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
              *p == '.'))
            return 0;
    return 1;
}

static void build_sql(struct wk_ctx *ctx)
{
    const char *s = ctx->schema; /* a validated identifier from code, never user input */
    struct proto_buf b = {0};
    proto_buf_printf(&b,
                     "SELECT id::text, type, coalesce(user_id::text, ''),"
                     " (extract(epoch FROM created_at) * 1000)::bigint, data::text"
                     " FROM %s.outbox WHERE sent_at IS NULL ORDER BY created_at LIMIT 100"
                     " FOR UPDATE SKIP LOCKED",
                     s);
    ctx->sql_outbox_select = b.data;
    b = (struct proto_buf){0};
    proto_buf_printf(&b, "UPDATE %s.outbox SET sent_at = now() WHERE id = ANY($1::uuid[])", s);
    ctx->sql_outbox_mark = b.data;
    b = (struct proto_buf){0};
    proto_buf_printf(&b,
                     "INSERT INTO %s.outbox (id, type, user_id, data)"
                     " VALUES ($1, $2, $3, $4::jsonb)",
                     s);
    ctx->sql_outbox_insert = b.data;
    b = (struct proto_buf){0};
    proto_buf_printf(&b, "INSERT INTO %s.inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING", s);
    ctx->sql_inbox_insert = b.data;
    b = (struct proto_buf){0};
    proto_buf_printf(&b,
                     "INSERT INTO %s.inbox (event_id) SELECT unnest($1::uuid[]) "
                     "ON CONFLICT DO NOTHING RETURNING event_id",
                     s);
    ctx->sql_inbox_insert_many = b.data;
    wk_prune_build_sql(ctx);
}

/* Connects to the broker, declares, consumes; 0 or WK_EMQ (connection closed). */
static int mq_setup(struct wk_ctx *ctx, const char *const *types, size_t ntypes)
{
    if (wk_mq_connect(&ctx->mq, ctx->amqp_url, HEARTBEAT_S, 0, &ctx->log) != 0)
        return WK_EMQ;
    struct proto_buf rq = {0};
    proto_buf_printf(&rq, "%s%s", PROTO_RPC_QUEUE_PREFIX, ctx->name);
    int rc = wk_mq_declare(&ctx->mq, ctx->name, types, ntypes);
    if (rc == 0)
        rc = wk_mq_consume(&ctx->mq, ctx->prefetch, rq.data,
                           ctx->events_queue[0] ? ctx->events_queue : NULL);
    ctx->events_paused = 0;
    if (rc == 0)
        PROTO_INFO(NULL, "consuming", "queue=%s events=%zu prefetch=%d", proto_log_str(rq.data),
                   ntypes, ctx->prefetch);
    else
        wk_mq_close(&ctx->mq);
    proto_buf_free(&rq);
    return rc;
}

/* Each row stores its value in the named field of struct wk_ctx. */
#define TO(field) PROTO_CFG_INTO(struct wk_ctx, field)

static int load_config(struct wk_ctx *ctx, enum proto_log_level *level)
{
    /* WK_PREFETCH's default: the worker's own window (spec->prefetch), else 16. The table is
     * built here, once, so that row can point at it (an INT row: only the number is kept). */
    char prefetch[16];
    snprintf(prefetch, sizeof prefetch, "%d", ctx->spec->prefetch > 0 ? ctx->spec->prefetch : 16);
    const struct proto_cfg_var cfg_vars[] = {
        {.name = "AMQP_URL",
         .kind = PROTO_CFG_SECRET,
         .min = 1,
         .max = 2048,
         .help = "RabbitMQ URL, amqp://user:pass@host:port/vhost",
         TO(amqp_url)},
        {.name = "DATABASE_URL",
         .kind = PROTO_CFG_SECRET,
         .min = 1,
         .max = 2048,
         .help = "PostgreSQL URL of the worker's own role",
         TO(db_url)},
        {.name = "REDIS_URL",
         .def = "redis://127.0.0.1:6379/0",
         .kind = PROTO_CFG_STR,
         .min = 1,
         .max = 2048,
         .help = "Redis URL, redis://[:password@]host[:port][/db]",
         TO(redis_url)},
        {.name = "WK_PREFETCH",
         .def = prefetch,
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 1000,
         .help = "unacked messages a worker process holds",
         TO(prefetch)},
        {.name = "LOG_LEVEL",
         .def = "info",
         .kind = PROTO_CFG_STR,
         .min = 1,
         .max = 16,
         .help = "debug, info, warn or error",
         TO(log_level)},
        {.name = "WK_RELAY_INTERVAL_MS",
         .def = "200",
         .kind = PROTO_CFG_INT,
         .min = 10,
         .max = 60000,
         .help = "outbox relay period when idle (ms)",
         TO(relay_interval_ms)},
        {.name = "WK_OUTBOX_KEEP_HOURS",
         .def = "24",
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 8760,
         .help = "hours a published outbox row is kept before it is deleted",
         TO(outbox_keep_hours)},
        {.name = "WK_INBOX_KEEP_DAYS",
         .def = "30",
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 3650,
         .help = "days an applied event's id is kept to dedupe a late copy",
         TO(inbox_keep_days)},
        {.name = "WK_BATCH_MAX",
         .def = "64",
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 1000,
         .help = "requests a batch method, or events an event batch, takes at once, at most",
         TO(batch_max)},
        {.name = "WK_BATCH_WAIT_MS",
         .def = "0",
         .kind = PROTO_CFG_INT,
         .min = 0,
         .max = 60000,
         .help = "how long a batch waits to fill up to WK_BATCH_MAX (0: only what has arrived)",
         TO(batch_wait_ms)},
    };
    int bad = proto_config_load(cfg_vars, PROTO_CFG_COUNT(cfg_vars), ctx, stderr);
    if (proto_log_level_parse(ctx->log_level, level) != 0) {
        fprintf(stderr, "config: LOG_LEVEL=%s is not one of debug, info, warn, error\n",
                ctx->log_level);
        bad++;
    }
    if (bad == 0 && wk_kv_check_url(ctx->redis_url) != 0) {
        fprintf(stderr, "config: REDIS_URL is not a redis://host[:port][/db] URL\n");
        bad++;
    }
    return bad ? PROTO_CONFIG_EXIT : 0;
}

int wk_run(const char *name, const struct wk_method *methods)
{
    static struct wk_spec spec;
    spec.name = name;
    spec.schema = NULL;
    spec.methods = methods;
    spec.events = NULL;
    return wk_run_spec(&spec);
}

int wk_run_spec(const struct wk_spec *spec)
{
    static struct wk_ctx ctx;
    enum proto_log_level level = PROTO_LOG_INFO;
    const char *types[MAX_EVENT_TYPES];
    size_t ntypes = 0;

    memset(&ctx, 0, sizeof ctx);
    ctx.spec = spec;
    ctx.started_ms = proto_mono_ms();
    if (!spec->name || !valid_name(spec->name)) {
        fprintf(stderr, "wk_run: invalid worker name\n");
        return 1;
    }
    snprintf(ctx.name, sizeof ctx.name, "%s", spec->name);
    const char *schema = spec->schema ? spec->schema : wk_schema_for(spec->name);
    if (schema && *schema && !valid_ident(schema)) {
        fprintf(stderr, "wk_run: invalid schema name\n");
        return 1;
    }
    snprintf(ctx.schema, sizeof ctx.schema, "%s", schema ? schema : "");
    for (const struct wk_event_handler *h = spec->events; h && h->type; h++) {
        if (!h->fn) {
            /* a failed batch falls back to fn, one event at a time */
            fprintf(stderr, "wk_run: event type %s has no handler (fn)\n", h->type);
            return 1;
        }
        if (ntypes == MAX_EVENT_TYPES || !ctx.schema[0]) {
            fprintf(stderr, "wk_run: event handlers need a schema (inbox), at most %d types\n",
                    MAX_EVENT_TYPES);
            return 1;
        }
        types[ntypes++] = h->type;
    }

    int rc = load_config(&ctx, &level);
    if (rc != 0)
        return rc;
    proto_log_init(ctx.name, level);
    wk_stop_install();
    if (ctx.schema[0])
        build_sql(&ctx);
    if (ntypes)
        snprintf(ctx.events_queue, sizeof ctx.events_queue, "%s%s", PROTO_EVENTS_QUEUE_PREFIX,
                 ctx.name);
    /* Room for a batch only when the worker serves one; otherwise one request at a time. */
    size_t slots = spec->batches ? (size_t)ctx.batch_max : 1;
    ctx.batch = proto_xcalloc(slots, sizeof *ctx.batch);
    ctx.calls = proto_xcalloc(slots, sizeof *ctx.calls);
    for (const struct wk_event_handler *h = spec->events; h && h->type; h++)
        if (h->batch && !ctx.evs)
            ctx.evs = proto_xcalloc((size_t)ctx.batch_max, sizeof *ctx.evs);
    ctx.db = wk_db_new(ctx.db_url, ctx.name, &ctx.log);
    ctx.kv = wk_kv_new(ctx.redis_url, &ctx.log);
    PROTO_INFO(NULL, "worker starting", "version=%s schema=%s", FT_VERSION,
               proto_log_str(ctx.schema[0] ? ctx.schema : "-"));
    wk_db_maintain(ctx.db);

    struct wk_backoff mq_bo = {0, 0};
    int slice = ctx.relay_interval_ms < CONSUME_SLICE_MS ? ctx.relay_interval_ms : CONSUME_SLICE_MS;
    ctx.relay_next_ms = proto_mono_ms();
    while (!wk_stopping()) {
        if (!wk_mq_up(&ctx.mq)) {
            if (mq_setup(&ctx, types, ntypes) != 0) {
                int delay = wk_backoff_fail(&mq_bo);
                PROTO_WARN(NULL, "broker not ready, retrying", "retry_ms=%d", delay);
                wk_sleep_ms(delay);
                continue;
            }
            wk_backoff_reset(&mq_bo);
        }
        if (!wk_db_up(ctx.db))
            wk_db_maintain(ctx.db);
        if (ctx.events_paused && wk_db_up(ctx.db)) {
            PROTO_INFO(NULL, "database back: resuming the event consumer", NULL);
            ctx.events_paused = 0;
            if (wk_mq_consume_events(&ctx.mq, ctx.events_queue) != 0) {
                wk_mq_close(&ctx.mq);
                continue;
            }
        }
        struct wk_delivery *d = &ctx.batch[0].d;
        int got = wk_mq_next(&ctx.mq, d, ctx.outbox_written ? RELAY_QUIET_MS : slice);
        if (got < 0) {
            wk_mq_close(&ctx.mq);
            continue;
        }
        if (got == 1) {
            int src;
            if (d->from_events) {
                src = handle_events(&ctx, d); /* frees d */
            } else {
                src = handle_requests(&ctx); /* frees d */
            }
            if (src != 0)
                wk_mq_close(&ctx.mq);
        }
        /* What handlers wrote to the outbox is published as soon as the queue goes quiet, or
         * at the latest after WK_RELAY_INTERVAL_MS under load, so one relay transaction
         * carries many events: relaying after every posting doubled the commits per posting
         * (tests/bench/ledger.sh). Rows another instance left behind go on the timer. */
        if (ctx.outbox_written && (got == 0 || proto_mono_ms() >= ctx.relay_next_ms)) {
            ctx.outbox_written = 0;
            wk_relay_run(&ctx);
        } else if (!ctx.outbox_written && proto_mono_ms() >= ctx.relay_next_ms) {
            wk_relay_run(&ctx);
        }
        if (ctx.schema[0] && wk_db_up(ctx.db) && proto_mono_ms() >= ctx.prune_next_ms)
            wk_prune_run(&ctx, ntypes > 0);
        if (spec->tick && proto_mono_ms() >= ctx.tick_next_ms) {
            int trc = spec->tick(&ctx);
            if (trc < 0)
                PROTO_WARN(NULL, "tick failed", "rc=%d", trc);
            ctx.tick_next_ms = proto_mono_ms() + (spec->tick_ms > 0 ? spec->tick_ms : 1000);
        }
    }

    PROTO_INFO(NULL, "worker stopping", NULL);
    /* Closing returns the prefetched, unstarted messages to the queue for the others. */
    wk_mq_close(&ctx.mq);
    wk_mq_close(&ctx.relay_mq);
    wk_db_free(ctx.db);
    wk_kv_free(ctx.kv);
    free(ctx.sql_outbox_select);
    free(ctx.sql_outbox_mark);
    free(ctx.sql_outbox_insert);
    free(ctx.sql_inbox_insert);
    free(ctx.sql_inbox_insert_many);
    free(ctx.sql_outbox_prune);
    free(ctx.sql_inbox_prune);
    wk_live_discard(&ctx);
    free(ctx.live);
    free(ctx.batch);
    free(ctx.calls);
    free(ctx.evs);
    return 0;
}
