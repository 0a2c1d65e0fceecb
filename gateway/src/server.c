/*
 * The lws side of the gateway: the lws context and its setup, the thin callbacks, RPC
 * submission and the reply drain. A request's head and body are read in intake.c, the local
 * rows are answered in local.c; replies come back through bridge.c and pending.c, several at
 * once through fanout.c; connections are named by id (registry.c); counters live in
 * metrics.c. See server.h, and server_internal.h for what intake.c and local.c share.
 */
#include "server.h"
#include "server_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <ev.h>
#include <libwebsockets.h>

#include "bridge.h"
#include "edge.h"
#include "fanout.h"
#include "http.h"
#include "intake.h"
#include "metrics.h"
#include "pending.h"
#include "registry.h"
#include "ws.h"

#include "proto/envelope.h"
#include "proto/log.h"
#include "proto/status.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define SWEEP_US (50 * LWS_US_PER_MS)
/* Seconds past its RPC deadline that a waiting connection is left open (see wait_reply). */
#define REPLY_GRACE_S 5

/* ---- connections (lws thread) ---- */

void gw_server_set_state(struct gw_server *s, struct gw_conn *c, enum gw_conn_state st)
{
    s->active += (st != GW_CONN_IDLE) - (c->state != GW_CONN_IDLE);
    c->state = st;
}

static void conn_release(struct gw_server *s, struct gw_conn *c)
{
    if (!c || !c->id)
        return;
    gw_registry_remove(&s->conns, c->id);
    c->id = 0;
    gw_server_set_state(s, c, GW_CONN_IDLE);
    gw_http_free(c);
}

/* ---- responses ---- */

void gw_server_respond_error(struct gw_server *s, struct lws *wsi, struct gw_conn *c, int status,
                             const char *code, const char *detail)
{
    gw_server_set_state(s, c, GW_CONN_RESPOND);
    gw_http_error(wsi, c, status, code, detail);
}

void gw_server_respond_unavailable(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                                   const char *code, const char *detail)
{
    gw_http_header(c, "Retry-After", "1");
    gw_server_respond_error(s, wsi, c, 503, code, detail);
}

static void finish_log(struct gw_server *s, struct gw_conn *c)
{
    gw_metrics_response(&s->m, c->status);
    double ms = (double)(proto_mono_us() - c->t0_us) / 1000.0;
    PROTO_INFO(c->req_id, "request", "method=%s path=%s status=%d ms=%.2f",
               gw_method_name(c->method), proto_log_str(c->path), c->status, ms);
}

/* ---- replies (lws thread) ---- */

/* Files part `part` of c's fan-out; once every part is in, its completion answers. */
static void part_done(struct gw_server *s, struct lws *wsi, struct gw_conn *c, int part, int status,
                      double ms, struct proto_buf *body)
{
    if (gw_fanout_put(c->fan, part, status, ms, body))
        c->fan->done(s, wsi, c);
}

/* The connection still waiting for pending entry p, or NULL (closed, or moved on). */
static struct gw_conn *pending_conn(struct gw_server *s, const struct gw_pending *p,
                                    struct lws **wsi)
{
    *wsi = gw_registry_get(&s->conns, p->conn_id);
    if (!*wsi)
        return NULL;
    struct gw_conn *c = lws_wsi_user(*wsi);
    if (!c || c->seq != p->conn_seq || c->state != GW_CONN_WAIT)
        return NULL;
    return c;
}

static void fail_pending(struct gw_server *s, struct gw_pending *p, int status, const char *code,
                         const char *detail)
{
    struct lws *wsi;
    struct gw_conn *c = pending_conn(s, p, &wsi);
    if (!c)
        return;
    if (p->part >= 0) {
        part_done(s, wsi, c, p->part, status, (double)(proto_mono_us() - p->start_us) / 1000.0,
                  NULL);
    } else if (status == 503) {
        gw_server_respond_unavailable(s, wsi, c, code, detail);
    } else {
        gw_server_respond_error(s, wsi, c, status, code, detail);
    }
}

static void deliver(struct gw_server *s, struct gw_pending *p, struct gw_result *r)
{
    struct lws *wsi;
    struct gw_conn *c = pending_conn(s, p, &wsi);
    double ms = (double)(proto_mono_us() - p->start_us) / 1000.0;
    if (!r->local) /* a denylist answer from the bridge never went through the broker */
        gw_metrics_rpc(&s->m, ms / 1000.0);
    if (!c)
        return; /* a late reply for a connection that is gone or moved on */
    if (p->part >= 0) {
        part_done(s, wsi, c, p->part, r->status, ms, &r->body);
        return;
    }
    struct proto_buf tmp = c->resp; /* take the body without copying it */
    c->resp = r->body;
    r->body = tmp;
    if (r->status == 204 || r->status == 304)
        proto_buf_reset(&c->resp); /* these statuses never carry a body */
    for (int i = 0; i < r->nheaders; i++)
        gw_http_header(c, r->hname[i], r->hvalue[i]);
    gw_server_set_state(s, c, GW_CONN_RESPOND);
    gw_http_respond(wsi, c, r->status, c->resp.len ? "application/json" : NULL);
}

static void drain_more_cb(lws_sorted_usec_list_t *sul);

/*
 * Handles every result the bridge queued (LWS_CALLBACK_EVENT_WAIT_CANCELLED), in order.
 * Live frames beyond a user's share of one round stay, with everything after them, for
 * the next service loop iteration, so sockets write between rounds (see ws.c).
 */
static void drain_results(struct gw_server *s)
{
    if (!s->bridge)
        return;
    atomic_store(&s->wake_pending, 0); /* before taking: a later batch wakes us again */
    struct gw_result *fresh = gw_bridge_take_results(s->bridge), **tail = &s->backlog;
    while (*tail)
        tail = &(*tail)->next;
    *tail = fresh;
    gw_ws_round(s->hub);
    struct gw_result *r;
    while ((r = s->backlog)) {
        if (r->kind == GW_RES_BROKER_LOST) {
            struct gw_pending *p;
            while ((p = gw_pending_take_upto(s->pending, r->seq))) {
                fail_pending(s, p, 503, "broker_unavailable",
                             "the message broker connection was lost");
                free(p);
            }
        } else if (r->kind == GW_RES_REPLY) {
            struct gw_pending *p = gw_pending_take(s->pending, r->corr);
            if (p) {
                deliver(s, p, r);
                free(p);
            }
        } else if (!gw_ws_result(s->hub, r)) {
            lws_sul_schedule(s->ctx, 0, &s->drain_more, drain_more_cb, 1);
            return;
        }
        s->backlog = r->next;
        gw_result_free(r);
    }
}

static void drain_more_cb(lws_sorted_usec_list_t *sul)
{
    drain_results(lws_container_of(sul, struct gw_server, drain_more));
}

static void sweep_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *s = lws_container_of(sul, struct gw_server, sweep);
    int64_t now = proto_mono_us();
    struct gw_pending *p;
    while ((p = gw_pending_take_expired(s->pending, now))) {
        gw_metrics_timeout(&s->m);
        fail_pending(s, p, 504, "upstream_timeout", "the service did not answer in time");
        free(p);
    }
    gw_ws_tick(s->hub);
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep_cb, SWEEP_US);
}

/* ---- RPC submission ---- */

static int worker_index(const char *name)
{
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        if (strcmp(proto_worker_names[w], name) == 0)
            return w;
    return -1;
}

/*
 * Encodes and queues one RPC: c's request (part -1), or part `part` of c's fan-out, sent
 * without c's user. Returns 0, or an HTTP status (503/500) the caller answers, described by
 * code and detail.
 */
static int submit_rpc(struct gw_server *s, struct gw_conn *c, int worker, const char *method,
                      const char *args, size_t args_len, int part, const char **code,
                      const char **detail)
{
    if (!gw_bridge_connected(s->bridge)) {
        *code = "broker_unavailable";
        *detail = "the message broker is unavailable";
        return 503;
    }
    if (gw_bridge_consumers(s->bridge, worker) == 0) {
        *code = "worker_unavailable";
        *detail = "no worker is serving this request";
        return 503;
    }
    if (gw_pending_count(s->pending) >= (size_t)s->cfg->max_inflight) {
        *code = "overloaded";
        *detail = "too many requests in flight";
        return 503;
    }
    /* Client ids are not unique: the correlation id is the request id only when free. */
    char corr[PROTO_ID_MAX + 1];
    struct gw_pending *p = part < 0 ? gw_pending_add(s->pending, c->req_id) : NULL;
    if (p) {
        strcpy(corr, c->req_id);
    } else {
        if (proto_uuid_v4(corr) != 0 || !(p = gw_pending_add(s->pending, corr))) {
            *code = "internal";
            *detail = "could not allocate a request id";
            return 500;
        }
    }
    struct proto_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.id, sizeof req.id, "%s", c->req_id);
    snprintf(req.method, sizeof req.method, "%s", method);
    snprintf(req.idem, sizeof req.idem, "%s", c->idem);
    /* The user comes only from a token verified in authenticate() (intake.c), never from the
     * request. */
    if (part < 0)
        snprintf(req.user, sizeof req.user, "%s", c->user);
    req.deadline_ms = proto_now_ms() + s->cfg->rpc_timeout_ms;
    msgpack_sbuffer_clear(&s->env);
    int rc = proto_request_encode(&s->env, &req, args, args_len);
    if (rc != 0) {
        free(gw_pending_take(s->pending, corr));
        PROTO_WARN(c->req_id, "request encode failed", "err=%s", proto_log_str(proto_strerror(rc)));
        *code = "invalid_request";
        *detail = "the request could not be encoded";
        return 400;
    }
    struct gw_job *j = gw_job_new(s->env.size);
    memcpy(j->data, s->env.data, s->env.size);
    strcpy(j->corr, corr);
    if (part < 0 && c->user[0])
        strcpy(j->jti, c->jti);
    j->worker = worker;
    j->seq = ++s->submit_seq;
    j->deadline_ms = req.deadline_ms;
    p->conn_id = c->id;
    p->conn_seq = c->seq;
    p->part = part;
    p->seq = j->seq;
    p->start_us = proto_mono_us();
    p->deadline_us = p->start_us + (int64_t)s->cfg->rpc_timeout_ms * 1000;
    gw_bridge_submit(s->bridge, j);
    return 0;
}

/*
 * The one way into GW_CONN_WAIT: c waits for its RPCs. lws arms PENDING_TIMEOUT_HTTP_CONTENT
 * with the context's timeout_secs (5 s) when a request's head arrives and closes the
 * connection, with no response, when it runs out. That is meant for a client that is slow to
 * send; a request waiting for a worker is answered by sweep_cb at its deadline
 * (RPC_TIMEOUT_MS, 504), so the lws timer is moved past that deadline. Without this, every
 * bodyless request to a hung worker under the default 5000 ms deadline lost its connection
 * just before its 504. (lws clears the timer once a body is complete; there this is only a
 * backstop.) lws_http_transaction_completed clears it after the response.
 */
static void wait_reply(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    gw_server_set_state(s, c, GW_CONN_WAIT);
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                    (s->cfg->rpc_timeout_ms + 999) / 1000 + REPLY_GRACE_S);
}

/* (server_internal.h) A part that cannot be sent is in at once with submit_rpc's status. */
void gw_server_start_fanout(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                            const char *method, const int *workers, int n, gw_local_fn *done)
{
    static const char empty_map = (char)0x80; /* msgpack: an empty fixmap */
    assert(!c->fan); /* gw_http_reset freed the last request's */
    c->fan = gw_fanout_new(n, done);
    wait_reply(s, wsi, c);
    for (int i = 0; i < n && c->state == GW_CONN_WAIT; i++) {
        const char *code, *detail;
        int st = submit_rpc(s, c, workers[i], method, &empty_map, 1, i, &code, &detail);
        if (st)
            part_done(s, wsi, c, i, st, 0, NULL);
    }
}

void gw_server_submit_request(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    const char *code, *detail;
    int st = submit_rpc(s, c, worker_index(c->route->worker), c->route->rpc_method, c->args.data,
                        c->args.size, -1, &code, &detail);
    if (st == 503)
        gw_server_respond_unavailable(s, wsi, c, code, detail);
    else if (st)
        gw_server_respond_error(s, wsi, c, st, code, detail);
    else
        wait_reply(s, wsi, c);
}

/* ---- lws callbacks ---- */

static int on_writeable(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    if (!c)
        return 0;
    if (c->state != GW_CONN_RESPOND) {
        gw_edge_http_writeable(wsi); /* a refusal the edge holds back (edge.h) */
        return 0;
    }
    int rc = gw_http_write(wsi, c);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    finish_log(s, c);
    gw_server_set_state(s, c, GW_CONN_IDLE);
    gw_edge_http_done(wsi);
    if (c->resp.cap > (256u << 10)) /* a static file: do not keep it per idle connection */
        proto_buf_free(&c->resp);
    if (c->close_after || s->draining)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: a WebSocket upgrade is allowed on GET /api/ws only
 * (and not while shutting down); any other path is answered 404 and hung up, so no
 * other URL of this vhost can become a socket. Returns 0 to let lws go on, -1 to hang up.
 * The edge (edge.c) answers those refusals first, in JSON; this check stays for connections
 * it does not cover (descriptors beyond its table), as does start_api's chunked-body 411.
 */
static int confirm_upgrade(struct gw_server *s, struct lws *wsi, const char *up)
{
    if (!up || strcasecmp(up, "websocket") != 0)
        return 0; /* h2c: lws's own business, as before */
    char uri[sizeof GW_WS_PATH];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
    int ok = n == (int)strlen(GW_WS_PATH) &&
             lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) == n &&
             strcmp(uri, GW_WS_PATH) == 0;
    if (ok && !s->draining && s->hub)
        return 0;
    lws_return_http_status(wsi, ok ? HTTP_STATUS_SERVICE_UNAVAILABLE : HTTP_STATUS_NOT_FOUND, NULL);
    return -1;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct gw_server *s = ctx ? lws_context_user(ctx) : NULL;
    struct gw_conn *c = user;
    if (!s)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        if (s->stop || s->draining || !s->lws_ready)
            return 1; /* stop accepting while shutting down (or not started) */
        /* lws 4.1.6 passes its lws_filter_network_conn_args as `user`, the descriptor as `in` */
        const struct lws_filter_network_conn_args *fa = user;
        gw_edge_accept((int)(intptr_t)in, fa ? (const struct sockaddr *)&fa->cli_addr : NULL);
        return 0;
    }
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(s, wsi, in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* Sec-WebSocket-Protocol named this HTTP protocol: no WebSocket here */
    case LWS_CALLBACK_HTTP:
        return gw_intake_http(s, wsi, c, in);
    case LWS_CALLBACK_HTTP_BODY:
        if (c)
            gw_intake_body(s, c, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c)
            gw_intake_body_done(s, wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(s, wsi, c);
    case LWS_CALLBACK_CLOSED_HTTP:
        gw_edge_http_closed(wsi);
        conn_release(s, c);
        break;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        conn_release(s, c);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_results(s);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* The "fintwin-ws" protocol: one struct gw_ws per socket; see ws.h. */
static int callback_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct gw_server *s = ctx ? lws_context_user(ctx) : NULL;
    struct gw_ws *ws = user;
    if (!s)
        return 0;
    /* A new connection starts on the vhost's default protocol (this one) until its first
     * HTTP request binds protocols[0]: an upgrade on a fresh connection asks here. */
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
        return confirm_upgrade(s, wsi, in);
    if (reason == LWS_CALLBACK_PROTOCOL_INIT) {
        s->lws_ready = 1;
        return 0;
    }
    if (!s->hub || !ws)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        gw_edge_websocket(wsi);
        gw_ws_established(s->hub, wsi, ws);
        break;
    case LWS_CALLBACK_RECEIVE:
        gw_ws_receive(s->hub, ws, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (gw_edge_unmasked(wsi)) /* RFC 6455 5.1; the edge asked for this callback */
            return gw_ws_protocol_error(s->hub, ws, "client frames must be masked");
        return gw_ws_writeable(s->hub, ws);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        gw_ws_peer_close(ws, in, len);
        break;
    case LWS_CALLBACK_RECEIVE_PONG:
        gw_ws_pong(ws);
        break;
    case LWS_CALLBACK_CLOSED:
        gw_ws_closed(s->hub, ws);
        break;
    default:
        break;
    }
    return 0;
}

/*
 * protocols[0] serves HTTP: lws binds it for every HTTP request that matches no mount.
 * A WebSocket upgrade without Sec-WebSocket-Protocol gets the vhost's default protocol,
 * which would be protocols[0]: the "default" option below makes it "fintwin-ws" instead
 * (lws 4.1 also starts each accepted connection on it), and callback_http refuses a
 * socket that names "fintwin-http". Either callback may be asked to confirm an upgrade.
 */
static const struct lws_protocols protocols[] = {
    {"fintwin-http", callback_http, sizeof(struct gw_conn), 0, 0, NULL, 0},
    {"fintwin-ws", callback_ws, sizeof(struct gw_ws), GW_WS_RX_BUFFER, 0, NULL,
     GW_LIVE_FRAME_MAX + 16},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default, "fintwin-ws", ""};
static const uint32_t ws_retry_ms[] = {1000};

/* ---- setup and shutdown ---- */

/*
 * lws's own log lines. Those a client can cause at will are its mistake, not the server's:
 * info (the edge answers those heads before lws parses them; this is the net behind it).
 * At most 20 lines a second reach the log, so no client can flood it.
 */
static void lws_log_emit(int level, const char *line)
{
    static const char *const by_client[] = {"Ran out of header data space", "More hdr frags",
                                            "b63 of length must be zero", "lws_parse failed"};
    static struct proto_log_budget budget;
    uint64_t dropped;
    if (!proto_log_budget_take(&budget, 20, &dropped))
        return;
    char text[512];
    snprintf(text, sizeof text, "%s", line);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    enum proto_log_level lv = level & LLL_ERR ? PROTO_LOG_ERROR : PROTO_LOG_WARN;
    for (size_t i = 0; i < sizeof by_client / sizeof by_client[0]; i++)
        if (strstr(text, by_client[i]))
            lv = PROTO_LOG_INFO;
    proto_log(lv, NULL, "lws", "detail=%s dropped=%" PRIu64, proto_log_str(text), dropped);
}

/*
 * On the bridge thread, after each batch of results. Until the lws thread takes them, one
 * wakeup is enough: each lws_cancel_service is a write and a wakeup of the lws thread, and the
 * bridge flushes a batch per loop turn, often several before the lws thread drains them.
 */
static void wake_lws(void *arg)
{
    struct gw_server *s = arg;
    if (!atomic_exchange(&s->wake_pending, 1))
        lws_cancel_service(s->ctx);
}

struct gw_server *gw_server_new(const struct gw_config *cfg)
{
    struct gw_server *s = proto_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->keys.secret = cfg->jwt_secret;
    s->keys.secret_len = cfg->jwt_secret_len;
    s->keys.issuer = cfg->jwt_issuer;
    s->keys.audience = cfg->jwt_audience;
    gw_registry_init(&s->conns);
    atomic_init(&s->wake_pending, 0);
    s->routes = gw_routes(&s->nroutes);
    s->pending = gw_pending_new((size_t)cfg->max_inflight * 2);
    msgpack_sbuffer_init(&s->env);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->bind;
    /* lws 4.1 with IPv6 on copies an IPv4 literal into the wrong part of its IPv6 address and
     * listens on [::], every address (GW_BIND=127.0.0.1 answered on all interfaces). An IPv4
     * address is bound as IPv4. */
    struct in_addr v4;
    if (inet_pton(AF_INET, cfg->bind, &v4) == 1)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.protocols = protocols;
    info.user = s;
    /* The edge (edge.c) refuses a head over cfg->max_header bytes before lws sees it; lws
     * stores a passed head in less than its size plus a few bytes per unknown header line,
     * and reads a whole head at once into its per-thread buffer (edge.h). */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur > (1u << 20))
        nofile.rlim_cur = 1u << 20;
    if (gw_edge_init((int)nofile.rlim_cur, (size_t)cfg->max_header) != 0) {
        PROTO_ERROR(NULL, "cannot allocate the connection table", NULL);
        goto fail;
    }
    info.max_http_header_data = (unsigned short)(cfg->max_header + 1024);
    info.pt_serv_buf_size = (unsigned)cfg->max_header + LWS_PRE + 4096;
    info.count_threads = 1;
    /* libev (epoll) instead of lws's default poll(): poll() costs O(open sockets) per
     * service loop, which at 10,000 WebSockets dominated the gateway's CPU (perf) and made
     * each new socket cost milliseconds. The loop is ours (a foreign loop to lws) so that
     * gw_server_run can turn it once at a time with EVRUN_ONCE and check for a stop request;
     * lws_service() would run it until it is empty. The plugin comes with libwebsockets. */
    s->loop = ev_loop_new(EVFLAG_AUTO);
    if (!s->loop) {
        PROTO_ERROR(NULL, "cannot create the event loop", NULL);
        goto fail;
    }
    void *foreign_loops[1] = {s->loop};
    info.foreign_loops = foreign_loops;
    info.options |= LWS_SERVER_OPTION_LIBEV;
    /* fd_limit_per_thread 0: lws sizes its tables from RLIMIT_NOFILE, which main raised. */
    info.pvo = &ws_pvo;
    /* lws's own validity checks off (hangup 0): they arm a timer per connection in one
     * sorted list, O(connections) per insert; ws.c pings from one periodic walk instead. */
    s->ws_policy.retry_ms_table = ws_retry_ms;
    s->ws_policy.retry_ms_table_count = 1;
    s->ws_policy.secs_since_valid_ping = 0;
    s->ws_policy.secs_since_valid_hangup = 0;
    info.retry_and_idle_policy = &s->ws_policy;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        PROTO_ERROR(NULL, "cannot listen", "bind=%s port=%d", cfg->bind, cfg->port);
        goto fail;
    }
    struct gw_bridge_cfg bc = {cfg->amqp_url, cfg->redis_url, wake_lws, s};
    s->bridge = gw_bridge_start(&bc);
    if (!s->bridge)
        goto fail;
    s->hub = gw_ws_hub_new(cfg, &s->keys, s->bridge);
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep_cb, SWEEP_US);
    /* lws 4.1.6 initialises its protocols - and with them the vhost's default protocol, which
     * an upgrade without Sec-WebSocket-Protocol is bound to - from a timer on the loop's first
     * turns (context.c, sul_system_state). An upgrade accepted before that was bound to the
     * HTTP protocol and refused ("User code denied connection"), which a test saw under load.
     * Connections are refused until then, and here the loop turns until it has happened. */
    for (int i = 0; i < 100 && !s->lws_ready; i++)
        ev_run(s->loop, EVRUN_ONCE);
    if (!s->lws_ready) {
        PROTO_ERROR(NULL, "libwebsockets did not initialise its protocols", NULL);
        goto fail;
    }
    PROTO_INFO(NULL, "listening", "bind=%s port=%d timeout_ms=%d", cfg->bind, cfg->port,
               cfg->rpc_timeout_ms);
    return s;
fail:
    gw_server_free(s);
    return NULL;
}

void gw_server_request_stop(struct gw_server *s)
{
    s->stop = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

int gw_server_run(struct gw_server *s)
{
    while (!s->stop)
        ev_run(s->loop, EVRUN_ONCE);
    s->draining = 1;
    PROTO_INFO(NULL, "shutting down", "in_flight=%zu active=%d websockets=%zu",
               gw_pending_count(s->pending), s->active, gw_ws_count(s->hub));
    gw_edge_set_draining(1);
    gw_ws_shutdown(s->hub);
    int64_t now = proto_mono_us(), end = now + ((int64_t)s->cfg->rpc_timeout_ms + 1000) * 1000;
    int64_t ws_end = now + 2000 * 1000; /* close handshakes get 2 s */
    while ((s->active > 0 && proto_mono_us() < end) ||
           (gw_ws_count(s->hub) > 0 && proto_mono_us() < ws_end))
        ev_run(s->loop, EVRUN_ONCE);
    return 0;
}

void gw_server_free(struct gw_server *s)
{
    if (!s)
        return;
    gw_ws_hub_detach(s->hub);
    gw_bridge_stop(s->bridge);
    s->bridge = NULL;
    if (s->ctx) {
        lws_sul_cancel(&s->sweep);
        lws_sul_cancel(&s->drain_more);
        lws_context_destroy(s->ctx);
    }
    if (s->loop)
        ev_loop_destroy(s->loop);
    gw_edge_free();
    gw_ws_hub_free(s->hub);
    while (s->backlog) {
        struct gw_result *next = s->backlog->next;
        gw_result_free(s->backlog);
        s->backlog = next;
    }
    gw_pending_free(s->pending);
    msgpack_sbuffer_destroy(&s->env);
    gw_registry_free(&s->conns);
    free(s);
}
