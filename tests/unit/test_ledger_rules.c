/* The transaction worker's pure rules (workers/transaction/rules.c): body parsing and its
 * error codes, exact amounts, paging bounds, and the idempotency request hash. */
#include <CUnit/Basic.h>
#include <string.h>

#include "ft_json.h"
#include "ft_test.h"
#include "rules.h"

static const msgpack_object *obj(const char *json)
{
    return ft_json_obj(json);
}

static const char *txn_code(const char *json)
{
    struct ledger_txn_input in;
    struct ledger_invalid bad;
    const msgpack_object *o = obj(json);
    if (!o)
        return "<bad json>";
    return ledger_txn_parse(o, &in, &bad) == 0 ? "ok" : bad.code;
}

static void test_ledger_rules_txn_codes(void)
{
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":\"1.50\"}"), "ok");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"withdrawal\",\"amount\":2}"), "ok");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"Deposit\",\"amount\":1}"), "invalid_type");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":1,\"amount\":1}"), "invalid_type");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\"}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":0}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":\"-3\"}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":0.00001}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":\"1e2\"}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"transfer\",\"amount\":1}"), "invalid_to_account");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"transfer\",\"amount\":1,\"to_account\":null}"),
                           "invalid_to_account");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"transfer\",\"amount\":1,\"to_account\":3}"),
                           "invalid_to_account");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":1,\"account_id\":[]}"),
                           "invalid_account_id");
    CU_ASSERT_STRING_EQUAL(txn_code("{\"type\":\"deposit\",\"amount\":1,\"note\":\"a\\u0001\"}"),
                           "invalid_note");

    struct ledger_txn_input in;
    struct ledger_invalid bad;
    CU_ASSERT_EQUAL(ledger_txn_parse(obj("{\"type\":\"transfer\",\"amount\":1,\"to_account\":"
                                         "\"5F0C1D2E-3A4B-4C5D-8E6F-7A8B9C0D1E2F\","
                                         "\"account_id\":\"mine\",\"note\":null}"),
                                     &in, &bad),
                    0);
    CU_ASSERT_EQUAL(in.type, LEDGER_TRANSFER);
    CU_ASSERT_STRING_EQUAL(in.to_account, "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f");
    CU_ASSERT_EQUAL(in.has_account, 1);
    CU_ASSERT_EQUAL(in.account_unknown, 1);
    CU_ASSERT_EQUAL(in.has_note, 0);
}

static void test_ledger_rules_note_counts_code_points(void)
{
    char json[1200], note[900] = "";
    for (int i = 0; i < 200; i++)
        strcat(note, "\xc3\xa9"); /* é: 2 bytes, 1 code point */
    snprintf(json, sizeof json, "{\"type\":\"deposit\",\"amount\":1,\"note\":\"%s\"}", note);
    CU_ASSERT_STRING_EQUAL(txn_code(json), "ok");
    strcat(note, "x");
    snprintf(json, sizeof json, "{\"type\":\"deposit\",\"amount\":1,\"note\":\"%s\"}", note);
    CU_ASSERT_STRING_EQUAL(txn_code(json), "invalid_note");
}

static void test_ledger_rules_amount_exact(void)
{
    int64_t m = 0;
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("\"125.50\""), 2, &m), 0);
    CU_ASSERT_EQUAL(m, 12550);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("125.5"), 2, &m), 0);
    CU_ASSERT_EQUAL(m, 12550);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("0.1"), 2, &m), 0);
    CU_ASSERT_EQUAL(m, 10);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("1.5"), 0, &m), -1); /* JPY */
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("\"1.001\""), 2, &m), -1);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("\"1.001\""), 3, &m), 0); /* KWD */
    CU_ASSERT_EQUAL(m, 1001);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("0"), 2, &m), -1);
    CU_ASSERT_EQUAL(ledger_amount_parse(obj("\"92233720368547758.08\""), 2, &m), -1);
    CU_ASSERT_EQUAL(ledger_amount_parse(NULL, 2, &m), -1);
}

static void test_ledger_rules_account_body(void)
{
    struct ledger_account_input in;
    struct ledger_invalid bad;
    CU_ASSERT_EQUAL(ledger_account_parse(obj("{\"name\":\" Rainy day \",\"kind\":\"savings\","
                                             "\"currency\":\"KWD\"}"),
                                         &in, &bad),
                    0);
    CU_ASSERT_STRING_EQUAL(in.name, "Rainy day");
    CU_ASSERT_EQUAL(in.exponent, 3);
    CU_ASSERT_EQUAL(ledger_account_parse(
                        obj("{\"name\":\"\",\"kind\":\"wallet\",\"currency\":\"USD\"}"), &in, &bad),
                    -1);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_name");
    CU_ASSERT_EQUAL(
        ledger_account_parse(obj("{\"name\":\"a\",\"kind\":\"external\",\"currency\":\"USD\"}"),
                             &in, &bad),
        -1);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_kind");
    CU_ASSERT_EQUAL(
        ledger_account_parse(obj("{\"name\":\"a\",\"kind\":\"wallet\",\"currency\":\"ABC\"}"), &in,
                             &bad),
        -1);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_currency");
    CU_ASSERT_EQUAL(bad.status, 422);
}

static void test_ledger_rules_page_bounds(void)
{
    long limit, offset;
    struct ledger_invalid bad;
    /* no limit: the route's maximum (earlier clients send none and sum what they get) */
    CU_ASSERT_EQUAL(ledger_page_parse(NULL, LEDGER_LIMIT_MAX, &limit, &offset, &bad), 0);
    CU_ASSERT_EQUAL(limit, 100);
    CU_ASSERT_EQUAL(offset, 0);
    CU_ASSERT_EQUAL(ledger_page_parse(obj("{\"offset\":\"3\"}"), LEDGER_ACCOUNT_LIMIT_MAX, &limit,
                                      &offset, &bad),
                    0);
    CU_ASSERT_EQUAL(limit, 1000);
    CU_ASSERT_EQUAL(offset, 3);
    CU_ASSERT_EQUAL(ledger_page_parse(obj("{\"limit\":\"100\",\"offset\":\"7\"}"), LEDGER_LIMIT_MAX,
                                      &limit, &offset, &bad),
                    0);
    CU_ASSERT_EQUAL(limit, 100);
    CU_ASSERT_EQUAL(offset, 7);
    CU_ASSERT_EQUAL(ledger_page_parse(obj("{\"limit\":\"1000\"}"), LEDGER_ACCOUNT_LIMIT_MAX, &limit,
                                      &offset, &bad),
                    0);
    CU_ASSERT_EQUAL(limit, 1000);
    CU_ASSERT_EQUAL(ledger_page_parse(obj("{\"limit\":\"1001\"}"), LEDGER_ACCOUNT_LIMIT_MAX, &limit,
                                      &offset, &bad),
                    -1);
    CU_ASSERT_STRING_EQUAL(bad.message, "limit must be an integer from 1 to 1000.");
    const char *bad_limits[] = {"{\"limit\":\"0\"}",   "{\"limit\":\"101\"}", "{\"limit\":\"-1\"}",
                                "{\"limit\":\"1.5\"}", "{\"limit\":\"\"}",    "{\"limit\":null}"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        CU_ASSERT_EQUAL(
            ledger_page_parse(obj(bad_limits[i]), LEDGER_LIMIT_MAX, &limit, &offset, &bad), -1);
        CU_ASSERT_STRING_EQUAL(bad.code, "invalid_limit");
    }
    CU_ASSERT_STRING_EQUAL(bad.message, "limit must be an integer from 1 to 100.");
    CU_ASSERT_EQUAL(
        ledger_page_parse(obj("{\"offset\":\"-1\"}"), LEDGER_LIMIT_MAX, &limit, &offset, &bad), -1);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_offset");
    CU_ASSERT_EQUAL(ledger_page_parse(obj("{\"offset\":\"99999999999\"}"), LEDGER_LIMIT_MAX, &limit,
                                      &offset, &bad),
                    -1);
    CU_ASSERT_STRING_EQUAL(bad.code, "invalid_offset");
}

static void test_ledger_rules_before(void)
{
    char id[PROTO_UUID_LEN + 1];
    int has = 7;
    struct ledger_invalid bad;
    CU_ASSERT_EQUAL(ledger_before_parse(NULL, id, &has, &bad), 0);
    CU_ASSERT_EQUAL(has, 0);
    CU_ASSERT_EQUAL(ledger_before_parse(obj("{\"before\":\"\"}"), id, &has, &bad), 0);
    CU_ASSERT_EQUAL(has, 0);
    CU_ASSERT_EQUAL(
        ledger_before_parse(obj("{\"before\":\"0F6A41B2-7C3D-4E5F-8A9B-0C1D2E3F4A5B\"}"), id, &has,
                            &bad),
        0);
    CU_ASSERT_EQUAL(has, 1);
    CU_ASSERT_STRING_EQUAL(id, "0f6a41b2-7c3d-4e5f-8a9b-0c1d2e3f4a5b");
    const char *bads[] = {"{\"before\":\"x\"}", "{\"before\":1}", "{\"before\":null}",
                          "{\"before\":\"0f6a41b2-7c3d-4e5f-8a9b-0c1d2e3f4a5b0\"}",
                          "{\"before\":\"0f6a41b2-7c3d-4e5f-8a9b-0c1d2e3f4a5\"}"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        CU_ASSERT_EQUAL(ledger_before_parse(obj(bads[i]), id, &has, &bad), -1);
        CU_ASSERT_STRING_EQUAL(bad.code, "invalid_before");
        CU_ASSERT_EQUAL(bad.status, 422);
    }
}

static void hash_of(const char *method, const char *json, unsigned char out[LEDGER_HASH_LEN])
{
    CU_ASSERT_EQUAL(proto_request_hash(method, json ? obj(json) : NULL, out), 0);
}

static void test_ledger_rules_request_hash(void)
{
    unsigned char a[LEDGER_HASH_LEN], b[LEDGER_HASH_LEN];
    hash_of("txn.create", "{\"type\":\"deposit\",\"amount\":\"1.00\",\"x\":{\"b\":1,\"a\":2}}", a);
    hash_of("txn.create", "{\"x\":{\"a\":2,\"b\":1},\"amount\":\"1.00\",\"type\":\"deposit\"}", b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0); /* key order does not matter */
    hash_of("txn.create", "{\"type\":\"deposit\",\"amount\":\"1.01\",\"x\":{\"b\":1,\"a\":2}}", b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    hash_of("acct.create", "{\"type\":\"deposit\",\"amount\":\"1.00\",\"x\":{\"b\":1,\"a\":2}}", b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0); /* the method is part of it */
    /* types are tagged: "1" and 1, [] and {} differ; nested keys cannot be shifted */
    hash_of("m", "{\"a\":\"1\"}", a);
    hash_of("m", "{\"a\":1}", b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    hash_of("m", "{\"ab\":\"c\"}", a);
    hash_of("m", "{\"a\":\"bc\"}", b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    hash_of("m", "[]", a);
    hash_of("m", "{}", b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    hash_of("m", NULL, a);
    hash_of("m", "null", b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("ledger_rules", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_ledger_rules_txn_codes);
    ADD(test_ledger_rules_note_counts_code_points);
    ADD(test_ledger_rules_amount_exact);
    ADD(test_ledger_rules_account_body);
    ADD(test_ledger_rules_page_bounds);
    ADD(test_ledger_rules_before);
    ADD(test_ledger_rules_request_hash);
#undef ADD
    int rc = ft_cunit_run();
    ft_json_free();
    return rc;
}
