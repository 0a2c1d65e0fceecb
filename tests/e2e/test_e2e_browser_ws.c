/*
 * e2e, a real browser on the live channel (issue 17 point 1): Debian's Chromium, driven by
 * tests/browser/ws_idle.mjs (playwright-core on the Node that tests/browser pins), opens
 * /api/ws from a page this gateway served, authenticates, and then sends nothing for 125 s.
 * The gateway keeps its default keepalive (a ping after GW_WS_PING_S = 30 idle seconds, the
 * socket dropped when nothing arrives 15 s later), so only the browser's own answers to four
 * pings keep the socket open. A gateway whose pings Chromium's pongs do not reach (an empty
 * ping, which lws 4.1.6 does not report the empty answer to) drops it after ~45 s, and this
 * test fails then.
 *
 * After the idle time the page deposits money over HTTP and the notification must arrive on
 * the same socket (auth, transaction and notification workers run); the page closes with
 * 1000, and /metrics must count that one close as the client's and none as lost.
 *
 * Without Chromium or tests/browser/node_modules (`npm ci --prefix tests/browser`, which
 * deploy/local/test.sh runs), it skips outside CI and fails under CI=true, like a missing
 * server.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define IDLE_S    125 /* four ping rounds at the default 30 s, and the 45 s drop twice over */
#define FRAME_S   45  /* the deposit's notification; events of earlier tests may queue first */
#define BROWSER_S (IDLE_S + FRAME_S + 60) /* the script's watchdog fires before this */

static struct e2e st;
static struct e2e_browser br;

static const int kinds[] = {0 /* auth */, 1 /* transaction */, 6 /* notification */};

static int workers_ok(void *arg)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!e2e_status_worker_ok(arg, kinds[i], 1))
            return 0;
    return 1;
}

static int suite_init(void)
{
    e2e_init(&st, "browser-ws");
    /* The page is served by this gateway, as web/ is in production, and a browser always
     * sends Origin. */
    st.self_origin = 1;
    if (e2e_start_gateway(&st, NULL) != 0) {
        fprintf(stderr, "gateway did not start (see %s)\n", st.dir);
        goto fail;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (e2e_start_worker(&st, kinds[i]) != 0)
            goto fail;
    if (!ft_wait_until(workers_ok, &st, 30000)) {
        fprintf(stderr, "auth, transaction and notification did not answer (see %s)\n", st.dir);
        goto fail;
    }
    return 0;
fail:
    e2e_stop_all(&st);
    return 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

/* Runs ws_idle.mjs for `token` and returns its JSON report (NULL when there is none). */
static json_t *run_browser(const char *token)
{
    char url[80], tok[2200], idle[32], frame[32];
    snprintf(url, sizeof url, "FT_GATEWAY_URL=http://127.0.0.1:%d", st.port);
    snprintf(tok, sizeof tok, "FT_TOKEN=%s", token);
    snprintf(idle, sizeof idle, "FT_IDLE_S=%d", IDLE_S);
    snprintf(frame, sizeof frame, "FT_FRAME_S=%d", FRAME_S);
    char *env[] = {url, tok, idle, frame, NULL};
    return e2e_run_browser_script(&st, &br, "ws_idle.mjs", env, BROWSER_S);
}

static long long num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* The metric line `name value` as /metrics prints it, e.g. for e2e_wait_body. */
static const char *metric(const char *name, int value)
{
    static char line[2][160];
    static int slot;
    char *b = line[slot++ & 1];
    snprintf(b, sizeof line[0], "\n%s %d\n", name, value);
    return b;
}

static void test_e2e_browser_ws_idle_socket_stays_open(void)
{
    struct e2e_user u;
    CU_ASSERT_FATAL(e2e_register(&st, "browser-ws", &u) == 0);
    int64_t t0 = ft_now_ms();
    json_t *r = run_browser(u.token);
    e2e_user_free(&u);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    char *text = json_dumps(r, JSON_COMPACT);
    fprintf(stderr, "\n  browser (%.1f s): %s\n", (double)(ft_now_ms() - t0) / 1000, text);

    const json_t *idle_close = json_object_get(r, "close_during_idle");
    const json_t *fin = json_object_get(r, "final_close");
    char origin[80];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", st.port);
    CU_ASSERT(json_is_null(json_object_get(r, "error")));
    const char *page_origin = json_string_value(json_object_get(r, "origin"));
    CU_ASSERT_STRING_EQUAL(page_origin ? page_origin : "", origin);
    /* the auth message was accepted */
    CU_ASSERT(json_is_true(json_object_get(r, "ready")));
    /* idle for the whole time, and nothing closed the socket meanwhile */
    CU_ASSERT(num(r, "idled_ms") >= IDLE_S * 1000 - 1000);
    CU_ASSERT(json_is_null(idle_close));
    if (json_is_object(idle_close))
        fprintf(stderr, "  the idle socket was closed %lld s after it opened: code %lld\n",
                num(idle_close, "at_ms") / 1000, num(idle_close, "code"));
    CU_ASSERT(json_is_true(json_object_get(r, "open_after_idle")));
    /* and it still delivers: the deposit's notification arrived on it */
    CU_ASSERT_EQUAL(num(r, "deposit_status"), 201);
    CU_ASSERT(json_is_integer(json_object_get(r, "notification_ms")));
    /* the page's own close, clean */
    CU_ASSERT_EQUAL(num(fin, "code"), 1000);
    CU_ASSERT(json_is_true(json_object_get(fin, "wasClean")));
    free(text);
    json_decref(r);

    /* The gateway saw one socket, closed by the client, none lost (no pong, broken link). */
    CU_ASSERT(e2e_wait_body(&st, "/metrics",
                            metric("fintwin_gateway_ws_closed_total{reason=\"client\"}", 1), 5000));
    struct ft_http_resp m;
    CU_ASSERT_EQUAL(e2e_call(&st, "GET", "/metrics", NULL, NULL, NULL, &m), 200);
    CU_ASSERT(e2e_body_has(
        &m, metric("fintwin_gateway_ws_closed_total{reason=\"protocol_or_network\"}", 0)));
    CU_ASSERT(e2e_body_has(&m, metric("fintwin_gateway_ws_sockets", 0)));
    ft_http_resp_free(&m);
}

int main(void)
{
    int rc;
    if ((rc = ft_need_servers()) != 0 || (rc = e2e_need_browser(&br, FT_DEFAULT_SOURCE_DIR)) != 0)
        return rc;
    /* The default keepalive is what a browser meets: a stray setting must not weaken it. */
    unsetenv("GW_WS_PING_S");
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("e2e_browser_ws", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_browser_ws_idle_socket_stays_open",
                test_e2e_browser_ws_idle_socket_stays_open);
    return ft_cunit_run();
}
