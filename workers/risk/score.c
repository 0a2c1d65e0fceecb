/*
 * Scoring (risk.h): reading a user's postings from ledger.risk_postings into the cache, the
 * facts of one posting or of an account now, and storing what was said.
 *
 * A posting's facts come only from the ledger's lines up to it (the detector and the windows
 * never look at later ones), so a late or redelivered event is judged as it would have been on
 * time. Windows follow the postings' own times (the ledger's created_at).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/clock.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "risk.h"

/* The columns of a posting, newest first or oldest first per the caller; one lateral subquery
 * per account of the user reads that account's lines through entries' (account_id, seq DESC)
 * index, so a long history costs at most `limit` rows per account. */
#define POSTING_COLS                                                                               \
    "x.account_id, x.seq, x.transfer_id, x.kind, x.amount, x.balance_after, "                      \
    "(extract(epoch FROM x.created_at) * 1000)::bigint, x.currency, x.counterparty"
enum { P_ACCOUNT, P_SEQ, P_TRANSFER, P_KIND, P_AMOUNT, P_BALANCE, P_AT, P_CURRENCY, P_COUNTER };

static enum proto_txn_kind kind_of(const char *s)
{
    return strcmp(s, "deposit") == 0      ? PROTO_TXN_DEPOSIT
           : strcmp(s, "withdrawal") == 0 ? PROTO_TXN_WITHDRAWAL
                                          : PROTO_TXN_TRANSFER;
}

/* Appends row r of res to u. */
static void append_row(struct risk_user *u, PGresult *res, int r)
{
    struct risk_posting p = {0};
    struct risk_meta m = {0};
    p.amount = strtoll(PQgetvalue(res, r, P_AMOUNT), NULL, 10);
    p.balance_after = strtoll(PQgetvalue(res, r, P_BALANCE), NULL, 10);
    p.at_ms = strtoll(PQgetvalue(res, r, P_AT), NULL, 10);
    snprintf(p.counterparty, sizeof p.counterparty, "%s", PQgetvalue(res, r, P_COUNTER));
    m.seq = strtoll(PQgetvalue(res, r, P_SEQ), NULL, 10);
    snprintf(m.account_id, sizeof m.account_id, "%s", PQgetvalue(res, r, P_ACCOUNT));
    snprintf(m.transfer_id, sizeof m.transfer_id, "%s", PQgetvalue(res, r, P_TRANSFER));
    m.kind = kind_of(PQgetvalue(res, r, P_KIND));
    snprintf(m.currency, sizeof m.currency, "%s", PQgetvalue(res, r, P_CURRENCY));
    risk_cache_append(u, &p, &m);
}

#define DELTA_MAX 1000 /* postings read after last_seq at once; more means reload */

/* Loads the user's last RISK_HISTORY_MAX postings with seq <= upto into the empty u. */
static int load(struct wk_ctx *ctx, struct risk_user *u, int64_t upto)
{
    char upto_s[24];
    snprintf(upto_s, sizeof upto_s, "%lld", (long long)upto);
    const char *p[] = {u->user, upto_s};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_load",
        "SELECT " POSTING_COLS " FROM ledger.risk_accounts a CROSS JOIN LATERAL "
        "(SELECT * FROM ledger.risk_postings p WHERE p.account_id = a.id AND p.seq <= $2 "
        "ORDER BY p.seq DESC LIMIT 500) x WHERE a.owner = $1 ORDER BY x.seq DESC LIMIT 500",
        2, p);
    if (!r)
        return wk_db_fail(ctx);
    risk_cache_clear(u);
    for (int i = PQntuples(r) - 1; i >= 0; i--)
        append_row(u, r, i);
    u->loaded = 1;
    PQclear(r);
    return 0;
}

int risk_sync(struct wk_ctx *ctx, struct risk_user *u)
{
    if (!u->loaded)
        return load(ctx, u, INT64_MAX);
    char after[24];
    snprintf(after, sizeof after, "%lld", (long long)u->last_seq);
    const char *p[] = {u->user, after};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_delta",
        "SELECT " POSTING_COLS " FROM ledger.risk_accounts a CROSS JOIN LATERAL "
        "(SELECT * FROM ledger.risk_postings p WHERE p.account_id = a.id AND p.seq > $2 "
        "ORDER BY p.seq LIMIT 1000) x WHERE a.owner = $1 ORDER BY x.seq LIMIT 1000",
        2, p);
    if (!r)
        return wk_db_fail(ctx);
    int n = PQntuples(r);
    if (n < DELTA_MAX)
        for (int i = 0; i < n; i++)
            append_row(u, r, i);
    PQclear(r);
    return n < DELTA_MAX ? 0 : load(ctx, u, INT64_MAX);
}

/* The facts and the detector's verdict for posting i of u, judged at time t_ms (the posting's
 * own time, or now for a re-run); `balance` is the account's balance at t. */
static void facts_at(struct risk_user *u, size_t i, int posting_rules, int64_t t_ms,
                     int64_t balance, struct risk_assessment *out)
{
    struct risk_facts *f = &out->facts;
    const struct risk_meta *m = &u->meta[i];
    memset(f, 0, sizeof *f);
    snprintf(f->currency, sizeof f->currency, "%s", m->currency);
    f->balance = balance;
    f->low_balance = proto_money_table_of(risk_cfg.low_balance, m->currency);
    f->high_amount = proto_money_table_of(risk_cfg.high_amount, m->currency);
    risk_windows(u->post, u->meta, i, t_ms, balance, &f->outgoing_window, &f->peak_24h);
    size_t first = i > RISK_HISTORY_MAX ? i - RISK_HISTORY_MAX : 0;
    out->postings_used = i - first;
    snprintf(out->account_id, sizeof out->account_id, "%s", m->account_id);
    out->seq = m->seq;
    out->kind = m->kind;
    out->at_ms = u->post[i].at_ms;
    if (!posting_rules)
        return;
    f->has_posting = 1;
    f->amount = u->post[i].amount;
    const struct risk_forest *forest = risk_cache_model(u, i);
    risk_anomaly_judge(forest, u->post + first, i - first, &u->post[i], &f->anomaly);
}

static int finish(struct risk_assessment *out)
{
    if (proto_uuid_v4(out->id) != 0 || risk_evaluate(&out->facts, &out->result) != 0)
        return PROTO_EIO;
    return 0;
}

/* Index of (account, transfer) in u, or -1. Searched from the newest: events come in order. */
static long find(const struct risk_user *u, const char *account, const char *transfer)
{
    for (size_t i = u->n; i-- > 0;)
        if (strcmp(u->meta[i].transfer_id, transfer) == 0 &&
            strcmp(u->meta[i].account_id, account) == 0)
            return (long)i;
    return -1;
}

int risk_score_posting(struct wk_ctx *ctx, struct risk_user *u, const char *account,
                       const char *transfer, struct risk_assessment *out)
{
    int rc = risk_sync(ctx, u);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    long i = find(u, account, transfer);
    if (i >= 0) {
        facts_at(u, (size_t)i, 1, u->post[i].at_ms, u->post[i].balance_after, out);
    } else {
        /* Not among the cached ones: older than them (a very late event), or not this user's.
         * Judge it on a history read up to it, outside the cache. */
        const char *p[] = {u->user, account, transfer};
        PGresult *r = wk_db_exec_prepared(wk_db(ctx), "risk_seq_of",
                                          "SELECT seq FROM ledger.risk_postings WHERE owner = $1 "
                                          "AND account_id = $2 AND transfer_id = $3",
                                          3, p);
        if (!r)
            return wk_db_fail(ctx);
        int64_t seq = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
        PQclear(r);
        if (seq < 0)
            return 0;
        struct risk_user old = {0};
        snprintf(old.user, sizeof old.user, "%s", u->user);
        old.post = malloc((RISK_HISTORY_MAX + 64) * sizeof *old.post);
        old.meta = malloc((RISK_HISTORY_MAX + 64) * sizeof *old.meta);
        if (!old.post || !old.meta) {
            rc = PROTO_EIO;
        } else if ((rc = load(ctx, &old, seq)) == 0) {
            i = find(&old, account, transfer);
            if (i < 0)
                rc = PROTO_EIO; /* it was there a statement ago: the ledger never deletes */
            else
                facts_at(&old, (size_t)i, 1, old.post[i].at_ms, old.post[i].balance_after, out);
        }
        risk_forest_free(old.forest);
        free(old.post);
        free(old.meta);
        if (rc < 0)
            return rc;
    }
    snprintf(out->transfer_id, sizeof out->transfer_id, "%s", transfer);
    rc = finish(out);
    return rc < 0 ? rc : 1;
}

int risk_score_account(struct wk_ctx *ctx, struct risk_user *u, const struct risk_account *acct,
                       struct risk_assessment *out)
{
    int rc = risk_sync(ctx, u);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    int64_t now = proto_now_ms();
    long last = -1;
    for (size_t i = u->n; i-- > 0 && last < 0;)
        if (strcmp(u->meta[i].account_id, acct->id) == 0)
            last = (long)i;
    if (last >= 0) {
        int recent = now - u->post[last].at_ms <= RISK_DROP_MS;
        facts_at(u, (size_t)last, recent, now, acct->balance, out);
    } else {
        /* No posting (or none among the user's last RISK_HISTORY_MAX): the balance alone. */
        snprintf(out->facts.currency, sizeof out->facts.currency, "%s", acct->currency);
        snprintf(out->account_id, sizeof out->account_id, "%s", acct->id);
        out->facts.balance = out->facts.peak_24h = acct->balance;
        out->facts.low_balance = proto_money_table_of(risk_cfg.low_balance, acct->currency);
        out->facts.high_amount = proto_money_table_of(risk_cfg.high_amount, acct->currency);
    }
    return finish(out);
}

void risk_pack_score(msgpack_packer *pk, const struct risk_assessment *a, const char *updated_at)
{
    const struct risk_result *r = &a->result;
    const struct risk_anomaly *an = &a->facts.anomaly;
    msgpack_pack_map(pk, 11);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, a->id);
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, a->account_id);
    proto_pack_cstr(pk, "score");
    msgpack_pack_int(pk, r->score);
    proto_pack_cstr(pk, "alert_level");
    proto_pack_cstr(pk, risk_level_name(r->level));
    proto_pack_cstr(pk, "flags");
    msgpack_pack_array(pk, (size_t)r->nflags);
    for (int i = 0; i < r->nflags; i++)
        proto_pack_cstr(pk, r->flags[i].message);
    proto_pack_cstr(pk, "flag_details");
    msgpack_pack_array(pk, (size_t)r->nflags);
    for (int i = 0; i < r->nflags; i++) {
        msgpack_pack_map(pk, 3);
        proto_pack_cstr(pk, "code");
        proto_pack_cstr(pk, r->flags[i].code);
        proto_pack_cstr(pk, "message");
        proto_pack_cstr(pk, r->flags[i].message);
        proto_pack_cstr(pk, "points");
        msgpack_pack_int(pk, r->flags[i].points);
    }
    proto_pack_cstr(pk, "ml_details");
    msgpack_pack_map(pk, 6);
    proto_pack_cstr(pk, "method");
    proto_pack_cstr(pk, risk_method_name(an->method));
    proto_pack_cstr(pk, "anomaly_score");
    if (an->method == RISK_METHOD_NONE)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_double(pk, an->score);
    proto_pack_cstr(pk, "threshold");
    if (an->method == RISK_METHOD_NONE)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_double(pk, an->threshold);
    proto_pack_cstr(pk, "anomalous");
    if (an->flagged)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    proto_pack_cstr(pk, "postings_used");
    msgpack_pack_uint64(pk, a->postings_used);
    proto_pack_cstr(pk, "verdict");
    proto_pack_cstr(pk, r->high_amount ? "high_amount" : "normal");
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, a->facts.currency);
    proto_pack_cstr(pk, "balance");
    proto_pack_money(pk, a->facts.balance, proto_currency_exponent(a->facts.currency));
    proto_pack_cstr(pk, "transfer_id");
    proto_pack_cstr(pk, a->transfer_id[0] ? a->transfer_id : NULL);
    proto_pack_cstr(pk, "updated_at");
    proto_pack_cstr(pk, updated_at);
}

/* The flags as JSON [{code, message, points}] into out. */
static void flags_json(struct proto_buf *out, const struct risk_result *r)
{
    proto_buf_puts(out, "[");
    for (int i = 0; i < r->nflags; i++) {
        proto_buf_printf(out, "%s{\"code\":\"%s\",\"message\":", i ? "," : "", r->flags[i].code);
        proto_json_quote(out, r->flags[i].message, strlen(r->flags[i].message));
        proto_buf_printf(out, ",\"points\":%d}", r->flags[i].points);
    }
    proto_buf_puts(out, "]");
}

/* The flag sentences as a JSON array of strings into out. */
static void sentences_json(struct proto_buf *out, const struct risk_result *r)
{
    proto_buf_puts(out, "[");
    for (int i = 0; i < r->nflags; i++) {
        if (i)
            proto_buf_puts(out, ",");
        proto_json_quote(out, r->flags[i].message, strlen(r->flags[i].message));
    }
    proto_buf_puts(out, "]");
}

/* The account's stored level before this posting: 1 with *level, 0 none, or < 0. */
static int previous_level(struct wk_ctx *ctx, const char *account, enum risk_level *level)
{
    const char *p[] = {account};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "risk_prev",
                                      "SELECT score FROM risk.scores WHERE account_id = $1", 1, p);
    if (!r)
        return wk_db_fail(ctx);
    int has = PQntuples(r) > 0;
    if (has)
        *level = risk_level_of(atoi(PQgetvalue(r, 0, 0)));
    PQclear(r);
    return has;
}

int risk_store_posting(struct wk_ctx *ctx, const char *user, const struct risk_assessment *a)
{
    enum risk_level prev = RISK_LOW;
    int had = previous_level(ctx, a->account_id, &prev);
    if (had < 0)
        return had;
    const struct risk_result *r = &a->result;
    const struct risk_facts *f = &a->facts;
    int alert = risk_alerts(prev, had, r);

    char now[PROTO_TIME_TEXT_MAX], seq[24], amount[24], balance[24], score[8], at[24];
    char event_id[PROTO_UUID_LEN + 1];
    proto_time_text(proto_now_ms(), now);
    snprintf(seq, sizeof seq, "%lld", (long long)a->seq);
    snprintf(amount, sizeof amount, "%lld", (long long)f->amount);
    snprintf(balance, sizeof balance, "%lld", (long long)f->balance);
    snprintf(score, sizeof score, "%d", r->score);
    if (proto_uuid_v4(event_id) != 0)
        return PROTO_EIO;

    struct proto_buf flags = {0}, anomaly = {0}, event = {0}, frame = {0};
    flags_json(&flags, r);
    proto_buf_printf(&anomaly,
                     "{\"method\":\"%s\",\"score\":%.6g,\"threshold\":%.6g,"
                     "\"flagged\":%s}",
                     risk_method_name(f->anomaly.method), f->anomaly.score, f->anomaly.threshold,
                     f->anomaly.flagged ? "true" : "false");
    /* risk.alert: what the notification worker needs (title and message are shown as they
     * are) and what a future consumer would want (the score and flags). */
    char title[128], message[1400];
    risk_alert_text(r, title, sizeof title, message, sizeof message);
    proto_buf_printf(&event,
                     "{\"account_id\":\"%s\",\"transfer_id\":\"%s\",\"score\":%d,"
                     "\"alert_level\":\"%s\",\"flags\":",
                     a->account_id, a->transfer_id, r->score, risk_level_name(r->level));
    sentences_json(&event, r);
    proto_buf_puts(&event, ",\"title\":");
    proto_json_quote(&event, title, strlen(title));
    proto_buf_puts(&event, ",\"message\":");
    proto_json_quote(&event, message, strlen(message));
    proto_buf_puts(&event, "}");

    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    risk_pack_score(&pk, a, now);
    char *body_text = wk_db_bytea_text(body.data, body.size);
    msgpack_sbuffer_destroy(&body);
    snprintf(at, sizeof at, "%lld", (long long)a->at_ms);
    const char *p[] = {a->id,
                       user,
                       a->account_id,
                       a->transfer_id,
                       seq,
                       proto_txn_kind_name(a->kind),
                       amount,
                       f->currency,
                       balance,
                       score,
                       risk_level_name(r->level),
                       flags.data,
                       anomaly.data,
                       alert ? "true" : "false",
                       at,
                       body_text,
                       event_id,
                       event.data};
    /* One statement: the history row, then (only if it was new) the latest score, never
     * replacing a score of a later posting, and the alert. */
    PGresult *res = wk_db_exec_prepared(
        wk_db(ctx), "risk_store",
        "WITH ins AS (INSERT INTO risk.assessments (id, user_id, account_id, transfer_id, seq, "
        "kind, amount, currency, balance_after, score, alert_level, flags, anomaly, alerted, "
        "posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, "
        "$13::jsonb, $14::boolean, to_timestamp($15::bigint / 1000.0)) "
        "ON CONFLICT (account_id, transfer_id) DO NOTHING RETURNING 1), "
        "up AS (INSERT INTO risk.scores AS s (account_id, user_id, seq, score, alert_level, "
        "body) SELECT $3, $2, $5, $10, $11, $16 FROM ins ON CONFLICT (account_id) DO UPDATE "
        "SET seq = EXCLUDED.seq, score = EXCLUDED.score, alert_level = EXCLUDED.alert_level, "
        "body = EXCLUDED.body, updated_at = now() WHERE s.seq <= EXCLUDED.seq RETURNING 1), "
        "ev AS (INSERT INTO risk.outbox (id, type, user_id, data) SELECT $17, 'risk.alert', $2, "
        "$18::jsonb FROM ins WHERE $14::boolean RETURNING 1) "
        "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM ev)",
        18, p);
    int rc = 0;
    if (!res) {
        rc = wk_db_fail(ctx);
    } else {
        rc = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
        if (strcmp(PQgetvalue(res, 0, 1), "0") != 0)
            wk_outbox_written(ctx);
        PQclear(res);
    }
    if (rc == 1) {
        /* Every scored posting updates the user's open pages; `alert` says whether to toast. */
        proto_buf_printf(&frame,
                         "{\"type\":\"risk\",\"account_id\":\"%s\",\"score\":%d,"
                         "\"alert_level\":\"%s\",\"flags\":",
                         a->account_id, r->score, risk_level_name(r->level));
        sentences_json(&frame, r);
        proto_buf_printf(&frame, ",\"transfer_id\":\"%s\",\"alert\":%s}", a->transfer_id,
                         alert ? "true" : "false");
        wk_live_after_commit(ctx, user, frame.data, frame.len);
    }
    free(body_text);
    proto_buf_free(&flags);
    proto_buf_free(&anomaly);
    proto_buf_free(&event);
    proto_buf_free(&frame);
    return rc;
}

int risk_store_rerun(struct wk_ctx *ctx, const char *user, const struct risk_assessment *a,
                     msgpack_sbuffer *body)
{
    char now[PROTO_TIME_TEXT_MAX], seq[24], score[8];
    proto_time_text(proto_now_ms(), now);
    snprintf(seq, sizeof seq, "%lld", (long long)a->seq);
    snprintf(score, sizeof score, "%d", a->result.score);
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, msgpack_sbuffer_write);
    risk_pack_score(&pk, a, now);
    char *body_text = wk_db_bytea_text(body->data, body->size);
    const char *p[] = {a->account_id, user, seq, score, risk_level_name(a->result.level),
                       body_text};
    /* A re-run is the account's latest word unless a posting after it was scored meanwhile. */
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_rerun",
        "INSERT INTO risk.scores AS s (account_id, user_id, seq, score, alert_level, body) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET seq = "
        "EXCLUDED.seq, score = EXCLUDED.score, alert_level = EXCLUDED.alert_level, body = "
        "EXCLUDED.body, updated_at = now() WHERE s.seq <= EXCLUDED.seq",
        6, p);
    free(body_text);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}
