# Sourced by the interop runners (run.sh, bench/run.sh): sets ROOT and CARGO_TARGET_DIR and
# installs the npm packages from package-lock.json when node_modules is missing or stale.
# Expects the current directory to be tests/interop.
ROOT=$(cd ../.. && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
