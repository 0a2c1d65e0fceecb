/*
 * workers/risk/rules.h — the risk worker's pure rules: the score of an account at a posting
 * (or at a re-run), its flags in plain sentences with money in the account's currency, the
 * level, whether it alerts, the alert's and the live frame's text, and reading the history
 * query. No I/O, no database: unit-tested in tests/unit/test_risk_rules.c. Implemented in
 * rules.c; the anomaly detector the rules call on is anomaly.h.
 *
 * The score (README "Risk"): base 10, plus
 *   large_posting  +20  an outgoing posting above 50 % of the balance before it
 *   velocity       +15  >= 3 outgoing postings of the account within 60 min (inclusive)
 *   low_balance    +10  the balance below the currency's low-balance threshold
 *   balance_drop   +25  the balance fell more than 80 % below its highest in the last 24 h
 *   anomaly        +5..+30  the detector flagged the posting (anomaly.h)
 *   high_amount    +0   one posting above the currency's high-amount threshold: Finexia's
 *                       per-transaction verdict "high_amount", a flag worth no points
 * capped at 100; levels low <= 30 < medium <= 60 < high.
 */
#ifndef RISK_RULES_H
#define RISK_RULES_H

#include <msgpack.h>
#include <stdint.h>

#include "anomaly.h"
#include "proto/txn_event.h"
#include "proto/uuid.h"

#define RISK_BASE          10
#define RISK_VELOCITY_N    3
#define RISK_VELOCITY_MS   (60LL * 60 * 1000)
#define RISK_DROP_MS       (24LL * 60 * 60 * 1000)
#define RISK_FLAGS_MAX     6
#define RISK_FLAG_TEXT     200 /* bytes of one flag sentence, with its NUL */
#define RISK_LIMIT_DEFAULT 20
#define RISK_LIMIT_MAX     100

enum risk_level { RISK_LOW, RISK_MEDIUM, RISK_HIGH };
const char *risk_level_name(enum risk_level l); /* "low", "medium", "high" */
/* low <= 30 < medium <= 60 < high */
enum risk_level risk_level_of(int score);

/* What the rules look at, all money in minor units of `currency`. */
struct risk_facts {
    char currency[4];
    int64_t balance; /* the account's balance after the posting (or now, for a re-run) */
    /* The posting being judged; has_posting 0 for a re-run of an account whose last posting
     * is older than RISK_DROP_MS (or that has none): the posting rules do not apply then. */
    int has_posting;
    int64_t amount;      /* signed: < 0 left the account */
    int outgoing_window; /* outgoing postings of the account in [t - 60 min, t], this included */
    int64_t peak_24h;    /* the account's highest balance in [t - 24 h, t], before postings too */
    int64_t low_balance; /* thresholds; < 0: no rule for this currency */
    int64_t high_amount;
    struct risk_anomaly anomaly; /* method RISK_METHOD_NONE when not judged */
};

struct risk_flag {
    const char *code; /* "large_posting", ... (static) */
    int points;
    char message[RISK_FLAG_TEXT];
};

struct risk_result {
    int score;
    enum risk_level level;
    int high_amount; /* Finexia's verdict: 1 "high_amount", 0 "normal" */
    int nflags;
    struct risk_flag flags[RISK_FLAGS_MAX];
};

/* What the rules need of a posting besides what the detector sees. */
struct risk_meta {
    int64_t seq;
    char account_id[PROTO_UUID_LEN + 1];
    char transfer_id[PROTO_UUID_LEN + 1];
    enum proto_txn_kind kind;
    char currency[4];
};

/*
 * The windowed facts at time t_ms of posting i's account, from postings post/meta[0..i] (a
 * user's, oldest first; later ones are never looked at): *outgoing, its outgoing postings with
 * t_ms - 60 min <= time <= t_ms (both ends inclusive), and *peak, its highest balance, before or
 * after any of its postings, with time >= t_ms - 24 h, and at least `balance` (its balance at
 * t_ms). The walk stops at the first posting older than 24 h.
 */
void risk_windows(const struct risk_posting *post, const struct risk_meta *meta, size_t i,
                  int64_t t_ms, int64_t balance, int *outgoing, int64_t *peak);

/* Applies the rules. Returns 0, or -1 when the currency is unknown (nothing is written then). */
int risk_evaluate(const struct risk_facts *f, struct risk_result *out);

/* Whether a newly scored posting raises risk.alert: its level rose to medium or high from the
 * account's previous level (none counts as low), or the detector flagged it. */
int risk_alerts(enum risk_level previous, int had_previous, const struct risk_result *r);

/* The alert's notification text (the notification worker shows data.title and data.message):
 * "Unusual activity detected" when the detector flagged it, else "Risk level is now high" /
 * "... medium"; the message is the flags' sentences joined. title: 120 code points at most,
 * message: 1000 (the notification's limits). */
void risk_alert_text(const struct risk_result *r, char *title, size_t title_cap, char *message,
                     size_t message_cap);

/* One plain-language item of GET /api/risk/notifications: type "warning", "info" or
 * "success" (static). */
struct risk_tip {
    const char *type;
    char message[RISK_FLAG_TEXT + 64];
};

/* What a flag code means for a person, for the notifications route: "Unusually large
 * transaction", "Many recent transfers", ... NULL for an unknown code. */
const char *risk_flag_title(const char *code);

/* GET /api/risk/history's query: limit 1..RISK_LIMIT_MAX (default RISK_LIMIT_DEFAULT; 422
 * invalid_limit), before an assessment id (422 invalid_before when not a UUID), account_id
 * (422 invalid_account_id when not a UUID). Unknown keys are ignored. 0, or -1 with *code and
 * *message set (static). */
struct risk_history_query {
    long limit;
    int has_before, has_account;
    char before[PROTO_UUID_LEN + 1];
    char account[PROTO_UUID_LEN + 1];
};
int risk_history_query_parse(const msgpack_object *query, struct risk_history_query *q,
                             const char **code, const char **message);

#endif
