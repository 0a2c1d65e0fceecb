/* A small RFC 6455 WebSocket client for tests and benchmarks; see ft_ws.h. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "ft_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/clock.h"

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HANDSHAKE_MAX  8192
#define MESSAGE_MAX    (16u << 20) /* a bigger message from the server is refused with 1009 */
#define WRITE_TIMEOUT  5000
#define READ_CHUNK     65536
#define KEEP_BUF_BYTES 4096 /* an idle socket keeps at most this much receive buffer */

struct ft_ws {
    int fd;
    int close_code; /* 0 while open */
    int sent_close;
    uint64_t rng;       /* masking keys: xorshift64*, seeded from getrandom */
    unsigned char *buf; /* received bytes not parsed yet */
    size_t len, cap;
    char *msg; /* a fragmented message being reassembled */
    size_t msg_len, msg_cap;
    int msg_op; /* 0: none in progress */
    char reason[124];
};

static int left_ms(int64_t deadline)
{
    int64_t l = deadline - proto_mono_ms();
    return l < 0 ? 0 : l > 1000000 ? 1000000 : (int)l;
}

static uint32_t rand32(struct ft_ws *ws)
{
    ws->rng ^= ws->rng >> 12;
    ws->rng ^= ws->rng << 25;
    ws->rng ^= ws->rng >> 27;
    return (uint32_t)((ws->rng * 2685821657736338717ull) >> 32);
}

static void drop_fd(struct ft_ws *ws, int code)
{
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
    if (!ws->close_code)
        ws->close_code = code;
    free(ws->buf);
    ws->buf = NULL;
    ws->len = ws->cap = 0;
}

/* Writes everything before the deadline. 0 or -1. */
static int write_all(int fd, const void *data, size_t len, int64_t deadline)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct pollfd pfd = {fd, POLLOUT, 0};
        int left = left_ms(deadline);
        if (left == 0 || poll(&pfd, 1, left) <= 0)
            return -1;
    }
    return 0;
}

/* Waits up to timeout_ms for bytes and appends what one read gives. Returns the byte
 * count, 0 on timeout, -1 on end of stream or error. */
static ssize_t fill(struct ft_ws *ws, int timeout_ms)
{
    struct pollfd pfd = {ws->fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    if (r == 0)
        return 0;
    if (ws->cap - ws->len < 4096) {
        size_t cap = ws->cap ? ws->cap * 2 : 4096;
        while (cap - ws->len < 4096)
            cap *= 2;
        unsigned char *b = realloc(ws->buf, cap);
        if (!b)
            return -1;
        ws->buf = b;
        ws->cap = cap;
    }
    size_t room = ws->cap - ws->len;
    ssize_t n = recv(ws->fd, ws->buf + ws->len, room < READ_CHUNK ? room : READ_CHUNK, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1;
    ws->len += (size_t)n;
    return n;
}

static void consume(struct ft_ws *ws, size_t n)
{
    memmove(ws->buf, ws->buf + n, ws->len - n);
    ws->len -= n;
    if (ws->len == 0 && ws->cap > KEEP_BUF_BYTES) {
        free(ws->buf);
        ws->buf = NULL;
        ws->cap = 0;
    }
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

int ft_ws_send_frame(struct ft_ws *ws, int opcode, int fin, const void *data, size_t len)
{
    if (!ws || ws->fd < 0 || ws->sent_close)
        return -1;
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    uint32_t key = rand32(ws);
    unsigned char mask[4] = {(unsigned char)(key >> 24), (unsigned char)(key >> 16),
                             (unsigned char)(key >> 8), (unsigned char)key};
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *frame = malloc(h + len);
    if (!frame)
        return -1;
    memcpy(frame, hdr, h);
    const unsigned char *src = data;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = src[i] ^ mask[i & 3];
    int rc = write_all(ws->fd, frame, h + len, proto_mono_ms() + WRITE_TIMEOUT);
    free(frame);
    if (rc != 0) {
        drop_fd(ws, FT_WS_CLOSED_ABNORMALLY);
        return -1;
    }
    if ((opcode & 0x0f) == FT_WS_OP_CLOSE)
        ws->sent_close = 1;
    return 0;
}

int ft_ws_send_text(struct ft_ws *ws, const char *text, size_t len)
{
    return ft_ws_send_frame(ws, FT_WS_OP_TEXT, 1, text, len);
}

static void send_close(struct ft_ws *ws, int code)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    ft_ws_send_frame(ws, FT_WS_OP_CLOSE, 1, p, code ? 2 : 0);
}

/* A protocol error: tell the server (1002) and end the socket. */
static int fail(struct ft_ws *ws, int code)
{
    send_close(ws, code);
    drop_fd(ws, code);
    return -1;
}

/*
 * Parses one frame from the buffer. Returns 1 with a complete message in *out, 2 when a
 * frame was consumed without completing a message, 0 when more bytes are needed, -1
 * when the socket is closed now.
 */
static int parse_one(struct ft_ws *ws, char **out, size_t *outlen)
{
    if (ws->len < 2)
        return 0;
    const unsigned char *b = ws->buf;
    int fin = b[0] & 0x80, op = b[0] & 0x0f;
    if (b[0] & 0x70)
        return fail(ws, 1002); /* no extension was negotiated: RSV bits must be 0 */
    if (b[1] & 0x80)
        return fail(ws, 1002); /* a server never masks */
    uint64_t plen = b[1] & 0x7f;
    size_t h = 2;
    if (plen == 126) {
        if (ws->len < 4)
            return 0;
        plen = (uint64_t)b[2] << 8 | b[3];
        if (plen < 126)
            return fail(ws, 1002); /* not the minimal encoding */
        h = 4;
    } else if (plen == 127) {
        if (ws->len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | b[2 + i];
        if (plen >> 63 || plen <= 0xffff)
            return fail(ws, 1002);
        h = 10;
    }
    if (op >= 0x8 && (!fin || plen > 125))
        return fail(ws, 1002);
    if (op != 0 && op != FT_WS_OP_TEXT && op != FT_WS_OP_BINARY && op != FT_WS_OP_CLOSE &&
        op != FT_WS_OP_PING && op != FT_WS_OP_PONG)
        return fail(ws, 1002);
    if (plen > MESSAGE_MAX || ws->msg_len + plen > MESSAGE_MAX)
        return fail(ws, 1009);
    if (ws->len < h + plen)
        return 0;
    const unsigned char *p = b + h;
    size_t n = (size_t)plen;
    int rc = 2;
    switch (op) {
    case FT_WS_OP_PING:
        if (ft_ws_send_frame(ws, FT_WS_OP_PONG, 1, p, n) != 0)
            return -1;
        break;
    case FT_WS_OP_PONG:
        break;
    case FT_WS_OP_CLOSE: {
        int code = 1005;
        if (n == 1)
            return fail(ws, 1002);
        if (n >= 2) {
            code = p[0] << 8 | p[1];
            if (!utf8_valid(p + 2, n - 2))
                return fail(ws, 1007);
            size_t r = n - 2 < sizeof ws->reason - 1 ? n - 2 : sizeof ws->reason - 1;
            memcpy(ws->reason, p + 2, r);
            ws->reason[r] = '\0';
        }
        ws->close_code = code;
        if (!ws->sent_close)
            send_close(ws, code == 1005 ? 1000 : code);
        drop_fd(ws, code);
        return -1;
    }
    default: /* text, binary, continuation */
        if ((op == 0) != (ws->msg_op != 0))
            return fail(ws, 1002); /* a continuation without a start, or a start inside one */
        if (op)
            ws->msg_op = op;
        if (ws->msg_len + n + 1 > ws->msg_cap) {
            size_t cap = ws->msg_len + n + 1;
            char *m = realloc(ws->msg, cap);
            if (!m)
                return fail(ws, 1009);
            ws->msg = m;
            ws->msg_cap = cap;
        }
        memcpy(ws->msg + ws->msg_len, p, n);
        ws->msg_len += n;
        if (fin) {
            if (ws->msg_op == FT_WS_OP_TEXT &&
                !utf8_valid((const unsigned char *)ws->msg, ws->msg_len))
                return fail(ws, 1007);
            ws->msg[ws->msg_len] = '\0';
            *out = ws->msg;
            if (outlen)
                *outlen = ws->msg_len;
            ws->msg = NULL;
            ws->msg_len = ws->msg_cap = 0;
            ws->msg_op = 0;
            rc = 1;
        }
        break;
    }
    consume(ws, h + n);
    return rc;
}

int ft_ws_recv(struct ft_ws *ws, int timeout_ms, char **out, size_t *len)
{
    if (!ws)
        return -1;
    int64_t deadline = proto_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int r;
        while ((r = parse_one(ws, out, len)) == 2)
            ;
        if (r != 0)
            return r;
        if (ws->fd < 0)
            return -1;
        ssize_t n = fill(ws, left_ms(deadline));
        if (n < 0) {
            drop_fd(ws, FT_WS_CLOSED_ABNORMALLY);
            return -1;
        }
        if (n == 0 && left_ms(deadline) == 0)
            return 0;
    }
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* The value of header `name` in the response head (NUL-terminated lines), or NULL. */
static const char *header(char *head, const char *name, char *val, size_t size)
{
    size_t nl = strlen(name);
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strcspn(v, "\r");
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= size)
                return NULL;
            memcpy(val, v, vl);
            val[vl] = '\0';
            return val;
        }
    }
    return NULL;
}

struct ft_ws *ft_ws_connect(int port, const char *path, const char *origin, int timeout_ms,
                            int *http_status)
{
    int64_t deadline = proto_mono_ms() + timeout_ms;
    if (http_status)
        *http_status = 0;
    struct ft_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->fd = -1;
    unsigned char rnd[24];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        goto fail;
    memcpy(&ws->rng, rnd + 16, 8);
    ws->rng |= 1;

    ws->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ws->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(ws->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd pfd = {ws->fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&pfd, 1, left_ms(deadline)) <= 0 ||
            getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err)
            goto fail;
    }

    char key[32], req[1024];
    base64(rnd, 16, key);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, port, key, origin ? "Origin: " : "", origin ? origin : "",
                     origin ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req || write_all(ws->fd, req, (size_t)n, deadline) != 0)
        goto fail;

    /* The response head; bytes after it are already frames. */
    char *end = NULL;
    for (;;) {
        end = ws->len ? memmem(ws->buf, ws->len, "\r\n\r\n", 4) : NULL;
        if (end || ws->len >= HANDSHAKE_MAX)
            break;
        ssize_t r = fill(ws, left_ms(deadline));
        if (r < 0 || (r == 0 && left_ms(deadline) == 0))
            break;
    }
    size_t head_len = end ? (size_t)(end - (char *)ws->buf) + 4 : ws->len;
    char *head = malloc(head_len + 1);
    if (!head)
        goto fail;
    memcpy(head, ws->buf, head_len);
    head[head_len] = '\0';
    int status = 0;
    sscanf(head, "HTTP/1.%*d %d", &status);
    if (http_status)
        *http_status = status;
    if (!end || status != 101) {
        free(head);
        goto fail;
    }
    char val[256], want[64], cat[128];
    unsigned char sha[SHA_DIGEST_LENGTH];
    snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    base64(sha, sizeof sha, want);
    int ok = header(head, "Sec-WebSocket-Accept", val, sizeof val) && strcmp(val, want) == 0 &&
             header(head, "Upgrade", val, sizeof val) && strcasecmp(val, "websocket") == 0 &&
             header(head, "Connection", val, sizeof val) && strcasestr(val, "upgrade") &&
             !header(head, "Sec-WebSocket-Extensions", val, sizeof val);
    free(head);
    if (!ok)
        goto fail;
    consume(ws, head_len);
    return ws;
fail:
    if (ws->fd >= 0)
        close(ws->fd);
    free(ws->buf);
    free(ws);
    return NULL;
}

int ft_ws_auth(struct ft_ws *ws, const char *token, int timeout_ms)
{
    char msg[4096];
    int n = snprintf(msg, sizeof msg, "{\"type\":\"auth\",\"token\":\"%s\"}", token);
    if (n < 0 || (size_t)n >= sizeof msg || ft_ws_send_text(ws, msg, (size_t)n) != 0)
        return ws && ws->close_code ? ws->close_code : -1;
    char *m = NULL;
    int r = ft_ws_recv(ws, timeout_ms, &m, NULL);
    if (r < 0)
        return ws->close_code;
    int ok = r == 1 && strcmp(m, "{\"type\":\"ready\"}") == 0;
    free(m);
    return ok ? 0 : -1;
}

int ft_ws_wait_close(struct ft_ws *ws, int timeout_ms)
{
    int64_t deadline = proto_mono_ms() + timeout_ms;
    for (;;) {
        char *m = NULL;
        int r = ft_ws_recv(ws, left_ms(deadline), &m, NULL);
        free(m);
        if (r < 0)
            return ws->close_code;
        if (r == 0 && left_ms(deadline) == 0)
            return 0;
    }
}

int ft_ws_close_code(const struct ft_ws *ws)
{
    return ws ? ws->close_code : FT_WS_CLOSED_ABNORMALLY;
}

const char *ft_ws_close_reason(const struct ft_ws *ws)
{
    return ws ? ws->reason : "";
}

int ft_ws_fd(const struct ft_ws *ws)
{
    return ws ? ws->fd : -1;
}

void ft_ws_close(struct ft_ws *ws, int code)
{
    if (!ws)
        return;
    if (ws->fd >= 0 && !ws->sent_close)
        send_close(ws, code);
    if (ws->fd >= 0)
        close(ws->fd);
    free(ws->buf);
    free(ws->msg);
    free(ws);
}
