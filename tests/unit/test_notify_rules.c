/* The notification worker's pure rules (workers/notification/rules.c): reading events
 * defensively, what each notification says, the list query's error codes, the live frames. */
#include <CUnit/Basic.h>
#include <string.h>

#include "ft_json.h"
#include "ft_test.h"
#include "rules.h"

#define UA "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
#define UB "9a8b7c6d-1111-4222-8333-444455556666"
#define AC "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
#define TR "11111111-2222-4333-8444-555555555555"

static const msgpack_object *obj(const char *json)
{
    return ft_json_obj(json);
}

/* proto_txn_posted_parse + notify_txn_text on a JSON data object: "title|message|type" or "why". */
static const char *txn(const char *json)
{
    static char out[2 * NOTIFY_MESSAGE_BUF];
    struct proto_txn_posted t;
    struct notify_text text;
    const char *why = NULL;
    const msgpack_object *o = obj(json);
    if (!o)
        return "<bad json>";
    if (proto_txn_posted_parse(o, &t, &why) != 0)
        return why;
    notify_txn_text(&t, &text);
    snprintf(out, sizeof out, "%s|%s|%s", text.title, text.message, text.type);
    return out;
}

static void test_notify_rules_txn_texts(void)
{
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"deposit\",\"amount\":\"12.50\",\"currency\":\"USD\","
                               "\"account_id\":\"" AC "\",\"direction\":\"in\"}"),
                           "Deposit received|$12.50 was added to your account.|info");
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"withdrawal\",\"amount\":\"1234.5\",\"currency\":"
                               "\"USD\",\"account_id\":\"" AC "\",\"direction\":\"out\"}"),
                           "Withdrawal processed|$1,234.50 was withdrawn from your account.|alert");
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"transfer\",\"amount\":\"123456.78\",\"currency\":"
                               "\"INR\",\"account_id\":\"" AC "\",\"direction\":\"out\"}"),
                           "Transfer sent|You sent ₹1,23,456.78.|info");
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"transfer\",\"amount\":\"1500\",\"currency\":\"JPY\","
                               "\"account_id\":\"" AC "\",\"direction\":\"in\"}"),
                           "Money received|You received ¥1,500.|info");
    /* numbers as well as strings; direction optional for deposits and withdrawals */
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"deposit\",\"amount\":7.5,\"currency\":\"EUR\","
                               "\"account_id\":\"" AC "\"}"),
                           "Deposit received|€7.50 was added to your account.|info");
    CU_ASSERT_STRING_EQUAL(txn("{\"type\":\"withdrawal\",\"amount\":3,\"currency\":\"KWD\","
                               "\"account_id\":\"" AC "\"}"),
                           "Withdrawal processed|KWD 3.000 was withdrawn from your account.|alert");
}

static void test_notify_rules_txn_malformed(void)
{
    static const char *const bad[] = {
        "null",
        "[1,2]",
        "\"deposit\"",
        "{}",
        "{\"type\":\"gift\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":7,\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"amount\":\"0\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"amount\":\"-1\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"amount\":\"1.001\",\"currency\":\"USD\",\"account_id\":\"" AC
        "\"}",
        "{\"type\":\"deposit\",\"amount\":{\"x\":1},\"currency\":\"USD\",\"account_id\":\"" AC
        "\"}",
        "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"XYZ\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":[],\"account_id\":\"" AC "\"}",
        "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\"}",
        "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"acc\"}",
        "{\"type\":\"transfer\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC "\"}",
        "{\"type\":\"transfer\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC
        "\",\"direction\":\"sideways\"}",
        "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC
        "\",\"direction\":\"out\"}",
        "{\"type\":\"deposit\",\"amount\":\"99999999999999999999\",\"currency\":\"USD\","
        "\"account_id\":\"" AC "\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proto_txn_posted t;
        const char *why = NULL;
        const msgpack_object *o = obj(bad[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(proto_txn_posted_parse(o, &t, &why), -1);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
}

static void test_notify_rules_txn_optional_fields(void)
{
    struct proto_txn_posted t;
    const char *why;
    const msgpack_object *o =
        obj("{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"" AC
            "\",\"transfer_id\":\"" TR "\",\"balance_after\":\"101.25\"}");
    CU_ASSERT_EQUAL_FATAL(proto_txn_posted_parse(o, &t, &why), 0);
    CU_ASSERT_STRING_EQUAL(t.transfer_id, TR);
    CU_ASSERT(t.has_balance);
    CU_ASSERT_EQUAL(t.balance_after, 10125);
    CU_ASSERT_EQUAL(t.amount, 100);
    /* malformed optional fields are dropped, not fatal; ids are lowercased */
    o = obj("{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":"
            "\"0A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3D\",\"transfer_id\":5,\"balance_after\":"
            "\"lots\"}");
    CU_ASSERT_EQUAL_FATAL(proto_txn_posted_parse(o, &t, &why), 0);
    CU_ASSERT_STRING_EQUAL(t.account_id, AC);
    CU_ASSERT_STRING_EQUAL(t.transfer_id, "");
    CU_ASSERT_FALSE(t.has_balance);
}

static void test_notify_rules_recipient(void)
{
    char out[PROTO_UUID_LEN + 1];
    const char *why;
    CU_ASSERT_EQUAL(proto_event_recipient(UA, obj("{\"user_id\":\"" UA "\"}"), out, &why), 0);
    CU_ASSERT_STRING_EQUAL(out, UA);
    CU_ASSERT_EQUAL(proto_event_recipient(UA, obj("null"), out, &why), 0);
    CU_ASSERT_STRING_EQUAL(out, UA);
    CU_ASSERT_EQUAL(proto_event_recipient("", obj("{\"user_id\":\"" UB "\"}"), out, &why), 0);
    CU_ASSERT_STRING_EQUAL(out, UB);
    CU_ASSERT_EQUAL(
        proto_event_recipient("5F0C1D2E-3A4B-4C5D-8E6F-7A8B9C0D1E2F", obj("{}"), out, &why), 0);
    CU_ASSERT_STRING_EQUAL(out, UA);
    /* contradicting, missing or malformed */
    CU_ASSERT_EQUAL(proto_event_recipient(UA, obj("{\"user_id\":\"" UB "\"}"), out, &why), -1);
    CU_ASSERT_EQUAL(proto_event_recipient("", obj("{}"), out, &why), -1);
    CU_ASSERT_EQUAL(proto_event_recipient("", obj("{\"user_id\":\"bob\"}"), out, &why), -1);
    CU_ASSERT_EQUAL(proto_event_recipient("", obj("[\"" UA "\"]"), out, &why), -1);
    CU_ASSERT_EQUAL(proto_event_recipient("", obj("null"), out, &why), -1);
}

static void test_notify_rules_other_events(void)
{
    struct notify_text t;
    const char *why = NULL;
    CU_ASSERT_EQUAL(notify_welcome_text(obj("{\"first_completion\":true}"), &t, &why), 1);
    CU_ASSERT_STRING_EQUAL(t.title, "Welcome to FinTwin");
    CU_ASSERT_STRING_EQUAL(t.type, "info");
    CU_ASSERT_EQUAL(notify_welcome_text(obj("{\"first_completion\":false}"), &t, &why), 0);
    CU_ASSERT_EQUAL(notify_welcome_text(obj("{}"), &t, &why), 0);
    /* unreadable: refused with a reason the worker logs */
    CU_ASSERT_EQUAL(notify_welcome_text(obj("{\"first_completion\":\"true\"}"), &t, &why), -1);
    CU_ASSERT_STRING_EQUAL(why, "first_completion is not a boolean");
    CU_ASSERT_EQUAL(notify_welcome_text(obj("{\"first_completion\":1}"), &t, &why), -1);
    CU_ASSERT_EQUAL(notify_welcome_text(obj("[true]"), &t, &why), -1);
    CU_ASSERT_STRING_EQUAL(why, "data is not an object");

    notify_risk_text(obj("{\"title\":\"Large withdrawal\",\"message\":\"50% of your balance "
                         "left in one day.\"}"),
                     &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Large withdrawal");
    CU_ASSERT_STRING_EQUAL(t.message, "50% of your balance left in one day.");
    CU_ASSERT_STRING_EQUAL(t.type, "risk");
    /* unacceptable text falls back to the generic sentences */
    char longtitle[NOTIFY_TITLE_MAX + 40];
    snprintf(longtitle, sizeof longtitle, "{\"title\":\"%0121d\",\"message\":\"bell\\u0007\"}", 0);
    notify_risk_text(obj(longtitle), &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Risk alert");
    CU_ASSERT_PTR_NOT_NULL(strstr(t.message, "Unusual activity"));
    notify_risk_text(obj("{\"title\":\"   \",\"message\":42}"), &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Risk alert");
    notify_risk_text(obj("null"), &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Risk alert");
    CU_ASSERT_STRING_EQUAL(t.type, "risk");
    /* 120 code points of multi-byte text is fine */
    char euro[NOTIFY_TITLE_MAX * 3 + 32] = "{\"title\":\"";
    for (int i = 0; i < NOTIFY_TITLE_MAX; i++)
        strcat(euro, "€");
    strcat(euro, "\"}");
    notify_risk_text(obj(euro), &t);
    CU_ASSERT_EQUAL(strlen(t.title), NOTIFY_TITLE_MAX * 3);

    notify_twin_text(obj("{\"scenario\":\"emergency_fund\"}"), &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Simulation completed");
    CU_ASSERT_STRING_EQUAL(t.message, "Your emergency fund simulation is complete. Open the "
                                      "digital twin to see the result.");
    notify_twin_text(obj("{\"scenario\":\"withdrawal\",\"alert_level\":\"high\"}"), &t);
    CU_ASSERT_STRING_EQUAL(t.message, "Your withdrawal simulation is complete: high risk. Open "
                                      "the digital twin to see the result.");
    notify_twin_text(obj("{\"alert_level\":\"<b>\"}"), &t);
    CU_ASSERT_STRING_EQUAL(t.message, "Your simulation is complete. Open the digital twin to see "
                                      "the result.");
    CU_ASSERT_STRING_EQUAL(t.type, "info");
    notify_twin_text(obj("{\"scenario\":\"<script>\"}"), &t);
    CU_ASSERT_PTR_NULL(strstr(t.message, "script"));
    notify_twin_text(obj("7"), &t);
    CU_ASSERT_STRING_EQUAL(t.title, "Simulation completed");
}

static void test_notify_rules_text_ok(void)
{
    CU_ASSERT_TRUE(notify_text_ok("Hello", 5));
    CU_ASSERT_FALSE(notify_text_ok("Hello", 4));
    CU_ASSERT_TRUE(notify_text_ok("€€", 2)); /* two code points */
    CU_ASSERT_FALSE(notify_text_ok("", 10));
    CU_ASSERT_FALSE(notify_text_ok("  ", 10));
    CU_ASSERT_FALSE(notify_text_ok("a\nb", 10));
    CU_ASSERT_FALSE(notify_text_ok("a\x7f", 10));
    CU_ASSERT_FALSE(notify_text_ok("a\xC2\x85", 10)); /* U+0085, a C1 control */
    CU_ASSERT_FALSE(notify_text_ok("a\xC0\xAF", 10)); /* overlong */
}

/* The error code of a list query, or "ok". */
static const char *query_code(const char *json, struct notify_query *q)
{
    struct notify_invalid bad;
    const msgpack_object *o = json ? obj(json) : NULL;
    if (json && !o)
        return "<bad json>";
    return notify_query_parse(o, q, &bad) == 0 ? "ok" : bad.code;
}

static void test_notify_rules_query(void)
{
    struct notify_query q;
    CU_ASSERT_STRING_EQUAL(query_code(NULL, &q), "ok");
    CU_ASSERT_PTR_NULL(q.type);
    CU_ASSERT_EQUAL(q.unread_only, 0);
    CU_ASSERT_EQUAL(q.limit, 20);
    CU_ASSERT_EQUAL(q.offset, 0);
    CU_ASSERT_STRING_EQUAL(query_code("{\"type\":\"risk\",\"unread_only\":\"true\",\"limit\":"
                                      "\"100\",\"offset\":\"7\",\"other\":\"x\"}",
                                      &q),
                           "ok");
    CU_ASSERT_STRING_EQUAL(q.type, "risk");
    CU_ASSERT_EQUAL(q.unread_only, 1);
    CU_ASSERT_EQUAL(q.limit, 100);
    CU_ASSERT_EQUAL(q.offset, 7);
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"1\"}", &q), "ok");
    CU_ASSERT_EQUAL(q.unread_only, 1);
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"0\"}", &q), "ok");
    CU_ASSERT_EQUAL(q.unread_only, 0);
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"false\",\"limit\":\"1\"}", &q), "ok");
    CU_ASSERT_EQUAL(q.unread_only, 0);
    CU_ASSERT_EQUAL(q.limit, 1);

    CU_ASSERT_STRING_EQUAL(query_code("{\"type\":\"warning\"}", &q), "invalid_type");
    CU_ASSERT_STRING_EQUAL(query_code("{\"type\":\"\"}", &q), "invalid_type");
    CU_ASSERT_STRING_EQUAL(query_code("{\"type\":\"INFO\"}", &q), "invalid_type");
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"yes\"}", &q), "invalid_unread_only");
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"\"}", &q), "invalid_unread_only");
    CU_ASSERT_STRING_EQUAL(query_code("{\"unread_only\":\"TRUE\"}", &q), "invalid_unread_only");
    CU_ASSERT_STRING_EQUAL(query_code("{\"limit\":\"0\"}", &q), "invalid_limit");
    CU_ASSERT_STRING_EQUAL(query_code("{\"limit\":\"101\"}", &q), "invalid_limit");
    CU_ASSERT_STRING_EQUAL(query_code("{\"limit\":\"-1\"}", &q), "invalid_limit");
    CU_ASSERT_STRING_EQUAL(query_code("{\"limit\":\"ten\"}", &q), "invalid_limit");
    CU_ASSERT_STRING_EQUAL(query_code("{\"offset\":\"-1\"}", &q), "invalid_offset");
    CU_ASSERT_STRING_EQUAL(query_code("{\"offset\":\"\"}", &q), "invalid_offset");
    CU_ASSERT_STRING_EQUAL(query_code("{\"offset\":\"1000000001\"}", &q), "invalid_offset");
}

static void test_notify_rules_frames(void)
{
    struct proto_buf b = {0};
    struct notify_row row = {
        "n1", NULL, "Say \"hi\"", "a\\b ₹5", "info", 0, "2024-01-02T03:04:05.678Z"};
    CU_ASSERT_EQUAL(notify_frame_notification(&b, &row), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "{\"type\":\"notification\",\"notification\":{\"id\":\"n1\","
                                   "\"account_id\":null,\"title\":\"Say \\\"hi\\\"\",\"message\":"
                                   "\"a\\\\b ₹5\",\"type\":\"info\",\"is_read\":false,"
                                   "\"created_at\":\"2024-01-02T03:04:05.678Z\"}}");
    proto_buf_reset(&b);
    row.account_id = AC;
    row.is_read = 1;
    row.title = "bad \xC0";
    CU_ASSERT_NOT_EQUAL(notify_frame_notification(&b, &row), 0); /* invalid UTF-8 refused */

    struct proto_txn_posted t;
    const char *why;
    CU_ASSERT_EQUAL_FATAL(
        proto_txn_posted_parse(obj("{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"JPY\","
                                   "\"account_id\":\"" AC "\",\"transfer_id\":\"" TR "\","
                                   "\"balance_after\":\"1500\"}"),
                               &t, &why),
        0);
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(notify_frame_balance(&b, &t), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "{\"type\":\"balance\",\"account_id\":\"" AC "\",\"currency\":"
                                   "\"JPY\",\"balance\":1500,\"transfer_id\":\"" TR "\"}");
    t.transfer_id[0] = '\0';
    t.currency[0] = 'U', t.currency[1] = 'S', t.currency[2] = 'D';
    t.exponent = 2;
    t.balance_after = 5;
    proto_buf_reset(&b);
    CU_ASSERT_EQUAL(notify_frame_balance(&b, &t), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"balance\":0.05,\"transfer_id\":null}"));
    proto_buf_free(&b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("notify_rules", NULL, NULL);
    CU_ADD_TEST(s, test_notify_rules_txn_texts);
    CU_ADD_TEST(s, test_notify_rules_txn_malformed);
    CU_ADD_TEST(s, test_notify_rules_txn_optional_fields);
    CU_ADD_TEST(s, test_notify_rules_recipient);
    CU_ADD_TEST(s, test_notify_rules_other_events);
    CU_ADD_TEST(s, test_notify_rules_text_ok);
    CU_ADD_TEST(s, test_notify_rules_query);
    CU_ADD_TEST(s, test_notify_rules_frames);
    int rc = ft_cunit_run();
    ft_json_free();
    return rc;
}
