/*
 * The twin worker's simulations: twin.simulate (POST /api/simulate/) and twin.projection
 * (POST /api/simulate/projection).
 *
 * Each runs in three steps, so the engine never holds a database transaction open:
 *   1. read, in one statement (twin_lookup): a replay of the same Idempotency-Key and the
 *      account's live balance (never the client's) through the read-only views of
 *      sql/006_twin.sql; for emergency_fund, one more for the average monthly outflow;
 *   2. compute with the engine (engine.h) and pack the reply;
 *   3. save it in twin.simulations with its twin.simulated event (twin_save, one statement).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/json.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "twin.h"

/* The average monthly outflow looks at this window of the newest postings. */
#define OUTFLOW_DAYS    "90"
#define OUTFLOW_ENTRIES "5000"

static int refuse(struct wk_reply *rep, const struct twin_invalid *bad)
{
    return wk_reply_error(rep, bad->status, bad->code, "%s", bad->message);
}

static int not_found(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "account_not_found", "No such account.");
}

/*
 * Money that left the account (withdrawals and transfers sent) over the last OUTFLOW_DAYS
 * days, per 30 days, over the span the account has existed when that is shorter (at least one
 * day), rounded half away from zero in numeric arithmetic. The newest OUTFLOW_ENTRIES lines
 * at most: a bound on the work for very busy accounts. 0 or a WK_E* code; *avg is 0 when
 * nothing left the account.
 */
static int avg_outflow(struct wk_ctx *ctx, const char *account, int64_t *avg)
{
    const char *p[] = {account};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "twin_outflow",
        "SELECT round(coalesce(sum(-amount) FILTER (WHERE amount < 0), 0) * 30 / "
        "greatest(1, least(extract(epoch FROM now() - min(created_at)) / 86400, " OUTFLOW_DAYS
        ")))::bigint "
        "FROM (SELECT amount, created_at FROM ledger.twin_entries WHERE account_id = $1 "
        "AND created_at > now() - interval '" OUTFLOW_DAYS " days' ORDER BY seq DESC "
        "LIMIT " OUTFLOW_ENTRIES ") recent",
        1, p);
    if (!r)
        return wk_db_fail(ctx);
    *avg = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

/* ---- twin.simulate ---- */

static void pack_step(msgpack_packer *pk, const char *id, const struct twin_account *acct,
                      const struct twin_simulate_input *in, int64_t amount,
                      const struct twin_step_result *res, const char *const *flags, int nflags)
{
    int e = acct->exponent;
    msgpack_pack_map(pk, 17);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, id);
    proto_pack_cstr(pk, "kind");
    proto_pack_cstr(pk, "scenario");
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, acct->exists ? acct->id : NULL);
    proto_pack_cstr(pk, "scenario");
    proto_pack_cstr(pk, twin_scenario_name(in->scenario));
    proto_pack_cstr(pk, "amount");
    if (in->scenario == TWIN_RATE_CHANGE)
        twin_pack_rate(pk, amount);
    else
        proto_pack_money(pk, amount, e);
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, acct->currency);
    proto_pack_cstr(pk, "current_balance");
    proto_pack_money(pk, acct->balance, e);
    proto_pack_cstr(pk, "virtual_balance");
    proto_pack_money(pk, res->virtual_balance, e);
    /* the names earlier FinTwin clients read (history.c adds them to older rows too) */
    proto_pack_cstr(pk, "before_balance");
    proto_pack_money(pk, acct->balance, e);
    proto_pack_cstr(pk, "after_balance");
    proto_pack_money(pk, res->virtual_balance, e);
    proto_pack_cstr(pk, "difference");
    proto_pack_money(pk, res->virtual_balance - acct->balance, e);
    proto_pack_cstr(pk, "risk_score");
    msgpack_pack_int(pk, res->score);
    proto_pack_cstr(pk, "alert_level");
    proto_pack_cstr(pk, twin_level_name(res->level));
    proto_pack_cstr(pk, "flags");
    msgpack_pack_array(pk, (size_t)nflags);
    for (int i = 0; i < nflags; i++)
        proto_pack_cstr(pk, flags[i]);
    proto_pack_cstr(pk, "recommendation");
    proto_pack_cstr(pk, twin_recommendation(res->rules));
    proto_pack_cstr(pk, "months_covered");
    if (res->months_covered >= 0)
        msgpack_pack_int64(pk, res->months_covered);
    else
        msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, acct->now);
}

/* twin.simulated's data: what the notification worker names in its message. */
static char *event_data(const char *id, const struct twin_account *acct, const char *scenario,
                        const struct twin_step_result *res)
{
    struct proto_buf b = {0};
    proto_buf_printf(&b, "{\"simulation_id\":\"%s\",\"account_id\":", id);
    if (acct->exists)
        proto_buf_printf(&b, "\"%s\"", acct->id);
    else
        proto_buf_puts(&b, "null");
    proto_buf_printf(&b, ",\"scenario\":\"%s\",\"risk_score\":%d,\"alert_level\":\"%s\"}", scenario,
                     res->score, twin_level_name(res->level));
    return b.data;
}

int twin_simulate(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    struct twin_simulate_input in;
    struct twin_invalid bad;
    if (twin_simulate_parse(body, &in, &bad) != 0)
        return refuse(rep, &bad);
    struct wk_idem idem;
    if (wk_idem_prepare(&idem, req, body) != 0)
        return PROTO_EIO;
    struct twin_account acct;
    int rc = twin_lookup(ctx, user, &in.account, &idem, &acct, rep);
    if (rc != 1)
        return rc < 0 ? rc : rc == 2 ? 0 : not_found(rep);
    int64_t amount;
    if (twin_amount_parse(in.amount, in.scenario, acct.exponent, &amount, &bad) != 0)
        return refuse(rep, &bad);
    struct twin_step_input si = {
        .scenario = in.scenario,
        .balance = acct.balance,
        .amount = amount,
        .default_return = twin_cfg.default_return,
        .low_balance = proto_money_table_of(twin_cfg.low_balance, acct.currency),
    };
    if (in.scenario == TWIN_EMERGENCY_FUND && acct.exists &&
        (rc = avg_outflow(ctx, acct.id, &si.avg_outflow)) < 0)
        return rc;
    struct twin_step_result res;
    if (twin_step(&si, &res) != 0)
        return wk_reply_error(rep, 422, "invalid_amount", "amount is too large to simulate.");

    char low_text[PROTO_MONEY_DISPLAY_MAX + 40], shown[PROTO_MONEY_DISPLAY_MAX];
    const char *flags[TWIN_FLAGS_MAX];
    int have_low = si.low_balance >= 0 &&
                   proto_money_display(si.low_balance, acct.currency, shown, sizeof shown) > 0;
    if (have_low)
        snprintf(low_text, sizeof low_text, "Balance would fall below %s", shown);
    int nflags = twin_flags(res.rules, have_low ? low_text : NULL, flags);

    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_step(&pk, id, &acct, &in, amount, &res, flags, nflags);
    const char *scenario = twin_scenario_name(in.scenario);
    char *ev = res.level == TWIN_LOW ? NULL : event_data(id, &acct, scenario, &res);
    struct twin_saved s = {
        .id = id,
        .user = user,
        .account_id = acct.exists ? acct.id : NULL,
        .kind = "scenario",
        .scenario = scenario,
        .currency = acct.currency,
        .created_at = acct.now_exact,
        .amount = amount,
        .has_amount = 1,
        .current_balance = acct.balance,
        .virtual_balance = res.virtual_balance,
        .risk_score = res.score,
        .alert_level = twin_level_name(res.level),
        .item = &sb,
        .event_json = ev,
    };
    rc = twin_save(ctx, &s, &idem, rep);
    free(ev);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- twin.projection ---- */

static void pack_event(msgpack_packer *pk, const struct twin_event *ev, int e)
{
    if (ev->kind == TWIN_EV_RATE) {
        msgpack_pack_map(pk, 3);
        proto_pack_cstr(pk, "type");
        proto_pack_cstr(pk, "rate_change");
        proto_pack_cstr(pk, "month");
        msgpack_pack_int(pk, ev->start);
        proto_pack_cstr(pk, "rate");
        twin_pack_rate(pk, ev->rate);
        return;
    }
    msgpack_pack_map(pk, 5);
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, ev->kind == TWIN_EV_INCOME ? "income" : "expense");
    proto_pack_cstr(pk, "amount");
    proto_pack_money(pk, ev->amount, e);
    proto_pack_cstr(pk, "month");
    msgpack_pack_int(pk, ev->start);
    proto_pack_cstr(pk, "end_month");
    msgpack_pack_int(pk, ev->end);
    proto_pack_cstr(pk, "recurring");
    if (ev->end > ev->start)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

struct projection_out {
    const char *id;
    const struct twin_account *acct;
    const struct twin_projection_request *rq;
    const struct twin_projection_input *pin;
    const struct twin_projection *proj;
    const struct twin_mc_input *mcin; /* NULL without Monte Carlo */
    const struct twin_mc_result *mc;
};

/* The fields the history list shows; `extra` more map entries follow in the caller. */
static void pack_projection_head(msgpack_packer *pk, const struct projection_out *o, size_t extra)
{
    int e = o->acct->exponent;
    msgpack_pack_map(pk, 13 + extra);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, o->id);
    proto_pack_cstr(pk, "kind");
    proto_pack_cstr(pk, "projection");
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, o->acct->exists ? o->acct->id : NULL);
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, o->acct->currency);
    proto_pack_cstr(pk, "start_balance");
    proto_pack_money(pk, o->pin->start_balance, e);
    proto_pack_cstr(pk, "start_is_live_balance");
    if (o->rq->start_balance)
        msgpack_pack_false(pk);
    else
        msgpack_pack_true(pk);
    proto_pack_cstr(pk, "horizon_months");
    msgpack_pack_int(pk, o->pin->horizon);
    proto_pack_cstr(pk, "end_balance");
    proto_pack_money(pk, o->proj->end_balance, e);
    proto_pack_cstr(pk, "before_balance"); /* earlier clients' names for start and end */
    proto_pack_money(pk, o->pin->start_balance, e);
    proto_pack_cstr(pk, "after_balance");
    proto_pack_money(pk, o->proj->end_balance, e);
    proto_pack_cstr(pk, "first_negative_month");
    if (o->proj->first_negative > 0)
        msgpack_pack_int(pk, o->proj->first_negative);
    else
        msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "p_ruin");
    if (o->mc)
        msgpack_pack_double(pk, o->mc->p_ruin);
    else
        msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, o->acct->now);
}

static void pack_monte_carlo(msgpack_packer *pk, const struct projection_out *o)
{
    int e = o->acct->exponent;
    msgpack_pack_map(pk, 7);
    proto_pack_cstr(pk, "paths");
    msgpack_pack_int64(pk, o->mcin->paths);
    proto_pack_cstr(pk, "volatility");
    twin_pack_rate(pk, o->mcin->volatility);
    proto_pack_cstr(pk, "seed");
    msgpack_pack_uint64(pk, o->mcin->seed);
    proto_pack_cstr(pk, "goal");
    if (o->mcin->has_goal)
        proto_pack_money(pk, o->mcin->goal, e);
    else
        msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "p_ruin");
    msgpack_pack_double(pk, o->mc->p_ruin);
    proto_pack_cstr(pk, "p_goal");
    if (o->mcin->has_goal)
        msgpack_pack_double(pk, o->mc->p_goal);
    else
        msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "bands");
    msgpack_pack_array(pk, (size_t)o->pin->horizon);
    static const char *const names[TWIN_NPCT] = {"p5", "p25", "p50", "p75", "p95"};
    for (int m = 0; m < o->pin->horizon; m++) {
        msgpack_pack_map(pk, 1 + TWIN_NPCT);
        proto_pack_cstr(pk, "month");
        msgpack_pack_int(pk, m + 1);
        for (int k = 0; k < TWIN_NPCT; k++) {
            proto_pack_cstr(pk, names[k]);
            proto_pack_money(pk, o->mc->pct[m][k], e);
        }
    }
}

static void pack_projection_detail(msgpack_packer *pk, const struct projection_out *o)
{
    int e = o->acct->exponent;
    pack_projection_head(pk, o, 6);
    proto_pack_cstr(pk, "annual_return");
    twin_pack_rate(pk, o->pin->annual_return);
    proto_pack_cstr(pk, "inflation");
    twin_pack_rate(pk, o->pin->inflation);
    proto_pack_cstr(pk, "events");
    msgpack_pack_array(pk, o->pin->nevents);
    for (size_t i = 0; i < o->pin->nevents; i++)
        pack_event(pk, &o->pin->events[i], e);
    proto_pack_cstr(pk, "totals");
    msgpack_pack_map(pk, 4);
    proto_pack_cstr(pk, "income");
    proto_pack_money(pk, o->proj->total_income, e);
    proto_pack_cstr(pk, "expense");
    proto_pack_money(pk, o->proj->total_expense, e);
    proto_pack_cstr(pk, "growth");
    proto_pack_money(pk, o->proj->total_growth, e);
    proto_pack_cstr(pk, "end_real_balance");
    proto_pack_money(pk, o->proj->months[o->pin->horizon - 1].real, e);
    proto_pack_cstr(pk, "months");
    msgpack_pack_array(pk, (size_t)o->pin->horizon);
    for (int m = 0; m < o->pin->horizon; m++) {
        const struct twin_month *mo = &o->proj->months[m];
        msgpack_pack_map(pk, 6);
        proto_pack_cstr(pk, "month");
        msgpack_pack_int(pk, m + 1);
        proto_pack_cstr(pk, "balance");
        proto_pack_money(pk, mo->nominal, e);
        proto_pack_cstr(pk, "real_balance");
        proto_pack_money(pk, mo->real, e);
        proto_pack_cstr(pk, "income");
        proto_pack_money(pk, mo->income, e);
        proto_pack_cstr(pk, "expense");
        proto_pack_money(pk, mo->expense, e);
        proto_pack_cstr(pk, "growth");
        proto_pack_money(pk, mo->growth, e);
    }
    proto_pack_cstr(pk, "monte_carlo");
    if (o->mc)
        pack_monte_carlo(pk, o);
    else
        msgpack_pack_nil(pk);
}

/* Computes the projection of rq from acct and saves it; the caller has validated rq. */
static int run_projection(struct wk_ctx *ctx, const char *user, const struct wk_idem *idem,
                          const struct twin_projection_request *rq, struct twin_account *acct,
                          struct wk_reply *rep)
{
    struct twin_invalid bad;
    struct twin_event events[TWIN_EVENTS_MAX];
    struct twin_projection_input pin = {
        .start_balance = acct->balance,
        .horizon = rq->horizon,
        .annual_return = rq->annual_return,
        .inflation = rq->inflation,
        .events = events,
        .nevents = rq->nevents,
    };
    struct twin_mc_input mcin = {
        .base = &pin, .paths = rq->paths, .volatility = rq->volatility, .seed = rq->seed};
    if (twin_projection_money(rq, acct->exponent, &pin.start_balance, events, &mcin.has_goal,
                              &mcin.goal, &bad) != 0)
        return refuse(rep, &bad);

    struct twin_projection proj = {.months =
                                       proto_xcalloc((size_t)rq->horizon, sizeof *proj.months)};
    struct twin_mc_result mc = {0};
    int rc = 0;
    if (twin_project(&pin, &proj) != 0) {
        wk_reply_error(rep, 422, "simulation_overflow",
                       "The projection's amounts grow beyond what can be represented.");
        goto done;
    }
    if (rq->monte_carlo) {
        mc.pct = proto_xcalloc((size_t)rq->horizon, sizeof *mc.pct);
        if (twin_monte_carlo(&mcin, &mc) != 0) {
            wk_reply_error(rep, 422, "simulation_too_large",
                           "The Monte Carlo request is out of range.");
            goto done;
        }
    }
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0) {
        rc = PROTO_EIO;
        goto done;
    }
    struct projection_out o = {
        id, acct, rq, &pin, &proj, rq->monte_carlo ? &mcin : NULL, rq->monte_carlo ? &mc : NULL};
    msgpack_sbuffer item, detail;
    msgpack_sbuffer_init(&item);
    msgpack_sbuffer_init(&detail);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &item, msgpack_sbuffer_write);
    pack_projection_head(&pk, &o, 0);
    msgpack_packer_init(&pk, &detail, msgpack_sbuffer_write);
    pack_projection_detail(&pk, &o);
    struct twin_saved s = {
        .id = id,
        .user = user,
        .account_id = acct->exists ? acct->id : NULL,
        .kind = "projection",
        .currency = acct->currency,
        .created_at = acct->now_exact,
        .current_balance = pin.start_balance,
        .virtual_balance = proj.end_balance,
        .risk_score = -1,
        .item = &item,
        .detail = &detail,
    };
    rc = twin_save(ctx, &s, idem, rep);
    msgpack_sbuffer_destroy(&item);
    msgpack_sbuffer_destroy(&detail);
done:
    free(mc.pct);
    free(proj.months);
    return rc;
}

int twin_projection(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    struct twin_projection_request *rq = proto_xmalloc(sizeof *rq);
    struct twin_invalid bad;
    struct wk_idem idem;
    int rc = 0;
    if (twin_projection_parse(body, twin_cfg.default_return, twin_cfg.default_volatility, rq,
                              &bad) != 0) {
        refuse(rep, &bad);
        goto done;
    }
    if (wk_idem_prepare(&idem, req, body) != 0) {
        rc = PROTO_EIO;
        goto done;
    }
    struct twin_account acct;
    rc = twin_lookup(ctx, user, &rq->account, &idem, &acct, rep);
    if (rc != 1) {
        rc = rc < 0 ? rc : rc == 2 ? 0 : not_found(rep);
        goto done;
    }
    if (rq->currency[0]) { /* a given start figure in a currency of its own */
        snprintf(acct.currency, sizeof acct.currency, "%s", rq->currency);
        acct.exponent = proto_currency_exponent(acct.currency);
    }
    rc = run_projection(ctx, user, &idem, rq, &acct, rep);
done:
    free(rq);
    return rc;
}
