/*
 * tests/bench/bench_twin_mc.c — wall time of one twin_monte_carlo run: 10,000 paths x 360
 * months, start 10,000,000 minor units, 7 % return, 15 % volatility, an expense of 50,000 minor
 * units every month, seed 42 (the same parameters as twin_mc_numpy.py).
 *   bench_twin_mc [repetitions]   (default 5)
 * Prints one line: best and median seconds over the repetitions and the p50 at month 360.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "proto/clock.h"

#define PATHS   10000
#define HORIZON 360

static double now_s(void)
{
    return (double)proto_mono_us() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) {
        fprintf(stderr, "usage: bench_twin_mc [repetitions >= 1]\n");
        return 2;
    }
    static int64_t pct[HORIZON][TWIN_NPCT];
    struct twin_event ev = {TWIN_EV_EXPENSE, 1, HORIZON, 50000, 0};
    struct twin_projection_input base = {10000000, HORIZON, 70000, 0, &ev, 1};
    struct twin_mc_input in = {&base, PATHS, 150000, 42, 0, 0};
    struct twin_mc_result res = {pct, 0, 0};
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        abort();
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        if (twin_monte_carlo(&in, &res) != 0) {
            fprintf(stderr, "twin_monte_carlo failed\n");
            return 1;
        }
        t[i] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("c paths=%d months=%d reps=%d best=%.4fs median=%.4fs p50_360=%lld p_ruin=%.4f\n", PATHS,
           HORIZON, reps, t[0], t[reps / 2], (long long)pct[HORIZON - 1][2], res.p_ruin);
    free(t);
    return 0;
}
