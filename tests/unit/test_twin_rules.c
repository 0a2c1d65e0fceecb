/* The twin worker's request rules (workers/twin/rules.c, contract in rules.h): every error code
 * of POST /api/simulate/ and POST /api/simulate/projection, exact amounts and rates (never
 * rounded), the defaults a body may leave out, and the worker's configuration values. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "ft_json.h"
#include "ft_test.h"
#include "rules.h"

#define RETURN_7   70000  /* the default annual return, 7 % */
#define VOL_15     150000 /* the default volatility, 15 % */

/* ---- POST /api/simulate/ ---- */

static const char *simulate_code(const char *json)
{
    const msgpack_object *o = ft_json_obj(json);
    struct twin_simulate_input in;
    struct twin_invalid bad;
    if (!o)
        return "<bad json>";
    if (twin_simulate_parse(o, &in, &bad) == 0)
        return "ok";
    CU_ASSERT_EQUAL(bad.status, 422);
    CU_ASSERT(bad.message[0] != '\0');
    return bad.code;
}

static void test_twin_rules_simulate_codes(void)
{
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":\"withdrawal\",\"amount\":\"5\"}"), "ok");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"amount\":5}"), "invalid_scenario");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":null,\"amount\":5}"), "invalid_scenario");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":\"Withdrawal\",\"amount\":5}"),
                           "invalid_scenario");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":\"loan\",\"amount\":5}"),
                           "invalid_scenario");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":3,\"amount\":5}"), "invalid_scenario");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":\"deposit\"}"), "invalid_amount");
    CU_ASSERT_STRING_EQUAL(simulate_code("{\"scenario\":\"deposit\",\"amount\":null}"),
                           "invalid_amount");
    CU_ASSERT_STRING_EQUAL(
        simulate_code("{\"scenario\":\"deposit\",\"amount\":1,\"account_id\":\"mine\"}"),
        "invalid_account_id");
    CU_ASSERT_STRING_EQUAL(
        simulate_code("{\"scenario\":\"deposit\",\"amount\":1,\"account_id\":7}"),
        "invalid_account_id");
    /* Every scenario name parses. */
    static const char *const names[] = {"withdrawal",        "deposit",           "rate_change",
                                        "recurring_expense", "investment_growth", "emergency_fund"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char json[96];
        snprintf(json, sizeof json, "{\"scenario\":\"%s\",\"amount\":1}", names[i]);
        CU_ASSERT_STRING_EQUAL(simulate_code(json), "ok");
    }
}

static void test_twin_rules_simulate_ignores_client_balance(void)
{
    struct twin_simulate_input in;
    struct twin_invalid bad;
    const msgpack_object *o =
        ft_json_obj("{\"scenario\":\"rate_change\",\"amount\":\"2.5\",\"balance\":999999,"
                    "\"account_id\":\"5F0C1D2E-3A4B-4C5D-8E6F-7A8B9C0D1E2F\"}");
    CU_ASSERT_EQUAL_FATAL(twin_simulate_parse(o, &in, &bad), 0);
    CU_ASSERT_EQUAL(in.scenario, TWIN_RATE_CHANGE);
    CU_ASSERT_EQUAL(in.account.has, 1);
    CU_ASSERT_STRING_EQUAL(in.account.id, "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f");
    CU_ASSERT_PTR_NOT_NULL(in.amount);
    /* No field of the input can carry a balance: the handler reads the account's. */
    CU_ASSERT_EQUAL(twin_simulate_parse(ft_json_obj("{\"scenario\":\"deposit\",\"amount\":1,"
                                                    "\"account_id\":null}"),
                                        &in, &bad),
                    0);
    CU_ASSERT_EQUAL(in.account.has, 0);
}

/* twin_amount_parse of a JSON value: the minor units, or INT64_MIN when refused. */
static int64_t amount_of(const char *json_value, enum twin_scenario s, int exponent)
{
    char json[128];
    snprintf(json, sizeof json, "{\"a\":%s}", json_value);
    const msgpack_object *o = ft_json_obj(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    int64_t v = 0;
    struct twin_invalid bad;
    if (twin_amount_parse(&o->via.map.ptr[0].val, s, exponent, &v, &bad) != 0) {
        CU_ASSERT_STRING_EQUAL(bad.code, "invalid_amount");
        CU_ASSERT_EQUAL(bad.status, 422);
        return INT64_MIN;
    }
    return v;
}

static void test_twin_rules_amounts_exact(void)
{
    CU_ASSERT_EQUAL(amount_of("\"12.50\"", TWIN_WITHDRAWAL, 2), 1250);
    CU_ASSERT_EQUAL(amount_of("12.5", TWIN_WITHDRAWAL, 2), 1250);
    CU_ASSERT_EQUAL(amount_of("0.01", TWIN_DEPOSIT, 2), 1);
    CU_ASSERT_EQUAL(amount_of("\"92233720368547758.07\"", TWIN_DEPOSIT, 2), INT64_MAX);
    CU_ASSERT_EQUAL(amount_of("\"92233720368547758.08\"", TWIN_DEPOSIT, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"12.505\"", TWIN_WITHDRAWAL, 2), INT64_MIN); /* never rounded */
    CU_ASSERT_EQUAL(amount_of("0", TWIN_WITHDRAWAL, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"-1\"", TWIN_WITHDRAWAL, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"1e2\"", TWIN_WITHDRAWAL, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"ten\"", TWIN_WITHDRAWAL, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("true", TWIN_WITHDRAWAL, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("[]", TWIN_WITHDRAWAL, 2), INT64_MIN);
    /* The currency's exponent decides: JPY has none, BHD three. */
    CU_ASSERT_EQUAL(amount_of("500", TWIN_EMERGENCY_FUND, 0), 500);
    CU_ASSERT_EQUAL(amount_of("\"1.5\"", TWIN_EMERGENCY_FUND, 0), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"1.005\"", TWIN_RECURRING_EXPENSE, 3), 1005);
}

static void test_twin_rules_rate_change_amounts(void)
{
    /* A percentage in (-100, 1000] with at most 4 decimals, percent * 10^4. */
    CU_ASSERT_EQUAL(amount_of("\"2.5\"", TWIN_RATE_CHANGE, 2), 25000);
    CU_ASSERT_EQUAL(amount_of("0", TWIN_RATE_CHANGE, 2), 0);
    CU_ASSERT_EQUAL(amount_of("\"-99.9999\"", TWIN_RATE_CHANGE, 2), -999999);
    CU_ASSERT_EQUAL(amount_of("-100", TWIN_RATE_CHANGE, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("1000", TWIN_RATE_CHANGE, 2), 10000000);
    CU_ASSERT_EQUAL(amount_of("\"1000.0001\"", TWIN_RATE_CHANGE, 2), INT64_MIN);
    CU_ASSERT_EQUAL(amount_of("\"0.00001\"", TWIN_RATE_CHANGE, 2), INT64_MIN);
}

/* ---- POST /api/simulate/projection ---- */

static struct twin_projection_request rq;

static const char *projection_code(const char *json)
{
    const msgpack_object *o = ft_json_obj(json);
    struct twin_invalid bad;
    if (!o)
        return "<bad json>";
    if (twin_projection_parse(o, RETURN_7, VOL_15, &rq, &bad) == 0)
        return "ok";
    CU_ASSERT_EQUAL(bad.status, 422);
    CU_ASSERT(bad.message[0] != '\0');
    return bad.code;
}

/* A projection body with `extra` fields after horizon_months (a JSON fragment or ""). */
static const char *projection_with(int horizon, const char *extra)
{
    char json[4096];
    snprintf(json, sizeof json, "{\"horizon_months\":%d%s%s}", horizon, extra[0] ? "," : "", extra);
    return projection_code(json);
}

static void test_twin_rules_projection_defaults(void)
{
    CU_ASSERT_STRING_EQUAL(projection_with(12, ""), "ok");
    CU_ASSERT_EQUAL(rq.horizon, 12);
    CU_ASSERT_EQUAL(rq.annual_return, RETURN_7);
    CU_ASSERT_EQUAL(rq.inflation, 0);
    CU_ASSERT_EQUAL(rq.nevents, 0);
    CU_ASSERT_EQUAL(rq.monte_carlo, 0);
    CU_ASSERT_PTR_NULL(rq.start_balance);
    CU_ASSERT_STRING_EQUAL(rq.currency, "");
    CU_ASSERT_EQUAL(rq.account.has, 0);

    CU_ASSERT_STRING_EQUAL(projection_with(600, "\"monte_carlo\":{\"paths\":100}"), "ok");
    CU_ASSERT_EQUAL(rq.monte_carlo, 1);
    CU_ASSERT_EQUAL(rq.paths, 100);
    CU_ASSERT_EQUAL(rq.volatility, VOL_15);
    CU_ASSERT_EQUAL(rq.seed, 1);
    CU_ASSERT_PTR_NULL(rq.goal);

    CU_ASSERT_STRING_EQUAL(
        projection_with(24, "\"annual_return\":\"-2.5\",\"inflation\":3,\"start_balance\":"
                            "\"100\",\"currency\":\"JPY\",\"monte_carlo\":{\"paths\":10,"
                            "\"volatility\":0,\"seed\":42,\"goal\":5}"),
        "ok");
    CU_ASSERT_EQUAL(rq.annual_return, -25000);
    CU_ASSERT_EQUAL(rq.inflation, 30000);
    CU_ASSERT_STRING_EQUAL(rq.currency, "JPY");
    CU_ASSERT_EQUAL(rq.volatility, 0);
    CU_ASSERT_EQUAL(rq.seed, 42);
    CU_ASSERT_PTR_NOT_NULL(rq.goal);
}

static void test_twin_rules_projection_codes(void)
{
    CU_ASSERT_STRING_EQUAL(projection_code("{}"), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_with(0, ""), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_with(601, ""), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_with(-1, ""), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_code("{\"horizon_months\":\"12\"}"), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_code("{\"horizon_months\":1.5}"), "invalid_horizon");
    CU_ASSERT_STRING_EQUAL(projection_with(1, ""), "ok");
    CU_ASSERT_STRING_EQUAL(projection_with(600, ""), "ok");

    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"account_id\":\"x\""), "invalid_account_id");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"currency\":\"USD\""), "invalid_currency");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"start_balance\":1,\"currency\":\"XYZ\""),
                           "invalid_currency");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"start_balance\":1,\"currency\":\"usd\""),
                           "invalid_currency");

    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"annual_return\":100"), "ok");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"annual_return\":-100"), "ok");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"annual_return\":\"100.0001\""), "invalid_rate");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"annual_return\":\"7.00001\""), "invalid_rate");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"annual_return\":\"seven\""), "invalid_rate");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"inflation\":-1"), "invalid_inflation");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"inflation\":101"), "invalid_inflation");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"inflation\":100"), "ok");
}

static void test_twin_rules_projection_events(void)
{
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"events\":{}"), "invalid_events");
    char many[64 * 40 + 64] = "\"events\":[";
    for (int i = 0; i <= TWIN_EVENTS_MAX; i++)
        strcat(many,
               i ? ",{\"type\":\"income\",\"amount\":1}" : "{\"type\":\"income\",\"amount\":1}");
    strcat(many, "]");
    CU_ASSERT_STRING_EQUAL(projection_with(12, many), "invalid_events"); /* 65 events */
    many[strlen(many) - strlen(",{\"type\":\"income\",\"amount\":1}]")] = '\0';
    strcat(many, "]");
    CU_ASSERT_STRING_EQUAL(projection_with(12, many), "ok"); /* 64 events */
    CU_ASSERT_EQUAL(rq.nevents, TWIN_EVENTS_MAX);

    static const char *const bad_events[] = {
        "[1]",
        "[{\"amount\":1}]",
        "[{\"type\":\"bonus\",\"amount\":1}]",
        "[{\"type\":\"income\"}]",
        "[{\"type\":\"income\",\"amount\":1,\"month\":0}]",
        "[{\"type\":\"income\",\"amount\":1,\"month\":13}]",
        "[{\"type\":\"income\",\"amount\":1,\"recurring\":\"yes\"}]",
        "[{\"type\":\"income\",\"amount\":1,\"end_month\":5}]",
        "[{\"type\":\"income\",\"amount\":1,\"month\":6,\"recurring\":true,\"end_month\":5}]",
        "[{\"type\":\"income\",\"amount\":1,\"recurring\":true,\"end_month\":13}]",
        "[{\"type\":\"rate_change\",\"rate\":5}]",
        "[{\"type\":\"rate_change\",\"month\":3}]",
        "[{\"type\":\"rate_change\",\"month\":3,\"rate\":101}]",
    };
    for (size_t i = 0; i < sizeof bad_events / sizeof bad_events[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, "\"events\":%s", bad_events[i]);
        const char *code = projection_with(12, extra);
        if (strcmp(code, "invalid_event") != 0)
            fprintf(stderr, "events %s answered %s\n", bad_events[i], code);
        CU_ASSERT_STRING_EQUAL(code, "invalid_event");
    }

    /* Months: one-off at month (default 1); recurring from month to end_month (default the
     * horizon); a rate change from its month on. */
    CU_ASSERT_STRING_EQUAL(
        projection_with(12, "\"events\":[{\"type\":\"expense\",\"amount\":\"9.99\"},"
                            "{\"type\":\"income\",\"amount\":1,\"month\":4,\"recurring\":true},"
                            "{\"type\":\"income\",\"amount\":1,\"month\":2,\"recurring\":true,"
                            "\"end_month\":5},"
                            "{\"type\":\"rate_change\",\"month\":7,\"rate\":\"-3.25\"}]"),
        "ok");
    CU_ASSERT_EQUAL_FATAL(rq.nevents, 4);
    CU_ASSERT_EQUAL(rq.events[0].kind, TWIN_EV_EXPENSE);
    CU_ASSERT_EQUAL(rq.events[0].start, 1);
    CU_ASSERT_EQUAL(rq.events[0].end, 1);
    CU_ASSERT_EQUAL(rq.events[1].kind, TWIN_EV_INCOME);
    CU_ASSERT_EQUAL(rq.events[1].start, 4);
    CU_ASSERT_EQUAL(rq.events[1].end, 12);
    CU_ASSERT_EQUAL(rq.events[2].start, 2);
    CU_ASSERT_EQUAL(rq.events[2].end, 5);
    CU_ASSERT_EQUAL(rq.events[3].kind, TWIN_EV_RATE);
    CU_ASSERT_EQUAL(rq.events[3].start, 7);
    CU_ASSERT_EQUAL(rq.events[3].rate, -32500);
    CU_ASSERT_PTR_NULL(rq.event_amounts[3]);
}

static void test_twin_rules_projection_monte_carlo_codes(void)
{
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":true"), "invalid_monte_carlo");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{}"), "invalid_paths");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":0}"), "invalid_paths");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":100001}"),
                           "invalid_paths");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":\"10\"}"),
                           "invalid_paths");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":100000}"), "ok");
    /* 100,000 paths x 360 months is the most one request may ask for. */
    CU_ASSERT_STRING_EQUAL(projection_with(360, "\"monte_carlo\":{\"paths\":100000}"), "ok");
    CU_ASSERT_STRING_EQUAL(projection_with(361, "\"monte_carlo\":{\"paths\":100000}"),
                           "simulation_too_large");
    CU_ASSERT_STRING_EQUAL(projection_with(600, "\"monte_carlo\":{\"paths\":60000}"), "ok");
    CU_ASSERT_STRING_EQUAL(projection_with(600, "\"monte_carlo\":{\"paths\":60001}"),
                           "simulation_too_large");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":1,\"volatility\":-1}"),
                           "invalid_volatility");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":1,\"volatility\":201}"),
                           "invalid_volatility");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":1,\"seed\":-1}"),
                           "invalid_seed");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":1,\"seed\":\"abc\"}"),
                           "invalid_seed");
    CU_ASSERT_STRING_EQUAL(projection_with(12, "\"monte_carlo\":{\"paths\":1,\"seed\":0.5}"),
                           "invalid_seed");
    CU_ASSERT_STRING_EQUAL(
        projection_with(12, "\"monte_carlo\":{\"paths\":1,\"seed\":9223372036854775807}"), "ok");
    CU_ASSERT_EQUAL(rq.seed, (uint64_t)INT64_MAX);
}

/* twin_projection_money on a parsed body: "ok" or the code. */
static const char *money_code(const char *extra, int exponent, int64_t *start, int64_t *goal,
                              struct twin_event *events)
{
    const char *code = projection_with(12, extra);
    if (strcmp(code, "ok") != 0)
        return code;
    struct twin_invalid bad;
    int has_goal = 0;
    *start = -7; /* untouched without start_balance */
    if (twin_projection_money(&rq, exponent, start, events, &has_goal, goal, &bad) != 0) {
        CU_ASSERT_EQUAL(bad.status, 422);
        return bad.code;
    }
    if (!has_goal)
        *goal = -1;
    return "ok";
}

static void test_twin_rules_projection_money(void)
{
    int64_t start, goal;
    struct twin_event ev[TWIN_EVENTS_MAX];
    CU_ASSERT_STRING_EQUAL(money_code("", 2, &start, &goal, ev), "ok");
    CU_ASSERT_EQUAL(start, -7);
    CU_ASSERT_EQUAL(goal, -1);
    CU_ASSERT_STRING_EQUAL(
        money_code("\"start_balance\":\"1234.56\",\"events\":[{\"type\":\"income\",\"amount\":"
                   "\"0.01\"},{\"type\":\"rate_change\",\"month\":2,\"rate\":1}],"
                   "\"monte_carlo\":{\"paths\":1,\"goal\":\"5000\"}",
                   2, &start, &goal, ev),
        "ok");
    CU_ASSERT_EQUAL(start, 123456);
    CU_ASSERT_EQUAL(goal, 500000);
    CU_ASSERT_EQUAL(ev[0].amount, 1);
    CU_ASSERT_EQUAL(ev[1].kind, TWIN_EV_RATE);
    CU_ASSERT_EQUAL(ev[1].rate, 10000);
    /* A "what if I owed" start figure may be negative; it is still exact. */
    CU_ASSERT_STRING_EQUAL(money_code("\"start_balance\":\"-10.5\"", 2, &start, &goal, ev), "ok");
    CU_ASSERT_EQUAL(start, -1050);

    CU_ASSERT_STRING_EQUAL(money_code("\"start_balance\":\"1.001\"", 2, &start, &goal, ev),
                           "invalid_start_balance");
    CU_ASSERT_STRING_EQUAL(money_code("\"start_balance\":\"1.5\"", 0, &start, &goal, ev),
                           "invalid_start_balance");
    CU_ASSERT_STRING_EQUAL(money_code("\"start_balance\":[]", 2, &start, &goal, ev),
                           "invalid_start_balance");
    CU_ASSERT_STRING_EQUAL(
        money_code("\"events\":[{\"type\":\"expense\",\"amount\":0}]", 2, &start, &goal, ev),
        "invalid_event");
    CU_ASSERT_STRING_EQUAL(money_code("\"events\":[{\"type\":\"expense\",\"amount\":\"0.001\"}]", 2,
                                      &start, &goal, ev),
                           "invalid_event");
    CU_ASSERT_STRING_EQUAL(
        money_code("\"monte_carlo\":{\"paths\":1,\"goal\":0}", 2, &start, &goal, ev),
        "invalid_goal");
    CU_ASSERT_STRING_EQUAL(
        money_code("\"monte_carlo\":{\"paths\":1,\"goal\":\"x\"}", 2, &start, &goal, ev),
        "invalid_goal");
}

/* ---- configuration ---- */

static void test_twin_rules_rate_text(void)
{
    int64_t v = 0;
    CU_ASSERT_EQUAL(twin_rate_text("7", &v), 0);
    CU_ASSERT_EQUAL(v, 70000);
    CU_ASSERT_EQUAL(twin_rate_text("-2.5", &v), 0);
    CU_ASSERT_EQUAL(v, -25000);
    CU_ASSERT_EQUAL(twin_rate_text("0.0125", &v), 0);
    CU_ASSERT_EQUAL(v, 125);
    CU_ASSERT_EQUAL(twin_rate_text("0.00001", &v), -1);
    CU_ASSERT_EQUAL(twin_rate_text("7%", &v), -1);
    CU_ASSERT_EQUAL(twin_rate_text("", &v), -1);
    CU_ASSERT_EQUAL(twin_rate_text("seven", &v), -1);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("twin_rules", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_twin_rules_simulate_codes);
    ADD(test_twin_rules_simulate_ignores_client_balance);
    ADD(test_twin_rules_amounts_exact);
    ADD(test_twin_rules_rate_change_amounts);
    ADD(test_twin_rules_projection_defaults);
    ADD(test_twin_rules_projection_codes);
    ADD(test_twin_rules_projection_events);
    ADD(test_twin_rules_projection_monte_carlo_codes);
    ADD(test_twin_rules_projection_money);
    ADD(test_twin_rules_rate_text);
#undef ADD
    int rc = ft_cunit_run();
    ft_json_free();
    return rc;
}
