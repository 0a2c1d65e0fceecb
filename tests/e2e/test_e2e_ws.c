/*
 * E2E: GET /api/ws, the live channel, with two real gateways and tokens minted here.
 * Frames are published to ft.live by this test over its own AMQP connection, as the
 * workers do. It checks: which upgrades and Origins are accepted; the auth message
 * (timeout, malformed, forged, expired, revoked, Redis down, never from the URL); size
 * and binary limits; fan-out to every socket of one user and to nobody else, from one
 * publish, on either gateway; that the binding exists once "ready" arrived and is gone
 * after the last socket closed (a mandatory publish comes back unroutable); close orders
 * ("logged out" within 1 s); token expiry; a slow consumer, and a burst that is not one;
 * 1,000 users at once; 1001 at shutdown.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "e2e_livepub.h"
#include "ft_ws.h"

#include "proto/token.h"
#include "proto/uuid.h"

#define ORIGIN_OK "http://app.example:8080"
#define WS_WAIT   3000 /* ms: what "arrives" means in these tests */

static struct e2e g1, g2;
static const struct proto_token_keys keys = {E2E_JWT_SECRET, sizeof E2E_JWT_SECRET - 1,
                                             E2E_JWT_ISSUER, E2E_JWT_AUDIENCE};

static int publish(const char *user, const char *text)
{
    return e2e_livepub_publish(user, NULL, text, strlen(text));
}

/* ---- tokens, Redis, metrics ---- */

/* Mints a token for `sub` (a fresh user when sub is NULL: written to out_sub) issued at
 * now - age_s for ttl_s seconds. */
static void mint(const struct proto_token_keys *k, const char *sub, int64_t age_s, int ttl_s,
                 char *tok, size_t n, struct proto_token_claims *cl)
{
    char fresh[PROTO_UUID_LEN + 1];
    if (!sub) {
        CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(fresh), 0);
        sub = fresh;
    }
    CU_ASSERT_FATAL(proto_token_mint(k, sub, (int64_t)time(NULL) - age_s, ttl_s, tok, n, cl) > 0);
}

/* The value of a /metrics sample ("name value" or "name{labels} value"), or -1. */
struct metric_wait {
    const struct e2e *e;
    const char *name;
    double want;
};

static int metric_is(void *arg)
{
    struct metric_wait *w = arg;
    return e2e_metric(w->e, w->name) == w->want;
}

static int wait_metric(const struct e2e *e, const char *name, double want, int timeout_ms)
{
    struct metric_wait w = {e, name, want};
    return ft_wait_until(metric_is, &w, timeout_ms);
}

static double closed(const struct e2e *e, const char *reason)
{
    char name[96];
    snprintf(name, sizeof name, "fintwin_gateway_ws_closed_total{reason=\"%s\"}", reason);
    return e2e_metric(e, name);
}

/* ---- sockets ---- */

static struct ft_ws *open_ws(const struct e2e *e, const char *origin)
{
    int status = -1;
    struct ft_ws *ws = ft_ws_connect(e->port, "/api/ws", origin, 3000, &status);
    if (!ws)
        fprintf(stderr, "upgrade refused: HTTP %d\n", status);
    return ws;
}

/* A ready socket of user `sub` (a fresh user when NULL, written to out_sub if given). */
static struct ft_ws *ready_ws(const struct e2e *e, const char *sub, char *out_sub)
{
    char tok[PROTO_TOKEN_MAX];
    struct proto_token_claims cl;
    mint(&keys, sub, 0, 900, tok, sizeof tok, &cl);
    if (out_sub)
        memcpy(out_sub, cl.sub, PROTO_UUID_LEN + 1);
    struct ft_ws *ws = open_ws(e, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    int rc = ft_ws_auth(ws, tok, WS_WAIT);
    if (rc != 0)
        fprintf(stderr, "auth: %d %s\n", rc, ft_ws_close_reason(ws));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return ws;
}

/* Asserts the socket is closed by the server with code and reason within timeout_ms. */
static void expect_close(struct ft_ws *ws, int code, const char *reason, int timeout_ms)
{
    int got = ft_ws_wait_close(ws, timeout_ms);
    if (got != code || strcmp(ft_ws_close_reason(ws), reason) != 0)
        fprintf(stderr, "expected close %d \"%s\", got %d \"%s\"\n", code, reason, got,
                ft_ws_close_reason(ws));
    CU_ASSERT_EQUAL(got, code);
    CU_ASSERT_STRING_EQUAL(ft_ws_close_reason(ws), reason);
}

/* Asserts the next message within WS_WAIT is exactly `want`. */
static void expect_msg(struct ft_ws *ws, const char *want)
{
    char *m = NULL;
    int r = ft_ws_recv(ws, WS_WAIT, &m, NULL);
    if (r != 1 || strcmp(m, want) != 0)
        fprintf(stderr, "expected %s, got %d %s\n", want, r, r == 1 ? m : "");
    CU_ASSERT_EQUAL(r, 1);
    if (r == 1)
        CU_ASSERT_STRING_EQUAL(m, want);
    free(m);
}

/* Sends the auth message with `tok` and asserts the close that follows. */
static void expect_auth_close(const char *tok, int code, const char *reason)
{
    struct ft_ws *ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    int rc = ft_ws_auth(ws, tok, WS_WAIT);
    if (rc != code || strcmp(ft_ws_close_reason(ws), reason) != 0)
        fprintf(stderr, "expected close %d \"%s\", got %d \"%s\"\n", code, reason, rc,
                ft_ws_close_reason(ws));
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_STRING_EQUAL(ft_ws_close_reason(ws), reason);
    ft_ws_close(ws, 1000);
}

/* ---- suite ---- */

static int suite_init(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* the 1,000-socket test */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    e2e_init(&g1, "ws-1");
    e2e_init(&g2, "ws-2");
    const char *env[] = {"GW_WS_AUTH_TIMEOUT_MS=1000", "GW_ALLOWED_ORIGINS=" ORIGIN_OK, NULL};
    if (e2e_start_gateway(&g1, env) != 0 || e2e_start_gateway(&g2, env) != 0) {
        fprintf(stderr, "gateways did not start (see %s, %s)\n", g1.dir, g2.dir);
        e2e_stop_all(&g1);
        e2e_stop_all(&g2);
        return 1;
    }
    /* /readyz: the bridge declared its live queue (sockets would bind nothing before). */
    if (!e2e_wait_body(&g1, "/readyz", "ready", 10000) ||
        !e2e_wait_body(&g2, "/readyz", "ready", 10000) || e2e_livepub_open() != 0) {
        fprintf(stderr, "broker not ready\n");
        e2e_stop_all(&g1);
        e2e_stop_all(&g2);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    e2e_livepub_close();
    e2e_stop_all(&g1);
    e2e_stop_all(&g2);
    e2e_cleanup(&g1);
    e2e_cleanup(&g2);
    return 0;
}

/* ---- tests ---- */

static void test_e2e_ws_upgrade_and_origin(void)
{
    double refused = closed(&g1, "origin");
    struct ft_ws *ws = ready_ws(&g1, NULL, NULL); /* no Origin: not a browser */
    ft_ws_close(ws, 1000);

    char tok[PROTO_TOKEN_MAX];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    ws = open_ws(&g1, ORIGIN_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    CU_ASSERT_EQUAL(ft_ws_auth(ws, tok, WS_WAIT), 0);
    ft_ws_close(ws, 1000);

    const char *bad[] = {"http://evil.example", "http://app.example:8081", "null",
                         "http://app.example:8080/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws = open_ws(&g1, bad[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
        ft_ws_send_text(ws, "{}", 2); /* nothing is processed: the close comes first */
        expect_close(ws, 1008, "origin not allowed", WS_WAIT);
        ft_ws_close(ws, 1000);
    }
    CU_ASSERT_EQUAL(closed(&g1, "origin"), refused + 4);

    /* Only GET /api/ws upgrades. */
    const char *paths[] = {"/api/ws/", "/api/wsx", "/", "/healthz", "/api/status", "/api/auth/me"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int status = -1;
        ws = ft_ws_connect(g1.port, paths[i], NULL, 3000, &status);
        CU_ASSERT_PTR_NULL(ws);
        if (status != 404)
            fprintf(stderr, "upgrade on %s: HTTP %d\n", paths[i], status);
        CU_ASSERT_EQUAL(status, 404);
        ft_ws_close(ws, 1000);
    }
    /* The gateway still serves HTTP, and sockets do not change readiness. */
    CU_ASSERT_EQUAL(e2e_get_status(&g1, "/healthz"), 200);
    CU_ASSERT_EQUAL(e2e_get_status(&g1, "/readyz"), 200);
}

static void test_e2e_ws_auth_timeout_and_no_url_token(void)
{
    char tok[PROTO_TOKEN_MAX], path[PROTO_TOKEN_MAX + 64];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    snprintf(path, sizeof path, "/api/ws?token=%s", tok);
    int64_t t0 = ft_now_ms();
    struct ft_ws *silent = open_ws(&g1, NULL);
    struct ft_ws *url = ft_ws_connect(g1.port, path, NULL, 3000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(silent);
    CU_ASSERT_PTR_NOT_NULL_FATAL(url);
    /* GW_WS_AUTH_TIMEOUT_MS=1000; a token in the URL counts for nothing. */
    expect_close(silent, 1008, "auth timeout", WS_WAIT);
    expect_close(url, 1008, "auth timeout", WS_WAIT);
    int64_t ms = ft_now_ms() - t0;
    CU_ASSERT(ms >= 900); /* not before the timeout (after it: expect_close's deadline) */
    ft_ws_close(silent, 1000);
    ft_ws_close(url, 1000);
}

static void test_e2e_ws_auth_refused(void)
{
    const char *msgs[] = {"not json", "{\"type\":\"hello\",\"token\":\"x\"}", "{\"type\":\"auth\"}",
                          "[\"auth\"]", "{\"type\":\"auth\",\"token\":7}"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        struct ft_ws *ws = open_ws(&g1, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
        ft_ws_send_text(ws, msgs[i], strlen(msgs[i]));
        expect_close(ws, 1008, "expected an auth message", WS_WAIT);
        ft_ws_close(ws, 1000);
    }
    char tok[PROTO_TOKEN_MAX];
    struct proto_token_claims cl;
    expect_auth_close("garbage", 1008, "invalid token");
    struct proto_token_keys other = keys;
    other.secret = "another-secret-of-enough-length-0123456789abcdef";
    other.secret_len = strlen(other.secret);
    mint(&other, NULL, 0, 900, tok, sizeof tok, NULL);
    expect_auth_close(tok, 1008, "invalid token");
    /* signed with our key, but for another issuer or audience */
    struct proto_token_keys wrong = keys;
    wrong.issuer = "someone-else";
    mint(&wrong, NULL, 0, 900, tok, sizeof tok, NULL);
    expect_auth_close(tok, 1008, "invalid token");
    wrong = keys;
    wrong.audience = "another-api";
    mint(&wrong, NULL, 0, 900, tok, sizeof tok, NULL);
    expect_auth_close(tok, 1008, "invalid token");
    mint(&keys, NULL, 3600, 900, tok, sizeof tok, NULL); /* expired 45 minutes ago */
    expect_auth_close(tok, 1008, "token expired");
    mint(&keys, NULL, 0, 900, tok, sizeof tok, &cl);
    CU_ASSERT_EQUAL_FATAL(e2e_deny_jti(cl.jti), 0);
    expect_auth_close(tok, 1008, "token revoked");
}

static void test_e2e_ws_redis_down_fails_closed(void)
{
    struct e2e g;
    e2e_init(&g, "ws-noredis");
    char redis[64];
    snprintf(redis, sizeof redis, "REDIS_URL=redis://127.0.0.1:%d/0", ft_free_port());
    const char *env[] = {redis, NULL};
    CU_ASSERT_EQUAL_FATAL(e2e_start_gateway(&g, env), 0);
    char tok[PROTO_TOKEN_MAX];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    struct ft_ws *ws = ft_ws_connect(g.port, "/api/ws", NULL, 3000, NULL);
    CU_ASSERT_PTR_NOT_NULL(ws);
    if (ws) {
        CU_ASSERT_EQUAL(ft_ws_auth(ws, tok, WS_WAIT), 1011);
        CU_ASSERT_STRING_EQUAL(ft_ws_close_reason(ws), "auth unavailable");
    }
    ft_ws_close(ws, 1000);
    e2e_stop_all(&g);
    e2e_cleanup(&g);
}

static void test_e2e_ws_limits(void)
{
    static char big[5000];
    memset(big, 'a', sizeof big);
    /* Before auth, after auth, and in fragments that only add up to too much. */
    struct ft_ws *ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    ft_ws_send_text(ws, big, sizeof big);
    expect_close(ws, 1009, "message too big", WS_WAIT);
    ft_ws_close(ws, 1000);

    ws = ready_ws(&g1, NULL, NULL);
    ft_ws_send_text(ws, "{\"type\":\"hello\"}", 16); /* ignored after auth */
    ft_ws_send_text(ws, big, sizeof big);
    expect_close(ws, 1009, "message too big", WS_WAIT);
    ft_ws_close(ws, 1000);

    ws = ready_ws(&g1, NULL, NULL);
    ft_ws_send_frame(ws, FT_WS_OP_TEXT, 0, big, 3000);
    ft_ws_send_frame(ws, 0, 0, big, 1000);
    ft_ws_send_frame(ws, 0, 1, big, 1000);
    expect_close(ws, 1009, "message too big", WS_WAIT);
    ft_ws_close(ws, 1000);

    ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    ft_ws_send_frame(ws, FT_WS_OP_BINARY, 1, "{}", 2);
    expect_close(ws, 1003, "binary messages are not accepted", WS_WAIT);
    ft_ws_close(ws, 1000);

    /* An auth message in two fragments is one message. */
    char tok[PROTO_TOKEN_MAX], msg[PROTO_TOKEN_MAX + 64];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    int n = snprintf(msg, sizeof msg, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
    ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    ft_ws_send_frame(ws, FT_WS_OP_TEXT, 0, msg, 10);
    ft_ws_send_frame(ws, 0, 1, msg + 10, (size_t)n - 10);
    expect_msg(ws, "{\"type\":\"ready\"}");
    ft_ws_close(ws, 1000);
}

static void test_e2e_ws_fanout_to_one_user_only(void)
{
    char a[PROTO_UUID_LEN + 1], b[PROTO_UUID_LEN + 1];
    struct ft_ws *a1 = ready_ws(&g1, NULL, a);
    struct ft_ws *a2 = ready_ws(&g1, a, NULL);
    struct ft_ws *bs = ready_ws(&g1, NULL, b);
    double sent = e2e_metric(&g1, "fintwin_gateway_ws_frames_sent_total");
    char fa[256], fb[256];
    snprintf(fa, sizeof fa, "{\"type\":\"notification\",\"notification\":{\"user\":\"%s\"}}", a);
    snprintf(fb, sizeof fb, "{\"type\":\"balance\",\"user\":\"%s\"}", b);
    CU_ASSERT_EQUAL_FATAL(publish(a, fa), 0);
    CU_ASSERT_EQUAL_FATAL(publish(b, fb), 0); /* same queue, published later */
    expect_msg(a1, fa);
    expect_msg(a2, fa);
    /* B's first frame is its own: A's frame, published before it, never reached B. */
    expect_msg(bs, fb);
    /* Frames are forwarded verbatim, and nothing else arrives: a barrier frame to each user,
     * published after everything else, is the next thing each socket reads (one queue keeps
     * the order, so a stray frame would come before it). */
    char ba[256], bb[256];
    snprintf(ba, sizeof ba, "{\"type\":\"barrier\",\"user\":\"%s\"}", a);
    snprintf(bb, sizeof bb, "{\"type\":\"barrier\",\"user\":\"%s\"}", b);
    CU_ASSERT_EQUAL_FATAL(publish(b, bb), 0);
    CU_ASSERT_EQUAL_FATAL(publish(a, ba), 0);
    expect_msg(a1, ba);
    expect_msg(a2, ba);
    expect_msg(bs, bb);
    CU_ASSERT_EQUAL(e2e_metric(&g1, "fintwin_gateway_ws_frames_sent_total"), sent + 6);
    ft_ws_close(a1, 1000);
    ft_ws_close(a2, 1000);
    ft_ws_close(bs, 1000);
}

static void test_e2e_ws_any_gateway_serves_any_user(void)
{
    char a[PROTO_UUID_LEN + 1];
    struct ft_ws *on2 = ready_ws(&g2, NULL, a);
    char f[128];
    snprintf(f, sizeof f, "{\"type\":\"risk\",\"user\":\"%s\"}", a);
    CU_ASSERT_EQUAL_FATAL(publish(a, f), 0);
    expect_msg(on2, f);
    /* A second tab on the other gateway: one publish reaches both. */
    struct ft_ws *on1 = ready_ws(&g1, a, NULL);
    CU_ASSERT_EQUAL_FATAL(publish(a, f), 0);
    expect_msg(on2, f);
    expect_msg(on1, f);
    ft_ws_close(on1, 1000);
    ft_ws_close(on2, 1000);
}

struct routed_wait {
    const char *user;
    int want;
};

static int is_routed(void *arg)
{
    struct routed_wait *w = arg;
    return e2e_livepub_routed(w->user) == w->want;
}

static void test_e2e_ws_binding_follows_sockets(void)
{
    char a[PROTO_UUID_LEN + 1];
    CU_ASSERT_FATAL(wait_metric(&g1, "fintwin_gateway_ws_bound_users", 0, 5000));
    /* Never connected: nothing is bound. */
    CU_ASSERT_EQUAL(e2e_livepub_routed("00000000-0000-4000-8000-000000000000"), 0);
    struct ft_ws *t1 = ready_ws(&g1, NULL, a);
    /* "ready" means bound: a publish right now is routed (and reaches the socket). */
    CU_ASSERT_EQUAL(e2e_livepub_routed(a), 1);
    expect_msg(t1, "{\"type\":\"probe\"}");
    CU_ASSERT_EQUAL(e2e_metric(&g1, "fintwin_gateway_ws_bound_users"), 1);
    struct ft_ws *t2 = ready_ws(&g1, a, NULL); /* a second tab shares the binding */
    CU_ASSERT_EQUAL(e2e_metric(&g1, "fintwin_gateway_ws_bound_users"), 1);
    CU_ASSERT_EQUAL(e2e_metric(&g1, "fintwin_gateway_ws_authenticated"), 2);
    CU_ASSERT_EQUAL(e2e_livepub_routed(a), 1);
    expect_msg(t1, "{\"type\":\"probe\"}");
    expect_msg(t2, "{\"type\":\"probe\"}");
    ft_ws_close(t1, 1000);
    CU_ASSERT_FATAL(wait_metric(&g1, "fintwin_gateway_ws_authenticated", 1, 5000));
    CU_ASSERT_EQUAL(e2e_livepub_routed(a), 1); /* t2 still holds it */
    expect_msg(t2, "{\"type\":\"probe\"}");
    ft_ws_close(t2, 1000);
    /* After the last socket: the binding is gone on the broker, and the gauge is 0. */
    struct routed_wait w = {a, 0};
    CU_ASSERT(ft_wait_until(is_routed, &w, 5000));
    CU_ASSERT(wait_metric(&g1, "fintwin_gateway_ws_bound_users", 0, 5000));
    CU_ASSERT(wait_metric(&g1, "fintwin_gateway_ws_sockets", 0, 5000));
}

static void test_e2e_ws_close_order_logs_out(void)
{
    char a[PROTO_UUID_LEN + 1], b[PROTO_UUID_LEN + 1];
    struct ft_ws *a1 = ready_ws(&g1, NULL, a);
    struct ft_ws *a2 = ready_ws(&g2, a, NULL);
    struct ft_ws *bs = ready_ws(&g1, NULL, b);
    static const char order[] = "{\"code\":1008,\"reason\":\"logged out\"}";
    int64_t t0 = ft_now_ms();
    CU_ASSERT_EQUAL_FATAL(e2e_livepub_publish(a, "close", order, sizeof order - 1), 0);
    /* Functional deadline, generous for a loaded sanitized build: the order is pushed, not
     * found by a poll or a token's expiry (minutes away). */
    expect_close(a1, 1008, "logged out", 5000);
    expect_close(a2, 1008, "logged out", 5000);
    int64_t ms = ft_now_ms() - t0;
    fprintf(stderr, "close order took %lld ms\n", (long long)ms);
    /* B is untouched. */
    char f[128];
    snprintf(f, sizeof f, "{\"type\":\"balance\",\"user\":\"%s\"}", b);
    CU_ASSERT_EQUAL(publish(b, f), 0);
    expect_msg(bs, f);
    CU_ASSERT_EQUAL(ft_ws_close_code(bs), 0);
    ft_ws_close(a1, 1000);
    ft_ws_close(a2, 1000);
    ft_ws_close(bs, 1000);
}

static void test_e2e_ws_token_expiry_closes(void)
{
    /* Verification allows 30 s of clock skew after exp, like HTTP routes, so the socket
     * closes at exp + 30 s: this token's exp is 28 s ago, its socket has 2 s left. */
    char tok[PROTO_TOKEN_MAX];
    mint(&keys, NULL, 60, 32, tok, sizeof tok, NULL);
    struct ft_ws *ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    int64_t t0 = ft_now_ms();
    CU_ASSERT_EQUAL_FATAL(ft_ws_auth(ws, tok, WS_WAIT), 0);
    expect_close(ws, 1008, "token expired", 5000);
    int64_t ms = ft_now_ms() - t0;
    CU_ASSERT(ms >= 900); /* not before exp + 30 s (after it: expect_close's deadline) */
    ft_ws_close(ws, 1000);
}

static void test_e2e_ws_slow_consumer(void)
{
    char a[PROTO_UUID_LEN + 1], b[PROTO_UUID_LEN + 1];
    struct ft_ws *slow = ready_ws(&g2, NULL, a);
    struct ft_ws *fine = ready_ws(&g2, NULL, b);
    double before = closed(&g2, "slow_consumer");
    static char frame[60001];
    memset(frame, 'x', sizeof frame - 1);
    memcpy(frame, "{\"type\":\"notification\",\"pad\":\"", 30);
    memcpy(frame + sizeof frame - 3, "\"}", 2);
    size_t flen = strlen(frame);
    /* The client never reads: socket buffers fill, then the gateway's queue. Publish in
     * batches, each time giving the gateway up to 300 ms to decide. */
    int sent = 0, decided = 0;
    while (sent < 1000 && !decided) {
        for (int i = 0; i < 20; i++, sent++)
            CU_ASSERT_EQUAL_FATAL(e2e_livepub_publish(a, NULL, frame, flen), 0);
        decided = wait_metric(&g2, "fintwin_gateway_ws_closed_total{reason=\"slow_consumer\"}",
                              before + 1, 300);
    }
    fprintf(stderr, "slow consumer closed after %d frames of %zu bytes\n", sent, flen);
    CU_ASSERT(decided);
    /* Reading now drains what was already in flight, then the close. */
    int frames = 0;
    for (;;) {
        char *m = NULL;
        int r = ft_ws_recv(slow, 5000, &m, NULL);
        free(m);
        if (r != 1)
            break;
        frames++;
    }
    fprintf(stderr, "the slow socket read %d frames before its close\n", frames);
    CU_ASSERT(frames < sent);
    CU_ASSERT_EQUAL(ft_ws_close_code(slow), 1008);
    CU_ASSERT_STRING_EQUAL(ft_ws_close_reason(slow), "slow consumer");
    /* The gateway stays healthy, and the other user's socket works. */
    CU_ASSERT_EQUAL(e2e_get_status(&g2, "/healthz"), 200);
    CU_ASSERT_EQUAL(publish(b, "{\"type\":\"balance\"}"), 0);
    expect_msg(fine, "{\"type\":\"balance\"}");
    ft_ws_close(slow, 1000);
    ft_ws_close(fine, 1000);
}

static void test_e2e_ws_burst_is_not_slow(void)
{
    /* 500 frames (4x GW_WS_QUEUE_MAX, 2 MiB: twice the byte cap) at once to a client that
     * reads: all arrive, in order, and nothing is closed. */
    char a[PROTO_UUID_LEN + 1];
    struct ft_ws *ws = ready_ws(&g1, NULL, a);
    double before = closed(&g1, "slow_consumer");
    static char frame[4200];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(frame, sizeof frame, "{\"type\":\"balance\",\"seq\":%d,\"pad\":\"", i);
        memset(frame + n, 'p', 4096);
        memcpy(frame + n + 4096, "\"}", 3);
        CU_ASSERT_EQUAL_FATAL(publish(a, frame), 0);
    }
    int got = 0, in_order = 1;
    char *m = NULL;
    while (got < 500 && ft_ws_recv(ws, WS_WAIT, &m, NULL) == 1) {
        char want[48];
        snprintf(want, sizeof want, "{\"type\":\"balance\",\"seq\":%d,", got);
        in_order &= strncmp(m, want, strlen(want)) == 0;
        free(m);
        m = NULL;
        got++;
    }
    CU_ASSERT_EQUAL(got, 500);
    CU_ASSERT(in_order);
    CU_ASSERT_EQUAL(ft_ws_close_code(ws), 0);
    CU_ASSERT_EQUAL(closed(&g1, "slow_consumer"), before);
    ft_ws_close(ws, 1000);
}

#define MANY 1000

static void test_e2e_ws_thousand_users(void)
{
    struct ft_ws **ws = calloc(MANY, sizeof *ws);
    char(*user)[PROTO_UUID_LEN + 1] = calloc(MANY, sizeof *user);
    int *state = calloc(MANY, sizeof *state); /* 0 wait ready, 1 wait frame, 2 wait end, 3 done */
    struct pollfd *pfd = calloc(MANY, sizeof *pfd);
    CU_ASSERT_FATAL(ws && user && state && pfd);
    int64_t t0 = ft_now_ms();
    for (int i = 0; i < MANY; i++) {
        char tok[PROTO_TOKEN_MAX], msg[PROTO_TOKEN_MAX + 64];
        struct proto_token_claims cl;
        mint(&keys, NULL, 0, 900, tok, sizeof tok, &cl);
        memcpy(user[i], cl.sub, sizeof user[i]);
        ws[i] = open_ws(&g1, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ws[i]);
        int n = snprintf(msg, sizeof msg, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
        CU_ASSERT_EQUAL_FATAL(ft_ws_send_text(ws[i], msg, (size_t)n), 0);
    }
    int64_t t1 = ft_now_ms();
    /* Everybody's ready, then one frame each, then a second one: the second must be
     * the next message, so nothing else (another user's frame) came in between. */
    int done = 0, ready = 0, bad = 0;
    int64_t deadline = ft_now_ms() + 30000;
    while (done < MANY && ft_now_ms() < deadline && !bad) {
        for (int i = 0; i < MANY; i++)
            pfd[i] = (struct pollfd){ft_ws_fd(ws[i]), POLLIN, 0};
        if (poll(pfd, MANY, 1000) < 0)
            break;
        for (int i = 0; i < MANY; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char *m = NULL;
            int r;
            while ((r = ft_ws_recv(ws[i], 0, &m, NULL)) == 1) {
                char want[160];
                if (state[i] == 0)
                    snprintf(want, sizeof want, "{\"type\":\"ready\"}");
                else
                    snprintf(want, sizeof want, "{\"type\":\"%s\",\"user\":\"%s\"}",
                             state[i] == 1 ? "notification" : "end", user[i]);
                if (strcmp(m, want) != 0) {
                    fprintf(stderr, "socket %d: got %s, want %s\n", i, m, want);
                    bad++;
                }
                free(m);
                m = NULL;
                state[i]++;
                if (state[i] == 1 && ++ready == MANY) {
                    fprintf(stderr, "%d sockets ready in %lld ms (connect %lld ms)\n", MANY,
                            (long long)(ft_now_ms() - t0), (long long)(t1 - t0));
                    for (int k = 0; k < MANY; k++) {
                        char f[160];
                        snprintf(f, sizeof f, "{\"type\":\"notification\",\"user\":\"%s\"}",
                                 user[k]);
                        CU_ASSERT_EQUAL_FATAL(publish(user[k], f), 0);
                        snprintf(f, sizeof f, "{\"type\":\"end\",\"user\":\"%s\"}", user[k]);
                        CU_ASSERT_EQUAL_FATAL(publish(user[k], f), 0);
                    }
                }
                if (state[i] == 3)
                    done++;
            }
            if (r < 0) {
                fprintf(stderr, "socket %d closed: %d %s\n", i, ft_ws_close_code(ws[i]),
                        ft_ws_close_reason(ws[i]));
                bad++;
                break;
            }
        }
    }
    fprintf(stderr, "%d of %d sockets got exactly their frames in %lld ms\n", done, MANY,
            (long long)(ft_now_ms() - t0));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(done, MANY);
    CU_ASSERT(wait_metric(&g1, "fintwin_gateway_ws_bound_users", MANY, 5000));
    for (int i = 0; i < MANY; i++)
        ft_ws_close(ws[i], 1000);
    CU_ASSERT(wait_metric(&g1, "fintwin_gateway_ws_bound_users", 0, 10000));
    free(ws);
    free(user);
    free(state);
    free(pfd);
}

/* Frames from ft.live over 64 KiB, or not UTF-8, are dropped and counted; the socket stays. */
static void test_e2e_ws_bad_live_frames_dropped(void)
{
    char u[PROTO_UUID_LEN + 1];
    struct ft_ws *ws = ready_ws(&g1, NULL, u);
    double invalid = e2e_metric(&g1, "fintwin_gateway_ws_frames_dropped_total{reason=\"invalid\"}");
    static char big[70 * 1024];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"type\":\"big\"}", 14);
    CU_ASSERT_EQUAL_FATAL(e2e_livepub_publish(u, NULL, big, sizeof big), 0);
    static const char latin1[] = "{\"type\":\"note\",\"text\":\"caf\xe9\"}";
    CU_ASSERT_EQUAL_FATAL(e2e_livepub_publish(u, NULL, latin1, sizeof latin1 - 1), 0);
    char barrier[128];
    snprintf(barrier, sizeof barrier, "{\"type\":\"barrier\",\"user\":\"%s\"}", u);
    CU_ASSERT_EQUAL_FATAL(publish(u, barrier), 0);
    expect_msg(ws, barrier); /* neither bad frame came before it */
    CU_ASSERT_EQUAL(ft_ws_close_code(ws), 0);
    CU_ASSERT(wait_metric(&g1, "fintwin_gateway_ws_frames_dropped_total{reason=\"invalid\"}",
                          invalid + 2, 5000));
    ft_ws_close(ws, 1000);
}

/* GW_ALLOWED_ORIGINS empty (the default): any request with an Origin is refused, one
 * without is served. */
static void test_e2e_ws_no_origins_configured(void)
{
    struct e2e g;
    e2e_init(&g, "ws-noorigins");
    CU_ASSERT_EQUAL_FATAL(e2e_start_gateway(&g, NULL), 0);
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", g.port);
    const char *origins[] = {origin, ORIGIN_OK};
    for (size_t i = 0; i < 2; i++) {
        struct ft_ws *ws = open_ws(&g, origins[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
        expect_close(ws, 1008, "origin not allowed", WS_WAIT);
        ft_ws_close(ws, 1000);
    }
    char tok[PROTO_TOKEN_MAX];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    struct ft_ws *ws = open_ws(&g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    CU_ASSERT_EQUAL(ft_ws_auth(ws, tok, WS_WAIT), 0);
    ft_ws_close(ws, 1000);
    e2e_stop_all(&g);
    e2e_cleanup(&g);
}

/* No token reaches the log: not from the auth message, a URL, a header, or when refused. */
static void test_e2e_ws_tokens_never_logged(void)
{
    char tok[PROTO_TOKEN_MAX], bad[PROTO_TOKEN_MAX], path[PROTO_TOKEN_MAX + 64],
        hdr[PROTO_TOKEN_MAX + 32];
    mint(&keys, NULL, 0, 900, tok, sizeof tok, NULL);
    snprintf(bad, sizeof bad, "%s", tok);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A'; /* signature broken */
    struct ft_ws *ws = open_ws(&g1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    CU_ASSERT_EQUAL(ft_ws_auth(ws, tok, WS_WAIT), 0);
    ft_ws_close(ws, 1000);
    expect_auth_close(bad, 1008, "invalid token");
    snprintf(path, sizeof path, "/api/ws?token=%s", tok);
    ws = ft_ws_connect(g1.port, path, NULL, 3000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    expect_close(ws, 1008, "auth timeout", WS_WAIT);
    ft_ws_close(ws, 1000);
    const char *toks[] = {tok, bad};
    for (size_t i = 0; i < 2; i++) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", toks[i]);
        const char *headers[] = {hdr, NULL};
        snprintf(path, sizeof path, "/api/auth/me?token=%s", toks[i]);
        struct ft_http_resp r;
        CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&g1, path), headers, NULL, 0, 5000, &r), 0);
        ft_http_resp_free(&r);
    }
    /* The signature is the secret part; the whole token contains it. */
    char path_log[300], line[8192];
    snprintf(path_log, sizeof path_log, "%s/gateway.log", g1.dir);
    FILE *f = fopen(path_log, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const char *sig = strrchr(tok, '.') + 1, *bad_sig = strrchr(bad, '.') + 1;
    int lines = 0, leaks = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        if (strstr(line, sig) || strstr(line, bad_sig)) {
            leaks++;
            fprintf(stderr, "token in the log: %.200s\n", line);
        }
    }
    fclose(f);
    CU_ASSERT(lines > 10);
    CU_ASSERT_EQUAL(leaks, 0);
}

static void test_e2e_ws_shutdown_says_going_away(void)
{
    struct ft_ws *ws = ready_ws(&g2, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(kill(g2.gw, SIGTERM), 0);
    expect_close(ws, 1001, "going away", 5000);
    int st = ft_stop(g2.gw, SIGTERM, 10000);
    g2.gw = 0;
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ft_ws_close(ws, 1000);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_ws", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_ws_upgrade_and_origin", test_e2e_ws_upgrade_and_origin);
    CU_add_test(s, "test_e2e_ws_auth_timeout_and_no_url_token",
                test_e2e_ws_auth_timeout_and_no_url_token);
    CU_add_test(s, "test_e2e_ws_auth_refused", test_e2e_ws_auth_refused);
    CU_add_test(s, "test_e2e_ws_redis_down_fails_closed", test_e2e_ws_redis_down_fails_closed);
    CU_add_test(s, "test_e2e_ws_limits", test_e2e_ws_limits);
    CU_add_test(s, "test_e2e_ws_fanout_to_one_user_only", test_e2e_ws_fanout_to_one_user_only);
    CU_add_test(s, "test_e2e_ws_any_gateway_serves_any_user",
                test_e2e_ws_any_gateway_serves_any_user);
    CU_add_test(s, "test_e2e_ws_binding_follows_sockets", test_e2e_ws_binding_follows_sockets);
    CU_add_test(s, "test_e2e_ws_close_order_logs_out", test_e2e_ws_close_order_logs_out);
    CU_add_test(s, "test_e2e_ws_token_expiry_closes", test_e2e_ws_token_expiry_closes);
    CU_add_test(s, "test_e2e_ws_slow_consumer", test_e2e_ws_slow_consumer);
    CU_add_test(s, "test_e2e_ws_burst_is_not_slow", test_e2e_ws_burst_is_not_slow);
    CU_add_test(s, "test_e2e_ws_thousand_users", test_e2e_ws_thousand_users);
    CU_add_test(s, "test_e2e_ws_bad_live_frames_dropped", test_e2e_ws_bad_live_frames_dropped);
    CU_add_test(s, "test_e2e_ws_no_origins_configured", test_e2e_ws_no_origins_configured);
    CU_add_test(s, "test_e2e_ws_tokens_never_logged", test_e2e_ws_tokens_never_logged);
    CU_add_test(s, "test_e2e_ws_shutdown_says_going_away", test_e2e_ws_shutdown_says_going_away);
    return ft_cunit_run();
}
