/* Unit: the test harness itself (tests/support/ft_test.h): green means every registered test
 * ran and passed, and a missing server skips outside CI and fails under CI=true.
 *
 * Each ft_cunit_run case runs in a fresh copy of this binary (`test_harness --case NAME`): the
 * case builds its own CUnit registry, which the running suite here must not share. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_test.h"

/* ---- the cases, each a main of its own ---- */

static int init_fails(void)
{
    return 1;
}

static int init_ok(void)
{
    return 0;
}

static void passes(void)
{
    CU_ASSERT(1);
}

static void fails(void)
{
    CU_ASSERT(0);
}

/* Registers suite `name` with tests name_1 .. name_n, all passing. */
static CU_pSuite add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean, int n)
{
    CU_pSuite s = CU_add_suite(name, init, clean);
    for (int i = 1; s && i <= n; i++) {
        char test[64];
        snprintf(test, sizeof test, "%s_%d", name, i);
        CU_add_test(s, test, passes);
    }
    return s;
}

static int run_case(const char *name)
{
    if (strcmp(name, "run_one") == 0)
        return ft_cunit_run_one("one", "one_1", passes);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (strcmp(name, "all_pass") == 0) {
        add_suite("first", NULL, NULL, 2);
        add_suite("second", init_ok, init_ok, 1);
    } else if (strcmp(name, "assert_fails") == 0) {
        CU_pSuite s = add_suite("first", NULL, NULL, 1);
        CU_add_test(s, "first_bad", fails);
    } else if (strcmp(name, "setup_fails") == 0) {
        /* what test_e2e_gateway met when its workers did not start: 12 of 13 tests skipped */
        add_suite("up", NULL, NULL, 1);
        add_suite("down", init_fails, NULL, 2);
    } else if (strcmp(name, "cleanup_fails") == 0) {
        add_suite("first", NULL, init_fails, 1);
    } else if (strcmp(name, "test_inactive") == 0) {
        add_suite("first", NULL, NULL, 1);
        CU_pSuite s = add_suite("second", NULL, NULL, 2);
        CU_set_test_active(CU_get_test(s, "second_2"), CU_FALSE);
    } else if (strcmp(name, "suite_inactive") == 0) {
        add_suite("first", NULL, NULL, 1);
        CU_set_suite_active(add_suite("second", NULL, NULL, 1), CU_FALSE);
    } else if (strcmp(name, "inactive_silently") == 0) {
        /* CUnit records no failure for an inactive test then: only the count shows it */
        CU_set_fail_on_inactive(CU_FALSE);
        CU_pSuite s = add_suite("first", NULL, NULL, 2);
        CU_set_test_active(CU_get_test(s, "first_2"), CU_FALSE);
    } else if (strcmp(name, "empty") != 0) {
        fprintf(stderr, "no case %s\n", name);
        return 2;
    }
    return ft_cunit_run();
}

/* ---- the checks ---- */

static char self[4096];

/* Runs `test_harness --case name`; returns its exit code (-1 if it did not exit) and its
 * stderr+stdout in `out` (malloc'ed). */
static int run(const char *name, char **out)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/test_harness-%d-%s.log", ft_env("TMPDIR", "/tmp"), (int)getpid(),
             name);
    unlink(log);
    char *argv[] = {self, "--case", (char *)name, NULL};
    pid_t pid = ft_spawn(self, argv, NULL, log);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        st = -1;
    *out = NULL;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t cap = 1 << 16;
        *out = calloc(1, cap);
        if (*out && fread(*out, 1, cap - 1, f) == 0)
            fprintf(stderr, "\n  case %s wrote nothing\n", name);
        fclose(f);
    }
    unlink(log);
    if (!*out)
        *out = calloc(1, 1);
    int rc = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc != (strcmp(name, "all_pass") == 0 || strcmp(name, "run_one") == 0 ? 0 : 1))
        fprintf(stderr, "\n  case %s exited %d:\n%s\n", name, rc, *out);
    return rc;
}

static void test_harness_all_pass_is_green(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("all_pass", &out), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "did not run"));
    free(out);
    CU_ASSERT_EQUAL(run("run_one", &out), 0);
    free(out);
}

static void test_harness_failed_assertion_is_red(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("assert_fails", &out), 1);
    free(out);
}

static void test_harness_failed_suite_setup_is_red_and_named(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("setup_fails", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 of 3 registered tests ran"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not run: down / down_1 (suite setup failed)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not run: down / down_2 (suite setup failed)"));
    CU_ASSERT_PTR_NULL(strstr(out, "did not run: up"));
    free(out);
}

static void test_harness_failed_suite_cleanup_is_red(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("cleanup_fails", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "suite first failed to clean up"));
    free(out);
}

static void test_harness_inactive_test_or_suite_is_red_and_named(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("test_inactive", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not run: second / second_2 (test inactive)"));
    CU_ASSERT_PTR_NULL(strstr(out, "second_1 ("));
    free(out);
    CU_ASSERT_EQUAL(run("suite_inactive", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not run: second / second_1 (suite inactive)"));
    free(out);
    CU_ASSERT_EQUAL(run("inactive_silently", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 more registered test(s) did not run"));
    free(out);
}

static void test_harness_no_test_is_red(void)
{
    char *out;
    CU_ASSERT_EQUAL(run("empty", &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no test is registered"));
    free(out);
}

/* One environment variable's value, to put back after a check changed it. */
struct saved_env {
    const char *name;
    char *value;
};

static struct saved_env save_env(const char *name)
{
    const char *v = getenv(name);
    return (struct saved_env){name, v ? strdup(v) : NULL};
}

static void restore_env(struct saved_env *s)
{
    if (s->value)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
    free(s->value);
}

static void test_harness_missing_server_skips_outside_ci_fails_in_ci(void)
{
    struct saved_env env[] = {save_env("CI"), save_env("PG_URL"), save_env("REDIS_URL"),
                              save_env("AMQP_URL"), save_env("FT_SVC_DIR")};
    setenv("REDIS_URL", "redis://127.0.0.1:1", 1);
    setenv("AMQP_URL", "amqp://127.0.0.1:1", 1);
    unsetenv("PG_URL");
    unsetenv("FT_SVC_DIR");
    unsetenv("CI");
    CU_ASSERT_EQUAL(ft_ci(), 0);
    CU_ASSERT_EQUAL(ft_need_servers(), 77);
    CU_ASSERT_EQUAL(ft_need_services(), 77);
    CU_ASSERT_EQUAL(ft_skip("a %s is missing", "thing"), 77);
    setenv("CI", "1", 1); /* only "true" means CI, as in test.sh and CMakeLists.txt */
    CU_ASSERT_EQUAL(ft_need_servers(), 77);
    setenv("CI", "true", 1);
    CU_ASSERT_EQUAL(ft_ci(), 1);
    CU_ASSERT_EQUAL(ft_need_servers(), 1);
    CU_ASSERT_EQUAL(ft_need_services(), 1);
    CU_ASSERT_EQUAL(ft_skip("a %s is missing", "thing"), 1);
    setenv("PG_URL", "postgresql://x/y", 1);
    CU_ASSERT_EQUAL(ft_need_servers(), 0);
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        restore_env(&env[i]);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--case") == 0)
        return run_case(argv[2]);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("harness", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_harness_all_pass_is_green);
    ADD(test_harness_failed_assertion_is_red);
    ADD(test_harness_failed_suite_setup_is_red_and_named);
    ADD(test_harness_failed_suite_cleanup_is_red);
    ADD(test_harness_inactive_test_or_suite_is_red_and_named);
    ADD(test_harness_no_test_is_red);
    ADD(test_harness_missing_server_skips_outside_ci_fails_in_ci);
#undef ADD
    return ft_cunit_run();
}
