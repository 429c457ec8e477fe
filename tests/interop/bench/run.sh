#!/usr/bin/env bash
# Broker CPU per brokered login (BENCHMARKS.md): builds the release binary and runs
# broker-cpu.mjs. Not part of tests/interop/run.sh or CI. Lobby against its peers (SATOSA,
# PostgreSQL + Redis, both connection modes) in one go: compare.sh.
#   tests/interop/bench/run.sh [oidc|saml|satosa|all]
# Env: BENCH_N_OIDC, BENCH_N_SAML, BENCH_WARMUP, BENCH_CONCURRENCY, BENCH_RUNS, BENCH_PERF=<dir>,
# BENCH_ORG_HINT, BENCH_STORE, BENCH_CONNS (see broker-cpu.mjs), CARGO_TARGET_DIR (default
# <repo>/target). `satosa` needs the venv compare.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
. lib/prepare.sh

(cd "$ROOT" && cargo build --release --locked --quiet --bin lobby)
export LOBBY_BIN="${LOBBY_BIN:-$CARGO_TARGET_DIR/release/lobby}"

echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD) nproc=$(nproc) $(lscpu | sed -n 's/^Model name: *//p') | uptime: $(uptime)"
node bench/broker-cpu.mjs "${1:-all}"
echo "# end | uptime: $(uptime)"
