/*
 * The transaction worker's state-changing handlers: acct.list (opens the default account
 * on first use), acct.create, txn.create, and the profile.updated event.
 *
 * The acting user is always req->user (the gateway fills it from the verified token); ids
 * in the body name accounts and are checked against it in SQL.
 *
 * Posting (txn.create), all in one wk_db_tx:
 *   1. claim the idempotency record (or replay / refuse),
 *   2. resolve both accounts (ownership of the source checked in SQL),
 *   3. move the money with conditional UPDATEs in the fixed lock order (owner IS NULL, id):
 *      the debit of a user account only happens WHERE balance >= amount, so insufficient
 *      funds are detected without a read-then-write race, and the CHECK constraint stays a
 *      last line of defence; 40001/40P01 are retried by wk_db_tx,
 *   4. write the transfer, its two entries (with balance_after) and the txn.posted events,
 *   5. store the reply in the idempotency record and send it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ledger.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

/* created_at as RFC 3339 UTC with milliseconds. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const char *ledger_acting_user(const struct proto_request *req, struct wk_reply *rep)
{
    if (proto_uuid_valid(req->user))
        return req->user;
    wk_reply_error(rep, 401, "unauthenticated", "Sign in first.");
    return NULL;
}

static const msgpack_object *body_map(const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = proto_map_get(&req->args, "body");
    if (!body || body->type != MSGPACK_OBJECT_MAP) {
        wk_reply_error(rep, 400, "invalid_body", "The request body must be a JSON object.");
        return NULL;
    }
    return body;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

/* ---- accounts ---- */

#define ACCOUNT_COLS "id, name, kind, currency, balance, " TS("created_at") ", is_default"

/* API.md's account from a row of ACCOUNT_COLS. */
static void pack_account(msgpack_packer *pk, const PGresult *r, int row)
{
    const char *currency = PQgetvalue(r, row, 3);
    msgpack_pack_map(pk, 7);
    pack_key(pk, "id");
    proto_pack_cstr(pk, PQgetvalue(r, row, 0));
    pack_key(pk, "name");
    proto_pack_cstr(pk, PQgetvalue(r, row, 1));
    pack_key(pk, "kind");
    proto_pack_cstr(pk, PQgetvalue(r, row, 2));
    pack_key(pk, "currency");
    proto_pack_cstr(pk, currency);
    pack_key(pk, "balance");
    proto_pack_money(pk, strtoll(PQgetvalue(r, row, 4), NULL, 10),
                     proto_currency_exponent(currency));
    pack_key(pk, "created_at");
    proto_pack_cstr(pk, PQgetvalue(r, row, 5));
    pack_key(pk, "is_default");
    if (strcmp(PQgetvalue(r, row, 6), "t") == 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

struct list_tx {
    struct wk_reply *rep;
    const char *user;
};

static int acct_list_tx(struct wk_ctx *ctx, void *arg)
{
    struct list_tx *t = arg;
    struct ledger_account def;
    int rc = ledger_default_account(ctx, t->user, NULL, &def);
    if (rc < 0)
        return rc;
    const char *p[] = {t->user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "acct_list",
                                      "SELECT " ACCOUNT_COLS " FROM ledger.accounts "
                                      "WHERE owner = $1 ORDER BY is_default DESC, created_at, id",
                                      1, p);
    if (!r)
        return ledger_db_fail(ctx);
    int n = PQntuples(r);
    msgpack_pack_array(t->rep->body, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_account(t->rep->body, r, i);
    PQclear(r);
    return 0;
}

int ledger_acct_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = ledger_acting_user(req, rep);
    if (!user)
        return 0;
    struct list_tx t = {rep, user};
    return wk_db_tx(ctx, acct_list_tx, &t);
}

/* Stores the packed 201 body `sb` as the reply of the request's idempotency key (in the
 * posting's transaction, so a replay returns exactly it) and answers it. */
static int answer_created(struct wk_ctx *ctx, struct wk_reply *rep, const char *user,
                          const struct ledger_idem *idem, const msgpack_sbuffer *sb,
                          const char *transfer_id)
{
    int rc = ledger_idem_finish(ctx, user, idem, 201, sb->data, sb->size, transfer_id);
    if (rc < 0)
        return rc;
    ledger_reply_raw(rep, sb->data, sb->size);
    rep->status = 201;
    return 0;
}

struct acct_create_tx {
    struct wk_reply *rep;
    const char *user;
    const struct ledger_account_input *in;
    struct ledger_idem idem;
    msgpack_sbuffer sb;
};

static int acct_create_tx(struct wk_ctx *ctx, void *arg)
{
    struct acct_create_tx *t = arg;
    t->sb.size = 0; /* a retried attempt starts over */
    int rc = ledger_idem_begin(ctx, t->user, &t->idem, t->rep);
    if (rc < 0)
        return rc;
    if (rc == LEDGER_IDEM_REPLAYED)
        return 0;
    if (rc != LEDGER_IDEM_NEW)
        return WK_EHANDLER;
    struct ledger_account def;
    rc = ledger_default_account(ctx, t->user, NULL, &def);
    if (rc < 0)
        return rc;
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *p[] = {id, t->user, t->in->name, t->in->kind, t->in->currency};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "acct_create",
                                      "INSERT INTO ledger.accounts (id, owner, name, kind, "
                                      "currency) VALUES ($1, $2, $3, $4, $5) "
                                      "RETURNING " ACCOUNT_COLS,
                                      5, p);
    if (!r)
        return ledger_db_fail(ctx);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
    pack_account(&pk, r, 0);
    PQclear(r);
    return answer_created(ctx, t->rep, t->user, &t->idem, &t->sb, NULL);
}

int ledger_acct_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = ledger_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = body_map(req, rep);
    if (!body)
        return 0;
    struct ledger_account_input in;
    struct ledger_invalid bad;
    if (ledger_account_parse(body, &in, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message), 0;
    struct acct_create_tx t = {.rep = rep, .user = user, .in = &in};
    if (ledger_idem_prepare(&t.idem, req, body) != 0)
        return PROTO_EIO;
    msgpack_sbuffer_init(&t.sb);
    int rc = wk_db_tx(ctx, acct_create_tx, &t);
    msgpack_sbuffer_destroy(&t.sb);
    return rc;
}

/* ---- txn.create ---- */

struct leg {
    const struct ledger_account *acct;
    int64_t delta;
    int64_t balance_after;
};

struct txn_create_tx {
    struct wk_reply *rep;
    const char *user;
    const char *client_key; /* the Idempotency-Key, or NULL */
    const struct ledger_txn_input *in;
    struct ledger_idem idem;
    msgpack_sbuffer sb;
    char transfer_id[PROTO_UUID_LEN + 1];
};

/* Lock order: user accounts by id, then external accounts (see sql/003_ledger.sql). */
static int lock_before(const struct ledger_account *a, const struct ledger_account *b)
{
    int ea = a->owner[0] == '\0', eb = b->owner[0] == '\0';
    if (ea != eb)
        return eb;
    return strcmp(a->id, b->id) < 0;
}

/* Applies one leg: 1 applied, 0 refused (a user balance would go below zero, or a balance
 * would leave bigint), < 0 on a database error. */
static int apply_leg(struct wk_ctx *ctx, struct leg *l)
{
    char delta[24];
    snprintf(delta, sizeof delta, "%lld", (long long)l->delta);
    const char *p[] = {l->acct->id, delta};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "acct_apply",
                            "UPDATE ledger.accounts SET balance = balance + $2::bigint "
                            "WHERE id = $1 AND balance::numeric + $2::bigint BETWEEN "
                            "(CASE WHEN owner IS NULL THEN -9223372036854775808 ELSE 0 END) "
                            "AND 9223372036854775807 RETURNING balance",
                            2, p);
    if (!r)
        return ledger_db_fail(ctx);
    int ok = PQntuples(r) == 1;
    if (ok)
        l->balance_after = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ok;
}

/* Writes one txn.posted event for a user's side of the posting. */
static int add_event(struct wk_ctx *ctx, const struct txn_create_tx *t, const char *kind,
                     int64_t amount, const struct leg *side, const struct leg *other)
{
    char amt[PROTO_MONEY_TEXT_MAX], bal[PROTO_MONEY_TEXT_MAX], counter[PROTO_UUID_LEN + 3];
    const struct ledger_account *a = side->acct;
    proto_money_format(amount, a->exponent, amt, sizeof amt);
    proto_money_format(side->balance_after, a->exponent, bal, sizeof bal);
    if (other->acct->owner[0])
        snprintf(counter, sizeof counter, "\"%s\"", other->acct->id);
    else
        snprintf(counter, sizeof counter, "null");
    /* Every value is a UUID, a fixed word, a currency code or a decimal: no escaping. */
    char data[768];
    snprintf(data, sizeof data,
             "{\"transfer_id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\",\"type\":\"%s\","
             "\"amount\":\"%s\",\"currency\":\"%s\",\"direction\":\"%s\","
             "\"balance_after\":\"%s\",\"counterparty_account\":%s}",
             t->transfer_id, a->owner, a->id, kind, amt, a->currency,
             side->delta > 0 ? "in" : "out", bal, counter);
    return wk_outbox_add(ctx, "txn.posted", a->owner, data);
}

/* Packs API.md's txn from the caller's side of a fresh posting. */
static void pack_new_txn(msgpack_packer *pk, const struct txn_create_tx *t, const char *kind,
                         int64_t amount, const struct leg *side, const struct leg *to,
                         const char *created_at)
{
    msgpack_pack_map(pk, 10);
    pack_key(pk, "id");
    proto_pack_cstr(pk, t->transfer_id);
    pack_key(pk, "account_id");
    proto_pack_cstr(pk, side->acct->id);
    pack_key(pk, "type");
    proto_pack_cstr(pk, kind);
    pack_key(pk, "amount");
    proto_pack_money(pk, amount, side->acct->exponent);
    pack_key(pk, "currency");
    proto_pack_cstr(pk, side->acct->currency);
    pack_key(pk, "to_account");
    proto_pack_cstr(pk, t->in->type == LEDGER_TRANSFER ? to->acct->id : NULL);
    pack_key(pk, "note");
    proto_pack_cstr(pk, t->in->has_note ? t->in->note : NULL);
    pack_key(pk, "direction");
    proto_pack_cstr(pk, side->delta > 0 ? "in" : "out");
    pack_key(pk, "balance_after");
    proto_pack_money(pk, side->balance_after, side->acct->exponent);
    pack_key(pk, "created_at");
    proto_pack_cstr(pk, created_at);
}

static int not_found_account(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "account_not_found", "No such account.");
}

static int not_found_recipient(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "recipient_not_found",
                          "No recipient account with that id in this currency.");
}

/* Resolves the destination of a transfer: an account id (anyone's), else a user id (their
 * account in the source's currency, the default one first). 0, or an error set on rep. */
static int resolve_recipient(struct wk_ctx *ctx, const struct txn_create_tx *t,
                             const struct ledger_account *src, struct ledger_account *dst)
{
    if (t->in->to_unknown)
        return not_found_recipient(t->rep);
    int rc = ledger_any_account(ctx, t->in->to_account, dst);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        if (strcmp(dst->currency, src->currency) != 0)
            return wk_reply_error(t->rep, 422, "currency_mismatch",
                                  "Both accounts of a transfer must have the same currency.");
        return 0;
    }
    rc = ledger_user_account_in(ctx, t->in->to_account, src->currency, dst);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : not_found_recipient(t->rep);
}

static int txn_create_tx(struct wk_ctx *ctx, void *arg)
{
    struct txn_create_tx *t = arg;
    const struct ledger_txn_input *in = t->in;
    t->sb.size = 0; /* a retried attempt starts over */
    int rc = ledger_idem_begin(ctx, t->user, &t->idem, t->rep);
    if (rc < 0)
        return rc;
    if (rc == LEDGER_IDEM_REPLAYED)
        return 0;
    if (rc != LEDGER_IDEM_NEW)
        return WK_EHANDLER;

    struct ledger_account acct, other;
    if (!in->has_account || strcmp(in->account_id, t->user) == 0) {
        rc = ledger_default_account(ctx, t->user, NULL, &acct);
        if (rc < 0)
            return rc;
    } else {
        if (in->account_unknown)
            return not_found_account(t->rep);
        rc = ledger_own_account(ctx, t->user, in->account_id, &acct);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return not_found_account(t->rep);
    }
    int64_t amount;
    if (ledger_amount_parse(in->amount, acct.exponent, &amount) != 0)
        return wk_reply_error(t->rep, 422, "invalid_amount",
                              "amount must be positive with at most %d decimals for %s.",
                              acct.exponent, acct.currency);

    if (in->type == LEDGER_TRANSFER) {
        rc = resolve_recipient(ctx, t, &acct, &other);
        if (rc < 0)
            return rc;
        if (strcmp(other.id, acct.id) == 0)
            return wk_reply_error(t->rep, 422, "same_account",
                                  "A transfer needs two different accounts.");
    } else {
        rc = ledger_external_account(ctx, acct.currency, &other);
        if (rc < 0)
            return rc;
    }

    /* from loses the amount, to gains it. */
    struct leg from = {in->type == LEDGER_DEPOSIT ? &other : &acct, -amount, 0};
    struct leg to = {in->type == LEDGER_DEPOSIT ? &acct : &other, amount, 0};
    struct leg *first = lock_before(from.acct, to.acct) ? &from : &to;
    struct leg *second = first == &from ? &to : &from;
    for (int i = 0; i < 2; i++) {
        struct leg *l = i == 0 ? first : second;
        rc = apply_leg(ctx, l);
        if (rc < 0)
            return rc;
        if (rc == 0 && l->delta < 0 && l->acct->owner[0])
            return wk_reply_error(t->rep, 422, "insufficient_funds",
                                  "The account balance is too low for this amount.");
        if (rc == 0)
            return wk_reply_error(t->rep, 422, "invalid_amount",
                                  "amount is too large for this account.");
    }

    if (proto_uuid_v4(t->transfer_id) != 0)
        return PROTO_EIO;
    const char *kind = ledger_type_name(in->type);
    char amt[24], bal_from[24], bal_to[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    snprintf(bal_from, sizeof bal_from, "%lld", (long long)from.balance_after);
    snprintf(bal_to, sizeof bal_to, "%lld", (long long)to.balance_after);
    const char *tp[] = {t->transfer_id,
                        kind,
                        amt,
                        acct.currency,
                        from.acct->id,
                        to.acct->id,
                        in->has_note ? in->note : NULL,
                        t->user,
                        t->client_key};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "txn_insert",
        "INSERT INTO ledger.transfers (id, kind, amount, currency, from_account, to_account, "
        "note, initiator, idem_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "RETURNING " TS("created_at"),
        9, tp);
    if (!r)
        return ledger_db_fail(ctx);
    char created_at[40];
    snprintf(created_at, sizeof created_at, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *ep[] = {t->transfer_id, from.acct->id, to.acct->id, amt, bal_from, bal_to};
    r = wk_db_exec_prepared(wk_db(ctx), "entries_insert",
                            "INSERT INTO ledger.entries (transfer_id, account_id, amount, "
                            "balance_after) VALUES ($1, $2, -($4::bigint), $5), ($1, $3, $4, $6)",
                            6, ep);
    if (!r)
        return ledger_db_fail(ctx);
    PQclear(r);

    if (from.acct->owner[0] && (rc = add_event(ctx, t, kind, amount, &from, &to)) < 0)
        return rc;
    if (to.acct->owner[0] && (rc = add_event(ctx, t, kind, amount, &to, &from)) < 0)
        return rc;

    msgpack_packer pk;
    msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
    pack_new_txn(&pk, t, kind, amount, in->type == LEDGER_DEPOSIT ? &to : &from, &to, created_at);
    return answer_created(ctx, t->rep, t->user, &t->idem, &t->sb, t->transfer_id);
}

int ledger_txn_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = ledger_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = body_map(req, rep);
    if (!body)
        return 0;
    struct ledger_txn_input in;
    struct ledger_invalid bad;
    if (ledger_txn_parse(body, &in, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message), 0;
    struct txn_create_tx t = {
        .rep = rep, .user = user, .client_key = req->idem[0] ? req->idem : NULL, .in = &in};
    if (ledger_idem_prepare(&t.idem, req, body) != 0)
        return PROTO_EIO;
    msgpack_sbuffer_init(&t.sb);
    int rc = wk_db_tx(ctx, txn_create_tx, &t);
    msgpack_sbuffer_destroy(&t.sb);
    if (rc == 0 && !wk_reply_is_error(rep) && t.transfer_id[0])
        PROTO_INFO(wk_request_id(ctx), "posted", "transfer=%s type=%s", t.transfer_id,
                   ledger_type_name(in.type));
    return rc;
}

/* ---- events ---- */

int ledger_on_profile_updated(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 2], currency[8];
    const msgpack_object *u = proto_map_get(&ev->data, "user_id");
    const msgpack_object *c = proto_map_get(&ev->data, "currency_preference");
    if (!u || proto_obj_str(u, user, sizeof user) != 0 || !proto_uuid_valid(user) ||
        (ev->user[0] && strcasecmp(ev->user, user) != 0)) {
        PROTO_WARN(ev->id, "profile.updated without a valid user_id, ignored", NULL);
        return 0;
    }
    const char *cur = NULL;
    if (c && proto_obj_str(c, currency, sizeof currency) == 0 &&
        proto_currency_exponent(currency) >= 0)
        cur = currency;
    for (char *p = user; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    struct ledger_account def;
    return ledger_default_account(ctx, user, cur, &def);
}
