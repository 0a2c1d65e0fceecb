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

/* The variables' text, checked and converted into twin_cfg by configure(). */
struct twin_env {
    const char *default_return;
    const char *default_volatility;
    const char *low_balance;
    const char *default_currency;
};
static struct twin_env env;

/* Each row stores its text in the named field of env. */
#define TO(field) PROTO_CFG_INTO(struct twin_env, field)

static const struct proto_cfg_var cfg_vars[] = {
    {.name = "TWIN_DEFAULT_RETURN",
     .def = "7",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 12,
     .help = "annual return in percent for investment_growth and projections",
     TO(default_return)},
    {.name = "TWIN_DEFAULT_VOLATILITY",
     .def = "15",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 12,
     .help = "annual volatility in percent for Monte Carlo when a request gives none",
     TO(default_volatility)},
    {.name = "TWIN_LOW_BALANCE",
     .def = "USD=1000,EUR=1000,GBP=1000,INR=50000",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 1024,
     .help = "low-balance thresholds per currency (major units): CUR=amount,...",
     TO(low_balance)},
    {.name = "TWIN_DEFAULT_CURRENCY",
     .def = "USD",
     .kind = PROTO_CFG_STR,
     .min = 3,
     .max = 3,
     .help = "currency of a user who has no ledger account yet",
     TO(default_currency)},
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
    if (twin_rate_text(env.default_return, &twin_cfg.default_return) != 0 ||
        twin_cfg.default_return < -100 * TWIN_RATE_SCALE ||
        twin_cfg.default_return > 100 * TWIN_RATE_SCALE) {
        fprintf(stderr, "config: TWIN_DEFAULT_RETURN must be a percentage from -100 to 100\n");
        ok = 0;
    }
    if (twin_rate_text(env.default_volatility, &twin_cfg.default_volatility) != 0 ||
        twin_cfg.default_volatility < 0 || twin_cfg.default_volatility > 200 * TWIN_RATE_SCALE) {
        fprintf(stderr, "config: TWIN_DEFAULT_VOLATILITY must be a percentage from 0 to 200\n");
        ok = 0;
    }
    if (proto_money_table_check(env.low_balance) != 0) {
        fprintf(stderr, "config: TWIN_LOW_BALANCE must be CUR=amount,... with ISO 4217 codes\n");
        ok = 0;
    }
    twin_cfg.low_balance = env.low_balance;
    if (proto_currency_exponent(env.default_currency) < 0) {
        fprintf(stderr, "config: TWIN_DEFAULT_CURRENCY=%s is not an ISO 4217 code\n",
                env.default_currency);
        ok = 0;
    }
    snprintf(twin_cfg.default_currency, sizeof twin_cfg.default_currency, "%s",
             env.default_currency);
    return ok ? 0 : -1;
}

int main(void)
{
    if (proto_config_load(cfg_vars, PROTO_CFG_COUNT(cfg_vars), &env, stderr) != 0 ||
        configure() != 0)
        return PROTO_CONFIG_EXIT;
    return wk_run_spec(&spec);
}
