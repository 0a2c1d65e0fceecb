#!/usr/bin/env bash
# Benchmark: the twin's Monte Carlo in C against the same algorithm vectorised with NumPy.
# Both compute 10,000 paths x 360 months (start 10,000,000 minor units, 7 % return, 15 %
# volatility, an expense of 50,000 minor units a month, seed 42) with the five percentile bands
# every month and the ruin share: bench_twin_mc.c times twin_monte_carlo (workers/twin/engine.c,
# built Release in build-bench-twin, only that target), twin_mc_numpy.py the NumPy version on
# Debian's python3-numpy. Both run single-threaded (OpenBLAS/OpenMP threads = 1, the OpenBLAS
# tuning variables unset), alternated c numpy c numpy ... so machine noise hits both; each run
# times several repetitions and reports its best. Prints every run, the best of each, the ratio
# C / NumPy (target <= 0.33) and the command to reproduce.
#   tests/bench/twin_mc.sh [rounds] [repetitions-per-run]     (defaults 3 and 5)
# Figures, not a test: never run by ctest. Needs no servers.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${1:-3}
REPS=${2:-5}
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 20 ]; then
  echo "rounds must be 1..20" >&2; exit 2
fi
if ! [[ $REPS =~ ^[0-9]+$ ]] || [ "$REPS" -lt 1 ] || [ "$REPS" -gt 50 ]; then
  echo "repetitions must be 1..50" >&2; exit 2
fi
BUILD=$ROOT/build-bench-twin
PY=/usr/bin/python3   # Debian's, with python3-numpy; not a pyenv or pip one

if ! dpkg-query -W -f='${Status}' python3-numpy 2>/dev/null | grep -q 'install ok installed' ||
   ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "python3-numpy is not installed for $PY; as root: apt-get install -y python3-numpy" >&2
  exit 1
fi

# Release build of the one target: the rest of the tree need not compile for this.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$BUILD" --target bench_twin_mc -j"$(nproc)"; } >"$log" 2>&1; then
  tail -40 "$log" >&2; echo "build failed ($BUILD)" >&2; exit 1
fi
BIN=$BUILD/bin/bench_twin_mc

# One core each, whatever the environment says.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cflags=$(sed -n 's/^CMAKE_C_FLAGS_RELEASE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
isa=$(grep -m1 -ow -E 'avx512f|avx2' /proc/cpuinfo | sort -u | paste -sd' ' || true)
# getconf, not nproc: GNU nproc reports OMP_NUM_THREADS, which is 1 by now
echo "# $(date -u +%FT%TZ) cores: $(getconf _NPROCESSORS_ONLN), $cpu (${isa:-no avx2}), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# c: $("$cc" --version | head -1), Release ($cflags); the engine's hot loops pick AVX-512, AVX2 or SSE2 at load time"
echo "# numpy $("$PY" -c 'import numpy; print(numpy.__version__)') on $("$PY" --version 2>&1) ($PY)"
echo "# fairness: OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; each run = best of $REPS repetitions"

best() { sed -E 's/.* best=([0-9.]+)s.*/\1/' <<<"$1"; }
c_best="" np_best=""
for r in $(seq "$ROUNDS"); do
  c=$("$BIN" "$REPS")
  echo "round $r $c"
  np=$("$PY" "$HERE/twin_mc_numpy.py" "$REPS")
  echo "round $r $np"
  c_best=$(awk -v a="$(best "$c")" -v b="$c_best" 'BEGIN { print (b == "" || a < b) ? a : b }')
  np_best=$(awk -v a="$(best "$np")" -v b="$np_best" 'BEGIN { print (b == "" || a < b) ? a : b }')
done
awk -v c="$c_best" -v n="$np_best" 'BEGIN {
  r = c / n;
  printf "best: c %.4f s, numpy %.4f s, ratio c/numpy = %.2f (target <= 0.33: %s)\n", c, n, r,
         r <= 0.33 ? "met" : "missed" }'
echo "(p50_360 and p_ruin agree statistically, not exactly: NumPy draws its normals with PCG64 + ziggurat)"
echo "reproduce: tests/bench/twin_mc.sh $ROUNDS $REPS"
