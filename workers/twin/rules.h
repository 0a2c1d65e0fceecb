/*
 * workers/twin/rules.h — the twin worker's request rules: reading and validating the bodies of
 * POST /api/simulate/ and POST /api/simulate/projection into engine inputs (engine.h), and
 * the worker's configuration values. No I/O, no database: unit-tested in
 * tests/unit/test_twin_rules.c. Every rejection names a stable error code (README "Digital twin")
 * and a sentence saying what the field must be.
 */
#ifndef TWIN_RULES_H
#define TWIN_RULES_H

#include <msgpack.h>
#include <stdint.h>

#include "engine.h"
#include "proto/uuid.h"

#define TWIN_MESSAGE_MAX 160

/* Why a body was refused: HTTP status (400 or 422), code and message. */
struct twin_invalid {
    int status;
    const char *code;
    char message[TWIN_MESSAGE_MAX];
};

/* An optional account reference: absent (has = 0) or a UUID, lowercase (an account id or the
 * caller's own user id; the handler tells which). */
struct twin_account_ref {
    int has;
    char id[PROTO_UUID_LEN + 1];
};

/*
 * POST /api/simulate/: {scenario, amount, account_id?}. Any other key (a client's `balance`)
 * is ignored: the balance is always the server's. The amount is read later, once the
 * account's currency is known (twin_amount_parse). Codes: invalid_scenario,
 * invalid_account_id, invalid_amount (absent). Returns 0 or -1 with *bad.
 */
struct twin_simulate_input {
    enum twin_scenario scenario;
    struct twin_account_ref account;
    const msgpack_object *amount; /* borrowed from body */
};
int twin_simulate_parse(const msgpack_object *body, struct twin_simulate_input *in,
                        struct twin_invalid *bad);

/*
 * The scenario's amount: money > 0 in minor units of a currency with `exponent` digits, or
 * for TWIN_RATE_CHANGE a percentage in (-100, 1000] with at most 4 decimals, as
 * TWIN_RATE_SCALE units. Strings ("12.50") and JSON numbers are read exactly; too many
 * decimals is refused, never rounded. Code invalid_amount. Returns 0 or -1 with *bad.
 */
int twin_amount_parse(const msgpack_object *o, enum twin_scenario s, int exponent, int64_t *out,
                      struct twin_invalid *bad);

/*
 * POST /api/simulate/projection:
 *   { account_id?, start_balance?, currency?, horizon_months, annual_return?, inflation?,
 *     events?: [ {type: "income"|"expense", amount, month?, end_month?, recurring?}
 *              | {type: "rate_change", rate, month} ],
 *     monte_carlo?: {paths, volatility?, seed?, goal?} }
 * start_balance replaces the live balance (a "what if I had" figure); currency is allowed only
 * with it and otherwise comes from the account. Money fields are read once the currency is
 * known (twin_projection_money); everything else here. Months are 1-based; a one-off event
 * has no end_month; a recurring one runs from month (default 1) to end_month (default the
 * horizon). Codes: invalid_account_id, invalid_currency, invalid_horizon, invalid_rate,
 * invalid_inflation, invalid_events, invalid_event, invalid_monte_carlo, invalid_paths,
 * invalid_volatility, invalid_seed, simulation_too_large. Returns 0 or -1 with *bad.
 */
struct twin_projection_request {
    struct twin_account_ref account;
    const msgpack_object *start_balance; /* borrowed; NULL: the live balance */
    char currency[4];                    /* "" unless given with start_balance */
    int horizon;
    int64_t annual_return, inflation; /* TWIN_RATE_SCALE */
    struct twin_event events[TWIN_EVENTS_MAX];
    const msgpack_object *event_amounts[TWIN_EVENTS_MAX]; /* borrowed; NULL for rate changes */
    size_t nevents;
    int monte_carlo; /* 1 when requested */
    long paths;
    int64_t volatility;
    uint64_t seed;
    const msgpack_object *goal; /* borrowed; NULL: none */
};
int twin_projection_parse(const msgpack_object *body, int64_t default_return,
                          int64_t default_volatility, struct twin_projection_request *rq,
                          struct twin_invalid *bad);

/* Reads the money fields of rq (start_balance, event amounts, goal) in a currency with
 * `exponent` digits into the engine inputs. Codes invalid_start_balance, invalid_event,
 * invalid_goal. Returns 0 or -1 with *bad. */
int twin_projection_money(const struct twin_projection_request *rq, int exponent,
                          int64_t *start_balance, struct twin_event *events, int *has_goal,
                          int64_t *goal, struct twin_invalid *bad);

/* A percentage text ("7", "-2.5", "0.0125") as TWIN_RATE_SCALE units, for configuration:
 * 0, or -1 when it is not a decimal with at most 4 fraction digits. */
int twin_rate_text(const char *text, int64_t *out);

#endif
