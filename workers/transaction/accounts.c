/*
 * SQL over ledger.accounts; see ledger.h. A user's default account is opened (at registration,
 * or on first use) by the SQL function ledger.default_account (sql/010_default_account.sql),
 * which posting uses too.
 */
#include <stdio.h>
#include <string.h>

#include "ledger.h"
#include "proto/money.h"
#include "proto/status.h"

/* Reads (id, owner, currency) from row 0 of r, if any: 1, 0. */
static int read_account(PGresult *r, struct ledger_account *out)
{
    if (PQntuples(r) < 1)
        return 0;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->owner, sizeof out->owner, "%s", PQgetisnull(r, 0, 1) ? "" : PQgetvalue(r, 0, 1));
    snprintf(out->currency, sizeof out->currency, "%s", PQgetvalue(r, 0, 2));
    out->exponent = proto_currency_exponent(out->currency);
    return out->exponent >= 0 ? 1 : WK_EDB;
}

/* Runs a one-row account query: 1, 0, < 0. */
static int query_account(struct wk_ctx *ctx, const char *name, const char *sql, int n,
                         const char *const *p, struct ledger_account *out)
{
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), name, sql, n, p);
    if (!r)
        return wk_db_fail(ctx);
    int rc = read_account(r, out);
    PQclear(r);
    return rc;
}

int ledger_default_account(struct wk_ctx *ctx, const char *user, const char *currency,
                           struct ledger_account *out)
{
    const char *p[] = {user, currency ? currency : ledger_cfg.default_currency};
    int rc = query_account(ctx, "acct_default",
                           "SELECT id, owner, currency FROM ledger.default_account($1, $2)", 2, p,
                           out);
    if (rc == 1)
        wk_outbox_written(ctx); /* an opening wrote account.default_ready: relay it promptly */
    return rc == 1 ? 0 : rc < 0 ? rc : WK_EDB;
}

int ledger_own_account(struct wk_ctx *ctx, const char *user, const char *id,
                       struct ledger_account *out)
{
    const char *p[] = {id, user};
    return query_account(ctx, "acct_own",
                         "SELECT id, owner, currency FROM ledger.accounts "
                         "WHERE id = $1 AND owner = $2",
                         2, p, out);
}

int ledger_resolve_account(struct wk_ctx *ctx, const char *user, const char *ref,
                           struct ledger_account *out)
{
    if (strcmp(ref, user) == 0) {
        int rc = ledger_default_account(ctx, user, NULL, out);
        return rc < 0 ? rc : 1;
    }
    return ledger_own_account(ctx, user, ref, out);
}
