#!/usr/bin/env bash
# Benchmark: RPC round trips per second and latency, (a) straight over AMQP from a small C
# client (bench_rpc) to one auth worker, and (b) through the gateway over HTTP with wrk, both
# at 32 requests in flight against the same worker, in one invocation, alternated a b a b so
# machine noise hits both. Prints each run, the means and the ratio b/a (target >= 0.70).
#   tests/bench/rpc.sh [seconds-per-run]        (default 10)
# Starts its own throw-away servers (port offset 700) and stops them afterwards.
set -euo pipefail
source "$(dirname "$0")/../../deploy/local/lib.sh"
SECS=${1:-10}
SVC=$FT_ROOT/deploy/local/services.sh
OFF=700
TMP=$(mktemp -d /tmp/fintwin-bench.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
BUILD=$FT_ROOT/build-bench
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  rm -rf "$TMP"
}
trap cleanup EXIT
ft_ensure_packages
svc_env=$("$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)
eval "$svc_env"
ft_build "$BUILD" Release
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn
DATABASE_URL=$(ft_worker_db_url "$PG_URL" auth "$(role_pw)") "$BUILD/bin/fintwin-auth" 2>"$TMP/auth.log" &
pids+=($!)
PORT=$((18080 + OFF))
GW_PORT=$PORT GW_WEB_ROOT=$FT_ROOT/web/public "$BUILD/bin/fintwin-gateway" 2>"$TMP/gw.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/sys/auth/ping" >/dev/null 2>&1 && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/api/sys/auth/ping"

BEAM=$(cat "$TMP/svc/rmq/rabbit.pid")
# CPU seconds (user+system) a process has used so far, from /proc/PID/stat fields 14 and 15.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# Runs "$@" and appends the CPU each server process used meanwhile, in % of one core.
with_cpu() {
  local names=(broker worker gateway) ps=("$BEAM" "${pids[0]}" "${pids[1]}") before=() i t0 out
  for i in 0 1 2; do before[i]=$(cpu_s "${ps[i]}"); done
  t0=$EPOCHREALTIME
  out=$("$@")
  local wall; wall=$(bc <<<"$EPOCHREALTIME - $t0")
  printf '%s cpu:' "$out"
  for i in 0 1 2; do
    printf ' %s=%.0f%%' "${names[i]}" "$(bc -l <<<"($(cpu_s "${ps[i]}") - ${before[i]}) * 100 / $wall")"
  done
  echo
}
run_a() { with_cpu "$BUILD/bin/bench_rpc" auth 32 "$SECS"; }
run_b() { with_cpu wrk_run; }
wrk_run() {
  local out; out=$(wrk -t2 -c32 -d"${SECS}s" --latency "$URL")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "gateway_http wrk_connections=32 rps=$rps p50=$p50 p99=$p99 non2xx=${non2xx:-0}"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores; each run ${SECS}s; worker: 1 fintwin-auth; sys.ping"
run_a >/dev/null 2>&1 || true; wrk -t1 -c4 -d2s "$URL" >/dev/null   # warm-up, not counted
a1=$(run_a); echo "$a1"; b1=$(run_b); echo "$b1"
a2=$(run_a); echo "$a2"; b2=$(run_b); echo "$b2"
rps() { sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$1"; }
awk -v a1="$(rps "$a1")" -v a2="$(rps "$a2")" -v b1="$(rps "$b1")" -v b2="$(rps "$b2")" 'BEGIN {
  a = (a1 + a2) / 2; b = (b1 + b2) / 2;
  printf "mean: amqp_rpc %.0f rps, gateway_http %.0f rps, ratio b/a = %.2f (target >= 0.70)\n", a, b, b / a }'
echo "cpu: % of one core used by each server process during the run (2 cores = 200%)"
echo "reproduce: tests/bench/rpc.sh $SECS"
