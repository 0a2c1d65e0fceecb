/*
 * fintwin-transaction: the double-entry ledger: accounts, deposits, withdrawals,
 * transfers and their history (sql/003_ledger.sql). The worker's own configuration is read
 * here, before wk_run_spec reads the runtime's; a bad value is reported and the process
 * exits 78 without connecting anywhere.
 *
 * The shape a new worker copies. It provides only:
 *   - its handlers (wk_handler_fn, runtime/wk.h), which read the request with the runtime's
 *     handler helpers (wk_acting_user, wk_body, wk_path_uuid, wk_idem_prepare), fail a
 *     statement with `return wk_db_fail(ctx);` and refuse with `return wk_reply_error(...);`;
 *   - the tables below: methods, and when it has them batches and events (each ends NULL);
 *   - a struct wk_spec naming the worker (its queue, log name and schema) and the tables;
 *   - main: its own configuration, if any (proto/config.h), then `return wk_run_spec(&spec);`
 *     (a worker with only methods may `return wk_run("name", methods);`).
 */
#include <stdio.h>

#include "ledger.h"
#include "proto/config.h"
#include "proto/money.h"

struct ledger_config ledger_cfg;

/* The variables' text, checked and copied into ledger_cfg by main. */
struct ledger_env {
    const char *default_currency;
};
static struct ledger_env env;

static const struct proto_cfg_var cfg_vars[] = {
    {.name = "LEDGER_DEFAULT_CURRENCY",
     .def = "USD",
     .kind = PROTO_CFG_STR,
     .min = 3,
     .max = 3,
     .help = "ISO 4217 currency of a default account opened before the user chose one",
     PROTO_CFG_INTO(struct ledger_env, default_currency)},
};

static const struct wk_method methods[] = {
    {"acct.list", ledger_acct_list},
    {"acct.create", ledger_acct_create},
    {"txn.create", ledger_txn_create},
    {"txn.list", ledger_txn_list},
    {"txn.list_account", ledger_txn_list_account},
    {"txn.get", ledger_txn_get},
    {NULL, NULL},
};

/* txn.create also in batches: one transaction for what the broker already delivered. */
static const struct wk_batch_method batches[] = {
    {"txn.create", ledger_txn_create_batch},
    {NULL, NULL},
};

static const struct wk_event_handler events[] = {
    {"user.registered", ledger_on_user_registered, NULL},
    {"profile.updated", ledger_on_profile_updated, NULL},
    {NULL, NULL, NULL},
};

static const struct wk_spec spec = {
    .name = "transaction",
    .schema = NULL, /* ledger */
    .methods = methods,
    .batches = batches,
    .events = events,
    .prefetch = 64, /* a batch is at most what the broker sent ahead */
};

int main(void)
{
    if (proto_config_load(cfg_vars, PROTO_CFG_COUNT(cfg_vars), &env, stderr) != 0)
        return PROTO_CONFIG_EXIT;
    if (proto_currency_exponent(env.default_currency) < 0) {
        fprintf(stderr, "config: LEDGER_DEFAULT_CURRENCY=%s is not an ISO 4217 code\n",
                env.default_currency);
        return PROTO_CONFIG_EXIT;
    }
    snprintf(ledger_cfg.default_currency, sizeof ledger_cfg.default_currency, "%s",
             env.default_currency);
    return wk_run_spec(&spec);
}
