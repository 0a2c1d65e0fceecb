/*
 * e2e, a logout survives Redis losing its data. Redis runs without persistence, so a restart
 * (or a flush, which this test does: the same empty store) used to forget every revoked
 * access token, and a token logged out before it worked again. Through the real gateway and
 * auth worker: after the flush, the logged-out token is never accepted: the gateway answers
 * 503 auth_unavailable while the denylist is being restored (the seeded marker is missing)
 * and 401 token_revoked once the auth worker has copied the revocations back from
 * PostgreSQL, about a second later; /readyz says "restoring" meanwhile and is ready after.
 * Flushes the shared test Redis: runs serially.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proto/kvkeys.h"

#define WAIT_MS 10000

static struct e2e st;

static int suite_init(void)
{
    e2e_init(&st, "revocation");
    return e2e_start_with_auth(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static long me(const struct e2e_user *u, struct ft_http_resp *r)
{
    return e2e_call(&st, "GET", "/api/auth/me", u, NULL, NULL, r);
}

static void test_e2e_revocation_logout_survives_a_redis_flush(void)
{
    struct e2e_user gone = {0}, stays = {0};
    CU_ASSERT_FATAL(e2e_register(&st, "gone", &gone) == 0);
    CU_ASSERT_FATAL(e2e_register(&st, "stays", &stays) == 0);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(e2e_call(&st, "POST", "/api/auth/logout", &gone, NULL, NULL, &r), 204);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(me(&gone, &r), 401);
    ft_http_resp_free(&r);

    CU_ASSERT_EQUAL_FATAL(e2e_redis_flush(), 0);
    CU_ASSERT_EQUAL(e2e_redis_has(PROTO_KV_DENY_SEEDED), 0);
    /* From the flush on: refused while restoring, then revoked; never accepted. */
    int64_t deadline = ft_now_ms() + WAIT_MS;
    int restoring = 0, revoked = 0, accepted = 0, other = 0;
    while (!revoked && ft_now_ms() < deadline) {
        long status = me(&gone, &r);
        if (status == 401 && r.body && strstr(r.body, "\"code\":\"token_revoked\""))
            revoked = 1;
        else if (status == 503 && r.body && strstr(r.body, "\"code\":\"auth_unavailable\""))
            restoring++;
        else if (status == 200)
            accepted++;
        else
            other++;
        ft_http_resp_free(&r);
    }
    fprintf(stderr, "\n  after the flush: %d answers 503 while restoring, then 401\n", restoring);
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(revoked, 1);
    CU_ASSERT_EQUAL(e2e_redis_has(PROTO_KV_DENY_SEEDED), 1);

    /* the service is whole again: ready, and a live session works */
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/readyz"), 200);
    CU_ASSERT_EQUAL(me(&stays, &r), 200);
    ft_http_resp_free(&r);
    e2e_user_free(&gone);
    e2e_user_free(&stays);
}

/* While the marker is missing, /readyz and /api/status say the store is being restored. The
 * auth worker is stopped so that the state lasts long enough to be seen. */
static void test_e2e_revocation_restoring_is_visible(void)
{
    CU_ASSERT_EQUAL_FATAL(e2e_stop_worker(&st, 0), 0);
    CU_ASSERT_EQUAL_FATAL(e2e_redis_flush(), 0);
    CU_ASSERT(e2e_wait_body(&st, "/api/status", "\"denylist\":\"restoring\"", WAIT_MS));
    struct ft_http_resp r;
    e2e_call(&st, "GET", "/readyz", NULL, NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "being restored"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(e2e_start_worker(&st, 0), 0);
    CU_ASSERT(e2e_wait_body(&st, "/api/status", "\"denylist\":\"ok\"", WAIT_MS));
    CU_ASSERT_EQUAL(e2e_get_status(&st, "/readyz"), 200);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_revocation", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_revocation_logout_survives_a_redis_flush",
                test_e2e_revocation_logout_survives_a_redis_flush);
    CU_add_test(s, "test_e2e_revocation_restoring_is_visible",
                test_e2e_revocation_restoring_is_visible);
    return ft_cunit_run();
}
