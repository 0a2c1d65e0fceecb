/* The bytes between client sockets and libwebsockets; see edge.h. */
#include "edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "head.h"
#include "http.h"
#include "ws.h"

#include "proto/envelope.h"
#include "proto/log.h"
#include "proto/uuid.h"

enum edge_mode {
    E_HEAD,  /* collecting a request head */
    E_BODY,  /* passing `left` body bytes */
    E_WS,    /* passing WebSocket frames */
    E_DRAIN, /* refused (HTTP answered, or an unmasked frame): reading and dropping */
};

struct edge_conn {
    uint8_t mode;
    uint8_t unmasked;        /* E_DRAIN after a WebSocket frame without a mask */
    uint8_t fh_len, fh_need; /* E_WS: frame header bytes collected / needed (0: at a frame start) */
    uint8_t fh[14];
    uint64_t left; /* E_BODY: body bytes to come; E_WS: payload bytes of the current frame */
    size_t held;   /* E_HEAD: bytes of the head kept in `head` (a head spanning reads) */
    size_t seen;   /* E_HEAD: bytes gw_head_end has looked at */
    char *head;    /* malloc'ed, `held` bytes, while held > 0 */
    uint32_t busy; /* heads handed to lws whose response is not written yet */
    struct gw_head deferred; /* a refusal waiting for those responses (status 0: none) */
    struct lws *http_wsi;    /* while `retry` is scheduled */
    lws_sorted_usec_list_t retry;
    struct lws *wsi; /* E_WS, from gw_edge_websocket */
    int64_t last_rx_ms;
    char peer[INET6_ADDRSTRLEN];
};

static struct {
    struct edge_conn **tab; /* by descriptor */
    int n;
    pthread_t thread;
    int on, draining;
    size_t head_max;
    uint64_t refused[600];              /* by status */
    struct proto_log_budget log_budget; /* refusals logged per second */
} E;

#define LOG_PER_SECOND 10
#define DRAIN_READS    16 /* reads of 4 KB per wake-up while draining */

int gw_edge_init(int max_fds, size_t head_max)
{
    if (max_fds <= 0)
        return -1;
    E.tab = calloc((size_t)max_fds, sizeof *E.tab);
    if (!E.tab)
        return -1;
    E.n = max_fds;
    E.head_max = head_max;
    E.thread = pthread_self();
    E.on = 1;
    return 0;
}

void gw_edge_free(void)
{
    E.on = 0;
    for (int i = 0; i < E.n; i++)
        if (E.tab[i]) {
            free(E.tab[i]->head);
            free(E.tab[i]);
        }
    free(E.tab);
    E.tab = NULL;
    E.n = 0;
}

static void reset(struct edge_conn *c)
{
    lws_sul_cancel(&c->retry); /* (gw_edge_http_closed did already) */
    free(c->head);
    memset(c, 0, sizeof *c);
}

/* Entries live as long as the process, reset for each connection on their descriptor. */
void gw_edge_accept(int fd, const struct sockaddr *peer)
{
    if (!E.on || fd < 0 || fd >= E.n)
        return; /* unfiltered: lws alone, as before (never with main's raised limit) */
    struct edge_conn *c = E.tab[fd];
    if (!c)
        c = E.tab[fd] = proto_xcalloc(1, sizeof *c);
    reset(c);
    if (peer && peer->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer, sizeof c->peer);
    else if (peer && peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer,
                  sizeof c->peer);
}

static struct edge_conn *conn_of(struct lws *wsi)
{
    int fd = (int)lws_get_socket_fd(wsi);
    return E.on && fd >= 0 && fd < E.n ? E.tab[fd] : NULL;
}

const char *gw_edge_peer(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    return c && c->peer[0] ? c->peer : NULL;
}

void gw_edge_websocket(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    if (c && (c->mode == E_WS || c->unmasked)) {
        c->wsi = wsi;
        if (!c->last_rx_ms)
            c->last_rx_ms = proto_mono_ms();
        if (c->unmasked) /* frames that came with the handshake */
            lws_callback_on_writable(wsi);
    }
}

int gw_edge_unmasked(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    return c && c->unmasked;
}

int64_t gw_edge_last_rx_ms(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    return c && (c->mode == E_WS || c->unmasked) ? c->last_rx_ms : 0;
}

void gw_edge_set_draining(int on)
{
    E.draining = on;
}

void gw_edge_metrics(struct proto_buf *b)
{
    proto_buf_puts(b, "# HELP fintwin_gateway_edge_refused_total Request heads answered by the "
                      "edge before lws parsed them, by status.\n"
                      "# TYPE fintwin_gateway_edge_refused_total counter\n");
    int any = 0;
    for (int st = 0; st < 600; st++)
        if (E.refused[st]) {
            proto_buf_printf(b, "fintwin_gateway_edge_refused_total{status=\"%d\"} %" PRIu64 "\n",
                             st, E.refused[st]);
            any = 1;
        }
    if (!any)
        proto_buf_puts(b, "fintwin_gateway_edge_refused_total{status=\"400\"} 0\n");
}

/* A client's mistake is not the server's: info, at most LOG_PER_SECOND lines a second. */
static void log_refusal(const struct edge_conn *c, const char *req_id, const struct gw_head *h)
{
    uint64_t unlogged;
    if (!proto_log_budget_take(&E.log_budget, LOG_PER_SECOND, &unlogged))
        return;
    PROTO_INFO(req_id, "request refused", "peer=%s method=%s status=%d code=%s unlogged=%" PRIu64,
               c->peer[0] ? c->peer : "-", proto_log_str(h->method), h->status, h->code, unlogged);
}

/* Answers a refused head, ends our side and drains theirs (edge.h: lingering close). */
static void refuse(struct edge_conn *c, int fd, const struct gw_head *h)
{
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        snprintf(id, sizeof id, "edge-%d", fd);
    struct proto_buf body = {0}, out = {0};
    gw_http_error_body(&body, h->code, h->detail);
    proto_buf_printf(&out,
                     "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
                     "x-request-id: %s\r\ncache-control: no-store\r\n",
                     h->status, gw_http_reason(h->status), body.len, id);
    if (h->hname)
        proto_buf_printf(&out, "%s: %s\r\n", h->hname, h->hvalue);
    proto_buf_puts(&out, "connection: close\r\n\r\n");
    if (strcmp(h->method, "HEAD") != 0)
        proto_buf_append(&out, body.data, body.len);
    /* Small enough for an empty socket buffer; a client that stopped reading loses it. */
    if (send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        PROTO_DEBUG(id, "refusal not sent", "peer=%s err=%d", c->peer, errno);
    shutdown(fd, SHUT_WR);
    proto_buf_free(&body);
    proto_buf_free(&out);
    E.refused[h->status < 600 ? h->status : 0]++;
    log_refusal(c, id, h);
    free(c->head);
    c->head = NULL;
    c->held = 0;
    c->mode = E_DRAIN;
}

/*
 * A refused head that follows heads still being answered (pipelining) waits for their
 * responses: answered at once, it would land in the middle of them. Written once no response
 * is owed and lws holds no part of one (else on the next writeable callback).
 */
static void retry_cb(lws_sorted_usec_list_t *sul);

static void try_deferred(struct edge_conn *c, struct lws *wsi)
{
    if (!c->deferred.status || c->busy)
        return;
    if (lws_partial_buffered(wsi)) {
        /* lws flushes the rest of a response by itself and raises no callback after it: look
         * again shortly (gw_edge_http_closed cancels this when the connection goes first). */
        c->http_wsi = wsi;
        lws_sul_schedule(lws_get_context(wsi), 0, &c->retry, retry_cb, 10 * LWS_US_PER_MS);
        return;
    }
    struct gw_head h = c->deferred;
    c->deferred.status = 0;
    refuse(c, (int)lws_get_socket_fd(wsi), &h);
}

static void retry_cb(lws_sorted_usec_list_t *sul)
{
    struct edge_conn *c = lws_container_of(sul, struct edge_conn, retry);
    if (c->http_wsi)
        try_deferred(c, c->http_wsi);
}

void gw_edge_http_closed(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    if (!c)
        return;
    lws_sul_cancel(&c->retry);
    c->http_wsi = NULL;
    c->deferred.status = 0;
}

void gw_edge_http_done(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    if (!c)
        return;
    if (c->busy)
        c->busy--;
    try_deferred(c, wsi);
}

void gw_edge_http_writeable(struct lws *wsi)
{
    struct edge_conn *c = conn_of(wsi);
    if (c)
        try_deferred(c, wsi);
}

/* Reads and drops; 0 once the client has closed (lws then closes too), else EAGAIN. */
static ssize_t drain(int fd)
{
    char junk[4096];
    for (int i = 0; i < DRAIN_READS; i++) {
        ssize_t n = recvfrom(fd, junk, sizeof junk, 0, NULL, NULL);
        if (n == 0)
            return 0;
        if (n < 0)
            return -1; /* EAGAIN included: lws waits for the next POLLIN */
    }
    errno = EAGAIN;
    return -1;
}

/*
 * Follows the frames in b[0..n) (RFC 6455 5.2). Returns n, or the offset of the first byte
 * of a frame header that says the frame is unmasked (the bytes before it are lws's).
 */
static size_t ws_scan(struct edge_conn *c, const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (c->left) {
            size_t k = n - i < c->left ? n - i : (size_t)c->left;
            i += k;
            c->left -= k;
            continue;
        }
        size_t start = i - (i >= c->fh_len ? c->fh_len : i);
        c->fh[c->fh_len++] = b[i++];
        if (c->fh_len == 2) {
            if (!(c->fh[1] & 0x80))
                return start; /* the mask bit (5.1: a server MUST close) */
            unsigned l7 = c->fh[1] & 0x7f;
            c->fh_need = (uint8_t)(2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4);
        }
        if (c->fh_len < 2 || c->fh_len < c->fh_need)
            continue;
        unsigned l7 = c->fh[1] & 0x7f;
        uint64_t len = l7;
        if (l7 == 126)
            len = (uint64_t)c->fh[2] << 8 | c->fh[3];
        else if (l7 == 127)
            for (int k = 0; k < 8; k++)
                len = len << 8 | c->fh[2 + k];
        c->left = len;
        c->fh_len = c->fh_need = 0;
    }
    return n;
}

static ssize_t ws_recv(struct edge_conn *c, int fd, char *buf, size_t len)
{
    ssize_t n = recvfrom(fd, buf, len, 0, NULL, NULL);
    if (n <= 0)
        return n;
    c->last_rx_ms = proto_mono_ms();
    size_t ok = ws_scan(c, (const unsigned char *)buf, (size_t)n);
    if (ok == (size_t)n)
        return n;
    c->mode = E_DRAIN;
    c->unmasked = 1;
    /* lws reads in its POLLIN handler; asking for a writeable callback there is what lws
     * itself does for a ping. server.c's writeable handler closes the socket with 1002. */
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
    if (ok)
        return (ssize_t)ok;
    errno = EAGAIN;
    return -1;
}

/* A refused head: answered now, or after the responses lws still owes (try_deferred). */
static void refuse_or_defer(struct edge_conn *c, int fd, const struct gw_head *h)
{
    if (c->busy) {
        c->deferred = *h;
        c->mode = E_DRAIN;
    } else {
        refuse(c, fd, h);
    }
}

/*
 * E_HEAD and E_BODY: reads what there is (one recv, as lws would) and walks it request by
 * request: bodies by Content-Length, heads through head.c. What passed is compacted to the
 * front of buf for lws; a head still incomplete stays in c->head until more bytes arrive (the
 * client must send them, so holding it never stalls lws); a refused head ends the walk and
 * what follows it is dropped. A held head is at most head_max bytes and costs only its size,
 * and a read that completes it returns at most head_max + 1 bytes: lws's buffer is larger
 * (server.c).
 */
static ssize_t http_recv(struct edge_conn *c, int fd, char *buf, size_t len)
{
    size_t held = c->held;
    if (held && len <= E.head_max + 1) { /* lws offered a smaller buffer than server.c sized */
        errno = ENOBUFS;
        return -1;
    }
    ssize_t n = recvfrom(fd, buf, held ? E.head_max + 1 - held : len, 0, NULL, NULL);
    if (n <= 0)
        return n;
    char *data = buf;
    if (held) { /* the rest of a head that spans reads: one contiguous copy to walk */
        c->head = proto_xrealloc(c->head, held + (size_t)n);
        memcpy(c->head + held, buf, (size_t)n);
        data = c->head;
    }
    size_t total = held + (size_t)n, pos = 0, out = 0, tail = 0;
    while (pos < total) {
        size_t k = total - pos;
        if (c->mode == E_BODY) {
            if (k > c->left)
                k = (size_t)c->left;
            memmove(data + out, data + pos, k);
            out += k;
            pos += k;
            if ((c->left -= k) == 0)
                c->mode = E_HEAD;
            continue;
        }
        if (c->mode == E_WS) { /* frames right behind the handshake */
            size_t ok = ws_scan(c, (const unsigned char *)data + pos, k);
            memmove(data + out, data + pos, ok);
            out += ok;
            c->last_rx_ms = proto_mono_ms();
            if (ok < k) {
                c->mode = E_DRAIN;
                c->unmasked = 1;
            }
            break;
        }
        if (c->mode != E_HEAD)
            break; /* E_DRAIN: the rest is dropped */
        size_t end = gw_head_end(data + pos, k, pos == 0 ? c->seen : 0);
        struct gw_head h;
        gw_head_check(data + pos, end ? end : k, end != 0, E.head_max, GW_WS_PATH, !E.draining, &h);
        if (h.status) {
            refuse_or_defer(c, fd, &h);
            break;
        }
        if (!end) {
            tail = k;
            break;
        }
        char *head = data + pos;
        /* lws 4.1.6 would switch to HTTP/2 on "Upgrade: h2c"; the gateway speaks HTTP/1.1,
         * which RFC 9110 7.8 allows by ignoring the field: renamed, lws does not know it. */
        if (h.hide_upgrade)
            head[h.hide_upgrade] = 'X';
        size_t skip = gw_head_skip(head, end); /* lws closes on empty lines before a head */
        memmove(data + out, head + skip, end - skip);
        out += end - skip;
        pos += end;
        if (h.websocket) {
            c->mode = E_WS;
            c->fh_len = c->fh_need = 0;
            c->left = 0;
        } else {
            c->busy++;
            if (h.body) {
                c->mode = E_BODY;
                c->left = h.body;
            }
        }
    }
    if (data != buf)
        memcpy(buf, data, out); /* out <= total <= head_max + 1 < len */
    if (tail && data == buf) {  /* (the compaction above stopped before the tail) */
        c->head = proto_xrealloc(c->head, tail); /* <= head_max: gw_head_check */
        memcpy(c->head, buf + total - tail, tail);
    } else if (tail) {
        memmove(c->head, c->head + total - tail, tail);
        c->head = proto_xrealloc(c->head, tail);
    } else {
        free(c->head);
        c->head = NULL;
    }
    c->held = c->seen = tail;
    if (out)
        return (ssize_t)out;
    errno = EAGAIN; /* nothing for lws yet: its idle timeout keeps running */
    return -1;
}

static ssize_t edge_recv(struct edge_conn *c, int fd, char *buf, size_t len)
{
    switch (c->mode) {
    case E_HEAD:
    case E_BODY:
        return http_recv(c, fd, buf, len);
    case E_WS:
        return ws_recv(c, fd, buf, len);
    default:
        return drain(fd);
    }
}

/*
 * The interposed recv (edge.h). MSG_* flags other than 0 are not lws's client reads; other
 * threads never see the table (their descriptors are not in it, but a descriptor number may
 * be reused by them after lws closed it).
 */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    if (E.on && flags == 0 && pthread_equal(pthread_self(), E.thread) && fd >= 0 && fd < E.n &&
        E.tab[fd])
        return edge_recv(E.tab[fd], fd, buf, len);
    return recvfrom(fd, buf, len, flags, NULL, NULL);
}
