#!/usr/bin/env bash
# Broker CPU per brokered login (BENCHMARKS.md): builds the release binary and runs
# broker-cpu.mjs. Not part of tests/interop/run.sh or CI.
#   tests/interop/bench/run.sh [oidc|saml|all]
# Env: BENCH_N_OIDC, BENCH_N_SAML, BENCH_WARMUP, BENCH_CONCURRENCY, BENCH_RUNS, BENCH_PERF=<dir>
# (see broker-cpu.mjs), CARGO_TARGET_DIR (default <repo>/target).
set -euo pipefail
cd "$(dirname "$0")/.."
. lib/prepare.sh

(cd "$ROOT" && cargo build --release --locked --quiet --bin lobby)
export LOBBY_BIN="${LOBBY_BIN:-$CARGO_TARGET_DIR/release/lobby}"

echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD) nproc=$(nproc) $(lscpu | sed -n 's/^Model name: *//p') | uptime: $(uptime)"
node bench/broker-cpu.mjs "${1:-all}"
echo "# end | uptime: $(uptime)"
