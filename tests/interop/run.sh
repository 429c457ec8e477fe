#!/usr/bin/env bash
# Interop tests against real, independently written peers on 127.0.0.1 only:
# openid-client (certified RP), oidc-provider (certified OP, as an org's IdP), smtp-server (a
# real SMTP server receiving invitation mail), Prometheus's promtool (checks /metrics), Debian Chromium
# driven by playwright-core. Installs the npm packages from package-lock.json, builds the lobby
# binary, and runs every *.test.mjs with node's test runner.
set -euo pipefail
cd "$(dirname "$0")"
. lib/prepare.sh
[ -x /usr/bin/chromium ] || { echo "interop: /usr/bin/chromium is missing (apt-get install chromium)"; exit 1; }

(cd "$ROOT" && cargo build --locked --quiet --bin lobby)
export LOBBY_BIN="$CARGO_TARGET_DIR/debug/lobby"

tests=( ${LOBBY_INTEROP_TESTS:-*.test.mjs} )
exec node --test --test-concurrency=1 --test-timeout=240000 "${tests[@]}"
