/*
 * e2e, the digital twin over HTTP through the real gateway and all seven workers: a user
 * deposits, runs a what-if (the gateway's routes, the Idempotency-Key header and its replay),
 * a projection with Monte Carlo, reads and clears the history, and the medium-risk outcome
 * reaches the notification worker as "Simulation completed" (transaction -> twin -> outbox
 * -> ft.events -> notification). A second user cannot see or delete the first one's
 * simulations by naming their ids.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proto/uuid.h"

#define WAIT_MS 20000

static struct e2e st;

static int suite_init(void)
{
    e2e_init(&st, "twin");
    return e2e_start_all(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

/* A request as the user (idem may be NULL: no Idempotency-Key). Returns the status. */
static long call(const char *method, const char *path, const struct e2e_user *u, const char *idem,
                 const char *body, struct ft_http_resp *r)
{
    return e2e_call(&st, method, path, u, idem, body, r);
}

static void register_user(const char *name, struct e2e_user *u)
{
    CU_ASSERT_FATAL(e2e_register(&st, name, u) == 0);
}

static int notified(void *arg)
{
    struct ft_http_resp r;
    int ok = call("GET", "/api/notifications/", arg, NULL, NULL, &r) == 200 &&
             strstr(r.body, "Simulation completed") != NULL;
    ft_http_resp_free(&r);
    return ok;
}

static void test_e2e_twin_simulate_history_and_alert(void)
{
    struct e2e_user a, b;
    register_user("twin-a", &a);
    register_user("twin-b", &b);
    struct ft_http_resp r;
    char idem[64], path[160], *sim = NULL, *proj = NULL;
    CU_ASSERT_EQUAL(call("POST", "/api/transactions/", &a, NULL,
                         "{\"type\":\"deposit\",\"amount\":\"2000.00\"}", &r),
                    201);
    ft_http_resp_free(&r);

    /* a what-if on the live balance; the client's balance is ignored */
    char key[PROTO_UUID_LEN + 1];
    proto_uuid_v4(key);
    snprintf(idem, sizeof idem, "twin-%s", key);
    const char *body = "{\"scenario\":\"withdrawal\",\"amount\":\"1500\",\"balance\":99999999}";
    CU_ASSERT_EQUAL(call("POST", "/api/simulate/", &a, idem, body, &r), 201);
    CU_ASSERT(e2e_body_has(&r, "\"current_balance\":2000.00"));
    CU_ASSERT(e2e_body_has(&r, "\"virtual_balance\":500.00"));
    CU_ASSERT(e2e_body_has(&r, "\"alert_level\":\"medium\""));
    sim = e2e_json_str(r.body, "id");
    char *first = r.body ? strdup(r.body) : NULL;
    ft_http_resp_free(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sim);
    /* the same key again: the stored answer, marked as a replay */
    CU_ASSERT_EQUAL(call("POST", "/api/simulate", &a, idem, body, &r), 201);
    char *replayed = ft_http_header(&r, "Idempotent-Replayed");
    CU_ASSERT(replayed && strcmp(replayed, "true") == 0);
    CU_ASSERT(first && r.body && strcmp(first, r.body) == 0);
    free(replayed);
    free(first);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("POST", "/api/simulate/", &a, idem,
                         "{\"scenario\":\"withdrawal\",\"amount\":\"1501\"}", &r),
                    422);
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"idempotency_key_reused\""));
    ft_http_resp_free(&r);

    /* a projection with Monte Carlo; a bad one answers its code */
    CU_ASSERT_EQUAL(call("POST", "/api/simulate/projection", &a, NULL,
                         "{\"horizon_months\":60,\"events\":[{\"type\":\"expense\",\"amount\":20,"
                         "\"recurring\":true}],\"monte_carlo\":{\"paths\":1000,\"seed\":3}}",
                         &r),
                    201);
    CU_ASSERT(e2e_body_has(&r, "\"start_balance\":2000.00"));
    CU_ASSERT(e2e_body_has(&r, "\"bands\":[{\"month\":1,"));
    proj = e2e_json_str(r.body, "id");
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(
        call("POST", "/api/simulate/projection", &a, NULL, "{\"horizon_months\":0}", &r), 422);
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"invalid_horizon\""));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("POST", "/api/simulate/", NULL, NULL, body, &r), 401);
    ft_http_resp_free(&r);

    /* history: newest first, by the user's id as older clients ask, and without it */
    snprintf(path, sizeof path, "/api/simulate/history/%s", a.id);
    CU_ASSERT_EQUAL(call("GET", path, &a, NULL, NULL, &r), 200);
    CU_ASSERT(r.body && proj && sim && strstr(r.body, proj) && strstr(r.body, sim) &&
              strstr(r.body, proj) < strstr(r.body, sim));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("GET", "/api/simulate/history", &a, NULL, NULL, &r), 200);
    CU_ASSERT(r.body && sim && strstr(r.body, sim));
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/simulate/history/detail/%s", proj ? proj : "x");
    CU_ASSERT_EQUAL(call("GET", path, &a, NULL, NULL, &r), 200);
    CU_ASSERT(e2e_body_has(&r, "\"months\":[{\"month\":1,"));
    ft_http_resp_free(&r);

    /* B sees and deletes nothing of A's */
    CU_ASSERT_EQUAL(call("GET", path, &b, NULL, NULL, &r), 404);
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"simulation_not_found\""));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("DELETE", path, &b, NULL, NULL, &r), 404);
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/simulate/history/%s", a.id);
    CU_ASSERT_EQUAL(call("GET", path, &b, NULL, NULL, &r), 404);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("DELETE", path, &b, NULL, NULL, &r), 404);
    ft_http_resp_free(&r);

    /* the medium outcome became a notification */
    CU_ASSERT(ft_wait_until(notified, &a, WAIT_MS));

    /* delete one, then clear the rest */
    snprintf(path, sizeof path, "/api/simulate/history/detail/%s", sim);
    CU_ASSERT_EQUAL(call("DELETE", path, &a, NULL, NULL, &r), 200);
    CU_ASSERT(e2e_body_has(&r, "\"message\":\"Simulation deleted.\""));
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/simulate/history/%s", a.id);
    CU_ASSERT_EQUAL(call("DELETE", path, &a, NULL, NULL, &r), 200);
    CU_ASSERT(e2e_body_has(&r, "\"deleted_count\":1"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("GET", "/api/simulate/history/", &a, NULL, NULL, &r), 200);
    CU_ASSERT(r.body && strcmp(r.body, "[]") == 0);
    ft_http_resp_free(&r);

    free(sim);
    free(proj);
    e2e_user_free(&a);
    e2e_user_free(&b);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_twin", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_twin_simulate_history_and_alert",
                test_e2e_twin_simulate_history_and_alert);
    return ft_cunit_run();
}
