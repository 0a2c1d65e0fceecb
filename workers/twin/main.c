/*
 * fintwin-twin: the digital twin — what-if simulations and projections of a user's balance on
 * a copy of their finances (sql/006_twin.sql). Live data is read through read-only ledger
 * views and never written. The worker's own configuration is read here, before wk_run_spec
 * reads the runtime's; a bad value is reported and the process exits 78 without connecting.
 */
#include <stdio.h>

#include "proto/config.h"
#include "proto/money.h"
#include "twin.h"

struct twin_config twin_cfg;

enum { V_RETURN, V_VOLATILITY, V_LOW, V_CURRENCY, V_COUNT };

static struct proto_cfg_var cfg_vars[V_COUNT] = {
    [V_RETURN] = {"TWIN_DEFAULT_RETURN", "7", PROTO_CFG_STR, 1, 12,
                  "annual return in percent for investment_growth and projections", NULL, 0},
    [V_VOLATILITY] = {"TWIN_DEFAULT_VOLATILITY", "15", PROTO_CFG_STR, 1, 12,
                      "annual volatility in percent for Monte Carlo when a request gives none",
                      NULL, 0},
    [V_LOW] = {"TWIN_LOW_BALANCE", "USD=1000,EUR=1000,GBP=1000,INR=50000", PROTO_CFG_STR, 1, 1024,
               "low-balance thresholds per currency (major units): CUR=amount,...", NULL, 0},
    [V_CURRENCY] = {"TWIN_DEFAULT_CURRENCY", "USD", PROTO_CFG_STR, 3, 3,
                    "currency of a user who has no ledger account yet", NULL, 0},
};

static const struct wk_method methods[] = {
    {"twin.simulate", twin_simulate},
    {"twin.projection", twin_projection},
    {"twin.history", twin_history},
    {"twin.detail", twin_detail},
    {"twin.delete", twin_delete},
    {"twin.clear", twin_clear},
    {NULL, NULL},
};

static const struct wk_spec spec = {
    .name = "twin",
    .schema = NULL, /* twin */
    .methods = methods,
    .events = NULL,
};

/* Checks the worker's own variables; reports each problem. 0 or -1. */
static int configure(void)
{
    int ok = 1;
    if (twin_rate_text(cfg_vars[V_RETURN].str, &twin_cfg.default_return) != 0 ||
        twin_cfg.default_return < -100 * TWIN_RATE_SCALE ||
        twin_cfg.default_return > 100 * TWIN_RATE_SCALE) {
        fprintf(stderr, "config: TWIN_DEFAULT_RETURN must be a percentage from -100 to 100\n");
        ok = 0;
    }
    if (twin_rate_text(cfg_vars[V_VOLATILITY].str, &twin_cfg.default_volatility) != 0 ||
        twin_cfg.default_volatility < 0 || twin_cfg.default_volatility > 200 * TWIN_RATE_SCALE) {
        fprintf(stderr, "config: TWIN_DEFAULT_VOLATILITY must be a percentage from 0 to 200\n");
        ok = 0;
    }
    if (twin_low_balance_parse(cfg_vars[V_LOW].str) != 0) {
        fprintf(stderr, "config: TWIN_LOW_BALANCE must be CUR=amount,... with ISO 4217 codes\n");
        ok = 0;
    }
    twin_cfg.low_balance = cfg_vars[V_LOW].str;
    if (proto_currency_exponent(cfg_vars[V_CURRENCY].str) < 0) {
        fprintf(stderr, "config: TWIN_DEFAULT_CURRENCY=%s is not an ISO 4217 code\n",
                cfg_vars[V_CURRENCY].str);
        ok = 0;
    }
    snprintf(twin_cfg.default_currency, sizeof twin_cfg.default_currency, "%s",
             cfg_vars[V_CURRENCY].str);
    return ok ? 0 : -1;
}

int main(void)
{
    if (proto_config_load(cfg_vars, V_COUNT, stderr) != 0 || configure() != 0)
        return PROTO_CONFIG_EXIT;
    return wk_run_spec(&spec);
}
