/* Unit tests for proto/config.h: environment configuration through one table. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/config.h"

/* The report of one proto_config_load, captured in memory. */
static char *report;
static size_t report_len;

static int load(struct proto_cfg_var *vars, size_t n)
{
    free(report);
    report = NULL;
    FILE *f = open_memstream(&report, &report_len);
    int rc = proto_config_load(vars, n, f);
    fclose(f);
    return rc;
}

static void clear_env(void)
{
    static const char *const names[] = {"FT_T_STR", "FT_T_INT", "FT_T_SECRET", "FT_T_BOOL",
                                        "FT_T_REQ"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static void test_config_defaults_and_env(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {
        {"FT_T_STR", "amqp://127.0.0.1/", PROTO_CFG_STR, 1, 2048, "broker URL", NULL, 0},
        {"FT_T_INT", "16", PROTO_CFG_INT, 1, 1000, "prefetch", NULL, 0},
        {"FT_T_BOOL", "off", PROTO_CFG_BOOL, 0, 0, "flag", NULL, 0},
    };
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_EQUAL(report_len, 0);
    CU_ASSERT_STRING_EQUAL(vars[0].str, "amqp://127.0.0.1/");
    CU_ASSERT_EQUAL(vars[1].num, 16);
    CU_ASSERT_STRING_EQUAL(vars[1].str, "16");
    CU_ASSERT_EQUAL(vars[2].num, 0);

    setenv("FT_T_STR", "amqp://broker:5672/", 1);
    setenv("FT_T_INT", "1000", 1);
    setenv("FT_T_BOOL", "TRUE", 1);
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_STRING_EQUAL(vars[0].str, "amqp://broker:5672/");
    CU_ASSERT_EQUAL(vars[1].num, 1000);
    CU_ASSERT_EQUAL(vars[2].num, 1);
    setenv("FT_T_INT", "1", 1);
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_EQUAL(vars[1].num, 1);
    clear_env();
}

static void test_config_required_missing(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {
        {"FT_T_REQ", NULL, PROTO_CFG_STR, 0, 0, "database URL", NULL, 0},
    };
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_REQ is required (database URL)\n");
    CU_ASSERT_PTR_NULL(vars[0].str);
    /* an empty value counts as unset */
    setenv("FT_T_REQ", "", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_REQ is required (database URL)\n");
    setenv("FT_T_REQ", "postgres://x", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 0);
    CU_ASSERT_STRING_EQUAL(vars[0].str, "postgres://x");
    /* and an empty value with a default takes the default */
    struct proto_cfg_var d[] = {{"FT_T_INT", "7", PROTO_CFG_INT, 0, 10, "n", NULL, 0}};
    setenv("FT_T_INT", "", 1);
    CU_ASSERT_EQUAL(load(d, 1), 0);
    CU_ASSERT_EQUAL(d[0].num, 7);
    clear_env();
}

static void test_config_int_errors(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {{"FT_T_INT", "16", PROTO_CFG_INT, 1, 1000, "prefetch", NULL, 0}};
    static const char *const bad[] = {
        "abc", "0", "1001", "-5", "12x", " 12", "12 ", "+12", "0x10", "1.5", "99999999999999999999",
        "-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("FT_T_INT", bad[i], 1);
        CU_ASSERT_EQUAL(load(vars, 1), 1);
        char want[200];
        snprintf(want, sizeof want, "config: FT_T_INT=%s is not an integer in 1..1000\n", bad[i]);
        if (strcmp(report, want) != 0)
            fprintf(stderr, "got: %s", report);
        CU_ASSERT_STRING_EQUAL(report, want);
    }
    struct proto_cfg_var wide[] = {{"FT_T_INT", "0", PROTO_CFG_INT, -9223372036854775807LL - 1,
                                    9223372036854775807LL, "x", NULL, 0}};
    setenv("FT_T_INT", "-9223372036854775808", 1);
    CU_ASSERT_EQUAL(load(wide, 1), 0);
    CU_ASSERT_EQUAL(wide[0].num, -9223372036854775807LL - 1);
    setenv("FT_T_INT", "9223372036854775808", 1);
    CU_ASSERT_EQUAL(load(wide, 1), 1);
    clear_env();
}

static void test_config_bool_parsing(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {{"FT_T_BOOL", "0", PROTO_CFG_BOOL, 0, 0, "flag", NULL, 0}};
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"0", "false", "False", "no", "NO", "off", "Off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        setenv("FT_T_BOOL", yes[i], 1);
        vars[0].num = 7;
        CU_ASSERT_EQUAL(load(vars, 1), 0);
        CU_ASSERT_EQUAL(vars[0].num, 1);
        setenv("FT_T_BOOL", no[i], 1);
        vars[0].num = 7;
        CU_ASSERT_EQUAL(load(vars, 1), 0);
        CU_ASSERT_EQUAL(vars[0].num, 0);
    }
    setenv("FT_T_BOOL", "maybe", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(
        report, "config: FT_T_BOOL=maybe is not a boolean (true/false, yes/no, on/off, 1/0)\n");
    setenv("FT_T_BOOL", "2", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    clear_env();
}

static void test_config_secret_never_printed(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {
        {"FT_T_SECRET", NULL, PROTO_CFG_SECRET, 32, 4096, "HS256 key, >= 32 bytes", NULL, 0}};
    const char *value = "hunter2-is-a-bad-secret";
    setenv("FT_T_SECRET", value, 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_SECRET is too short (minimum 32 bytes)\n");
    CU_ASSERT_PTR_NULL(strstr(report, "hunter2"));
    setenv("FT_T_SECRET", "0123456789abcdef0123456789abcdef", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 0);
    CU_ASSERT_STRING_EQUAL(vars[0].str, "0123456789abcdef0123456789abcdef");
    CU_ASSERT_EQUAL(report_len, 0);
    clear_env();
}

static void test_config_str_bounds(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {
        {"FT_T_STR", "x", PROTO_CFG_STR, 2, 5, "name", NULL, 0},
        {"FT_T_REQ", "anything-of-any-length", PROTO_CFG_STR, 0, 0, "unbounded", NULL, 0},
    };
    CU_ASSERT_EQUAL(load(vars, 2), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_STR is too short (minimum 2 bytes)\n");
    setenv("FT_T_STR", "abcdef", 1);
    CU_ASSERT_EQUAL(load(vars, 2), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_STR is too long (maximum 5 bytes)\n");
    setenv("FT_T_STR", "abcde", 1);
    CU_ASSERT_EQUAL(load(vars, 2), 0);
    clear_env();
}

static void test_config_all_problems_reported(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {
        {"FT_T_REQ", NULL, PROTO_CFG_STR, 0, 0, "database URL", NULL, 0},
        {"FT_T_INT", "16", PROTO_CFG_INT, 1, 1000, "prefetch", NULL, 0},
        {"FT_T_STR", "ok", PROTO_CFG_STR, 0, 0, "fine", NULL, 0},
        {"FT_T_SECRET", NULL, PROTO_CFG_SECRET, 32, 4096, "HS256 key", NULL, 0},
        {"FT_T_BOOL", "yes", PROTO_CFG_BOOL, 0, 0, "flag", NULL, 0},
    };
    setenv("FT_T_INT", "lots", 1);
    setenv("FT_T_SECRET", "short", 1);
    setenv("FT_T_BOOL", "nah", 1);
    CU_ASSERT_EQUAL(load(vars, 5), 4);
    CU_ASSERT_STRING_EQUAL(
        report, "config: FT_T_REQ is required (database URL)\n"
                "config: FT_T_INT=lots is not an integer in 1..1000\n"
                "config: FT_T_SECRET is too short (minimum 32 bytes)\n"
                "config: FT_T_BOOL=nah is not a boolean (true/false, yes/no, on/off, 1/0)\n");
    CU_ASSERT_STRING_EQUAL(vars[2].str, "ok");
    /* no report stream: still counted */
    CU_ASSERT_EQUAL(proto_config_load(vars, 5, NULL), 4);
    clear_env();
}

static void test_config_hostile_value_is_sanitised(void)
{
    clear_env();
    struct proto_cfg_var vars[] = {{"FT_T_INT", "1", PROTO_CFG_INT, 0, 9, "n", NULL, 0}};
    setenv("FT_T_INT", "1\nconfig: forged line", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report,
                           "config: FT_T_INT=1?config: forged line is not an integer in 0..9\n");
    char big[300];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    setenv("FT_T_INT", big, 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT(report_len < 150); /* the value is cut */
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "..."));
    clear_env();
}

static void test_config_usage(void)
{
    struct proto_cfg_var vars[] = {
        {"AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", PROTO_CFG_STR, 1, 2048, "broker URL",
         NULL, 0},
        {"JWT_SECRET", NULL, PROTO_CFG_SECRET, 32, 4096, "HS256 key", NULL, 0},
        {"DEV_SECRET", "dev-only-secret-value", PROTO_CFG_SECRET, 0, 0, "dev key", NULL, 0},
    };
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    proto_config_usage(vars, 3, f);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(
        out, "AMQP_URL (default: amqp://guest:guest@127.0.0.1:5672/) \xe2\x80\x94 broker URL\n"
             "JWT_SECRET (required) \xe2\x80\x94 HS256 key\n"
             "DEV_SECRET (default: <hidden>) \xe2\x80\x94 dev key\n");
    CU_ASSERT_PTR_NULL(strstr(out, "dev-only"));
    free(out);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_ADD_TEST(s, test_config_defaults_and_env);
    CU_ADD_TEST(s, test_config_required_missing);
    CU_ADD_TEST(s, test_config_int_errors);
    CU_ADD_TEST(s, test_config_bool_parsing);
    CU_ADD_TEST(s, test_config_secret_never_printed);
    CU_ADD_TEST(s, test_config_str_bounds);
    CU_ADD_TEST(s, test_config_all_problems_reported);
    CU_ADD_TEST(s, test_config_hostile_value_is_sanitised);
    CU_ADD_TEST(s, test_config_usage);
    int rc = ft_cunit_run();
    free(report);
    return rc;
}
