/*
 * fintwin-risk: risk scores and anomaly alerts on every posting (README "Risk",
 * sql/013_risk.sql; the files are listed in risk.h). The worker's own configuration is read
 * here, before wk_run_spec reads the runtime's; a bad value is reported and the process exits 78
 * without connecting.
 */
#include <stdio.h>

#include "proto/config.h"
#include "proto/money.h"
#include "risk.h"

struct risk_config risk_cfg;

/* The variables, checked and converted into risk_cfg by configure(). */
struct risk_env {
    const char *low_balance;
    const char *high_amount;
    long cache_users;
    long refresh_postings;
    long refresh_s;
    long long seed;
};
static struct risk_env env;

#define TO(field) PROTO_CFG_INTO(struct risk_env, field)

static const struct proto_cfg_var cfg_vars[] = {
    {.name = "RISK_LOW_BALANCE",
     .def = "USD=1000,EUR=1000,GBP=1000,INR=50000",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 1024,
     .help = "low-balance thresholds per currency (major units): CUR=amount,...",
     TO(low_balance)},
    {.name = "RISK_HIGH_AMOUNT",
     .def = "USD=10000,EUR=10000,GBP=10000,INR=500000",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 1024,
     .help = "one posting above this is high_amount (major units): CUR=amount,...",
     TO(high_amount)},
    {.name = "RISK_CACHE_USERS",
     .def = "1024",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 1000000,
     .help = "users whose recent postings and model one process keeps (LRU; ~60 KB each once "
             "a model is trained)",
     TO(cache_users)},
    {.name = "RISK_MODEL_REFRESH_POSTINGS",
     .def = "50",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 100000,
     .help = "retrain a user's model after this many new postings",
     TO(refresh_postings)},
    {.name = "RISK_MODEL_REFRESH_S",
     .def = "600",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 86400,
     .help = "or when it is this many seconds old",
     TO(refresh_s)},
    {.name = "RISK_SEED",
     .def = "22",
     .kind = PROTO_CFG_INT,
     .min = 0,
     .max = 9007199254740991LL,
     .help = "seed of the forests' PRNG (mixed with the user id): same data, same scores",
     TO(seed)},
};

static const struct wk_method methods[] = {
    {"risk.analyze", risk_analyze}, {"risk.score", risk_score},
    {"risk.flags", risk_flags},     {"risk.notifications", risk_notifications},
    {"risk.history", risk_history}, {NULL, NULL},
};

static const struct wk_event_handler events[] = {
    {"txn.posted", risk_on_txn_posted, risk_on_txn_posted_batch},
    {NULL, NULL, NULL},
};

static const struct wk_spec spec = {
    .name = "risk",
    .schema = NULL, /* risk */
    .methods = methods,
    .events = events,
    .prefetch = 64, /* an event batch is at most what the broker sent ahead */
};

/* Checks the worker's own variables; reports each problem. 0 or -1. */
static int configure(void)
{
    int ok = 1;
    if (proto_money_table_check(env.low_balance) != 0) {
        fprintf(stderr, "config: RISK_LOW_BALANCE must be CUR=amount,... with ISO 4217 codes\n");
        ok = 0;
    }
    if (proto_money_table_check(env.high_amount) != 0) {
        fprintf(stderr, "config: RISK_HIGH_AMOUNT must be CUR=amount,... with ISO 4217 codes\n");
        ok = 0;
    }
    risk_cfg.low_balance = env.low_balance;
    risk_cfg.high_amount = env.high_amount;
    risk_cfg.cache_users = env.cache_users;
    risk_cfg.refresh_postings = env.refresh_postings;
    risk_cfg.refresh_ms = env.refresh_s * 1000;
    risk_cfg.seed = (uint64_t)env.seed;
    return ok ? 0 : -1;
}

int main(void)
{
    if (proto_config_load(cfg_vars, PROTO_CFG_COUNT(cfg_vars), &env, stderr) != 0 ||
        configure() != 0)
        return PROTO_CONFIG_EXIT;
    return wk_run_spec(&spec);
}
