#!/usr/bin/env bash
# Chaos run: direct calls and webhooks under load while parleyd is killed with SIGKILL and started
# again on the same data dir, N times (default 100), then invariants checked against the store,
# the Platform API and a loopback webhook receiver (tests/chaos/chaos.mjs says which).
#
#   scripts/chaos.sh [RESTARTS] [driver options: --pairs P --seed S --min-load-ms A --max-load-ms B]
#
# Ends with `N passed, N failed` (one per invariant) and exits non-zero on any violation.
# PARLEYD names the binary (default build/release/server/parleyd, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

restarts=100
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  restarts=$1
  shift
fi

export PARLEYD=${PARLEYD:-build/release/server/parleyd}
if [[ ! -x $PARLEYD ]]; then
  echo "== building parleyd (build/release)"
  cmake --preset release >/dev/null
  cmake --build --preset release --target parleyd
fi
command -v sqlite3 >/dev/null || { echo "chaos: sqlite3 is needed (make deps installs it)" >&2; exit 2; }
if [[ ! -d tests/node_modules ]]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node tests/chaos/chaos.mjs --restarts "$restarts" "$@"
