/* The twin worker's request rules; see rules.h. */
#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/money.h"
#include "proto/msg.h"

/* Rates are percentages with at most 4 decimals: read as money with exponent 4. */
#define RATE_EXPONENT 4
#define PERCENT(x)    ((int64_t)(x)*TWIN_RATE_SCALE)

static int refuse(struct twin_invalid *bad, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct twin_invalid *bad, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bad->status = status;
    bad->code = code;
    vsnprintf(bad->message, sizeof bad->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A present, non-nil field (JSON null counts as absent). */
static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = proto_map_get(map, key);
    return o && o->type != MSGPACK_OBJECT_NIL ? o : NULL;
}

static int read_account(const msgpack_object *body, struct twin_account_ref *ref,
                        struct twin_invalid *bad)
{
    ref->has = 0;
    const msgpack_object *o = field(body, "account_id");
    if (!o)
        return 0;
    if (proto_obj_uuid(o, ref->id) != 0)
        return refuse(bad, 422, "invalid_account_id", "account_id must be an account id.");
    ref->has = 1;
    return 0;
}

int twin_simulate_parse(const msgpack_object *body, struct twin_simulate_input *in,
                        struct twin_invalid *bad)
{
    char name[32];
    const msgpack_object *o = field(body, "scenario");
    if (!o || proto_obj_str(o, name, sizeof name) != 0 ||
        twin_scenario_parse(name, &in->scenario) != 0)
        return refuse(bad, 422, "invalid_scenario",
                      "scenario must be one of withdrawal, deposit, rate_change, "
                      "recurring_expense, investment_growth, emergency_fund.");
    if (read_account(body, &in->account, bad) != 0)
        return -1;
    in->amount = field(body, "amount");
    if (!in->amount)
        return refuse(bad, 422, "invalid_amount", "amount is required.");
    return 0;
}

/* An integer in [lo, hi] (JSON integers only). 0 or -1. */
static int read_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (proto_obj_int(o, &v) != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A percentage in [lo, hi] percent (exact, at most 4 decimals) as TWIN_RATE_SCALE units. */
static int read_rate(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (proto_obj_money(o, RATE_EXPONENT, &v) != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int twin_amount_parse(const msgpack_object *o, enum twin_scenario s, int exponent, int64_t *out,
                      struct twin_invalid *bad)
{
    if (s == TWIN_RATE_CHANGE) {
        if (read_rate(o, PERCENT(-100) + 1, PERCENT(1000), out) != 0)
            return refuse(bad, 422, "invalid_amount",
                          "For rate_change, amount is a percentage above -100 and at most "
                          "1000, with at most 4 decimals.");
        return 0;
    }
    int64_t v;
    if (proto_obj_money(o, exponent, &v) != 0 || v <= 0)
        return refuse(bad, 422, "invalid_amount",
                      "amount must be a positive amount with at most %d decimals.", exponent);
    *out = v;
    return 0;
}

/* ---- projection ---- */

static int read_event(const msgpack_object *e, size_t i, int horizon,
                      struct twin_projection_request *rq, struct twin_invalid *bad)
{
    struct twin_event *ev = &rq->events[rq->nevents];
    char type[16];
    int64_t v;
    if (e->type != MSGPACK_OBJECT_MAP)
        return refuse(bad, 422, "invalid_event", "events[%zu] must be an object.", i);
    const msgpack_object *t = field(e, "type");
    if (!t || proto_obj_str(t, type, sizeof type) != 0)
        type[0] = '\0';
    const msgpack_object *month = field(e, "month");
    int start = 1;
    if (month) {
        if (read_int(month, 1, horizon, &v) != 0)
            return refuse(bad, 422, "invalid_event",
                          "events[%zu].month must be a whole month from 1 to %d.", i, horizon);
        start = (int)v;
    }
    memset(ev, 0, sizeof *ev);
    ev->start = ev->end = start;
    rq->event_amounts[rq->nevents] = NULL;
    if (strcmp(type, "rate_change") == 0) {
        const msgpack_object *rate = field(e, "rate");
        ev->kind = TWIN_EV_RATE;
        if (!month)
            return refuse(bad, 422, "invalid_event",
                          "events[%zu].month is required for a rate_change.", i);
        if (!rate || read_rate(rate, PERCENT(-100), PERCENT(100), &ev->rate) != 0)
            return refuse(bad, 422, "invalid_event",
                          "events[%zu].rate must be an annual percentage from -100 to 100.", i);
        rq->nevents++;
        return 0;
    }
    if (strcmp(type, "income") == 0)
        ev->kind = TWIN_EV_INCOME;
    else if (strcmp(type, "expense") == 0)
        ev->kind = TWIN_EV_EXPENSE;
    else
        return refuse(bad, 422, "invalid_event",
                      "events[%zu].type must be income, expense or rate_change.", i);
    const msgpack_object *rec = field(e, "recurring");
    if (rec && rec->type != MSGPACK_OBJECT_BOOLEAN)
        return refuse(bad, 422, "invalid_event", "events[%zu].recurring must be true or false.", i);
    int recurring = rec && rec->via.boolean;
    const msgpack_object *end = field(e, "end_month");
    if (end && !recurring)
        return refuse(bad, 422, "invalid_event", "events[%zu].end_month needs \"recurring\": true.",
                      i);
    if (recurring) {
        ev->end = horizon;
        if (end) {
            if (read_int(end, start, horizon, &v) != 0)
                return refuse(bad, 422, "invalid_event",
                              "events[%zu].end_month must be a month from %d to %d.", i, start,
                              horizon);
            ev->end = (int)v;
        }
    }
    rq->event_amounts[rq->nevents] = field(e, "amount");
    if (!rq->event_amounts[rq->nevents])
        return refuse(bad, 422, "invalid_event", "events[%zu].amount is required.", i);
    rq->nevents++;
    return 0;
}

static int read_monte_carlo(const msgpack_object *mc, int64_t default_volatility,
                            struct twin_projection_request *rq, struct twin_invalid *bad)
{
    int64_t v;
    if (mc->type != MSGPACK_OBJECT_MAP)
        return refuse(bad, 422, "invalid_monte_carlo", "monte_carlo must be an object.");
    rq->monte_carlo = 1;
    const msgpack_object *paths = field(mc, "paths");
    if (!paths || read_int(paths, 1, TWIN_PATHS_MAX, &v) != 0)
        return refuse(bad, 422, "invalid_paths",
                      "monte_carlo.paths must be a whole number from 1 to %d.", TWIN_PATHS_MAX);
    rq->paths = (long)v;
    if ((int64_t)rq->paths * rq->horizon > TWIN_CELLS_MAX)
        return refuse(bad, 422, "simulation_too_large",
                      "monte_carlo.paths times horizon_months must be at most %d.", TWIN_CELLS_MAX);
    rq->volatility = default_volatility;
    const msgpack_object *vol = field(mc, "volatility");
    if (vol && read_rate(vol, 0, PERCENT(200), &rq->volatility) != 0)
        return refuse(bad, 422, "invalid_volatility",
                      "monte_carlo.volatility must be an annual percentage from 0 to 200.");
    rq->seed = 1;
    const msgpack_object *seed = field(mc, "seed");
    if (seed) {
        if (read_int(seed, 0, INT64_MAX, &v) != 0)
            return refuse(bad, 422, "invalid_seed",
                          "monte_carlo.seed must be a whole number of at least 0.");
        rq->seed = (uint64_t)v;
    }
    rq->goal = field(mc, "goal");
    return 0;
}

int twin_projection_parse(const msgpack_object *body, int64_t default_return,
                          int64_t default_volatility, struct twin_projection_request *rq,
                          struct twin_invalid *bad)
{
    int64_t v;
    memset(rq, 0, sizeof *rq);
    if (read_account(body, &rq->account, bad) != 0)
        return -1;
    rq->start_balance = field(body, "start_balance");
    const msgpack_object *cur = field(body, "currency");
    if (cur) {
        if (!rq->start_balance)
            return refuse(bad, 422, "invalid_currency",
                          "currency may be given only with start_balance; otherwise it is the "
                          "account's.");
        if (proto_obj_str(cur, rq->currency, sizeof rq->currency) != 0 ||
            proto_currency_exponent(rq->currency) < 0)
            return refuse(bad, 422, "invalid_currency",
                          "currency must be an ISO 4217 code such as USD.");
    }
    const msgpack_object *h = field(body, "horizon_months");
    if (!h || read_int(h, 1, TWIN_HORIZON_MAX, &v) != 0)
        return refuse(bad, 422, "invalid_horizon",
                      "horizon_months must be a whole number from 1 to %d.", TWIN_HORIZON_MAX);
    rq->horizon = (int)v;
    rq->annual_return = default_return;
    const msgpack_object *r = field(body, "annual_return");
    if (r && read_rate(r, PERCENT(-100), PERCENT(100), &rq->annual_return) != 0)
        return refuse(bad, 422, "invalid_rate",
                      "annual_return must be a percentage from -100 to 100, with at most 4 "
                      "decimals.");
    const msgpack_object *inf = field(body, "inflation");
    if (inf && read_rate(inf, 0, PERCENT(100), &rq->inflation) != 0)
        return refuse(bad, 422, "invalid_inflation",
                      "inflation must be an annual percentage from 0 to 100.");
    const msgpack_object *evs = field(body, "events");
    if (evs) {
        if (evs->type != MSGPACK_OBJECT_ARRAY || evs->via.array.size > TWIN_EVENTS_MAX)
            return refuse(bad, 422, "invalid_events", "events must be a list of at most %d events.",
                          TWIN_EVENTS_MAX);
        for (uint32_t i = 0; i < evs->via.array.size; i++)
            if (read_event(&evs->via.array.ptr[i], i, rq->horizon, rq, bad) != 0)
                return -1;
    }
    const msgpack_object *mc = field(body, "monte_carlo");
    if (mc && read_monte_carlo(mc, default_volatility, rq, bad) != 0)
        return -1;
    return 0;
}

int twin_projection_money(const struct twin_projection_request *rq, int exponent,
                          int64_t *start_balance, struct twin_event *events, int *has_goal,
                          int64_t *goal, struct twin_invalid *bad)
{
    int64_t v;
    if (rq->start_balance) {
        if (proto_obj_money(rq->start_balance, exponent, &v) != 0)
            return refuse(bad, 422, "invalid_start_balance",
                          "start_balance must be an amount with at most %d decimals.", exponent);
        *start_balance = v;
    }
    for (size_t i = 0; i < rq->nevents; i++) {
        events[i] = rq->events[i];
        if (events[i].kind == TWIN_EV_RATE)
            continue;
        if (proto_obj_money(rq->event_amounts[i], exponent, &v) != 0 || v <= 0)
            return refuse(bad, 422, "invalid_event",
                          "events[%zu].amount must be a positive amount with at most %d "
                          "decimals.",
                          i, exponent);
        events[i].amount = v;
    }
    *has_goal = 0;
    if (rq->goal) {
        if (proto_obj_money(rq->goal, exponent, &v) != 0 || v <= 0)
            return refuse(bad, 422, "invalid_goal",
                          "monte_carlo.goal must be a positive amount with at most %d decimals.",
                          exponent);
        *has_goal = 1;
        *goal = v;
    }
    return 0;
}

/* ---- configuration ---- */

int twin_rate_text(const char *text, int64_t *out)
{
    int64_t v;
    if (proto_money_parse(text, strlen(text), RATE_EXPONENT, &v) != 0)
        return -1;
    *out = v;
    return 0;
}
