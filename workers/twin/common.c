/*
 * What the twin worker's handlers share (twin.h): accounts read through ledger.twin_accounts,
 * idempotency of saved simulations (keys from wk_idem_prepare), saving one, and the rate packer.
 *
 * Idempotency: a simulation is saved under (user, key) with the request's hash, in the same
 * statement that inserts it and its event (ON CONFLICT DO NOTHING on the unique index), so
 * concurrent duplicates save one row and every other copy replays it. A redelivery after a crash
 * between commit and ack replays too (the key is the request id when the client sent none).
 * Deleting a simulation forgets its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "twin.h"

/* Answers the stored simulation in row 0 of r (columns `match`: request_hash matched, `match`
 * + 1: the stored body): 201 + Idempotent-Replayed, or 422 for another request under the key.
 * 1, or WK_EDB. */
static int answer_stored(struct wk_ctx *ctx, const char *user, PGresult *r, int match,
                         struct wk_reply *rep)
{
    if (strcmp(PQgetvalue(r, 0, match), "t") != 0) {
        wk_reply_error(rep, 422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request.");
        return 1;
    }
    size_t len = 0;
    unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, match + 1), &len);
    if (!body)
        return WK_EDB;
    wk_reply_raw(rep, body, len);
    PQfreemem(body);
    rep->status = 201;
    wk_reply_header(rep, "Idempotent-Replayed", "true");
    PROTO_INFO(wk_request_id(ctx), "idempotent replay", "user=%s", user);
    return 1;
}

/* The columns after the account's: now() in ms, the simulation already saved under (user, key),
 * if any, and now() to the microsecond. LEFT JOINs from one row: the statement answers now()
 * with no account and no simulation. */
#define LOOKUP_SQL(account_on, key, hash)                                                          \
    "SELECT a.id, a.currency, a.balance, " WK_SQL_TS("now()") ", "                                 \
    "s.request_hash = " hash ", coalesce(s.detail, s.item), now() FROM (SELECT 1) one "             \
    "LEFT JOIN ledger.twin_accounts a ON " account_on " "                                          \
    "LEFT JOIN twin.simulations s ON s.user_id = $1 AND s.idem_key = " key

int twin_lookup(struct wk_ctx *ctx, const char *user, const struct twin_account_ref *ref,
                const struct wk_idem *idem, struct twin_account *out, struct wk_reply *rep)
{
    int named = ref->has && strcmp(ref->id, user) != 0;
    char *hash = idem ? wk_db_bytea_text(idem->hash, sizeof idem->hash) : NULL;
    const char *key = idem ? idem->key : NULL;
    PGresult *r;
    if (named) {
        const char *p[] = {user, ref->id, key, hash};
        r = wk_db_exec_prepared(wk_db(ctx), "twin_lookup",
                                LOOKUP_SQL("a.id = $2 AND a.owner = $1", "$3", "$4"), 4, p);
    } else {
        const char *p[] = {user, key, hash};
        r = wk_db_exec_prepared(wk_db(ctx), "twin_lookup_default",
                                LOOKUP_SQL("a.owner = $1 AND a.is_default", "$2", "$3"), 3, p);
    }
    free(hash);
    if (!r)
        return wk_db_fail(ctx);
    int rc;
    memset(out, 0, sizeof *out);
    snprintf(out->now, sizeof out->now, "%s", PQgetvalue(r, 0, 3));
    snprintf(out->now_exact, sizeof out->now_exact, "%s", PQgetvalue(r, 0, 6));
    if (!PQgetisnull(r, 0, 4)) {
        rc = answer_stored(ctx, user, r, 4, rep) == 1 ? 2 : WK_EDB;
    } else if (PQgetisnull(r, 0, 0)) {
        rc = named ? 0 : 1;
        snprintf(out->currency, sizeof out->currency, "%s", twin_cfg.default_currency);
        out->exponent = proto_currency_exponent(out->currency);
    } else {
        out->exists = 1;
        snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->currency, sizeof out->currency, "%s", PQgetvalue(r, 0, 1));
        out->balance = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        out->exponent = proto_currency_exponent(out->currency);
        rc = out->exponent >= 0 ? 1 : WK_EDB;
    }
    PQclear(r);
    return rc;
}

int twin_idem_replay(struct wk_ctx *ctx, const char *user, const struct wk_idem *id,
                     struct wk_reply *rep)
{
    char *hash = wk_db_bytea_text(id->hash, sizeof id->hash);
    const char *p[] = {user, id->key, hash};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "twin_idem",
                                      "SELECT request_hash = $3, coalesce(detail, item) "
                                      "FROM twin.simulations WHERE user_id = $1 AND idem_key = $2",
                                      3, p);
    free(hash);
    if (!r)
        return wk_db_fail(ctx);
    int rc = PQntuples(r) == 0 ? 0 : answer_stored(ctx, user, r, 0, rep);
    PQclear(r);
    return rc;
}

int twin_save(struct wk_ctx *ctx, const struct twin_saved *s, const struct wk_idem *idem,
              struct wk_reply *rep)
{
    char amount[24], cur[24], virt[24], score[16], event_id[PROTO_UUID_LEN + 1];
    snprintf(amount, sizeof amount, "%lld", (long long)s->amount);
    snprintf(cur, sizeof cur, "%lld", (long long)s->current_balance);
    snprintf(virt, sizeof virt, "%lld", (long long)s->virtual_balance);
    snprintf(score, sizeof score, "%d", s->risk_score);
    if (proto_uuid_v4(event_id) != 0)
        return PROTO_EIO;
    char *item = wk_db_bytea_text(s->item->data, s->item->size);
    char *detail = s->detail ? wk_db_bytea_text(s->detail->data, s->detail->size) : NULL;
    char *hash = wk_db_bytea_text(idem->hash, sizeof idem->hash);
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
                       idem->key,
                       hash,
                       s->created_at,
                       event_id,
                       s->event_json};
    /* One statement, so one round trip and atomic without BEGIN/COMMIT: the row and, when
     * there is one, its event (the event only if the row was inserted). */
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "twin_save",
        "WITH ins AS (INSERT INTO twin.simulations (id, user_id, account_id, kind, scenario, "
        "currency, amount, current_balance, virtual_balance, risk_score, alert_level, item, "
        "detail, idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (user_id, idem_key) DO NOTHING "
        "RETURNING user_id), "
        "ev AS (INSERT INTO twin.outbox (id, type, user_id, data) SELECT $17, 'twin.simulated', "
        "user_id, $18::jsonb FROM ins WHERE $18::jsonb IS NOT NULL RETURNING 1) "
        "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM ev)",
        18, p);
    free(item);
    free(detail);
    free(hash);
    if (!r)
        return wk_db_fail(ctx);
    int inserted = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
    int evented = strcmp(PQgetvalue(r, 0, 1), "0") != 0;
    PQclear(r);
    if (!inserted) {
        /* A concurrent request under the same key committed first: answer its row. */
        int rc = twin_idem_replay(ctx, s->user, idem, rep);
        return rc < 0 ? rc : rc == 1 ? 0 : WK_EDB;
    }
    if (evented)
        wk_outbox_written(ctx); /* the relay publishes it now rather than at its next sweep */
    const msgpack_sbuffer *body = s->detail ? s->detail : s->item;
    wk_reply_raw(rep, body->data, body->size);
    rep->status = 201;
    return 0;
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
