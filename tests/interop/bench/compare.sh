#!/usr/bin/env bash
# Lobby against its peers, in one invocation (BENCHMARKS.md's summary table comes from this):
#   - broker CPU per SAML login: Lobby → SimpleSAMLphp, and the same login loop through SATOSA
#     (OIDC frontend → SAML backend → the same SimpleSAMLphp), printed as Lobby ÷ SATOSA;
#   - Lobby's CPU per OIDC login next to oidc-provider's (the org's IdP) for the same logins;
#   - Lobby on the embedded default (SQLite + memory state) and on PostgreSQL + Redis;
#   - every case with one keep-alive connection pool for the run, and with a fresh connection
#     set per login.
# Cases run interleaved, round by round (broker-cpu.mjs `compare`). Not part of CI.
#   tests/interop/bench/compare.sh
# Needs: what tests/interop/run.sh needs, PostgreSQL (BENCH_DATABASE_URL, default the CI's
# postgres://postgres@127.0.0.1:5432/test: a database is created and dropped per Lobby run) and
# Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379; databases 12 and 14), python3-venv.
# SATOSA, gunicorn and redis-py are installed with pip into $HOME/.cache/lobby-bench/satosa-venv.
# Env: BENCH_N_OIDC (300), BENCH_N_SAML (100), BENCH_RUNS (3), BENCH_ORG_HINT (1),
# BENCH_WARMUP, BENCH_CONCURRENCY (see broker-cpu.mjs), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. lib/prepare.sh

export BENCH_SATOSA_VENV="${BENCH_SATOSA_VENV:-$HOME/.cache/lobby-bench/satosa-venv}"
SATOSA_PKGS=(SATOSA==8.6.0 gunicorn==27.0.1 redis==8.2.0)
if ! "$BENCH_SATOSA_VENV/bin/pip" show -q SATOSA gunicorn redis >/dev/null 2>&1; then
  python3 -m venv "$BENCH_SATOSA_VENV"
  "$BENCH_SATOSA_VENV/bin/pip" install -q "${SATOSA_PKGS[@]}"
fi
export BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export BENCH_REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
psql "$BENCH_DATABASE_URL" -tAc 'select 1' >/dev/null || { echo "PostgreSQL at $BENCH_DATABASE_URL is unreachable"; exit 1; }
[ "$(redis-cli -u "$BENCH_REDIS_URL" ping)" = "PONG" ] || { echo "Redis at $BENCH_REDIS_URL is unreachable"; exit 1; }

(cd "$ROOT" && cargo build --release --locked --quiet --bin lobby)
export LOBBY_BIN="${LOBBY_BIN:-$CARGO_TARGET_DIR/release/lobby}"
export BENCH_N_OIDC="${BENCH_N_OIDC:-300}" BENCH_N_SAML="${BENCH_N_SAML:-100}" BENCH_RUNS="${BENCH_RUNS:-3}"
export BENCH_ORG_HINT="${BENCH_ORG_HINT:-1}"

echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.lock || echo '+dirty') | nproc=$(nproc) $(lscpu | sed -n 's/^Model name: *//p') | $(node --version) | SATOSA $("$BENCH_SATOSA_VENV/bin/pip" show SATOSA | sed -n 's/^Version: //p') | $(psql "$BENCH_DATABASE_URL" -tAc 'show server_version' | cut -d' ' -f1 | sed 's/^/PostgreSQL /') | $(redis-cli -u "$BENCH_REDIS_URL" info server | tr -d '\r' | sed -n 's/^redis_version:/Redis /p') | uptime: $(uptime)"
node bench/broker-cpu.mjs compare
echo "# end $(date -u +%FT%TZ) | uptime: $(uptime)"
