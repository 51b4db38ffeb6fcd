#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan, into build/fuzz) and runs
# each for a given time on a copy of its checked-in seeds.
#
#   scripts/fuzz.sh [seconds per target, default 30] [target...]   (targets: json_codec ws_dispatch
#                   http percent_decode jwt session_key call_machine; default all)
#
# Per target it prints the executions run and the coverage reached (libFuzzer's `cov:` edges and
# `ft:` features), and ends with `N passed, N failed`: a target passes when it ran its time
# without a crash, leak, UB report, timeout or invariant violation. Crashing inputs go to
# build/fuzz/findings/ (reproduce: build/fuzz/fuzz/fuzz_<target> <file>). The working corpus is
# build/fuzz/corpus-run/<target>: seeded from fuzz/corpus/<target>/, it keeps what earlier runs
# found; fuzz/corpus/ is never written. FUZZ_JOBS (default 2) targets run at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
all=(json_codec ws_dispatch http percent_decode jwt session_key call_machine)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
jobs=${FUZZ_JOBS:-2}
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (one of: ${all[*]})" >&2; exit 2; }
done

# clang and libFuzzer's runtime come from Debian; installed here only, the gcc build needs neither.
if ! command -v clang++-14 >/dev/null ||
  ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  echo "fuzz: installing clang and libclang-rt-14-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
cmake --preset fuzz -DPARLEY_WERROR="${PARLEY_WERROR:-OFF}" >/dev/null
cmake --build --preset fuzz --target "${targets[@]/#/fuzz_}"

out=build/fuzz
mkdir -p "$out/findings" "$out/logs" "$out/tmp"
# The targets' temporary stores and static roots; what a crash leaves behind stays in build/.
export TMPDIR=$PWD/$out/tmp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

run_one() {
  local t=$1 corpus=$out/corpus-run/$1 log=$out/logs/$1.log
  mkdir -p "$corpus"
  cp -r fuzz/corpus/"$t"/. "$corpus"/
  local dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-dict=fuzz/dict/"$t".dict)
  # -timeout: one input running 25 s is a hang, a finding like a crash.
  "$out/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
    -rss_limit_mb=2048 -artifact_prefix="$out/findings/$t-" "${dict[@]}" "$corpus" >"$log" 2>&1
}

declare -A status
pids=()
names=()
start=$(date +%s)
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_one "$t" &
  pids+=($!)
  names+=("$t")
done
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then status[${names[$i]}]=0; else status[${names[$i]}]=1; fi
done

passed=0
failed=0
echo "fuzz: ${seconds}s per target, $jobs at a time, $(($(date +%s) - start))s in all; load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for t in "${targets[@]}"; do
  log=$out/logs/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$line")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$line")
  if [[ ${status[$t]} == 0 ]]; then
    passed=$((passed + 1))
    verdict=PASS
  else
    failed=$((failed + 1))
    verdict=FAIL
  fi
  printf 'fuzz_%-15s %s  execs %s  cov %s  ft %s  corpus %s\n' "$t" "$verdict" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}"
  if [[ $verdict == FAIL ]]; then
    grep -E 'ERROR: |runtime error|invariant violated|Test unit written' "$log" | head -5 | sed 's/^/    /'
    echo "    log: $log"
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
