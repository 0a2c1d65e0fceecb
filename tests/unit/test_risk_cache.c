/*
 * The risk worker's per-user cache (workers/risk/cache.c): least-recently-used eviction that
 * spares entries a batch has pinned, a history that grows and then keeps the newest postings,
 * and the model schedule (reused while fresh, retrained after RISK_MODEL_REFRESH_POSTINGS, never
 * used on a posting it was trained on). No servers.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "ft_test.h"
#include "risk.h"

struct risk_config risk_cfg;

static const char *const ids[] = {
    "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"};

/* Appends n outgoing postings of 10.00 to 15.00 a minute apart after u's last one. */
static void spend(struct risk_user *u, int n)
{
    for (int k = 0; k < n; k++) {
        int64_t seq = u->last_seq + 1;
        struct risk_posting p = {.amount = -(1000 + 100 * (seq % 6)),
                                 .balance_after = 1000000 - seq * 1000,
                                 .at_ms = 1700000000000LL + seq * 60000};
        struct risk_meta m = {.seq = seq, .kind = PROTO_TXN_WITHDRAWAL};
        snprintf(m.account_id, sizeof m.account_id, "%s", ids[3]);
        snprintf(m.transfer_id, sizeof m.transfer_id, "%036lld", (long long)seq);
        snprintf(m.currency, sizeof m.currency, "USD");
        risk_cache_append(u, &p, &m);
    }
}

static void test_risk_cache_evicts_least_recent_unpinned(void)
{
    risk_cfg.cache_users = 2;
    struct risk_user *a = risk_cache_get(ids[0]);
    spend(a, 3);
    a->loaded = 1;
    risk_cache_unpin(a);
    struct risk_user *b = risk_cache_get(ids[1]);
    risk_cache_unpin(b);
    /* a is the least recently used: a third user evicts it */
    struct risk_user *c = risk_cache_get(ids[2]);
    risk_cache_unpin(c);
    struct risk_user *a2 = risk_cache_get(ids[0]);
    CU_ASSERT_EQUAL(a2->n, 0);
    CU_ASSERT_EQUAL(a2->loaded, 0);
    /* a2 stays pinned: with room for one, the next two users evict others, never a2 */
    risk_cfg.cache_users = 1;
    struct risk_user *d = risk_cache_get(ids[3]);
    CU_ASSERT_STRING_EQUAL(a2->user, ids[0]);
    spend(a2, 2);
    CU_ASSERT_EQUAL(a2->n, 2);
    risk_cache_unpin(d);
    risk_cache_unpin(a2);
    risk_cache_drop(risk_cache_get(ids[0]));
    risk_cache_drop(risk_cache_get(ids[3]));
}

static void test_risk_cache_keeps_the_newest_postings(void)
{
    risk_cfg.cache_users = 4;
    struct risk_user *u = risk_cache_get(ids[0]);
    spend(u, 1000);
    CU_ASSERT(u->n >= RISK_HISTORY_MAX && u->n <= RISK_USER_CAP);
    CU_ASSERT_EQUAL(u->last_seq, 1000);
    CU_ASSERT_EQUAL(u->meta[u->n - 1].seq, 1000);
    CU_ASSERT_EQUAL(u->meta[0].seq, (int64_t)(1000 - u->n + 1)); /* contiguous, oldest dropped */
    risk_cache_clear(u);
    CU_ASSERT_EQUAL(u->n, 0);
    CU_ASSERT_EQUAL(u->last_seq, 0);
    risk_cache_drop(u);
}

static void test_risk_cache_model_schedule(void)
{
    risk_cfg.cache_users = 4;
    risk_cfg.refresh_postings = 10;
    risk_cfg.refresh_ms = 3600000;
    risk_cfg.seed = 22;
    struct risk_user *u = risk_cache_get(ids[1]);
    spend(u, 19);
    CU_ASSERT_PTR_NULL(risk_cache_model(u, 18)); /* 18 before it: the z-score's turn */
    spend(u, 21);
    const struct risk_forest *f = risk_cache_model(u, 30);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(u->trained_seq, u->meta[29].seq);
    /* fresh: the next postings reuse it */
    CU_ASSERT_PTR_EQUAL(risk_cache_model(u, 31), f);
    CU_ASSERT_PTR_EQUAL(risk_cache_model(u, 39), f);
    /* an older posting than it was trained on gets a forest that has not seen it */
    const struct risk_forest *g = risk_cache_model(u, 25);
    CU_ASSERT_PTR_NOT_NULL(g);
    CU_ASSERT_EQUAL(u->trained_seq, u->meta[24].seq);
    /* after refresh_postings new postings it is retrained */
    spend(u, 10);
    int64_t before = u->trained_seq;
    CU_ASSERT_PTR_NOT_NULL(risk_cache_model(u, u->n - 1));
    CU_ASSERT(u->trained_seq > before);
    CU_ASSERT_EQUAL(u->trained_since, 0);
    risk_cache_drop(u);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("risk_cache", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_risk_cache_evicts_least_recent_unpinned);
    ADD(test_risk_cache_keeps_the_newest_postings);
    ADD(test_risk_cache_model_schedule);
#undef ADD
    return ft_cunit_run();
}
