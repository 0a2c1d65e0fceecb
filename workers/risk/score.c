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

/* The columns of a posting, after the owner's (READ_SQL below). */
#define POSTING_COLS                                                                               \
    "x.account_id, x.seq, x.transfer_id, x.kind, x.amount, x.balance_after, "                      \
    "(extract(epoch FROM x.created_at) * 1000)::bigint, x.currency, x.counterparty"
enum {
    P_OWNER,
    P_ACCOUNT,
    P_SEQ,
    P_TRANSFER,
    P_KIND,
    P_AMOUNT,
    P_BALANCE,
    P_AT,
    P_CURRENCY,
    P_COUNTER,
};

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

/* Index of the user among us[0..n) whose id is `id`, or -1. */
static long index_of(struct risk_user *const *us, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(us[i]->user, id) == 0)
            return (long)i;
    return -1;
}

/* One statement for the users of a batch (column 0 the owner, then the posting's columns, in seq
 * order per user), each with its own bound q.after: a fresh load reads its last RISK_HISTORY_MAX
 * postings up to the bound, a delta what came after it. One lateral subquery per account of a
 * user reads through entries' (account_id, seq DESC) index. */
#define READ_SQL(per_user_where, per_user_order, limit)                                            \
    "SELECT q.owner, " POSTING_COLS " FROM unnest($1::uuid[], $2::bigint[]) AS q(owner, after) "   \
    "CROSS JOIN LATERAL (SELECT y.* FROM ledger.risk_accounts a CROSS JOIN LATERAL (SELECT p.* "   \
    "FROM ledger.risk_postings p WHERE p.account_id = a.id " per_user_where                        \
    " ORDER BY p.seq " per_user_order " LIMIT " limit                                              \
    ") y WHERE a.owner = q.owner ORDER BY y.seq " per_user_order " LIMIT " limit                   \
    ") x ORDER BY q.owner, x.seq"

/*
 * Reads postings of us[0..n) (distinct users) with bounds after[0..n) and appends them: a fresh
 * load (`fresh`: each user emptied first, then loaded) or a delta. In a delta a user with
 * DELTA_MAX new rows or more gets nothing appended and *overflow[i] set (may be NULL for a
 * load). 0, or a wk_db_fail code.
 */
static int read_postings(struct wk_ctx *ctx, struct risk_user *const *us, size_t n,
                         const int64_t *after, int fresh, int *overflow)
{
    struct proto_buf ids = {0}, bounds = {0};
    proto_buf_puts(&ids, "{");
    proto_buf_puts(&bounds, "{");
    for (size_t i = 0; i < n; i++) {
        proto_buf_printf(&ids, "%s%s", i ? "," : "", us[i]->user); /* UUIDs: no quoting */
        proto_buf_printf(&bounds, "%s%lld", i ? "," : "", (long long)after[i]);
    }
    proto_buf_puts(&ids, "}");
    proto_buf_puts(&bounds, "}");
    const char *p[] = {ids.data, bounds.data};
    PGresult *r = fresh ? wk_db_exec_prepared(wk_db(ctx), "risk_load",
                                              READ_SQL("AND p.seq <= q.after", "DESC", "500"), 2, p)
                        : wk_db_exec_prepared(wk_db(ctx), "risk_delta",
                                              READ_SQL("AND p.seq > q.after", "", "1000"), 2, p);
    proto_buf_free(&ids);
    proto_buf_free(&bounds);
    if (!r)
        return wk_db_fail(ctx);
    long *count = proto_xcalloc(n, sizeof *count);
    for (int i = 0; i < PQntuples(r); i++) {
        long j = index_of(us, n, PQgetvalue(r, i, P_OWNER));
        if (j >= 0)
            count[j]++;
    }
    for (size_t j = 0; j < n; j++) {
        if (fresh)
            risk_cache_clear(us[j]);
        else
            overflow[j] = count[j] >= DELTA_MAX;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        long j = index_of(us, n, PQgetvalue(r, i, P_OWNER));
        if (j >= 0 && (fresh || !overflow[j]))
            append_row(us[j], r, i);
    }
    for (size_t j = 0; j < n && fresh; j++)
        us[j]->loaded = 1;
    free(count);
    PQclear(r);
    return 0;
}

/* Loads the user's last RISK_HISTORY_MAX postings with seq <= upto into u (emptied first). */
static int load(struct wk_ctx *ctx, struct risk_user *u, int64_t upto)
{
    return read_postings(ctx, &u, 1, &upto, 1, NULL);
}

int risk_sync_many(struct wk_ctx *ctx, struct risk_user *const *us, size_t n)
{
    struct risk_user **cold = proto_xcalloc(n + 1, sizeof *cold);
    struct risk_user **warm = proto_xcalloc(n + 1, sizeof *warm);
    int64_t *top = proto_xcalloc(n + 1, sizeof *top), *last = proto_xcalloc(n + 1, sizeof *last);
    int *overflow = proto_xcalloc(n + 1, sizeof *overflow);
    size_t nc = 0, nw = 0;
    for (size_t i = 0; i < n; i++) {
        if (index_of(cold, nc, us[i]->user) >= 0 || index_of(warm, nw, us[i]->user) >= 0)
            continue; /* a user twice in the batch */
        if (us[i]->loaded) {
            last[nw] = us[i]->last_seq;
            warm[nw++] = us[i];
        } else {
            top[nc] = INT64_MAX;
            cold[nc++] = us[i];
        }
    }
    int rc = nc ? read_postings(ctx, cold, nc, top, 1, NULL) : 0;
    if (rc == 0 && nw)
        rc = read_postings(ctx, warm, nw, last, 0, overflow);
    for (size_t j = 0; j < nw && rc == 0; j++)
        if (overflow[j])
            rc = load(ctx, warm[j], INT64_MAX);
    free(cold);
    free(warm);
    free(top);
    free(last);
    free(overflow);
    return rc;
}

int risk_sync(struct wk_ctx *ctx, struct risk_user *u)
{
    return risk_sync_many(ctx, &u, 1);
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

/* The ledger seq of the user's posting (account, transfer): > 0, 0 when it is not the user's, or
 * a wk_db_fail code. */
static int64_t seq_of(struct wk_ctx *ctx, const char *user, const char *account,
                      const char *transfer)
{
    const char *p[] = {user, account, transfer};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "risk_seq_of",
                                      "SELECT seq FROM ledger.risk_postings WHERE owner = $1 "
                                      "AND account_id = $2 AND transfer_id = $3",
                                      3, p);
    if (!r)
        return wk_db_fail(ctx);
    int64_t seq = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return seq;
}

int risk_score_posting(struct wk_ctx *ctx, struct risk_user *u, const char *account,
                       const char *transfer, struct risk_assessment *out)
{
    memset(out, 0, sizeof *out);
    struct risk_user old = {0}, *h = u; /* the history the posting is judged on */
    long i = find(u, account, transfer);
    int64_t rc = 0;
    if (i < 0) {
        /* Not among the cached ones: not this user's, older than them (a very late event), or
         * a hole: it committed after a later seq of the user had been read (seqs are taken at
         * insert, not at commit, and a delta reads after the highest seen). A hole reloads the
         * user's history, so this posting and the next are judged on it; an older one is judged
         * on a history read up to it, outside the cache. */
        int64_t seq = seq_of(ctx, u->user, account, transfer);
        if (seq <= 0)
            return (int)seq;
        if (u->n > 0 && seq > u->meta[0].seq) {
            rc = load(ctx, u, INT64_MAX);
        } else {
            snprintf(old.user, sizeof old.user, "%s", u->user);
            h = &old;
            rc = load(ctx, h, seq);
        }
        if (rc == 0 && (i = find(h, account, transfer)) < 0)
            rc = PROTO_EIO; /* it was there a statement ago: the ledger never deletes */
    }
    if (rc == 0) {
        facts_at(h, (size_t)i, 1, h->post[i].at_ms, h->post[i].balance_after, out);
        snprintf(out->transfer_id, sizeof out->transfer_id, "%s", transfer);
        rc = finish(out);
    }
    risk_forest_free(old.forest);
    free(old.post);
    free(old.meta);
    return rc < 0 ? (int)rc : 1;
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

/* The stored level of each account of a[0..n) before this batch: prev[i] (RISK_LOW when none),
 * had[i] 1 when there was one. A posting later in the batch sees the level an earlier one of
 * the same account left. 0, or a wk_db_fail code. */
static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Locks the batch's accounts until the transaction ends (advisory locks, in sorted order, so two
 * risk workers never wait on each other in a circle): another worker scoring a posting of one of
 * them waits here, and then reads the level this one stores. Without it, two workers scoring two
 * postings of one account at once could both see it low and both alert for one rise. */
static int lock_accounts(struct wk_ctx *ctx, const struct risk_assessment *a, size_t n)
{
    const char **ids = proto_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = a[i].account_id;
    qsort(ids, n, sizeof *ids, cmp_str);
    struct proto_buf arr = {0};
    proto_buf_puts(&arr, "{");
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
            proto_buf_printf(&arr, "%s%s", arr.len > 1 ? "," : "", ids[i]);
    proto_buf_puts(&arr, "}");
    free(ids);
    const char *p[] = {arr.data};
    /* unnest yields the array in order, so the locks are taken in that order */
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_lock",
        "SELECT pg_advisory_xact_lock(hashtextextended(x, 22)) FROM unnest($1::text[]) x", 1, p);
    proto_buf_free(&arr);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

static int previous_levels(struct wk_ctx *ctx, const struct risk_assessment *a, size_t n,
                           enum risk_level *prev, int *had)
{
    int rc = lock_accounts(ctx, a, n);
    if (rc < 0)
        return rc;
    struct proto_buf ids = {0};
    proto_buf_puts(&ids, "{");
    for (size_t i = 0; i < n; i++)
        proto_buf_printf(&ids, "%s%s", i ? "," : "", a[i].account_id);
    proto_buf_puts(&ids, "}");
    const char *p[] = {ids.data};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_prev",
        "SELECT account_id, score FROM risk.scores WHERE account_id = ANY($1::uuid[])", 1, p);
    proto_buf_free(&ids);
    if (!r)
        return wk_db_fail(ctx);
    for (size_t i = 0; i < n; i++) {
        prev[i] = RISK_LOW;
        had[i] = 0;
        for (size_t j = i; j-- > 0;) /* an earlier posting of this batch */
            if (strcmp(a[j].account_id, a[i].account_id) == 0) {
                prev[i] = a[j].result.level;
                had[i] = 1;
                break;
            }
        for (int k = 0; k < PQntuples(r) && !had[i]; k++)
            if (strcmp(PQgetvalue(r, k, 0), a[i].account_id) == 0) {
                prev[i] = risk_level_of(atoi(PQgetvalue(r, k, 1)));
                had[i] = 1;
            }
    }
    PQclear(r);
    return 0;
}

/* Appends a JSON string member "key":"value" (value JSON-escaped) and a comma. */
static void json_str(struct proto_buf *b, const char *key, const char *value)
{
    proto_buf_printf(b, "\"%s\":", key);
    proto_json_quote(b, value, strlen(value));
    proto_buf_puts(b, ",");
}

/* The risk.alert event data of a: what the notification worker shows (title, message) and what
 * another consumer would want (the score and flags). */
static void alert_json(struct proto_buf *b, const struct risk_assessment *a)
{
    char title[128], message[1400];
    risk_alert_text(&a->result, title, sizeof title, message, sizeof message);
    proto_buf_printf(b, "{\"account_id\":\"%s\",\"transfer_id\":\"%s\",\"score\":%d,",
                     a->account_id, a->transfer_id, a->result.score);
    json_str(b, "alert_level", risk_level_name(a->result.level));
    proto_buf_puts(b, "\"flags\":");
    sentences_json(b, &a->result);
    proto_buf_puts(b, ",");
    json_str(b, "title", title);
    proto_buf_puts(b, "\"message\":");
    proto_json_quote(b, message, strlen(message));
    proto_buf_puts(b, "}");
}

/* One row of the store statement's JSON input for a (alerting or not). */
static int row_json(struct proto_buf *b, const char *user, const struct risk_assessment *a,
                    int alert, const char *now)
{
    const struct risk_result *r = &a->result;
    const struct risk_facts *f = &a->facts;
    char event_id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(event_id) != 0)
        return PROTO_EIO;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    risk_pack_score(&pk, a, now);
    proto_buf_printf(
        b,
        "{\"id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\",\"transfer_id\":\"%s\","
        "\"seq\":%lld,\"kind\":\"%s\",\"amount\":%lld,\"currency\":\"%s\","
        "\"balance_after\":%lld,\"score\":%d,\"alert_level\":\"%s\",\"alerted\":%s,"
        "\"posted_ms\":%lld,\"event_id\":\"%s\",\"flags\":",
        a->id, user, a->account_id, a->transfer_id, (long long)a->seq, proto_txn_kind_name(a->kind),
        (long long)f->amount, f->currency, (long long)f->balance, r->score,
        risk_level_name(r->level), alert ? "true" : "false", (long long)a->at_ms, event_id);
    flags_json(b, r);
    proto_buf_printf(b,
                     ",\"anomaly\":{\"method\":\"%s\",\"score\":%.6g,\"threshold\":%.6g,"
                     "\"flagged\":%s},\"event\":",
                     risk_method_name(f->anomaly.method), f->anomaly.score, f->anomaly.threshold,
                     f->anomaly.flagged ? "true" : "false");
    if (alert)
        alert_json(b, a);
    else
        proto_buf_puts(b, "null");
    proto_buf_puts(b, ",\"body\":\"");
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < body.size; i++) {
        unsigned char c = (unsigned char)body.data[i];
        char two[2] = {hex[c >> 4], hex[c & 15]};
        proto_buf_append(b, two, 2);
    }
    proto_buf_puts(b, "\"}");
    msgpack_sbuffer_destroy(&body);
    return 0;
}

int risk_store_postings(struct wk_ctx *ctx, const char *const *users,
                        const struct risk_assessment *a, size_t n)
{
    if (n == 0)
        return 0;
    enum risk_level *prev = proto_xcalloc(n, sizeof *prev);
    int *had = proto_xcalloc(n, sizeof *had), *alert = proto_xcalloc(n, sizeof *alert);
    int rc = previous_levels(ctx, a, n, prev, had);
    char now[PROTO_TIME_TEXT_MAX];
    proto_time_text(proto_now_ms(), now);
    struct proto_buf rows = {0};
    proto_buf_puts(&rows, "[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        alert[i] = risk_alerts(prev[i], had[i], &a[i].result);
        if (i)
            proto_buf_puts(&rows, ",");
        rc = row_json(&rows, users[i], &a[i], alert[i], now);
    }
    proto_buf_puts(&rows, "]");
    PGresult *res = NULL;
    if (rc == 0) {
        const char *p[] = {rows.data};
        /* One statement for the batch: the history rows, then, for the ones that were new only,
         * the latest score of each account (its newest posting; never replacing a score of a
         * later one) and the alerts. */
        res = wk_db_exec_prepared(
            wk_db(ctx), "risk_store",
            "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, user_id uuid, "
            "account_id uuid, transfer_id uuid, seq bigint, kind text, amount bigint, currency "
            "text, balance_after bigint, score int, alert_level text, alerted boolean, posted_ms "
            "bigint, event_id uuid, flags jsonb, anomaly jsonb, event jsonb, body text)), "
            "ins AS (INSERT INTO risk.assessments (id, user_id, account_id, transfer_id, seq, "
            "kind, amount, currency, balance_after, score, alert_level, flags, anomaly, alerted, "
            "posted_at) SELECT id, user_id, account_id, transfer_id, seq, kind, amount, currency, "
            "balance_after, score, alert_level, flags, anomaly, alerted, "
            "to_timestamp(posted_ms / 1000.0) FROM r "
            "ON CONFLICT (account_id, transfer_id) DO NOTHING RETURNING id), "
            "up AS (INSERT INTO risk.scores AS s (account_id, user_id, seq, score, alert_level, "
            "body) SELECT DISTINCT ON (r.account_id) r.account_id, r.user_id, r.seq, r.score, "
            "r.alert_level, decode(r.body, 'hex') FROM r JOIN ins ON ins.id = r.id "
            "ORDER BY r.account_id, r.seq DESC ON CONFLICT (account_id) DO UPDATE SET "
            "seq = EXCLUDED.seq, score = EXCLUDED.score, alert_level = EXCLUDED.alert_level, "
            "body = EXCLUDED.body, updated_at = now() WHERE s.seq <= EXCLUDED.seq RETURNING 1), "
            "ev AS (INSERT INTO risk.outbox (id, type, user_id, data) SELECT r.event_id, "
            "'risk.alert', r.user_id, r.event FROM r JOIN ins ON ins.id = r.id WHERE r.alerted "
            "RETURNING 1) "
            "SELECT ins.id, (SELECT count(*) FROM ev), (SELECT count(*) FROM up) FROM ins",
            1, p);
        if (!res)
            rc = wk_db_fail(ctx);
    }
    proto_buf_free(&rows);
    if (rc == 0) {
        int stored = PQntuples(res);
        if (stored > 0 && strcmp(PQgetvalue(res, 0, 1), "0") != 0)
            wk_outbox_written(ctx);
        /* Every newly scored posting updates the user's open pages; `alert` says to toast. */
        for (size_t i = 0; i < n; i++) {
            int fresh = 0;
            for (int k = 0; k < stored && !fresh; k++)
                fresh = strcmp(PQgetvalue(res, k, 0), a[i].id) == 0;
            if (!fresh) {
                PROTO_INFO(wk_request_id(ctx), "posting already scored, skipped", "account=%s",
                           a[i].account_id);
                continue;
            }
            struct proto_buf frame = {0};
            proto_buf_printf(&frame,
                             "{\"type\":\"risk\",\"account_id\":\"%s\",\"score\":%d,"
                             "\"alert_level\":\"%s\",\"flags\":",
                             a[i].account_id, a[i].result.score,
                             risk_level_name(a[i].result.level));
            sentences_json(&frame, &a[i].result);
            proto_buf_printf(&frame, ",\"transfer_id\":\"%s\",\"alert\":%s}", a[i].transfer_id,
                             alert[i] ? "true" : "false");
            wk_live_after_commit(ctx, users[i], frame.data, frame.len);
            proto_buf_free(&frame);
        }
    }
    PQclear(res);
    free(prev);
    free(had);
    free(alert);
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
