#!/usr/bin/env bash
# Benchmark (issue 22): how long after a posting its risk score is stored, under ledger.sh's
# transfer load, against the other consumers of the same events in the same run.
#   1,000 users (registered over HTTP, each given a large deposit) send 1.00 to random other
#   users: POST /api/transactions/ through the gateway with wrk -t2 -c32 (transfer.lua, the
#   load of tests/bench/ledger.sh) for RISK_LAG_SECS (default 20 s), with the risk worker and
#   the notification worker both consuming txn.posted (two events per transfer, one per user).
#   After the load stops, it waits (up to 120 s) for both to drain and prints, over the postings
#   of the run:
#     risk:          risk.assessments.created_at - posted_at (the ledger line's created_at);
#     notification:  notify.notifications.created_at - the txn.posted outbox row's created_at,
#                    the baseline: another worker consuming the same events on the same machine;
#     relay:         ledger.outbox.sent_at - created_at, the floor every consumer sits on.
#   created_at columns are now() of the writing transaction's start in all three. p50, p99 and
#   max in ms, the count, and whether a backlog was still queued when the load stopped
#   (events.risk depth), plus the CPU per event of the risk worker.
#   tests/bench/risk_lag.sh        RISK_LAG_SECS (10..120, default 20); RISK_LAG_USERS (100..1000,
#                                  default 1000, ledger.sh's); RISK_LAG_PERF=DIR builds with frame
#                                  pointers and records the risk worker with perf record -g from
#                                  the load's start until the backlog drained: DIR/perf-risk.data
# Starts its own throw-away servers (port offset 750, gateway on 18810) and stops them on exit.
# Figures, not a test: never run by ctest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../deploy/local/lib.sh"
SECS=${RISK_LAG_SECS:-20}
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 10 ] || [ "$SECS" -gt 120 ]; then
  echo "RISK_LAG_SECS must be 10..120" >&2; exit 2
fi
USERS=${RISK_LAG_USERS:-1000}
if ! [[ $USERS =~ ^[0-9]+$ ]] || [ "$USERS" -lt 100 ] || [ "$USERS" -gt 1000 ]; then
  echo "RISK_LAG_USERS must be 100..1000" >&2; exit 2
fi
SVC=$FT_ROOT/deploy/local/services.sh
OFF=750
PORT=18810
BASE_URL=http://127.0.0.1:$PORT
BUILD=$FT_ROOT/build-bench-ledger
PERF_DIR=${RISK_LAG_PERF:-}
CFLAGS_EXTRA=()
if [ -n "$PERF_DIR" ]; then
  command -v perf >/dev/null || { echo "RISK_LAG_PERF needs perf: apt-get install linux-perf" >&2; exit 1; }
  mkdir -p "$PERF_DIR"
  PERF_DIR=$(realpath "$PERF_DIR")
  BUILD=$FT_ROOT/build-bench-fp
  CFLAGS_EXTRA=(-DCMAKE_C_FLAGS=-fno-omit-frame-pointer)
fi
TMP=$(mktemp -d /tmp/fintwin-bench-risk.XXXXXX)
chmod 755 "$TMP"
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

ft_ensure_packages
ft_port_free "$PORT" || { echo "port $PORT is in use" >&2; exit 1; }
eval "$(PG_DURABLE=1 "$SVC" start "$TMP/svc" "$OFF" 2>/dev/null)"
ft_build "$BUILD" Release "${CFLAGS_EXTRA[@]}"
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn AUTH_REGISTER_PER_IP=1000000
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$(ft_db_url "$PG_URL" fintwin)" "$@"; }

worker() {   # worker KIND [ENV=...]: starts one worker, its pid into pids and $last_pid
  local kind=$1; shift
  env "$@" DATABASE_URL="$(ft_worker_db_url "$PG_URL" "$kind" "$(role_pw)")" \
    "$BUILD/bin/fintwin-$kind" 2>>"$TMP/$kind.log" &
  last_pid=$!; pids+=("$last_pid")
}
worker auth ACCESS_TOKEN_TTL_S=86400
worker auth ACCESS_TOKEN_TTL_S=86400
worker transaction
worker risk; risk_pid=$last_pid
worker notification
GW_PORT=$PORT GW_WEB_ROOT=$FT_ROOT/web/public "$BUILD/bin/fintwin-gateway" 2>"$TMP/gw.log" &
pids+=($!)
for w in auth transaction risk notification; do
  for _ in $(seq 100); do curl -fs "$BASE_URL/api/sys/$w/ping" >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 100); do curl -fs "$BASE_URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

RUN_ID=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
source "$HERE/lib.sh"
export -f register post_txn deposit
export TMP RUN_ID BASE_URL
t0=$EPOCHREALTIME
# shellcheck disable=SC2016
seq 1 "$USERS" | xargs -P 4 -I{} bash -c 'register "$1"' _ {}
# shellcheck disable=SC2016
seq 1 "$USERS" | xargs -P 4 -I{} bash -c 'deposit "$1"' _ {}
for i in $(seq "$USERS"); do cat "$TMP/seed/$i.user"; done >"$TMP/users.txt"
printf '# seeding: %d users registered + deposited over HTTP in %.0f s\n' "$USERS" "$(bc <<<"$EPOCHREALTIME - $t0")"

drained() {   # 1 when every posting so far has its score and notification
  sql -c "SELECT (SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
                   WHERE a.owner IS NOT NULL) = (SELECT count(*) FROM risk.assessments)
             AND (SELECT count(*) FROM ledger.outbox WHERE type = 'txn.posted')
               = (SELECT count(*) FROM notify.notifications n JOIN ledger.outbox o
                   ON o.id = n.source_event AND o.type = 'txn.posted')"
}
for _ in $(seq 600); do [ "$(drained)" = t ] && break; sleep 0.2; done   # the seeding's events

since=$(sql -c "SELECT now()")
ticks0=$(ticks "$risk_pid")
perf_pid=""
if [ -n "$PERF_DIR" ]; then
  perf record -q -g -o "$PERF_DIR/perf-risk.data" -p "$risk_pid" 2>/dev/null &
  perf_pid=$!
fi
out=$(wrk -t2 -c32 -d"${SECS}s" --timeout 10s --latency -s "$HERE/transfer.lua" \
  "$BASE_URL/api/transactions/" -- "$TMP/users.txt" "l$RUN_ID")
depth=$(sql -c "SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
               WHERE a.owner IS NOT NULL AND e.created_at >= '$since'")
scored_at_stop=$(sql -c "SELECT count(*) FROM risk.assessments WHERE posted_at >= '$since'")
notified_at_stop=$(sql -c "SELECT count(*) FROM notify.notifications n JOIN ledger.outbox o
                            ON o.id = n.source_event WHERE o.created_at >= '$since'")
t_stop=$EPOCHREALTIME
for _ in $(seq 600); do [ "$(drained)" = t ] && break; sleep 0.2; done
t_drain=$(bc <<<"$EPOCHREALTIME - $t_stop")
ticks1=$(ticks "$risk_pid")
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
  echo "perf: perf report -i $PERF_DIR/perf-risk.data --no-children --percent-limit 1"
fi
printf 'load: wrk -t2 -c32 %ss: rps=%s p99=%sms; %s postings (two per transfer); when the load stopped %s were scored and %s notified; both consumers had caught up %.1f s later\n' \
  "$SECS" "$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")" \
  "$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")" "$depth" "$scored_at_stop" "$notified_at_stop" "$t_drain"

pct() {   # pct NAME SQL-of-lag-seconds
  sql -F ' ' -c "SELECT count(*), round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY l))::numeric, 1),
                        round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY l))::numeric, 1),
                        round((1000 * max(l))::numeric, 1) FROM ($2) x" |
    awk -v n="$1" '{ printf "  %-13s n=%-7s p50=%sms p99=%sms max=%sms\n", n, $1, $2, $3, $4 }'
}
echo "event-to-score lag over the run's postings:"
pct risk "SELECT extract(epoch FROM created_at - posted_at) AS l FROM risk.assessments WHERE posted_at >= '$since'"
pct notification "SELECT extract(epoch FROM n.created_at - o.created_at) AS l FROM notify.notifications n
                  JOIN ledger.outbox o ON o.id = n.source_event WHERE o.created_at >= '$since'"
pct relay "SELECT extract(epoch FROM sent_at - created_at) AS l FROM ledger.outbox
           WHERE type = 'txn.posted' AND created_at >= '$since'"
n=$(sql -c "SELECT count(*) FROM risk.assessments WHERE posted_at >= '$since'")
HZ=$(getconf CLK_TCK)
printf '  risk worker CPU: %.0f µs per scored posting (%s ticks of 1/%s s over %s postings)\n' \
  "$(bc -l <<<"($ticks1 - $ticks0) * 1000000 / $HZ / ($n + ($n == 0))")" "$((ticks1 - ticks0))" "$HZ" "$n"
echo "reproduce: RISK_LAG_SECS=$SECS RISK_LAG_USERS=$USERS${PERF_DIR:+ RISK_LAG_PERF=$PERF_DIR}${RISK_CACHE_USERS:+ RISK_CACHE_USERS=$RISK_CACHE_USERS} tests/bench/risk_lag.sh   ($(nproc) cores; commit $(git -C "$FT_ROOT" rev-parse --short HEAD)$(git -C "$FT_ROOT" diff --quiet HEAD -- . && echo "" || echo " + uncommitted changes"))"
