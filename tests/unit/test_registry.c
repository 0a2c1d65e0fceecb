/* Unit tests for gateway/registry.c: an id names one registration, a removed id finds
 * nothing, and a reused slot gets a new id. */
#include <CUnit/CUnit.h>
#include <stdint.h>

#include "ft_test.h"
#include "registry.h"

/* The registry never looks at the pointers: any distinct ones do. */
static char fake[600];
#define P(i) ((void *)&fake[i])

static void test_registry_lookup_and_release(void)
{
    struct gw_registry r;
    gw_registry_init(&r);
    uint64_t a = gw_registry_add(&r, P(1)), b = gw_registry_add(&r, P(2));
    CU_ASSERT(a != 0 && b != 0 && a != b);
    CU_ASSERT_PTR_EQUAL(gw_registry_get(&r, a), P(1));
    CU_ASSERT_PTR_EQUAL(gw_registry_get(&r, b), P(2));
    gw_registry_remove(&r, a);
    CU_ASSERT_PTR_NULL(gw_registry_get(&r, a));
    CU_ASSERT_PTR_EQUAL(gw_registry_get(&r, b), P(2));
    /* the freed slot is reused under a new generation: the old id still finds nothing */
    uint64_t c = gw_registry_add(&r, P(3));
    CU_ASSERT(c != a);
    CU_ASSERT_EQUAL(c & 0xffffffffu, a & 0xffffffffu);
    CU_ASSERT_PTR_NULL(gw_registry_get(&r, a));
    CU_ASSERT_PTR_EQUAL(gw_registry_get(&r, c), P(3));
    /* ids that were never handed out */
    CU_ASSERT_PTR_NULL(gw_registry_get(&r, 0));
    CU_ASSERT_PTR_NULL(gw_registry_get(&r, ((uint64_t)1 << 32) | 100000u));
    gw_registry_free(&r);
}

static void test_registry_grow(void)
{
    struct gw_registry r;
    gw_registry_init(&r);
    static uint64_t ids[600];
    for (int i = 0; i < 600; i++)
        ids[i] = gw_registry_add(&r, P(i));
    int ok = 1;
    for (int i = 0; i < 600; i++)
        ok &= gw_registry_get(&r, ids[i]) == P(i);
    CU_ASSERT(ok);
    gw_registry_free(&r);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("registry", NULL, NULL);
    CU_add_test(s, "test_registry_lookup_and_release", test_registry_lookup_and_release);
    CU_add_test(s, "test_registry_grow", test_registry_grow);
    return ft_cunit_run();
}
