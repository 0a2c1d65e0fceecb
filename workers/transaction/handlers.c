/*
 * The transaction worker's state-changing handlers: acct.list (opens the default account
 * on first use), acct.create, txn.create, and the profile.updated event.
 *
 * The acting user is always req->user (the gateway fills it from the verified token); ids
 * in the body name accounts and are checked against it in SQL.
 *
 * Posting (txn.create), all in one wk_db_tx and four round trips with BEGIN and COMMIT
 * (sql/005_ledger_posting.sql says why):
 *   1. claim the idempotency record (or replay / refuse),
 *   2. ledger.posting_accounts resolves both accounts (ownership of the source checked in
 *      SQL) and locks them in the fixed order (owner IS NULL, id), returning the balances,
 *   3. here: the amount against the source's currency and balance (insufficient funds is a
 *      422 before anything is written; the CHECK constraint stays the last line of
 *      defence), the new balances, the 201 body and the txn.posted events,
 *   4. ledger.post_write moves both balances, writes the transfer, its two entries, the
 *      events (outbox) and the stored reply. 40001/40P01 are retried by wk_db_tx.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ledger.h"
#include "proto/buf.h"
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
        return wk_db_fail(ctx);
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
    wk_reply_raw(rep, sb->data, sb->size);
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
    int rc = ledger_idem_claim(ctx, t->user, &t->idem, t->rep);
    if (rc <= 0)
        return rc;
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
        return wk_db_fail(ctx);
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
    int64_t balance_before;
    int64_t balance_after;
};

struct txn_create_tx {
    struct wk_reply *rep;
    const char *user;
    const char *client_key; /* the Idempotency-Key, or NULL */
    const struct ledger_txn_input *in;
    struct ledger_idem idem;
    msgpack_sbuffer sb;         /* the 201 body */
    struct proto_buf events;    /* JSON array of txn.posted data */
    char transfer_id[PROTO_UUID_LEN + 1];
};

/* Appends one txn.posted data object (a user's side of the posting) to t->events. */
static void add_event(struct txn_create_tx *t, const char *kind, int64_t amount,
                      const struct leg *side, const struct leg *other)
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
    proto_buf_printf(&t->events,
                     "%s{\"transfer_id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\","
                     "\"type\":\"%s\",\"amount\":\"%s\",\"currency\":\"%s\",\"direction\":\"%s\","
                     "\"balance_after\":\"%s\",\"counterparty_account\":%s}",
                     t->events.len > 1 ? "," : "", t->transfer_id, a->owner, a->id, kind, amt,
                     a->currency, side->delta > 0 ? "in" : "out", bal, counter);
}

/* The user owning a leg's account, NULL for an external account. */
static const char *owner_of(const struct leg *l)
{
    return l->acct->owner[0] ? l->acct->owner : NULL;
}

/* Packs API.md's txn from the caller's side of a fresh posting (history.c packs the same
 * fields from the stored rows). */
static void pack_new_txn(msgpack_packer *pk, const struct txn_create_tx *t, const char *kind,
                         int64_t amount, const struct leg *side, const struct leg *from,
                         const struct leg *to, const char *created_at)
{
    int transfer = t->in->type == LEDGER_TRANSFER;
    msgpack_pack_map(pk, 13);
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
    pack_key(pk, "to_account"); /* what the sender addressed: an account id or a user id */
    proto_pack_cstr(pk, transfer ? t->in->to_account : NULL);
    pack_key(pk, "to_account_id");
    proto_pack_cstr(pk, transfer ? to->acct->id : NULL);
    pack_key(pk, "to_user_id");
    proto_pack_cstr(pk, owner_of(to));
    pack_key(pk, "from_user_id");
    proto_pack_cstr(pk, owner_of(from));
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

/* The answer to a ledger.posting_accounts problem (the currencies name a mismatch's two). */
static int posting_problem(struct wk_ctx *ctx, struct wk_reply *rep, const char *problem,
                           const char *src_currency, const char *dst_currency)
{
    if (strcmp(problem, "account_not_found") == 0)
        return not_found_account(rep);
    if (strcmp(problem, "recipient_not_found") == 0)
        return not_found_recipient(rep);
    if (strcmp(problem, "currency_mismatch") == 0)
        return wk_reply_error(rep, 422, "currency_mismatch",
                              "Your account is in %s and the recipient's in %s: both accounts "
                              "of a transfer must have the same currency.",
                              src_currency, dst_currency);
    if (strcmp(problem, "same_account") == 0)
        return wk_reply_error(rep, 422, "same_account",
                              "A transfer needs two different accounts.");
    PROTO_ERROR(wk_request_id(ctx), "unknown posting problem", "problem=%s",
                proto_log_str(problem));
    return WK_EDB;
}

/* Call 1 of 2 (sql/005_ledger_posting.sql): both accounts, locked, with their balances.
 * 0 with acct (the caller's), other, the balances and created_at filled; or an error set
 * on rep / a WK_E* code. */
static int posting_accounts(struct wk_ctx *ctx, struct txn_create_tx *t,
                            struct ledger_account *acct, struct ledger_account *other,
                            int64_t *acct_balance, int64_t *other_balance, char *created_at,
                            size_t created_cap)
{
    const struct ledger_txn_input *in = t->in;
    if (in->has_account && in->account_unknown && strcmp(in->account_id, t->user) != 0)
        return not_found_account(t->rep);
    if (in->type == LEDGER_TRANSFER && in->to_unknown)
        return not_found_recipient(t->rep);
    const char *p[] = {t->user, in->has_account ? in->account_id : NULL,
                       ledger_type_name(in->type),
                       in->type == LEDGER_TRANSFER ? in->to_account : NULL,
                       ledger_cfg.default_currency};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "posting_accounts",
        "SELECT problem, src_id, src_currency, src_balance, dst_id, dst_owner, dst_balance, "
        "created_at, dst_currency FROM ledger.posting_accounts($1, $2, $3, $4, $5)",
        5, p);
    if (!r)
        return wk_db_fail(ctx);
    if (!PQgetisnull(r, 0, 0)) {
        int rc = posting_problem(ctx, t->rep, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2),
                                 PQgetvalue(r, 0, 8));
        PQclear(r);
        return rc;
    }
    snprintf(acct->id, sizeof acct->id, "%s", PQgetvalue(r, 0, 1));
    snprintf(acct->owner, sizeof acct->owner, "%s", t->user);
    snprintf(acct->currency, sizeof acct->currency, "%s", PQgetvalue(r, 0, 2));
    acct->exponent = proto_currency_exponent(acct->currency);
    *acct_balance = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    snprintf(other->id, sizeof other->id, "%s", PQgetvalue(r, 0, 4));
    snprintf(other->owner, sizeof other->owner, "%s", PQgetvalue(r, 0, 5));
    memcpy(other->currency, acct->currency, sizeof other->currency);
    other->exponent = acct->exponent;
    *other_balance = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    snprintf(created_at, created_cap, "%s", PQgetvalue(r, 0, 7));
    PQclear(r);
    return acct->exponent >= 0 ? 0 : WK_EDB;
}

/* Call 2 of 2: moves the balances and writes the transfer, its entries, the events and the
 * stored reply (t->sb) in one call. 0 or a WK_E* code. */
static int post_write(struct wk_ctx *ctx, struct txn_create_tx *t, const char *kind,
                      int64_t amount, const struct leg *from, const struct leg *to)
{
    char amt[24], after_from[24], after_to[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    snprintf(after_from, sizeof after_from, "%lld", (long long)from->balance_after);
    snprintf(after_to, sizeof after_to, "%lld", (long long)to->balance_after);
    char *body = wk_db_bytea_text(t->sb.data, t->sb.size);
    const char *p[] = {t->transfer_id,
                       kind,
                       amt,
                       from->acct->currency,
                       from->acct->id,
                       to->acct->id,
                       after_from,
                       after_to,
                       t->in->has_note ? t->in->note : NULL,
                       t->user,
                       t->client_key,
                       t->events.data,
                       t->user,
                       t->idem.key,
                       body,
                       t->in->type == LEDGER_TRANSFER ? t->in->to_account : NULL};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "post_write",
                                      "SELECT ledger.post_write($1, $2, $3, $4, $5, $6, $7, $8, "
                                      "$9, $10, $11, $12, $13, $14, $15, $16)",
                                      16, p);
    free(body);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    wk_outbox_written(ctx);
    return 0;
}

/* The posting once its key is claimed: refusals (404, 422) are answered on t->rep with
 * WK_EHANDLER before anything is written. */
static int post(struct wk_ctx *ctx, struct txn_create_tx *t)
{
    const struct ledger_txn_input *in = t->in;
    struct ledger_account acct, other;
    int64_t acct_balance = 0, other_balance = 0;
    char created_at[40];
    int rc = posting_accounts(ctx, t, &acct, &other, &acct_balance, &other_balance, created_at,
                          sizeof created_at);
    if (rc < 0)
        return rc;
    int64_t amount;
    if (ledger_amount_parse(in->amount, acct.exponent, &amount) != 0)
        return wk_reply_error(t->rep, 422, "invalid_amount",
                              "amount must be positive with at most %d decimals for %s.",
                              acct.exponent, acct.currency);

    /* from loses the amount, to gains it. A user balance never goes below zero (the CHECK
     * is the last line of defence) and no balance leaves bigint. */
    int deposit = in->type == LEDGER_DEPOSIT;
    struct leg from = {deposit ? &other : &acct, -amount, deposit ? other_balance : acct_balance,
                       0};
    struct leg to = {deposit ? &acct : &other, amount, deposit ? acct_balance : other_balance, 0};
    if (from.acct->owner[0] && from.balance_before < amount)
        return wk_reply_error(t->rep, 422, "insufficient_funds",
                              "The account balance is too low for this amount.");
    if (from.balance_before < INT64_MIN + amount || to.balance_before > INT64_MAX - amount)
        return wk_reply_error(t->rep, 422, "invalid_amount",
                              "amount is too large for this account.");
    from.balance_after = from.balance_before - amount;
    to.balance_after = to.balance_before + amount;

    if (proto_uuid_v4(t->transfer_id) != 0)
        return PROTO_EIO;
    const char *kind = ledger_type_name(in->type);
    proto_buf_puts(&t->events, "[");
    if (from.acct->owner[0])
        add_event(t, kind, amount, &from, &to);
    if (to.acct->owner[0])
        add_event(t, kind, amount, &to, &from);
    proto_buf_puts(&t->events, "]");
    msgpack_packer pk;
    msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
    pack_new_txn(&pk, t, kind, amount, deposit ? &to : &from, &from, &to, created_at);
    if ((rc = post_write(ctx, t, kind, amount, &from, &to)) < 0)
        return rc;
    wk_reply_raw(t->rep, t->sb.data, t->sb.size);
    t->rep->status = 201;
    return 0;
}

static int txn_create_tx(struct wk_ctx *ctx, void *arg)
{
    struct txn_create_tx *t = arg;
    t->sb.size = 0; /* a retried attempt starts over */
    proto_buf_reset(&t->events);
    int rc = ledger_idem_claim(ctx, t->user, &t->idem, t->rep);
    if (rc <= 0)
        return rc;
    return ledger_idem_settle(ctx, t->user, &t->idem, t->rep, post(ctx, t));
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
    proto_buf_free(&t.events);
    if (rc == 0 && !wk_reply_is_error(rep) && t.transfer_id[0])
        PROTO_INFO(wk_request_id(ctx), "posted", "transfer=%s type=%s", t.transfer_id,
                   ledger_type_name(in.type));
    return rc;
}

/* ---- events ---- */

/* The event's user_id (lowercased into user, which holds PROTO_UUID_LEN + 2), checked against
 * the envelope's user: 0, or -1 after logging that the event is ignored. */
static int event_user(const struct proto_event *ev, char *user, size_t cap)
{
    const msgpack_object *u = proto_map_get(&ev->data, "user_id");
    if (!u || proto_obj_str(u, user, cap) != 0 || !proto_uuid_valid(user) ||
        (ev->user[0] && strcasecmp(ev->user, user) != 0)) {
        PROTO_WARN(ev->id, "event without a valid user_id, ignored", "type=%s",
                   proto_log_str(ev->type));
        return -1;
    }
    for (char *p = user; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* user.registered: the new user's default account, so a transfer to their id finds it and
 * GET /api/auth/me names it (the account.default_ready event the opening writes). */
int ledger_on_user_registered(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 2];
    if (event_user(ev, user, sizeof user) != 0)
        return 0;
    struct ledger_account def;
    return ledger_default_account(ctx, user, NULL, &def);
}

/* profile.updated: the default account in the profile's currency (opened, or re-denominated
 * while still empty: sql/010 says when), and for a first completion the account.default_ready
 * event the notification worker welcomes the user on. */
int ledger_on_profile_updated(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 2];
    if (event_user(ev, user, sizeof user) != 0)
        return 0;
    char currency[8];
    const msgpack_object *c = proto_map_get(&ev->data, "currency_preference");
    const char *cur = NULL;
    if (c && proto_obj_str(c, currency, sizeof currency) == 0 &&
        proto_currency_exponent(currency) >= 0)
        cur = currency;
    struct ledger_account def;
    int rc = ledger_default_account(ctx, user, cur, &def);
    if (rc < 0)
        return rc;
    const msgpack_object *f = proto_map_get(&ev->data, "first_completion");
    if (!f || f->type != MSGPACK_OBJECT_BOOLEAN || !f->via.boolean)
        return 0;
    char data[256];
    /* a UUID, a UUID and a currency code: no escaping */
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"account_id\":\"%s\",\"currency\":\"%s\","
             "\"first_completion\":true}",
             user, def.id, def.currency);
    return wk_outbox_add(ctx, LEDGER_EV_DEFAULT_READY, user, data);
}
