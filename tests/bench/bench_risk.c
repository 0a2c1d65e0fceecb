/*
 * tests/bench/bench_risk.c — the risk worker's anomaly detector (workers/risk/anomaly.c) on a
 * generated, seeded data set: detection quality as the worker would see it, and the cost of
 * scoring one posting.
 *   bench_risk [--seed N] [--users N] [--scorings N] [--trainings N] [--refresh N] [--sweep]
 * Defaults: seed 42, 1,000 users, 100,000 scorings, 1,000 trainings, refresh every 50 postings.
 * --sweep adds recall and false-positive rate at a range of thresholds (how the thresholds in
 * anomaly.c were chosen, on a seed other than the reported one).
 *
 * Data set (no downloads; every number below is drawn from the seed):
 *   - each user has a salary (log-normal around 3,500.00 a month, paid on a fixed day at 6-9
 *     a.m., as a deposit or a transfer from an employer), rent (80 % of users; 25-40 % of the
 *     salary, to a landlord, days 1-3), weekly groceries at one of 2-3 shops, irregular spending
 *     (Poisson, 0.3-2.5 a day, log-normal amounts, sigma 0.8, sized to spend 40-85 % of what is
 *     left; a quarter cash withdrawals, most to 8-15 usual merchants, 15 % to any of 300),
 *     and transfers with 3-6 friends in both directions; times of day around 2 p.m. (2 % of
 *     spending at any hour), 5 % of users living at night (spending around 1 a.m.);
 *   - 10 % of users have 8-19 postings, the rest 40-500 (uniform); an opening deposit first;
 *     outgoing postings the balance does not cover are refused, as the ledger refuses them;
 *   - injected anomalies: a transfer of 20x the median |amount| of the user's postings, at
 *     3:00-3:59 a.m., to a counterparty never seen; 2-3 per user (1 for users under 20
 *     postings), at a random day after the user's 5th posting; one the balance does not cover
 *     is refused like any other (and counted).
 *
 * Replay, per user in time order, as the worker does: the history is the last <= 500 postings;
 * the first posting has nothing to compare with (method "none"); below 20 postings the robust
 * z-score; from 20 on the forest, trained with risk_model_train on the history and retrained
 * when >= 50 postings arrived since it was trained. The worker also retrains a model older than
 * 10 minutes; these users post hours apart, so in simulated time that rule would retrain before
 * almost every posting: the replay leaves it out and shows the stalest model the worker can
 * use. `--refresh 1` retrains before every posting instead, which is what the age rule amounts
 * to for these users (slow: ~1 minute per 100 users). Only the new posting is scored.
 *
 * The original's rule for contrast ("a model that flags 15 % of each history"): a forest on
 * all of the history's postings (both directions, no other rule; same refresh schedule), with
 * the threshold at the 85th percentile of its training rows' own scores, i.e. an Isolation
 * Forest with contamination 0.15; below 20 postings trained on the history at each posting
 * (from 2 postings on).
 *
 * Speed: one user with 1,500 postings; a forest trained on the first 500; the judge (features
 * against the 500, the forest, the repeat check) timed one call at a time over the 1,000 later
 * postings in turn; and, as the baseline "not cached", risk_model_train on 500 postings.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anomaly.h"
#include "proto/buf.h"
#include "proto/rng.h"

/* postings after which the replay retrains, as the worker does; --refresh changes it */
static size_t refresh = 50;
#define CONTAM    0.15
#define MERCHANTS 300
#define SHOPS     40
#define DAY_MS    86400000LL
#define HOUR_MS   3600000LL
#define START_MS  1735689600000LL /* 2025-01-01T00:00:00Z */

/* ---- a small seeded generator (proto/rng.h's splitmix64 as a stream) ---- */

static uint64_t mix(uint64_t *x)
{
    return proto_splitmix64(x);
}

static double uni(uint64_t *s) /* [0, 1) */
{
    return (double)(mix(s) >> 11) * 0x1p-53;
}

static double between(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * uni(s);
}

static int below(uint64_t *s, int k)
{
    return (int)(uni(s) * k);
}

static double normal(uint64_t *s)
{
    double u = uni(s), v = uni(s);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static int poisson_count(uint64_t *s, double lambda)
{
    double l = exp(-lambda), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= uni(s);
    } while (p > l);
    return k - 1;
}

/* amount in minor units, log-normal around `median`, at least 1.00 */
static int64_t lognormal(uint64_t *s, double median, double sigma)
{
    double a = median * exp(sigma * normal(s));
    return a < 100 ? 100 : (int64_t)llround(a);
}

static void uuid(uint64_t *s, char out[RISK_COUNTERPARTY])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = mix(s), b = mix(s);
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            out[i] = '-';
            continue;
        }
        uint64_t *w = k < 16 ? &a : &b;
        out[i] = hex[*w & 15];
        *w >>= 4;
        k++;
    }
    out[36] = '\0';
}

/* ---- the data set ---- */

struct gen_posting {
    struct risk_posting p;
    int anomaly;
};

struct user {
    struct risk_posting *p; /* time order, balances filled in */
    unsigned char *anomaly; /* per posting */
    size_t n;
    int injected, refused; /* anomalies */
};

static char merchants[MERCHANTS][RISK_COUNTERPARTY], shops[SHOPS][RISK_COUNTERPARTY];

struct gen_buf {
    struct gen_posting *v;
    size_t n, cap;
};

static void add(struct gen_buf *b, int64_t amount, int64_t at_ms, const char *cp, int anomaly)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->v = proto_xrealloc(b->v, b->cap * sizeof *b->v);
    }
    struct gen_posting *g = &b->v[b->n++];
    memset(g, 0, sizeof *g);
    g->p.amount = amount;
    g->p.at_ms = at_ms;
    snprintf(g->p.counterparty, sizeof g->p.counterparty, "%s", cp);
    g->anomaly = anomaly;
}

static int cmp_time(const void *a, const void *b)
{
    const struct gen_posting *x = a, *y = b;
    return (x->p.at_ms > y->p.at_ms) - (x->p.at_ms < y->p.at_ms);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A time of day in ms around `mean_h` hours (sd `sd_h`), wrapped into the day. */
static int64_t time_of_day(uint64_t *s, double mean_h, double sd_h)
{
    double h = fmod(mean_h + sd_h * normal(s), 24.0);
    if (h < 0)
        h += 24.0;
    return (int64_t)(h * HOUR_MS);
}

/* Sorts by time and fills balances in; drops what the balance does not cover, as the ledger
 * would. Returns the number of anomalies dropped. */
static int settle(struct gen_buf *b)
{
    qsort(b->v, b->n, sizeof *b->v, cmp_time);
    int64_t bal = 0;
    size_t k = 0;
    int refused = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct gen_posting g = b->v[i];
        if (bal + g.p.amount < 0) {
            refused += g.anomaly;
            continue;
        }
        bal += g.p.amount;
        g.p.balance_after = bal;
        b->v[k++] = g;
    }
    b->n = k;
    return refused;
}

/* User u of the data set; `length` > 0 overrides how many normal postings the user has. */
static void gen_user(uint64_t seed, int u, size_t length, struct user *out)
{
    uint64_t s = seed ^ (0x5bd1e995u * (uint64_t)(u + 1));
    mix(&s);
    int small = uni(&s) < 0.10;
    size_t target = small ? 8 + (size_t)below(&s, 12) : 40 + (size_t)below(&s, 461);
    if (length)
        target = length;
    int night = uni(&s) < 0.05;
    double day_h = night ? 1.0 : 14.0, day_sd = night ? 2.5 : 3.5;

    double salary = 350000.0 * exp(0.4 * normal(&s));
    int pay_day = (int[]){1, 15, 25, 28}[below(&s, 4)];
    int salary_deposit = uni(&s) < 0.4;
    char employer[RISK_COUNTERPARTY], landlord[RISK_COUNTERPARTY];
    uuid(&s, employer);
    uuid(&s, landlord);
    double rent = uni(&s) < 0.8 ? salary * between(&s, 0.25, 0.40) : 0;
    int rent_day = 1 + below(&s, 3);
    int grocery_wday = below(&s, 7);
    double grocery = between(&s, 5000, 12000);
    int nshops = 2 + below(&s, 2), shop[3];
    for (int i = 0; i < nshops; i++)
        shop[i] = below(&s, SHOPS);
    double lambda = between(&s, 0.3, 2.5), sigma = 0.8;
    double budget = between(&s, 0.4, 0.85) * (salary - rent - 4.3 * grocery);
    if (budget < 20000)
        budget = 20000;
    double spend_median = budget / (lambda * 30.4 * exp(sigma * sigma / 2));
    int nfav = 8 + below(&s, 8), fav[16];
    for (int i = 0; i < nfav; i++)
        fav[i] = below(&s, MERCHANTS);
    int nfriends = 3 + below(&s, 4);
    char friends[6][RISK_COUNTERPARTY];
    for (int i = 0; i < nfriends; i++)
        uuid(&s, friends[i]);

    struct gen_buf b = {0};
    int64_t day0 = START_MS + below(&s, 365) * DAY_MS;
    add(&b, (int64_t)(salary * between(&s, 0.5, 2.0)), day0 + time_of_day(&s, 11, 2), "", 0);
    /* normal life, day by day, until the user has `target` postings */
    for (int64_t d = 0; b.n < target; d++) {
        int64_t day = day0 + d * DAY_MS;
        time_t secs = (time_t)(day / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        if (tm.tm_mday == pay_day)
            add(&b, (int64_t)salary, day + time_of_day(&s, 7.5, 0.7),
                salary_deposit ? "" : employer, 0);
        if (rent > 0 && tm.tm_mday == rent_day)
            add(&b, -(int64_t)rent, day + time_of_day(&s, 10, 1), landlord, 0);
        if (tm.tm_wday == grocery_wday)
            add(&b, -lognormal(&s, grocery, 0.3), day + time_of_day(&s, 15, 2.5),
                shops[shop[below(&s, nshops)]], 0);
        for (int k = poisson_count(&s, lambda); k > 0; k--) {
            double r = uni(&s);
            const char *cp = r < 0.25   ? ""
                             : r < 0.85 ? merchants[fav[below(&s, nfav)]]
                                        : merchants[below(&s, MERCHANTS)];
            int64_t at =
                uni(&s) < 0.02 ? (int64_t)(uni(&s) * DAY_MS) : time_of_day(&s, day_h, day_sd);
            add(&b, -lognormal(&s, spend_median, sigma), day + at, cp, 0);
        }
        if (uni(&s) < 0.08) {
            int64_t a = lognormal(&s, 3000, 0.7);
            add(&b, uni(&s) < 0.6 ? -a : a, day + time_of_day(&s, 17, 3),
                friends[below(&s, nfriends)], 0);
        }
    }
    settle(&b);
    /* anomalies: 20x the median |amount|, 3 a.m., a counterparty nobody has */
    int64_t *abs_amounts = proto_xmalloc(b.n * sizeof *abs_amounts);
    for (size_t i = 0; i < b.n; i++)
        abs_amounts[i] = llabs(b.v[i].p.amount);
    qsort(abs_amounts, b.n, sizeof *abs_amounts, cmp_i64);
    int64_t median = abs_amounts[b.n / 2];
    free(abs_amounts);
    int want = small ? 1 : 2 + below(&s, 2);
    int64_t first = b.v[b.n > 5 ? 5 : b.n - 1].p.at_ms, last = b.v[b.n - 1].p.at_ms;
    int64_t first_day = (first / DAY_MS + 1) * DAY_MS, days = (last - first_day) / DAY_MS + 1;
    if (days < 1)
        days = 1;
    for (int k = 0; k < want; k++) {
        char cp[RISK_COUNTERPARTY];
        uuid(&s, cp);
        int64_t at =
            first_day + below(&s, (int)days) * DAY_MS + 3 * HOUR_MS + (int64_t)(uni(&s) * HOUR_MS);
        add(&b, -20 * median, at, cp, 1);
    }
    out->injected = want;
    out->refused = settle(&b);
    out->p = proto_xmalloc(b.n * sizeof *out->p);
    out->anomaly = proto_xmalloc(b.n);
    for (size_t i = 0; i < b.n; i++) {
        out->p[i] = b.v[i].p;
        out->anomaly[i] = (unsigned char)b.v[i].anomaly;
    }
    out->n = b.n;
    free(b.v);
}

static void user_free(struct user *u)
{
    free(u->p);
    free(u->anomaly);
}

/* ---- replay ---- */

struct counts {
    long tp, fp, fn, tn;
};

static void count(struct counts *c, int flagged, int anomaly)
{
    if (anomaly)
        flagged ? c->tp++ : c->fn++;
    else
        flagged ? c->fp++ : c->tn++;
}

struct scored {
    double score;
    int anomaly;
};

struct scored_buf {
    struct scored *v;
    size_t n, cap;
};

static void keep(struct scored_buf *b, double score, int anomaly)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 4096;
        b->v = proto_xrealloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = (struct scored){score, anomaly};
}

struct quality {
    struct counts ours[2], rule15[2]; /* [0] robust z (or < 20 prior, for the rule), [1] forest */
    long none, postings, anomalies, normal_out, fp_out;
    struct scored_buf scores[2]; /* ours, for --sweep; recurring postings score -1 */
    double forest_bytes_sum;
    long forests;
    size_t forest_bytes_max;
};

/* The original's model: a forest on every posting of the history (both directions, no rules),
 * and its threshold, the 85th percentile of the training rows' own scores: a forest with
 * contamination 0.15 flags the top 15 % of what it was trained on. NULL below 2 postings. */
static struct risk_forest *train_rule15(const struct risk_posting *h, size_t n, uint64_t seed,
                                        double *threshold)
{
    if (n < 2)
        return NULL;
    double(*x)[RISK_FEATURES] = proto_xmalloc(n * sizeof *x);
    double *s = proto_xmalloc(n * sizeof *s);
    risk_history_features(h, n, x);
    struct risk_forest *f = risk_forest_train((const double(*)[RISK_FEATURES])x, n, seed);
    for (size_t i = 0; i < n; i++)
        s[i] = risk_forest_score(f, x[i]);
    qsort(s, n, sizeof *s, cmp_double);
    /* the top 15 % of n rows: the rows from index floor(0.85 n) up */
    *threshold = s[(size_t)floor((1.0 - CONTAM) * (double)n)];
    free(s);
    free(x);
    return f;
}

static void replay(const struct user *u, uint64_t seed, struct quality *q)
{
    struct risk_forest *model = NULL, *model15 = NULL;
    double t15 = 0;
    size_t trained_at = 0;
    int trained = 0;
    for (size_t i = 0; i < u->n; i++) {
        const struct risk_posting *p = &u->p[i];
        int anomaly = u->anomaly[i];
        /* the history as the worker reads it: the last nprev postings, oldest first */
        size_t nprev = i < RISK_HISTORY_MAX ? i : RISK_HISTORY_MAX;
        const struct risk_posting *hist = p - nprev;
        q->postings++;
        q->anomalies += anomaly;
        if (nprev == 0) {
            q->none++;
            continue;
        }
        uint64_t tseed = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15u);
        /* the worker's schedule: a model when the history reaches RISK_FOREST_MIN, then again
         * every `refresh` postings; the original's rule trains at every posting below that */
        if (nprev >= RISK_FOREST_MIN && (!trained || i - trained_at >= refresh)) {
            risk_forest_free(model);
            model = risk_model_train(hist, nprev, tseed);
            trained = 1;
            trained_at = i;
            if (model) {
                size_t bytes = risk_forest_bytes(model);
                q->forest_bytes_sum += (double)bytes;
                q->forests++;
                if (bytes > q->forest_bytes_max)
                    q->forest_bytes_max = bytes;
            }
            risk_forest_free(model15);
            model15 = train_rule15(hist, nprev, tseed, &t15);
        } else if (nprev < RISK_FOREST_MIN) {
            risk_forest_free(model15);
            model15 = train_rule15(hist, nprev, tseed, &t15);
        }

        struct risk_anomaly a;
        risk_anomaly_judge(model, hist, nprev, p, &a);
        int d = a.method == RISK_METHOD_FOREST;
        count(&q->ours[d], a.flagged, anomaly);
        keep(&q->scores[d], a.recurring ? -1 : a.score, anomaly);
        if (!anomaly && p->amount < 0) {
            q->normal_out++;
            q->fp_out += a.flagged;
        }

        int f15 = 0;
        if (model15) {
            double x[RISK_FEATURES];
            risk_features(hist, nprev, p, x);
            f15 = risk_forest_score(model15, x) >= t15;
        }
        count(&q->rule15[nprev >= RISK_FOREST_MIN], f15, anomaly);
    }
    risk_forest_free(model15);
    risk_forest_free(model);
}

static void print_row(const char *name, const struct counts *c)
{
    long pos = c->tp + c->fn, neg = c->fp + c->tn;
    double precision = c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : 0;
    double recall = pos ? (double)c->tp / (double)pos : 0;
    double fpr = neg ? (double)c->fp / (double)neg : 0;
    printf("  %-22s %8ld %9ld %6ld %7ld %6ld %8ld %9.3f %7.3f %7.2f%%\n", name, pos + neg, pos,
           c->tp, c->fp, c->fn, c->tn, precision, recall, 100 * fpr);
}

static void print_table(const char *title, const struct counts c[2], const char *const rows[2])
{
    struct counts all = {c[0].tp + c[1].tp, c[0].fp + c[1].fp, c[0].fn + c[1].fn,
                         c[0].tn + c[1].tn};
    printf("%s\n", title);
    printf("  %-22s %8s %9s %6s %7s %6s %8s %9s %7s %8s\n", "detector", "postings", "anomalies",
           "TP", "FP", "FN", "TN", "precision", "recall", "FPR");
    print_row(rows[1], &c[1]);
    print_row(rows[0], &c[0]);
    print_row("all", &all);
}

static void sweep(const char *name, const struct scored_buf *b, double lo, double hi, double step)
{
    printf("sweep %s: threshold recall FPR (flagged when score >= threshold, not recurring)\n",
           name);
    for (double t = lo; t <= hi + step / 2; t += step) {
        long tp = 0, pos = 0, fp = 0, neg = 0;
        for (size_t i = 0; i < b->n; i++) {
            int f = b->v[i].score >= t;
            if (b->v[i].anomaly) {
                pos++;
                tp += f;
            } else {
                neg++;
                fp += f;
            }
        }
        printf("  %6.3f %6.3f %6.2f%%\n", t, pos ? (double)tp / (double)pos : 0,
               neg ? 100.0 * (double)fp / (double)neg : 0);
    }
}

/* ---- speed ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void print_latency(const char *name, int64_t *ns, size_t n)
{
    qsort(ns, n, sizeof *ns, cmp_i64);
    printf("  %-44s n=%zu p50 %.1f us  p99 %.1f us  max %.1f us\n", name, n,
           (double)ns[n / 2] / 1e3, (double)ns[(size_t)(0.99 * (double)(n - 1))] / 1e3,
           (double)ns[n - 1] / 1e3);
}

static void speed(uint64_t seed, long scorings, long trainings)
{
    /* one user with a long history: 1,500 postings, the first 500 of them the history */
    struct user u = {0};
    gen_user(seed, 1000000, 1500, &u);
    const struct risk_posting *h = u.p;
    /* the new postings to score, cycled: the ones after the history, so the features and the
     * trees' paths differ from one scoring to the next */
    size_t nnew = u.n - RISK_HISTORY_MAX;
    struct risk_forest *f = risk_model_train(h, RISK_HISTORY_MAX, seed);
    int64_t *ns = proto_xmalloc((size_t)scorings * sizeof *ns);
    long flagged = 0;
    for (long k = 0; k < scorings; k++) {
        struct risk_anomaly a;
        int64_t t0 = now_ns();
        risk_anomaly_judge(f, h, RISK_HISTORY_MAX, &h[RISK_HISTORY_MAX + (size_t)k % nnew], &a);
        ns[k] = now_ns() - t0;
        flagged += a.flagged;
    }
    printf("speed (one user, %d-posting history, %zu different new postings cycled; "
           "forest %zu bytes):\n",
           RISK_HISTORY_MAX, nnew, risk_forest_bytes(f));
    print_latency("score one posting (features + judge), cached", ns, (size_t)scorings);
    int64_t *tn = proto_xmalloc((size_t)trainings * sizeof *tn);
    for (long k = 0; k < trainings; k++) {
        int64_t t0 = now_ns();
        struct risk_forest *g =
            risk_model_train(h + (size_t)k % nnew, RISK_HISTORY_MAX, seed + (uint64_t)k);
        risk_forest_free(g);
        tn[k] = now_ns() - t0;
    }
    print_latency("baseline: train per posting (risk_model_train)", tn, (size_t)trainings);
    printf("  (%ld of the cached scorings flagged)\n", flagged);
    free(tn);
    free(ns);
    risk_forest_free(f);
    user_free(&u);
}

int main(int argc, char **argv)
{
    uint64_t seed = 42;
    long users = 1000, scorings = 100000, trainings = 1000;
    int do_sweep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sweep")) {
            do_sweep = 1;
        } else if (i + 1 < argc && !strcmp(argv[i], "--seed")) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (i + 1 < argc && !strcmp(argv[i], "--users")) {
            users = atol(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--scorings")) {
            scorings = atol(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--refresh")) {
            long r = atol(argv[++i]);
            refresh = r > 0 ? (size_t)r : 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--trainings")) {
            trainings = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_risk [--seed N] [--users N] [--scorings N] "
                            "[--trainings N] [--refresh N] [--sweep]\n");
            return 2;
        }
    }
    if (users < 1 || scorings < 1 || trainings < 1 || refresh < 1) {
        fprintf(stderr, "--users, --scorings, --trainings and --refresh must be >= 1\n");
        return 2;
    }
    uint64_t s = seed;
    for (int i = 0; i < MERCHANTS; i++)
        uuid(&s, merchants[i]);
    for (int i = 0; i < SHOPS; i++)
        uuid(&s, shops[i]);

    struct quality q = {0};
    long small = 0, injected = 0, refused = 0;
    int64_t t0 = now_ns();
    for (long k = 0; k < users; k++) {
        struct user u;
        gen_user(seed, (int)k, 0, &u);
        small += u.n < RISK_FOREST_MIN;
        injected += u.injected;
        refused += u.refused;
        replay(&u, seed * 1000003u + (uint64_t)k, &q);
        user_free(&u);
    }
    double secs = (double)(now_ns() - t0) / 1e9;

    printf("data: seed %" PRIu64 ", %ld users (%ld with < %d postings), %ld postings, %ld "
           "anomalies (%ld injected, %ld refused for want of balance)\n",
           seed, users, small, RISK_FOREST_MIN, q.postings, q.anomalies, injected, refused);
    printf("replay: history = last <= %d postings; first posting: method none (%ld); forest "
           "from %d prior postings, retrained every %zu postings (%ld forests trained, mean %.0f "
           "bytes, max %zu); %.1f s\n",
           RISK_HISTORY_MAX, q.none, RISK_FOREST_MIN, refresh, q.forests,
           q.forests ? q.forest_bytes_sum / (double)q.forests : 0, q.forest_bytes_max, secs);
    char title[200];
    snprintf(title, sizeof title,
             "ours (flagged: forest s >= %.2f or robust z >= %.2f, outgoing, not recurring; FPR = "
             "FP / normal postings):",
             risk_forest_threshold, risk_z_threshold);
    static const char *const ours_rows[2] = {"robust_z", "isolation_forest"};
    static const char *const rule_rows[2] = {"< 20 prior postings", ">= 20 prior postings"};
    print_table(title, q.ours, ours_rows);
    printf("  (FPR over the outgoing normal postings alone: %ld of %ld, %.2f%%)\n", q.fp_out,
           q.normal_out, q.normal_out ? 100.0 * (double)q.fp_out / (double)q.normal_out : 0);
    print_table("original's rule (a forest on all postings flagging the top 15% of each history; "
                "below 20 postings trained at each posting):",
                q.rule15, rule_rows);
    if (do_sweep) {
        sweep("isolation_forest", &q.scores[1], 0.50, 0.80, 0.01);
        sweep("robust_z", &q.scores[0], 1.0, 8.0, 0.25);
    }
    speed(seed, scorings, trainings);
    free(q.scores[0].v);
    free(q.scores[1].v);
    return 0;
}
