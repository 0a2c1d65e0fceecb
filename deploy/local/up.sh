#!/usr/bin/env bash
# Starts the whole FinTwin system on this machine and prints its URL.
#   deploy/local/up.sh
# Installs missing Debian packages (as root), starts PostgreSQL, Redis and RabbitMQ under
# FT_DATA_DIR on loopback, migrates, builds in Release (and the web app, web/: npm ci, then
# tsc and vite into FT_DATA_DIR/build/web-dist), and runs the gateway and one of each
# worker under supervise.sh (restarted when they crash; logs in FT_DATA_DIR/log).
# Before it installs, builds or starts anything it checks every port the stack listens on
# (the gateway's and the servers' below, plus RabbitMQ's Erlang distribution and epmd ports)
# and stops with the port and the program holding it when one is taken; ports held by this
# data directory's own servers and gateway are fine, because running it again rebuilds and
# restarts the processes in place. It ends with the exact down.sh command that stops this stack.
# Environment: FT_DATA_DIR (default <repo>/.data), FT_PORT_OFFSET (default 0; shifts the
# server ports: PostgreSQL 21432, Redis 22379, RabbitMQ 23672; a multiple of 10 up to 990),
# GW_PORT (default 8080), FT_SCALE (instances per worker kind, e.g. "transaction=2 twin=3";
# default one each), LOG_LEVEL (info), and anything the gateway or workers read
# (docs/operations.md, "Configuration").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DATA=$(ft_data_dir)
OFF=${FT_PORT_OFFSET:-0}
GW_PORT=${GW_PORT:-8080}
SVC=$FT_ROOT/deploy/local/services.sh
BUILD=$DATA/build
[[ $OFF =~ ^[0-9]{1,3}$ ]] && [ $((10#$OFF % 10)) = 0 ] \
  || { ft_log "FT_PORT_OFFSET=$OFF is not a multiple of 10 in 0..990"; exit 1; }
OFF=$((10#$OFF))
[[ $GW_PORT =~ ^[1-9][0-9]{0,4}$ ]] && [ "$GW_PORT" -le 65535 ] \
  || { ft_log "GW_PORT=$GW_PORT is not a port number"; exit 1; }

# The command that stops this stack: down.sh finds it by FT_DATA_DIR and FT_PORT_OFFSET,
# so they are part of it whenever they differ from the defaults.
down_cmd=$(dirname "$0")/down.sh
[ "$OFF" = 0 ] || down_cmd="FT_PORT_OFFSET=$OFF $down_cmd"
[ "$DATA" = "$(FT_DATA_DIR='' ft_data_dir)" ] || down_cmd="FT_DATA_DIR=$(printf %q "$DATA") $down_cmd"

# Pids of this data directory's running servers, supervisors and supervised processes.
own_pids() {
  local f p s=$DATA/services
  for f in "$s/pg/data/postmaster.pid" "$s/redis/redis.pid" "$s/rmq/wrapper.pid" \
           "$s/rmq/rabbit.pid" "$s/rmq/epmd.pid" "$DATA"/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(head -1 "$f")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || continue
    echo "$p"
    case $f in "$DATA"/run/*) pgrep -P "$p" || true ;; esac   # the supervised process itself
  done
}
# Every port this stack listens on, as services.sh assigns them: "port pidfile label", where
# pidfile names the process of this stack that holds the port when it already runs.
stack_ports() {
  echo "$((21432 + OFF)) services/pg/data/postmaster.pid PostgreSQL"
  echo "$((22379 + OFF)) services/redis/redis.pid Redis"
  echo "$((23672 + OFF)) services/rmq/wrapper.pid RabbitMQ AMQP"
  echo "$((23673 + OFF)) services/rmq/wrapper.pid RabbitMQ Erlang distribution"
  echo "$((24369 + OFF)) services/rmq/epmd.pid RabbitMQ epmd"
  echo "$GW_PORT run/fintwin-gateway.pid gateway (GW_PORT)"
}
# Fails, naming each taken port and what holds it, unless every port is free or held by this
# stack. Without ss (no iproute2 yet) a taken port counts as ours when our server that should
# hold it runs.
check_ports() {
  local ours port pidfile label p mine taken=0
  ours=" $(own_pids | tr '\n' ' ') "
  while read -r port pidfile label; do
    if [ "$port" = "$GW_PORT" ] && [ "$pidfile" != run/fintwin-gateway.pid ]; then
      ft_log "GW_PORT=$GW_PORT is also this stack's $label port; choose another GW_PORT"
      taken=1; continue
    fi
    ft_port_free "$port" && continue
    mine=""
    if [ -n "$(ft_port_pids "$port")" ]; then
      for p in $(ft_port_pids "$port"); do
        [[ $ours == *" $p "* || $ours == *" $(ps -o ppid= -p "$p" | tr -d ' ') "* ]] && mine=1
      done
    elif [ -f "$DATA/$pidfile" ] && kill -0 "$(head -1 "$DATA/$pidfile")" 2>/dev/null; then
      mine=1
    fi
    [ -n "$mine" ] && continue
    ft_log "port $port ($label) is taken by $(ft_port_user "$port")"
    taken=1
  done < <(stack_ports)
  [ "$taken" = 0 ] && return 0
  ft_log "nothing was started; free the port(s) above, or move this stack: FT_PORT_OFFSET (a multiple of 10, 0-990) shifts the server ports, GW_PORT sets the gateway's"
  exit 1
}
check_ports

ft_ensure_packages
mkdir -p "$DATA/run" "$DATA/log"
ft_log "starting PostgreSQL, Redis and RabbitMQ under $DATA"
svc_env=$("$SVC" start "$DATA/services" "$OFF")
eval "$svc_env"
# Once per data directory: rpc queues declared before they became classic are deleted, since
# RabbitMQ refuses to redeclare a queue with other arguments (the marker spares later runs the
# RabbitMQ CLI's start-up).
if [ ! -f "$DATA/services/rmq/rpc-queues-classic" ]; then
  "$SVC" rpc-queues-reset "$DATA/services" "$OFF" && touch "$DATA/services/rmq/rpc-queues-classic"
fi
ft_log "building (Release) in $BUILD"
ft_build "$BUILD" Release
ft_log "building the web app into $BUILD/web-dist"
ft_web_build "$BUILD/web-dist"
role_pw() { "$SVC" secret "$DATA/services" "$OFF" "db_$1"; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw

# Stops the supervised process NAME if it runs (graceful: SIGTERM to its supervisor).
stop_proc() {
  local f="$DATA/run/$1.pid" p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}
# Starts instance NAME of executable BIN ($BUILD/bin/BIN) under the supervisor, detached from
# this shell. The caller exports the environment in a subshell, so secrets stay out of argv.
start_proc() {
  local name=$1 bin=${2:-$1}
  stop_proc "$name"
  setsid "$FT_ROOT/deploy/local/supervise.sh" "$DATA/run/$name.pid" "$DATA/log/$name.log" \
    "$BUILD/bin/$bin" </dev/null >/dev/null 2>&1 &
}
# How many instances of worker $1 FT_SCALE asks for ("transaction=2 twin=3"; default 1).
scale_of() {
  local kv n=1
  for kv in ${FT_SCALE:-}; do [ "${kv%%=*}" = "$1" ] && n=${kv#*=}; done
  [[ $n =~ ^[1-9][0-9]?$ ]] || { ft_log "FT_SCALE: $1=$n is not 1..99"; exit 1; }
  echo "$n"
}

stop_proc fintwin-gateway
if ! ft_port_free "$GW_PORT"; then   # checked at the start too; this is for a late comer
  ft_log "port $GW_PORT is taken by $(ft_port_user "$GW_PORT"); set GW_PORT to a free port"; exit 1
fi
export LOG_LEVEL=${LOG_LEVEL:-info}
# The access-token key: 48 random bytes (>= 32 required) kept in the data dir, shared by the
# gateway (verifies) and the auth worker (mints).
JWT_SECRET=$("$SVC" secret "$DATA/services" "$OFF" jwt 48)
for w in $FT_WORKERS; do
  n=$(scale_of "$w")
  for f in "$DATA/run/fintwin-$w"-*.pid; do   # instances beyond the new count
    [ -f "$f" ] || continue
    i=${f##*-}; i=${i%.pid}
    [ "$i" -gt "$n" ] && stop_proc "fintwin-$w-$i"
  done
  for i in $(seq "$n"); do
    name=fintwin-$w; [ "$i" = 1 ] || name=fintwin-$w-$i
    (export AMQP_URL REDIS_URL DATABASE_URL; if [ "$w" = auth ]; then export JWT_SECRET; fi; DATABASE_URL=$(ft_worker_db_url "$PG_URL" "$w" "$(role_pw "$w")")
     start_proc "$name" "fintwin-$w")
  done
done
web_root=$BUILD/web-dist
# The page it serves opens /api/ws from these origins (GW_ALLOWED_ORIGINS overrides them).
origins=${GW_ALLOWED_ORIGINS:-http://127.0.0.1:$GW_PORT,http://localhost:$GW_PORT}
(export AMQP_URL REDIS_URL JWT_SECRET GW_PORT GW_WEB_ROOT=${GW_WEB_ROOT:-$web_root} \
   GW_ALLOWED_ORIGINS="$origins"; start_proc fintwin-gateway)

url="http://127.0.0.1:$GW_PORT"
ft_log "waiting for the gateway and all seven workers"
for _ in $(seq 120); do
  if curl -fsS -m 2 "$url/api/status" 2>/dev/null | grep -q '},"ok":true}$'; then
    ft_log "all workers answer, broker and Redis ok: curl -s $url/api/status"
    ft_log "logs: $DATA/log/   stop: $down_cmd"
    echo "$url"
    exit 0
  fi
  sleep 0.5
done
ft_log "the system did not become ready within 60 s; see $DATA/log/; stop it: $down_cmd"
curl -sS -m 5 "$url/api/status" >&2 || true
exit 1
