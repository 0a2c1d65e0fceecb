#!/usr/bin/env bash
# For developers: start (or reuse) a stack of servers at a port offset, migrate it, and print
# `export` lines for running integration/e2e tests by hand:
#   eval "$(deploy/local/dev-env.sh 100)"; cd build && ctest -L integration
# Stop it with: deploy/local/services.sh stop /tmp/ft-dev-100 100
set -euo pipefail
source "$(dirname "$0")/lib.sh"
OFF=${1:-100}
DIR=/tmp/ft-dev-$OFF
svc_env=$("$FT_ROOT/deploy/local/services.sh" start "$DIR" "$OFF")
eval "$svc_env"
cmake -S "$FT_ROOT" -B "$DIR/build" -DFT_BUILD_GATEWAY=OFF -DFT_BUILD_WORKERS=OFF >/dev/null
cmake --build "$DIR/build" --target fintwin-migrate >/dev/null
role_pw() { "$FT_ROOT/deploy/local/services.sh" secret "$DIR" "$OFF" dbroles; }
ft_migrate "$PG_URL" "$DIR/build/bin/fintwin-migrate" role_pw 2>/dev/null
echo "export PG_URL='$(ft_db_url "$PG_URL" fintwin)' REDIS_URL='$REDIS_URL' AMQP_URL='$AMQP_URL'"
echo "export FT_DB_ROLE_PASSWORD='$(role_pw x)' FT_SERVICES='$FT_ROOT/deploy/local/services.sh' FT_SVC_DIR='$DIR' FT_SVC_OFF='$OFF'"
