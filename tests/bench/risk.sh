#!/usr/bin/env bash
# Benchmark: the risk worker's anomaly detector (workers/risk/anomaly.c) alone, no servers.
# bench_risk.c (built Release in build-bench-risk, only that target) generates 1,000 users'
# seeded histories with injected anomalies, replays each in time order as the worker scores
# postings (forest retrained every 50 postings, z-score below 20), and prints TP/FP/FN/TN,
# precision, recall and false-positive rate per detector, the same for the original's rule (a
# forest flagging the top 15 % of each history), then the cost of scoring one posting against a
# 500-posting history with a cached forest (p50/p99/max over 100,000 scorings) and, as the
# baseline, of training a forest per posting (p50/p99 over 1,000 trainings).
#   tests/bench/risk.sh [seed]      (default 42; the thresholds were chosen on seed 7)
#   RISK_BENCH_SWEEP=1 tests/bench/risk.sh 7     adds recall and FPR over a range of thresholds
# Figures, not a test: never run by ctest. Single-threaded; ~15 s of CPU.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SEED=${1:-42}
if ! [[ $SEED =~ ^[0-9]+$ ]]; then
  echo "seed must be a non-negative integer" >&2; exit 2
fi
BUILD=$ROOT/build-bench-risk

# Release build of the one target: the rest of the tree need not compile for this.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$BUILD" --target bench_risk -j2; } >"$log" 2>&1; then
  tail -40 "$log" >&2; echo "build failed ($BUILD)" >&2; exit 1
fi
BIN=$BUILD/bin/bench_risk

cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cflags=$(sed -n 's/^CMAKE_C_FLAGS_RELEASE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "# $(date -u +%FT%TZ) cores: $(getconf _NPROCESSORS_ONLN), $cpu, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# c: $("$cc" --version | head -1), Release ($cflags)"

args=(--seed "$SEED")
[ "${RISK_BENCH_SWEEP:-0}" = 1 ] && args+=(--sweep)
start=$(date +%s)
"$BIN" "${args[@]}"
echo "($(($(date +%s) - start)) s; the machine is shared: compare latencies only within one run)"
echo "reproduce: ${RISK_BENCH_SWEEP:+RISK_BENCH_SWEEP=$RISK_BENCH_SWEEP }tests/bench/risk.sh $SEED"
