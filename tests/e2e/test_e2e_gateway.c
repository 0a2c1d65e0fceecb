/*
 * E2E: one gateway and the seven workers over HTTP. Status fan-out, health, error
 * shapes (404/405/413/400/415), request ids, static files with SPA fallback, keep-alive, the
 * client address the workers see, 1,000 concurrent requests, and SIGTERM.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

#include "proto/uuid.h"

static struct e2e st;
static char web[300];

static int suite_init(void)
{
    e2e_init(&st, "gateway");
    char p[400];
    snprintf(web, sizeof web, "%s/web", st.dir);
    mkdir(web, 0755);
    snprintf(p, sizeof p, "%s/assets", web);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/index.html", web);
    ft_write_file(p, "<!doctype html><title>e2e-spa-index</title>");
    snprintf(p, sizeof p, "%s/assets/app.js", web);
    ft_write_file(p, "console.log('e2e-app-js');");
    snprintf(p, sizeof p, "%s/.env", web);
    ft_write_file(p, "SECRET=e2e-dotfile");

    static char root[400];
    snprintf(root, sizeof root, "GW_WEB_ROOT=%s", web);
    const char *env[] = {root, "GW_MAX_BODY=4096", NULL};
    return e2e_start_all(&st, env) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static void assert_error(const struct ft_http_resp *r, long status, const char *code)
{
    char needle[128];
    CU_ASSERT_EQUAL(r->status, status);
    snprintf(needle, sizeof needle, "\"code\":\"%s\"", code);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body, needle));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body, "{\"detail\":\""));
    char *ct = ft_http_header(r, "Content-Type");
    CU_ASSERT(ct && strncmp(ct, "application/json", 16) == 0);
    free(ct);
    char *rid = ft_http_header(r, "X-Request-Id");
    CU_ASSERT(rid && strlen(rid) > 0);
    free(rid);
}

static void test_e2e_status_all_ok(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(ft_http("GET", e2e_url(&st, "/api/status"), NULL, NULL, 0, 10000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    for (int k = 0; k < E2E_KINDS; k++) {
        char needle[96];
        snprintf(needle, sizeof needle, "{\"name\":\"%s\",\"ok\":true,\"ms\":", e2e_kinds[k]);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, needle));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":200,\"version\":\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "},\"ok\":true}"));
    CU_ASSERT_PTR_NULL(strstr(r.body, "\"ok\":false"));
    char *cc = ft_http_header(&r, "Cache-Control");
    CU_ASSERT(cc && strcmp(cc, "no-store") == 0);
    free(cc);
    ft_http_resp_free(&r);
}

static void test_e2e_health_ready_metrics(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/healthz"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\"}");
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/readyz"), 200);
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/metrics"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "fintwin_gateway_broker_connected 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "fintwin_gateway_requests_total{class=\"2xx\"} "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "fintwin_gateway_rpc_latency_seconds_count "));
    ft_http_resp_free(&r);
}

static void test_e2e_ping_request_id(void)
{
    struct ft_http_resp r;
    const char *h[] = {"X-Request-Id: e2e-ping.1_A", NULL};
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/sys/auth/ping?x=1&x=2"), h, NULL, 0, 5000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"name\":\"auth\""));
    char *rid = ft_http_header(&r, "X-Request-Id");
    CU_ASSERT(rid && strcmp(rid, "e2e-ping.1_A") == 0);
    free(rid);
    ft_http_resp_free(&r);

    /* An unacceptable id is replaced by a fresh UUID; the trailing slash is the same route. */
    const char *bad[] = {"X-Request-Id: not ok!", NULL};
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/sys/risk/ping/"), bad, NULL, 0, 5000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"name\":\"risk\""));
    rid = ft_http_header(&r, "X-Request-Id");
    CU_ASSERT(rid && strlen(rid) == 36 && strcmp(rid, "not ok!") != 0);
    free(rid);
    ft_http_resp_free(&r);
}

static void test_e2e_not_found(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/no/such/route"), NULL, NULL, 0, 3000, &r), 0);
    assert_error(&r, 404, "not_found");
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/sys/nobody/ping"), NULL, NULL, 0, 3000, &r), 0);
    assert_error(&r, 404, "not_found");
    ft_http_resp_free(&r);
}

static void test_e2e_method_not_allowed(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(
        ft_http("POST", e2e_url(&st, "/api/sys/auth/ping"), NULL, "{}", 2, 3000, &r), 0);
    assert_error(&r, 405, "method_not_allowed");
    char *allow = ft_http_header(&r, "Allow");
    CU_ASSERT(allow && strcmp(allow, "GET, HEAD") == 0);
    free(allow);
    ft_http_resp_free(&r);
}

static void test_e2e_payload_too_large(void)
{
    size_t n = 8192;
    char *body = malloc(n + 1);
    memset(body, 'a', n);
    body[0] = '"';
    body[n - 1] = '"';
    body[n] = '\0';
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), NULL, body, n, 5000, &r), 0);
    assert_error(&r, 413, "payload_too_large");
    ft_http_resp_free(&r);
    free(body);
    /* The gateway still serves afterwards. */
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/api/sys/auth/ping"), 200);
}

static void test_e2e_invalid_json(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(
        ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), NULL, "{\"a\": 1,", 8, 5000, &r), 0);
    assert_error(&r, 400, "invalid_json");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "invalid JSON: "));
    ft_http_resp_free(&r);

    /* A valid body passes through to the worker. */
    CU_ASSERT_EQUAL_FATAL(ft_http("GET", e2e_url(&st, "/api/sys/twin/ping"), NULL,
                                  "{\"amount\": 125.50}", 18, 5000, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_http_resp_free(&r);
}

static void test_e2e_unsupported_media_type(void)
{
    struct ft_http_resp r;
    const char *h[] = {"Content-Type: text/plain", NULL};
    CU_ASSERT_EQUAL_FATAL(ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), h, "a=1", 3, 5000, &r),
                          0);
    assert_error(&r, 415, "unsupported_media_type");
    ft_http_resp_free(&r);
}

static void test_e2e_invalid_idempotency_key(void)
{
    char h0[400] = "Idempotency-Key: ";
    size_t n = strlen(h0);
    memset(h0 + n, 'k', 300);
    h0[n + 300] = '\0';
    const char *h[] = {h0, NULL};
    struct ft_http_resp r;
    CU_ASSERT_EQUAL_FATAL(ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), h, NULL, 0, 5000, &r),
                          0);
    assert_error(&r, 400, "invalid_idempotency_key");
    ft_http_resp_free(&r);
    const char *ok[] = {"Idempotency-Key: e2e-key-1", NULL};
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/api/sys/auth/ping"), ok, NULL, 0, 5000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_http_resp_free(&r);
}

static void test_e2e_static_fallback(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "e2e-spa-index"));
    ft_http_resp_free(&r);

    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/settings/profile"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "e2e-spa-index"));
    char *ct = ft_http_header(&r, "Content-Type");
    CU_ASSERT(ct && strncmp(ct, "text/html", 9) == 0);
    free(ct);
    ft_http_resp_free(&r);

    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/assets/app.js"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "e2e-app-js"));
    ct = ft_http_header(&r, "Content-Type");
    CU_ASSERT(ct && strncmp(ct, "text/javascript", 15) == 0);
    free(ct);
    ft_http_resp_free(&r);

    /* Dotfiles are never served, and traversal (encoded too) never leaves the root. */
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/.env"), NULL, NULL, 0, 3000, &r), 0);
    CU_ASSERT_PTR_NULL(strstr(r.body, "e2e-dotfile"));
    ft_http_resp_free(&r);
    const char *trav[] = {"/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/%2e%2e/.env",
                          "/..%2f..%2f..%2fetc%2fpasswd"};
    for (size_t i = 0; i < sizeof trav / sizeof trav[0]; i++) {
        CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, trav[i]), NULL, NULL, 0, 3000, &r), 0);
        CU_ASSERT_PTR_NULL(strstr(r.body, "root:"));
        CU_ASSERT_PTR_NULL(strstr(r.body, "e2e-dotfile"));
        ft_http_resp_free(&r);
    }

    /* /api paths never fall back to the SPA. */
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/api/settings"), NULL, NULL, 0, 3000, &r), 0);
    assert_error(&r, 404, "not_found");
    ft_http_resp_free(&r);
}

static size_t sink(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    (void)userp;
    return size * nmemb;
}

/* Two requests, and an error response in between, on one reused connection. */
static void test_e2e_keep_alive(void)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    const char *paths[] = {"/api/sys/auth/ping", "/api/nope", "/healthz", "/api/sys/twin/ping"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        curl_easy_setopt(h, CURLOPT_URL, e2e_url(&st, paths[i]));
        CU_ASSERT_EQUAL(curl_easy_perform(h), CURLE_OK);
        long code = 0, connects = -1;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        CU_ASSERT_EQUAL(code, i == 1 ? 404 : 200);
        CU_ASSERT_EQUAL(connects, i == 0 ? 1 : 0); /* 0: the connection was reused */
    }
    curl_easy_cleanup(h);
}

/*
 * The client's address reaches the workers as args.meta.ip. The auth worker counts sign-ups
 * per address in ft:register:ip:<ip> ("unknown" without one): two sign-ups from this loopback
 * client, the second on the same keep-alive connection, count twice under 127.0.0.1.
 */
static void test_e2e_client_address_reaches_workers(void)
{
    const char *key = "ft:register:ip:127.0.0.1";
    long long before = e2e_redis_int(key);
    CU_ASSERT_FATAL(before >= 0);
    char url[256], body[2][256], rnd[PROTO_UUID_LEN + 1];
    snprintf(url, sizeof url, "%s", e2e_url(&st, "/api/auth/register"));
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(rnd), 0);
        snprintf(body[i], sizeof body[i],
                 "{\"email\":\"addr-%.8s@example.com\",\"password\":\"a long passphrase\","
                 "\"full_name\":\"Address %d\"}",
                 rnd, i);
    }
    CURL *h = curl_easy_init();
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    long status[2] = {0, 0}, conns = -1;
    for (int i = 0; i < 2; i++) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body[i]);
        CU_ASSERT_EQUAL(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status[i]);
    }
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    CU_ASSERT_EQUAL(status[0], 201);
    CU_ASSERT_EQUAL(status[1], 201);
    CU_ASSERT_EQUAL(conns, 0); /* the second request reused the first one's connection */
    /* >=: another test on the same servers may sign up from 127.0.0.1 meanwhile. */
    CU_ASSERT(e2e_redis_int(key) >= before + 2);
}

/* ---- 1,000 concurrent requests ---- */

#define NCONC 1000

struct conc {
    CURL *h;
    struct curl_slist *hl;
    char id[64], hdr_line[96];
    int kind;
    char *body, *rid;
    size_t body_len;
};

static size_t conc_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct conc *c = userp;
    size_t add = size * nmemb;
    char *p = realloc(c->body, c->body_len + add + 1);
    if (!p)
        return 0;
    memcpy(p + c->body_len, data, add);
    c->body_len += add;
    p[c->body_len] = '\0';
    c->body = p;
    return add;
}

static size_t conc_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct conc *c = userp;
    size_t n = size * nmemb;
    if (n > 13 && strncasecmp(data, "x-request-id:", 13) == 0) {
        const char *v = data + 13;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(data + n - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        free(c->rid);
        c->rid = strndup(v, vl);
    }
    return n;
}

static void test_e2e_thousand_concurrent(void)
{
    struct conc *cs = calloc(NCONC, sizeof *cs);
    CURLM *m = curl_multi_init();
    for (int i = 0; i < NCONC; i++) {
        struct conc *c = &cs[i];
        c->kind = i % E2E_KINDS;
        snprintf(c->id, sizeof c->id, "e2e-conc-%d-%d", (int)getpid(), i);
        snprintf(c->hdr_line, sizeof c->hdr_line, "X-Request-Id: %s", c->id);
        c->hl = curl_slist_append(NULL, c->hdr_line);
        char path[128];
        snprintf(path, sizeof path, "/api/sys/%s/ping?n=%d", e2e_kinds[c->kind], i);
        c->h = curl_easy_init();
        curl_easy_setopt(c->h, CURLOPT_URL, e2e_url(&st, path));
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hl);
        curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, conc_body);
        curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, conc_header);
        curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
        curl_multi_add_handle(m, c->h);
    }
    int64_t t0 = ft_now_ms();
    int running = 1;
    while (running && ft_now_ms() - t0 < 40000) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    int ok = 0, transport = 0, wrong_status = 0, wrong_id = 0, wrong_body = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
            transport++;
    for (int i = 0; i < NCONC; i++) {
        struct conc *c = &cs[i];
        long code = 0;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
        char needle[64];
        snprintf(needle, sizeof needle, "\"name\":\"%s\"", e2e_kinds[c->kind]);
        if (code != 200)
            wrong_status++;
        else if (!c->rid || strcmp(c->rid, c->id) != 0)
            wrong_id++;
        else if (!c->body || !strstr(c->body, needle))
            wrong_body++;
        else
            ok++;
        curl_multi_remove_handle(m, c->h);
        curl_easy_cleanup(c->h);
        curl_slist_free_all(c->hl);
        free(c->body);
        free(c->rid);
    }
    curl_multi_cleanup(m);
    free(cs);
    fprintf(stderr,
            "concurrent: %d ok, %d transport errors, %d non-200, %d id mismatches, %d bad bodies "
            "in %lld ms\n",
            ok, transport, wrong_status, wrong_id, wrong_body, (long long)(ft_now_ms() - t0));
    CU_ASSERT_EQUAL(ok, NCONC);
}

/* ---- SIGTERM ---- */

static void test_e2e_sigterm_exits_zero(void)
{
    struct e2e g;
    e2e_init(&g, "sigterm");
    CU_ASSERT_EQUAL_FATAL(e2e_start_gateway(&g, NULL), 0);
    CU_ASSERT_TRUE(e2e_wait_body(&g, "/readyz", "ready", 10000));
    int64_t t0 = ft_now_ms();
    int status = ft_stop(g.gw, SIGTERM, 8000);
    int64_t ms = ft_now_ms() - t0;
    fprintf(stderr, "gateway exited %d after SIGTERM in %lld ms\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long long)ms);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    CU_ASSERT(ms < 5000); /* idle: no drain to wait for (RPC_TIMEOUT_MS + 1 s would be 6 s) */
    e2e_cleanup(&g);
}

/* Listening sockets on `port` in /proc/net/<file> (tcp or tcp6); the local address of the last
 * one (hex, as the kernel prints it) into addr. */
static int listeners(const char *file, int port, char addr[64])
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/net/%s", file);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char local[64];
        unsigned state;
        if (sscanf(line, " %*d: %63s %*s %x", local, &state) != 2 || state != 0x0A) /* LISTEN */
            continue;
        char *colon = strrchr(local, ':');
        if (!colon || (int)strtol(colon + 1, NULL, 16) != port)
            continue;
        *colon = '\0';
        snprintf(addr, 64, "%s", local);
        n++;
    }
    fclose(f);
    return n;
}

/* GW_BIND=127.0.0.1 (the default) listens on loopback only: lws 4.1 used to listen on [::]. */
static void test_e2e_listens_on_loopback_only(void)
{
    char addr[64] = "";
    CU_ASSERT_EQUAL(listeners("tcp", st.port, addr), 1);
    CU_ASSERT_STRING_EQUAL(addr, "0100007F"); /* 127.0.0.1, little-endian hex */
    CU_ASSERT_EQUAL(listeners("tcp6", st.port, addr), 0);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_gateway", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_status_all_ok", test_e2e_status_all_ok);
    CU_add_test(s, "test_e2e_listens_on_loopback_only", test_e2e_listens_on_loopback_only);
    CU_add_test(s, "test_e2e_health_ready_metrics", test_e2e_health_ready_metrics);
    CU_add_test(s, "test_e2e_ping_request_id", test_e2e_ping_request_id);
    CU_add_test(s, "test_e2e_not_found", test_e2e_not_found);
    CU_add_test(s, "test_e2e_method_not_allowed", test_e2e_method_not_allowed);
    CU_add_test(s, "test_e2e_payload_too_large", test_e2e_payload_too_large);
    CU_add_test(s, "test_e2e_invalid_json", test_e2e_invalid_json);
    CU_add_test(s, "test_e2e_unsupported_media_type", test_e2e_unsupported_media_type);
    CU_add_test(s, "test_e2e_invalid_idempotency_key", test_e2e_invalid_idempotency_key);
    CU_add_test(s, "test_e2e_static_fallback", test_e2e_static_fallback);
    CU_add_test(s, "test_e2e_keep_alive", test_e2e_keep_alive);
    CU_add_test(s, "test_e2e_client_address_reaches_workers",
                test_e2e_client_address_reaches_workers);
    CU_add_test(s, "test_e2e_thousand_concurrent", test_e2e_thousand_concurrent);
    CU_pSuite t = CU_add_suite("e2e_sigterm", NULL, NULL);
    CU_add_test(t, "test_e2e_sigterm_exits_zero", test_e2e_sigterm_exits_zero);
    return ft_cunit_run();
}
