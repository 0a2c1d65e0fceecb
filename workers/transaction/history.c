/*
 * The transaction worker's reads: txn.list, txn.list_account, txn.get.
 *
 * A txn is one entry seen from the caller's side: account_id is the caller's account,
 * direction is the sign of the entry, balance_after that account's balance right after.
 * Pages are ordered by entries.seq (a total order, newest first), so pages never reorder
 * and never repeat a row. Ownership is part of every WHERE clause (a.owner = $user).
 *
 * Paging: `offset` counts from the newest posting, so postings that arrive between two
 * requests shift later pages. `before=<txn id>` anchors a page instead: only postings
 * older than that transaction (as the caller sees it) are listed, whatever arrives
 * meanwhile; a client passes the last id of the page it has. Offset still applies after the
 * anchor. For a transfer between two of the caller's own accounts (two lines, listed one
 * after the other) the anchor is its newer line, so a page boundary between them repeats
 * the older line rather than skipping it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

/* The txn columns, from `e` (entries, or a page of them) and `t` (their transfers).
 * to_account is what the sender addressed (an account id, or the recipient's user id, which
 * earlier clients compare with their own to tell received from sent); to_account_id the
 * account credited; the user ids are NULL for the external side of deposits and withdrawals. */
#define TXN_COLUMNS                                                                                \
    "SELECT t.id, e.account_id, t.kind, t.amount, t.currency, "                                    \
    "CASE WHEN t.kind = 'transfer' THEN coalesce(t.to_addressed, t.to_account) END, t.note, "      \
    "e.amount > 0, e.balance_after, " WK_SQL_TS(                                                   \
        "t.created_at") ", "                                                                       \
                        "CASE WHEN t.kind = 'transfer' THEN t.to_account END, "                    \
                        "(SELECT x.owner FROM ledger.accounts x WHERE x.id = t.to_account), "      \
                        "(SELECT x.owner FROM ledger.accounts x WHERE x.id = t.from_account) "

#define TXN_SELECT                                                                                 \
    TXN_COLUMNS "FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "             \
                "JOIN ledger.transfers t ON t.id = e.transfer_id "

/*
 * A page of the newest entries first, and only then their transfers: joining before the
 * LIMIT read every posting of the user (350 ms at 100,000 postings, measured by
 * tests/bench/ledger.sh). Each of the user's accounts gives at most limit + offset of its
 * newest entries through the (account_id, seq DESC) index; the page is cut from those.
 */
#define TXN_PAGE_OF_USER                                                                           \
    TXN_COLUMNS                                                                                    \
    "FROM (SELECT x.* FROM ledger.accounts a CROSS JOIN LATERAL ("                                 \
    "        SELECT e.account_id, e.transfer_id, e.amount, e.balance_after, e.seq "                \
    "        FROM ledger.entries e WHERE e.account_id = a.id AND e.seq < $4::bigint "              \
    "        ORDER BY e.seq DESC LIMIT $2::bigint + $3::bigint) x "                                \
    "      WHERE a.owner = $1 ORDER BY x.seq DESC LIMIT $2 OFFSET $3) e "                          \
    "JOIN ledger.transfers t ON t.id = e.transfer_id ORDER BY e.seq DESC"

#define TXN_PAGE_OF_ACCOUNT                                                                        \
    TXN_COLUMNS                                                                                    \
    "FROM (SELECT e.account_id, e.transfer_id, e.amount, e.balance_after, e.seq "                  \
    "      FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "                   \
    "      WHERE e.account_id = $1 AND a.owner = $2 AND e.seq < $5::bigint "                       \
    "      ORDER BY e.seq DESC LIMIT $3 OFFSET $4) e "                                             \
    "JOIN ledger.transfers t ON t.id = e.transfer_id ORDER BY e.seq DESC"

static void pack_nullable(msgpack_packer *pk, const PGresult *r, int row, int col)
{
    proto_pack_cstr(pk, PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col));
}

/* The API's transaction object (README "Money") from a TXN_SELECT row. */
static void pack_txn(msgpack_packer *pk, const PGresult *r, int row)
{
    int exponent = proto_currency_exponent(PQgetvalue(r, row, 4));
    msgpack_pack_map(pk, 13);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, PQgetvalue(r, row, 0));
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, PQgetvalue(r, row, 1));
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, PQgetvalue(r, row, 2));
    proto_pack_cstr(pk, "amount");
    proto_pack_money(pk, strtoll(PQgetvalue(r, row, 3), NULL, 10), exponent);
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, PQgetvalue(r, row, 4));
    proto_pack_cstr(pk, "to_account");
    pack_nullable(pk, r, row, 5);
    proto_pack_cstr(pk, "to_account_id");
    pack_nullable(pk, r, row, 10);
    proto_pack_cstr(pk, "to_user_id");
    pack_nullable(pk, r, row, 11);
    proto_pack_cstr(pk, "from_user_id");
    pack_nullable(pk, r, row, 12);
    proto_pack_cstr(pk, "note");
    pack_nullable(pk, r, row, 6);
    proto_pack_cstr(pk, "direction");
    proto_pack_cstr(pk, strcmp(PQgetvalue(r, row, 7), "t") == 0 ? "in" : "out");
    proto_pack_cstr(pk, "balance_after");
    proto_pack_money(pk, strtoll(PQgetvalue(r, row, 8), NULL, 10), exponent);
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, PQgetvalue(r, row, 9));
}

static void pack_txns(msgpack_packer *pk, const PGresult *r)
{
    int n = PQntuples(r);
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_txn(pk, r, i);
}

struct page_tx {
    struct wk_reply *rep;
    const char *user;
    const char *account_ref; /* txn.list_account: an account id or the user's id */
    const char *before;      /* a txn id, or NULL */
    char limit[24], offset[24];
    char before_seq[24]; /* the anchor's entries.seq (INT64_MAX without one) */
};

/* Resolves t->before to the seq of the caller's newest line of that transfer (on
 * `account` when not NULL) into t->before_seq: 0, an error set on rep, or < 0. */
static int anchor_seq(struct wk_ctx *ctx, struct page_tx *t, const char *account)
{
    if (!t->before) {
        snprintf(t->before_seq, sizeof t->before_seq, "%lld", (long long)INT64_MAX);
        return 0;
    }
    const char *p[] = {t->before, t->user, account};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "txn_anchor",
                                      "SELECT max(e.seq) FROM ledger.entries e "
                                      "JOIN ledger.accounts a ON a.id = e.account_id "
                                      "WHERE e.transfer_id = $1 AND a.owner = $2 "
                                      "AND ($3::uuid IS NULL OR e.account_id = $3)",
                                      3, p);
    if (!r)
        return wk_db_fail(ctx);
    int found = !PQgetisnull(r, 0, 0);
    if (found)
        snprintf(t->before_seq, sizeof t->before_seq, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!found)
        return wk_reply_error(t->rep, 404, "transaction_not_found",
                              "before names no transaction of yours in this list.");
    return 0;
}

static int list_tx(struct wk_ctx *ctx, void *arg)
{
    struct page_tx *t = arg;
    PGresult *r;
    int rc;
    /* The caller's own user id is what older clients send for "my history" (docs/api.md: all
     * of yours, as for notifications and simulations), not only the default account. */
    if (!t->account_ref || strcmp(t->account_ref, t->user) == 0) {
        if ((rc = anchor_seq(ctx, t, NULL)) < 0)
            return rc;
        const char *p[] = {t->user, t->limit, t->offset, t->before_seq};
        r = wk_db_exec_prepared(wk_db(ctx), "txn_list", TXN_PAGE_OF_USER, 4, p);
    } else {
        struct ledger_account acct;
        rc = ledger_resolve_account(ctx, t->user, t->account_ref, &acct);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return wk_reply_error(t->rep, 404, "account_not_found", "No such account.");
        if ((rc = anchor_seq(ctx, t, acct.id)) < 0)
            return rc;
        const char *p[] = {acct.id, t->user, t->limit, t->offset, t->before_seq};
        r = wk_db_exec_prepared(wk_db(ctx), "txn_list_account", TXN_PAGE_OF_ACCOUNT, 5, p);
    }
    if (!r)
        return wk_db_fail(ctx);
    pack_txns(t->rep->body, r);
    PQclear(r);
    return 0;
}

static int page_request(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep,
                        int by_account)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    long limit, offset;
    struct ledger_invalid bad;
    if (ledger_page_parse(proto_map_get(&req->args, "query"),
                          by_account ? LEDGER_ACCOUNT_LIMIT_MAX : LEDGER_LIMIT_MAX, &limit, &offset,
                          &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message);
    char ref[PROTO_UUID_LEN + 1], before[PROTO_UUID_LEN + 1];
    int has_before = 0;
    if (ledger_before_parse(proto_map_get(&req->args, "query"), before, &has_before, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message);
    if (by_account && wk_path_uuid(req, "account_id", ref) != 1)
        return wk_reply_error(rep, 404, "account_not_found", "No such account.");
    struct page_tx t = {.rep = rep,
                        .user = user,
                        .account_ref = by_account ? ref : NULL,
                        .before = has_before ? before : NULL};
    snprintf(t.limit, sizeof t.limit, "%ld", limit);
    snprintf(t.offset, sizeof t.offset, "%ld", offset);
    return wk_db_tx(ctx, list_tx, &t);
}

int ledger_txn_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    return page_request(ctx, req, rep, 0);
}

int ledger_txn_list_account(struct wk_ctx *ctx, const struct proto_request *req,
                            struct wk_reply *rep)
{
    return page_request(ctx, req, rep, 1);
}

int ledger_txn_get(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char id[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "id", id) != 1)
        return wk_reply_error(rep, 404, "transaction_not_found", "No such transaction.");
    /* Between two of the caller's own accounts, the sending side is shown. */
    const char *p[] = {id, user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "txn_get",
                                      TXN_SELECT "WHERE t.id = $1 AND a.owner = $2 "
                                                 "ORDER BY e.amount LIMIT 1",
                                      2, p);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return wk_reply_error(rep, 404, "transaction_not_found", "No such transaction.");
    }
    pack_txn(rep->body, r, 0);
    PQclear(r);
    return 0;
}
