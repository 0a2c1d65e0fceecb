#!/usr/bin/env bash
# Benchmark (issue 5): the live channel. One gateway, one transaction worker and one
# notification worker on durable-off test servers; bench_live (bench_live.c) holds N
# authenticated WebSockets on /api/ws and makes deposits over HTTP for random socket owners,
# timing each deposit's notification frame from the 201 (commit-to-socket) and from the
# request's start, and reads the gateway's resident memory before and after opening the
# sockets. Runs, in one invocation: a baseline with 100 sockets, then 1,000 and 10,000
# (targets: p99 < 50 ms at 10,000 sockets, < 20 KB per idle socket). Each run uses a fresh
# gateway so its memory figure starts from the same state.
#   tests/bench/live.sh            LIVE_BENCH_DEPOSITS (default 400), LIVE_BENCH_RATE (per s, 50)
# Starts its own throw-away servers (port offset 720, gateway on 18792) and stops them on exit.
# Figures, not a test: never run by ctest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../deploy/local/lib.sh"
DEPOSITS=${LIVE_BENCH_DEPOSITS:-400}
RATE=${LIVE_BENCH_RATE:-50}
[[ $DEPOSITS =~ ^[0-9]+$ ]] && [ "$DEPOSITS" -ge 10 ] && [ "$DEPOSITS" -le 20000 ] ||
  { echo "LIVE_BENCH_DEPOSITS must be 10..20000" >&2; exit 2; }
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 1 ] && [ "$RATE" -le 500 ] ||
  { echo "LIVE_BENCH_RATE must be 1..500" >&2; exit 2; }
SVC=$FT_ROOT/deploy/local/services.sh
OFF=720
PORT=18792
BUILD=$FT_ROOT/build-bench-live
TMP=$(mktemp -d /tmp/fintwin-bench-live.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
T_START=$EPOCHREALTIME
pids=()
gw_pid=""
cleanup() {
  local rc=$?
  [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ft_ensure_packages
ft_port_free "$PORT" || { echo "port $PORT is in use" >&2; exit 1; }
svc_env=$("$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)
eval "$svc_env"
ft_build "$BUILD" Release
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn
ulimit -n "$(ulimit -Hn)"   # 10,000 sockets on each side of the loopback
for w in transaction notification; do
  DATABASE_URL=$(ft_worker_db_url "$PG_URL" "$w" "$(role_pw)") "$BUILD/bin/fintwin-$w" 2>>"$TMP/$w.log" &
  pids+=($!)
done

# No auth worker here (bench_live mints its tokens): mark Redis's denylist seeded as the auth
# worker does (proto/kvkeys.h), or the gateway would refuse every socket as "restoring".
redis-cli -u "$REDIS_URL" SET ft:denylist:seeded bench >/dev/null

start_gateway() {
  GW_PORT=$PORT GW_WEB_ROOT=$FT_ROOT/web/public "$BUILD/bin/fintwin-gateway" 2>>"$TMP/gw.log" &
  gw_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/api/sys/transaction/ping" >/dev/null 2>&1 &&
      curl -fs "http://127.0.0.1:$PORT/api/sys/notification/ping" >/dev/null 2>&1 &&
      curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "gateway did not come up (see $TMP/gw.log)" >&2; return 1
}
stop_gateway() { kill -TERM "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; gw_pid=""; }

HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, commit $(git -C "$FT_ROOT" rev-parse --short HEAD)$(git -C "$FT_ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
echo "# 1 gateway, 1 fintwin-transaction, 1 fintwin-notification; $DEPOSITS deposits per run at <= $RATE/s, one at a time"
for n in 100 1000 10000; do
  start_gateway
  g0=$(ticks "$gw_pid")
  echo "== $n sockets$([ "$n" = 100 ] && echo ' (baseline)')"
  "$BUILD/bin/bench_live" "$PORT" "$gw_pid" "$n" "$DEPOSITS" "$RATE" | sed 's/^/  /'
  echo "  gateway cpu over the run: $(( ($(ticks "$gw_pid") - g0) * 1000 / HZ )) ms"
  stop_gateway
done
printf '# whole run %.0f s\n' "$(bc <<<"$EPOCHREALTIME - $T_START")"
echo "reproduce: tests/bench/live.sh"
