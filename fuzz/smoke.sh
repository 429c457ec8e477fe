#!/usr/bin/env bash
# Short fuzz run of every target from its committed seeds and regression inputs (default 20 s
# each; `cargo test` replays the same inputs and mutations of them on stable): builds the
# targets (cargo fuzz, nightly, no sanitizer), runs each with libFuzzer's hang and memory
# limits, and fails on the first crash, panic, timeout or out-of-memory. What it generates goes
# to a temporary directory; a failing input is kept under fuzz/artifacts/<target>/.
#
# Usage: fuzz/smoke.sh [seconds-per-target] [target...]
# Target dir: $LOBBY_FUZZ_TARGET_DIR, default $HOME/.cache/lobby-fuzz-target (kept between runs;
# a successful build leaves `.lobby-fuzz-built` in it, which .ci/run reads as "warm").
set -euo pipefail
cd "$(dirname "$0")"
SECS="${1:-20}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(saml_acs oidc_id_token oauth_params saml_metadata declarative_import)
TARGET_DIR="${LOBBY_FUZZ_TARGET_DIR:-$HOME/.cache/lobby-fuzz-target}"
FUZZ=(cargo +nightly fuzz)
OPTS=(-s none --codegen-units 16 --target-dir "$TARGET_DIR")

"${FUZZ[@]}" build "${OPTS[@]}"
touch "$TARGET_DIR/.lobby-fuzz-built"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in "${TARGETS[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  echo "--- fuzz $t for ${SECS}s"
  corpora=("seeds/$t")
  [ -d "regressions/$t" ] && corpora+=("regressions/$t")
  if ! "${FUZZ[@]}" run "${OPTS[@]}" "$t" "$work/$t" "${corpora[@]}" -- \
      -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" >"$work/$t.log" 2>&1; then
    tail -n 60 "$work/$t.log"
    echo "fuzz target $t failed: see the input under fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$t.log" | tr '\n' ' '
  echo "corpus: $(find "$work/$t" -type f | wc -l) inputs"
done
echo "fuzz smoke: ${#TARGETS[@]} targets, no crash, no timeout"
