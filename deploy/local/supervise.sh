#!/usr/bin/env bash
# supervise.sh PIDFILE LOGFILE CMD [ARGS...]
# Keeps one FinTwin process running for up.sh: starts CMD with stdout/stderr appended to
# LOGFILE and restarts it when it exits. While a worker is down its queue has no consumer and
# the gateway answers 503, so restarts are fast: each exit adds one to a count of quick exits
# and each full second the process ran first takes one off (never below 0, at most 6), so a
# process that keeps dying at start restarts at once 3 times, then waits 0.5 s, 1 s, then 2 s
# (the cap) each time, while one that ran a while (killed now and then, even every 2 s) is
# restarted at once; 6 s of running clear any count. Each exit writes one warn
# line to LOGFILE with its status, how long it ran, the delay and the supervisor's running
# restart count (restarts=N), so a crash loop stays visible. Exit code 78 (bad configuration)
# is not retried: it cannot succeed until the config changes.
# On SIGTERM/SIGINT (also while waiting to restart) it stops CMD with SIGTERM (SIGKILL after
# 15 s), removes PIDFILE and exits.
set -u
pidfile=$1 log=$2; shift 2
echo $$ >"$pidfile"
IMMEDIATE=3   # quick exits in a row that restart without delay
QUICK_MAX=6   # the count where the delay reaches its 2 s cap
child=0 sleeper=0 stopping=0 quick=0 restarts=0
note() { printf 'ts=%s level=warn svc=supervise msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$log"; }
stop() {
  stopping=1
  # The pending restart delay, if any: no orphan sleep left behind.
  [ "$sleeper" -gt 0 ] && kill -TERM "$sleeper" 2>/dev/null
  [ "$child" -gt 0 ] || return 0
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$child" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
}
trap stop TERM INT
# Milliseconds since the epoch, from bash itself (no fork per call).
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#${t:0:-3})); }
while [ "$stopping" = 0 ]; do
  started=$(now_ms)
  "$@" >>"$log" 2>&1 &
  child=$!
  # A signal that came between the fork and the line above found no child to stop.
  [ "$stopping" = 1 ] && stop
  rc=0
  wait "$child" || rc=$?
  while [ "$stopping" = 1 ] && kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
  child=0   # reaped: its pid may be reused by an unrelated process, never signal it again
  [ "$stopping" = 1 ] && break
  if [ "$rc" = 78 ]; then note "$1 exited 78 (configuration error); not restarting"; break; fi
  ran_ms=$(($(now_ms) - started))
  quick=$((quick - ran_ms / 1000)); [ "$quick" -lt 0 ] && quick=0
  quick=$((quick + 1)); [ "$quick" -gt "$QUICK_MAX" ] && quick=$QUICK_MAX
  case $((quick - IMMEDIATE)) in
    -* | 0) delay=0 ;;
    1) delay=0.5 ;;
    2) delay=1 ;;
    *) delay=2 ;;
  esac
  restarts=$((restarts + 1))
  why="status $rc"; [ "$rc" -gt 128 ] && why="status $rc (signal $((rc - 128)))"
  note "$1 exited with $why after $((ran_ms / 1000)).$(printf %03d $((ran_ms % 1000)))s; restarting in ${delay}s (restarts=$restarts)"
  if [ "$delay" != 0 ]; then
    sleep "$delay" &
    sleeper=$!
    [ "$stopping" = 1 ] && kill -TERM "$sleeper" 2>/dev/null
    wait "$sleeper" || true   # returns early when SIGTERM runs stop()
    sleeper=0
  fi
done
rm -f "$pidfile"
