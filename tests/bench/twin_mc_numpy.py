#!/usr/bin/python3
"""The twin Monte Carlo of workers/twin/engine.c, vectorised with NumPy across paths: the same
model, parameters and percentile ranks as bench_twin_mc.c (10,000 paths x 360 months, start
10,000,000 minor units, 7 % return, 15 % volatility, an expense of 50,000 minor units every
month, seed 42). Only the normal generator differs: NumPy's default (PCG64 + ziggurat) rather
than xoshiro256** + Marsaglia polar, so the figures agree statistically, not bit for bit.
    /usr/bin/python3 tests/bench/twin_mc_numpy.py [repetitions]   (default 5)
Prints one line: best and median seconds over the repetitions and the p50 at month 360.
"""
import math
import sys
import time

import numpy as np

PATHS, HORIZON = 10000, 360
START, RATE, VOL, EXPENSE, SEED = 10_000_000, 0.07, 0.15, 50_000, 42
PCT = (5, 25, 50, 75, 95)


def run():
    rng = np.random.default_rng(SEED)
    s = VOL / math.sqrt(12.0)
    mu = math.log1p(RATE / 12.0) - s * s / 2.0
    flow = -float(EXPENSE)
    # Nearest rank below, floor(q * (paths - 1)), in integers like the C.
    ranks = [(PATHS - 1) * p // 100 for p in PCT]
    bal = np.full(PATHS, float(START))
    ruined = np.zeros(PATHS, dtype=bool)
    pct = np.empty((HORIZON, len(PCT)))
    for m in range(HORIZON):
        x = mu + s * rng.standard_normal(PATHS)
        bal = np.where(bal > 0, bal * np.exp(x), bal) + flow
        ruined |= bal < 0
        pct[m] = np.partition(bal, ranks)[ranks]
    return np.rint(pct), ruined.mean()


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        pct, p_ruin = run()
        times.append(time.perf_counter() - t0)
    times.sort()
    print("numpy paths=%d months=%d reps=%d best=%.4fs median=%.4fs p50_360=%d p_ruin=%.4f"
          % (PATHS, HORIZON, reps, times[0], times[len(times) // 2], pct[-1][2], p_ruin))


if __name__ == "__main__":
    main()
