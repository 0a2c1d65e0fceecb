/* workers/twin/engine.c — the twin's simulation engine (contract and units in engine.h). */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rng.h"

__extension__ typedef __int128 i128;

#define I64_MAX ((i128)INT64_MAX)
#define I64_MIN ((i128)INT64_MIN)

/* A rate in TWIN_RATE_SCALE percent is a fraction when divided by this. */
#define RATE_ONE ((int64_t)100 * TWIN_RATE_SCALE)

const double twin_pct_q[TWIN_NPCT] = {0.05, 0.25, 0.50, 0.75, 0.95};

/* The same quantiles in whole percent, so that the rank floor(q * (n - 1)) is computed exactly
 * in integers rather than through a double that may land just below a whole number. */
static const long pct_int[TWIN_NPCT] = {5, 25, 50, 75, 95};

static int fits(i128 v)
{
    return v >= I64_MIN && v <= I64_MAX;
}

/* num / den rounded half away from zero; den > 0. C division truncates toward zero and the
 * remainder takes the sign of num, so one step away from zero fixes the halves and above. */
static i128 div_round(i128 num, i128 den)
{
    i128 q = num / den, r = num % den;
    if (r < 0)
        r = -r;
    if (2 * r >= den)
        q += num < 0 ? -1 : 1;
    return q;
}

/* ---- single step ---- */

static const char *const scenario_names[TWIN_SCENARIO_COUNT] = {
    "withdrawal",        "deposit",           "rate_change",
    "recurring_expense", "investment_growth", "emergency_fund",
};

int twin_scenario_parse(const char *name, enum twin_scenario *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < TWIN_SCENARIO_COUNT; i++) {
        if (strcmp(name, scenario_names[i]) == 0) {
            *out = (enum twin_scenario)i;
            return 0;
        }
    }
    return -1;
}

const char *twin_scenario_name(enum twin_scenario s)
{
    if ((int)s < 0 || s >= TWIN_SCENARIO_COUNT)
        return NULL;
    return scenario_names[s];
}

const char *twin_level_name(enum twin_level l)
{
    switch (l) {
    case TWIN_LOW:
        return "low";
    case TWIN_MEDIUM:
        return "medium";
    case TWIN_HIGH:
        return "high";
    }
    return NULL;
}

int twin_step(const struct twin_step_input *in, struct twin_step_result *out)
{
    i128 b = in->balance, a = in->amount, v, outflow = 0;
    switch (in->scenario) {
    case TWIN_WITHDRAWAL:
        v = b - a;
        outflow = a;
        break;
    case TWIN_DEPOSIT:
        v = b + a;
        break;
    case TWIN_RATE_CHANGE:
        /* V itself is rounded (not B plus a rounded change), as the formula reads. */
        v = div_round(b * (RATE_ONE + a), RATE_ONE);
        break;
    case TWIN_RECURRING_EXPENSE:
        outflow = 12 * a;
        v = b - outflow;
        break;
    case TWIN_INVESTMENT_GROWTH:
        v = b + div_round(a * in->default_return, RATE_ONE);
        outflow = a;
        break;
    case TWIN_EMERGENCY_FUND:
        v = b - a;
        break;
    default:
        return -1;
    }
    if (!fits(v) || !fits(outflow))
        return -1;

    unsigned rules = 0;
    if (outflow > 0 && (b <= 0 || 2 * outflow > b))
        rules |= TWIN_RULE_BIG_OUTFLOW;
    if (in->low_balance >= 0 && v < in->low_balance)
        rules |= TWIN_RULE_LOW_BALANCE;
    if (v < 0)
        rules |= TWIN_RULE_OVERDRAWN;

    int score = 10;
    if (rules & TWIN_RULE_BIG_OUTFLOW)
        score += 30;
    if (rules & TWIN_RULE_LOW_BALANCE)
        score += 20;
    if (rules & TWIN_RULE_OVERDRAWN)
        score += 40;
    if (score > 100)
        score = 100;

    out->virtual_balance = (int64_t)v;
    out->outflow = (int64_t)outflow;
    out->score = score;
    out->level = score <= 30 ? TWIN_LOW : score <= 60 ? TWIN_MEDIUM : TWIN_HIGH;
    out->rules = rules;
    out->months_covered = -1;
    if (in->scenario == TWIN_EMERGENCY_FUND && in->avg_outflow > 0 && v >= 0)
        out->months_covered = (int64_t)v / in->avg_outflow;
    return 0;
}

int twin_flags(unsigned rules, const char *low_text, const char *flags[TWIN_FLAGS_MAX])
{
    int n = 0;
    if (rules & TWIN_RULE_OVERDRAWN)
        flags[n++] = "Account would be overdrawn";
    if (rules & TWIN_RULE_BIG_OUTFLOW)
        flags[n++] = "Withdrawal exceeds 50% of balance";
    if ((rules & TWIN_RULE_LOW_BALANCE) && low_text)
        flags[n++] = low_text;
    return n;
}

const char *twin_recommendation(unsigned rules)
{
    if (rules & TWIN_RULE_OVERDRAWN)
        return "This would overdraw the account. Lower the amount or add funds first.";
    if (rules & TWIN_RULE_BIG_OUTFLOW)
        return "This takes more than half of your balance at once. Consider a smaller amount "
               "or spreading it over several months.";
    if (rules & TWIN_RULE_LOW_BALANCE)
        return "This leaves your balance below your safety cushion. Consider keeping more in "
               "reserve for unexpected costs.";
    return "Your balance stays healthy after this change.";
}

/* ---- projection ---- */

static int check_projection(const struct twin_projection_input *in)
{
    if (!in || in->horizon < 1 || in->horizon > TWIN_HORIZON_MAX)
        return -1;
    if (in->nevents > TWIN_EVENTS_MAX || (in->nevents > 0 && !in->events))
        return -1;
    if (in->inflation < 0)
        return -1;
    for (size_t i = 0; i < in->nevents; i++) {
        const struct twin_event *e = &in->events[i];
        if (e->start < 1 || e->start > in->horizon)
            return -1;
        switch (e->kind) {
        case TWIN_EV_INCOME:
        case TWIN_EV_EXPENSE:
            if (e->end < e->start || e->end > in->horizon || e->amount < 0)
                return -1;
            break;
        case TWIN_EV_RATE:
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* The annual rate and the summed income and expense of month m. Of several rate events in
 * force, the latest start wins; on equal starts the later event in the array does. */
static void month_terms(const struct twin_projection_input *in, int m, int64_t *rate, i128 *inc,
                        i128 *ex)
{
    int64_t r = in->annual_return;
    int rate_start = 0;
    i128 income = 0, expense = 0;
    for (size_t i = 0; i < in->nevents; i++) {
        const struct twin_event *e = &in->events[i];
        if (e->kind == TWIN_EV_RATE) {
            if (e->start <= m && e->start >= rate_start) {
                r = e->rate;
                rate_start = e->start;
            }
        } else if (e->start <= m && m <= e->end) {
            if (e->kind == TWIN_EV_INCOME)
                income += e->amount;
            else
                expense += e->amount;
        }
    }
    *rate = r;
    *inc = income;
    *ex = expense;
}

/* round(v) as int64, saturating; NaN cannot occur in our callers. */
static int64_t to_minor(double v)
{
    if (v >= 0x1p63)
        return INT64_MAX;
    if (v <= -0x1p63)
        return INT64_MIN;
    return (int64_t)llround(v);
}

int twin_project(const struct twin_projection_input *in, struct twin_projection *out)
{
    if (check_projection(in) != 0 || !out || !out->months)
        return -1;
    double infl = (double)in->inflation / (double)RATE_ONE;
    i128 bal = in->start_balance, tin = 0, tex = 0, tgr = 0;
    out->first_negative = 0;
    for (int m = 1; m <= in->horizon; m++) {
        int64_t rate;
        i128 inc, ex;
        month_terms(in, m, &rate, &inc, &ex);
        i128 growth = bal > 0 ? div_round(bal * rate, 12 * (i128)RATE_ONE) : 0;
        bal += growth + inc - ex;
        tin += inc;
        tex += ex;
        tgr += growth;
        if (!fits(bal) || !fits(inc) || !fits(ex) || !fits(growth) || !fits(tin) || !fits(tex) ||
            !fits(tgr))
            return -1;
        struct twin_month *mo = &out->months[m - 1];
        mo->nominal = (int64_t)bal;
        mo->income = (int64_t)inc;
        mo->expense = (int64_t)ex;
        mo->growth = (int64_t)growth;
        mo->real = in->inflation == 0 ? mo->nominal
                                      : to_minor((double)mo->nominal / pow(1.0 + infl, m / 12.0));
        if (bal < 0 && out->first_negative == 0)
            out->first_negative = m;
    }
    out->total_income = (int64_t)tin;
    out->total_expense = (int64_t)tex;
    out->total_growth = (int64_t)tgr;
    out->end_balance = (int64_t)bal;
    return 0;
}

/* ---- Monte Carlo ---- */

/*
 * The two loops that carry the run (moving the paths, finishing the normals) are built for
 * AVX-512 and AVX2 as well as plain x86-64 and picked at load time (an ifunc): the wider
 * vectors are where the speed is, and 128-bit SSE2 vectors are no faster than scalar code on
 * the machines we measured. The clones do the same IEEE operations in the same order (these
 * ISA sets have no FMA, and ISO C mode compiles with -ffp-contract=off), so their results
 * are bit-identical: the seed, not the CPU, decides the output.
 */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

/*
 * ln q for a positive normal double, without a libm call or a branch, so that a loop over it
 * vectorises: fdlibm's e_log, reduction and coefficients (q = 2^e * m with m in
 * [sqrt(2)/2, sqrt(2)), f = m - 1, then a degree-14 minimax polynomial in s = f / (2 + f)),
 * with the reduction done on the bit pattern as musl's log does it. Within 1 ulp.
 */
static inline double log_fast(double q)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
                 lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
                 lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
                 lg7 = 1.479819860511658591e-01;
    const uint64_t half_sqrt2 = 0x3fe6a09e667f3bcdu, one = 0x3ff0000000000000u;
    uint64_t bits;
    memcpy(&bits, &q, sizeof bits);
    /* Adding 2^52 minus sqrt(2)'s mantissa carries into the exponent field exactly when q's
     * mantissa is at least sqrt(2)'s, so t's exponent field is e + 1023; adding sqrt(2)/2's
     * pattern back to t's mantissa gives m (with exponent 0 or -1). */
    uint64_t t = bits + (one - half_sqrt2);
    uint64_t ebits = (t >> 52) | 0x4330000000000000u; /* the double 2^52 + e + 1023 */
    uint64_t mbits = (t & 0x000fffffffffffffu) + half_sqrt2;
    double eb, m;
    memcpy(&eb, &ebits, sizeof eb);
    memcpy(&m, &mbits, sizeof m);
    double e = eb - (0x1p52 + 1023.0);
    double f = m - 1.0, sr = f / (2.0 + f), z = sr * sr, w = z * z;
    double t1 = w * (lg2 + w * (lg4 + w * lg6));
    double t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
    double hfsq = 0.5 * f * f;
    return e * ln2_hi - ((hfsq - (sr * (hfsq + (t1 + t2)) + e * ln2_lo)) - f);
}

/* exp_fast's domain, and a bound on |z| for the polar normals: u and v are multiples of 2^-52,
 * so an accepted q = u^2 + v^2 is at least 2^-104 and |z| <= sqrt(-2 ln q) <= 12.01. */
#define EXP_FAST_MAX 708.0
#define NORMAL_MAX   12.02

/*
 * e^x for |x| <= EXP_FAST_MAX, without a libm call or a branch, so that the loop over the
 * paths vectorises: x = k ln 2 + r with |r| <= ln 2 / 2, e^r from its Taylor series to degree
 * 13 (the remainder is below 1e-17 relative), 2^k written straight into the exponent bits.
 * k is rounded by adding 1.5 * 2^52, which leaves k in the low mantissa bits of t; ln 2 is
 * split (fdlibm's constants) so that k * ln2_hi is exact. Within 1 ulp of exp. There is
 * no clamp: a clamp to constant bounds makes GCC specialise the polynomial at the bounds and
 * branch, which stops the vectorisation, so the caller checks the range once per month.
 */
static inline double exp_fast(double x)
{
    const double log2e = 1.44269504088896338700e+00, ln2_hi = 6.93147180369123816490e-01,
                 ln2_lo = 1.90821492927058770002e-10, shift = 0x1.8p52;
    double t = x * log2e + shift, k = t - shift;
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* t's low mantissa bits are 2^51 + k, so the low 12 bits of its pattern are k mod 4096
     * and (bits + 1023) << 52 is 2^k (|k| <= 1022 here) */
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

struct rng {
    uint64_t s[4];
    int has_spare;
    double spare;
};

/* xoshiro256** (proto/rng.h). */
static inline uint64_t rng_next(uint64_t *s)
{
    return proto_rng_next(s);
}

/* A uniform double in [-1, 1) from the top 53 bits. */
static inline double rng_pm1(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-52 - 1.0;
}

/* Marsaglia's polar method: two independent standard normals per accepted point. */
static inline void polar_pair(uint64_t *s, double *z1, double *z2)
{
    double u, v, q;
    do {
        u = rng_pm1(s);
        v = rng_pm1(s);
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    double f = sqrt(-2.0 * log_fast(q) / q);
    *z1 = u * f;
    *z2 = v * f;
}

/*
 * Turns npair accepted points p[2j], p[2j+1] into normals as polar_pair does. -2 ln q / q goes
 * through w (npair entries) first, in a loop that vectorises; sqrt stays in a loop of its own,
 * because under -fmath-errno GCC guards each sqrt with a branch to the libm call, and that
 * branch would stop the vectorisation of everything else.
 */
VECTOR_CLONES static void polar_finish(double *p, double *w, long npair)
{
    for (long j = 0; j < npair; j++) {
        double u = p[2 * j], v = p[2 * j + 1], q = u * u + v * v;
        w[j] = -2.0 * log_fast(q) / q;
    }
    for (long j = 0; j < npair; j++) {
        double f = sqrt(w[j]);
        p[2 * j] *= f;
        p[2 * j + 1] *= f;
    }
}

/*
 * n standard normals into z, in stream order; a pair's second value left over at the end is
 * kept for the next call, so the stream does not depend on how it is cut into months. It gives
 * the same numbers as calling polar_pair in a loop, in two passes: the accepted (u, v) points
 * first, compacted without a branch (the 21 % rejections would mispredict), then polar_finish
 * over all of them. w is scratch for n / 2 doubles.
 */
static void fill_normals(struct rng *r, double *z, double *w, long n)
{
    long i = 0;
    if (n > 0 && r->has_spare) {
        z[i++] = r->spare;
        r->has_spare = 0;
    }
    double *p = z + i;
    long npair = (n - i) / 2;
    for (long j = 0; j < npair;) {
        double u = rng_pm1(r->s), v = rng_pm1(r->s), q = u * u + v * v;
        p[2 * j] = u;
        p[2 * j + 1] = v;
        j += q < 1.0 && q != 0.0;
    }
    polar_finish(p, w, npair);
    i += 2 * npair;
    if (i < n) {
        polar_pair(r->s, &z[i], &r->spare);
        r->has_spare = 1;
    }
}

/*
 * Rearranges a[lo, hi) so that a[k] is the value a full sort would put there, everything left
 * of k is <= it and everything right is >= it (Hoare partition around a median of three;
 * expected linear time).
 */
static void select_k(double *a, long lo, long hi, long k)
{
    while (hi - lo > 16) {
        long mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi - 1], p;
        if (x < y)
            p = y < z ? y : (x < z ? z : x);
        else
            p = x < z ? x : (y < z ? z : y);
        long i = lo, j = hi - 1;
        while (i <= j) {
            while (a[i] < p)
                i++;
            while (a[j] > p)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* now a[lo..j] <= p, a[i..hi-1] >= p and anything strictly between equals p */
        if (k <= j)
            hi = j + 1;
        else if (k >= i)
            lo = i;
        else
            return;
    }
    for (long i = lo + 1; i < hi; i++) {
        double t = a[i];
        long j = i;
        for (; j > lo && a[j - 1] > t; j--)
            a[j] = a[j - 1];
        a[j] = t;
    }
}

/* The values at the ascending ranks k[0, nk) of a[lo, hi) into val: the middle rank first,
 * then the lower ranks inside its left side and the upper ones inside its right side. */
static void select_ranks(double *a, long lo, long hi, const long *k, int nk, double *val)
{
    if (nk == 0)
        return;
    int mid = nk / 2;
    select_k(a, lo, hi, k[mid]);
    val[mid] = a[k[mid]];
    select_ranks(a, lo, k[mid], k, mid, val);
    select_ranks(a, k[mid] + 1, hi, k + mid + 1, nk - mid - 1, val + mid + 1);
}

#define NBUCKET    1024 /* histogram buckets of one bucket-select level */
#define SMALL_N    512  /* below this, quickselect is as fast */
#define MAX_LEVELS 3    /* bucket levels before falling back to quickselect */

/* min and max of a[0, n), n >= 1, in four independent chains (one chain is bound by the
 * latency of minsd/maxsd). */
static void min_max(const double *a, long n, double *lo_out, double *hi_out)
{
    double lo0 = a[0], lo1 = a[0], lo2 = a[0], lo3 = a[0];
    double hi0 = a[0], hi1 = a[0], hi2 = a[0], hi3 = a[0];
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        double x0 = a[i], x1 = a[i + 1], x2 = a[i + 2], x3 = a[i + 3];
        lo0 = x0 < lo0 ? x0 : lo0;
        lo1 = x1 < lo1 ? x1 : lo1;
        lo2 = x2 < lo2 ? x2 : lo2;
        lo3 = x3 < lo3 ? x3 : lo3;
        hi0 = x0 > hi0 ? x0 : hi0;
        hi1 = x1 > hi1 ? x1 : hi1;
        hi2 = x2 > hi2 ? x2 : hi2;
        hi3 = x3 > hi3 ? x3 : hi3;
    }
    for (; i < n; i++) {
        lo0 = a[i] < lo0 ? a[i] : lo0;
        hi0 = a[i] > hi0 ? a[i] : hi0;
    }
    lo0 = lo1 < lo0 ? lo1 : lo0;
    lo2 = lo3 < lo2 ? lo3 : lo2;
    hi0 = hi1 > hi0 ? hi1 : hi0;
    hi2 = hi3 > hi2 ? hi3 : hi2;
    *lo_out = lo2 < lo0 ? lo2 : lo0;
    *hi_out = hi2 > hi0 ? hi2 : hi0;
}

/*
 * The values at the ascending ranks k[0, nk) of a[0, n) into val, n >= 1. a and aux (room for
 * n) are both clobbered; idx (room for n) is scratch. Quickselect on random balances
 * mispredicts a branch at almost every element, so large inputs go through a bucket select
 * instead: each value's bucket among NBUCKET equal-width buckets between min and max (a
 * monotone function of the value, so bucket order is value order), computed once in a loop
 * that vectorises; a histogram of them; the buckets that hold the wanted ranks found from the
 * running counts; their elements gathered into aux (a few percent of the input, so the branch
 * is predicted well); and the same done again inside each gathered bucket. min < max puts them
 * in different buckets, so every level shrinks the input; a few levels, or a small input, end
 * in quickselect.
 */
static void multi_select(double *a, long n, const long *k, int nk, double *val, double *aux,
                         uint16_t *idx, int level)
{
    if (n <= SMALL_N || level >= MAX_LEVELS) {
        select_ranks(a, 0, n, k, nk, val);
        return;
    }
    double lo, hi;
    min_max(a, n, &lo, &hi);
    if (!(hi > lo)) { /* all equal */
        for (int j = 0; j < nk; j++)
            val[j] = lo;
        return;
    }
    double scale = NBUCKET / (hi - lo);
    if (!isfinite(scale) || scale <= 0) {
        select_ranks(a, 0, n, k, nk, val);
        return;
    }
    for (long i = 0; i < n; i++) {
        double f = (a[i] - lo) * scale; /* in [0, NBUCKET], NBUCKET only at the max */
        f = f < NBUCKET - 1 ? f : NBUCKET - 1;
        idx[i] = (uint16_t)(int)f;
    }
    uint32_t hist[NBUCKET] = {0};
    for (long i = 0; i < n; i++)
        hist[idx[i]]++;

    /* Slot 0 marks the buckets that hold no wanted rank. */
    unsigned char tag[NBUCKET] = {0};
    long pos[TWIN_NPCT + 1], first[TWIN_NPCT + 1], count[TWIN_NPCT + 1];
    long sub[TWIN_NPCT]; /* k[j] relative to its bucket */
    int slot_of[TWIN_NPCT], nslot = 0;
    long cum = 0, used = 0;
    int j = 0;
    for (int b = 0; b < NBUCKET && j < nk; b++) {
        long c = hist[b];
        if (k[j] >= cum + c) {
            cum += c;
            continue;
        }
        nslot++;
        tag[b] = (unsigned char)nslot;
        first[nslot] = pos[nslot] = used;
        count[nslot] = c;
        used += c;
        for (; j < nk && k[j] < cum + c; j++) {
            slot_of[j] = nslot;
            sub[j] = k[j] - cum;
        }
        cum += c;
    }
    for (long i = 0; i < n; i++) {
        int t = tag[idx[i]];
        if (t)
            aux[pos[t]++] = a[i];
    }
    /* Each gathered bucket is selected in turn with a (now dead) as its scratch, and idx,
     * which this level no longer needs; its count is below n because min and max fell in
     * different buckets. */
    for (j = 0; j < nk;) {
        int t = slot_of[j], m = 0;
        while (j + m < nk && slot_of[j + m] == t)
            m++;
        multi_select(aux + first[t], count[t], sub + j, m, val + j, a, idx, level + 1);
        j += m;
    }
}

/* The five percentiles of a[0, n) (which it clobbers, with aux and idx) as rounded minor
 * units. */
static void percentiles(double *a, long n, double *aux, uint16_t *idx, int64_t row[TWIN_NPCT])
{
    long k[TWIN_NPCT];
    double v[TWIN_NPCT];
    for (int i = 0; i < TWIN_NPCT; i++)
        k[i] = (n - 1) * pct_int[i] / 100;
    multi_select(a, n, k, TWIN_NPCT, v, aux, idx, 0);
    for (int i = 0; i < TWIN_NPCT; i++)
        row[i] = to_minor(v[i]);
}

/*
 * One month of every path: z[i] holds the path's standard normal on entry and its new balance
 * on exit. The growth factor is chosen by the balance's sign bit with integer masks rather
 * than `b > 0 ? b * g : b`: under -ftrapping-math GCC will not turn a conditional multiply
 * into a select, and the branch would stop the vectorisation. The sign bit and b > 0 differ
 * only at +0, where b * g == b; -0 does not occur (it would need -0 + -0).
 */
VECTOR_CLONES static void move_paths(double *bal, double *z, double *low, long n, double mu,
                                     double s, double flow)
{
    const double one = 1.0;
    uint64_t one_bits;
    memcpy(&one_bits, &one, sizeof one_bits);
    for (long i = 0; i < n; i++) {
        double b = bal[i], g = exp_fast(mu + s * z[i]);
        uint64_t bb, gb;
        memcpy(&bb, &b, sizeof bb);
        memcpy(&gb, &g, sizeof gb);
        uint64_t neg = -(bb >> 63); /* all ones when b is negative */
        gb = (gb & ~neg) | (one_bits & neg);
        memcpy(&g, &gb, sizeof g);
        b = b * g + flow;
        bal[i] = b;
        z[i] = b;
        low[i] = b < low[i] ? b : low[i];
    }
}

/* The same with libm's exp, for a month whose log-returns may leave exp_fast's domain (a
 * volatility or a rate far beyond anything rules.c accepts). */
static void move_paths_libm(double *bal, double *z, double *low, long n, double mu, double s,
                            double flow)
{
    for (long i = 0; i < n; i++) {
        double b = bal[i];
        if (b > 0)
            b *= exp(mu + s * z[i]);
        b += flow;
        bal[i] = b;
        z[i] = b;
        low[i] = b < low[i] ? b : low[i];
    }
}

int twin_monte_carlo(const struct twin_mc_input *in, struct twin_mc_result *out)
{
    if (!in || !out || !out->pct || check_projection(in->base) != 0)
        return -1;
    const struct twin_projection_input *base = in->base;
    long n = in->paths;
    if (n < 1 || n > TWIN_PATHS_MAX || (int64_t)n * base->horizon > TWIN_CELLS_MAX ||
        in->volatility < 0)
        return -1;
    /* mu needs ln(1 + r/12): a rate at or below -1200 % a year has no log-return. */
    for (int m = 1; m <= base->horizon; m++) {
        int64_t rate;
        i128 inc, ex;
        month_terms(base, m, &rate, &inc, &ex);
        if ((i128)rate <= -12 * (i128)RATE_ONE)
            return -1;
    }

    double *bal = malloc((size_t)n * sizeof *bal);
    double *work = malloc((size_t)n * sizeof *work);
    double *aux = malloc((size_t)n * sizeof *aux);
    uint16_t *idx = malloc((size_t)n * sizeof *idx);
    double *low = malloc((size_t)n * sizeof *low); /* each path's lowest month-end balance */
    if (!bal || !work || !aux || !idx || !low)
        abort();

    struct rng r = {{0}, 0, 0.0};
    proto_rng_seed(r.s, in->seed);

    double s = (double)in->volatility / (double)RATE_ONE / sqrt(12.0);
    double start = (double)base->start_balance;
    for (long i = 0; i < n; i++) {
        bal[i] = start;
        low[i] = INFINITY; /* the start is no month's end: only months can run out */
    }

    for (int m = 1; m <= base->horizon; m++) {
        int64_t rate;
        i128 inc, ex;
        month_terms(base, m, &rate, &inc, &ex);
        double mu = log1p((double)rate / (double)RATE_ONE / 12.0) - s * s / 2.0;
        double flow = (double)(inc - ex);

        /* Normals first into work (a tight loop of its own), then one pass that moves every
         * path and leaves its new balance in work for the percentile selection. */
        fill_normals(&r, work, aux, n); /* aux is free until the percentiles */
        if (fabs(mu) + NORMAL_MAX * s <= EXP_FAST_MAX)
            move_paths(bal, work, low, n, mu, s, flow);
        else
            move_paths_libm(bal, work, low, n, mu, s, flow);
        percentiles(work, n, aux, idx, out->pct[m - 1]);
    }

    long nruin = 0, ngoal = 0;
    double goal = (double)in->goal;
    for (long i = 0; i < n; i++) {
        nruin += low[i] < 0;
        ngoal += in->has_goal && bal[i] >= goal;
    }
    out->p_ruin = (double)nruin / (double)n;
    out->p_goal = (double)ngoal / (double)n;

    free(low);
    free(idx);
    free(aux);
    free(work);
    free(bal);
    return 0;
}
