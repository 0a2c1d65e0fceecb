/* The risk worker's anomaly detector alone (workers/risk/anomaly.c, contract in anomaly.h): c(n),
 * the forest's determinism and what it isolates, the robust z-score, the features of a posting,
 * and the judge's method, flags and points. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "ft_test.h"

#define T0      1735689600000LL /* 2025-01-01T00:00:00Z */
#define HOUR_MS 3600000LL
#define DAY_MS  (24 * HOUR_MS)

/* A tiny deterministic generator for test data (not the detector's PRNG). */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

static double unit(uint64_t *s) /* [0, 1) */
{
    return (double)lcg(s) / 2147483648.0;
}

static struct risk_posting posting(int64_t amount, int64_t balance_after, int64_t at_ms,
                                   const char *counterparty)
{
    struct risk_posting p;
    memset(&p, 0, sizeof p);
    p.amount = amount;
    p.balance_after = balance_after;
    p.at_ms = at_ms;
    snprintf(p.counterparty, sizeof p.counterparty, "%s", counterparty);
    return p;
}

static const char *const shops[] = {
    "0b6e3c1a-4f7e-4a52-9d0c-1f2a3b4c5d6e",
    "1c7f4d2b-5a8f-4b63-8e1d-2a3b4c5d6e7f",
    "2d8a5e3c-6b9a-4c74-9f2e-3b4c5d6e7f8a",
    "3e9b6f4d-7cab-4d85-8a3f-4c5d6e7f8a9b",
    "", /* cash */
};
#define NSHOPS (sizeof shops / sizeof shops[0])
static const char *const stranger = "9f0e1d2c-3b4a-4958-8776-655443322110";

/* n ordinary outgoing postings: 5.00-45.00 at 9:00-19:00, a few hours apart, at one of the
 * shops or cash; the balance starts at 10,000.00 and is topped up by nothing (it stays high). */
static void ordinary_history(struct risk_posting *h, size_t n, uint64_t seed)
{
    int64_t bal = 1000000, day = T0;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 0)
            day += DAY_MS;
        int64_t amount = -(500 + (int64_t)(unit(&s) * 4000));
        bal += amount;
        int64_t at = day + (9 + (int64_t)(i % 3) * 4) * HOUR_MS + (int64_t)(unit(&s) * HOUR_MS);
        h[i] = posting(amount, bal, at, shops[lcg(&s) % NSHOPS]);
    }
}

/* The posting after h[n - 1]: amount (< 0 out), at `hour` of the next day, to `cp`. */
static struct risk_posting next_posting(const struct risk_posting *h, size_t n, int64_t amount,
                                        int64_t hour, const char *cp)
{
    int64_t day = (h[n - 1].at_ms / DAY_MS + 1) * DAY_MS;
    return posting(amount, h[n - 1].balance_after + amount, day + hour * HOUR_MS, cp);
}

/* ---- c(n) ---- */

static void test_risk_anomaly_cn_values(void)
{
    CU_ASSERT_EQUAL(risk_cn(0), 0.0);
    CU_ASSERT_EQUAL(risk_cn(1), 0.0);
    CU_ASSERT_DOUBLE_EQUAL(risk_cn(2), 1.0, 1e-12);
    /* 2 H(2) - 2 * 2/3 = 3 - 4/3 */
    CU_ASSERT_DOUBLE_EQUAL(risk_cn(3), 5.0 / 3.0, 1e-12);
    /* 2 H(255) - 2 * 255/256: 10.2487 (the paper's ln + gamma estimate gives 10.2448) */
    CU_ASSERT_DOUBLE_EQUAL(risk_cn(256), 10.24, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(risk_cn(256), 10.2487, 0.0005);
}

static void test_risk_anomaly_cn_monotonic(void)
{
    /* across the switch from the exact sum to the asymptotic expansion too */
    int ok = 1;
    for (size_t n = 2; n < 5000; n++)
        if (!(risk_cn(n) > risk_cn(n - 1)))
            ok = 0;
    CU_ASSERT(ok);
    /* H(65) summed term by term against the expansion used above 64 */
    double h = 0;
    for (int k = 1; k <= 65; k++)
        h += 1.0 / k;
    CU_ASSERT_DOUBLE_EQUAL(risk_cn(66), 2 * h - 2.0 * 65 / 66, 1e-9);
}

/* ---- forest ---- */

/* n rows: a cloud of 5 features in [0, 1). */
static double (*cloud(size_t n, uint64_t seed))[RISK_FEATURES]
{
    double(*x)[RISK_FEATURES] = malloc(n * sizeof *x);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < RISK_FEATURES; k++)
            x[i][k] = unit(&s);
    return x;
}

static void test_risk_anomaly_forest_deterministic(void)
{
    double(*x)[RISK_FEATURES] = cloud(400, 11);
    double(*probe)[RISK_FEATURES] = cloud(300, 12);
    for (int k = 0; k < RISK_FEATURES; k++)
        probe[299][k] = 5.0; /* and one far away */
    struct risk_forest *a = risk_forest_train((const double(*)[RISK_FEATURES])x, 400, 7);
    struct risk_forest *b = risk_forest_train((const double(*)[RISK_FEATURES])x, 400, 7);
    struct risk_forest *c = risk_forest_train((const double(*)[RISK_FEATURES])x, 400, 8);
    CU_ASSERT_FATAL(a && b && c);
    int same = 1, differ = 0, in_range = 1;
    for (int i = 0; i < 300; i++) {
        double sa = risk_forest_score(a, probe[i]), sb = risk_forest_score(b, probe[i]);
        double sc = risk_forest_score(c, probe[i]);
        same &= sa == sb;
        differ += sa != sc;
        in_range &= sa > 0 && sa < 1;
    }
    CU_ASSERT(same);
    CU_ASSERT(differ > 250); /* another seed, another forest: nearly every score moves */
    CU_ASSERT(in_range);
    CU_ASSERT_EQUAL(risk_forest_bytes(a), risk_forest_bytes(b));
    CU_ASSERT(risk_forest_bytes(a) > 0);
    CU_ASSERT(risk_forest_bytes(a) <= 200 * 1024);
    risk_forest_free(a);
    risk_forest_free(b);
    risk_forest_free(c);
    free(probe);
    free(x);
}

static void test_risk_anomaly_forest_outlier(void)
{
    /* 500 rows around (0.5, ..., 0.5) +- 0.05; one probe far out on every feature, one only on
     * feature 2 */
    double(*x)[RISK_FEATURES] = cloud(500, 21);
    for (int i = 0; i < 500; i++)
        for (int k = 0; k < RISK_FEATURES; k++)
            x[i][k] = 0.45 + x[i][k] / 10;
    struct risk_forest *f = risk_forest_train((const double(*)[RISK_FEATURES])x, 500, 3);
    CU_ASSERT_FATAL(f != NULL);
    double far[RISK_FEATURES] = {3, 3, 3, 3, 3}, one[RISK_FEATURES] = {0.5, 0.5, 3, 0.5, 0.5};
    double centre[RISK_FEATURES] = {0.5, 0.5, 0.5, 0.5, 0.5};
    double s_far = risk_forest_score(f, far), s_one = risk_forest_score(f, one);
    double s_centre = risk_forest_score(f, centre);
    CU_ASSERT(s_far >= risk_forest_threshold);
    CU_ASSERT(s_far > s_one);
    CU_ASSERT(s_one > s_centre);
    CU_ASSERT(s_centre < risk_forest_threshold);
    CU_ASSERT(s_centre < 0.5);
    /* every training row scores below the far one, and nearly all below the threshold */
    int below_far = 1, flagged = 0;
    for (int i = 0; i < 500; i++) {
        double s = risk_forest_score(f, x[i]);
        below_far &= s < s_far;
        flagged += s >= risk_forest_threshold;
    }
    CU_ASSERT(below_far);
    CU_ASSERT(flagged <= 5);
    risk_forest_free(f);
    free(x);
}

static void test_risk_anomaly_forest_edge_inputs(void)
{
    double x[3][RISK_FEATURES] = {{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 6}};
    CU_ASSERT_PTR_NULL(risk_forest_train((const double(*)[RISK_FEATURES])x, 1, 1));
    CU_ASSERT_PTR_NULL(risk_forest_train((const double(*)[RISK_FEATURES])x, 0, 1));
    CU_ASSERT_PTR_NULL(risk_forest_train(NULL, 5, 1));
    /* two identical rows: nothing to split, every tree one leaf of 2, h = c(2) = 1, so s is
     * 2^(-1 / c(2)) = 0.5 */
    struct risk_forest *f = risk_forest_train((const double(*)[RISK_FEATURES])x, 2, 1);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_DOUBLE_EQUAL(risk_forest_score(f, x[0]), 0.5, 1e-12);
    risk_forest_free(f);
    /* a NaN or an infinity counts as 0 and breaks nothing */
    double bad[3][RISK_FEATURES] = {{NAN, 2, 3, 4, 5}, {1, INFINITY, 3, 4, 5}, {1, 2, 3, 4, 6}};
    f = risk_forest_train((const double(*)[RISK_FEATURES])bad, 3, 1);
    CU_ASSERT_FATAL(f != NULL);
    double s = risk_forest_score(f, bad[0]);
    CU_ASSERT(s > 0 && s < 1);
    risk_forest_free(f);
    risk_forest_free(NULL);
    CU_ASSERT_EQUAL(risk_forest_bytes(NULL), 0);
}

/* ---- robust z ---- */

static void test_risk_anomaly_robust_z_known(void)
{
    /* odd n: median 3, |v - 3| = 2 1 0 1 2, MAD 1 */
    const double odd[] = {5, 1, 4, 2, 3};
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(odd, 5, 5), 0.6745 * 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(odd, 5, 3), 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(odd, 5, 0), -0.6745 * 3, 1e-12);
    /* v is not modified (the median sorts a copy) */
    CU_ASSERT(odd[0] == 5 && odd[1] == 1 && odd[4] == 3);
    /* even n: median (20 + 30) / 2 = 25, |v - 25| = 15 5 5 15, MAD 10 */
    const double even[] = {40, 10, 30, 20};
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(even, 4, 45), 0.6745 * 20 / 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(even, 4, 25), 0, 1e-12);
    /* one value: median itself, MAD 0 -> the floor */
    const double one[] = {7};
    double z1 = risk_robust_z(one, 1, 8);
    CU_ASSERT(isfinite(z1) && z1 > 0);
    /* a MAD of 0 (all alike) is floored: finite, and the same floor whatever the values */
    const double same[] = {2, 2, 2, 2, 2, 2};
    double z = risk_robust_z(same, 6, 3);
    CU_ASSERT(isfinite(z));
    CU_ASSERT(z > 0);
    CU_ASSERT_DOUBLE_EQUAL(z, z1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(risk_robust_z(same, 6, 2), 0, 1e-12);
    /* a MAD of 0 with outliers beside the majority: still finite */
    const double mostly[] = {1, 1, 1, 1, 9};
    CU_ASSERT(isfinite(risk_robust_z(mostly, 5, 100)));
    CU_ASSERT_EQUAL(risk_robust_z(NULL, 0, 1), 0);
}

/* ---- features ---- */

static void test_risk_anomaly_features(void)
{
    /* 600.00 out of 975.00 at 13:30, 59 minutes after the previous posting, to a known shop */
    const int64_t at = T0 + 13 * HOUR_MS + 30 * 60000;
    struct risk_posting prev[2] = {
        posting(100000, 100000, T0, ""),
        posting(-2500, 97500, at - 59 * 60000, shops[0]),
    };
    struct risk_posting p = posting(-60000, 37500, at, shops[0]);
    double x[RISK_FEATURES];
    risk_features(prev, 2, &p, x);
    CU_ASSERT_DOUBLE_EQUAL(x[0], log1p(60000), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(x[1], 60000.0 / 97500.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(x[2], 13.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(x[3], log1p(59), 1e-12);
    CU_ASSERT_EQUAL(x[4], 1.0);
    /* a new counterparty; cash ("") counts as one, seen when any earlier posting was cash */
    strcpy(p.counterparty, stranger);
    risk_features(prev, 2, &p, x);
    CU_ASSERT_EQUAL(x[4], 0.0);
    p.counterparty[0] = '\0';
    risk_features(prev, 2, &p, x);
    CU_ASSERT_EQUAL(x[4], 1.0);
    risk_features(&prev[1], 1, &p, x);
    CU_ASSERT_EQUAL(x[4], 0.0);
    /* the first posting (1,000.00 into an empty account at midnight): no previous one, so the
     * gap's cap (30 days) and nothing seen; the balance before, 0, floored at 1 minor unit and
     * the ratio capped at 4 */
    risk_features(NULL, 0, &prev[0], x);
    CU_ASSERT_DOUBLE_EQUAL(x[3], log1p(30 * 24 * 60), 1e-12);
    CU_ASSERT_EQUAL(x[4], 0.0);
    CU_ASSERT_DOUBLE_EQUAL(x[2], 0.0, 1e-12);
    CU_ASSERT_EQUAL(x[1], 4.0);
    /* 4x the balance before is the cap itself, a quarter of it is not capped */
    struct risk_posting four = posting(1000, 1250, T0, "");
    risk_features(NULL, 0, &four, x);
    CU_ASSERT_EQUAL(x[1], 4.0);
    struct risk_posting quarter = posting(250, 1250, T0, "");
    risk_features(NULL, 0, &quarter, x);
    CU_ASSERT_DOUBLE_EQUAL(x[1], 0.25, 1e-12);
    /* a clock that went backwards: gap 0; a gap beyond 30 days: the cap; before 1970: the hour
     * is still in [0, 24) */
    struct risk_posting back = posting(-100, 0, prev[1].at_ms - 5000, "");
    risk_features(prev, 2, &back, x);
    CU_ASSERT_DOUBLE_EQUAL(x[3], 0.0, 1e-12);
    struct risk_posting late = posting(-100, 0, prev[1].at_ms + 90 * DAY_MS, "");
    risk_features(prev, 2, &late, x);
    CU_ASSERT_DOUBLE_EQUAL(x[3], log1p(30 * 24 * 60), 1e-12);
    struct risk_posting old = posting(-100, 0, -HOUR_MS, "");
    risk_features(NULL, 0, &old, x);
    CU_ASSERT_DOUBLE_EQUAL(x[2], 23.0, 1e-12);
    /* extreme amounts stay finite */
    struct risk_posting huge = posting(INT64_MIN, INT64_MAX, T0, "");
    risk_features(NULL, 0, &huge, x);
    for (int k = 0; k < RISK_FEATURES; k++)
        CU_ASSERT(isfinite(x[k]));
}

static void test_risk_anomaly_history_features_match(void)
{
    struct risk_posting h[120];
    ordinary_history(h, 120, 5);
    strcpy(h[50].counterparty, stranger);
    strcpy(h[90].counterparty, stranger);
    double(*rows)[RISK_FEATURES] = malloc(120 * sizeof *rows);
    risk_history_features(h, 120, rows);
    int same = 1;
    for (size_t i = 0; i < 120; i++) {
        double x[RISK_FEATURES];
        risk_features(h, i, &h[i], x);
        same &= memcmp(x, rows[i], sizeof x) == 0;
    }
    CU_ASSERT(same);
    CU_ASSERT_EQUAL(rows[50][4], 0.0);
    CU_ASSERT_EQUAL(rows[90][4], 1.0);
    free(rows);
}

/* ---- the judge ---- */

static void test_risk_anomaly_judge_method_at_20(void)
{
    struct risk_posting h[40];
    ordinary_history(h, 40, 9);
    struct risk_forest *f = risk_model_train(h, 20, 1);
    CU_ASSERT_FATAL(f != NULL);
    struct risk_anomaly a;
    risk_anomaly_judge(f, h, 0, &h[0], &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_NONE);
    CU_ASSERT_EQUAL(a.flagged, 0);
    CU_ASSERT_EQUAL(a.points, 0);
    risk_anomaly_judge(f, h, 1, &h[1], &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_ZSCORE);
    risk_anomaly_judge(f, h, 19, &h[19], &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_ZSCORE);
    CU_ASSERT_EQUAL(a.threshold, risk_z_threshold);
    risk_anomaly_judge(f, h, 20, &h[20], &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_FOREST);
    CU_ASSERT_EQUAL(a.threshold, risk_forest_threshold);
    CU_ASSERT(a.score > 0 && a.score < 1);
    /* 20 postings but no forest: the z-score */
    risk_anomaly_judge(NULL, h, 20, &h[20], &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_ZSCORE);
    risk_forest_free(f);
}

static void test_risk_anomaly_model_train(void)
{
    struct risk_posting h[60];
    ordinary_history(h, 60, 13);
    CU_ASSERT_PTR_NULL(risk_model_train(h, 19, 1));
    CU_ASSERT_PTR_NULL(risk_model_train(NULL, 30, 1));
    struct risk_forest *a = risk_model_train(h, 60, 99), *b = risk_model_train(h, 60, 99);
    CU_ASSERT_FATAL(a && b);
    struct risk_posting p = next_posting(h, 60, -2000, 12, shops[1]);
    struct risk_anomaly ja, jb;
    risk_anomaly_judge(a, h, 60, &p, &ja);
    risk_anomaly_judge(b, h, 60, &p, &jb);
    CU_ASSERT_EQUAL(ja.score, jb.score);
    risk_forest_free(a);
    risk_forest_free(b);
    /* 30 postings, only 9 of them outgoing: too few rows, no forest */
    struct risk_posting d[30];
    memcpy(d, h, sizeof d);
    for (int i = 0; i < 21; i++)
        d[i].amount = -d[i].amount;
    CU_ASSERT_PTR_NULL(risk_model_train(d, 30, 1));
    d[20].amount = -d[20].amount; /* 10 outgoing */
    struct risk_forest *c = risk_model_train(d, 30, 1);
    CU_ASSERT(c != NULL);
    risk_forest_free(c);
}

static void test_risk_anomaly_judge_forest_outlier(void)
{
    struct risk_posting h[300];
    ordinary_history(h, 300, 17);
    struct risk_forest *f = risk_model_train(h, 300, 5);
    CU_ASSERT_FATAL(f != NULL);
    struct risk_anomaly a;
    /* 2,000.00 (60x the usual) at 3 a.m. to a stranger */
    struct risk_posting odd = next_posting(h, 300, -200000, 3, stranger);
    risk_anomaly_judge(f, h, 300, &odd, &a);
    double s_odd = a.score;
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_FOREST);
    CU_ASSERT(a.score >= risk_forest_threshold);
    CU_ASSERT_EQUAL(a.flagged, 1);
    CU_ASSERT(a.points >= 5 && a.points <= 30);
    /* an ordinary one: 20.00 at 1 p.m. at a known shop */
    struct risk_posting usual = next_posting(h, 300, -2000, 13, shops[2]);
    risk_anomaly_judge(f, h, 300, &usual, &a);
    CU_ASSERT(a.score < risk_forest_threshold);
    CU_ASSERT(a.score < s_odd);
    CU_ASSERT_EQUAL(a.flagged, 0);
    CU_ASSERT_EQUAL(a.points, 0);
    /* the history's own postings: at most a handful above the threshold */
    int flagged = 0;
    for (size_t i = 250; i < 300; i++) {
        risk_anomaly_judge(f, h, i, &h[i], &a);
        flagged += a.flagged;
    }
    CU_ASSERT(flagged <= 2);
    risk_forest_free(f);
}

static void test_risk_anomaly_judge_z_large_only(void)
{
    struct risk_posting h[12];
    ordinary_history(h, 12, 23);
    struct risk_anomaly a;
    /* 5,000.00 out: far above 5.00-45.00 */
    struct risk_posting big = next_posting(h, 12, -500000, 12, stranger);
    risk_anomaly_judge(NULL, h, 12, &big, &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_ZSCORE);
    CU_ASSERT(a.score >= risk_z_threshold);
    CU_ASSERT_EQUAL(a.flagged, 1);
    /* 0.01 out: far below, a large negative z, not flagged */
    struct risk_posting tiny = next_posting(h, 12, -1, 12, stranger);
    risk_anomaly_judge(NULL, h, 12, &tiny, &a);
    CU_ASSERT(a.score < -risk_z_threshold);
    CU_ASSERT_EQUAL(a.flagged, 0);
    CU_ASSERT_EQUAL(a.points, 0);
    /* 5,000.00 in: money arriving is not scored */
    struct risk_posting in = next_posting(h, 12, 500000, 12, stranger);
    risk_anomaly_judge(NULL, h, 12, &in, &a);
    CU_ASSERT_EQUAL(a.method, RISK_METHOD_ZSCORE);
    CU_ASSERT_EQUAL(a.score, 0);
    CU_ASSERT_EQUAL(a.flagged, 0);
}

static void test_risk_anomaly_judge_recurring(void)
{
    /* a rent of 1,500.00 to a landlord in the history; the next one (and one 5 % higher) is a
     * repeat, never flagged; the same amount to a stranger is */
    struct risk_posting h[12];
    ordinary_history(h, 12, 29);
    h[6].amount = -150000;
    strcpy(h[6].counterparty, shops[3]);
    struct risk_anomaly a;
    struct risk_posting rent = next_posting(h, 12, -150000, 10, shops[3]);
    risk_anomaly_judge(NULL, h, 12, &rent, &a);
    CU_ASSERT(a.score >= risk_z_threshold);
    CU_ASSERT_EQUAL(a.recurring, 1);
    CU_ASSERT_EQUAL(a.flagged, 0);
    CU_ASSERT_EQUAL(a.points, 0);
    rent.amount = -157500;
    risk_anomaly_judge(NULL, h, 12, &rent, &a);
    CU_ASSERT_EQUAL(a.recurring, 1);
    rent.amount = -180000; /* 20 % more: not a repeat */
    risk_anomaly_judge(NULL, h, 12, &rent, &a);
    CU_ASSERT_EQUAL(a.recurring, 0);
    CU_ASSERT_EQUAL(a.flagged, 1);
    struct risk_posting other = next_posting(h, 12, -150000, 10, stranger);
    risk_anomaly_judge(NULL, h, 12, &other, &a);
    CU_ASSERT_EQUAL(a.recurring, 0);
    CU_ASSERT_EQUAL(a.flagged, 1);
}

static int points_monotonic(const double *score, const int *points, int n, double threshold)
{
    /* pairs sorted by score (insertion sort: n is small) */
    double s[400];
    int p[400];
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && s[j - 1] > score[i]) {
            s[j] = s[j - 1];
            p[j] = p[j - 1];
            j--;
        }
        s[j] = score[i];
        p[j] = points[i];
    }
    int ok = 1;
    for (int i = 0; i < n; i++) {
        if (s[i] >= threshold)
            ok &= p[i] >= 5 && p[i] <= 30;
        else
            ok &= p[i] == 0;
        if (i > 0)
            ok &= p[i] >= p[i - 1];
    }
    return ok;
}

static void test_risk_anomaly_points(void)
{
    struct risk_posting h[300];
    ordinary_history(h, 300, 31);
    struct risk_anomaly a;
    double score[400];
    int points[400], n = 0, max_points = 0, min_flagged = 99;
    /* z-score: amounts from 0.01 to ~10^9, doubling */
    for (int64_t amount = 1; amount < 200000000000LL && n < 400; amount *= 2, n++) {
        struct risk_posting p = next_posting(h, 12, -amount, 12, stranger);
        risk_anomaly_judge(NULL, h, 12, &p, &a);
        score[n] = a.score;
        points[n] = a.points;
        CU_ASSERT_EQUAL(a.flagged, a.points > 0);
        if (a.flagged && a.points < min_flagged)
            min_flagged = a.points;
        if (a.points > max_points)
            max_points = a.points;
    }
    CU_ASSERT(points_monotonic(score, points, n, risk_z_threshold));
    CU_ASSERT_EQUAL(max_points, 30);
    CU_ASSERT(min_flagged <= 8);
    /* forest: a known shop and a stranger in turn, at every hour, with growing amounts; the
     * points follow s */
    struct risk_forest *f = risk_model_train(h, 300, 3);
    CU_ASSERT_FATAL(f != NULL);
    n = 0;
    int flagged = 0, lo = 99, hi = 0, k = 0;
    for (int hour = 0; hour < 24; hour++) {
        for (int64_t amount = 100; amount < 100000000 && n < 400; amount *= 3) {
            const char *cp = k++ % 2 ? stranger : shops[1];
            struct risk_posting p = next_posting(h, 300, -amount, hour, cp);
            risk_anomaly_judge(f, h, 300, &p, &a);
            if (a.recurring) { /* a repeat of a shop's amount: never flagged, whatever s */
                CU_ASSERT_EQUAL(a.points, 0);
                continue;
            }
            score[n] = a.score;
            points[n++] = a.points;
            flagged += a.flagged;
            if (a.flagged && a.points < lo)
                lo = a.points;
            if (a.points > hi)
                hi = a.points;
        }
    }
    CU_ASSERT(flagged > 0 && flagged < n);
    CU_ASSERT(lo < hi); /* the points do grow with s */
    CU_ASSERT(points_monotonic(score, points, n, risk_forest_threshold));
    risk_forest_free(f);
}

static void test_risk_anomaly_method_names(void)
{
    CU_ASSERT_STRING_EQUAL(risk_method_name(RISK_METHOD_NONE), "none");
    CU_ASSERT_STRING_EQUAL(risk_method_name(RISK_METHOD_ZSCORE), "robust_z");
    CU_ASSERT_STRING_EQUAL(risk_method_name(RISK_METHOD_FOREST), "isolation_forest");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("risk_anomaly", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_risk_anomaly_cn_values);
    ADD(test_risk_anomaly_cn_monotonic);
    ADD(test_risk_anomaly_forest_deterministic);
    ADD(test_risk_anomaly_forest_outlier);
    ADD(test_risk_anomaly_forest_edge_inputs);
    ADD(test_risk_anomaly_robust_z_known);
    ADD(test_risk_anomaly_features);
    ADD(test_risk_anomaly_history_features_match);
    ADD(test_risk_anomaly_judge_method_at_20);
    ADD(test_risk_anomaly_model_train);
    ADD(test_risk_anomaly_judge_forest_outlier);
    ADD(test_risk_anomaly_judge_z_large_only);
    ADD(test_risk_anomaly_judge_recurring);
    ADD(test_risk_anomaly_points);
    ADD(test_risk_anomaly_method_names);
#undef ADD
    return ft_cunit_run();
}
