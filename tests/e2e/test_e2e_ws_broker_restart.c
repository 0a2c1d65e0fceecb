/*
 * E2E: RabbitMQ stops and starts under a gateway holding an authenticated WebSocket.
 * The socket stays open through the outage (a socket is not the broker's to close), and
 * once the broker is back the gateway declares a new live queue and binds the user again
 * by itself: a frame published after the restart reaches the same socket. A user who
 * connects during the outage is ready too, and bound once the broker returns.
 * Needs FT_SERVICES/FT_SVC_DIR/FT_SVC_OFF (deploy/local/test.sh); runs serially.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "e2e_livepub.h"
#include "ft_ws.h"

#include "proto/token.h"
#include "proto/uuid.h"

static struct e2e st;
static int broker_down;
static const struct proto_token_keys keys = {E2E_JWT_SECRET, sizeof E2E_JWT_SECRET - 1,
                                             E2E_JWT_ISSUER, E2E_JWT_AUDIENCE};

/* Runs `$FT_SERVICES <cmd> $FT_SVC_DIR $FT_SVC_OFF`; returns its exit status or -1. */
static int services(const char *cmd)
{
    char *argv[] = {(char *)ft_env("FT_SERVICES", ""), (char *)cmd,
                    (char *)ft_env("FT_SVC_DIR", ""), (char *)ft_env("FT_SVC_OFF", "0"), NULL};
    char log[300];
    snprintf(log, sizeof log, "%s/services.log", st.dir);
    pid_t pid = ft_spawn(argv[0], argv, NULL, log);
    int status;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int suite_init(void)
{
    e2e_init(&st, "ws-broker-restart");
    if (e2e_start_gateway(&st, NULL) != 0 || !e2e_wait_body(&st, "/readyz", "ready", 10000)) {
        fprintf(stderr, "gateway did not start (see %s)\n", st.dir);
        e2e_stop_all(&st);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    if (broker_down && services("start-rabbit") == 0)
        broker_down = 0;
    e2e_livepub_close();
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static struct ft_ws *ready_ws(char *sub)
{
    char tok[PROTO_TOKEN_MAX];
    struct proto_token_claims cl;
    CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(sub), 0);
    CU_ASSERT_FATAL(proto_token_mint(&keys, sub, (int64_t)time(NULL), 900, tok, sizeof tok, &cl) >
                    0);
    struct ft_ws *ws = ft_ws_connect(st.port, "/api/ws", NULL, 3000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    CU_ASSERT_EQUAL_FATAL(ft_ws_auth(ws, tok, 3000), 0);
    return ws;
}

static void expect_msg(struct ft_ws *ws, const char *want)
{
    char *m = NULL;
    int r = ft_ws_recv(ws, 5000, &m, NULL);
    if (r != 1 || strcmp(m, want) != 0)
        fprintf(stderr, "expected %s, got %d %s\n", want, r, r == 1 ? m : "");
    CU_ASSERT_EQUAL(r, 1);
    if (r == 1)
        CU_ASSERT_STRING_EQUAL(m, want);
    free(m);
}

static int not_ready(void *arg)
{
    (void)arg;
    return e2e_get_status(&st, "/readyz") == 503;
}

static int is_routed(void *arg)
{
    return e2e_livepub_routed(arg) == 1;
}

static void test_e2e_ws_survives_broker_restart(void)
{
    char a[PROTO_UUID_LEN + 1], b[PROTO_UUID_LEN + 1];
    struct ft_ws *ws = ready_ws(a);
    CU_ASSERT_EQUAL_FATAL(e2e_livepub_open(), 0);
    CU_ASSERT_EQUAL(e2e_livepub_publish(a, NULL, "{\"type\":\"before\"}", 17), 0);
    expect_msg(ws, "{\"type\":\"before\"}");
    e2e_livepub_close();

    broker_down = 1;
    CU_ASSERT_EQUAL_FATAL(services("stop-rabbit"), 0);
    CU_ASSERT_FATAL(ft_wait_until(not_ready, NULL, 15000));
    struct ft_ws *during = ready_ws(b); /* auth needs Redis only */
    CU_ASSERT_EQUAL_FATAL(services("start-rabbit"), 0);
    broker_down = 0;
    int64_t t0 = ft_now_ms();
    CU_ASSERT_FATAL(e2e_wait_body(&st, "/readyz", "ready", 30000));
    CU_ASSERT_EQUAL_FATAL(e2e_livepub_open(), 0);
    /* Both users are bound again without anyone reconnecting. */
    CU_ASSERT(ft_wait_until(is_routed, a, 10000));
    CU_ASSERT(ft_wait_until(is_routed, b, 10000));
    fprintf(stderr, "rebound %lld ms after the broker was back\n", (long long)(ft_now_ms() - t0));
    CU_ASSERT_EQUAL(ft_ws_close_code(ws), 0);
    CU_ASSERT_EQUAL(e2e_livepub_publish(a, NULL, "{\"type\":\"after\"}", 16), 0);
    CU_ASSERT_EQUAL(e2e_livepub_publish(b, NULL, "{\"type\":\"after\"}", 16), 0);
    /* The probes of the waits above may come first: skip them. */
    for (int i = 0; i < 2; i++) {
        struct ft_ws *w = i ? during : ws;
        char *m = NULL;
        int r;
        while ((r = ft_ws_recv(w, 5000, &m, NULL)) == 1 && strcmp(m, "{\"type\":\"probe\"}") == 0) {
            free(m);
            m = NULL;
        }
        CU_ASSERT_EQUAL(r, 1);
        if (r == 1)
            CU_ASSERT_STRING_EQUAL(m, "{\"type\":\"after\"}");
        free(m);
    }
    ft_ws_close(ws, 1000);
    ft_ws_close(during, 1000);
}

int main(void)
{
    int rc;
    if ((rc = ft_need_servers()) || (rc = ft_need_services()))
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_ws_broker_restart", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_ws_survives_broker_restart", test_e2e_ws_survives_broker_restart);
    return ft_cunit_run();
}
