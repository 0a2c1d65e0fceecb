/*
 * SQL over ledger.accounts; see ledger.h. Lazily opened rows (a user's default account, a
 * currency's external account) are read first, inserted with ON CONFLICT DO NOTHING when
 * missing, then read again: under READ COMMITTED the second SELECT is a new snapshot, so
 * it sees the row a concurrent first use committed while our INSERT waited for it.
 */
#include <stdio.h>
#include <string.h>

#include "ledger.h"
#include "proto/money.h"
#include "proto/status.h"

#define DEFAULT_ACCOUNT_NAME  "Main account"
#define EXTERNAL_ACCOUNT_NAME "External"

int ledger_db_fail(struct wk_ctx *ctx)
{
    return wk_db_up(wk_db(ctx)) ? WK_EDB : WK_EDBDOWN;
}

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
        return ledger_db_fail(ctx);
    int rc = read_account(r, out);
    PQclear(r);
    return rc;
}

static int default_of(struct wk_ctx *ctx, const char *user, struct ledger_account *out)
{
    const char *p[] = {user};
    return query_account(ctx, "acct_default",
                         "SELECT id, owner, currency FROM ledger.accounts "
                         "WHERE owner = $1 AND is_default",
                         1, p, out);
}

int ledger_default_account(struct wk_ctx *ctx, const char *user, const char *currency,
                           struct ledger_account *out)
{
    int rc = default_of(ctx, user, out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *p[] = {id, user, currency ? currency : ledger_cfg.default_currency};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "acct_open_default",
        "INSERT INTO ledger.accounts (id, owner, name, kind, currency, is_default) "
        "VALUES ($1, $2, '" DEFAULT_ACCOUNT_NAME "', 'checking', $3, true) "
        "ON CONFLICT DO NOTHING",
        3, p);
    if (!r)
        return ledger_db_fail(ctx);
    PQclear(r);
    rc = default_of(ctx, user, out);
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

int ledger_any_account(struct wk_ctx *ctx, const char *id, struct ledger_account *out)
{
    const char *p[] = {id};
    return query_account(ctx, "acct_any",
                         "SELECT id, owner, currency FROM ledger.accounts "
                         "WHERE id = $1 AND owner IS NOT NULL",
                         1, p, out);
}

int ledger_user_account_in(struct wk_ctx *ctx, const char *owner, const char *currency,
                           struct ledger_account *out)
{
    const char *p[] = {owner, currency};
    return query_account(ctx, "acct_user_in",
                         "SELECT id, owner, currency FROM ledger.accounts "
                         "WHERE owner = $1 AND currency = $2 "
                         "ORDER BY is_default DESC, created_at, id LIMIT 1",
                         2, p, out);
}

static int external_of(struct wk_ctx *ctx, const char *currency, struct ledger_account *out)
{
    const char *p[] = {currency};
    return query_account(ctx, "acct_external",
                         "SELECT id, owner, currency FROM ledger.accounts "
                         "WHERE owner IS NULL AND currency = $1",
                         1, p, out);
}

int ledger_external_account(struct wk_ctx *ctx, const char *currency, struct ledger_account *out)
{
    int rc = external_of(ctx, currency, out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *p[] = {id, currency};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "acct_open_external",
        "INSERT INTO ledger.accounts (id, owner, name, kind, currency, is_default) "
        "VALUES ($1, NULL, '" EXTERNAL_ACCOUNT_NAME "', 'external', $2, false) "
        "ON CONFLICT DO NOTHING",
        2, p);
    if (!r)
        return ledger_db_fail(ctx);
    PQclear(r);
    rc = external_of(ctx, currency, out);
    return rc == 1 ? 0 : rc < 0 ? rc : WK_EDB;
}
