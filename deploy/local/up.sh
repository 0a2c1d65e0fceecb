#!/usr/bin/env bash
# Starts the whole FinTwin system on this machine and prints its URL.
#   deploy/local/up.sh
# Installs missing Debian packages (as root), starts PostgreSQL, Redis and RabbitMQ under
# FT_DATA_DIR on loopback, migrates, builds in Release, and runs the gateway and one of each
# worker under supervise.sh (restarted when they crash; logs in FT_DATA_DIR/log).
# Running it again rebuilds and restarts the processes in place; deploy/local/down.sh stops all.
# Environment: FT_DATA_DIR (default <repo>/.data), FT_PORT_OFFSET (default 0; shifts the
# server ports: PostgreSQL 21432, Redis 22379, RabbitMQ 23672; a multiple of 10 up to 990), GW_PORT (default 8080),
# FT_SCALE (instances per worker kind, e.g. "transaction=2 twin=3"; default one each),
# LOG_LEVEL (info), and anything the gateway or workers read (README, "Configuration").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DATA=$(ft_data_dir)
OFF=${FT_PORT_OFFSET:-0}
GW_PORT=${GW_PORT:-8080}
SVC=$FT_ROOT/deploy/local/services.sh
BUILD=$DATA/build

ft_ensure_packages
mkdir -p "$DATA/run" "$DATA/log"
ft_log "starting PostgreSQL, Redis and RabbitMQ under $DATA"
svc_env=$("$SVC" start "$DATA/services" "$OFF")
eval "$svc_env"
ft_log "building (Release) in $BUILD"
ft_build "$BUILD" Release
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
if ! ft_port_free "$GW_PORT"; then
  ft_log "port $GW_PORT is taken by another program; set GW_PORT to a free port"; exit 1
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
web_root=$FT_ROOT/web/dist; [ -d "$web_root" ] || web_root=$FT_ROOT/web/public
# The page it serves opens /api/ws from these origins (GW_ALLOWED_ORIGINS overrides them).
origins=${GW_ALLOWED_ORIGINS:-http://127.0.0.1:$GW_PORT,http://localhost:$GW_PORT}
(export AMQP_URL REDIS_URL JWT_SECRET GW_PORT GW_WEB_ROOT=${GW_WEB_ROOT:-$web_root} \
   GW_ALLOWED_ORIGINS="$origins"; start_proc fintwin-gateway)

url="http://127.0.0.1:$GW_PORT"
ft_log "waiting for the gateway and all seven workers"
for _ in $(seq 120); do
  if curl -fsS -m 2 "$url/api/status" 2>/dev/null | grep -q '\],"ok":true}'; then
    ft_log "all workers answer: curl -s $url/api/status"
    ft_log "logs: $DATA/log/   stop: deploy/local/down.sh"
    echo "$url"
    exit 0
  fi
  sleep 0.5
done
ft_log "the system did not become ready within 60 s; see $DATA/log/"
curl -sS -m 5 "$url/api/status" >&2 || true
exit 1
