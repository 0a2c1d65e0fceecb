/* The risk worker's pure rules; see rules.h. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "proto/money.h"
#include "proto/msg.h"

const char *risk_level_name(enum risk_level l)
{
    switch (l) {
    case RISK_LOW:
        return "low";
    case RISK_MEDIUM:
        return "medium";
    case RISK_HIGH:
        return "high";
    }
    return "low";
}

enum risk_level risk_level_of(int score)
{
    return score <= 30 ? RISK_LOW : score <= 60 ? RISK_MEDIUM : RISK_HIGH;
}

static struct risk_flag *add_flag(struct risk_result *r, const char *code, int points)
{
    struct risk_flag *f = &r->flags[r->nflags++];
    f->code = code;
    f->points = points;
    f->message[0] = '\0';
    r->score += points;
    return f;
}

void risk_windows(const struct risk_posting *post, const struct risk_meta *meta, size_t i,
                  int64_t t_ms, int64_t balance, int *outgoing, int64_t *peak)
{
    *outgoing = 0;
    *peak = balance;
    /* seq order is time order within one ledger, so the first line older than the day ends it */
    for (size_t j = i + 1; j-- > 0;) {
        const struct risk_posting *q = &post[j];
        if (strcmp(meta[j].account_id, meta[i].account_id) != 0)
            continue;
        if (q->at_ms < t_ms - RISK_DROP_MS)
            break;
        int64_t before = q->balance_after - q->amount;
        if (q->balance_after > *peak)
            *peak = q->balance_after;
        if (before > *peak)
            *peak = before;
        /* No upper bound on the time: every line walked is before posting i by seq, though a
         * line whose transaction started earlier and waited for the account's lock may carry an
         * earlier created_at than the one before it. */
        if (q->amount < 0 && q->at_ms >= t_ms - RISK_VELOCITY_MS)
            (*outgoing)++;
    }
}

int risk_evaluate(const struct risk_facts *f, struct risk_result *out)
{
    char a[PROTO_MONEY_DISPLAY_MAX], b[PROTO_MONEY_DISPLAY_MAX];
    memset(out, 0, sizeof *out);
    if (proto_currency_exponent(f->currency) < 0)
        return -1;
    out->score = RISK_BASE;
    int64_t amount = f->amount < 0 ? -f->amount : f->amount;

    if (f->has_posting && f->amount < 0) {
        /* The balance before an outgoing posting is what it left plus what is left; "above
         * 50 %" is strict: exactly half is not large. */
        int64_t before = f->balance + amount;
        if (amount > before - amount) {
            struct risk_flag *x = add_flag(out, "large_posting", 20);
            proto_money_display(amount, f->currency, a, sizeof a);
            proto_money_display(before, f->currency, b, sizeof b);
            snprintf(x->message, sizeof x->message,
                     "A single transaction of %s took more than half of the %s balance before it",
                     a, b);
        }
    }
    if (f->outgoing_window >= RISK_VELOCITY_N) {
        struct risk_flag *x = add_flag(out, "velocity", 15);
        snprintf(x->message, sizeof x->message, "%d outgoing transactions within one hour",
                 f->outgoing_window);
    }
    if (f->low_balance >= 0 && f->balance < f->low_balance) {
        struct risk_flag *x = add_flag(out, "low_balance", 10);
        proto_money_display(f->low_balance, f->currency, a, sizeof a);
        snprintf(x->message, sizeof x->message, "Balance is below %s", a);
    }
    /* "Fell more than 80 %": balance < 20 % of the peak, 5 * balance < peak, which for whole
     * numbers >= 0 is balance <= (peak - 1) / 5 (no multiplication to overflow). */
    if (f->peak_24h > 0 && f->balance >= 0 && f->balance <= (f->peak_24h - 1) / 5) {
        struct risk_flag *x = add_flag(out, "balance_drop", 25);
        proto_money_display(f->peak_24h, f->currency, a, sizeof a);
        proto_money_display(f->balance, f->currency, b, sizeof b);
        snprintf(x->message, sizeof x->message,
                 "Balance fell by more than 80%% within 24 hours, from %s to %s", a, b);
    }
    if (f->has_posting && f->anomaly.flagged) {
        struct risk_flag *x = add_flag(out, "anomaly", f->anomaly.points);
        snprintf(x->message, sizeof x->message, "%s",
                 f->anomaly.method == RISK_METHOD_FOREST
                     ? "Unusual activity: this transaction does not look like your usual ones"
                     : "Unusual activity: this transaction is much larger than your usual ones");
    }
    if (f->has_posting && f->high_amount >= 0 && amount > f->high_amount) {
        /* Finexia's verdict: said, and shown as a flag, but worth no points (the score
         * is the four rules and the detector). */
        out->high_amount = 1;
        struct risk_flag *x = add_flag(out, "high_amount", 0);
        proto_money_display(amount, f->currency, a, sizeof a);
        proto_money_display(f->high_amount, f->currency, b, sizeof b);
        snprintf(x->message, sizeof x->message, "A single transaction of %s is above %s", a, b);
    }
    if (out->score > 100)
        out->score = 100;
    out->level = risk_level_of(out->score);
    return 0;
}

int risk_alerts(enum risk_level previous, int had_previous, const struct risk_result *r)
{
    for (int i = 0; i < r->nflags; i++)
        if (strcmp(r->flags[i].code, "anomaly") == 0)
            return 1;
    enum risk_level before = had_previous ? previous : RISK_LOW;
    return r->level != RISK_LOW && r->level > before;
}

void risk_alert_text(const struct risk_result *r, char *title, size_t title_cap, char *message,
                     size_t message_cap)
{
    int anomaly = 0;
    for (int i = 0; i < r->nflags; i++)
        anomaly |= strcmp(r->flags[i].code, "anomaly") == 0;
    if (anomaly)
        snprintf(title, title_cap, "Unusual activity detected");
    else
        snprintf(title, title_cap, "Risk level is now %s", risk_level_name(r->level));
    /* Six flag sentences of at most RISK_FLAG_TEXT bytes could pass a notification's 1,000 code
     * points (ours are ~450 bytes together); the notification worker then shows a generic
     * sentence instead (notify_risk_text). */
    size_t n = (size_t)snprintf(message, message_cap, "Risk score %d.", r->score);
    for (int i = 0; i < r->nflags && n < message_cap; i++)
        n += (size_t)snprintf(message + n, message_cap - n, " %s.", r->flags[i].message);
}

const char *risk_flag_title(const char *code)
{
    static const char *const titles[][2] = {
        {"large_posting", "Unusually large transaction"},
        {"velocity", "Many recent transfers"},
        {"low_balance", "Low balance"},
        {"balance_drop", "Balance fell sharply"},
        {"anomaly", "Unusual activity detected"},
        {"high_amount", "Very large amount"},
    };
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (strcmp(titles[i][0], code) == 0)
            return titles[i][1];
    return NULL;
}

/* A query value as a UUID: 0 absent or "", 1 read, -1 not a UUID. */
static int query_uuid(const msgpack_object *query, const char *key, char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(query, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL ||
        (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0))
        return 0;
    return proto_obj_uuid(o, out) == 0 ? 1 : -1;
}

int risk_history_query_parse(const msgpack_object *query, struct risk_history_query *q,
                             const char **code, const char **message)
{
    memset(q, 0, sizeof *q);
    q->limit = RISK_LIMIT_DEFAULT;
    if (!query || query->type != MSGPACK_OBJECT_MAP)
        return 0;
    const msgpack_object *limit = proto_map_get(query, "limit");
    if (limit && (proto_obj_count(limit, RISK_LIMIT_MAX, &q->limit) != 0 || q->limit < 1)) {
        *code = "invalid_limit";
        *message = "limit must be a whole number from 1 to 100.";
        return -1;
    }
    if ((q->has_before = query_uuid(query, "before", q->before)) < 0) {
        *code = "invalid_before";
        *message = "before must be the id of an entry of your risk history.";
        return -1;
    }
    if ((q->has_account = query_uuid(query, "account_id", q->account)) < 0) {
        *code = "invalid_account_id";
        *message = "account_id must be one of your account ids (or your user id).";
        return -1;
    }
    return 0;
}
