#!/usr/bin/env bash
# Checks the formatting, then runs every suite against the release build, then the unit and integration suites again against
# the ASan+UBSan build and the ThreadSanitizer build, then a short run of every fuzz target and a
# 10-restart chaos run, and ends with one line `N passed, N failed` over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
log_dir=build/test-logs
mkdir -p "$log_dir"

# ctest prints "X% tests passed, F tests failed out of T".
run_ctest() {
  local preset=$1 log=$log_dir/ctest-$1.log
  echo "== ctest ($preset)"
  ctest --preset "$preset" --timeout 300 2>&1 | tee "$log"
  local line total fails
  line=$(grep -E 'tests failed out of [0-9]+' "$log" | tail -n1)
  if [[ -z $line ]]; then
    echo "ctest ($preset) printed no summary"; failed=$((failed + 1)); return
  fi
  fails=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

# node's test runner (spec reporter) ends with "ℹ pass N" and "ℹ fail N".
run_node() {
  local name=$1 parleyd=$2; shift 2
  local log=$log_dir/node-$name.log
  echo "== node tests ($name)"
  PARLEYD="$parleyd" node --test --test-reporter=spec "$@" 2>&1 | tee "$log"
  local p f
  p=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  f=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  if [[ -z $p || -z $f ]]; then
    echo "node tests ($name) printed no summary"; failed=$((failed + 1)); return
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}

shopt -s nullglob
integration=(tests/integration/*.test.mjs)
e2e=(tests/e2e/*.test.mjs)

# The browser SDK's unit tests (Node's test runner against the built bundle, with fakes).
run_js_sdk() {
  local log=$log_dir/node-sdk-js.log
  echo "== node tests (sdk/js)"
  if ! (cd sdk/js && npm run --silent build) >"$log" 2>&1; then
    cat "$log"; echo "sdk/js build failed"; failed=$((failed + 1)); return
  fi
  (cd sdk/js && node --test --test-reporter=spec test/) 2>&1 | tee "$log"
  local p f
  p=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  f=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  if [[ -z $p || -z $f ]]; then
    echo "node tests (sdk/js) printed no summary"; failed=$((failed + 1)); return
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}

# A script that ends with its own `N passed, N failed` line (fuzz.sh, chaos.sh).
run_counted() {
  local name=$1; shift
  local log=$log_dir/$name.log
  echo "== $name"
  "$@" 2>&1 | tee "$log"
  local line
  line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
  if [[ -z $line ]]; then
    echo "$name printed no summary"; failed=$((failed + 1)); return
  fi
  passed=$((passed + $(sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

# Every C++ file as clang-format (the checked-in .clang-format) would write it: one check.
run_format_check() {
  local log=$log_dir/format.log
  echo "== clang-format"
  if git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror >"$log" 2>&1; then
    echo "format: 1 passed, 0 failed"; passed=$((passed + 1))
  else
    head -n 40 "$log"; echo "format: 0 passed, 1 failed (make format rewrites the files)"
    failed=$((failed + 1))
  fi
}

started=$(date +%s)
stamp() { echo "-- $1 done at +$(($(date +%s) - started)) s"; }

run_format_check

run_ctest release
stamp "ctest release"
[[ -f sdk/js/package.json ]] && run_js_sdk
if ((${#integration[@]})); then
  run_node integration build/release/server/parleyd "${integration[@]}"
fi
# Two Chromium pages calling each other through the demo, the SDK (built above) and coturn.
if ((${#e2e[@]})); then
  run_node e2e build/release/server/parleyd "${e2e[@]}"
fi
stamp "release suites"
run_ctest asan
if ((${#integration[@]})); then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 run_node integration-asan build/asan/server/parleyd "${integration[@]}"
fi
stamp "asan suites"
# ThreadSanitizer: any report is fatal (the harness fails a test whose parleyd printed one).
run_ctest tsan
if ((${#integration[@]})); then
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
    run_node integration-tsan build/tsan/server/parleyd "${integration[@]}"
fi
stamp "tsan suites"
# Every libFuzzer target for 30 s (make fuzz runs them long), two at a time.
[[ -f scripts/fuzz.sh ]] && run_counted fuzz bash scripts/fuzz.sh 30
stamp "fuzz"
# kill -9 under call and webhook load, 10 times, then the invariants (scripts/chaos.sh).
run_counted chaos bash scripts/chaos.sh 10
stamp "chaos"

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
