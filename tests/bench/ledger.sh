#!/usr/bin/env bash
# Benchmark (issue 4): ledger transfers through the whole stack against plain pgbench on the
# same durable PostgreSQL (fsync and synchronous_commit on), in one invocation:
#   1. 1,000 users (registered over HTTP, each given a large deposit) send 1.00 to random
#      other users: POST /api/transactions/ through the gateway with wrk -c32 (transfer.lua,
#      a unique Idempotency-Key per request);
#   2. pgbench's built-in TPC-B-like script, -c32 -j2, on database "bench" (pgbench -i -s 10);
#   the two alternate (a b a b, each LEDGER_BENCH_SECS, default 30 s, after a CHECKPOINT) so
#   machine noise hits both; prints each run, the means and the ratio transfers/s ÷ pgbench
#   tps (target >= 0.60);
#   3. GET /api/transactions/?limit=20 for one user with 100,000 postings (seeded in SQL as
#      the admin), wrk -c32 for 20 s alternated with GET /api/sys/transaction/ping (the RPC
#      path without a database): the ratio history/ping (target >= 0.60); then 10 s at 8
#      connections (target p99 < 10 ms) and 10 s over one connection, without queueing.
# Each run also prints the CPU used by the broker (beam.smp), the transaction worker(s), the
# gateway and PostgreSQL (all its processes), the machine's busy and iowait share, write
# transactions and WAL bytes per request, and what PostgreSQL's active client backends were
# doing (sampled pg_stat_activity), which together say what bounds throughput. Each transfer
# run also prints the mean batch size (transfers per database transaction that wrote them) and
# the CPU per transfer of each process group of the stack and of wrk, in µs, against the
# machine's busy time; each pgbench run the same for PostgreSQL and pgbench (method at
# cpu_per_request below).
#   tests/bench/ledger.sh                      LEDGER_BENCH_WORKERS=N (default 1) transaction
#                                              workers; LEDGER_BENCH_SECS (default 30);
#                                              LEDGER_BENCH_PGSS=1 also loads pg_stat_statements
#                                              (track = all, so statements inside the SQL
#                                              functions count) and prints, after the first
#                                              transfer run, where PostgreSQL's time per
#                                              transfer went, statement by statement;
#                                              LEDGER_BENCH_EXPLAIN=FILE also loads
#                                              auto_explain (1% of statements, nested ones
#                                              too, with their plans) and leaves the server
#                                              log in FILE: which plan each statement got
# Starts its own throw-away servers (port offset 710, gateway on 18790) and stops them on exit.
# Figures, not a test: never run by ctest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../deploy/local/lib.sh"
WORKERS=${LEDGER_BENCH_WORKERS:-1}
SECS=${LEDGER_BENCH_SECS:-30}
[[ $WORKERS =~ ^[1-8]$ ]] || { echo "LEDGER_BENCH_WORKERS must be 1..8" >&2; exit 2; }
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 5 ] || [ "$SECS" -gt 300 ]; then
  echo "LEDGER_BENCH_SECS must be 5..300" >&2; exit 2
fi
USERS=1000
HIST_POSTINGS=100000
HIST_SECS=20
SVC=$FT_ROOT/deploy/local/services.sh
OFF=710
PORT=18790
BASE_URL=http://127.0.0.1:$PORT
BUILD=$FT_ROOT/build-bench-ledger
TMP=$(mktemp -d /tmp/fintwin-bench-ledger.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
T_START=$EPOCHREALTIME
pids=()        # every process we started, stopped by pid on exit
txw_pids=()    # the transaction workers among them
aux_pids=()    # the other workers among them (auth)
sampler_pid=""
cleanup() {
  local rc=$?
  [ -n "$sampler_pid" ] && kill -TERM "$sampler_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SVC" stop "$TMP/svc" "$OFF" || true
  if [ -n "${LEDGER_BENCH_EXPLAIN:-}" ] && [ -f "$TMP/svc/pg/server.log" ]; then
    cp "$TMP/svc/pg/server.log" "$LEDGER_BENCH_EXPLAIN" && echo "plans: $LEDGER_BENCH_EXPLAIN"
  fi
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
preload=()
if [ "${LEDGER_BENCH_PGSS:-0}" = 1 ]; then
  preload+=(pg_stat_statements)
  echo "pg_stat_statements.track = 'all'" >>"$TMP/svc/pg/data/postgresql.conf"
fi
if [ -n "${LEDGER_BENCH_EXPLAIN:-}" ]; then
  LEDGER_BENCH_EXPLAIN=$(realpath -m "$LEDGER_BENCH_EXPLAIN")
  : >"$LEDGER_BENCH_EXPLAIN" || { echo "LEDGER_BENCH_EXPLAIN: cannot write $LEDGER_BENCH_EXPLAIN" >&2; exit 2; }
  preload+=(auto_explain)
  printf '%s\n' "auto_explain.log_min_duration = 0" "auto_explain.sample_rate = 0.01" \
    "auto_explain.log_nested_statements = on" >>"$TMP/svc/pg/data/postgresql.conf"
fi
if [ ${#preload[@]} -gt 0 ]; then
  (IFS=,; echo "shared_preload_libraries = '${preload[*]}'") >>"$TMP/svc/pg/data/postgresql.conf"
  "$SVC" stop-pg "$TMP/svc" "$OFF" >/dev/null
  PG_DURABLE=1 "$SVC" start-pg "$TMP/svc" "$OFF" >/dev/null
fi
ft_build "$BUILD" Release
role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw 2>/dev/null
JWT_SECRET=$("$SVC" secret "$TMP/svc" "$OFF" jwt 48)
# AUTH_REGISTER_PER_IP: every seeded user signs up from 127.0.0.1 (production allows 20 an hour).
export AMQP_URL REDIS_URL JWT_SECRET LOG_LEVEL=warn AUTH_REGISTER_PER_IP=1000000
# psql and pgbench reach the server over TCP like the workers; the password stays in the env.
hostport=${PG_URL#*@}; hostport=${hostport%/*}
PGPASSWORD=${PG_URL#postgresql://postgres:}; PGPASSWORD=${PGPASSWORD%@*}
export PGHOST=${hostport%:*} PGPORT=${hostport#*:} PGUSER=postgres PGPASSWORD
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }   # sql -d DB -c '...'

# Two auth workers: registration is argon2id, CPU-bound; one per core halves the seeding.
for _ in 1 2; do
  ACCESS_TOKEN_TTL_S=86400 DATABASE_URL=$(ft_worker_db_url "$PG_URL" auth "$(role_pw)") \
    "$BUILD/bin/fintwin-auth" 2>>"$TMP/auth.log" &
  pids+=($!); aux_pids+=($!)
done
for _ in $(seq "$WORKERS"); do
  DATABASE_URL=$(ft_worker_db_url "$PG_URL" transaction "$(role_pw)") \
    "$BUILD/bin/fintwin-transaction" 2>>"$TMP/transaction.log" &
  pids+=($!); txw_pids+=($!)
done
GW_PORT=$PORT GW_WEB_ROOT=$FT_ROOT/web/public "$BUILD/bin/fintwin-gateway" 2>"$TMP/gw.log" &
gw_pid=$!
pids+=("$gw_pid")
for _ in $(seq 100); do curl -fs "$BASE_URL/api/sys/auth/ping" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do curl -fs "$BASE_URL/api/sys/transaction/ping" >/dev/null 2>&1 && break; sleep 0.1; done
# ready: the auth worker has seeded Redis's denylist, so signed-in requests are served
for _ in $(seq 100); do curl -fs "$BASE_URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# ---- seeding -------------------------------------------------------------------------------
RUN_ID=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
source "$HERE/lib.sh"   # register, post_txn, deposit; ticks, pg_ticks, ms
export -f register post_txn deposit
export TMP RUN_ID BASE_URL

t0=$EPOCHREALTIME
register 0   # user 0: the history user of phase 3
register 1
ledger_ok=1
probe=$(post_txn 1 '{"type":"deposit","amount":"1000000.00"}')
if [ "${probe%% *}" != 201 ]; then
  ledger_ok=0
  echo "ledger: POST /api/transactions/ deposit answered HTTP ${probe:0:300}" >&2
  echo "ledger: not available; running the pgbench baseline only" >&2
fi
if [ "$ledger_ok" = 1 ]; then
  # shellcheck disable=SC2016  # $1 is the child bash's argument
  seq 2 "$USERS" | xargs -P 4 -I{} bash -c 'register "$1"' _ {}
  # shellcheck disable=SC2016
  seq 2 "$USERS" | xargs -P 4 -I{} bash -c 'deposit "$1"' _ {}
  deposit 0
  for i in $(seq "$USERS"); do cat "$TMP/seed/$i.user"; done >"$TMP/users.txt"
  [ "$(wc -l <"$TMP/users.txt")" = "$USERS" ] || { echo "seeding: wrong user count" >&2; exit 1; }
  cut -d' ' -f2 "$TMP/seed/0.user" >"$TMP/history.token"
  t_seed=$(bc <<<"$EPOCHREALTIME - $t0")
fi

sql -d postgres -c 'CREATE DATABASE bench'
t1=$EPOCHREALTIME
pgbench -i -s 10 -q bench >"$TMP/pgbench-init.log" 2>&1 || { cat "$TMP/pgbench-init.log" >&2; exit 1; }
t_pginit=$(bc <<<"$EPOCHREALTIME - $t1")

# ---- measuring -----------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
BEAM=$(cat "$TMP/svc/rmq/rabbit.pid")
PM=$(head -1 "$TMP/svc/pg/data/postmaster.pid")
REDIS=$(cat "$TMP/svc/redis/redis.pid")
# One line of counters: wall s, ticks of beam, txn workers, gateway, postgres, machine busy and
# iowait (both cores), next xid to be assigned, WAL position in bytes, ticks of redis and of
# the other workers.
snap() {
  local tx=0 aux=0 rd p
  for p in "${txw_pids[@]}"; do tx=$((tx + $(ticks "$p"))); done
  for p in "${aux_pids[@]}"; do aux=$((aux + $(ticks "$p"))); done
  rd=$(ticks "$REDIS")
  read -r _ u n s _ io irq sirq st _ </proc/stat
  echo "$EPOCHREALTIME $(ticks "$BEAM") $tx $(ticks "$gw_pid") $(pg_ticks) $((u + n + s + irq + sirq + st)) $io" \
    "$(sql -d postgres -c "SELECT pg_snapshot_xmax(pg_current_snapshot()), pg_current_wal_lsn() - '0/0'" | tr '|' ' ')" \
    "$rd $aux"
}
# with_cpu FILE CMD...: runs CMD (the load generator) and writes the CPU ticks it used to FILE.
# Its /proc entry is gone by the run's second snap, so CMD runs under a bash that, once CMD has
# exited and been reaped, reads its own cutime + cstime: CMD's alone, its only child (read is
# a builtin), over CMD's whole life (start-up included, a few ms).
with_cpu() {
  # shellcheck disable=SC2016  # expanded by the child bash
  bash -c '"${@:2}"; rc=$?; read -r -a f </proc/$$/stat; echo $((f[15] + f[16])) >"$1"; exit $rc' _ "$@"
}
# CPU per request of the transfer and pgbench runs: cpu_per_request NOUN N LOAD, after wrk_run
# or pgbench_run left the run's two snaps in $TMP/cpu and the load generator's ticks in
# $TMP/load.ticks; N requests (transfers written, pgbench transactions), LOAD the generator's
# name. Transfer runs list every group, pgbench runs postgres and pgbench only.
# Method: utime + stime ticks (/proc/PID/stat, 1/HZ s) between the run's two snaps, per group
# of this benchmark's own processes, found by pid, never by name:
#   postgres: pg_ticks, the postmaster's own and its reaped children's (cutime + cstime) plus
#     every live child's. A backend that exits during the run is counted up to its exit through
#     the postmaster's cutime, one that starts during it from its start, so the delta is what
#     all of this server's processes used; it includes the backends of the sampler and of
#     snap's own queries (a few queries a second);
#   broker: beam.smp (rabbit.pid; its erl_child_setup and our epmd are idle, not counted);
#   gateway; txn_worker (all of them); other_workers (the auth workers); redis (redis.pid);
#   the load generator (wrk or pgbench), through with_cpu.
# Each group's ticks over N in µs, and their total. machine busy is /proc/stat's user + nice +
# system + irq + softirq + steal over all cores, as a share of the run's wall time × cores and
# per request; minus the total that leaves everything else on the machine (kernel threads,
# the script's own psql and awk, any other load). A tick is 10 ms at HZ 100: over a 30 s run
# of ~15,000 transfers, under 1 µs per transfer.
cpu_per_request() {
  awk -v hz="$HZ" -v cores="$(nproc)" -v noun="$1" -v n="$2" -v load="$3" -v lt="$(cat "$TMP/load.ticks")" '
    NR == 1 { split($0, x, " ") } NR == 2 { split($0, y, " ") }
    END {
      if (n <= 0) { printf "  cpu per %s: none done\n", noun; exit }
      us = 1e6 / hz / n; w = y[1] - x[1]
      g["postgres"] = y[5] - x[5]; k = split("postgres", order, " ")
      if (noun == "transfer") {
        g["broker"] = y[2] - x[2]; g["gateway"] = y[4] - x[4]; g["txn_worker"] = y[3] - x[3]
        g["other_workers"] = y[11] - x[11]; g["redis"] = y[10] - x[10]
        k = split("postgres broker gateway txn_worker other_workers redis", order, " ")
      }
      g[load] = lt; order[++k] = load
      line = sprintf("  cpu per %s (µs, %d of them):", noun, n); tot = 0
      for (i = 1; i <= k; i++) { line = line sprintf(" %s=%.0f", order[i], g[order[i]] * us); tot += g[order[i]] }
      print line sprintf(" total=%.0f", tot * us)
      busy = y[6] - x[6]
      printf "  machine busy %.0f%% of %d cores over the run: %.0f µs per %s, %.0f µs of it outside the processes above\n",
        busy * 100 / hz / w / cores, cores, busy * us, noun, (busy - tot) * us
    }' "$TMP/cpu"
}
# Samples what PostgreSQL's active client backends wait on, 4 times a second, into $1.
sampler_start() {
  local q="SELECT '#'; SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
           WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();"
  # psql itself (not a function, which would be a subshell) is the job's last process, so $! is
  # psql's pid; once psql is gone the writer loop dies of SIGPIPE at its next line.
  { while sleep 0.25; do echo "$q"; done; } | psql -X -q -At -d postgres >"$1" 2>/dev/null &
  sampler_pid=$!
}
sampler_stop() { kill -TERM "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""; }
# cpu+pg report for one run: $1 $2 snap lines before/after, $3 requests done, $4 sampler file.
report() {
  local samples=$4
  awk -v hz="$HZ" -v reqs="$3" -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " "); w = y[1] - x[1];
    printf "  cpu (%% of one core; 2 cores = 200%%): broker=%.0f%% txn_worker=%.0f%% gateway=%.0f%% postgres=%.0f%% machine_busy=%.0f%% iowait=%.0f%%\n",
      (y[2]-x[2])*100/hz/w, (y[3]-x[3])*100/hz/w, (y[4]-x[4])*100/hz/w, (y[5]-x[5])*100/hz/w,
      (y[6]-x[6])*100/hz/w, (y[7]-x[7])*100/hz/w;
    if (reqs > 0) printf "  pg: write_xacts/request=%.2f wal_bytes/request=%.0f\n", (y[8]-x[8])/reqs, (y[9]-x[9])/reqs
  }'
  awk '$0 == "#" { n++; next } NF { c[$0]++ } END {
    line = sprintf("  pg active client backends (mean of %d samples):", n); tot = 0;
    for (k in c) tot += c[k];
    line = line sprintf(" total=%.1f", n ? tot / n : 0);
    for (k in c) if (c[k] / n >= 0.05) line = line sprintf(" %s=%.1f", k, c[k] / n);
    print line }' "$samples"
}
# wrk_run NAME SECS SCRIPT URL [SCRIPT ARGS...]: one measured wrk run, -t2 -c32, or over
# WRK_CONNS connections (one thread when 1).
wrk_run() {
  local name=$1 secs=$2 script=$3 url=$4; shift 4
  local before after out reqs c=${WRK_CONNS:-32} t=2
  [ "$c" -lt 2 ] && t=1
  sql -d postgres -c CHECKPOINT
  sampler_start "$TMP/samples"
  before=$(snap)
  out=$(with_cpu "$TMP/load.ticks" wrk -t"$t" -c"$c" -d"${secs}s" --timeout 10s --latency -s "$script" "$url" -- "$@")
  after=$(snap)
  sampler_stop
  printf '%s\n' "$before" "$after" >"$TMP/cpu"
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  local non2xx; non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  printf '%s wrk -t%s -c%s %ss: rps=%s p50=%sms p99=%sms non2xx=%s %s\n' "$name" "$t" "$c" "$secs" \
    "$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")" \
    "$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")" "$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")" \
    "${non2xx:-0}" "$(grep '^status' <<<"$out")"
  grep -E '^first_non2xx|Socket errors' <<<"$out" | sed 's/^/  /' || true
  report "$before" "$after" "$reqs" "$TMP/samples"
}
pgbench_run() {
  local secs=$1 before after out tps p50 p99
  rm -rf "$TMP/pgblog"; mkdir -p "$TMP/pgblog"
  sql -d postgres -c CHECKPOINT
  sampler_start "$TMP/samples"
  before=$(snap)
  out=$(with_cpu "$TMP/load.ticks" pgbench -c 32 -j 2 -T "$secs" -l --log-prefix="$TMP/pgblog/log" bench 2>&1)
  after=$(snap)
  sampler_stop
  printf '%s\n' "$before" "$after" >"$TMP/cpu"
  tps=$(awk '/^tps =/ { printf "%.0f", $3 }' <<<"$out")
  read -r p50 p99 < <(cat "$TMP/pgblog"/log* | awk '{ print $3 }' | sort -n |
    awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.50)] / 1000, v[int(NR * 0.99)] / 1000 }')
  printf 'pgbench -c32 -j2 %ss (TPC-B-like, scale 10): tps=%s p50=%sms p99=%sms %s %s\n' "$secs" "$tps" \
    "$p50" "$p99" "$(grep -o 'latency average = .*' <<<"$out" | tr -d ' ' | sed 's/latencyaverage/lat_avg/')" \
    "$(grep -o 'number of failed transactions: [0-9]*' <<<"$out" | sed 's/number of failed transactions: /failed=/')"
  local xacts; xacts=$(awk '/number of transactions actually processed/ { print $NF }' <<<"$out")
  report "$before" "$after" "$xacts" "$TMP/samples"
  cpu_per_request "pgbench transaction" "${xacts:-0}" pgbench
}
# The highest transfer seq so far: a transfer run's rows are those between its value before
# and after the run (nothing else posts; the run's last in-flight requests commit within
# milliseconds of wrk's end, before the second read).
max_seq() { sql -d fintwin -c 'SELECT coalesce(max(seq), 0) FROM ledger.transfers'; }
# batch_size LO HI: the mean batch size of the transfers with LO < seq <= HI, transfers per
# database transaction, grouped by xmin: the id of the transaction that inserted the row
# (freezing keeps it). A row inserted inside a savepoint would carry the subtransaction's id
# and count as a transaction of its own; the posting's inserts run outside savepoints (idem.c
# releases its sweep's first). Prints the line; leaves the number of transfers in $TMP/transfers:
# those written, which is up to the 32 in flight when wrk stopped more than its 201 count.
batch_size() {
  local c; c=$(sql -d fintwin -F ' ' -c "SELECT count(*), count(DISTINCT xmin::text::bigint)
                                          FROM ledger.transfers WHERE seq > $1 AND seq <= $2")
  awk '{ printf "  mean batch size: %.2f transfers per transaction (%d transfers, %d transactions)\n",
         $2 ? $1 / $2 : 0, $1, $2 }' <<<"$c"
  echo "${c%% *}" >"$TMP/transfers"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, commit $(git -C "$FT_ROOT" rev-parse --short HEAD)$(git -C "$FT_ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
echo "# postgres: $(sql -d postgres -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) FROM pg_settings
  WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_sync_method', 'max_wal_size')")"
echo "# workers: $WORKERS fintwin-transaction, 2 fintwin-auth; gateway 127.0.0.1:$PORT"
if [ "$ledger_ok" = 1 ]; then
  printf '# seeding: %d users registered + 1,000,000.00 deposited each over HTTP in %.0f s; pgbench -i -s 10 in %.1f s\n' \
    "$USERS" "$t_seed" "$t_pginit"
else
  printf '# pgbench -i -s 10 in %.1f s\n' "$t_pginit"
fi

RUNS=()
TPS=()
if [ "$ledger_ok" = 1 ]; then
  # Warm-ups, not counted: the same loads for 5 s each.
  wrk -t2 -c32 -d5s -s "$HERE/transfer.lua" "$BASE_URL/api/transactions/" -- "$TMP/users.txt" "w$RUN_ID" >/dev/null
  pgbench -c 32 -j 2 -T 5 bench >/dev/null 2>&1
  for r in 1 2; do
    [ "$r" = 1 ] && [ "${LEDGER_BENCH_PGSS:-0}" = 1 ] && sql -d fintwin -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT pg_stat_statements_reset()' >/dev/null
    seq_lo=$(max_seq)
    # Not in $(...): the sampler's pid must stay visible to cleanup.
    wrk_run ledger_transfer "$SECS" "$HERE/transfer.lua" "$BASE_URL/api/transactions/" "$TMP/users.txt" "r$r$RUN_ID" >"$TMP/run"
    seq_hi=$(max_seq)
    cat "$TMP/run"; RUNS+=("$(sed -nE '1s/.* rps=([0-9.]+).*/\1/p' "$TMP/run")")
    batch_size "$seq_lo" "$seq_hi"
    cpu_per_request transfer "$(cat "$TMP/transfers")" wrk
    if [ "$r" = 1 ] && [ "${LEDGER_BENCH_PGSS:-0}" = 1 ]; then
      n=$(sed -nE '1s/.* status 201=([0-9]+).*/\1/p' "$TMP/run")
      echo "  pg_stat_statements over that run, per transfer (${n:-?} transfers; top 12 by time; nested statements counted in their function too):"
      sql -d fintwin -F ' | ' -c "SELECT round((total_exec_time / ${n:-1})::numeric, 3) || ' ms',
                                   round((calls::numeric / ${n:-1}), 2) || ' calls',
                                   left(regexp_replace(query, '\s+', ' ', 'g'), 110)
                              FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" | sed 's/^/    /'
    fi
    pgbench_run "$SECS" >"$TMP/run"
    cat "$TMP/run"; TPS+=("$(sed -nE '1s/.* tps=([0-9.]+).*/\1/p' "$TMP/run")")
  done
  awk -v a1="${RUNS[0]}" -v a2="${RUNS[1]}" -v b1="${TPS[0]}" -v b2="${TPS[1]}" -v w="$WORKERS" 'BEGIN {
    a = (a1 + a2) / 2; b = (b1 + b2) / 2;
    printf "mean: ledger %.0f transfers/s (%d transaction worker%s), pgbench %.0f tps, ratio = %.2f (target >= 0.60)\n",
      a, w, (w > 1 ? "s" : ""), b, a / b }'
else
  pgbench -c 32 -j 2 -T 5 bench >/dev/null 2>&1
  pgbench_run "$SECS"
fi

# ---- where the first transaction worker waits -----------------------------------------------
# Not a measured run (strace slows the traced process): 5 s of transfers while strace -T times
# the worker's blocking calls on sockets (poll, recvfrom, read, ...); each call's time is
# charged to its socket, named by the peer port (PostgreSQL or the broker; of the two broker
# connections the lower fd consumes RPCs, the higher one is the outbox relay's, opened later).
if [ "$ledger_ok" = 1 ] && command -v strace >/dev/null; then
  strace -f -T -yy -e trace=poll,ppoll,select,pselect6,recvfrom,recvmsg,read,sendto,sendmsg,write,writev \
    -o "$TMP/strace" -p "${txw_pids[0]}" 2>/dev/null &
  st_pid=$!
  pids+=("$st_pid")
  sleep 0.5
  wrk -t2 -c32 -d5s -s "$HERE/transfer.lua" "$BASE_URL/api/transactions/" -- "$TMP/users.txt" "s$RUN_ID" >"$TMP/run"
  kill -INT "$st_pid" 2>/dev/null || true; wait "$st_pid" 2>/dev/null || true
  awk -v pg="$PGPORT" -v mq="${AMQP_URL##*:}" '
    match($0, /<[0-9.]+>$/) {
      t = substr($0, RSTART + 1, RLENGTH - 2); tot += t; n++
      if (!match($0, /[0-9]+<TCP:\[[0-9.]+:[0-9]+->[0-9.]+:[0-9]+\]>/)) { w["other"] += t; next }
      s = substr($0, RSTART, RLENGTH); fd = s; sub(/<.*/, "", fd)
      port = s; sub(/.*:/, "", port); sub(/\]>$/, "", port)
      if (port == pg) w["postgres"] += t; else if (port + 0 == mq + 0) b[fd] += t; else w["other"] += t
    }
    END {
      line = sprintf("txn worker 1 time in socket calls (strace -T, 5 s of transfers, not measured; %d calls, %.2fs):", n, tot)
      k = 0; for (f in b) fds[++k] = f + 0
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (fds[j] < fds[i]) { x = fds[i]; fds[i] = fds[j]; fds[j] = x }
      for (i = 1; i <= k; i++) line = line sprintf(" %s(fd %d)=%.2fs", i == 1 ? "broker_rpc" : (i == 2 ? "broker_relay" : "broker"), fds[i], b[fds[i]])
      for (x in w) line = line sprintf(" %s=%.2fs", x, w[x])
      print line }' "$TMP/strace"
  echo "  transfers meanwhile under strace: $(awk '/^Requests\/sec/ { printf "%.0f/s", $2 }' "$TMP/run")"
fi

# ---- history: one user with 100,000 postings ------------------------------------------------
if [ "$ledger_ok" = 1 ]; then
  hist_user=$(cut -d' ' -f1 "$TMP/seed/0.user")
  peer_user=$(cut -d' ' -f1 "$TMP/seed/1.user")
  t2=$EPOCHREALTIME
  # Alternating postings on the history user's default account A: odd k a deposit of 1.00 from
  # the USD external account E, even k a transfer of 0.50 from A to user 1's default account B.
  # Balances and balance_after follow the same arithmetic, the deferred balance triggers check
  # every posting at commit, and timestamps run one second apart up to now.
  sql -d fintwin -v hu="$hist_user" -v pu="$peer_user" -v n="$HIST_POSTINGS" >/dev/null <<'SQL'
BEGIN;
CREATE TEMP TABLE acct AS
SELECT (SELECT id FROM ledger.accounts WHERE owner = :'hu' AND is_default) AS a,
       (SELECT id FROM ledger.accounts WHERE owner = :'pu' AND is_default) AS b,
       (SELECT id FROM ledger.accounts WHERE owner IS NULL AND currency = 'USD') AS e;
SELECT a, b, e FROM acct WHERE a IS NOT NULL AND b IS NOT NULL AND e IS NOT NULL \gset
SELECT (SELECT balance FROM ledger.accounts WHERE id = :'a' FOR UPDATE) AS a0,
       (SELECT balance FROM ledger.accounts WHERE id = :'b' FOR UPDATE) AS b0,
       (SELECT balance FROM ledger.accounts WHERE id = :'e' FOR UPDATE) AS e0 \gset
CREATE TEMP TABLE h AS
SELECT k, gen_random_uuid() AS id, k % 2 = 1 AS dep,
       now() - (:n - k) * interval '1 second' AS at,
       (k + 1) / 2 AS deps, k / 2 AS xfers
  FROM generate_series(1, :n) AS k;
INSERT INTO ledger.transfers (id, kind, amount, currency, from_account, to_account, initiator, created_at)
SELECT id, CASE WHEN dep THEN 'deposit' ELSE 'transfer' END, CASE WHEN dep THEN 100 ELSE 50 END, 'USD',
       CASE WHEN dep THEN :'e'::uuid ELSE :'a'::uuid END, CASE WHEN dep THEN :'a'::uuid ELSE :'b'::uuid END,
       :'hu'::uuid, at
  FROM h ORDER BY k;
INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after, created_at)
SELECT id, acct, amount, bal, at FROM (
  SELECT k, 1 AS line, id, at, CASE WHEN dep THEN :'e'::uuid ELSE :'a'::uuid END AS acct,
         CASE WHEN dep THEN -100 ELSE -50 END AS amount,
         CASE WHEN dep THEN :e0 - 100 * deps ELSE :a0 + 100 * deps - 50 * xfers END AS bal FROM h
  UNION ALL
  SELECT k, 2, id, at, CASE WHEN dep THEN :'a'::uuid ELSE :'b'::uuid END,
         CASE WHEN dep THEN 100 ELSE 50 END,
         CASE WHEN dep THEN :a0 + 100 * deps - 50 * xfers ELSE :b0 + 50 * xfers END FROM h
) l ORDER BY k, line;
UPDATE ledger.accounts SET balance = balance + 100 * ((:n + 1) / 2) - 50 * (:n / 2) WHERE id = :'a';
UPDATE ledger.accounts SET balance = balance + 50 * (:n / 2) WHERE id = :'b';
UPDATE ledger.accounts SET balance = balance - 100 * ((:n + 1) / 2) WHERE id = :'e';
COMMIT;
VACUUM ANALYZE ledger.transfers, ledger.entries, ledger.accounts;
SQL
  t_hist=$(bc <<<"$EPOCHREALTIME - $t2")
  n_posts=$(sql -d fintwin -c "SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
                               WHERE a.owner = '$hist_user'")
  first=$(curl -s -H @- "$BASE_URL/api/transactions/?limit=20" <<<"Authorization: Bearer $(cat "$TMP/history.token")")
  printf '# history user: %s postings (%d seeded in SQL in %.1f s, then VACUUM ANALYZE); GET returns %s items\n' \
    "$n_posts" "$HIST_POSTINGS" "$t_hist" "$(grep -o '"id":"' <<<"$first" | wc -l)"
  # Throughput at 32 connections against the cheapest request through the same gateway and
  # broker (sys.ping to the transaction worker, no database), alternated a b a b: the ratio
  # says what the history query costs on top of the RPC path (target >= 0.60).
  for _ in 1 2; do
    wrk_run ledger_history "$HIST_SECS" "$HERE/history.lua" "$BASE_URL/api/transactions/?limit=20" "$TMP/history.token" >"$TMP/run"
    cat "$TMP/run"; head -1 "$TMP/run" >>"$TMP/hist-rps"
    wrk_run sys_ping "$HIST_SECS" "$HERE/history.lua" "$BASE_URL/api/sys/transaction/ping" "$TMP/history.token" >"$TMP/run"
    cat "$TMP/run"; head -1 "$TMP/run" >>"$TMP/hist-rps"
  done
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { split($i, kv, "="); s[$1] += kv[2]; n[$1]++ } }
       END { h = s["ledger_history"] / n["ledger_history"]; p = s["sys_ping"] / n["sys_ping"];
             printf "mean: ledger_history %.0f rps, sys_ping %.0f rps, history/ping = %.2f (target >= 0.60)\n", h, p, h / p }' "$TMP/hist-rps"
  # Latency at 8 connections (target p99 < 10 ms), and one at a time: the time a request
  # takes without waiting behind others, so the difference is queueing for the two cores.
  WRK_CONNS=8 wrk_run ledger_history 10 "$HERE/history.lua" "$BASE_URL/api/transactions/?limit=20" "$TMP/history.token" >"$TMP/run"
  sed '1s/$/ (target p99 < 10 ms)/' "$TMP/run"
  WRK_CONNS=1 wrk_run ledger_history 10 "$HERE/history.lua" "$BASE_URL/api/transactions/?limit=20" "$TMP/history.token" >"$TMP/run"
  sed '1s/$/ (one connection: no queueing)/' "$TMP/run"
fi

echo "cpu: per server process over each run, % of one core; postgres = all its processes;" \
  "machine_busy and iowait over both cores (200% = both busy); write_xacts = xids assigned"
printf '# whole run %.0f s\n' "$(bc <<<"$EPOCHREALTIME - $T_START")"
echo "reproduce: tests/bench/ledger.sh"
[ "$ledger_ok" = 1 ] || exit 2
