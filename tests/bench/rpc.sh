#!/usr/bin/env bash
# Benchmark: RPC round trips per second and latency, (a) straight over AMQP from a small C
# client (bench_rpc) to one auth worker, and (b) through the gateway over HTTP with wrk, both
# at 32 requests in flight against the same worker, in one invocation, alternated a b a b so
# machine noise hits both. Prints each run, the means and the ratio b/a (target >= 0.70), and
# for every gateway run the gateway's CPU per request: user + system time of the whole process
# (lws thread and bridge thread) from /proc/PID/stat, over the requests wrk completed, and
# the lws thread's share (the rest is the bridge thread).
#   tests/bench/rpc.sh [seconds-per-run] [base-commit]        (default 10, no base)
# After the rounds, two raw runs against the worker on the old durable quorum rpc.auth
# (FT_RPC_QUEUE_TYPE=quorum) give the ratio classic/quorum (target >= 3).
# RPC_BENCH_ROUNDS=N runs N rounds instead of 2 (the machine is noisy: more rounds, steadier
# means).
# With a base commit, that commit's gateway (built in a git worktree) runs beside this
# checkout's on the next port, with the same servers and worker, and each round is a b c
# (c: the base gateway, wrk as in b): the two gateways' CPU per request side by side.
# RPC_BENCH_PERF=DIR builds with frame pointers (in build-bench-fp) and, after the rounds,
# records each gateway with `perf record -g` during one more wrk run: DIR/perf-<name>.data and
# `perf report --stdio --no-children` in DIR/perf-<name>.txt; the flat top is printed, with
# the system calls and context switches per request of each thread (perf stat, same run).
# Starts its own throw-away servers (port offset 700) and stops them afterwards.
set -euo pipefail
source "$(dirname "$0")/../../deploy/local/lib.sh"
SECS=${1:-10}
BASE=${2:-}
PERF_DIR=${RPC_BENCH_PERF:-}
ROUNDS=${RPC_BENCH_ROUNDS:-2}
SVC=$FT_ROOT/deploy/local/services.sh
OFF=700
TMP=$(mktemp -d /tmp/fintwin-bench.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
BUILD=$FT_ROOT/build-bench
CFLAGS_EXTRA=()
if [ -n "$PERF_DIR" ]; then
  command -v perf >/dev/null || { ft_log "RPC_BENCH_PERF needs perf: apt-get install linux-perf"; exit 1; }
  mkdir -p "$PERF_DIR"
  PERF_DIR=$(realpath "$PERF_DIR")
  BUILD=$FT_ROOT/build-bench-fp
  CFLAGS_EXTRA=(-DCMAKE_C_FLAGS=-fno-omit-frame-pointer)   # call graphs of our code
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  [ -z "$BASE" ] || git -C "$FT_ROOT" worktree remove --force "$TMP/base" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
ft_ensure_packages
svc_env=$("$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)
eval "$svc_env"
ft_build "$BUILD" Release "${CFLAGS_EXTRA[@]}"
if [ -n "$BASE" ]; then
  git -C "$FT_ROOT" worktree add --detach "$TMP/base" "$BASE" >/dev/null 2>&1
  ft_log "building the gateway of $BASE"
  cmake -S "$TMP/base" -B "$TMP/base/build" -DCMAKE_BUILD_TYPE=Release -DFT_BUILD_WORKERS=OFF \
    "${CFLAGS_EXTRA[@]}" >/dev/null
  cmake --build "$TMP/base/build" -j"$(nproc)" --target fintwin-gateway >/dev/null
fi
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn
DATABASE_URL=$(ft_worker_db_url "$PG_URL" auth "$(role_pw)") "$BUILD/bin/fintwin-auth" 2>"$TMP/auth.log" &
pids+=($!)
WORKER=$!
mkdir "$TMP/web"   # nothing static is asked for; the gateway only needs a root
PORT=$((18080 + OFF))
# The gateways under test: name, binary, port, pid (filled below).
gw_names=(gateway_http) gw_bins=("$BUILD/bin/fintwin-gateway") gw_ports=("$PORT") gw_pids=()
if [ -n "$BASE" ]; then
  gw_names+=(base_http) gw_bins+=("$TMP/base/build/bin/fintwin-gateway") gw_ports+=($((PORT + 1)))
fi
for i in "${!gw_names[@]}"; do
  GW_PORT=${gw_ports[i]} GW_WEB_ROOT=$TMP/web "${gw_bins[i]}" 2>"$TMP/gw-${gw_names[i]}.log" &
  pids+=($!)
  gw_pids+=($!)
done
for port in "${gw_ports[@]}"; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/sys/auth/ping" >/dev/null 2>&1 && break; sleep 0.1; done
done
url() { echo "http://127.0.0.1:${gw_ports[$1]}/api/sys/auth/ping"; }
# Responses the gateway on port $1 has written so far (its /metrics, every status class).
answered() {
  curl -fs "http://127.0.0.1:$1/metrics" | awk '/^fintwin_gateway_requests_total/ { s += $2 } END { print s + 0 }'
}

BEAM=$(cat "$TMP/svc/rmq/rabbit.pid")
HZ=$(getconf CLK_TCK)
# CPU ticks (user + system, every thread) a process has used so far: /proc/PID/stat 14 and 15;
# main_ticks: its main thread's alone (the gateway's lws thread).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
main_ticks() { awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat"; }
# with_cpu GATEWAY_PID CMD...: runs CMD and appends the CPU each server process used
# meanwhile, in % of one core.
with_cpu() {
  local names=(broker worker gateway) ps=("$BEAM" "$WORKER" "$1") before=() i t0 out
  shift
  for i in 0 1 2; do before[i]=$(ticks "${ps[i]}"); done
  t0=$EPOCHREALTIME
  out=$("$@")
  local wall; wall=$(bc <<<"$EPOCHREALTIME - $t0")
  printf '%s cpu:' "$out"
  for i in 0 1 2; do
    printf ' %s=%.0f%%' "${names[i]}" "$(bc -l <<<"($(ticks "${ps[i]}") - ${before[i]}) * 100 / $HZ / $wall")"
  done
  echo
}
run_a() { with_cpu "${gw_pids[0]}" "$BUILD/bin/bench_rpc" auth 32 "$SECS"; }
run_gw() { with_cpu "${gw_pids[$1]}" wrk_run "$1"; }
# wrk_run I: one wrk run against gateway I; its CPU per completed request in µs.
wrk_run() {
  local i=$1 t0 t1 m0 m1 out
  t0=$(ticks "${gw_pids[i]}") m0=$(main_ticks "${gw_pids[i]}")
  out=$(wrk -t2 -c32 -d"${SECS}s" --latency "$(url "$i")")
  t1=$(ticks "${gw_pids[i]}") m1=$(main_ticks "${gw_pids[i]}")
  local n rps p50 p99 non2xx
  n=$(awk '/ requests in / {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%s wrk_connections=32 rps=%s p50=%s p99=%s non2xx=%s requests=%s gw_us_per_req=%.1f lws_us=%.1f\n' \
    "${gw_names[i]}" "$rps" "$p50" "$p99" "${non2xx:-0}" "$n" \
    "$(bc -l <<<"($t1 - $t0) * 1000000 / $HZ / $n")" "$(bc -l <<<"($m1 - $m0) * 1000000 / $HZ / $n")"
}
label="$(git -C "$FT_ROOT" rev-parse --short HEAD)$(git -C "$FT_ROOT" diff --quiet HEAD -- gateway proto || echo '+changes')"
echo "# $(date -u +%FT%TZ) $(nproc) cores; $ROUNDS rounds, each run ${SECS}s; worker: 1 fintwin-auth; sys.ping;" \
  "gateway_http = $label${BASE:+, base_http = $BASE}${PERF_DIR:+ (frame pointers)}"
run_a >/dev/null 2>&1 || true   # warm-up, not counted
for i in "${!gw_names[@]}"; do wrk -t1 -c4 -d2s "$(url "$i")" >/dev/null; done
results=()
for _ in $(seq "$ROUNDS"); do
  r=$(run_a); echo "$r"; results+=("$r")
  for i in "${!gw_names[@]}"; do r=$(run_gw "$i"); echo "$r"; results+=("$r"); done
done
printf '%s\n' "${results[@]}" | awk '
  { split($0, f, " "); name = f[1]
    for (k in f) { split(f[k], kv, "="); v[kv[1]] = kv[2] }
    n[name]++; rps[name] += v["rps"]
    if ("gw_us_per_req" in v) { us[name] += v["gw_us_per_req"]; lws[name] += v["lws_us"]; last[name] = v["gw_us_per_req"] }
    if (name == "base_http") { r = last["gateway_http"] / v["gw_us_per_req"]; rs += r; nr++
      if (nr == 1 || r < rmin) rmin = r; if (nr == 1 || r > rmax) rmax = r }
    delete v }
  END {
    a = rps["amqp_rpc"] / n["amqp_rpc"]; b = rps["gateway_http"] / n["gateway_http"]
    printf "mean: amqp_rpc %.0f rps, gateway_http %.0f rps, ratio b/a = %.2f (target >= 0.70)\n", a, b, b / a
    for (g in us) printf "mean: %s %.0f rps, gateway CPU %.1f us per request (lws thread %.1f, bridge thread %.1f)\n",
      g, rps[g] / n[g], us[g] / n[g], lws[g] / n[g], (us[g] - lws[g]) / n[g]
    if (nr) printf "gateway CPU per request, this/base = %.3f (rounds %.3f to %.3f)\n", rs / nr, rmin, rmax
  }'
# What the RPC queues cost before they became classic and transient (issue 20): the same raw
# client against the worker on the old durable quorum rpc.auth (FT_RPC_QUEUE_TYPE=quorum).
# Changing a queue's type means deleting it, so these two runs come after the rounds above.
# switch_queue TYPE: the worker restarted on a fresh rpc.auth of that type, answering.
switch_queue() {
  kill -TERM "$WORKER"; wait "$WORKER" 2>/dev/null || true
  FT_RPC_QUEUE_TYPE=$1 "$SVC" rpc-queues-reset "$TMP/svc" "$OFF" 2>/dev/null
  FT_RPC_QUEUE_TYPE=$1 DATABASE_URL=$(ft_worker_db_url "$PG_URL" auth "$(role_pw)") \
    "$BUILD/bin/fintwin-auth" 2>>"$TMP/auth.log" &
  WORKER=$!
  pids+=($!)
  for _ in $(seq 50); do "$BUILD/bin/bench_rpc" auth 1 0.2 >/dev/null 2>&1 && return 0; sleep 0.2; done
  ft_log "the worker did not answer on a $1 rpc.auth"; return 1
}
switch_queue quorum
quorum=()
for _ in 1 2; do
  r=$(run_a | sed 's/^amqp_rpc /amqp_rpc_quorum /'); echo "$r"; quorum+=("$r")
done
printf '%s\n' "${results[@]}" "${quorum[@]}" | awk '
  { for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { split($i, kv, "="); s[$1] += kv[2]; n[$1]++ } }
  END { a = s["amqp_rpc"] / n["amqp_rpc"]; q = s["amqp_rpc_quorum"] / n["amqp_rpc_quorum"]
        printf "mean: amqp_rpc (classic, transient) %.0f rps, amqp_rpc_quorum %.0f rps, classic/quorum = %.2f (target >= 3)\n", a, q, a / q }'
echo "cpu: % of one core used by each server process during the run (2 cores = 200%)"
if [ -n "$PERF_DIR" ]; then
  switch_queue classic   # the perf runs below go through the gateway, as the rounds did
  # Two more runs per gateway, not counted above: one under perf record (it costs the gateway
  # CPU), one under perf stat (system calls and context switches per request, per thread; the
  # main thread is the lws thread).
  for i in "${!gw_names[@]}"; do
    name=${gw_names[i]%_http}
    wrk -t2 -c32 -d"${SECS}s" "$(url "$i")" >"$TMP/wrk-perf.txt" &
    wpid=$!
    sleep 1
    perf record -q -g -o "$PERF_DIR/perf-$name.data" -p "${gw_pids[i]}" -- sleep $((SECS > 3 ? SECS - 2 : 1)) 2>/dev/null
    wait "$wpid"
    perf report -i "$PERF_DIR/perf-$name.data" --stdio --no-children 2>/dev/null >"$PERF_DIR/perf-$name.txt"
    echo "perf $name ($(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk-perf.txt") rps while recorded), flat top; call graphs in $PERF_DIR/perf-$name.txt:"
    perf report -i "$PERF_DIR/perf-$name.data" --stdio --no-children -g none --sort dso,sym 2>/dev/null |
      awk '/%/ && n++ < 15'
    wrk -t2 -c32 -d"${SECS}s" "$(url "$i")" >/dev/null &
    wpid=$!
    sleep 1
    q0=$(answered "${gw_ports[i]}")
    perf stat --per-thread -x, -e raw_syscalls:sys_enter,context-switches -o "$TMP/stat.csv" \
      -p "${gw_pids[i]}" -- sleep $((SECS > 3 ? SECS - 2 : 1)) 2>/dev/null
    q1=$(answered "${gw_ports[i]}")
    wait "$wpid"
    awk -F, -v pid="${gw_pids[i]}" -v n=$((q1 - q0)) -v name="$name" '
      NF > 3 && $4 != "" { t = $1; sub(/.*-/, "", t); th = t == pid ? "lws" : "bridge"; v[th, $4] += $2 }
      END { printf "perf stat %s, per request (%d requests):", name, n
            split("lws bridge", ts, " ")
            for (k = 1; k <= 2; k++) printf " %s thread %.2f system calls, %.2f context switches;", ts[k],
              v[ts[k], "raw_syscalls:sys_enter"] / n, v[ts[k], "context-switches"] / n
            print "" }' "$TMP/stat.csv"
  done
fi
echo "reproduce: ${RPC_BENCH_ROUNDS:+RPC_BENCH_ROUNDS=$ROUNDS }${RPC_BENCH_PERF:+RPC_BENCH_PERF=$RPC_BENCH_PERF }tests/bench/rpc.sh $SECS${BASE:+ $BASE}"
