/* The WebSocket sessions of GET /api/ws; see ws.h. lws thread only. */
#include "ws.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "edge.h"
#include "jsondoc.h"
#include "registry.h"

#include "proto/clock.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/msg.h"
#include "proto/status.h"

_Static_assert(GW_WS_PRE >= LWS_PRE, "live frames need LWS_PRE bytes of headroom");

#define CLOSE_GRACE_S 10 /* a socket that cannot even take its close frame is dropped then */
/*
 * A burst for one user must not look like a slow consumer: the socket writes up to
 * WRITE_BURST frames per writeable callback while the kernel takes them (lws_send_pipe_
 * choked), and one round of results queues at most SLICE_PER_USER frames per user (the
 * rest wait for the next service loop iteration, see gw_ws_result). So a client that keeps
 * up never has more than SLICE_PER_USER frames waiting, whatever the burst; only one that
 * stopped reading reaches GW_WS_QUEUE_MAX.
 */
#define WRITE_BURST    16
#define SLICE_PER_USER 8

enum ws_state { WS_NEW, WS_AUTHING, WS_BINDING, WS_READY, WS_CLOSING };

#define TICK_MS       250   /* gw_ws_tick walks the sockets at most this often */
#define PONG_GRACE_MS 15000 /* after a ping, this long for any sign of life */

/* Why a socket was closed: the /metrics label. */
enum ws_why {
    W_ORIGIN,
    W_AUTH_TIMEOUT,
    W_AUTH_MESSAGE,
    W_TOKEN_INVALID,
    W_TOKEN_EXPIRED,
    W_TOKEN_REVOKED,
    W_AUTH_DOWN,
    W_ORDER,
    W_SLOW,
    W_TOO_BIG,
    W_BINARY,
    W_SHUTDOWN,
    W_CLIENT,
    W_LOST,
    W_PROTOCOL,
    W_COUNT
};

static const char *const why_names[W_COUNT] = {
    "origin",        "auth_timeout",     "auth_message", "token_invalid",       "token_expired",
    "token_revoked", "auth_unavailable", "close_order",  "slow_consumer",       "too_big",
    "binary",        "shutdown",         "client",       "protocol_or_network", "protocol_error"};

/* One live frame, shared by every socket of its user that queues it. */
struct ws_frame {
    uint32_t refs;
    uint32_t len;
    char *buf; /* GW_WS_PRE bytes of headroom, then len bytes of text */
};

struct gw_ws_out {
    struct gw_ws_out *next;
    struct ws_frame *f;
};

/* A user with at least one authenticated socket here (and so a binding). */
struct gw_ws_user {
    struct gw_ws_user *hnext;
    struct gw_ws *socks;
    uint32_t nsocks;
    uint32_t bind_seq;           /* of the bind job whose answer counts */
    uint32_t slice_gen, slice_n; /* frames queued in the current round of results */
    int bound;
    char id[PROTO_UUID_LEN + 1];
};

struct gw_ws_hub {
    const struct gw_config *cfg;
    const struct proto_token_keys *keys;
    struct gw_bridge *bridge;
    char **origins;
    size_t norigins;
    struct gw_registry socks; /* every open socket (struct gw_ws *) by its id, registry.h */
    struct gw_ws_user **buckets;
    size_t nbuckets, nusers;
    uint32_t bind_seq;
    uint32_t slice_gen;
    size_t open, authed;
    uint64_t frames_sent, frames_unrouted;
    uint64_t closed[W_COUNT];
    int64_t last_tick_ms;
};

/* ---- users ---- */

static size_t user_hash(const char *id)
{
    uint64_t x = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = id; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)x;
}

static struct gw_ws_user *user_find(struct gw_ws_hub *h, const char *id)
{
    struct gw_ws_user *u = h->buckets[user_hash(id) & (h->nbuckets - 1)];
    while (u && strcmp(u->id, id) != 0)
        u = u->hnext;
    return u;
}

static void user_grow(struct gw_ws_hub *h)
{
    size_t n = h->nbuckets * 2;
    struct gw_ws_user **b = proto_xcalloc(n, sizeof *b);
    for (size_t i = 0; i < h->nbuckets; i++)
        for (struct gw_ws_user *u = h->buckets[i], *next; u; u = next) {
            next = u->hnext;
            size_t k = user_hash(u->id) & (n - 1);
            u->hnext = b[k];
            b[k] = u;
        }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

static struct gw_ws_user *user_add(struct gw_ws_hub *h, const char *id)
{
    if (h->nusers >= h->nbuckets)
        user_grow(h);
    struct gw_ws_user *u = proto_xcalloc(1, sizeof *u);
    memcpy(u->id, id, PROTO_UUID_LEN);
    size_t k = user_hash(u->id) & (h->nbuckets - 1);
    u->hnext = h->buckets[k];
    h->buckets[k] = u;
    h->nusers++;
    return u;
}

static void user_remove(struct gw_ws_hub *h, struct gw_ws_user *u)
{
    struct gw_ws_user **pp = &h->buckets[user_hash(u->id) & (h->nbuckets - 1)];
    while (*pp != u)
        pp = &(*pp)->hnext;
    *pp = u->hnext;
    h->nusers--;
    free(u);
}

static void submit_binding(struct gw_ws_hub *h, const char *user, enum gw_job_kind kind,
                           uint32_t seq)
{
    if (!h->bridge)
        return; /* shutting down */
    struct gw_job *j = gw_job_new(0);
    j->kind = kind;
    memcpy(j->user, user, PROTO_UUID_LEN + 1);
    j->bind_seq = seq;
    gw_bridge_submit(h->bridge, j);
}

static void user_bind(struct gw_ws_hub *h, struct gw_ws_user *u)
{
    u->bound = 0;
    u->bind_seq = ++h->bind_seq;
    submit_binding(h, u->id, GW_JOB_LIVE_BIND, u->bind_seq);
}

static void user_link(struct gw_ws_hub *h, struct gw_ws_user *u, struct gw_ws *ws)
{
    ws->user = u;
    ws->uprev = NULL;
    ws->unext = u->socks;
    if (u->socks)
        u->socks->uprev = ws;
    u->socks = ws;
    u->nsocks++;
    h->authed++;
}

/* Unlinks ws; the user's last socket removes the binding. */
static void user_unlink(struct gw_ws_hub *h, struct gw_ws *ws)
{
    struct gw_ws_user *u = ws->user;
    if (ws->uprev)
        ws->uprev->unext = ws->unext;
    else
        u->socks = ws->unext;
    if (ws->unext)
        ws->unext->uprev = ws->uprev;
    ws->user = NULL;
    ws->unext = ws->uprev = NULL;
    h->authed--;
    if (--u->nsocks == 0) {
        submit_binding(h, u->id, GW_JOB_LIVE_UNBIND, 0);
        user_remove(h, u);
    }
}

/* ---- outbound frames ---- */

static void frame_unref(struct ws_frame *f)
{
    if (--f->refs == 0) {
        free(f->buf);
        free(f);
    }
}

static void out_clear(struct gw_ws *ws)
{
    while (ws->out) {
        struct gw_ws_out *o = ws->out;
        ws->out = o->next;
        frame_unref(o->f);
        free(o);
    }
    ws->out_tail = NULL;
    ws->out_count = ws->out_bytes = 0;
}

/* Decides the close: the close frame goes out from the next writeable callback. */
static void ws_close(struct gw_ws_hub *h, struct gw_ws *ws, enum ws_why why, int code,
                     const char *reason)
{
    if (ws->state == WS_CLOSING)
        return;
    ws->state = WS_CLOSING;
    ws->close_code = (uint16_t)code;
    ws->close_reason = proto_xstrndup(reason, GW_LIVE_REASON_MAX);
    h->closed[why]++;
    out_clear(ws);
    free(ws->rx);
    ws->rx = NULL;
    ws->send_ready = 0;
    /* A socket whose peer stopped reading may never become writeable again. */
    lws_set_timeout(ws->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_GRACE_S);
    lws_callback_on_writable(ws->wsi);
}

static void make_ready(struct gw_ws *ws)
{
    ws->state = WS_READY;
    ws->send_ready = 1;
    lws_callback_on_writable(ws->wsi);
}

static void enqueue(struct gw_ws_hub *h, struct gw_ws *ws, struct ws_frame *f)
{
    if (ws->out_count + 1 > (uint32_t)h->cfg->ws_queue_max ||
        (size_t)ws->out_bytes + f->len > h->cfg->ws_queue_bytes) {
        ws_close(h, ws, W_SLOW, 1008, "slow consumer");
        return;
    }
    struct gw_ws_out *o = proto_xmalloc(sizeof *o);
    o->next = NULL;
    o->f = f;
    f->refs++;
    if (ws->out_tail)
        ws->out_tail->next = o;
    else
        ws->out = o;
    ws->out_tail = o;
    ws->out_count++;
    ws->out_bytes += f->len;
    lws_callback_on_writable(ws->wsi);
}

/* ---- hub ---- */

struct gw_ws_hub *gw_ws_hub_new(const struct gw_config *cfg, const struct proto_token_keys *keys,
                                struct gw_bridge *bridge)
{
    struct gw_ws_hub *h = proto_xcalloc(1, sizeof *h);
    h->cfg = cfg;
    h->keys = keys;
    h->bridge = bridge;
    gw_registry_init(&h->socks);
    h->nbuckets = 256;
    h->buckets = proto_xcalloc(h->nbuckets, sizeof *h->buckets);
    const char *list = cfg->allowed_origins, *a;
    size_t n;
    while (gw_origins_next(&list, &a, &n))
        if (n > 0) {
            h->origins = proto_xrealloc(h->origins, (h->norigins + 1) * sizeof *h->origins);
            h->origins[h->norigins++] = proto_xstrndup(a, n);
        }
    return h;
}

void gw_ws_hub_detach(struct gw_ws_hub *h)
{
    if (h)
        h->bridge = NULL;
}

void gw_ws_hub_free(struct gw_ws_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nbuckets; i++)
        for (struct gw_ws_user *u = h->buckets[i], *next; u; u = next) {
            next = u->hnext;
            free(u);
        }
    free(h->buckets);
    for (size_t i = 0; i < h->norigins; i++)
        free(h->origins[i]);
    free(h->origins);
    gw_registry_free(&h->socks);
    free(h);
}

size_t gw_ws_count(const struct gw_ws_hub *h)
{
    return h ? h->open : 0;
}

static int origin_allowed(const struct gw_ws_hub *h, const char *origin)
{
    for (size_t i = 0; i < h->norigins; i++)
        if (strcmp(h->origins[i], origin) == 0)
            return 1;
    return 0;
}

void gw_ws_established(struct gw_ws_hub *h, struct lws *wsi, struct gw_ws *ws)
{
    ws->wsi = wsi;
    ws->state = WS_NEW;
    ws->opened_ms = proto_mono_ms();
    ws->id = gw_registry_add(&h->socks, ws);
    h->open++;

    char ip[64] = "", origin[256] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN), ok = 1;
    if (n > 0)
        ok = (size_t)n < sizeof origin &&
             lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) == n &&
             origin_allowed(h, origin);
    PROTO_INFO(NULL, "ws open", "ws=%" PRIu64 " ip=%s origin=%s", ws->id, proto_log_str(ip),
               n > 0 ? proto_log_str((size_t)n < sizeof origin ? origin : "(too long)") : "-");
    if (!ok) {
        ws_close(h, ws, W_ORIGIN, 1008, "origin not allowed");
        return;
    }
    ws->last_rx_ms = ws->opened_ms; /* the auth deadline and pings: gw_ws_tick */
}

/* Reads {"type":"auth","token":"..."}: 0 with the token copied, or -1. */
static int parse_auth(const char *text, size_t len, char *token, size_t size)
{
    struct proto_json_limits lim = {GW_WS_MSG_MAX, 2, GW_WS_MSG_MAX, 16};
    struct gw_jsondoc doc;
    const msgpack_object *o = gw_jsondoc_parse(&doc, text, len, &lim);
    char type[8];
    int rc = -1;
    if (o) {
        const msgpack_object *t = proto_map_get(o, "type");
        const msgpack_object *k = proto_map_get(o, "token");
        if (t && k && proto_obj_str(t, type, sizeof type) == 0 && strcmp(type, "auth") == 0 &&
            proto_obj_str(k, token, size) == 0 && token[0])
            rc = 0;
    }
    gw_jsondoc_free(&doc);
    return rc;
}

/* The complete first message: verify the token here, then ask the bridge about its jti. */
static void auth_message(struct gw_ws_hub *h, struct gw_ws *ws)
{
    char token[PROTO_TOKEN_MAX + 1];
    int rc = parse_auth(ws->rx, ws->rx_len, token, sizeof token);
    free(ws->rx);
    ws->rx = NULL;
    ws->rx_len = 0;
    if (rc != 0) {
        ws_close(h, ws, W_AUTH_MESSAGE, 1008, "expected an auth message");
        return;
    }
    struct proto_token_claims cl;
    rc = proto_token_verify(h->keys, token, strlen(token), (int64_t)time(NULL), &cl);
    memset(token, 0, sizeof token);
    if (rc == PROTO_EEXPIRED) {
        ws_close(h, ws, W_TOKEN_EXPIRED, 1008, "token expired");
        return;
    }
    if (rc != 0) {
        PROTO_INFO(NULL, "ws token refused", "ws=%" PRIu64 " err=%s", ws->id,
                   proto_log_str(proto_strerror(rc)));
        ws_close(h, ws, W_TOKEN_INVALID, 1008, "invalid token");
        return;
    }
    ws->expires_s = cl.exp + PROTO_TOKEN_LEEWAY_S;
    if (!h->bridge)
        return; /* shutting down: the socket is being closed anyway */
    struct gw_job *j = gw_job_new(0);
    j->kind = GW_JOB_WS_AUTH;
    j->ws_id = ws->id;
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++) /* routing keys use the lowercase form */
        j->user[i] = (char)(cl.sub[i] >= 'A' && cl.sub[i] <= 'F' ? cl.sub[i] + 32 : cl.sub[i]);
    memcpy(j->jti, cl.jti, sizeof j->jti);
    gw_bridge_submit(h->bridge, j);
    ws->state = WS_AUTHING;
}

void gw_ws_receive(struct gw_ws_hub *h, struct gw_ws *ws, const void *in, size_t len)
{
    struct lws *wsi = ws->wsi;
    if (ws->state == WS_CLOSING)
        return;
    ws->last_rx_ms = proto_mono_ms();
    ws->ping_out = 0;
    if (!ws->in_msg) {
        ws->in_msg = 1;
        ws->msg_len = 0;
    }
    int final = lws_is_final_fragment(wsi);
    if (final)
        ws->in_msg = 0;
    if (lws_frame_is_binary(wsi)) {
        ws_close(h, ws, W_BINARY, 1003, "binary messages are not accepted");
        return;
    }
    /* Counting what the frame header announces refuses a huge frame at its first bytes. */
    if ((size_t)ws->msg_len + len + lws_remaining_packet_payload(wsi) > GW_WS_MSG_MAX) {
        ws_close(h, ws, W_TOO_BIG, 1009, "message too big");
        return;
    }
    ws->msg_len += (uint32_t)len;
    if (ws->state != WS_NEW)
        return; /* after the auth message the channel is push-only: ignored */
    ws->rx = proto_xrealloc(ws->rx, ws->rx_len + len + 1);
    memcpy(ws->rx + ws->rx_len, in, len);
    ws->rx_len += (uint32_t)len;
    if (final)
        auth_message(h, ws);
}

int gw_ws_writeable(struct gw_ws_hub *h, struct gw_ws *ws)
{
    struct lws *wsi = ws->wsi;
    if (ws->state == WS_CLOSING) {
        lws_close_reason(wsi, (enum lws_close_status)ws->close_code,
                         (unsigned char *)ws->close_reason, strlen(ws->close_reason));
        return -1;
    }
    int k = 0;
    if (ws->want_ping) {
        /* Never an empty ping: a peer echoes the payload (RFC 6455 5.5.3), and lws 4.1.6 raises
         * no LWS_CALLBACK_RECEIVE_PONG for an empty pong (ops-ws.c skips to already_done), so
         * browsers' answers to an empty ping went unseen and their sockets were dropped. */
        static const char payload[] = "fintwin";
        unsigned char ping[LWS_PRE + sizeof payload];
        memcpy(ping + LWS_PRE, payload, sizeof payload - 1);
        ws->want_ping = 0;
        if (lws_write(wsi, ping + LWS_PRE, sizeof payload - 1, LWS_WRITE_PING) < 0)
            return -1;
        k++;
    }
    if (ws->send_ready) {
        static const char ready[] = "{\"type\":\"ready\"}";
        unsigned char buf[LWS_PRE + sizeof ready];
        memcpy(buf + LWS_PRE, ready, sizeof ready - 1);
        ws->send_ready = 0;
        if (lws_write(wsi, buf + LWS_PRE, sizeof ready - 1, LWS_WRITE_TEXT) < 0)
            return -1;
        k++;
    }
    /* The first write is what POLLOUT allowed; the next ones only while the kernel takes
     * them whole (a partial write stays in lws's own buffer and chokes the pipe). */
    for (; ws->out && k < WRITE_BURST && !(k > 0 && lws_send_pipe_choked(wsi)); k++) {
        struct gw_ws_out *o = ws->out;
        ws->out = o->next;
        if (!ws->out)
            ws->out_tail = NULL;
        ws->out_count--;
        ws->out_bytes -= o->f->len;
        int n = lws_write(wsi, (unsigned char *)o->f->buf + GW_WS_PRE, o->f->len, LWS_WRITE_TEXT);
        frame_unref(o->f);
        free(o);
        if (n < 0)
            return -1;
        h->frames_sent++;
    }
    if (ws->out)
        lws_callback_on_writable(wsi);
    return 0;
}

void gw_ws_peer_close(struct gw_ws *ws, const void *in, size_t len)
{
    const unsigned char *p = in;
    ws->by_peer = 1;
    if (ws->state != WS_CLOSING)
        ws->close_code = len >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1005;
}

int gw_ws_protocol_error(struct gw_ws_hub *h, struct gw_ws *ws, const char *reason)
{
    ws_close(h, ws, W_PROTOCOL, 1002, reason);
    return gw_ws_writeable(h, ws);
}

void gw_ws_pong(struct gw_ws *ws)
{
    ws->last_rx_ms = proto_mono_ms();
    ws->ping_out = 0;
}

/*
 * Every socket's deadlines, checked in one walk instead of a timer per socket: lws 4.1
 * keeps timers in one sorted list, so arming one per socket (the auth deadline, the token's
 * expiry, lws's own ping policy) cost a walk of that list per socket opened and per pong,
 * and opening 10,000 sockets took 100 s (tests/bench/live.sh). At most 4 walks a second.
 */
void gw_ws_tick(struct gw_ws_hub *h)
{
    int64_t now = proto_mono_ms();
    if (now - h->last_tick_ms < TICK_MS)
        return;
    h->last_tick_ms = now;
    int64_t wall_s = proto_now_ms() / 1000;
    int64_t ping_ms = (int64_t)h->cfg->ws_ping_s * 1000, hangup_ms = ping_ms + PONG_GRACE_MS;
    for (int i = 0; i < h->socks.nslots; i++) {
        struct gw_ws *ws = h->socks.slots[i].ptr;
        if (!ws)
            continue;
        switch (ws->state) {
        case WS_NEW:
        case WS_AUTHING:
            if (now - ws->opened_ms >= h->cfg->ws_auth_timeout_ms)
                ws_close(h, ws, W_AUTH_TIMEOUT, 1008, "auth timeout");
            break;
        case WS_BINDING:
        case WS_READY:
            if (wall_s >= ws->expires_s) {
                ws_close(h, ws, W_TOKEN_EXPIRED, 1008, "token expired");
                break;
            }
            /* Any bytes from the client are a sign of life, an empty pong included (lws
             * reports none for it, see gw_ws_writeable): the edge saw them. */
            int64_t rx = gw_edge_last_rx_ms(ws->wsi);
            if (rx > ws->last_rx_ms) {
                ws->last_rx_ms = rx;
                ws->ping_out = 0;
            }
            if (now - ws->last_rx_ms >= hangup_ms) {
                /* no pong: the peer is gone; drop the connection without a close frame */
                lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            } else if (now - ws->last_rx_ms >= ping_ms && !ws->ping_out) {
                ws->ping_out = 1;
                ws->want_ping = 1;
                lws_callback_on_writable(ws->wsi);
            }
            break;
        default:
            break;
        }
    }
}

void gw_ws_closed(struct gw_ws_hub *h, struct gw_ws *ws)
{
    if (!ws->id)
        return;
    double secs = (double)(proto_mono_ms() - ws->opened_ms) / 1000.0;
    const char *user = ws->user ? ws->user->id : "-";
    if (ws->state == WS_CLOSING) {
        PROTO_INFO(NULL, "ws closed",
                   "ws=%" PRIu64 " user=%s by=server code=%u reason=%s secs=%.1f", ws->id, user,
                   (unsigned)ws->close_code, proto_log_str(ws->close_reason), secs);
    } else if (ws->by_peer) {
        h->closed[W_CLIENT]++;
        PROTO_INFO(NULL, "ws closed", "ws=%" PRIu64 " user=%s by=client code=%u secs=%.1f", ws->id,
                   user, (unsigned)ws->close_code, secs);
    } else { /* lws ended it: a protocol error, no pong in time, or the connection broke */
        h->closed[W_LOST]++;
        PROTO_INFO(NULL, "ws closed", "ws=%" PRIu64 " user=%s by=lws secs=%.1f", ws->id, user,
                   secs);
    }
    if (ws->user)
        user_unlink(h, ws);
    out_clear(ws);
    free(ws->rx);
    ws->rx = NULL;
    free(ws->close_reason);
    ws->close_reason = NULL;
    gw_registry_remove(&h->socks, ws->id);
    ws->id = 0;
    h->open--;
}

/* ---- answers from the bridge ---- */

static void auth_result(struct gw_ws_hub *h, const struct gw_result *r)
{
    struct gw_ws *ws = gw_registry_get(&h->socks, r->ws_id);
    if (!ws || ws->state != WS_AUTHING)
        return; /* closed meanwhile (auth timeout, client gone) */
    if (r->status == GW_WS_REVOKED) {
        ws_close(h, ws, W_TOKEN_REVOKED, 1008, "token revoked");
        return;
    }
    if (r->status != 0) {
        ws_close(h, ws, W_AUTH_DOWN, 1011, "auth unavailable");
        return;
    }
    if (ws->expires_s * 1000 <= proto_now_ms()) {
        ws_close(h, ws, W_TOKEN_EXPIRED, 1008, "token expired");
        return;
    }
    struct gw_ws_user *u = user_find(h, r->user);
    if (!u) {
        u = user_add(h, r->user);
        user_bind(h, u);
    }
    user_link(h, u, ws);
    if (u->bound)
        make_ready(ws);
    else
        ws->state = WS_BINDING;
}

static void bound_result(struct gw_ws_hub *h, const struct gw_result *r)
{
    struct gw_ws_user *u = user_find(h, r->user);
    if (!u || u->bind_seq != r->bind_seq)
        return; /* an older binding's answer: the newer one counts */
    u->bound = 1;
    for (struct gw_ws *ws = u->socks; ws; ws = ws->unext)
        if (ws->state == WS_BINDING)
            make_ready(ws);
}

/* Returns 0 when the frame must wait for the next round (see SLICE_PER_USER), else 1. */
static int live_result(struct gw_ws_hub *h, struct gw_result *r)
{
    struct gw_ws_user *u = user_find(h, r->user);
    if (!u) {
        h->frames_unrouted++; /* the user's last socket closed meanwhile */
        return 1;
    }
    if (r->close_code) {
        for (struct gw_ws *ws = u->socks; ws; ws = ws->unext)
            ws_close(h, ws, W_ORDER, r->close_code, r->close_reason);
        return 1;
    }
    if (r->body.len <= GW_WS_PRE)
        return 1;
    if (u->slice_gen != h->slice_gen) {
        u->slice_gen = h->slice_gen;
        u->slice_n = 0;
    }
    if (u->slice_n == SLICE_PER_USER)
        return 0;
    u->slice_n++;
    struct ws_frame *f = NULL;
    for (struct gw_ws *ws = u->socks; ws; ws = ws->unext) {
        if (ws->state != WS_READY)
            continue;
        if (!f) { /* take the body as the shared frame, without copying it */
            f = proto_xmalloc(sizeof *f);
            f->refs = 1; /* ours, until every socket had its chance */
            f->len = (uint32_t)(r->body.len - GW_WS_PRE);
            f->buf = r->body.data;
            r->body.data = NULL;
            r->body.len = r->body.cap = 0;
        }
        enqueue(h, ws, f);
    }
    if (f)
        frame_unref(f);
    else
        h->frames_unrouted++;
    return 1;
}

/* The bridge has a new live queue: every user here needs its binding again. */
static void rebind_all(struct gw_ws_hub *h)
{
    for (size_t i = 0; i < h->nbuckets; i++)
        for (struct gw_ws_user *u = h->buckets[i]; u; u = u->hnext)
            user_bind(h, u);
}

void gw_ws_round(struct gw_ws_hub *h)
{
    if (h)
        h->slice_gen++;
}

int gw_ws_result(struct gw_ws_hub *h, struct gw_result *r)
{
    switch (r->kind) {
    case GW_RES_WS_AUTH:
        auth_result(h, r);
        break;
    case GW_RES_LIVE_BOUND:
        bound_result(h, r);
        break;
    case GW_RES_LIVE:
        return live_result(h, r);
    case GW_RES_LIVE_RESET:
        rebind_all(h);
        break;
    default:
        break;
    }
    return 1;
}

void gw_ws_shutdown(struct gw_ws_hub *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->socks.nslots; i++)
        if (h->socks.slots[i].ptr)
            ws_close(h, h->socks.slots[i].ptr, W_SHUTDOWN, 1001, "going away");
}

void gw_ws_metrics(const struct gw_ws_hub *h, struct proto_buf *b)
{
    if (!h)
        return;
    proto_buf_printf(
        b,
        "# HELP fintwin_gateway_ws_sockets WebSockets open on " GW_WS_PATH ".\n"
        "# TYPE fintwin_gateway_ws_sockets gauge\n"
        "fintwin_gateway_ws_sockets %zu\n"
        "# HELP fintwin_gateway_ws_authenticated WebSockets whose token was accepted.\n"
        "# TYPE fintwin_gateway_ws_authenticated gauge\n"
        "fintwin_gateway_ws_authenticated %zu\n"
        "# HELP fintwin_gateway_ws_bound_users Users with a binding on this gateway's live "
        "queue.\n"
        "# TYPE fintwin_gateway_ws_bound_users gauge\n"
        "fintwin_gateway_ws_bound_users %zu\n"
        "# HELP fintwin_gateway_ws_frames_sent_total Live frames written to WebSockets.\n"
        "# TYPE fintwin_gateway_ws_frames_sent_total counter\n"
        "fintwin_gateway_ws_frames_sent_total %" PRIu64 "\n"
        "# HELP fintwin_gateway_ws_frames_dropped_total Live frames not delivered: no ready "
        "socket, or invalid (too large, not text).\n"
        "# TYPE fintwin_gateway_ws_frames_dropped_total counter\n"
        "fintwin_gateway_ws_frames_dropped_total{reason=\"no_socket\"} %" PRIu64 "\n"
        "fintwin_gateway_ws_frames_dropped_total{reason=\"invalid\"} %" PRIu64 "\n"
        "# HELP fintwin_gateway_ws_closed_total WebSockets closed, by reason.\n"
        "# TYPE fintwin_gateway_ws_closed_total counter\n",
        h->open, h->authed, h->nusers, h->frames_sent, h->frames_unrouted,
        h->bridge ? gw_bridge_live_dropped(h->bridge) : 0);
    for (int w = 0; w < W_COUNT; w++)
        proto_buf_printf(b, "fintwin_gateway_ws_closed_total{reason=\"%s\"} %" PRIu64 "\n",
                         why_names[w], h->closed[w]);
}
