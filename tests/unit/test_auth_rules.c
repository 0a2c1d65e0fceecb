/*
 * The auth worker's pure rules (workers/auth/rules.h): email normalisation, password and
 * name validation, argon2id hashing, register and profile body validation.
 */
#include <CUnit/Basic.h>
#include <msgpack.h>
#include <string.h>

#include "ft_test.h"
#include "proto/json.h"
#include "proto/status.h"
#include "rules.h"

/* A JSON document as a msgpack object, like the gateway delivers a body. */
struct doc {
    msgpack_sbuffer sb;
    msgpack_unpacked up;
};

static const msgpack_object *doc_parse(struct doc *d, const char *json)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(&d->sb);
    msgpack_unpacked_init(&d->up);
    msgpack_packer_init(&pk, &d->sb, msgpack_sbuffer_write);
    CU_ASSERT_EQUAL_FATAL(proto_json_to_msgpack(json, strlen(json), NULL, &pk, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(msgpack_unpack_next(&d->up, d->sb.data, d->sb.size, NULL),
                          MSGPACK_UNPACK_SUCCESS);
    return &d->up.data;
}

static void doc_free(struct doc *d)
{
    msgpack_unpacked_destroy(&d->up);
    msgpack_sbuffer_destroy(&d->sb);
}

static void test_email_normalize_lowercases_domain_keeps_local(void)
{
    char email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1];
    CU_ASSERT_EQUAL(auth_email_normalize("  John.Doe@Example.COM \t", email, norm), 0);
    CU_ASSERT_STRING_EQUAL(email, "John.Doe@example.com");
    CU_ASSERT_STRING_EQUAL(norm, "john.doe@example.com");
    CU_ASSERT_EQUAL(auth_email_normalize("a+tag@sub.example.co.uk", email, norm), 0);
    CU_ASSERT_STRING_EQUAL(norm, "a+tag@sub.example.co.uk");
}

static void test_email_normalize_rejects_implausible(void)
{
    char email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1], big[300];
    const char *bad[] = {"",          "plain",       "a@b",       "@example.com", "a@",
                         "a@@b.com",  "a@b@c.com",   "a b@c.com", "a@.com",       "a@com.",
                         "a@ex..com", "a\x01@b.com", "   ",       "a@b c.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(auth_email_normalize(bad[i], email, norm), PROTO_EINVAL);
    /* 254 bytes is the limit: 64 + "@" + 185 + ".com". */
    memset(big, 'a', 64);
    big[64] = '@';
    memset(big + 65, 'b', 185);
    memcpy(big + 250, ".com", 5);
    CU_ASSERT_EQUAL(strlen(big), 254);
    CU_ASSERT_EQUAL(auth_email_normalize(big, email, norm), 0);
    memset(big + 65, 'b', 186);
    memcpy(big + 251, ".com", 5);
    CU_ASSERT_EQUAL(auth_email_normalize(big, email, norm), PROTO_EINVAL);
    /* A local part over 64 bytes. */
    CU_ASSERT_EQUAL(
        auth_email_normalize(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.io", email, norm),
        PROTO_EINVAL);
}

static void test_password_counts_code_points(void)
{
    char pw[600] = "";
    CU_ASSERT_EQUAL(auth_password_check("1234567"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(auth_password_check("12345678"), 0);
    /* Seven two-byte characters are 14 bytes but 7 characters: too short. */
    CU_ASSERT_EQUAL(auth_password_check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                    PROTO_EINVAL);
    for (int i = 0; i < 128; i++)
        strcat(pw, "\xf0\x9f\x94\x91"); /* 4-byte emoji: 512 bytes, 128 characters */
    CU_ASSERT_EQUAL(auth_password_check(pw), 0);
    strcat(pw, "x");
    CU_ASSERT_EQUAL(auth_password_check(pw), PROTO_EINVAL);
    CU_ASSERT_EQUAL(auth_utf8_count("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"), 4);
}

static void test_name_clean_trims_and_bounds(void)
{
    char out[AUTH_NAME_BUF], big[200];
    CU_ASSERT_EQUAL(auth_name_clean("  Ada Lovelace  ", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Ada Lovelace");
    CU_ASSERT_EQUAL(auth_name_clean("   ", out, sizeof out), PROTO_EINVAL);
    CU_ASSERT_EQUAL(auth_name_clean("a\x01"
                                    "b",
                                    out, sizeof out),
                    PROTO_EINVAL);
    memset(big, 'n', 100);
    big[100] = '\0';
    CU_ASSERT_EQUAL(auth_name_clean(big, out, sizeof out), 0);
    strcat(big, "n");
    CU_ASSERT_EQUAL(auth_name_clean(big, out, sizeof out), PROTO_EINVAL);
}

static void test_password_hash_is_argon2id_phc_and_verifies(void)
{
    char h1[AUTH_HASH_BUF], h2[AUTH_HASH_BUF];
    CU_ASSERT_EQUAL_FATAL(auth_password_hash("correct horse", h1, sizeof h1), 0);
    CU_ASSERT_EQUAL(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    CU_ASSERT_EQUAL_FATAL(auth_password_hash("correct horse", h2, sizeof h2), 0);
    CU_ASSERT_STRING_NOT_EQUAL(h1, h2); /* a fresh salt each time */
    CU_ASSERT_TRUE(auth_password_verify(h1, "correct horse"));
    CU_ASSERT_TRUE(auth_password_verify(h2, "correct horse"));
    CU_ASSERT_FALSE(auth_password_verify(h1, "correct horsf"));
    CU_ASSERT_FALSE(auth_password_verify(h1, ""));
    CU_ASSERT_FALSE(auth_password_verify("not a hash", "correct horse"));
}

static void test_register_parse_reports_first_bad_field(void)
{
    struct doc d;
    struct auth_register_input in;
    struct auth_invalid bad;
    const struct {
        const char *json, *code;
    } cases[] = {
        {"{}", "invalid_email"},
        {"{\"email\":5,\"password\":\"12345678\",\"full_name\":\"A\"}", "invalid_email"},
        {"{\"email\":\"a@b.co\",\"full_name\":\"A\"}", "invalid_password"},
        {"{\"email\":\"a@b.co\",\"password\":\"1234567\",\"full_name\":\"A\"}", "invalid_password"},
        {"{\"email\":\"a@b.co\",\"password\":\"12345678\"}", "invalid_full_name"},
        {"{\"email\":\"a@b.co\",\"password\":\"12345678\",\"full_name\":\" \"}",
         "invalid_full_name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const msgpack_object *o = doc_parse(&d, cases[i].json);
        CU_ASSERT_EQUAL(auth_register_parse(o, &in, &bad), PROTO_EINVAL);
        CU_ASSERT_STRING_EQUAL(bad.code, cases[i].code);
        doc_free(&d);
    }
    const msgpack_object *o = doc_parse(
        &d, "{\"email\":\" X@Y.Org\",\"password\":\"12345678\",\"full_name\":\"Ann\",\"z\":1}");
    CU_ASSERT_EQUAL(auth_register_parse(o, &in, &bad), 0);
    CU_ASSERT_STRING_EQUAL(in.email, "X@y.org");
    CU_ASSERT_STRING_EQUAL(in.email_norm, "x@y.org");
    CU_ASSERT_STRING_EQUAL(in.full_name, "Ann");
    doc_free(&d);
}

/* The email of a lookup query (strings, as the gateway packs a query) or a body: trimmed,
 * normalised, bounded; absent, nil, empty, non-string and overlong all say invalid_email. */
static void test_email_parse_query_and_body(void)
{
    struct doc d;
    char email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1];
    struct auth_invalid bad = {0};
    const msgpack_object *o = doc_parse(&d, "{\"email\":\" Ada.L@Example.COM \",\"x\":\"1\"}");
    CU_ASSERT_EQUAL(auth_email_parse(o, email, norm, &bad), 0);
    CU_ASSERT_STRING_EQUAL(email, "Ada.L@example.com");
    CU_ASSERT_STRING_EQUAL(norm, "ada.l@example.com");
    doc_free(&d);
    /* exactly AUTH_EMAIL_MAX bytes pass, one more does not */
    char json[600], addr[AUTH_EMAIL_MAX + 2];
    memset(addr, 'd', sizeof addr);
    memcpy(addr, "u@", 2);
    memcpy(addr + AUTH_EMAIL_MAX - 4, ".org", 4);
    addr[AUTH_EMAIL_MAX] = '\0';
    snprintf(json, sizeof json, "{\"email\":\"%s\"}", addr);
    CU_ASSERT_EQUAL(auth_email_parse(doc_parse(&d, json), email, norm, &bad), 0);
    CU_ASSERT_EQUAL(strlen(norm), AUTH_EMAIL_MAX);
    doc_free(&d);
    memcpy(addr + AUTH_EMAIL_MAX - 4, "d.org", 6);
    snprintf(json, sizeof json, "{\"email\":\"%s\"}", addr);
    CU_ASSERT_EQUAL(auth_email_parse(doc_parse(&d, json), email, norm, &bad), PROTO_EINVAL);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_email");
    doc_free(&d);

    const struct {
        const char *json, *message;
    } cases[] = {
        {"{}", "email is required."},
        {"{\"email\":null}", "email is required."},
        {"{\"mail\":\"a@b.co\"}", "email is required."},
        {"{\"email\":\"\"}", "email must be a valid address of at most 254 characters."},
        {"{\"email\":\"   \"}", "email must be a valid address of at most 254 characters."},
        {"{\"email\":\"ada\"}", "email must be a valid address of at most 254 characters."},
        {"{\"email\":\"a@b@c.co\"}", "email must be a valid address of at most 254 characters."},
        {"{\"email\":\"a b@c.co\"}", "email must be a valid address of at most 254 characters."},
        {"{\"email\":7}", "email must be a valid address of at most 254 characters."},
        {"[\"a@b.co\"]", "email is required."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad.code = bad.message = NULL;
        o = doc_parse(&d, cases[i].json);
        CU_ASSERT_EQUAL(auth_email_parse(o, email, norm, &bad), PROTO_EINVAL);
        CU_ASSERT_STRING_EQUAL(bad.code ? bad.code : "", "invalid_email");
        CU_ASSERT_STRING_EQUAL(bad.message ? bad.message : "", cases[i].message);
        doc_free(&d);
    }
    CU_ASSERT_EQUAL(auth_email_parse(NULL, email, norm, &bad), PROTO_EINVAL); /* no query */
    CU_ASSERT_STRING_EQUAL(bad.message, "email is required.");
}

#define PROFILE_OK                                                                                 \
    "\"account_name\":\"Main\",\"phone_number\":\"+4915112345678\",\"currency_preference\":"       \
    "\"EUR\",\"financial_goal\":\"debt_payoff\",\"risk_appetite\":\"low\""

static void test_profile_parse_money_is_exact(void)
{
    struct doc d;
    struct auth_profile p;
    struct auth_invalid bad;
    const struct {
        const char *income;
        int64_t minor;
    } ok[] = {{"1234.5", 123450},
              {"\"0.10\"", 10},
              {"0", 0},
              {"\"99999999.99\"", 9999999999},
              {"12.340", 1234}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{" PROFILE_OK ",\"monthly_income\":%s}", ok[i].income);
        CU_ASSERT_EQUAL(auth_profile_parse(doc_parse(&d, json), &p, &bad), 0);
        CU_ASSERT_EQUAL(p.monthly_income, ok[i].minor);
        CU_ASSERT_EQUAL(p.exponent, 2);
        doc_free(&d);
    }
    const char *bad_income[] = {"12.345", "-0.01", "\"1e3\"", "true", "\"\"", "null"};
    for (size_t i = 0; i < sizeof bad_income / sizeof bad_income[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{" PROFILE_OK ",\"monthly_income\":%s}", bad_income[i]);
        CU_ASSERT_EQUAL(auth_profile_parse(doc_parse(&d, json), &p, &bad), PROTO_EINVAL);
        CU_ASSERT_STRING_EQUAL(bad.code, "invalid_monthly_income");
        doc_free(&d);
    }
}

static void test_profile_parse_field_codes(void)
{
    struct doc d;
    struct auth_profile p;
    struct auth_invalid bad;
    const struct {
        const char *json, *code;
    } cases[] = {
        {"{}", "invalid_account_name"},
        {"{\"account_name\":\"A\",\"phone_number\":\"+12\"}", "invalid_phone_number"},
        {"{\"account_name\":\"A\",\"phone_number\":\"1234567\",\"currency_preference\":\"JPY\"}",
         "invalid_currency"},
        {"{\"account_name\":\"A\",\"phone_number\":\"1234567\",\"currency_preference\":\"GBP\","
         "\"monthly_income\":1,\"financial_goal\":\"x\"}",
         "invalid_financial_goal"},
        {"{\"account_name\":\"A\",\"phone_number\":\"1234567\",\"currency_preference\":\"GBP\","
         "\"monthly_income\":1,\"financial_goal\":\"savings\",\"risk_appetite\":\"LOW\"}",
         "invalid_risk_appetite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(auth_profile_parse(doc_parse(&d, cases[i].json), &p, &bad), PROTO_EINVAL);
        CU_ASSERT_STRING_EQUAL(bad.code, cases[i].code);
        doc_free(&d);
    }
    CU_ASSERT_EQUAL(auth_profile_parse(doc_parse(&d, "{\"account_name\":\"A\",\"phone_number\":"
                                                     "\"1234567\",\"currency_preference\":\"INR\","
                                                     "\"monthly_income\":\"0\",\"financial_goal\":"
                                                     "\"wealth_building\",\"risk_appetite\":"
                                                     "\"high\"}"),
                                       &p, &bad),
                    0);
    CU_ASSERT_STRING_EQUAL(p.currency, "INR");
    CU_ASSERT_STRING_EQUAL(p.phone_number, "1234567");
    doc_free(&d);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("auth_rules", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_email_normalize_lowercases_domain_keeps_local);
    ADD(test_email_normalize_rejects_implausible);
    ADD(test_password_counts_code_points);
    ADD(test_name_clean_trims_and_bounds);
    ADD(test_password_hash_is_argon2id_phc_and_verifies);
    ADD(test_register_parse_reports_first_bad_field);
    ADD(test_email_parse_query_and_body);
    ADD(test_profile_parse_money_is_exact);
    ADD(test_profile_parse_field_codes);
#undef ADD
    return ft_cunit_run();
}
