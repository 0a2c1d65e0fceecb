#!/usr/bin/env bash
# Benchmark: what the gateway's edge (gateway/src/edge.c, head.c: every request head checked
# before libwebsockets parses it) costs. The gateway of this checkout against the gateway of a
# base commit without the edge (default 222ff35, the last one before it), both Release, same
# servers, same auth worker, alternated a b a b, wrk -t2 -c32:
#   /healthz            answered by the gateway alone (the edge's share is largest here)
#   /api/sys/auth/ping  one RPC through RabbitMQ to the auth worker (what API requests cost)
#   tests/bench/edge.sh [seconds-per-run] [base-commit]      (defaults 10, 222ff35)
# Starts its own throw-away servers (port offset 740) and stops them afterwards.
set -euo pipefail
source "$(dirname "$0")/../../deploy/local/lib.sh"
SECS=${1:-10}
BASE=${2:-222ff35}
SVC=$FT_ROOT/deploy/local/services.sh
OFF=740
TMP=$(mktemp -d /tmp/fintwin-bench.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
BUILD=$FT_ROOT/build-bench
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  git -C "$FT_ROOT" worktree remove --force "$TMP/base" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
ft_ensure_packages
svc_env=$("$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)
eval "$svc_env"
ft_build "$BUILD" Release
git -C "$FT_ROOT" worktree add --detach "$TMP/base" "$BASE" >/dev/null 2>&1
cmake -S "$TMP/base" -B "$TMP/base/build" -DCMAKE_BUILD_TYPE=Release -DFT_BUILD_WORKERS=OFF >/dev/null
cmake --build "$TMP/base/build" -j"$(nproc)" --target fintwin-gateway >/dev/null
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn
DATABASE_URL=$(ft_worker_db_url "$PG_URL" auth "$(role_pw)") "$BUILD/bin/fintwin-auth" 2>"$TMP/auth.log" &
pids+=($!)

# run NAME GATEWAY PATH: starts that gateway, warms it up, one wrk run, stops it.
run() {
  local port=$((18080 + OFF)) gw
  GW_PORT=$port "$2" 2>"$TMP/gw-$1.log" &
  gw=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/sys/auth/ping" >/dev/null 2>&1 && break; sleep 0.1; done
  wrk -t1 -c4 -d1s "http://127.0.0.1:$port$3" >/dev/null
  local out; out=$(wrk -t2 -c32 -d"${SECS}s" --latency "http://127.0.0.1:$port$3")
  kill -TERM "$gw"; wait "$gw" 2>/dev/null || true
  printf '%-5s %-20s rps=%s p50=%s p99=%s non2xx=%s\n' "$1" "$3" \
    "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores; each run ${SECS}s; base $BASE (no edge) vs $(git -C "$FT_ROOT" rev-parse --short HEAD) + work tree (edge)"
results=()
for path in /healthz /api/sys/auth/ping; do
  for round in 1 2; do
    r=$(run base "$TMP/base/build/bin/fintwin-gateway" "$path"); echo "$r"; results+=("$r")
    r=$(run edge "$BUILD/bin/fintwin-gateway" "$path"); echo "$r"; results+=("$r")
  done
done
printf '%s\n' "${results[@]}" | awk '{ split($3, a, "="); s[$1 " " $2] += a[2] }
  END { for (p in s) if (p ~ /^edge/) { split(p, k, " "); b = s["base " k[2]];
        printf "mean %-20s base %.0f rps, edge %.0f rps, edge/base = %.3f\n", k[2], b / 2, s[p] / 2, s[p] / b } }'
echo "reproduce: tests/bench/edge.sh $SECS $BASE"
