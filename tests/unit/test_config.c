/* Unit tests for proto/config.h: environment configuration through one table. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/config.h"

/* What the test tables fill, one field per destination type. */
struct t_cfg {
    const char *str;
    const char *text; /* an INT row's text */
    const char *secret;
    int i;
    long l;
    long long ll;
    size_t size;
    int flag;
    struct {
        int n;
    } nested;
};

#define AT(field) PROTO_CFG_INTO(struct t_cfg, field)

/* The struct one proto_config_load filled, and its report, captured in memory. */
static struct t_cfg got;
static char *report;
static size_t report_len;

static int load(const struct proto_cfg_var *vars, size_t n)
{
    free(report);
    report = NULL;
    FILE *f = open_memstream(&report, &report_len);
    int rc = proto_config_load(vars, n, &got, f);
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
    const struct proto_cfg_var vars[] = {
        {.name = "FT_T_STR",
         .def = "amqp://127.0.0.1/",
         .kind = PROTO_CFG_STR,
         .min = 1,
         .max = 2048,
         .help = "broker URL",
         AT(str)},
        {.name = "FT_T_INT",
         .def = "16",
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 1000,
         .help = "prefetch",
         AT(ll)},
        {.name = "FT_T_BOOL",
         .def = "off",
         .kind = PROTO_CFG_BOOL,
         .min = 0,
         .max = 0,
         .help = "flag",
         AT(flag)},
    };
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_EQUAL(report_len, 0);
    CU_ASSERT_STRING_EQUAL(got.str, "amqp://127.0.0.1/");
    CU_ASSERT_EQUAL(got.ll, 16);
    CU_ASSERT_EQUAL(got.flag, 0);

    setenv("FT_T_STR", "amqp://broker:5672/", 1);
    setenv("FT_T_INT", "1000", 1);
    setenv("FT_T_BOOL", "TRUE", 1);
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_STRING_EQUAL(got.str, "amqp://broker:5672/");
    CU_ASSERT_EQUAL(got.ll, 1000);
    CU_ASSERT_EQUAL(got.flag, 1);
    setenv("FT_T_INT", "1", 1);
    CU_ASSERT_EQUAL(load(vars, 3), 0);
    CU_ASSERT_EQUAL(got.ll, 1);
    clear_env();
}

static void test_config_required_missing(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {
        {.name = "FT_T_REQ",
         .kind = PROTO_CFG_STR,
         .min = 0,
         .max = 0,
         .help = "database URL",
         AT(str)},
    };
    got.str = NULL;
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_REQ is required (database URL)\n");
    CU_ASSERT_PTR_NULL(got.str);
    /* an empty value counts as unset */
    setenv("FT_T_REQ", "", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_REQ is required (database URL)\n");
    setenv("FT_T_REQ", "postgres://x", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 0);
    CU_ASSERT_STRING_EQUAL(got.str, "postgres://x");
    /* and an empty value with a default takes the default */
    const struct proto_cfg_var d[] = {{.name = "FT_T_INT",
                                       .def = "7",
                                       .kind = PROTO_CFG_INT,
                                       .min = 0,
                                       .max = 10,
                                       .help = "n",
                                       AT(ll)}};
    setenv("FT_T_INT", "", 1);
    CU_ASSERT_EQUAL(load(d, 1), 0);
    CU_ASSERT_EQUAL(got.ll, 7);
    clear_env();
}

static void test_config_int_errors(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {{.name = "FT_T_INT",
                                          .def = "16",
                                          .kind = PROTO_CFG_INT,
                                          .min = 1,
                                          .max = 1000,
                                          .help = "prefetch",
                                          AT(ll)}};
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
    const struct proto_cfg_var wide[] = {{.name = "FT_T_INT",
                                          .def = "0",
                                          .kind = PROTO_CFG_INT,
                                          .min = -9223372036854775807LL - 1,
                                          .max = 9223372036854775807LL,
                                          .help = "x",
                                          AT(ll)}};
    setenv("FT_T_INT", "-9223372036854775808", 1);
    CU_ASSERT_EQUAL(load(wide, 1), 0);
    CU_ASSERT_EQUAL(got.ll, -9223372036854775807LL - 1);
    setenv("FT_T_INT", "9223372036854775808", 1);
    CU_ASSERT_EQUAL(load(wide, 1), 1);
    clear_env();
}

static void test_config_bool_parsing(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {{.name = "FT_T_BOOL",
                                          .def = "0",
                                          .kind = PROTO_CFG_BOOL,
                                          .min = 0,
                                          .max = 0,
                                          .help = "flag",
                                          AT(flag)}};
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"0", "false", "False", "no", "NO", "off", "Off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        setenv("FT_T_BOOL", yes[i], 1);
        got.flag = 7;
        CU_ASSERT_EQUAL(load(vars, 1), 0);
        CU_ASSERT_EQUAL(got.flag, 1);
        setenv("FT_T_BOOL", no[i], 1);
        got.flag = 7;
        CU_ASSERT_EQUAL(load(vars, 1), 0);
        CU_ASSERT_EQUAL(got.flag, 0);
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
    const struct proto_cfg_var vars[] = {{.name = "FT_T_SECRET",
                                          .kind = PROTO_CFG_SECRET,
                                          .min = 32,
                                          .max = 4096,
                                          .help = "HS256 key, >= 32 bytes",
                                          AT(secret)}};
    const char *value = "hunter2-is-a-bad-secret";
    setenv("FT_T_SECRET", value, 1);
    CU_ASSERT_EQUAL(load(vars, 1), 1);
    CU_ASSERT_STRING_EQUAL(report, "config: FT_T_SECRET is too short (minimum 32 bytes)\n");
    CU_ASSERT_PTR_NULL(strstr(report, "hunter2"));
    setenv("FT_T_SECRET", "0123456789abcdef0123456789abcdef", 1);
    CU_ASSERT_EQUAL(load(vars, 1), 0);
    CU_ASSERT_STRING_EQUAL(got.secret, "0123456789abcdef0123456789abcdef");
    CU_ASSERT_EQUAL(report_len, 0);
    clear_env();
}

static void test_config_str_bounds(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {
        {.name = "FT_T_STR",
         .def = "x",
         .kind = PROTO_CFG_STR,
         .min = 2,
         .max = 5,
         .help = "name",
         AT(str)},
        {.name = "FT_T_REQ",
         .def = "anything-of-any-length",
         .kind = PROTO_CFG_STR,
         .min = 0,
         .max = 0,
         .help = "unbounded",
         AT(str)},
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
    const struct proto_cfg_var vars[] = {
        {.name = "FT_T_REQ",
         .kind = PROTO_CFG_STR,
         .min = 0,
         .max = 0,
         .help = "database URL",
         AT(str)},
        {.name = "FT_T_INT",
         .def = "16",
         .kind = PROTO_CFG_INT,
         .min = 1,
         .max = 1000,
         .help = "prefetch",
         AT(ll)},
        {.name = "FT_T_STR",
         .def = "ok",
         .kind = PROTO_CFG_STR,
         .min = 0,
         .max = 0,
         .help = "fine",
         AT(str)},
        {.name = "FT_T_SECRET",
         .kind = PROTO_CFG_SECRET,
         .min = 32,
         .max = 4096,
         .help = "HS256 key",
         AT(secret)},
        {.name = "FT_T_BOOL",
         .def = "yes",
         .kind = PROTO_CFG_BOOL,
         .min = 0,
         .max = 0,
         .help = "flag",
         AT(flag)},
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
    CU_ASSERT_STRING_EQUAL(got.str, "ok");
    /* no report stream: still counted */
    CU_ASSERT_EQUAL(proto_config_load(vars, 5, &got, NULL), 4);
    clear_env();
}

static void test_config_hostile_value_is_sanitised(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {{.name = "FT_T_INT",
                                          .def = "1",
                                          .kind = PROTO_CFG_INT,
                                          .min = 0,
                                          .max = 9,
                                          .help = "n",
                                          AT(ll)}};
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

/* Each row's value lands in its own field, converted to the field's type; a row with a
 * problem leaves its field as it was. */
static void test_config_fills_fields_by_name(void)
{
    clear_env();
    const struct proto_cfg_var vars[] = {
        {.name = "FT_T_INT",
         .def = "-3",
         .kind = PROTO_CFG_INT,
         .min = -5,
         .max = 5,
         .help = "i",
         AT(i)},
        {.name = "FT_T_INT",
         .def = "-3",
         .kind = PROTO_CFG_INT,
         .min = -5,
         .max = 5,
         .help = "l",
         AT(l)},
        {.name = "FT_T_INT",
         .def = "-3",
         .kind = PROTO_CFG_INT,
         .min = -5,
         .max = 5,
         .help = "t",
         AT(text)},
        {.name = "FT_T_STR",
         .def = "4096",
         .kind = PROTO_CFG_INT,
         .min = 0,
         .max = 1 << 20,
         .help = "z",
         AT(size)},
        {.name = "FT_T_REQ",
         .def = "9",
         .kind = PROTO_CFG_INT,
         .min = 0,
         .max = 9,
         .help = "n",
         AT(nested.n)},
        {.name = "FT_T_BOOL", .def = "yes", .kind = PROTO_CFG_BOOL, .help = "b", AT(i)},
    };
    got = (struct t_cfg){0};
    CU_ASSERT_EQUAL(load(vars, 5), 0);
    CU_ASSERT_EQUAL(got.i, -3);
    CU_ASSERT_EQUAL(got.l, -3L);
    CU_ASSERT_STRING_EQUAL(got.text, "-3");
    CU_ASSERT_EQUAL(got.size, 4096);
    CU_ASSERT_EQUAL(got.nested.n, 9);
    CU_ASSERT_PTR_NULL(got.str); /* no row names it */
    CU_ASSERT_EQUAL(got.ll, 0);
    /* a later row for the same field wins */
    CU_ASSERT_EQUAL(load(vars, 6), 0);
    CU_ASSERT_EQUAL(got.i, 1);
    /* a bad value leaves its field unchanged, and only its field */
    setenv("FT_T_INT", "6", 1);
    setenv("FT_T_STR", "100", 1);
    got.i = 42;
    CU_ASSERT_EQUAL(load(vars, 5), 3);
    CU_ASSERT_EQUAL(got.i, 42);
    CU_ASSERT_EQUAL(got.l, -3L);
    CU_ASSERT_EQUAL(got.size, 100);
    clear_env();
}

static void test_config_usage(void)
{
    const struct proto_cfg_var vars[] = {
        {.name = "AMQP_URL",
         .def = "amqp://guest:guest@127.0.0.1:5672/",
         .kind = PROTO_CFG_STR,
         .min = 1,
         .max = 2048,
         .help = "broker URL",
         AT(str)},
        {.name = "JWT_SECRET",
         .kind = PROTO_CFG_SECRET,
         .min = 32,
         .max = 4096,
         .help = "HS256 key",
         AT(secret)},
        {.name = "DEV_SECRET",
         .def = "dev-only-secret-value",
         .kind = PROTO_CFG_SECRET,
         .min = 0,
         .max = 0,
         .help = "dev key",
         AT(secret)},
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
    CU_ADD_TEST(s, test_config_fills_fields_by_name);
    CU_ADD_TEST(s, test_config_usage);
    int rc = ft_cunit_run();
    free(report);
    return rc;
}
