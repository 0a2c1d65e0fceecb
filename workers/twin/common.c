/*
 * What the twin worker's handlers share (twin.h): the acting user, accounts read through
 * ledger.twin_accounts, idempotency of saved simulations, saving one, and packing helpers.
 *
 * Idempotency: a simulation is saved under (user, key) with the request's hash, in the same
 * statement that inserts it (ON CONFLICT DO NOTHING on the unique index), so concurrent
 * duplicates save one row and every other copy replays it. A redelivery after a crash between
 * commit and ack replays too (the key is the request id when the client sent none). Deleting a
 * simulation forgets its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "twin.h"

const char *twin_acting_user(const struct proto_request *req, struct wk_reply *rep)
{
    if (proto_uuid_valid(req->user))
        return req->user;
    wk_reply_error(rep, 401, "unauthenticated", "Sign in first.");
    return NULL;
}

const msgpack_object *twin_body(const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = proto_map_get(&req->args, "body");
    if (!body || body->type != MSGPACK_OBJECT_MAP) {
        wk_reply_error(rep, 400, "invalid_body", "The request body must be a JSON object.");
        return NULL;
    }
    return body;
}

int twin_path_id(const struct proto_request *req, const char *name, char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(proto_map_get(&req->args, "path"), name);
    char buf[PROTO_UUID_LEN + 2];
    if (!o || proto_obj_str(o, buf, sizeof buf) != 0 || !proto_uuid_valid(buf))
        return -1;
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++)
        out[i] = (buf[i] >= 'A' && buf[i] <= 'F') ? (char)(buf[i] - 'A' + 'a') : buf[i];
    return 0;
}

int twin_db_fail(struct wk_ctx *ctx)
{
    return wk_db_up(wk_db(ctx)) ? WK_EDB : WK_EDBDOWN;
}

int twin_account_get(struct wk_ctx *ctx, const char *user, const struct twin_account_ref *ref,
                     struct twin_account *out)
{
    int named = ref->has && strcmp(ref->id, user) != 0;
    PGresult *r;
    /* LEFT JOIN from one row: the statement answers now() even without an account. */
    if (named) {
        const char *p[] = {user, ref->id};
        r = wk_db_exec_prepared(
            wk_db(ctx), "twin_account",
            "SELECT a.id, a.currency, a.balance, " TWIN_TS(
                "now()") " FROM (SELECT 1) one LEFT JOIN ledger.twin_accounts a "
                         "ON a.id = $2 AND a.owner = $1",
            2, p);
    } else {
        const char *p[] = {user};
        r = wk_db_exec_prepared(
            wk_db(ctx), "twin_default_account",
            "SELECT a.id, a.currency, a.balance, " TWIN_TS(
                "now()") " FROM (SELECT 1) one LEFT JOIN ledger.twin_accounts a "
                         "ON a.owner = $1 AND a.is_default",
            1, p);
    }
    if (!r)
        return twin_db_fail(ctx);
    memset(out, 0, sizeof *out);
    snprintf(out->now, sizeof out->now, "%s", PQgetvalue(r, 0, 3));
    if (PQgetisnull(r, 0, 0)) {
        PQclear(r);
        if (named)
            return 0;
        snprintf(out->currency, sizeof out->currency, "%s", twin_cfg.default_currency);
        out->exponent = proto_currency_exponent(out->currency);
        return 1;
    }
    out->exists = 1;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->currency, sizeof out->currency, "%s", PQgetvalue(r, 0, 1));
    out->balance = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    out->exponent = proto_currency_exponent(out->currency);
    PQclear(r);
    return out->exponent >= 0 ? 1 : WK_EDB;
}

int twin_idem_prepare(struct twin_idem *id, const struct proto_request *req,
                      const msgpack_object *body)
{
    if (req->idem[0])
        snprintf(id->key, sizeof id->key, "k:%s", req->idem);
    else
        snprintf(id->key, sizeof id->key, "r:%s", req->id);
    return proto_request_hash(req->method, body, id->hash);
}

/* replay() with the hash as bytea text. */
static int replay(struct wk_ctx *ctx, const char *user, const struct twin_idem *id,
                  const char *hash, struct wk_reply *rep)
{
    const char *p[] = {user, id->key, hash};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "twin_idem",
                                      "SELECT request_hash = $3, coalesce(detail, item) "
                                      "FROM twin.simulations WHERE user_id = $1 AND idem_key = $2",
                                      3, p);
    if (!r)
        return twin_db_fail(ctx);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        PQclear(r);
        wk_reply_error(rep, 422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request.");
        return 1;
    }
    size_t len = 0;
    unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &len);
    PQclear(r);
    if (!body)
        return WK_EDB;
    wk_reply_raw(rep, body, len);
    PQfreemem(body);
    rep->status = 201;
    wk_reply_header(rep, "Idempotent-Replayed", "true");
    PROTO_INFO(wk_request_id(ctx), "idempotent replay", "user=%s", user);
    return 1;
}

int twin_idem_replay(struct wk_ctx *ctx, const char *user, const struct twin_idem *id,
                     struct wk_reply *rep)
{
    char *hash = wk_db_bytea_text(id->hash, sizeof id->hash);
    int rc = replay(ctx, user, id, hash, rep);
    free(hash);
    return rc;
}

struct save_tx {
    const struct twin_saved *s;
    const struct twin_idem *idem;
    struct wk_reply *rep;
};

static int save_tx(struct wk_ctx *ctx, void *arg)
{
    struct save_tx *t = arg;
    const struct twin_saved *s = t->s;
    char amount[24], cur[24], virt[24], score[16];
    snprintf(amount, sizeof amount, "%lld", (long long)s->amount);
    snprintf(cur, sizeof cur, "%lld", (long long)s->current_balance);
    snprintf(virt, sizeof virt, "%lld", (long long)s->virtual_balance);
    snprintf(score, sizeof score, "%d", s->risk_score);
    char *item = wk_db_bytea_text(s->item->data, s->item->size);
    char *detail = s->detail ? wk_db_bytea_text(s->detail->data, s->detail->size) : NULL;
    char *hash = wk_db_bytea_text(t->idem->hash, sizeof t->idem->hash);
    const char *p[] = {s->id,
                       s->user,
                       s->account_id,
                       s->kind,
                       s->scenario,
                       s->currency,
                       s->has_amount ? amount : NULL,
                       cur,
                       virt,
                       s->risk_score >= 0 ? score : NULL,
                       s->alert_level,
                       item,
                       detail,
                       t->idem->key,
                       hash,
                       s->created_at};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "twin_save",
        "INSERT INTO twin.simulations (id, user_id, account_id, kind, scenario, currency, "
        "amount, current_balance, virtual_balance, risk_score, alert_level, item, detail, "
        "idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16) ON CONFLICT (user_id, idem_key) DO NOTHING",
        16, p);
    free(item);
    free(detail);
    free(hash);
    if (!r)
        return twin_db_fail(ctx);
    long inserted = wk_db_affected(r);
    PQclear(r);
    if (inserted == 0) {
        /* A concurrent request under the same key committed first: answer its row. */
        int rc = twin_idem_replay(ctx, s->user, t->idem, t->rep);
        return rc < 0 ? rc : rc == 1 ? 0 : WK_EDB;
    }
    if (s->event_json) {
        int rc = wk_outbox_add(ctx, "twin.simulated", s->user, s->event_json);
        if (rc < 0)
            return rc;
    }
    const msgpack_sbuffer *body = s->detail ? s->detail : s->item;
    wk_reply_raw(t->rep, body->data, body->size);
    t->rep->status = 201;
    return 0;
}

int twin_save(struct wk_ctx *ctx, const struct twin_saved *s, const struct twin_idem *idem,
              struct wk_reply *rep)
{
    struct save_tx t = {s, idem, rep};
    return wk_db_tx(ctx, save_tx, &t);
}

void twin_pack_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

void twin_pack_rate(msgpack_packer *pk, int64_t rate)
{
    char text[PROTO_MONEY_TEXT_MAX];
    int n = proto_money_format(rate, 4, text, sizeof text);
    while (n > 0 && text[n - 1] == '0')
        text[--n] = '\0';
    if (n > 0 && text[n - 1] == '.') {
        msgpack_pack_int64(pk, rate / TWIN_RATE_SCALE);
        return;
    }
    msgpack_pack_ext(pk, (size_t)n, PROTO_EXT_DECIMAL);
    msgpack_pack_ext_body(pk, text, (size_t)n);
}
