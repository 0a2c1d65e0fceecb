/*
 * E2E: a stopped worker. Its route answers 503 or 504 within the deadline and never
 * hangs, also with a deadline longer than libwebsockets' own request timer; /api/status shows
 * it ok=false while the others stay ok; it recovers when the worker comes back. Runs serially: no
 * other process may consume rpc.notification.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

#define DEADLINE_MS 1500
#define DOWN        6 /* notification */

static struct e2e st;

static int suite_init(void)
{
    e2e_init(&st, "worker-down");
    const char *env[] = {"RPC_TIMEOUT_MS=1500", NULL};
    return e2e_start_all(&st, env) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static size_t sink(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    (void)userp;
    return size * nmemb;
}

struct probe {
    int n, bad;
};

/* One request to the stopped worker's route: 503/504 in under deadline + 1 s. */
static int probe_once(void *arg)
{
    struct probe *p = arg;
    struct ft_http_resp r;
    int64_t t0 = ft_now_ms();
    int rc = ft_http("GET", e2e_url(&st, "/api/sys/notification/ping"), NULL, NULL, 0,
                     DEADLINE_MS + 5000, &r);
    int64_t ms = ft_now_ms() - t0;
    int good = rc == 0 && (r.status == 503 || r.status == 504) && ms < DEADLINE_MS + 3000 &&
               strstr(r.body, "\"code\":\"") != NULL;
    if (!good)
        fprintf(stderr, "probe %d: rc=%d status=%ld after %lld ms body=%s\n", p->n, rc, r.status,
                (long long)ms, r.body ? r.body : "");
    ft_http_resp_free(&r);
    p->bad += !good;
    return ++p->n >= 5; /* five probes in a row, starting right after the stop */
}

static void test_e2e_stopped_worker_fails_fast(void)
{
    int status = e2e_stop_worker(&st, DOWN);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct probe p = {0, 0};
    CU_ASSERT_TRUE(ft_wait_until(probe_once, &p, 5 * (DEADLINE_MS + 1500)));
    CU_ASSERT_EQUAL(p.n, 5);
    CU_ASSERT_EQUAL(p.bad, 0);
}

static int status_shows_down(void *arg)
{
    (void)arg;
    int64_t t0 = ft_now_ms();
    if (!e2e_status_worker_ok(&st, DOWN, 0))
        return 0;
    if (ft_now_ms() - t0 > DEADLINE_MS + 1000)
        return 0;
    for (int k = 0; k < E2E_KINDS; k++)
        if (k != DOWN && !e2e_status_worker_ok(&st, k, 1))
            return 0;
    return 1;
}

static void test_e2e_status_shows_worker_down(void)
{
    CU_ASSERT_TRUE(ft_wait_until(status_shows_down, NULL, 15000));
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/api/status"), NULL, NULL, 0, 5000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "},\"ok\":false}"));
    ft_http_resp_free(&r);
    /* Other routes are unaffected. */
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/api/sys/auth/ping"), 200);
}

static void test_e2e_worker_comes_back(void)
{
    CU_ASSERT_EQUAL_FATAL(e2e_start_worker(&st, DOWN), 0);
    CU_ASSERT_TRUE(e2e_wait_all_ok(&st, 30000));
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/api/sys/notification/ping"), 200);
}

static long inflight(void)
{
    struct ft_http_resp r;
    long n = -1;
    if (ft_http("GET", e2e_url(&st, "/metrics"), NULL, NULL, 0, 3000, &r) == 0) {
        static const char key[] = "\nfintwin_gateway_inflight ";
        const char *p = strstr(r.body, key);
        if (p)
            n = strtol(p + sizeof key - 1, NULL, 10);
    }
    ft_http_resp_free(&r);
    return n;
}

/*
 * SIGTERM with a request in flight: a frozen worker (SIGSTOP keeps its consumer) never
 * answers, so the gateway must answer 504 at the deadline and then exit 0 promptly.
 */
static void test_e2e_sigterm_answers_inflight(void)
{
    const int frozen = 2; /* twin */
    CU_ASSERT_EQUAL_FATAL(kill(st.workers[frozen], SIGSTOP), 0);
    CURLM *m = curl_multi_init();
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, e2e_url(&st, "/api/sys/twin/ping"));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_multi_add_handle(m, h);
    int running = 1;
    int64_t t0 = ft_now_ms();
    while (inflight() < 1 && ft_now_ms() - t0 < 3000) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    CU_ASSERT_EQUAL(inflight(), 1);
    int64_t t_term = ft_now_ms();
    kill(st.gw, SIGTERM);
    while (running && ft_now_ms() - t_term < 8000) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    CU_ASSERT_EQUAL(code, 504);
    int status = ft_stop(st.gw, SIGTERM, DEADLINE_MS + 2000);
    st.gw = 0;
    int64_t ms = ft_now_ms() - t_term;
    fprintf(stderr, "in-flight request answered %ld; gateway exited %d, %lld ms after SIGTERM\n",
            code, WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long long)ms);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(ms < DEADLINE_MS + 3000);
    kill(st.workers[frozen], SIGCONT);
    curl_multi_remove_handle(m, h);
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
}

struct capture {
    char body[8192];
    size_t len;
};

static size_t capture(char *data, size_t size, size_t nmemb, void *userp)
{
    struct capture *c = userp;
    size_t n = size * nmemb, room = sizeof c->body - 1 - c->len;
    memcpy(c->body + c->len, data, n < room ? n : room);
    c->len += n < room ? n : room;
    c->body[c->len] = '\0';
    return n;
}

/*
 * A deadline longer than libwebsockets' own request timer (5 s from the request's head): a
 * frozen worker's route still answers 504 at the deadline, and /api/status 200 with that
 * worker's part at 504, instead of a connection closed with no response (which is what every
 * client of a hung worker got under the default RPC_TIMEOUT_MS=5000). A second gateway with a
 * 6.5 s deadline; both requests run at once, so the test waits one deadline.
 */
#define LONG_DEADLINE_MS 6500
static void test_e2e_long_deadline_still_answers(void)
{
    const int frozen = 5; /* persona */
    struct e2e slow;
    memset(&slow, 0, sizeof slow);
    e2e_init(&slow, "worker-down-long-deadline");
    const char *env[] = {"RPC_TIMEOUT_MS=6500", NULL};
    CU_ASSERT_EQUAL_FATAL(e2e_start_gateway(&slow, env), 0);
    /* /healthz answers before the bridge connects: wait until every worker answers through it */
    CU_ASSERT_FATAL(e2e_wait_all_ok(&slow, 15000));
    CU_ASSERT_EQUAL_FATAL(kill(st.workers[frozen], SIGSTOP), 0);

    const char *paths[2] = {"/api/sys/persona/ping", "/api/status"};
    static struct capture got[2];
    CURL *h[2];
    CURLM *m = curl_multi_init();
    for (int i = 0; i < 2; i++) {
        got[i].len = 0;
        got[i].body[0] = '\0';
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, e2e_url(&slow, paths[i]));
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, (long)LONG_DEADLINE_MS + 8000);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, capture);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &got[i]);
        curl_multi_add_handle(m, h[i]);
    }
    int64_t t0 = ft_now_ms();
    int running = 2;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    int64_t ms = ft_now_ms() - t0;
    long code[2] = {0, 0};
    CURLcode res[2] = {CURLE_OK, CURLE_OK};
    int msgs;
    for (CURLMsg *msg; (msg = curl_multi_info_read(m, &msgs));)
        for (int i = 0; i < 2; i++)
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h[i])
                res[i] = msg->data.result;
    for (int i = 0; i < 2; i++) {
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code[i]);
        fprintf(stderr, "%s: curl=%d status=%ld after %lld ms body=%.200s\n", paths[i], res[i],
                code[i], (long long)ms, got[i].body);
        CU_ASSERT_EQUAL(res[i], CURLE_OK);
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    CU_ASSERT_EQUAL(code[0], 504);
    CU_ASSERT_PTR_NOT_NULL(strstr(got[0].body, "\"code\":\"upstream_timeout\""));
    CU_ASSERT_EQUAL(code[1], 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(got[1].body, "{\"name\":\"persona\",\"ok\":false,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got[1].body, "\"status\":504,"));
    CU_ASSERT(ms >= LONG_DEADLINE_MS - 100 && ms < LONG_DEADLINE_MS + 3000);

    kill(st.workers[frozen], SIGCONT);
    e2e_stop_all(&slow);
    e2e_cleanup(&slow);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_worker_down", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_stopped_worker_fails_fast", test_e2e_stopped_worker_fails_fast);
    CU_add_test(s, "test_e2e_status_shows_worker_down", test_e2e_status_shows_worker_down);
    CU_add_test(s, "test_e2e_worker_comes_back", test_e2e_worker_comes_back);
    CU_add_test(s, "test_e2e_long_deadline_still_answers", test_e2e_long_deadline_still_answers);
    CU_add_test(s, "test_e2e_sigterm_answers_inflight", test_e2e_sigterm_answers_inflight);
    return ft_cunit_run();
}
