/*
 * workers/risk/risk.h — what the risk worker's files share. The worker scores every posting as
 * it happens (events.c, txn.posted) and answers the risk API (handlers.c) from ledger data read
 * through two read-only views (ledger.risk_accounts, ledger.risk_postings) and its own tables
 * (risk.assessments, risk.scores; sql/013_risk.sql). Files:
 *   rules.c    the score, flags, levels, alert text, query reading (pure; rules.h)
 *   anomaly.c  the Isolation Forest and the robust z-score (pure; anomaly.h)
 *   cache.c    each user's recent postings and trained model, kept between postings
 *   score.c    loading postings, scoring one posting or an account, storing, alerting
 *   events.c   txn.posted
 *   handlers.c the risk.* methods
 *   main.c     configuration, the tables, wk_run_spec
 * Single-threaded like every worker (runtime/wk.h).
 */
#ifndef RISK_H
#define RISK_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "proto/txn_event.h"
#include "proto/uuid.h"
#include "rules.h"
#include "runtime/wk.h"

/* Configuration (main.c; README "Configuration"). */
struct risk_config {
    const char *low_balance; /* RISK_LOW_BALANCE, "CUR=amount,...", checked */
    const char *high_amount; /* RISK_HIGH_AMOUNT, the same form */
    long cache_users;        /* RISK_CACHE_USERS: users whose postings and model are kept */
    long refresh_postings;   /* RISK_MODEL_REFRESH_POSTINGS: retrain after this many new ones */
    long refresh_ms;         /* RISK_MODEL_REFRESH_S in ms: or when the model is this old */
    uint64_t seed;           /* RISK_SEED: the forests' PRNG seed, mixed with the user id */
};
extern struct risk_config risk_cfg;

/* ---- cache.c: a user's recent postings (all accounts, oldest first) and model ---- */

/* Postings a user's entry holds at most: the detector's window and room to append 64 more before
 * the oldest 64 are dropped at once (cache.c). */
#define RISK_USER_CAP (RISK_HISTORY_MAX + 64)

struct risk_user {
    char user[PROTO_UUID_LEN + 1];
    size_t n;                   /* postings held, <= cap */
    size_t cap;                 /* room in post and meta, growing to RISK_USER_CAP */
    struct risk_posting *post;  /* [cap], what the detector reads */
    struct risk_meta *meta;     /* [cap], parallel to post */
    int64_t last_seq;           /* seq of post[n - 1]; 0 when n == 0 */
    int loaded;                 /* 1 once the user's history was read from the database */
    struct risk_forest *forest; /* NULL until trained */
    int64_t trained_seq;        /* the last seq the forest saw */
    size_t trained_since;       /* postings appended since it was trained */
    int64_t trained_ms;         /* proto_mono_ms at training */
    int pinned;                 /* risk_cache_get calls not yet matched by risk_cache_unpin */
    struct risk_user *lru_prev, *lru_next;
    struct risk_user *hash_next;
};

/* The user's entry (created empty when absent; beyond risk_cfg.cache_users the least recently
 * used unpinned ones are evicted), marked most recently used and pinned: it stays until as many
 * risk_cache_unpin calls. NULL when out of memory. */
struct risk_user *risk_cache_get(const char *user);
void risk_cache_unpin(struct risk_user *u);

/* Forgets a user's entry (after a failed load, so the next posting reloads it). */
void risk_cache_drop(struct risk_user *u);

/* Appends a posting newer than every held one; the oldest falls out beyond RISK_HISTORY_MAX. */
void risk_cache_append(struct risk_user *u, const struct risk_posting *p,
                       const struct risk_meta *m);

/* Empties the user's postings (a reload follows); keeps the model. */
void risk_cache_clear(struct risk_user *u);

/* The forest to judge the posting at index i with (trained on the postings before it), training
 * or retraining it when absent, RISK_MODEL_REFRESH_POSTINGS postings old, or RISK_MODEL_REFRESH_S
 * seconds old. NULL when there are fewer than RISK_FOREST_MIN postings before i. */
const struct risk_forest *risk_cache_model(struct risk_user *u, size_t i);

/* ---- score.c ---- */

/* Brings users up to date with the ledger in at most two statements for all of them (the last
 * RISK_HISTORY_MAX postings of those not loaded yet; only those after last_seq for the others).
 * A user may appear more than once. 0, or a wk_db_fail code. */
int risk_sync_many(struct wk_ctx *ctx, struct risk_user *const *us, size_t n);
int risk_sync(struct wk_ctx *ctx, struct risk_user *u);

/* An account of the user, from ledger.risk_accounts. */
struct risk_account {
    char id[PROTO_UUID_LEN + 1];
    char currency[4];
    int64_t balance;
};

/* The outcome of scoring, ready to store and answer. */
struct risk_assessment {
    char id[PROTO_UUID_LEN + 1];
    char account_id[PROTO_UUID_LEN + 1];
    char transfer_id[PROTO_UUID_LEN + 1]; /* "" for a re-run */
    int64_t seq;                          /* the ledger seq it reflects */
    enum proto_txn_kind kind;             /* of the posting (when transfer_id is set) */
    int64_t at_ms;                        /* the posting's time (when transfer_id is set) */
    struct risk_facts facts;
    struct risk_result result;
    size_t postings_used;
};

/*
 * Scores the posting (account, transfer) of user u (synced by the caller): its facts from u's
 * postings, the detector on the postings before it. 1 scored, 0 the posting is not among the user's
 * (an event naming someone else's account, or older than the cached history and gone), or a
 * wk_db_fail code.
 */
int risk_score_posting(struct wk_ctx *ctx, struct risk_user *u, const char *account,
                       const char *transfer, struct risk_assessment *out);

/* Scores an account as it is now (a re-run): windows ending now, the posting rules on its last
 * posting when that is at most 24 h old. 0, or a wk_db_fail code. */
int risk_score_account(struct wk_ctx *ctx, struct risk_user *u, const struct risk_account *acct,
                       struct risk_assessment *out);

/* Packs the score object (README "Risk") of a: {id, account_id, score, alert_level, flags,
 * flag_details, ml_details, currency, balance, transfer_id, updated_at}. */
void risk_pack_score(msgpack_packer *pk, const struct risk_assessment *a, const char *updated_at);

/* Stores scored postings a[0..n) of users[0..n) in one statement, inside the caller's
 * transaction: risk.assessments, at most once per posting (a posting stored before is skipped,
 * with no second alert or frame); risk.scores, each account's newest posting, never back in
 * time; risk.alert in the outbox for those that alert (risk_alerts, against the level stored
 * before, or left by an earlier posting of the same account in a[]). Queues each new posting's
 * live frame. 0, or a wk_db_fail code. */
int risk_store_postings(struct wk_ctx *ctx, const char *const *users,
                        const struct risk_assessment *a, size_t n);

/* Stores a re-run as the account's latest score (no history, no alert); its score object is
 * packed into body (initialised by the caller). 0, or a wk_db_fail code. */
int risk_store_rerun(struct wk_ctx *ctx, const char *user, const struct risk_assessment *a,
                     msgpack_sbuffer *body);

/* ---- events.c, handlers.c ---- */
int risk_on_txn_posted(struct wk_ctx *ctx, const struct proto_event *ev);
int risk_on_txn_posted_batch(struct wk_ctx *ctx, const struct proto_event *evs, size_t n);
int risk_analyze(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int risk_score(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int risk_flags(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int risk_notifications(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int risk_history(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);

#endif
