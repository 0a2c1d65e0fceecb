/* Unit tests for gateway/head.c: where a head ends, and which heads are refused with what. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test.h"
#include "head.h"

#define WS     "/api/ws"
#define BUDGET 16384

static struct gw_head check(const char *p, int complete)
{
    struct gw_head h;
    gw_head_check(p, strlen(p), complete, BUDGET, WS, 1, &h);
    return h;
}

static void expect(const char *p, int status, const char *code)
{
    struct gw_head h = check(p, 1);
    if (h.status != status)
        fprintf(stderr, "%.60s: want %d, got %d %s\n", p, status, h.status, h.code ? h.code : "");
    CU_ASSERT_EQUAL(h.status, status);
    if (code && h.code)
        CU_ASSERT_STRING_EQUAL(h.code, code);
}

static void test_head_end(void)
{
    const char *a = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
    CU_ASSERT_EQUAL(gw_head_end(a, strlen(a), 0), strlen(a) - 4);
    const char *b = "GET / HTTP/1.1\nHost: x\n\nrest";
    CU_ASSERT_EQUAL(gw_head_end(b, strlen(b), 0), strlen(b) - 4);
    const char *c = "GET / HTTP/1.1\r\nHost: x\r\n";
    CU_ASSERT_EQUAL(gw_head_end(c, strlen(c), 0), 0);
    /* Leading empty lines are not an end; the search resumes where it stopped. */
    const char *d = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    CU_ASSERT_EQUAL(gw_head_skip(d, strlen(d)), 4);
    CU_ASSERT_EQUAL(gw_head_end(d, strlen(d), 0), strlen(d));
    CU_ASSERT_EQUAL(gw_head_end(d, strlen(d), strlen(d) - 1), strlen(d));
}

static void test_head_request_line(void)
{
    expect("GET /healthz HTTP/1.1\r\n\r\n", 0, NULL);
    expect("DELETE /api/x HTTP/1.0\r\n\r\n", 0, NULL);
    expect("CONNECT x:22 HTTP/1.1\r\n\r\n", 405, "method_not_allowed");
    struct gw_head h = check("TRACE / HTTP/1.1\r\n\r\n", 1);
    CU_ASSERT_STRING_EQUAL(h.hname, "Allow");
    CU_ASSERT_STRING_EQUAL(h.hvalue, GW_HEAD_ALLOW);
    expect("FOO / HTTP/1.1\r\n\r\n", 501, "not_implemented");
    expect("get / HTTP/1.1\r\n\r\n", 501, "not_implemented"); /* methods are case-sensitive */
    expect("G(T / HTTP/1.1\r\n\r\n", 400, "bad_request");
    expect("GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported");
    expect("GET / HTTP/1.1 x\r\n\r\n", 400, "bad_request");
    expect("GET  / HTTP/1.1\r\n\r\n", 400, "bad_request");
    expect("GET /\r\n\r\n", 400, "bad_request");
    expect("GET / http/1.1\r\n\r\n", 400, "bad_request");
    expect("OPTIONS * HTTP/1.1\r\n\r\n", 400, "invalid_target");
    expect("GET http://x/ HTTP/1.1\r\n\r\n", 400, "invalid_target");
    expect("GET /\x80 HTTP/1.1\r\n\r\n", 400, "invalid_target");
    expect("GET /a\x7f HTTP/1.1\r\n\r\n", 400, "invalid_target");
}

static char *long_line(const char *prefix, size_t n, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + n + sl + 1);
    memcpy(s, prefix, pl);
    memset(s + pl, 'a', n);
    memcpy(s + pl + n, suffix, sl + 1);
    return s;
}

static void test_head_sizes(void)
{
    /* A request line over 8192 bytes: 414 as soon as that many bytes came without its end. */
    char *q = long_line("GET /?q=", 9000, " HTTP/1.1\r\n\r\n");
    expect(q, 414, "uri_too_long");
    q[8300] = '\0';
    struct gw_head h = check(q, 0);
    CU_ASSERT_EQUAL(h.status, 414);
    q[100] = '\0';
    h = check(q, 0);
    CU_ASSERT_EQUAL(h.status, 0); /* not yet decided */
    free(q);
    /* A header line may use the whole budget; the head may not exceed it. */
    char *big = long_line("GET / HTTP/1.1\r\nCookie: ", 12000, "\r\n\r\n");
    expect(big, 0, NULL);
    free(big);
    char *over = long_line("GET / HTTP/1.1\r\nAuthorization: Bearer ", BUDGET, "\r\n\r\n");
    expect(over, 431, "headers_too_large");
    over[BUDGET + 10] = '\0';
    h = check(over, 0);
    CU_ASSERT_EQUAL(h.status, 431);
    free(over);
    /* 64 header lines pass, 65 do not; counted on a partial head too. */
    char head[4096] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 64; i++)
        strcat(head, "X-A: 1\r\n");
    char full[4200];
    snprintf(full, sizeof full, "%s\r\n", head);
    expect(full, 0, NULL);
    strcat(head, "X-A: 1\r\n");
    h = check(head, 0);
    CU_ASSERT_EQUAL(h.status, 431);
    /* Query parameters and header lines share lws's fragments. */
    char qs[2048] = "GET /?a=1";
    for (int i = 0; i < 40; i++)
        strcat(qs, "&b=2");
    strcat(qs, " HTTP/1.1\r\n");
    for (int i = 0; i < 50; i++)
        strcat(qs, "X-B: 1\r\n");
    strcat(qs, "\r\n");
    expect(qs, 431, "headers_too_large");
    char many[2048] = "GET /?a=1";
    for (int i = 0; i < 70; i++)
        strcat(many, "&b=2");
    strcat(many, " HTTP/1.1\r\n\r\n");
    expect(many, 400, "invalid_query");
}

static void test_head_fields(void)
{
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400, "bad_request");
    expect("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "bad_request");
    expect("GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "bad_request");
    expect("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", 400, "bad_request");
    expect("GET / HTTP/1.1\r\nX-A: a\tz\r\n\r\n", 0, NULL);
    expect("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "length_required");
    expect("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_request");
    expect("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "bad_request");
    struct gw_head h =
        check("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 1);
    CU_ASSERT_EQUAL(h.status, 0);
    CU_ASSERT_EQUAL(h.body, 5);
    CU_ASSERT_STRING_EQUAL(h.method, "POST");
    /* h2c: passed with the Upgrade field hidden (its offset), not refused. */
    const char *h2c = "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    h = check(h2c, 1);
    CU_ASSERT_EQUAL(h.status, 0);
    CU_ASSERT_EQUAL(h.hide_upgrade, strstr(h2c, "Upgrade: h2c") - h2c);
}

#define UPGRADE(path, extra)                                                                       \
    "GET " path " HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"           \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" extra "\r\n"

static void test_head_websocket(void)
{
    struct gw_head h = check(UPGRADE("/api/ws", "Sec-WebSocket-Version: 13\r\n"), 1);
    CU_ASSERT_EQUAL(h.status, 0);
    CU_ASSERT_EQUAL(h.websocket, 1);
    h = check(UPGRADE("/api/ws?x=1", "Sec-WebSocket-Version: 13\r\n"), 1);
    CU_ASSERT_EQUAL(h.websocket, 1);
    h = check(UPGRADE("/api/ws", "Sec-WebSocket-Version: 99\r\n"), 1);
    CU_ASSERT_EQUAL(h.status, 426);
    CU_ASSERT_STRING_EQUAL(h.hname, "Sec-WebSocket-Version");
    CU_ASSERT_STRING_EQUAL(h.hvalue, "13");
    expect(UPGRADE("/api/ws", ""), 426, "unsupported_websocket_version");
    expect(UPGRADE("/api/ws/", "Sec-WebSocket-Version: 13\r\n"), 404, "not_found");
    expect(UPGRADE("/api/auth/me", "Sec-WebSocket-Version: 13\r\n"), 404, "not_found");
    expect("GET /api/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n",
           400, "invalid_websocket_handshake");
    expect("GET /api/ws HTTP/1.1\r\nUpgrade: websocket\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
           400, "invalid_websocket_handshake");
    /* Shutting down: 503. */
    const char *ok = UPGRADE("/api/ws", "Sec-WebSocket-Version: 13\r\n");
    gw_head_check(ok, strlen(ok), 1, BUDGET, WS, 0, &h);
    CU_ASSERT_EQUAL(h.status, 503);
    /* A plain request is not a WebSocket. */
    h = check("GET /api/ws HTTP/1.1\r\n\r\n", 1);
    CU_ASSERT_EQUAL(h.status, 0);
    CU_ASSERT_EQUAL(h.websocket, 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("head", NULL, NULL);
    CU_add_test(s, "test_head_end", test_head_end);
    CU_add_test(s, "test_head_request_line", test_head_request_line);
    CU_add_test(s, "test_head_sizes", test_head_sizes);
    CU_add_test(s, "test_head_fields", test_head_fields);
    CU_add_test(s, "test_head_websocket", test_head_websocket);
    return ft_cunit_run();
}
