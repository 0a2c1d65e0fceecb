#!/usr/bin/env bash
# PostgreSQL 15, Redis 7 and RabbitMQ 3.10 on loopback under one directory, no systemd, no Docker.
# Used by up.sh (a long-lived stack under FT_DATA_DIR) and test.sh (a throw-away stack in /tmp).
#
# usage: services.sh start|stop|status|env|start-rabbit|stop-rabbit|rpc-queues-reset BASE_DIR [PORT_OFFSET]
#        services.sh secret BASE_DIR PORT_OFFSET NAME [BYTES]   (a per-BASE_DIR random secret;
#        BYTES of randomness, default 18, printed as letters and digits)
#   ports: PostgreSQL 21432+OFF, Redis 22379+OFF, AMQP 23672+OFF, Erlang dist 23673+OFF,
#   epmd 24369+OFF, for OFF a multiple of 10 in 0..990: never the default ports (the image may
#   run its own cluster on 5432), no two stacks' ports ever equal, and all below Linux's
#   ephemeral range (32768-60999). Inside it, any outgoing connection may hold the port as its
#   local end, and RabbitMQ's listener (no SO_REUSEADDR) then fails to boot; that happened.
#   start-pg/stop-pg, start-rabbit/stop-rabbit restart one server (for outage tests).
#   start  is idempotent: it initialises what is missing, starts what is not running, and prints
#          eval-able PG_URL=… REDIS_URL=… AMQP_URL=… (superuser/admin URLs; passwords are random
#          per BASE_DIR and kept in BASE_DIR/secrets, mode 600).
#   stop   stops everything it started, by the pids recorded under BASE_DIR; idempotent.
#   PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit); otherwise test speed.
# Why the odd steps: docs/operations.md, "What services.sh does, and why".
set -euo pipefail
CMD=${1:?usage: services.sh start|stop|status|env|start-X|stop-X|secret BASE_DIR [PORT_OFFSET]}
BASE=$(realpath -m "${2:?BASE_DIR required}")
OFF=${3:-0}
[[ $OFF =~ ^[0-9]{1,3}$ ]] && [ $((OFF % 10)) = 0 ] || { echo "PORT_OFFSET must be a multiple of 10 in 0..990" >&2; exit 2; }
PG_PORT=$((21432 + OFF)); REDIS_PORT=$((22379 + OFF)); AMQP_PORT=$((23672 + OFF))
DIST_PORT=$((23673 + OFF)); EPMD_PORT=$((24369 + OFF))
PGBIN=/usr/lib/postgresql/15/bin
RMQBIN=/usr/lib/rabbitmq/bin   # the real scripts; /usr/sbin/rabbitmq* 'su rabbitmq' and lose our env
NODE=rmq${OFF}@localhost

alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }   # a zombie counts as dead
wait_gone() { local n=0; while alive "$1"; do sleep 0.1; n=$((n + 1)); [ $n -lt "${2:-300}" ] || return 1; done; }
pidfile_alive() { [ -f "$1" ] && alive "$(head -1 "$1")"; }
secret() {   # secret NAME [BYTES]: a random alphanumeric secret generated once per BASE_DIR
  local f="$BASE/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$BASE/secrets"; chmod 700 "$BASE/secrets"
    (umask 077; head -c "${2:-18}" /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' >"$f")
  fi
  cat "$f"
}

rmq_env() {   # shared by rabbitmq-server and its CLI tools
  export HOME=$BASE/rmq/home               # Erlang cookie lives in $HOME; server and CLI must agree
  export RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT     # default NODE_PORT+20000 overflows for our ports
  export ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE=$BASE/rmq/mnesia RABBITMQ_LOG_BASE=$BASE/rmq/log
  export RABBITMQ_PID_FILE=$BASE/rmq/rabbit.pid
  export RABBITMQ_CONFIG_FILE=$BASE/rmq/rabbitmq.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/rmq/enabled_plugins
  export RABBITMQ_CONF_ENV_FILE=/dev/null  # ignore /etc/rabbitmq/rabbitmq-env.conf
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

print_env() {
  echo "PG_URL=postgresql://postgres:$(secret pg)@127.0.0.1:$PG_PORT/postgres"
  echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "AMQP_URL=amqp://fintwin:$(secret amqp)@127.0.0.1:$AMQP_PORT/%2f"   # %2f: vhost "/"
}

start_pg() {
  pidfile_alive "$BASE/pg/data/postmaster.pid" && return 0
  mkdir -p "$BASE/pg" "$BASE/pgsock"
  chown postgres:postgres "$BASE/pg" "$BASE/pgsock"
  if [ ! -f "$BASE/pg/data/PG_VERSION" ]; then
    local pw; pw=$(mktemp); secret pg >"$pw"; chown postgres "$pw"
    runuser -u postgres -- "$PGBIN/initdb" -D "$BASE/pg/data" -U postgres --pwfile="$pw" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$BASE/pg/initdb.log"
    rm -f "$pw"
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PG_PORT"
      echo "unix_socket_directories = '$BASE/pgsock'"
      echo "max_connections = 200"
      if [ "${PG_DURABLE:-0}" != 1 ]; then
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
      fi
    } >>"$BASE/pg/data/postgresql.conf"
  fi
  rm -f "$BASE/pg/data/postmaster.pid"   # stale after a crash; we checked it is not alive
  # The port on the command line wins over postgresql.conf, so a data dir made with other
  # ports (an older checkout) still follows this script.
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BASE/pg/data" -l "$BASE/pg/server.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$BASE/pgsock" start >/dev/null \
    || { tail -20 "$BASE/pg/server.log" >&2; return 1; }
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
}

start_redis() {
  pidfile_alive "$BASE/redis/redis.pid" && return 0
  mkdir -p "$BASE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$BASE/redis" --pidfile "$BASE/redis/redis.pid" --logfile "$BASE/redis/redis.log"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  tail -20 "$BASE/redis/redis.log" >&2; return 1
}

start_rabbit() {
  pidfile_alive "$BASE/rmq/wrapper.pid" && return 0
  mkdir -p "$BASE/rmq/home" "$BASE/rmq/mnesia" "$BASE/rmq/log"
  rmq_env
  [ -f "$HOME/.erlang.cookie" ] || { head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$HOME/.erlang.cookie"; chmod 400 "$HOME/.erlang.cookie"; }
  (umask 077; cat >"$RABBITMQ_CONFIG_FILE" <<RMQCONF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
default_user = fintwin
default_pass = $(secret amqp)
loopback_users = none
disk_free_limit.absolute = 10MB
log.console = false
log.file.level = warning
RMQCONF
)
  echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  if ! pidfile_alive "$BASE/rmq/epmd.pid"; then
    epmd -port "$EPMD_PORT" -address 127.0.0.1 >"$BASE/rmq/epmd.log" 2>&1 &   # our own epmd: we own its pid
    echo $! >"$BASE/rmq/epmd.pid"
  fi
  "$RMQBIN/rabbitmq-server" >>"$BASE/rmq/stdout.log" 2>&1 </dev/null &       # sh wrapper: TERM -> clean stop
  local w=$! ok=""
  echo $w >"$BASE/rmq/wrapper.pid"
  for _ in $(seq 480); do   # up to 120 s; fail fast if the broker dies (port clash, bad config, ...)
    alive "$w" || break
    if epmd -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name ${NODE%@*} "; then ok=1; break; fi
    sleep 0.25
  done
  [ -n "$ok" ] && "$RMQBIN/rabbitmqctl" -q await_startup --timeout 90 >/dev/null \
    || { echo "rabbitmq failed to start:" >&2; tail -20 "$BASE/rmq/stdout.log" >&2; return 1; }
}

stop_rabbit() {
  if [ -f "$BASE/rmq/wrapper.pid" ]; then
    local w b=""; w=$(cat "$BASE/rmq/wrapper.pid"); [ -f "$BASE/rmq/rabbit.pid" ] && b=$(cat "$BASE/rmq/rabbit.pid")
    alive "$w" && kill -TERM "$w"                  # the wrapper forwards TERM to beam.smp and waits
    wait_gone "$w" 600 || { [ -n "$b" ] && kill -KILL "$b" 2>/dev/null; kill -KILL "$w" 2>/dev/null || true; }
    if [ -n "$b" ]; then wait_gone "$b" 100 || kill -KILL "$b" 2>/dev/null || true; fi
    rm -f "$BASE/rmq/wrapper.pid"
  fi
}

stop_pg() {
  if pidfile_alive "$BASE/pg/data/postmaster.pid"; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BASE/pg/data" -m fast -w -t 60 stop >/dev/null \
      || kill -QUIT "$(head -1 "$BASE/pg/data/postmaster.pid")" 2>/dev/null || true
  fi
}

stop_all() {
  stop_rabbit
  if [ -f "$BASE/rmq/epmd.pid" ]; then kill "$(cat "$BASE/rmq/epmd.pid")" 2>/dev/null || true; rm -f "$BASE/rmq/epmd.pid"; fi
  if [ -f "$BASE/redis/redis.pid" ]; then
    local r; r=$(cat "$BASE/redis/redis.pid"); kill -TERM "$r" 2>/dev/null || true
    wait_gone "$r" 100 || kill -KILL "$r" 2>/dev/null || true
  fi
  stop_pg
}

# Deletes rpc.<worker> queues declared otherwise than the processes now declare them (classic
# and non-durable; durable quorum under FT_RPC_QUEUE_TYPE=quorum, benchmarks only). RabbitMQ
# refuses to redeclare a queue with other arguments, so a data directory from before the
# switch (they were durable quorum queues) needs this once. Requests are transient and
# clients retry them, so nothing of value is lost. Run before starting the gateway and workers.
rpc_queues_reset() {
  rmq_env
  local want=classic name type durable
  [ "${FT_RPC_QUEUE_TYPE:-}" = quorum ] && want=quorum
  "$RMQBIN/rabbitmqctl" -q list_queues name type durable 2>/dev/null | while read -r name type durable; do
    case $name in rpc.*) ;; *) continue ;; esac
    if [ "$type" != "$want" ] || { [ "$want" = classic ] && [ "$durable" = true ]; }; then
      "$RMQBIN/rabbitmqctl" -q delete_queue "$name" </dev/null >/dev/null && echo "deleted $type queue $name (now $want)" >&2
    fi
  done
}

case "$CMD" in
  start)
    mkdir -p "$BASE"; chmod 755 "$BASE"   # the postgres user must traverse it (mktemp -d gives 700)
    if ! runuser -u postgres -- test -x "$BASE"; then
      echo "services: user postgres cannot reach $BASE (a parent directory is not world-searchable);" \
           "use a data directory under /tmp, /var/tmp or /srv" >&2
      exit 1
    fi
    t0=$EPOCHREALTIME
    start_pg; t1=$EPOCHREALTIME
    start_redis; t2=$EPOCHREALTIME
    start_rabbit; t3=$EPOCHREALTIME
    printf "services up in %.1f s (postgres %.1f, redis %.1f, rabbitmq %.1f)\n" \
      "$(bc <<<"$t3-$t0")" "$(bc <<<"$t1-$t0")" "$(bc <<<"$t2-$t1")" "$(bc <<<"$t3-$t2")" >&2
    print_env ;;
  stop) stop_all ;;
  env) print_env ;;
  start-rabbit) start_rabbit ;;
  stop-rabbit) stop_rabbit ;;
  start-pg) start_pg ;;
  stop-pg) stop_pg ;;
  rpc-queues-reset) rpc_queues_reset ;;
  secret) secret "${4:?secret NAME}" "${5:-18}" ;;
  status)
    "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" || true
    redis-cli -p "$REDIS_PORT" ping 2>&1 || true
    rmq_env; "$RMQBIN/rabbitmq-diagnostics" -q ping 2>&1 | tail -1 || true ;;
  *) echo "unknown command $CMD" >&2; exit 2 ;;
esac
