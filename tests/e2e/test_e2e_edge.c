/*
 * E2E: the gateway's HTTP/WebSocket edge, as a hostile or merely unusual client sees it, with
 * raw sockets (the exact bytes, no client library smoothing them) against a real gateway:
 *   - CONNECT is answered 405 and the descriptor is released; no connection state (idle,
 *     half a head, half a body, after a refusal) outlives the idle timeout;
 *   - oversized heads (a 9,000-character query, a 16 KB path, a 16 KB Authorization header,
 *     500 header lines, 200 Cookie lines) get 414 / 431, while a browser-sized head with a big
 *     Cookie line passes;
 *   - every refusal the gateway makes itself (TRACE, OPTIONS *, an absolute URI, a garbage
 *     request line, an upgrade elsewhere than /api/ws, HTTP/2.0, an unknown method, chunked)
 *     uses the JSON error shape, never an HTML page; HEAD on a GET route is GET without a body;
 *   - none of that writes an error-level log line;
 *   - RFC 6455: Sec-WebSocket-Version other than 13 gets 426 naming 13; an unmasked client
 *     frame gets close 1002; a socket whose client answers each ping with the empty masked
 *     pong browsers send (0x8A 0x80 + mask) stays open across many pings, while a silent one
 *     is dropped.
 * These behaviours work around libwebsockets 4.1.6 (README "libwebsockets").
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "ft_ws.h"

#include "proto/buf.h"
#include "proto/token.h"
#include "proto/uuid.h"

#define PING_S 1 /* GW_WS_PING_S of this gateway: pings every second of silence */

static struct e2e st;
static const struct proto_token_keys keys = {E2E_JWT_SECRET, sizeof E2E_JWT_SECRET - 1,
                                             E2E_JWT_ISSUER, E2E_JWT_AUDIENCE};

#define BIG_BYTES (2 << 20) /* a static file larger than socket buffers */

static char big_byte(size_t i)
{
    return (char)('a' + (i * 7 + i / 4096) % 26);
}

/* GW_WEB_ROOT with big.bin (BIG_BYTES) and index.html. */
static int write_web_root(char *root, size_t size)
{
    snprintf(root, size, "%s/web", st.dir);
    char path[400];
    if (mkdir(root, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/big.bin", root);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < BIG_BYTES; i++)
        fputc(big_byte(i), f);
    if (!f || fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/index.html", root);
    return ft_write_file(path, "<!doctype html><title>FinTwin</title>");
}

static int suite_init(void)
{
    e2e_init(&st, "edge");
    char ping[32], web[400], root[300];
    snprintf(ping, sizeof ping, "GW_WS_PING_S=%d", PING_S);
    if (write_web_root(root, sizeof root) != 0)
        return 1;
    snprintf(web, sizeof web, "GW_WEB_ROOT=%s", root);
    const char *env[] = {ping, web, NULL};
    if (e2e_start_gateway(&st, env) != 0 || !e2e_wait_body(&st, "/readyz", "ready", 10000)) {
        fprintf(stderr, "gateway did not start (see %s)\n", st.dir);
        e2e_stop_all(&st);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

/* ---- raw sockets ---- */

static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)st.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads into b until the peer closes or timeout_ms passes. 1 when it closed, 0 on timeout. */
static int read_until_close(int fd, struct proto_buf *b, int timeout_ms)
{
    int64_t end = ft_now_ms() + timeout_ms;
    char tmp[8192];
    for (;;) {
        int left = (int)(end - ft_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return 1; /* EOF, or a reset after the answer */
        proto_buf_append(b, tmp, (size_t)n);
    }
}

struct answer {
    int status, closed;
    char *head, *body; /* into raw */
    struct proto_buf raw;
};

/* Sends `req` (len bytes) on a fresh connection and reads the answer until the gateway
 * closes (3 s). */
static void ask(const void *req, size_t len, struct answer *a)
{
    memset(a, 0, sizeof *a);
    int fd = raw_connect();
    CU_ASSERT_FATAL(fd >= 0);
    /* A client that sends a head larger than the gateway reads may see a reset while sending:
     * what it reads afterwards is what counts. */
    send_all(fd, req, len);
    a->closed = read_until_close(fd, &a->raw, 3000);
    close(fd);
    proto_buf_append(&a->raw, "", 1);
    a->raw.len--;
    if (a->raw.len >= 12 && strncmp(a->raw.data, "HTTP/1.", 7) == 0)
        a->status = atoi(a->raw.data + 9);
    a->head = a->raw.data;
    char *sep = a->raw.data ? strstr(a->raw.data, "\r\n\r\n") : NULL;
    a->body = sep ? sep + 4 : (char *)"";
}

static void answer_free(struct answer *a)
{
    proto_buf_free(&a->raw);
}

/* 1 if the head (case-insensitively) has the line "name: value". */
static int has_header(const struct answer *a, const char *line)
{
    size_t n = strlen(line);
    const char *p = a->head;
    while (p && p < a->body) {
        if (strncasecmp(p, line, n) == 0 && (p[n] == '\r' || p[n] == '\n'))
            return 1;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

/* Asserts a JSON error answer with `status` and `code`, Connection: close, then a close. */
static void expect_refusal(const char *what, const void *req, size_t len, int status,
                           const char *code)
{
    struct answer a;
    ask(req, len, &a);
    char want[96];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    int ok = a.status == status && a.closed && has_header(&a, "content-type: application/json") &&
             has_header(&a, "connection: close") && strstr(a.body, want) &&
             strncmp(a.body, "{\"detail\":\"", 11) == 0 && !strstr(a.raw.data, "<html");
    if (!ok)
        fprintf(stderr, "%s: want %d %s, got (closed=%d):\n%s\n", what, status, code, a.closed,
                a.raw.data ? a.raw.data : "(nothing)");
    CU_ASSERT(ok);
    answer_free(&a);
}

static void expect_refusal_s(const char *what, const char *req, int status, const char *code)
{
    expect_refusal(what, req, strlen(req), status, code);
}

/* `prefix`, n times the character c, then `suffix` (malloc'ed). */
static char *fill(const char *prefix, char c, size_t n, const char *suffix)
{
    struct proto_buf b = {0};
    proto_buf_puts(&b, prefix);
    for (size_t i = 0; i < n; i++)
        proto_buf_append(&b, &c, 1);
    proto_buf_puts(&b, suffix);
    return b.data;
}

/* `prefix`, then n times `before` <i> `after` (i = 0..n-1), then `suffix` (malloc'ed). */
static char *repeat(const char *prefix, const char *before, int n, const char *after,
                    const char *suffix)
{
    struct proto_buf b = {0};
    proto_buf_puts(&b, prefix);
    for (int i = 0; i < n; i++)
        proto_buf_printf(&b, "%s%03d%s", before, i, after);
    proto_buf_puts(&b, suffix);
    return b.data;
}

/* Sockets the gateway process holds now (its /proc/<pid>/fd entries that are sockets). */
static int gateway_sockets(void)
{
    char dir[64], path[320], target[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)st.gw);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k > 0 && (target[k] = '\0', strncmp(target, "socket:", 7) == 0))
            n++;
    }
    closedir(d);
    return n;
}

struct sockets_wait {
    int want;
};

static int sockets_back(void *arg)
{
    int n = gateway_sockets();
    return n >= 0 && n <= ((struct sockets_wait *)arg)->want;
}

/* ---- HTTP ---- */

static void test_e2e_edge_connect_is_refused_and_released(void)
{
    int before = gateway_sockets();
    CU_ASSERT_FATAL(before > 0);
    expect_refusal_s("CONNECT host:port", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n", 405,
                     "method_not_allowed");
    expect_refusal_s("CONNECT x", "CONNECT x HTTP/1.1\r\n\r\n", 405, "method_not_allowed");
    struct answer a;
    ask("CONNECT x HTTP/1.1\r\n\r\n", 21, &a);
    CU_ASSERT(has_header(&a, "allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
    answer_free(&a);
    /* The client closed after the answer: the gateway's descriptors go back at once. */
    struct sockets_wait w = {before};
    CU_ASSERT(ft_wait_until(sockets_back, &w, 5000));
}

static void test_e2e_edge_oversized_heads(void)
{
    char *q = fill("GET /api/accounts?q=", 'a', 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refusal("9,000-character query", q, strlen(q), 414, "uri_too_long");
    free(q);
    char *path = fill("GET /", 'a', 16384, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refusal("16 KB path", path, strlen(path), 414, "uri_too_long");
    free(path);
    char *auth = fill("GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ", 'a', 16384,
                      "\r\n\r\n");
    expect_refusal("16 KB Authorization", auth, strlen(auth), 431, "headers_too_large");
    free(auth);
    char *lines = repeat("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Line-", 500, ": v\r\n", "\r\n");
    expect_refusal("500 header lines", lines, strlen(lines), 431, "headers_too_large");
    free(lines);
    char *cookies =
        repeat("GET /healthz HTTP/1.1\r\nHost: x\r\n", "Cookie: c", 200, "=v\r\n", "\r\n");
    expect_refusal("200 Cookie lines", cookies, strlen(cookies), 431, "headers_too_large");
    free(cookies);
    /* Not a 414 for a long path within the request line: the route answers (GW_PATH_MAX). */

    /* What a browser sends with many cookies: one Cookie line of 180 cookies (9 KB) and its
     * usual 15 headers. */
    char *browser = repeat(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
        "sec-ch-ua: \"Chromium\";v=\"156\"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "
        "\"Linux\"\r\n"
        "Upgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156\r\n"
        "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\nSec-Fetch-Site: none\r\n"
        "Sec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n"
        "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: x=1",
        "; cookie_", 180, "=0123456789abcdef0123456789abcdef", "\r\n\r\n");
    struct answer a;
    ask(browser, strlen(browser), &a);
    if (a.status != 200)
        fprintf(stderr, "browser head (%zu bytes): %s\n", strlen(browser), a.raw.data);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.body, "{\"status\":\"ok\"}");
    answer_free(&a);
    free(browser);
}

static void test_e2e_edge_refusals_are_json(void)
{
    expect_refusal_s("TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed");
    expect_refusal_s("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_target");
    expect_refusal_s("absolute URI", "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                     "invalid_target");
    expect_refusal_s("garbage", "garbage\r\n\r\n", 400, "bad_request");
    expect_refusal_s("no version", "GET /healthz\r\n\r\n", 400, "bad_request");
    expect_refusal_s("HTTP/2.0 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505,
                     "http_version_not_supported");
    expect_refusal_s("unknown method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented");
    expect_refusal_s("chunked",
                     "POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     411, "length_required");
    expect_refusal_s("bad Content-Length",
                     "POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 1x\r\n\r\n",
                     400, "bad_request");
    expect_refusal_s("obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400,
                     "bad_request");
    expect_refusal_s("control byte in a value", "GET /healthz HTTP/1.1\r\nX-A: a\001b\r\n\r\n", 400,
                     "bad_request");
    expect_refusal_s("space in the target", "GET /a b HTTP/1.1\r\n\r\n", 400, "bad_request");
    static const char ws_elsewhere[][32] = {"/api/auth/me", "/", "/api/ws/", "/api/wsx"};
    for (size_t i = 0; i < sizeof ws_elsewhere / sizeof ws_elsewhere[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 ws_elsewhere[i]);
        expect_refusal_s(ws_elsewhere[i], req, 404, "not_found");
    }

    /* Empty lines before a request line are allowed (RFC 9112 2.2); so is a bare LF. */
    struct answer a;
    const char crlf[] = "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(crlf, sizeof crlf - 1, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    answer_free(&a);
    const char lf[] = "GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n";
    ask(lf, sizeof lf - 1, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    answer_free(&a);
    /* h2c is ignored (RFC 9110 7.8): an HTTP/1.1 answer, not 101. */
    const char h2c[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                       "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"
                       "Connection: close\r\n\r\n";
    ask(h2c, sizeof h2c - 1, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.body, "{\"status\":\"ok\"}");
    answer_free(&a);
    /* Pipelined requests on one connection are each answered. */
    const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(two, sizeof two - 1, &a);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.raw.data, "{\"status\":\"ok\"}HTTP/1.1 200 OK"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.raw.data, "{\"status\":\"ready\"}"));
    answer_free(&a);
    /* A body is passed by its Content-Length and the next request is read after it. */
    const char body[] = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nGET / H"
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(body, sizeof body - 1, &a);
    CU_ASSERT_EQUAL(a.status, 405);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.raw.data, "{\"status\":\"ok\"}"));
    answer_free(&a);
}

/* Heads that arrive in pieces: one byte per segment, and a pipelined second request whose
 * head is split across reads; bodies split as well. */
static void test_e2e_edge_heads_in_pieces(void)
{
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
                       "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = raw_connect(), one = 1;
    CU_ASSERT_FATAL(fd >= 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (size_t i = 0; i < sizeof req - 1; i++) {
        CU_ASSERT_FATAL(send_all(fd, req + i, 1) == 0);
        if (i % 16 == 0) { /* let the gateway read what came so far */
            struct pollfd p = {fd, POLLIN, 0};
            poll(&p, 1, 1);
        }
    }
    struct proto_buf b = {0};
    CU_ASSERT(read_until_close(fd, &b, 3000));
    close(fd);
    proto_buf_append(&b, "", 1);
    const char *first = strstr(b.data, "{\"status\":\"ok\"}");
    const char *second = first ? strstr(first, "HTTP/1.1 405 ") : NULL;
    const char *third = second ? strstr(second, "{\"status\":\"ready\"}") : NULL;
    if (!third)
        fprintf(stderr, "in pieces: %s\n", b.data);
    CU_ASSERT_PTR_NOT_NULL(third);
    proto_buf_free(&b);
}

/* A refused head behind a request still being answered gets its answer after that one, never
 * in the middle of it. */
static void test_e2e_edge_pipelined_refusal_waits_its_turn(void)
{
    const char req[] = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nCONNECT x HTTP/1.1\r\n\r\n";
    struct answer a;
    ask(req, sizeof req - 1, &a);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    char want[64];
    snprintf(want, sizeof want, "content-length: %d", BIG_BYTES);
    CU_ASSERT(has_header(&a, want));
    size_t body_at = (size_t)(a.body - a.raw.data), bad = 0;
    CU_ASSERT_FATAL(a.raw.len >= body_at + BIG_BYTES);
    for (size_t i = 0; i < BIG_BYTES; i++)
        bad += a.body[i] != big_byte(i);
    CU_ASSERT_EQUAL(bad, 0);
    const char *next = a.body + BIG_BYTES;
    if (strncmp(next, "HTTP/1.1 405 ", 13) != 0)
        fprintf(stderr, "after the file: %.80s\n", next);
    CU_ASSERT_EQUAL(strncmp(next, "HTTP/1.1 405 ", 13), 0);
    CU_ASSERT(a.closed);
    answer_free(&a);

    /* lws reads on while a request with a body waits for its worker (none here: 503). */
    const char post[] =
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n{}CONNECT x HTTP/1.1\r\n\r\n";
    ask(post, sizeof post - 1, &a);
    const char *second = strstr(a.raw.data ? a.raw.data + 1 : "", "HTTP/1.1 ");
    if (a.status != 503 || !second || strncmp(second, "HTTP/1.1 405 ", 13) != 0)
        fprintf(stderr, "pipelined after a POST: %s\n", a.raw.data);
    CU_ASSERT_EQUAL(a.status, 503);
    CU_ASSERT(second && strncmp(second, "HTTP/1.1 405 ", 13) == 0);
    answer_free(&a);
}

static void test_e2e_edge_head_is_get_without_body(void)
{
    const char *paths[] = {"/healthz", "/api/status", "/api/auth/me"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char req[256];
        struct answer g, h;
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 paths[i]);
        ask(req, strlen(req), &g);
        snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 paths[i]);
        ask(req, strlen(req), &h);
        if (g.status != h.status || h.body[0])
            fprintf(stderr, "HEAD %s: %s\nGET: %s\n", paths[i], h.raw.data, g.raw.data);
        CU_ASSERT_EQUAL(h.status, g.status);
        CU_ASSERT_STRING_EQUAL(h.body, "");
        CU_ASSERT(g.body[0] != '\0');
        answer_free(&g);
        answer_free(&h);
    }
    /* Allow names HEAD wherever GET is allowed. */
    struct answer a;
    const char del[] = "DELETE /api/auth/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(del, sizeof del - 1, &a);
    CU_ASSERT_EQUAL(a.status, 405);
    CU_ASSERT(has_header(&a, "allow: GET, HEAD"));
    answer_free(&a);
}

/* Connections in each state a client can leave one in (also one that stops reading a
 * response); all must be closed by the gateway. */
static void test_e2e_edge_no_state_escapes_the_idle_timeout(void)
{
    int before = gateway_sockets();
    const char *states[] = {
        "",                                     /* idle */
        "GET /healthz HTTP/1.1\r\nHost: x\r\n", /* half a head */
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{\"email\":",           /* half a body */
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",         /* kept alive after */
        "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n", /* refused: lingering */
        "GET /healthz HTTP/1.1\r\nX-Long: ",                /* a header line stalls */
    };
    enum { N = sizeof states / sizeof states[0] };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = raw_connect();
        CU_ASSERT_FATAL(fds[i] >= 0);
        CU_ASSERT(send_all(fds[i], states[i], strlen(states[i])) == 0);
    }
    /* And a client that asks for a big file and never reads it. */
    int stalled = raw_connect(), small = 4096;
    CU_ASSERT_FATAL(stalled >= 0);
    setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const char big[] = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    CU_ASSERT(send_all(stalled, big, sizeof big - 1) == 0);
    /* lws's idle timeouts are 5-10 s: every connection ends within 20 s, answered or not. */
    int64_t t0 = ft_now_ms();
    for (int i = 0; i < N; i++) {
        struct proto_buf b = {0};
        int closed = read_until_close(fds[i], &b, (int)(t0 + 20000 - ft_now_ms()));
        if (!closed)
            fprintf(stderr, "state %d still open after %lld ms\n", i,
                    (long long)(ft_now_ms() - t0));
        CU_ASSERT(closed);
        proto_buf_free(&b);
    }
    /* The client keeps its sockets: the gateway must have closed its side for real. */
    struct sockets_wait w = {before};
    CU_ASSERT(ft_wait_until(sockets_back, &w, 5000));
    for (int i = 0; i < N; i++)
        close(fds[i]);
    close(stalled);
}

/* ---- WebSocket ---- */

#define UPGRADE_FMT                                                                                \
    "GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"             \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n"

static void test_e2e_edge_ws_handshake_rfc6455(void)
{
    const char *versions[] = {"Sec-WebSocket-Version: 99\r\n", "Sec-WebSocket-Version: 8\r\n", ""};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        char req[512];
        snprintf(req, sizeof req, UPGRADE_FMT, versions[i]);
        struct answer a;
        ask(req, strlen(req), &a);
        if (a.status != 426 || !has_header(&a, "sec-websocket-version: 13"))
            fprintf(stderr, "version %s: %s\n", versions[i], a.raw.data);
        CU_ASSERT_EQUAL(a.status, 426);
        CU_ASSERT(has_header(&a, "sec-websocket-version: 13"));
        CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "\"code\":\"unsupported_websocket_version\""));
        answer_free(&a);
    }
    expect_refusal_s("no key",
                     "GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     400, "invalid_websocket_handshake");
    expect_refusal_s("no Connection: Upgrade",
                     "GET /api/ws HTTP/1.1\r\nHost: x\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     400, "invalid_websocket_handshake");
    /* Version 13 still upgrades. */
    char req[512];
    snprintf(req, sizeof req, UPGRADE_FMT, "Sec-WebSocket-Version: 13\r\n");
    int fd = raw_connect();
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(send_all(fd, req, strlen(req)) == 0);
    char got[512] = "";
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 3000) == 1)
        CU_ASSERT(recv(fd, got, sizeof got - 1, 0) > 0);
    CU_ASSERT_EQUAL(strncmp(got, "HTTP/1.1 101 ", 13), 0);
    close(fd);
}

/* A ready socket of a fresh user (token minted here; the gateway checks it alone). */
static struct ft_ws *ready_ws(void)
{
    char tok[PROTO_TOKEN_MAX], sub[PROTO_UUID_LEN + 1];
    CU_ASSERT_FATAL(proto_uuid_v4(sub) == 0);
    CU_ASSERT_FATAL(proto_token_mint(&keys, sub, (int64_t)time(NULL), 900, tok, sizeof tok, NULL) >
                    0);
    int status = 0;
    struct ft_ws *ws = ft_ws_connect(st.port, "/api/ws", NULL, 3000, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    CU_ASSERT_EQUAL_FATAL(ft_ws_auth(ws, tok, 3000), 0);
    return ws;
}

static void test_e2e_edge_ws_unmasked_frame_closes_1002(void)
{
    static const char closed[] = "fintwin_gateway_ws_closed_total{reason=\"protocol_error\"}";
    double before = e2e_metric(&st, closed);
    CU_ASSERT(before >= 0);

    /* After the auth message, and as the very first frame. */
    for (int ready = 1; ready >= 0; ready--) {
        struct ft_ws *ws;
        if (ready) {
            ws = ready_ws();
        } else {
            int status = 0;
            ws = ft_ws_connect(st.port, "/api/ws", NULL, 3000, &status);
            CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
        }
        static const unsigned char unmasked[] = {0x81, 0x02, 'h', 'i'}; /* FIN text "hi", mask 0 */
        CU_ASSERT(send_all(ft_ws_fd(ws), unmasked, sizeof unmasked) == 0);
        int code = ft_ws_wait_close(ws, 3000);
        if (code != 1002)
            fprintf(stderr, "unmasked frame (ready=%d): close %d %s\n", ready, code,
                    ft_ws_close_reason(ws));
        CU_ASSERT_EQUAL(code, 1002);
        CU_ASSERT_STRING_EQUAL(ft_ws_close_reason(ws), "client frames must be masked");
        ft_ws_close(ws, 1000);
    }
    CU_ASSERT_EQUAL(e2e_metric(&st, closed), before + 2);
}

/* Reads one whole server frame from fd (unmasked, payload <= 125 for control frames) if one
 * begins within timeout_ms. Returns its opcode and fills payload/plen, 0 on timeout, -1 when
 * closed or broken. */
static int read_frame(int fd, unsigned char *payload, size_t cap, size_t *plen, int timeout_ms)
{
    unsigned char h[2];
    size_t got = 0;
    int64_t end = ft_now_ms() + timeout_ms;
    unsigned char buf[4096];
    size_t need = 2, len = 0;
    while (got < need) {
        int left = (int)(end - ft_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            if (got)
                fprintf(stderr, "frame cut after %zu of %zu bytes\n", got, need);
            return got ? -1 : 0; /* a frame cut in the middle is a broken socket */
        }
        ssize_t n = recv(fd, buf + got, need - got, 0);
        if (n <= 0) {
            fprintf(stderr, "recv: %zd (errno %d)\n", n, errno);
            return -1;
        }
        if (!got)
            end = ft_now_ms() + 2000; /* a frame has begun: its rest follows at once */
        got += (size_t)n;
        if (got == 2 && need == 2) {
            memcpy(h, buf, 2);
            len = h[1] & 0x7f;
            if (len > 125 || len > cap) {
                fprintf(stderr, "frame header %02x %02x\n", h[0], h[1]);
                return -1; /* the gateway sends this test nothing bigger */
            }
            need = 2 + len;
        }
    }
    memcpy(payload, buf + 2, len);
    *plen = len;
    return h[0] & 0x0f;
}

static void test_e2e_edge_ws_empty_pong_keeps_the_socket(void)
{
    struct ft_ws *answering = ready_ws(), *silent = ready_ws();
    int fa = ft_ws_fd(answering), fs = ft_ws_fd(silent);
    /* PONG_GRACE_MS (15 s) after a ping without any answer the gateway drops a socket: 20 s
     * see at least that and many pings of the answering socket. */
    int64_t t0 = ft_now_ms(), end = t0 + 1000 * (PING_S + 15 + 4);
    int pings = 0, empty_pings = 0, silent_closed_at = 0, answering_closed = 0;
    while (ft_now_ms() < end && !answering_closed) {
        unsigned char payload[125];
        size_t plen = 0;
        int op = read_frame(fa, payload, sizeof payload, &plen, 200);
        if (op == 0x9) {
            pings++;
            empty_pings += plen == 0;
            /* exactly what a browser answers to an empty ping: FIN pong, masked, length 0 */
            static const unsigned char pong[] = {0x8A, 0x80, 0x11, 0x22, 0x33, 0x44};
            CU_ASSERT(send_all(fa, pong, sizeof pong) == 0);
        } else if (op < 0 || op == 0x8) {
            answering_closed = 1;
            fprintf(stderr, "answering socket: %s after %lld ms (errno %d)\n",
                    op < 0 ? "read failed" : "close frame", (long long)(ft_now_ms() - t0), errno);
        }
        if (!silent_closed_at) {
            struct pollfd p = {fs, POLLIN, 0};
            char junk[256];
            if (poll(&p, 1, 0) == 1 && recv(fs, junk, sizeof junk, MSG_DONTWAIT) == 0)
                silent_closed_at = (int)(ft_now_ms() - t0);
            /* (pings to the silent socket are read and dropped, never answered) */
        }
    }
    int secs = (int)((ft_now_ms() - t0) / 1000);
    fprintf(stderr, "empty pongs: %d pings in %d s (%d empty), silent socket dropped at %d ms\n",
            pings, secs, empty_pings, silent_closed_at);
    CU_ASSERT_FALSE(answering_closed);
    CU_ASSERT(pings >= 10);
    CU_ASSERT_EQUAL(empty_pings, 0); /* pings carry a payload (ws.c) */
    CU_ASSERT(silent_closed_at > 0);
    /* The answering socket still works: a clean close. */
    ft_ws_close(answering, 1000);
    ft_ws_close(silent, 1000);
}

/* ---- logs ---- */

static void test_e2e_edge_client_mistakes_are_not_errors(void)
{
    char path[320];
    snprintf(path, sizeof path, "%s/gateway.log", st.dir);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096];
    int errors = 0, refused = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "level=error")) {
            errors++;
            fprintf(stderr, "error line: %s", line);
        }
        refused += strstr(line, "msg=\"request refused\"") && strstr(line, "level=info") &&
                   strstr(line, "peer=127.0.0.1");
    }
    fclose(f);
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT(refused >= 20);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_edge", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_edge_connect_is_refused_and_released",
                test_e2e_edge_connect_is_refused_and_released);
    CU_add_test(s, "test_e2e_edge_oversized_heads", test_e2e_edge_oversized_heads);
    CU_add_test(s, "test_e2e_edge_refusals_are_json", test_e2e_edge_refusals_are_json);
    CU_add_test(s, "test_e2e_edge_heads_in_pieces", test_e2e_edge_heads_in_pieces);
    CU_add_test(s, "test_e2e_edge_pipelined_refusal_waits_its_turn",
                test_e2e_edge_pipelined_refusal_waits_its_turn);
    CU_add_test(s, "test_e2e_edge_head_is_get_without_body",
                test_e2e_edge_head_is_get_without_body);
    CU_add_test(s, "test_e2e_edge_no_state_escapes_the_idle_timeout",
                test_e2e_edge_no_state_escapes_the_idle_timeout);
    CU_add_test(s, "test_e2e_edge_ws_handshake_rfc6455", test_e2e_edge_ws_handshake_rfc6455);
    CU_add_test(s, "test_e2e_edge_ws_unmasked_frame_closes_1002",
                test_e2e_edge_ws_unmasked_frame_closes_1002);
    CU_add_test(s, "test_e2e_edge_ws_empty_pong_keeps_the_socket",
                test_e2e_edge_ws_empty_pong_keeps_the_socket);
    CU_add_test(s, "test_e2e_edge_client_mistakes_are_not_errors",
                test_e2e_edge_client_mistakes_are_not_errors);
    return ft_cunit_run();
}
