/*
 * E2E: the gateway's authentication. It refuses to start without a >= 32-byte
 * JWT_SECRET; on a protected route it answers 401 (with the right code and
 * WWW-Authenticate) for a missing, malformed, forged, expired or foreign token without
 * publishing anything (its own /metrics count no RPC); a revoked token (ft:deny:<jti>
 * in Redis) is 401 token_revoked; Redis down is 503 auth_unavailable while public
 * routes work; and a valid token reaches the auth worker.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"

#include "proto/b64.h"
#include "proto/token.h"

#define AUTH 0 /* index of "auth" in e2e_kinds */

static struct e2e st;

static const struct proto_token_keys keys = {E2E_JWT_SECRET, sizeof E2E_JWT_SECRET - 1,
                                             E2E_JWT_ISSUER, E2E_JWT_AUDIENCE};

static int suite_init(void)
{
    e2e_init(&st, "auth-gateway");
    const char *env[] = {"RPC_TIMEOUT_MS=2000", NULL};
    if (e2e_start_gateway(&st, env) != 0) {
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

/* A minted token for a fresh user, valid now (or shifted by `age` seconds). */
static void mint(const struct proto_token_keys *k, int64_t age, char *tok, size_t n,
                 struct proto_token_claims *cl)
{
    char sub[PROTO_UUID_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(sub), 0);
    CU_ASSERT_FATAL(proto_token_mint(k, sub, (int64_t)time(NULL) - age, 900, tok, n, cl) > 0);
}

/* GET/PUT `path` with "Authorization: <auth>" (auth NULL: no header). */
static void call(const char *method, const struct e2e *e, const char *path, const char *auth,
                 const char *body, struct ft_http_resp *r)
{
    char h[PROTO_TOKEN_MAX + 64];
    const char *hdrs[] = {h, NULL};
    if (auth)
        snprintf(h, sizeof h, "Authorization: %s", auth);
    ft_http(method, e2e_url(e, path), auth ? hdrs : NULL, body, body ? strlen(body) : 0, 5000, r);
}

/* Asserts a 401 with `code` and a Bearer challenge. */
static void expect_401(const char *method, const char *path, const char *auth, const char *body,
                       const char *code)
{
    struct ft_http_resp r;
    char needle[64];
    call(method, &st, path, auth, body, &r);
    snprintf(needle, sizeof needle, "\"code\":\"%s\"", code);
    int ok = r.status == 401 && r.body && strstr(r.body, needle);
    char *www = ft_http_header(&r, "WWW-Authenticate");
    if (!ok || !www)
        fprintf(stderr, "expected 401 %s for %s %.40s: got %ld %s\n", code, path,
                auth ? auth : "(none)", r.status, r.body ? r.body : "");
    CU_ASSERT(ok);
    CU_ASSERT_PTR_NOT_NULL(www);
    if (www)
        CU_ASSERT_EQUAL(strncmp(www, "Bearer", 6), 0);
    free(www);
    ft_http_resp_free(&r);
}

/* The value of a /metrics sample line ("name value"), or -1. */
static void b64url(const char *in, char *out)
{
    size_t n = strlen(in);
    proto_b64url_encode(in, n, out, PROTO_B64URL_LEN(n) + 1);
}

/* Runs the gateway with `env` and returns its exit status (-1 if it kept running). */
static int gateway_exit(const char *const env[])
{
    char port[32], log[300];
    snprintf(port, sizeof port, "GW_PORT=%d", ft_free_port());
    snprintf(log, sizeof log, "%s/refused.log", st.dir);
    const char *all[8] = {port};
    for (int i = 0; env[i] && i < 6; i++)
        all[i + 1] = env[i];
    char *argv[] = {"fintwin-gateway", NULL};
    pid_t pid = ft_spawn(ft_bin("fintwin-gateway"), argv, (char *const *)all, log);
    CU_ASSERT_FATAL(pid > 0);
    int status = -1;
    int64_t end = ft_now_ms() + 5000;
    while (!ft_exited(pid, &status) && ft_now_ms() < end) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (ft_now_ms() >= end && status == -1) {
        ft_stop(pid, SIGTERM, 5000);
        return -1;
    }
    return status;
}

static void test_e2e_auth_refuses_to_start_without_secret(void)
{
    const char *unset[] = {"JWT_SECRET=", NULL};
    int s = gateway_exit(unset);
    CU_ASSERT(WIFEXITED(s) && WEXITSTATUS(s) == 78);
    const char *short_secret[] = {"JWT_SECRET=0123456789012345678901234567890", NULL}; /* 31 */
    s = gateway_exit(short_secret);
    CU_ASSERT(WIFEXITED(s) && WEXITSTATUS(s) == 78);
    const char *bad_redis[] = {"JWT_SECRET=" E2E_JWT_SECRET, "REDIS_URL=http://x", NULL};
    s = gateway_exit(bad_redis);
    CU_ASSERT(WIFEXITED(s) && WEXITSTATUS(s) == 78);
    /* 32 bytes is enough: that one starts */
    struct e2e g;
    e2e_init(&g, "auth-gateway-32");
    const char *ok32[] = {"JWT_SECRET=01234567890123456789012345678901", NULL};
    CU_ASSERT_EQUAL(e2e_start_gateway(&g, ok32), 0);
    e2e_stop_all(&g);
    e2e_cleanup(&g);
}

static void test_e2e_auth_bad_tokens_cost_no_rpc(void)
{
    double rpcs = e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count");
    double refused = e2e_metric(&st, "fintwin_gateway_auth_refused_total");
    CU_ASSERT_FATAL(rpcs >= 0 && refused >= 0);

    char tok[PROTO_TOKEN_MAX], auth[PROTO_TOKEN_MAX + 16];
    struct proto_token_claims cl;
    int n = 0;
    expect_401("GET", "/api/auth/me", NULL, NULL, "unauthenticated"), n++;
    expect_401("PUT", "/api/auth/profile", NULL, "{\"account_name\":\"x\"}", "unauthenticated"),
        n++;
    expect_401("GET", "/api/auth/me", "Bearer", NULL, "invalid_token"), n++;
    expect_401("GET", "/api/auth/me", "Basic dXNlcjpwYXNz", NULL, "invalid_token"), n++;
    expect_401("GET", "/api/auth/me", "Bearer garbage", NULL, "invalid_token"), n++;
    expect_401("GET", "/api/auth/me", "Bearer a.b.c", NULL, "invalid_token"), n++;

    /* alg none, with the claims of a valid token */
    mint(&keys, 0, tok, sizeof tok, &cl);
    char h[64], none[PROTO_TOKEN_MAX + 64];
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", h);
    const char *payload = strchr(tok, '.') + 1;
    size_t plen = (size_t)(strrchr(tok, '.') - payload);
    snprintf(none, sizeof none, "Bearer %s.%.*s.", h, (int)plen, payload);
    expect_401("GET", "/api/auth/me", none, NULL, "invalid_token"), n++;
    none[strlen(none) - 1] = '\0';
    expect_401("GET", "/api/auth/me", none, NULL, "invalid_token"), n++;

    /* another secret, wrong aud, wrong iss */
    struct proto_token_keys k = keys;
    k.secret = "another-secret-of-enough-length-0123456789abcdef";
    k.secret_len = strlen(k.secret);
    mint(&k, 0, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    expect_401("GET", "/api/auth/me", auth, NULL, "invalid_token"), n++;
    k = keys;
    k.audience = "other-api";
    mint(&k, 0, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    expect_401("GET", "/api/auth/me", auth, NULL, "invalid_token"), n++;
    k = keys;
    k.issuer = "evil";
    mint(&k, 0, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    expect_401("GET", "/api/auth/me", auth, NULL, "invalid_token"), n++;

    /* expired an hour ago (minted 3600 + 900 s ago) */
    mint(&keys, 3600 + 900, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    expect_401("GET", "/api/auth/me", auth, NULL, "token_expired"), n++;
    expect_401("POST", "/api/auth/logout", auth, NULL, "token_expired"), n++;

    /* Nothing reached the broker: no RPC was answered or timed out, none is in flight. */
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count"), rpcs);
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_rpc_timeouts_total"), 0);
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_inflight"), 0);
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_auth_refused_total"), refused + n);
}

static int auth_up(void *arg)
{
    (void)arg;
    return e2e_status_worker_ok(&st, AUTH, 1);
}

static void test_e2e_auth_valid_token_reaches_worker(void)
{
    CU_ASSERT_EQUAL_FATAL(e2e_start_worker(&st, AUTH), 0);
    CU_ASSERT_FATAL(ft_wait_until(auth_up, NULL, 20000));
    double rpcs = e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count");
    char tok[PROTO_TOKEN_MAX], auth[PROTO_TOKEN_MAX + 16];
    mint(&keys, 0, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    struct ft_http_resp r;
    call("GET", &st, "/api/auth/me", auth, NULL, &r);
    fprintf(stderr, "valid token: %ld %s\n", r.status, r.body ? r.body : "");
    /* Whatever the worker says about this unknown user, it was the worker that said it. */
    CU_ASSERT(r.status >= 200 && r.status != 503 && r.status != 504);
    CU_ASSERT(r.status != 401 || !strstr(r.body, "\"code\":\"invalid_token\""));
    CU_ASSERT_PTR_NULL(strstr(r.body, "\"code\":\"unauthenticated\""));
    CU_ASSERT_PTR_NULL(strstr(r.body, "\"code\":\"token_revoked\""));
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count"), rpcs + 1);
    ft_http_resp_free(&r);

    /* This auth worker has no GOOGLE_CLIENT_ID: Google sign-in says so (503), whatever the
     * credential, rather than trying to verify it. */
    call("POST", &st, "/api/auth/google", NULL, "{\"credential\":\"a.b.c\"}", &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"google_not_configured\""));
    ft_http_resp_free(&r);
}

static void test_e2e_auth_revoked_token(void)
{
    char tok[PROTO_TOKEN_MAX], auth[PROTO_TOKEN_MAX + 16];
    struct proto_token_claims cl;
    mint(&keys, 0, tok, sizeof tok, &cl);
    CU_ASSERT_EQUAL_FATAL(e2e_deny_jti(cl.jti), 0);
    double rpcs = e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count");
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    expect_401("GET", "/api/auth/me", auth, NULL, "token_revoked");
    expect_401("PUT", "/api/auth/profile", auth, "{\"account_name\":\"x\"}", "token_revoked");
    /* answered by the gateway from Redis: no RPC */
    CU_ASSERT_EQUAL(e2e_metric(&st, "fintwin_gateway_rpc_latency_seconds_count"), rpcs);
}

static void test_e2e_auth_redis_down_fails_closed(void)
{
    struct e2e g;
    e2e_init(&g, "auth-gateway-noredis");
    char redis[64];
    snprintf(redis, sizeof redis, "REDIS_URL=redis://127.0.0.1:%d/0", ft_free_port());
    const char *env[] = {redis, NULL};
    CU_ASSERT_EQUAL_FATAL(e2e_start_gateway(&g, env), 0);
    /* the auth worker of the suite consumes rpc.auth, so only Redis can stop this */
    CU_ASSERT_FATAL(e2e_wait_body(&g, "/api/status", "{\"name\":\"auth\",\"ok\":true", 10000));
    char tok[PROTO_TOKEN_MAX], auth[PROTO_TOKEN_MAX + 16];
    mint(&keys, 0, tok, sizeof tok, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    for (int i = 0; i < 3; i++) { /* also while the reconnect backoff runs */
        struct ft_http_resp r;
        call("GET", &g, "/api/auth/me", auth, NULL, &r);
        CU_ASSERT_EQUAL(r.status, 503);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"auth_unavailable\""));
        ft_http_resp_free(&r);
    }
    /* a bad token is still 401 (checked before Redis), public routes still work */
    struct ft_http_resp r;
    call("GET", &g, "/api/auth/me", "Bearer x.y.z", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(e2e_get_status(&g, "/api/sys/auth/ping"), 200);
    /* and the signals agree: not ready, status names Redis as down and is not ok */
    call("GET", &g, "/readyz", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "session store (Redis) is unreachable"));
    ft_http_resp_free(&r);
    call("GET", &g, "/api/status", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"redis\":{\"ok\":false,\"denylist\":\"down\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"broker\":{\"ok\":true}"));
    CU_ASSERT(r.body && strcmp(r.body + strlen(r.body) - 11, "\"ok\":false}") == 0);
    ft_http_resp_free(&r);
    call("GET", &g, "/metrics", NULL, NULL, &r);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "fintwin_gateway_session_store_ok 0\n"));
    ft_http_resp_free(&r);
    /* the suite's gateway, on the real Redis, is ready and ok on that count */
    call("GET", &st, "/readyz", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_http_resp_free(&r);
    call("GET", &st, "/api/status", NULL, NULL, &r);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"redis\":{\"ok\":true,\"denylist\":\"ok\"}"));
    ft_http_resp_free(&r);
    e2e_stop_all(&g);
    e2e_cleanup(&g);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_auth_gateway", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_auth_refuses_to_start_without_secret",
                test_e2e_auth_refuses_to_start_without_secret);
    CU_add_test(s, "test_e2e_auth_bad_tokens_cost_no_rpc", test_e2e_auth_bad_tokens_cost_no_rpc);
    CU_add_test(s, "test_e2e_auth_valid_token_reaches_worker",
                test_e2e_auth_valid_token_reaches_worker);
    CU_add_test(s, "test_e2e_auth_revoked_token", test_e2e_auth_revoked_token);
    CU_add_test(s, "test_e2e_auth_redis_down_fails_closed", test_e2e_auth_redis_down_fails_closed);
    return ft_cunit_run();
}
