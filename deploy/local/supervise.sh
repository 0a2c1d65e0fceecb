#!/usr/bin/env bash
# supervise.sh PIDFILE LOGFILE CMD [ARGS...]
# Keeps one FinTwin process running for up.sh: starts CMD with stdout/stderr appended to
# LOGFILE, restarts it when it exits (1 s backoff doubling to 30 s, reset after 60 s of
# healthy running), and on SIGTERM/SIGINT stops it with SIGTERM (SIGKILL after 15 s) and exits.
# Exit code 78 (bad configuration) is not retried: it cannot succeed until the config changes.
set -u
pidfile=$1 log=$2; shift 2
echo $$ >"$pidfile"
child=0 stopping=0 backoff=1
note() { printf 'ts=%s level=warn svc=supervise msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$log"; }
stop() {
  stopping=1
  [ "$child" -gt 0 ] || return
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$child" 2>/dev/null || return; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
}
trap stop TERM INT
while :; do
  started=$SECONDS
  "$@" >>"$log" 2>&1 &
  child=$!
  rc=0
  wait "$child" || rc=$?
  while [ "$stopping" = 1 ] && kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
  [ "$stopping" = 1 ] && break
  if [ "$rc" = 78 ]; then note "$1 exited 78 (configuration error); not restarting"; break; fi
  [ $((SECONDS - started)) -ge 60 ] && backoff=1
  note "$1 exited with status $rc; restarting in ${backoff}s"
  sleep "$backoff" & wait $! || true
  [ "$stopping" = 1 ] && break
  backoff=$((backoff * 2)); [ $backoff -gt 30 ] && backoff=30
done
rm -f "$pidfile"
