/* Unit tests for proto/money.h: exact parsing and formatting of amounts. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/money.h"
#include "proto/status.h"

/* Parses a NUL-terminated text; *out gets a sentinel first so "untouched" is checkable. */
static int parse(const char *s, int exponent, int64_t *out)
{
    *out = 4242;
    return proto_money_parse(s, strlen(s), exponent, out);
}

static void test_money_exponent_table(void)
{
    CU_ASSERT_EQUAL(proto_currency_exponent("USD"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("EUR"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("GBP"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("INR"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("CHF"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("CAD"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("AUD"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("CNY"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("AED"), 2);
    CU_ASSERT_EQUAL(proto_currency_exponent("ZWL"), 2);
    static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                       "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                       "VND", "VUV", "XAF", "XOF", "XPF"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        CU_ASSERT_EQUAL(proto_currency_exponent(zero[i]), 0);
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    for (size_t i = 0; i < sizeof three / sizeof three[0]; i++)
        CU_ASSERT_EQUAL(proto_currency_exponent(three[i]), 3);
    CU_ASSERT_EQUAL(proto_currency_exponent("CLF"), 4);
    CU_ASSERT_EQUAL(proto_currency_exponent("UYW"), 4);
}

static void test_money_exponent_rejects_bad_codes(void)
{
    CU_ASSERT_EQUAL(proto_currency_exponent("usd"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent("US"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent("USDX"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent(""), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent(NULL), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent("ZZZ"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_currency_exponent("XAU"), PROTO_EINVAL); /* no minor unit */
    CU_ASSERT_EQUAL(proto_currency_exponent("AAA"), PROTO_EINVAL);
}

static void test_money_parse_valid(void)
{
    int64_t v;
    CU_ASSERT_EQUAL(parse("0.1", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 10);
    CU_ASSERT_EQUAL(parse("12.5", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1250);
    CU_ASSERT_EQUAL(parse("12.34", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1234);
    CU_ASSERT_EQUAL(parse("12.340", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1234);
    CU_ASSERT_EQUAL(parse("12.3400000000000000000000", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1234);
    CU_ASSERT_EQUAL(parse("0", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse("-0", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse("-0.00", 2, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse("-12.05", 2, &v), 0);
    CU_ASSERT_EQUAL(v, -1205);
    CU_ASSERT_EQUAL(parse("7", 0, &v), 0);
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_EQUAL(parse("1.234", 3, &v), 0);
    CU_ASSERT_EQUAL(v, 1234);
    CU_ASSERT_EQUAL(parse("1", 4, &v), 0);
    CU_ASSERT_EQUAL(v, 10000);
    CU_ASSERT_EQUAL(parse("100", 0, &v), 0);
    CU_ASSERT_EQUAL(v, 100);
}

static void test_money_parse_syntax(void)
{
    static const char *const bad[] = {
        "",    "1e3", "+1",  ".5",    "5.",   " 1",       "1 ",  "01",   "1.",
        "--1", "-",   "1,5", "1.2.3", "0x10", "1e-2",     "1E2", "00.5", "-.5",
        "١٢",  "１",  "12a", "a12",   "1.5e", "Infinity", "NaN", "-01",  "1_000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        int rc = parse(bad[i], 2, &v);
        if (rc != PROTO_ESYNTAX)
            fprintf(stderr, "expected ESYNTAX for \"%s\", got %d\n", bad[i], rc);
        CU_ASSERT_EQUAL(rc, PROTO_ESYNTAX);
        CU_ASSERT_EQUAL(v, 4242); /* untouched */
    }
    int64_t v = 1;
    CU_ASSERT_EQUAL(proto_money_parse(NULL, 0, 2, &v), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_money_parse("12", 1, 2, &v), 0); /* only len bytes are read */
    CU_ASSERT_EQUAL(v, 100);
    CU_ASSERT_EQUAL(proto_money_parse("1\0", 2, 2, &v), PROTO_ESYNTAX);
}

static void test_money_parse_precision(void)
{
    int64_t v;
    CU_ASSERT_EQUAL(parse("12.345", 2, &v), PROTO_EPRECISION);
    CU_ASSERT_EQUAL(v, 4242);
    CU_ASSERT_EQUAL(parse("12.3401", 2, &v), PROTO_EPRECISION);
    CU_ASSERT_EQUAL(parse("0.001", 2, &v), PROTO_EPRECISION);
    CU_ASSERT_EQUAL(parse("5.5", 0, &v), PROTO_EPRECISION); /* JPY with a fraction */
    CU_ASSERT_EQUAL(parse("5.0", 0, &v), 0);                /* zeros are not a fraction */
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_EQUAL(parse("1.2345", 3, &v), PROTO_EPRECISION);
    CU_ASSERT_EQUAL(parse("1.23456", 4, &v), PROTO_EPRECISION);
    /* syntax wins over precision */
    CU_ASSERT_EQUAL(parse("12.345x", 2, &v), PROTO_ESYNTAX);
}

static void test_money_parse_range(void)
{
    int64_t v;
    CU_ASSERT_EQUAL(parse("9223372036854775807", 0, &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_EQUAL(parse("-9223372036854775808", 0, &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(parse("9223372036854775808", 0, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(v, 4242);
    CU_ASSERT_EQUAL(parse("-9223372036854775809", 0, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(parse("92233720368547758.07", 2, &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_EQUAL(parse("-92233720368547758.08", 2, &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(parse("92233720368547758.08", 2, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(parse("-92233720368547758.09", 2, &v), PROTO_ERANGE);
    /* the scaling itself overflows: 92233720368547759 * 100 */
    CU_ASSERT_EQUAL(parse("92233720368547759", 2, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(parse("18446744073709551616", 0, &v), PROTO_ERANGE);

    char huge[5001];
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    CU_ASSERT_EQUAL(parse(huge, 2, &v), PROTO_ERANGE);
    huge[0] = '-';
    CU_ASSERT_EQUAL(parse(huge, 2, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(v, 4242);
}

static void test_money_parse_bad_exponent(void)
{
    int64_t v;
    CU_ASSERT_EQUAL(parse("1", -1, &v), PROTO_EINVAL);
    CU_ASSERT_EQUAL(parse("1", 19, &v), PROTO_EINVAL);
    CU_ASSERT_EQUAL(parse("0.000000000000000001", 18, &v), 0);
    CU_ASSERT_EQUAL(v, 1);
}

static void test_money_format_values(void)
{
    char b[PROTO_MONEY_TEXT_MAX];
    CU_ASSERT_EQUAL(proto_money_format(1250, 2, b, sizeof b), 5);
    CU_ASSERT_STRING_EQUAL(b, "12.50");
    CU_ASSERT_EQUAL(proto_money_format(-5, 2, b, sizeof b), 5);
    CU_ASSERT_STRING_EQUAL(b, "-0.05");
    CU_ASSERT_EQUAL(proto_money_format(7, 0, b, sizeof b), 1);
    CU_ASSERT_STRING_EQUAL(b, "7");
    CU_ASSERT_EQUAL(proto_money_format(0, 2, b, sizeof b), 4);
    CU_ASSERT_STRING_EQUAL(b, "0.00");
    CU_ASSERT_EQUAL(proto_money_format(0, 0, b, sizeof b), 1);
    CU_ASSERT_STRING_EQUAL(b, "0");
    CU_ASSERT_EQUAL(proto_money_format(1, 4, b, sizeof b), 6);
    CU_ASSERT_STRING_EQUAL(b, "0.0001");
    CU_ASSERT_EQUAL(proto_money_format(-123456, 3, b, sizeof b), 8);
    CU_ASSERT_STRING_EQUAL(b, "-123.456");
    CU_ASSERT_EQUAL(proto_money_format(INT64_MAX, 2, b, sizeof b), 20);
    CU_ASSERT_STRING_EQUAL(b, "92233720368547758.07");
    CU_ASSERT_EQUAL(proto_money_format(INT64_MIN, 2, b, sizeof b), 21);
    CU_ASSERT_STRING_EQUAL(b, "-92233720368547758.08");
    CU_ASSERT_EQUAL(proto_money_format(INT64_MIN, 0, b, sizeof b), 20);
    CU_ASSERT_STRING_EQUAL(b, "-9223372036854775808");
    CU_ASSERT_EQUAL(proto_money_format(INT64_MIN, 18, b, sizeof b), 21);
    CU_ASSERT_STRING_EQUAL(b, "-9.223372036854775808");
    CU_ASSERT_EQUAL(proto_money_format(5, 18, b, sizeof b), 20);
    CU_ASSERT_STRING_EQUAL(b, "0.000000000000000005");
}

static void test_money_format_errors(void)
{
    char b[PROTO_MONEY_TEXT_MAX];
    CU_ASSERT_EQUAL(proto_money_format(1250, 2, b, 5), PROTO_ELIMIT); /* needs 6 with NUL */
    CU_ASSERT_EQUAL(proto_money_format(1250, 2, b, 6), 5);
    CU_ASSERT_STRING_EQUAL(b, "12.50");
    CU_ASSERT_EQUAL(proto_money_format(1, -1, b, sizeof b), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_money_format(1, 19, b, sizeof b), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_money_format(1, 2, NULL, 0), PROTO_ELIMIT);
}

static void test_money_round_trip(void)
{
    static const int64_t values[] = {
        0,      1,          -1,        99,        -99,           100,          12345,
        -12345, 1000000007, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
    for (int e = 0; e <= 4; e++) {
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            char b[PROTO_MONEY_TEXT_MAX];
            int n = proto_money_format(values[i], e, b, sizeof b);
            CU_ASSERT_FATAL(n > 0);
            int64_t back = 0;
            CU_ASSERT_EQUAL(proto_money_parse(b, (size_t)n, e, &back), 0);
            CU_ASSERT_EQUAL(back, values[i]);
        }
    }
}

/* proto_money_display into a roomy buffer; "<err N>" on failure. */
static const char *display(int64_t minor, const char *currency)
{
    static char b[PROTO_MONEY_DISPLAY_MAX];
    int n = proto_money_display(minor, currency, b, sizeof b);
    if (n < 0)
        snprintf(b, sizeof b, "<err %d>", n);
    else
        CU_ASSERT_EQUAL((size_t)n, strlen(b));
    return b;
}

static void test_money_display_symbols_and_groups(void)
{
    CU_ASSERT_STRING_EQUAL(display(123450, "USD"), "$1,234.50");
    CU_ASSERT_STRING_EQUAL(display(1250, "USD"), "$12.50");
    CU_ASSERT_STRING_EQUAL(display(123450, "EUR"), "€1,234.50");
    CU_ASSERT_STRING_EQUAL(display(123450, "GBP"), "£1,234.50");
    CU_ASSERT_STRING_EQUAL(display(1234, "JPY"), "¥1,234");
    CU_ASSERT_STRING_EQUAL(display(12345678, "INR"), "₹1,23,456.78");
    CU_ASSERT_STRING_EQUAL(display(123450, "CHF"), "CHF 1,234.50");
    CU_ASSERT_STRING_EQUAL(display(123450, "CAD"), "CAD 1,234.50"); /* "$" means USD only */
    /* group boundaries */
    CU_ASSERT_STRING_EQUAL(display(99999, "USD"), "$999.99");
    CU_ASSERT_STRING_EQUAL(display(100000, "USD"), "$1,000.00");
    CU_ASSERT_STRING_EQUAL(display(123456789012, "USD"), "$1,234,567,890.12");
    CU_ASSERT_STRING_EQUAL(display(99999, "INR"), "₹999.99");
    CU_ASSERT_STRING_EQUAL(display(100000, "INR"), "₹1,000.00");
    CU_ASSERT_STRING_EQUAL(display(10000000, "INR"), "₹1,00,000.00");      /* lakh */
    CU_ASSERT_STRING_EQUAL(display(1000000000, "INR"), "₹1,00,00,000.00"); /* crore */
    CU_ASSERT_STRING_EQUAL(display(123456789012, "INR"), "₹1,23,45,67,890.12");
}

static void test_money_display_exponents(void)
{
    /* 0 decimals */
    CU_ASSERT_STRING_EQUAL(display(0, "JPY"), "¥0");
    CU_ASSERT_STRING_EQUAL(display(7, "KRW"), "KRW 7");
    CU_ASSERT_STRING_EQUAL(display(1000, "KRW"), "KRW 1,000");
    /* 2 */
    CU_ASSERT_STRING_EQUAL(display(0, "USD"), "$0.00");
    CU_ASSERT_STRING_EQUAL(display(5, "USD"), "$0.05");
    /* 3: KWD, BHD */
    CU_ASSERT_STRING_EQUAL(display(1500, "KWD"), "KWD 1.500");
    CU_ASSERT_STRING_EQUAL(display(1234567, "BHD"), "BHD 1,234.567");
    CU_ASSERT_STRING_EQUAL(display(1, "BHD"), "BHD 0.001");
    /* 4: CLF */
    CU_ASSERT_STRING_EQUAL(display(1, "CLF"), "CLF 0.0001");
    CU_ASSERT_STRING_EQUAL(display(12345678, "CLF"), "CLF 1,234.5678");
}

static void test_money_display_negative_and_extremes(void)
{
    CU_ASSERT_STRING_EQUAL(display(-500, "USD"), "-$5.00");
    CU_ASSERT_STRING_EQUAL(display(-123450, "CHF"), "-CHF 1,234.50");
    CU_ASSERT_STRING_EQUAL(display(-12345678, "INR"), "-₹1,23,456.78");
    CU_ASSERT_STRING_EQUAL(display(-1, "JPY"), "-¥1");
    CU_ASSERT_STRING_EQUAL(display(INT64_MAX, "USD"), "$92,233,720,368,547,758.07");
    CU_ASSERT_STRING_EQUAL(display(INT64_MIN, "USD"), "-$92,233,720,368,547,758.08");
    CU_ASSERT_STRING_EQUAL(display(INT64_MIN, "JPY"), "-¥9,223,372,036,854,775,808");
    CU_ASSERT_STRING_EQUAL(display(INT64_MIN, "INR"), "-₹92,23,37,20,36,85,47,758.08");
    CU_ASSERT_STRING_EQUAL(display(INT64_MIN, "KWD"), "-KWD 9,223,372,036,854,775.808");
    CU_ASSERT_STRING_EQUAL(display(INT64_MAX, "CLF"), "CLF 922,337,203,685,477.5807");
    /* The longest spelling still fits the advertised maximum. */
    CU_ASSERT(strlen(display(INT64_MIN, "INR")) < PROTO_MONEY_DISPLAY_MAX);
    CU_ASSERT(strlen(display(INT64_MIN, "KWD")) < PROTO_MONEY_DISPLAY_MAX);
}

static void test_money_display_errors(void)
{
    char b[PROTO_MONEY_DISPLAY_MAX];
    CU_ASSERT_EQUAL(proto_money_display(1, "XYZ", b, sizeof b), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_money_display(1, "usd", b, sizeof b), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_money_display(1, "USDX", b, sizeof b), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_money_display(1, NULL, b, sizeof b), PROTO_EINVAL);
    /* "$1,234.50" is 9 bytes: 10 with the NUL fit, 9 do not (and leave ""). */
    memset(b, 'z', sizeof b);
    CU_ASSERT_EQUAL(proto_money_display(123450, "USD", b, 9), PROTO_ELIMIT);
    CU_ASSERT_STRING_EQUAL(b, "");
    CU_ASSERT_EQUAL(proto_money_display(123450, "USD", b, 10), 9);
    CU_ASSERT_STRING_EQUAL(b, "$1,234.50");
    /* multi-byte symbols count in bytes: "₹1.00" is 7 */
    CU_ASSERT_EQUAL(proto_money_display(100, "INR", b, 7), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_money_display(100, "INR", b, 8), 7);
    CU_ASSERT_EQUAL(proto_money_display(100, "USD", b, 0), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_money_display(100, "USD", NULL, 0), PROTO_ELIMIT);
}

/* The "CUR=amount,..." configuration tables (twin and risk thresholds). */
static void test_money_table(void)
{
    CU_ASSERT_EQUAL(proto_money_table_check("USD=1000,EUR=1000,GBP=1000,INR=50000"), 0);
    CU_ASSERT_EQUAL(proto_money_table_of("USD=1000,EUR=1000,GBP=1000,INR=50000", "USD"), 100000);
    CU_ASSERT_EQUAL(proto_money_table_of("USD=1000,EUR=1000,GBP=1000,INR=50000", "GBP"), 100000);
    CU_ASSERT_EQUAL(proto_money_table_of("USD=1000,EUR=1000,GBP=1000,INR=50000", "INR"), 5000000);
    CU_ASSERT_EQUAL(proto_money_table_of("USD=1000,EUR=1000,GBP=1000,INR=50000", "JPY"),
                    -1); /* no rule for JPY */
    CU_ASSERT_EQUAL(proto_money_table_check("JPY=150000,BHD=0.5"), 0);
    CU_ASSERT_EQUAL(proto_money_table_of("JPY=150000,BHD=0.5", "JPY"), 150000);
    CU_ASSERT_EQUAL(proto_money_table_of("JPY=150000,BHD=0.5", "BHD"), 500);
    CU_ASSERT_EQUAL(proto_money_table_check("USD=0"), 0);
    CU_ASSERT_EQUAL(proto_money_table_of("USD=0", "USD"), 0);

    static const char *const bad[] = {
        "USD",       "USD=",    "USD=1,", "USD=1,,EUR=2", "usd=1000",     "XYZ=1",  "USD=-1",
        "USD=1.001", "JPY=1.5", "US=1",   "USDX=1",       "USD=1 ,EUR=2", ",USD=1", "USD=1;EUR=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (proto_money_table_check(bad[i]) != -1)
            fprintf(stderr, "table %s was accepted\n", bad[i]);
        CU_ASSERT_EQUAL(proto_money_table_check(bad[i]), -1);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("money", NULL, NULL);
    CU_ADD_TEST(s, test_money_exponent_table);
    CU_ADD_TEST(s, test_money_exponent_rejects_bad_codes);
    CU_ADD_TEST(s, test_money_parse_valid);
    CU_ADD_TEST(s, test_money_parse_syntax);
    CU_ADD_TEST(s, test_money_parse_precision);
    CU_ADD_TEST(s, test_money_parse_range);
    CU_ADD_TEST(s, test_money_parse_bad_exponent);
    CU_ADD_TEST(s, test_money_format_values);
    CU_ADD_TEST(s, test_money_format_errors);
    CU_ADD_TEST(s, test_money_round_trip);
    CU_ADD_TEST(s, test_money_display_symbols_and_groups);
    CU_ADD_TEST(s, test_money_display_exponents);
    CU_ADD_TEST(s, test_money_display_negative_and_extremes);
    CU_ADD_TEST(s, test_money_display_errors);
    CU_ADD_TEST(s, test_money_table);
    return ft_cunit_run();
}
