/*
 * txn.create: deposits, withdrawals and transfers, posted in batches (sql/012_ledger_batch.sql
 * says why). The runtime hands ledger_txn_create_batch every first delivery of txn.create it
 * already holds; a redelivered request comes alone through ledger_txn_create, a batch of one.
 *
 * A batch is one wk_db_tx with two calls besides BEGIN and COMMIT:
 *   1. here: each request's user, body and fields are checked; a bad one is answered at once
 *      and never reaches the database. A request with the same (user, Idempotency-Key) as an
 *      earlier one of the batch is not sent: it gets the earlier one's answer, as a replay;
 *   2. ledger.batch_begin claims every key, resolves and locks every account (one fixed
 *      order for the whole batch) and returns the balances before the batch;
 *   3. here, in arrival order: each claimed request is refused (404/422, stored with its key
 *      so every later copy gets the same answer) or posted against the running balances (an
 *      insufficient-funds request fails alone; the next one sees what the earlier ones left),
 *      and its 201 body and txn.posted events are built;
 *   4. ledger.batch_write writes every posting and stores every claimed key's answer, then
 *      COMMIT. Replies are written only after the commit.
 * A worker killed before its acks replays the whole batch from the stored answers. If the
 * transaction fails for a reason other than a lost database (a constraint: a bug here), each
 * request is posted again alone, so one bad request fails alone.
 */
#include <stdarg.h>
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

enum outcome {
    OUT_NONE,      /* sent to the database, not decided yet */
    OUT_ANSWERED,  /* bad input: answered before the batch */
    OUT_SAME_KEY,  /* the same (user, key) as the earlier request `first` */
    OUT_POSTED,    /* 201 with `body` */
    OUT_REFUSED,   /* a 4xx decided after the claim, stored with the key */
    OUT_REPLAY,    /* the key's stored answer */
    OUT_MISMATCH,  /* the key was used with another request */
    OUT_IN_FLIGHT, /* the key is held */
};

struct item {
    struct wk_call *call;
    const char *user;
    const char *client_key; /* the Idempotency-Key, or NULL */
    struct ledger_txn_input in;
    struct wk_idem idem;
    size_t first; /* OUT_SAME_KEY */
    enum outcome out;
    /* OUT_REFUSED: status, code, message; OUT_REPLAY: status, code ("" for a success) and
     * the stored bytes (PQfreemem). */
    int status;
    char code[PROTO_CODE_MAX + 1];
    char message[PROTO_MESSAGE_MAX + 1];
    unsigned char *stored;
    size_t stored_len;
    /* OUT_POSTED */
    char transfer_id[PROTO_UUID_LEN + 1];
    msgpack_sbuffer body;
};

/* A locked account's balance as the batch's earlier postings left it. */
struct running {
    char id[PROTO_UUID_LEN + 1];
    int64_t balance;
};

/* ledger.batch_write's arguments, as array literals, in its parameter order. */
enum {
    W_TRANSFERS,
    W_KINDS,
    W_AMOUNTS,
    W_CURRENCIES,
    W_FROMS,
    W_TOS,
    W_FROM_AFTERS,
    W_TO_AFTERS,
    W_NOTES,
    W_INITIATORS,
    W_CLIENT_KEYS,
    W_TO_ADDRESSED,
    W_EVENTS, /* a JSON array, not an array literal */
    W_IDEM_USERS,
    W_IDEM_KEYS,
    W_STATUSES,
    W_BODIES,
    W_ERROR_CODES,
    W_IDEM_TRANSFERS,
    W_COUNT
};

struct batch {
    struct item *items;
    size_t n;
    struct running *run; /* at most two per item */
    size_t nrun;
    struct proto_buf w[W_COUNT];
    size_t posted, settled; /* postings and keys batch_write gets */
};

/* ---- array literals ---- */

/* Appends one element (NULL: SQL NULL) to the array literal being built in b. */
static void arr_add(struct proto_buf *b, const char *s)
{
    proto_buf_puts(b, b->len ? "," : "{");
    if (!s) {
        proto_buf_puts(b, "NULL");
        return;
    }
    proto_buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            proto_buf_append(b, "\\", 1);
        proto_buf_append(b, p, 1);
    }
    proto_buf_puts(b, "\"");
}

static void arr_add_int(struct proto_buf *b, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    arr_add(b, text);
}

/* A bytea element from raw bytes. */
static void arr_add_bytes(struct proto_buf *b, const void *data, size_t len)
{
    char *hex = wk_db_bytea_text(data, len);
    arr_add(b, hex);
    free(hex);
}

/* The finished literal ("{}" when empty). */
static const char *arr_end(struct proto_buf *b)
{
    proto_buf_puts(b, b->len ? "}" : "{}");
    return b->data;
}

/* ---- deciding one posting ---- */

static void refuse(struct item *it, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a refusal decided after the claim (stored with the key, answered after commit). */
static void refuse(struct item *it, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->message, sizeof it->message, fmt, ap);
    va_end(ap);
    snprintf(it->code, sizeof it->code, "%s", code);
    it->status = status;
    it->out = OUT_REFUSED;
}

/* The refusal for a problem ledger.batch_begin reports (the currencies name a mismatch's
 * two). 0, or WK_EDB for a problem this code does not know. */
static int posting_problem(struct item *it, const char *problem, const char *src_currency,
                           const char *dst_currency)
{
    if (strcmp(problem, "account_not_found") == 0)
        refuse(it, 404, "account_not_found", "No such account.");
    else if (strcmp(problem, "recipient_not_found") == 0)
        refuse(it, 404, "recipient_not_found",
               "No recipient account with that id in this currency.");
    else if (strcmp(problem, "currency_mismatch") == 0)
        refuse(it, 422, "currency_mismatch",
               "Your account is in %s and the recipient's in %s: both accounts of a transfer "
               "must have the same currency.",
               src_currency, dst_currency);
    else if (strcmp(problem, "same_account") == 0)
        refuse(it, 422, "same_account", "A transfer needs two different accounts.");
    else {
        PROTO_ERROR(it->call->req->id, "unknown posting problem", "problem=%s",
                    proto_log_str(problem));
        return WK_EDB;
    }
    return 0;
}

/* The running balance of a locked account, starting from `locked` (its balance before the
 * batch, as text) the first time the batch sees it. */
static int64_t *running_balance(struct batch *b, const char *id, const char *locked)
{
    for (size_t i = 0; i < b->nrun; i++)
        if (strcmp(b->run[i].id, id) == 0)
            return &b->run[i].balance;
    struct running *r = &b->run[b->nrun++];
    snprintf(r->id, sizeof r->id, "%s", id);
    r->balance = strtoll(locked, NULL, 10);
    return &r->balance;
}

struct leg {
    const struct ledger_account *acct;
    int64_t delta;
    int64_t *balance; /* the running balance; moved once the posting is decided */
    int64_t before, after;
};

/* The user owning a leg's account, NULL for an external account. */
static const char *owner_of(const struct leg *l)
{
    return l->acct->owner[0] ? l->acct->owner : NULL;
}

/* Appends one txn.posted data object (a user's side of the posting) to the events array. */
static void add_event(struct proto_buf *ev, const struct item *it, const char *kind,
                      int64_t amount, const struct leg *side, const struct leg *other)
{
    char amt[PROTO_MONEY_TEXT_MAX], bal[PROTO_MONEY_TEXT_MAX], counter[PROTO_UUID_LEN + 3];
    const struct ledger_account *a = side->acct;
    proto_money_format(amount, a->exponent, amt, sizeof amt);
    proto_money_format(side->after, a->exponent, bal, sizeof bal);
    if (other->acct->owner[0])
        snprintf(counter, sizeof counter, "\"%s\"", other->acct->id);
    else
        snprintf(counter, sizeof counter, "null");
    /* Every value is a UUID, a fixed word, a currency code or a decimal: no escaping. */
    proto_buf_printf(ev,
                     "%s{\"transfer_id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\","
                     "\"type\":\"%s\",\"amount\":\"%s\",\"currency\":\"%s\",\"direction\":\"%s\","
                     "\"balance_after\":\"%s\",\"counterparty_account\":%s}",
                     ev->len > 1 ? "," : "", it->transfer_id, a->owner, a->id, kind, amt,
                     a->currency, side->delta > 0 ? "in" : "out", bal, counter);
}

/* Packs the API's transaction object (README "Money") from the caller's side of a fresh
 * posting (history.c packs the same fields from the stored rows). */
static void pack_new_txn(msgpack_packer *pk, const struct item *it, const char *kind,
                         int64_t amount, const struct leg *side, const struct leg *from,
                         const struct leg *to, const char *created_at)
{
    int transfer = it->in.type == LEDGER_TRANSFER;
    msgpack_pack_map(pk, 13);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, it->transfer_id);
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, side->acct->id);
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, kind);
    proto_pack_cstr(pk, "amount");
    proto_pack_money(pk, amount, side->acct->exponent);
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, side->acct->currency);
    proto_pack_cstr(pk, "to_account"); /* what the sender addressed: an account or a user id */
    proto_pack_cstr(pk, transfer ? it->in.to_account : NULL);
    proto_pack_cstr(pk, "to_account_id");
    proto_pack_cstr(pk, transfer ? to->acct->id : NULL);
    proto_pack_cstr(pk, "to_user_id");
    proto_pack_cstr(pk, owner_of(to));
    proto_pack_cstr(pk, "from_user_id");
    proto_pack_cstr(pk, owner_of(from));
    proto_pack_cstr(pk, "note");
    proto_pack_cstr(pk, it->in.has_note ? it->in.note : NULL);
    proto_pack_cstr(pk, "direction");
    proto_pack_cstr(pk, side->delta > 0 ? "in" : "out");
    proto_pack_cstr(pk, "balance_after");
    proto_pack_money(pk, side->after, side->acct->exponent);
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, created_at);
}

/* Columns of ledger.batch_begin's rows, as selected in begin(). */
enum {
    C_CLAIM,
    C_STATUS,
    C_BODY,
    C_ERROR_CODE,
    C_PROBLEM,
    C_SRC_ID,
    C_SRC_CURRENCY,
    C_SRC_BALANCE,
    C_DST_ID,
    C_DST_OWNER,
    C_DST_CURRENCY,
    C_DST_BALANCE,
    C_CREATED_AT,
};

/* Decides a claimed request with its accounts in row `row`: refused, or posted (the running
 * balances move, the body, events and batch_write's arguments are added). 0 or a code. */
static int decide_posting(struct batch *b, struct item *it, const PGresult *r, int row)
{
    const struct ledger_txn_input *in = &it->in;
    if (!PQgetisnull(r, row, C_PROBLEM))
        return posting_problem(it, PQgetvalue(r, row, C_PROBLEM),
                               PQgetvalue(r, row, C_SRC_CURRENCY),
                               PQgetvalue(r, row, C_DST_CURRENCY));
    struct ledger_account acct, other;
    snprintf(acct.id, sizeof acct.id, "%s", PQgetvalue(r, row, C_SRC_ID));
    snprintf(acct.owner, sizeof acct.owner, "%s", it->user);
    snprintf(acct.currency, sizeof acct.currency, "%s", PQgetvalue(r, row, C_SRC_CURRENCY));
    acct.exponent = proto_currency_exponent(acct.currency);
    snprintf(other.id, sizeof other.id, "%s", PQgetvalue(r, row, C_DST_ID));
    snprintf(other.owner, sizeof other.owner, "%s", PQgetvalue(r, row, C_DST_OWNER));
    memcpy(other.currency, acct.currency, sizeof other.currency);
    other.exponent = acct.exponent;
    if (acct.exponent < 0)
        return WK_EDB;
    int64_t amount;
    if (ledger_amount_parse(in->amount, acct.exponent, &amount) != 0) {
        refuse(it, 422, "invalid_amount",
               "amount must be positive with at most %d decimals for %s.", acct.exponent,
               acct.currency);
        return 0;
    }
    int64_t *acct_bal = running_balance(b, acct.id, PQgetvalue(r, row, C_SRC_BALANCE));
    int64_t *other_bal = running_balance(b, other.id, PQgetvalue(r, row, C_DST_BALANCE));

    /* from loses the amount, to gains it. A user balance never goes below zero (batch_write
     * checks it again, and the CHECK constraint is the last line of defence) and no balance
     * leaves bigint. */
    int deposit = in->type == LEDGER_DEPOSIT;
    struct leg from = {deposit ? &other : &acct, -amount, deposit ? other_bal : acct_bal, 0, 0};
    struct leg to = {deposit ? &acct : &other, amount, deposit ? acct_bal : other_bal, 0, 0};
    from.before = *from.balance;
    to.before = *to.balance;
    if (from.acct->owner[0] && from.before < amount) {
        refuse(it, 422, "insufficient_funds", "The account balance is too low for this amount.");
        return 0;
    }
    if (from.before < INT64_MIN + amount || to.before > INT64_MAX - amount) {
        refuse(it, 422, "invalid_amount", "amount is too large for this account.");
        return 0;
    }
    from.after = from.before - amount;
    to.after = to.before + amount;
    if (proto_uuid_v4(it->transfer_id) != 0)
        return PROTO_EIO;
    *from.balance = from.after;
    *to.balance = to.after;

    const char *kind = ledger_type_name(in->type);
    struct proto_buf *ev = &b->w[W_EVENTS];
    if (from.acct->owner[0])
        add_event(ev, it, kind, amount, &from, &to);
    if (to.acct->owner[0])
        add_event(ev, it, kind, amount, &to, &from);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &it->body, msgpack_sbuffer_write);
    pack_new_txn(&pk, it, kind, amount, deposit ? &to : &from, &from, &to,
                 PQgetvalue(r, row, C_CREATED_AT));

    arr_add(&b->w[W_TRANSFERS], it->transfer_id);
    arr_add(&b->w[W_KINDS], kind);
    arr_add_int(&b->w[W_AMOUNTS], amount);
    arr_add(&b->w[W_CURRENCIES], acct.currency);
    arr_add(&b->w[W_FROMS], from.acct->id);
    arr_add(&b->w[W_TOS], to.acct->id);
    arr_add_int(&b->w[W_FROM_AFTERS], from.after);
    arr_add_int(&b->w[W_TO_AFTERS], to.after);
    arr_add(&b->w[W_NOTES], in->has_note ? in->note : NULL);
    arr_add(&b->w[W_INITIATORS], it->user);
    arr_add(&b->w[W_CLIENT_KEYS], it->client_key);
    arr_add(&b->w[W_TO_ADDRESSED], in->type == LEDGER_TRANSFER ? in->to_account : NULL);
    b->posted++;
    it->out = OUT_POSTED;
    return 0;
}

/* Decides the request of row `row` of ledger.batch_begin's result. 0 or a code. */
static int decide(struct batch *b, struct item *it, const PGresult *r, int row)
{
    const char *claim = PQgetvalue(r, row, C_CLAIM);
    if (strcmp(claim, "replay") == 0) {
        it->out = OUT_REPLAY;
        it->status = atoi(PQgetvalue(r, row, C_STATUS));
        snprintf(it->code, sizeof it->code, "%s", PQgetvalue(r, row, C_ERROR_CODE));
        it->stored = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, C_BODY),
                                     &it->stored_len);
        return it->stored ? 0 : WK_EDB;
    }
    if (strcmp(claim, "mismatch") == 0) {
        it->out = OUT_MISMATCH;
        return 0;
    }
    if (strcmp(claim, "in_flight") == 0) {
        it->out = OUT_IN_FLIGHT;
        return 0;
    }
    int rc = decide_posting(b, it, r, row);
    if (rc < 0)
        return rc;
    /* Claimed: the key's answer is stored either way. */
    arr_add(&b->w[W_IDEM_USERS], it->user);
    arr_add(&b->w[W_IDEM_KEYS], it->idem.key);
    if (it->out == OUT_POSTED) {
        arr_add_int(&b->w[W_STATUSES], 201);
        arr_add_bytes(&b->w[W_BODIES], it->body.data, it->body.size);
        arr_add(&b->w[W_ERROR_CODES], NULL);
        arr_add(&b->w[W_IDEM_TRANSFERS], it->transfer_id);
    } else {
        arr_add_int(&b->w[W_STATUSES], it->status);
        arr_add_bytes(&b->w[W_BODIES], it->message, strlen(it->message));
        arr_add(&b->w[W_ERROR_CODES], it->code);
        arr_add(&b->w[W_IDEM_TRANSFERS], NULL);
    }
    b->settled++;
    return 0;
}

/* ---- the batch's transaction ---- */

/* Step 2: ledger.batch_begin for every request still OUT_NONE, in order. */
static PGresult *begin(struct wk_ctx *ctx, struct batch *b)
{
    struct proto_buf a[7] = {{0}};
    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->out != OUT_NONE)
            continue;
        const struct ledger_txn_input *in = &it->in;
        int transfer = in->type == LEDGER_TRANSFER;
        const char *problem = NULL; /* ids that cannot exist, refused once the key is claimed */
        if (in->has_account && in->account_unknown && strcmp(in->account_id, it->user) != 0)
            problem = "account_not_found";
        else if (transfer && in->to_unknown)
            problem = "recipient_not_found";
        arr_add(&a[0], it->user);
        arr_add(&a[1], it->idem.key);
        arr_add_bytes(&a[2], it->idem.hash, sizeof it->idem.hash);
        arr_add(&a[3], problem);
        arr_add(&a[4], in->has_account && !in->account_unknown ? in->account_id : NULL);
        arr_add(&a[5], ledger_type_name(in->type));
        arr_add(&a[6], transfer && !in->to_unknown ? in->to_account : NULL);
    }
    const char *p[] = {arr_end(&a[0]), arr_end(&a[1]), arr_end(&a[2]),
                       arr_end(&a[3]), arr_end(&a[4]), arr_end(&a[5]),
                       arr_end(&a[6]), ledger_cfg.default_currency, LEDGER_IDEM_TTL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "batch_begin",
        "SELECT claim, status, body, error_code, problem, src_id, src_currency, src_balance, "
        "dst_id, dst_owner, dst_currency, dst_balance, created_at "
        "FROM ledger.batch_begin(p_users => $1, p_keys => $2, p_hashes => $3, p_problems => $4, "
        "p_accounts => $5, p_kinds => $6, p_tos => $7, p_default_currency => $8, p_ttl => $9)",
        9, p);
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
        proto_buf_free(&a[k]);
    return r;
}

/* Step 4: ledger.batch_write. 0 or a code. */
static int write_batch(struct wk_ctx *ctx, struct batch *b)
{
    proto_buf_puts(&b->w[W_EVENTS], "]");
    const char *p[W_COUNT];
    for (int k = 0; k < W_COUNT; k++)
        p[k] = k == W_EVENTS ? b->w[k].data : arr_end(&b->w[k]);
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "batch_write",
        "SELECT ledger.batch_write(p_transfers => $1, p_kinds => $2, p_amounts => $3, "
        "p_currencies => $4, p_froms => $5, p_tos => $6, p_from_afters => $7, "
        "p_to_afters => $8, p_notes => $9, p_initiators => $10, p_client_keys => $11, "
        "p_to_addressed => $12, p_events => $13, p_idem_users => $14, p_idem_keys => $15, "
        "p_statuses => $16, p_bodies => $17, p_error_codes => $18, p_idem_transfers => $19)",
        W_COUNT, p);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    if (b->posted)
        wk_outbox_written(ctx);
    return 0;
}

/* Undoes what an attempt decided, so a retried transaction starts over. */
static void batch_reset(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->out == OUT_ANSWERED || it->out == OUT_SAME_KEY)
            continue;
        if (it->stored)
            PQfreemem(it->stored);
        it->stored = NULL;
        it->body.size = 0;
        it->transfer_id[0] = '\0';
        it->out = OUT_NONE;
    }
    b->nrun = 0;
    for (int k = 0; k < W_COUNT; k++)
        proto_buf_reset(&b->w[k]);
    proto_buf_puts(&b->w[W_EVENTS], "[");
    b->posted = b->settled = 0;
}

static int batch_tx(struct wk_ctx *ctx, void *arg)
{
    struct batch *b = arg;
    batch_reset(b);
    size_t sent = 0;
    for (size_t i = 0; i < b->n; i++)
        sent += b->items[i].out == OUT_NONE;
    int rc = ledger_idem_sweep(ctx, (unsigned)sent);
    if (rc < 0)
        return rc;
    PGresult *r = begin(ctx, b);
    if (!r)
        return wk_db_fail(ctx);
    if ((size_t)PQntuples(r) != sent) {
        PQclear(r);
        return WK_EDB;
    }
    int row = 0;
    for (size_t i = 0; i < b->n && rc == 0; i++)
        if (b->items[i].out == OUT_NONE)
            rc = decide(b, &b->items[i], r, row++);
    PQclear(r);
    if (rc < 0)
        return rc;
    return b->settled ? write_batch(ctx, b) : 0;
}

/* ---- answers ---- */

static void answer(const struct item *it, struct wk_reply *rep)
{
    const char *id = it->call->req->id;
    switch (it->out) {
    case OUT_POSTED:
        wk_reply_raw(rep, it->body.data, it->body.size);
        rep->status = 201;
        break;
    case OUT_REFUSED:
        wk_reply_error(rep, it->status, it->code, "%s", it->message);
        break;
    case OUT_REPLAY:
        ledger_idem_answer(rep, id, it->user, "replay", it->status, it->stored, it->stored_len,
                           it->code[0] ? it->code : NULL);
        break;
    case OUT_MISMATCH:
        ledger_idem_answer(rep, id, it->user, "mismatch", 0, NULL, 0, NULL);
        break;
    case OUT_IN_FLIGHT:
        ledger_idem_answer(rep, id, it->user, "in_flight", 0, NULL, 0, NULL);
        break;
    default:
        break;
    }
}

/* Checks one request; 0 when it goes to the database, else it is answered (OUT_ANSWERED). */
static int prepare(struct item *it)
{
    const struct proto_request *req = it->call->req;
    struct wk_reply *rep = it->call->rep;
    it->out = OUT_ANSWERED;
    if (!(it->user = wk_acting_user(req, rep)))
        return -1;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return -1;
    struct ledger_invalid bad;
    if (ledger_txn_parse(body, &it->in, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message), -1;
    if (wk_idem_prepare(&it->idem, req, body) != 0)
        return it->call->rc = PROTO_EIO, -1;
    it->client_key = req->idem[0] ? req->idem : NULL;
    it->out = OUT_NONE;
    return 0;
}

/* The earlier request of the batch with the same (user, key), or -1. */
static long same_key(const struct batch *b, size_t i)
{
    const struct item *it = &b->items[i];
    for (size_t j = 0; j < i; j++) {
        const struct item *o = &b->items[j];
        if (o->out == OUT_NONE && strcasecmp(o->user, it->user) == 0 &&
            strcmp(o->idem.key, it->idem.key) == 0)
            return (long)j;
    }
    return -1;
}

void ledger_txn_create_batch(struct wk_ctx *ctx, struct wk_call *calls, size_t n)
{
    struct batch b = {0};
    b.items = proto_xcalloc(n, sizeof *b.items);
    b.run = proto_xcalloc(2 * n, sizeof *b.run);
    b.n = n;
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &b.items[i];
        it->call = &calls[i];
        calls[i].rc = 0;
        msgpack_sbuffer_init(&it->body);
        if (prepare(it) != 0)
            continue;
        long first = same_key(&b, i);
        if (first >= 0) {
            it->out = OUT_SAME_KEY;
            it->first = (size_t)first;
        } else {
            sent++;
        }
    }

    int rc = sent ? wk_db_tx(ctx, batch_tx, &b) : 0;
    if (rc < 0 && rc != WK_EDBDOWN && sent > 1) {
        PROTO_WARN(calls[0].req->id, "batch failed, posting its requests one by one",
                   "requests=%zu err=%d sqlstate=%s", sent, rc, wk_db_sqlstate(wk_db(ctx)));
        for (size_t i = 0; i < n; i++)
            if (b.items[i].out != OUT_ANSWERED)
                ledger_txn_create_batch(ctx, &calls[i], 1);
    } else {
        for (size_t i = 0; i < n; i++) {
            struct item *it = &b.items[i];
            if (it->out == OUT_ANSWERED)
                continue;
            if (rc < 0) {
                it->call->rc = rc;
                continue;
            }
            if (it->out != OUT_SAME_KEY) {
                answer(it, it->call->rep);
                if (it->out == OUT_POSTED)
                    PROTO_INFO(it->call->req->id, "posted", "transfer=%s type=%s",
                               it->transfer_id, ledger_type_name(it->in.type));
                continue;
            }
            const struct item *f = &b.items[it->first];
            if (memcmp(f->idem.hash, it->idem.hash, sizeof it->idem.hash) != 0) {
                ledger_idem_answer(it->call->rep, it->call->req->id, it->user, "mismatch", 0,
                                   NULL, 0, NULL);
                continue;
            }
            answer(f, it->call->rep);
            if (f->out == OUT_POSTED || f->out == OUT_REFUSED)
                wk_reply_header(it->call->rep, "Idempotent-Replayed", "true");
        }
        if (n > 1)
            PROTO_DEBUG(calls[0].req->id, "batch posted", "requests=%zu sent=%zu rc=%d", n, sent,
                        rc);
    }

    for (size_t i = 0; i < n; i++) {
        if (b.items[i].stored)
            PQfreemem(b.items[i].stored);
        msgpack_sbuffer_destroy(&b.items[i].body);
    }
    for (int k = 0; k < W_COUNT; k++)
        proto_buf_free(&b.w[k]);
    free(b.run);
    free(b.items);
}

int ledger_txn_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    struct wk_call call = {req, rep, 0};
    ledger_txn_create_batch(ctx, &call, 1);
    return call.rc;
}
