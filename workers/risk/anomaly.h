/*
 * workers/risk/anomaly.h — is one new posting unusual for this user? Pure C, no I/O: the
 * worker (events.c, model cache in cache.c) and tests/bench/bench_risk.c both call it, and
 * tests/unit/test_risk_anomaly.c checks it alone. Implemented in anomaly.c.
 *
 * Two detectors, chosen by how much history a user has:
 *   - at least RISK_FOREST_MIN postings: an Isolation Forest (Liu, Ting, Zhou 2008) trained on
 *     the outgoing postings among the user's last <= RISK_HISTORY_MAX, scoring only the new one;
 *   - fewer: a robust z-score of the new posting's log amount against the median and MAD of
 *     the history's outgoing postings (of all its postings while fewer than 3 are outgoing;
 *     Iglewicz and Hoaglin's modified z, 0.6745 (x - median) / MAD).
 * Both judge money leaving the account: an incoming posting is never flagged, and neither is
 * one that repeats an earlier posting (same counterparty and direction, amount within 10 %):
 * a recurring payment is not unusual, however rare it is among daily ones.
 * Features are doubles: they are statistics of a posting, not money (amounts stay int64 minor
 * units everywhere else). Thread-safety: functions are reentrant; a trained forest is read-only
 * and may be shared.
 */
#ifndef RISK_ANOMALY_H
#define RISK_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#define RISK_FEATURES     5   /* see risk_features */
#define RISK_HISTORY_MAX  500 /* postings a model is trained on, at most */
#define RISK_FOREST_MIN   20  /* postings below which the z-score is used instead */
#define RISK_TREES        100
#define RISK_SUBSAMPLE    256
#define RISK_COUNTERPARTY 37 /* a UUID and its NUL */

/* One posting of a user's account as the detector sees it. */
struct risk_posting {
    int64_t amount;        /* signed minor units: < 0 out of the account, > 0 into it */
    int64_t balance_after; /* minor units, the account's balance after the posting */
    int64_t at_ms;         /* unix ms */
    /* the other account of a transfer between users, lowercase; "" for a deposit or a
     * withdrawal (the external account, "cash"), which counts as one counterparty */
    char counterparty[RISK_COUNTERPARTY];
};

/*
 * The feature vector of p given the postings before it, oldest first (prev[0..nprev)):
 *   0  log(1 + |amount| in minor units)
 *   1  |amount| / balance before p (balance_after - amount), the balance floored at 1 minor
 *      unit, and the ratio capped (so an empty account does not dominate)
 *   2  hour of day of at_ms, UTC (0..23, fractional)
 *   3  log(1 + minutes since the previous posting); for the first posting, the cap value
 *   4  1 when p's counterparty appears in prev, else 0
 * The details (caps) are documented in anomaly.c.
 */
void risk_features(const struct risk_posting *prev, size_t nprev, const struct risk_posting *p,
                   double out[RISK_FEATURES]);

/* The rows risk_model_train trains on: out[i] = risk_features(hist, i, &hist[i]) for i < n, in
 * O(n) (a set of the counterparties so far, not a scan per posting). out holds n rows. */
void risk_history_features(const struct risk_posting *hist, size_t n, double (*out)[RISK_FEATURES]);

/* c(n) = 2 H(n - 1) - 2 (n - 1) / n, the average path length of an unsuccessful search in a
 * binary search tree of n points (H the harmonic number, H(i) ~ ln i + 0.5772156649); c(1) = 0,
 * c(2) = 1. */
double risk_cn(size_t n);

/* A trained Isolation Forest (opaque, read-only once trained). */
struct risk_forest;

/*
 * Trains RISK_TREES trees, each on a subsample of min(n, RISK_SUBSAMPLE) rows drawn without
 * replacement, grown to depth ceil(log2(subsample)), from a PRNG seeded with `seed` only: the
 * same rows and seed give the same forest (and the same scores). x is n rows of RISK_FEATURES.
 * Returns the forest (risk_forest_free it) or NULL when n < 2; out of memory aborts (the x*
 * allocators). Non-finite features count as 0.
 */
struct risk_forest *risk_forest_train(const double (*x)[RISK_FEATURES], size_t n, uint64_t seed);

/* s(x, n) = 2^(-E(h(x)) / c(psi)), in (0, 1): near 1 is anomalous, <= 0.5 is ordinary. */
double risk_forest_score(const struct risk_forest *f, const double x[RISK_FEATURES]);

/* Memory held by f in bytes (for the cache's budget). */
size_t risk_forest_bytes(const struct risk_forest *f);

void risk_forest_free(struct risk_forest *f);

/*
 * The modified z-score of x against v[0..n) (n >= 1; v is not modified): 0.6745 (x - median) /
 * MAD. A MAD of 0 (all values alike) is floored as documented in anomaly.c, so the result is
 * always finite.
 */
double risk_robust_z(const double *v, size_t n, double x);

/* What the detector said about one posting. */
enum risk_method {
    RISK_METHOD_NONE,   /* no history at all: nothing to compare with */
    RISK_METHOD_ZSCORE, /* fewer than RISK_FOREST_MIN postings */
    RISK_METHOD_FOREST,
};
const char *risk_method_name(enum risk_method m); /* "none", "robust_z", "isolation_forest" */

struct risk_anomaly {
    enum risk_method method;
    double score;     /* forest: s in (0,1); z-score: the modified z of log amount; 0 for an
                         incoming posting (not scored) and for method none */
    double threshold; /* what score is compared with (0 for method none) */
    int flagged;      /* score >= threshold, for an outgoing posting that is not recurring
                         (z-score: so only unusually large amounts) */
    int points;       /* 0 when not flagged, else 5..30, growing with the score */
    int recurring;    /* an outgoing posting that repeats an earlier one (same counterparty,
                         amount within 10 %): never flagged */
};

/* The thresholds: documented in anomaly.c, where their values are chosen. */
extern const double risk_forest_threshold;
extern const double risk_z_threshold;

/*
 * Judges p against the user's postings before it (prev, oldest first, nprev of them: the last
 * <= RISK_HISTORY_MAX) with a forest trained on them (f, from risk_model_train; it may have been
 * trained a few postings earlier, which is what a cache does). Method: none when nprev is 0;
 * the forest when nprev >= RISK_FOREST_MIN and f is not NULL; otherwise the z-score (also for a
 * long history whose risk_model_train gave NULL). Costs ~2 us with 500 postings (features,
 * 100 trees, the repeat check); allocates nothing. Any thread; f is only read.
 */
void risk_anomaly_judge(const struct risk_forest *f, const struct risk_posting *prev, size_t nprev,
                        const struct risk_posting *p, struct risk_anomaly *out);

/*
 * Trains the forest the judge uses for a user's postings hist[0..n) (oldest first, n <=
 * RISK_HISTORY_MAX): features of each posting against those before it, the outgoing ones
 * (amount < 0) as rows. NULL when n < RISK_FOREST_MIN or fewer than RISK_FOREST_MIN / 2 of them
 * are outgoing (the judge then uses the z-score); out of memory aborts. Costs ~1 ms for 500
 * postings and allocates ~0.3 MB meanwhile; the forest holds ~50 KB (risk_forest_bytes). The
 * same hist and seed give the same forest: seed it from something stable (the worker: RISK_SEED and
 * the user id), so that a re-run scores the same. Any thread.
 */
struct risk_forest *risk_model_train(const struct risk_posting *hist, size_t n, uint64_t seed);

#endif
