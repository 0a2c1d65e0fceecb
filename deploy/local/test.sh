#!/usr/bin/env bash
# Builds FinTwin and runs every test against throw-away servers, then stops them.
#   deploy/local/test.sh             (CI: CI=true deploy/local/test.sh, which .ci/run runs)
# 1. installs missing Debian packages (as root) and the npm packages of web/ and
#    tests/browser (npm ci), and builds the web app into the build tree (test_e2e_web);
# 2. starts PostgreSQL, Redis and RabbitMQ in a temporary directory on free loopback ports
#    (never the defaults, never up.sh's), creates and migrates database fintwin;
# 3. builds twice: normally (a -Werror compile check under CI=true, the release flags' sibling)
#    and with AddressSanitizer+UBSan; every label runs against the sanitized build, so the
#    worker and gateway processes the integration and e2e tests start are sanitized too;
# 4. runs ctest by label: unit, integration, e2e; prints passed, failed and skipped tests
#    (under CI=true, as .ci/run sets it, a skipped test is a failure);
# 5. always stops the servers and removes the directory, also on failure or Ctrl-C.
# FT_TEST_BUILD_DIR (default <repo>/build-test) keeps build trees between runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SVC=$FT_ROOT/deploy/local/services.sh
BUILD=$(realpath -m "${FT_TEST_BUILD_DIR:-$FT_ROOT/build-test}")
t_start=$SECONDS

ft_ensure_packages
ft_npm_deps tests/browser   # its pinned Node and playwright-core (the browser tests)

OFF=""
for off in $(seq 500 10 990); do   # a port block nobody uses (up.sh uses 0 by default)
  ok=1
  for base in 21432 22379 23672 23673 24369; do ft_port_free $((base + off)) || { ok=0; break; }; done
  [ $ok = 1 ] && { OFF=$off; break; }
done
[ -n "$OFF" ] || { ft_log "no free port block for the test servers"; exit 1; }
TMP=$(mktemp -d /tmp/fintwin-test.XXXXXX)
chmod 755 "$TMP"   # PostgreSQL runs as user postgres and must traverse it
cleanup() {
  local rc=$?
  "$SVC" stop "$TMP/svc" "$OFF" || true
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ft_log "starting test servers in $TMP (port offset $OFF)"
svc_env=$("$SVC" start "$TMP/svc" "$OFF")
eval "$svc_env"

werror=OFF; [ "${CI:-}" = true ] && werror=ON
ft_log "building $BUILD (warnings as errors: $werror)"
ft_build "$BUILD" Debug -DFT_WERROR=$werror
ft_log "building $BUILD-asan (AddressSanitizer + UBSan)"
ft_build "$BUILD-asan" Debug -DFT_WERROR=$werror -DFT_SANITIZE=ON

ft_log "building the web app into $BUILD/web-dist"
ft_web_build "$BUILD/web-dist"   # also installs web/'s packages, which web_unit runs on
FT_WEB_DIST=$BUILD/web-dist; export FT_WEB_DIST

role_pw() { "$SVC" secret "$TMP/svc" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$BUILD/bin/fintwin-migrate" role_pw
PG_URL=$(ft_db_url "$PG_URL" fintwin)
FT_DB_ROLE_PASSWORD=$(role_pw x)
FT_SERVICES=$SVC FT_SVC_DIR=$TMP/svc FT_SVC_OFF=$OFF
export PG_URL REDIS_URL AMQP_URL FT_DB_ROLE_PASSWORD FT_SERVICES FT_SVC_DIR FT_SVC_OFF

# ctest counts a skipped test (exit 77) as passed: count skips apart, and fail on them under
# CI=true, where every test must run.
ci=false; [ "${CI:-}" = true ] && ci=true
passed=0 failed=0 skipped=0 rc=0
run_label() {   # run_label LABEL BUILD_DIR: ctest one label, add its counts to the totals
  local label=$1 dir=$2 out
  ft_log "ctest -L $label ($dir)"
  out=$TMP/ctest-$label.log
  ctest --test-dir "$dir" -L "^$label\$" --output-on-failure --timeout 300 2>&1 | tee "$out" || rc=1
  local line total nfail nskip
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -1 || true)
  if [ -z "$line" ]; then ft_log "ctest -L $label ran no test"; rc=1; return; fi
  nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  # "The following tests did not run:" then one "<tab>NN - name (Skipped)" line per skip
  nskip=$(awk '/^The following tests did not run:/ {f = 1; next}
               f && /^[ \t]+[0-9]+ - .* \(Skipped\)$/ {n++; next}
               {f = 0}
               END {print n + 0}' "$out")
  passed=$((passed + total - nfail - nskip)); failed=$((failed + nfail)); skipped=$((skipped + nskip))
  [ "$nfail" = 0 ] || rc=1
  if [ "$nskip" != 0 ] && [ $ci = true ]; then
    ft_log "ctest -L $label: $nskip test(s) skipped, a failure under CI=true"; rc=1
  fi
}
run_label unit "$BUILD-asan"
run_label integration "$BUILD-asan"
run_label e2e "$BUILD-asan"
# The browser part, from ctest's own timing lines ("... test_e2e_web ....   Passed   95.31 sec").
browser_s=$(grep -E ' (test_e2e_web|test_e2e_browser_ws) \.+' "$TMP/ctest-e2e.log" 2>/dev/null \
  | sed -E 's/.* ([0-9.]+) sec.*/\1/' | awk '{s += $1} END {printf "%.0f", s}')
ft_log "browser tests (test_e2e_web, test_e2e_browser_ws): ${browser_s:-0} s of the e2e label"

ft_log "finished in $((SECONDS - t_start)) s"
note=""; [ $ci = true ] && [ $skipped != 0 ] && note=" (CI=true: a skip is a failure)"
echo "tests: $passed passed, $failed failed, $skipped skipped$note"
exit $rc
