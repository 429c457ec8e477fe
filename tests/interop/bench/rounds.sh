#!/usr/bin/env bash
# Several Lobby binaries in interleaved rounds, for A/B (or A/B/C) comparisons on a shared,
# noisy machine: each round runs every binary once, the order rotated by one each round, and
# prints each run's median line of broker-cpu.mjs with the time and the load average. Compare
# medians over rounds, never a single run. Not part of CI.
#   tests/interop/bench/rounds.sh saml|oidc ROUNDS BINARY...
# Env: BENCH_N_SAML (300), BENCH_N_OIDC (400), BENCH_WARMUP (20), BENCH_ORG_HINT (1), and
# whatever else broker-cpu.mjs reads (BENCH_STORE, BENCH_CONNS, …). Needs tests/interop's npm
# packages and the peers tests/interop/run.sh sets up (run that once first).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 saml|oidc ROUNDS BINARY..." >&2; exit 2; }
mode=$1; rounds=$2; shift 2
bins=("$@"); k=${#bins[@]}
cd "$(dirname "$0")/.."
for r in $(seq 1 "$rounds"); do
  for j in $(seq 0 $((k - 1))); do
    bin=${bins[$(( (j + r) % k ))]}
    # A run that fails (a peer that did not start, a login step refused) stops the rounds with
    # the end of its output, rather than leaving a gap in the table.
    if ! out=$(LOBBY_BIN="$bin" BENCH_RUNS=1 BENCH_WARMUP="${BENCH_WARMUP:-20}" \
      BENCH_ORG_HINT="${BENCH_ORG_HINT:-1}" BENCH_N_SAML="${BENCH_N_SAML:-300}" \
      BENCH_N_OIDC="${BENCH_N_OIDC:-400}" node bench/broker-cpu.mjs "$mode" 2>&1); then
      echo "round $r $bin: broker-cpu.mjs failed:" >&2
      printf '%s\n' "$out" | tail -20 >&2
      exit 1
    fi
    line=$(printf '%s\n' "$out" | grep '| \*\*' | sed 's/.*| \*\*median\*\* | |//')
    echo "round $r $bin $(date -u +%H:%M:%S) load $(cut -d' ' -f1-2 /proc/loadavg): $line"
  done
done
