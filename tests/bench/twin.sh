#!/usr/bin/env bash
# Benchmark (issue 6): single-step simulations through the whole stack, POST /api/simulate/
# with wrk at 32 connections, against the same path without the simulation in one invocation:
#   a. GET /api/sys/twin/ping: gateway -> broker -> the same twin worker -> back, no database
#      (the pipeline's floor for one RPC);
#   b. POST /api/simulate/ as 100 seeded users (a random scenario and amount, a unique
#      Idempotency-Key each, so every request reads the live balance and saves a simulation:
#      three statements and one commit on a durable PostgreSQL);
#   alternated a b a b (TWIN_BENCH_SECS each, default 20 s) so machine noise hits both; prints
#   each run with p50/p99 and the CPU each server process used, the means and the ratio b/a.
#   tests/bench/twin.sh                        TWIN_BENCH_SECS (default 20); TWIN_BENCH_WORKERS=N
#                                              (default 1) twin workers
# The Monte Carlo benchmark (C against NumPy) is tests/bench/twin_mc.sh.
# Starts its own throw-away servers (port offset 730, gateway on 18800) and stops them on exit.
# Figures, not a test: never run by ctest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../deploy/local/lib.sh"
SECS=${TWIN_BENCH_SECS:-20}
WORKERS=${TWIN_BENCH_WORKERS:-1}
[[ $WORKERS =~ ^[1-8]$ ]] || { echo "TWIN_BENCH_WORKERS must be 1..8" >&2; exit 2; }
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 5 ] || [ "$SECS" -gt 300 ]; then
  echo "TWIN_BENCH_SECS must be 5..300" >&2; exit 2
fi
USERS=100
SVC=$FT_ROOT/deploy/local/services.sh
OFF=730
PORT=18800
BASE_URL=http://127.0.0.1:$PORT
BUILD=$FT_ROOT/build-bench-twin
TMP=$(mktemp -d /tmp/fintwin-bench-twin.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers -------------------------------------------------------------------------------
ft_ensure_packages
ft_port_free "$PORT" || { echo "port $PORT is in use" >&2; exit 1; }
svc_env=$(PG_DURABLE=1 "$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)
eval "$svc_env"
ft_build "$BUILD" Release
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
for _ in $(seq 100); do curl -fs "$BASE_URL/api/sys/transaction/ping" >/dev/null 2>&1 && break; sleep 0.1; done
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn AUTH_REGISTER_PER_IP=1000000
twin_pids=()
for kind in auth transaction $(printf 'twin %.0s' $(seq "$WORKERS")); do
  ACCESS_TOKEN_TTL_S=86400 DATABASE_URL=$(ft_worker_db_url "$PG_URL" "$kind" "$(role_pw)") \
    "$BUILD/bin/fintwin-$kind" 2>>"$TMP/$kind.log" &
  pids+=($!)
  [ "$kind" = twin ] && twin_pids+=($!)
done
GW_PORT=$PORT GW_WEB_ROOT=$FT_ROOT/web/public "$BUILD/bin/fintwin-gateway" 2>"$TMP/gw.log" &
gw_pid=$!
pids+=("$gw_pid")
for kind in auth transaction twin; do
  for _ in $(seq 100); do curl -fs "$BASE_URL/api/sys/$kind/ping" >/dev/null 2>&1 && break; sleep 0.1; done
done
# ready: the auth worker has seeded Redis's denylist, so signed-in requests are served
for _ in $(seq 100); do curl -fs "$BASE_URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# ---- seeding: users with a balance ---------------------------------------------------------
RUN_ID=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TMP RUN_ID BASE_URL
source "$HERE/lib.sh"   # register, post_txn, deposit; ticks, pg_ticks, ms
export -f register post_txn deposit
t0=$EPOCHREALTIME
# shellcheck disable=SC2016  # $1 is the child bash's argument
seq "$USERS" | xargs -P 4 -I{} bash -c 'register "$1" && deposit "$1"' _ {}
for i in $(seq "$USERS"); do cat "$TMP/seed/$i.user"; done >"$TMP/users.txt"
[ "$(wc -l <"$TMP/users.txt")" = "$USERS" ] || { echo "seeding: wrong user count" >&2; exit 1; }
t_seed=$(bc <<<"$EPOCHREALTIME - $t0")
probe=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -H @- \
  -d '{"scenario":"withdrawal","amount":"10"}' "$BASE_URL/api/simulate/" \
  <<<"Authorization: Bearer $(head -1 "$TMP/users.txt" | cut -d' ' -f2)")
[ "${probe##* }" = 201 ] || { echo "POST /api/simulate/ answered ${probe:0:300}" >&2; exit 1; }

# ---- measuring -----------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
BEAM=$(cat "$TMP/svc/rmq/rabbit.pid")
PM=$(head -1 "$TMP/svc/pg/data/postmaster.pid")
snap() {
  local tw=0 p
  for p in "${twin_pids[@]}"; do tw=$((tw + $(ticks "$p"))); done
  echo "$EPOCHREALTIME $(ticks "$BEAM") $tw $(ticks "$gw_pid") $(pg_ticks)"
}
# run NAME URL [SCRIPT SCRIPT-ARGS...]: one measured wrk run, -t2 -c32, then the CPU of each
# server. Fails when wrk measured nothing.
run() {
  local name=$1 url=$2; shift 2
  local before after out script=()
  if [ $# -gt 0 ]; then script=(-s "$1" "$url" --); shift; else script=("$url"); fi
  before=$(snap)
  out=$(wrk -t2 -c32 -d"${SECS}s" --timeout 10s --latency "${script[@]}" "$@")
  after=$(snap)
  grep -q '^Requests/sec' <<<"$out" || { echo "$name: wrk measured nothing: $out" >&2; return 1; }
  local non2xx; non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  printf '%s wrk -t2 -c32 %ss: rps=%s p50=%sms p99=%sms non2xx=%s %s\n' "$name" "$SECS" \
    "$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")" \
    "$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")" "$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")" \
    "${non2xx:-0}" "$(grep '^status' <<<"$out" || true)"
  grep -E '^first_non2xx|Socket errors' <<<"$out" | sed 's/^/  /' || true
  awk -v hz="$HZ" -v a="$before" -v b="$after" 'BEGIN {
    split(a, x, " "); split(b, y, " "); w = y[1] - x[1];
    printf "  cpu (%% of one core): broker=%.0f%% twin_workers=%.0f%% gateway=%.0f%% postgres=%.0f%%\n",
      (y[2]-x[2])*100/hz/w, (y[3]-x[3])*100/hz/w, (y[4]-x[4])*100/hz/w, (y[5]-x[5])*100/hz/w }'
}
run_a() { run twin_ping "$BASE_URL/api/sys/twin/ping"; }
run_b() {
  run twin_simulate "$BASE_URL/api/simulate/" "$HERE/transfer.lua" "$TMP/users.txt" "$1$RUN_ID" simulate
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, commit $(git -C "$FT_ROOT" rev-parse --short HEAD)$(git -C "$FT_ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
DB_URL=$(ft_db_url "$PG_URL" fintwin)
echo "# postgres: $(psql -X -At "$DB_URL" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')"); role fintwin_twin: $(psql -X -At "$DB_URL" -c "SELECT coalesce(string_agg(c, ' '), 'defaults') FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c WHERE r.rolname = 'fintwin_twin'")"
printf '# workers: %d fintwin-twin (1 auth, 1 transaction for seeding); %d users registered and funded over HTTP in %.0f s\n' \
  "$WORKERS" "$USERS" "$t_seed"
# Warm-ups, not counted.
wrk -t2 -c32 -d3s "$BASE_URL/api/sys/twin/ping" >/dev/null
wrk -t2 -c32 -d3s -s "$HERE/transfer.lua" "$BASE_URL/api/simulate/" -- "$TMP/users.txt" "w$RUN_ID" simulate >/dev/null
a1=$(run_a); echo "$a1"; b1=$(run_b r1); echo "$b1"
a2=$(run_a); echo "$a2"; b2=$(run_b r2); echo "$b2"
rps() { sed -nE '1s/.* rps=([0-9.]+).*/\1/p' <<<"$1"; }
awk -v a1="$(rps "$a1")" -v a2="$(rps "$a2")" -v b1="$(rps "$b1")" -v b2="$(rps "$b2")" 'BEGIN {
  a = (a1 + a2) / 2; b = (b1 + b2) / 2;
  printf "mean: twin ping %.0f rps, simulate %.0f rps, ratio simulate/ping = %.2f\n", a, b, b / a }'
saved=$(psql -X -At "$DB_URL" -c "SELECT count(*) FROM twin.simulations")
echo "# simulations saved in twin.simulations: $saved"
echo "cpu: per server process over each run, % of one core (2 cores = 200%); postgres = all its processes"
echo "reproduce: TWIN_BENCH_SECS=$SECS TWIN_BENCH_WORKERS=$WORKERS tests/bench/twin.sh"
