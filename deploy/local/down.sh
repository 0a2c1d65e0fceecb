#!/usr/bin/env bash
# Stops everything deploy/local/up.sh started under FT_DATA_DIR, by pid: the gateway and the
# workers (gracefully, through their supervisors), then RabbitMQ, Redis and PostgreSQL.
# Data stays in FT_DATA_DIR; delete that directory to start from nothing.
# FT_DATA_DIR and FT_PORT_OFFSET must be those up.sh was started with; up.sh prints the exact
# command.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DATA=$(ft_data_dir)
OFF=${FT_PORT_OFFSET:-0}
if [ ! -d "$DATA/run" ] && [ ! -d "$DATA/services" ]; then
  # Most likely a stack started with FT_DATA_DIR set, stopped without it.
  ft_log "nothing to stop: no stack under $DATA (set FT_DATA_DIR as up.sh printed it)"; exit 0
fi
pids=()
for f in "$DATA"/run/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  kill -TERM "$p" 2>/dev/null && pids+=("$p")
done
for p in "${pids[@]}"; do
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
rm -f "$DATA"/run/*.pid
[ -d "$DATA/services" ] && "$FT_ROOT/deploy/local/services.sh" stop "$DATA/services" "$OFF"
ft_log "stopped"
