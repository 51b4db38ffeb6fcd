#!/usr/bin/env bash
# Instructions per authentication, repeatable whatever the machine's load: runs parleyd under
# callgrind with instrumentation off, lets parley-bench set up and warm up the auth phase, then
# instruments only a window of authentications and divides the instructions executed by the
# successful authentications the server counted in that window (parley_auth_total).
#
#   scripts/callgrind-auth.sh [SECONDS]     # window length, default 10
#
# PARLEYD, PARLEY_BENCH name the binaries (default build/release); PARLEYD_FLAGS adds flags to
# `parleyd serve`. Leaves callgrind.out in build/callgrind/ for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."

window=${1:-10}
parleyd=${PARLEYD:-build/release/server/parleyd}
bench=${PARLEY_BENCH:-build/release/bench/parley-bench}
out_dir=build/callgrind
mkdir -p "$out_dir"
rm -f "$out_dir"/callgrind.out*

data_dir=$(mktemp -d -t parley-cg.XXXXXX)
server_pid=
bench_pid=
cleanup() {
  [[ -n $bench_pid ]] && kill "$bench_pid" 2>/dev/null || true
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

app_json=$("$parleyd" app create --name cg --json --data-dir "$data_dir")
app_id=$(jq -r .app_id <<<"$app_json")
api_token=$(jq -r .api_token <<<"$app_json")

# shellcheck disable=SC2086 # PARLEYD_FLAGS is a list of flags
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out_dir/callgrind.out" \
  "$parleyd" serve --listen 127.0.0.1:0 --data-dir "$data_dir" ${PARLEYD_FLAGS:-} \
  >"$data_dir/stdout" 2>"$data_dir/server.log" &
server_pid=$!

url=
for _ in $(seq 300); do
  line=$(grep -m1 '^parleyd listening' "$data_dir/stdout" 2>/dev/null || true)
  if [[ $line =~ ^parleyd\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then
    url=${BASH_REMATCH[1]}
    break
  fi
  sleep 0.1
done
[[ -n $url ]] || { echo "parleyd did not start" >&2; cat "$data_dir/server.log" >&2; exit 1; }

successes() {
  curl -s "$url/metrics" | awk '/^parley_auth_total\{result="success"\}/ {print $2}'
}

"$bench" --url "$url" --app-id "$app_id" --api-token "$api_token" --server-pid "$server_pid" --phases auth \
  --auth-warmup-s 5 --auth-seconds $((window + 20)) --report "$data_dir/report.md" \
  >"$data_dir/bench.log" 2>&1 &
bench_pid=$!

# Wait until the auth phase runs (setup authenticates once per user; then the count climbs).
for _ in $(seq 600); do
  grep -q 'auth: ' "$data_dir/bench.log" 2>/dev/null && break
  sleep 0.1
done
sleep 3
before=$(successes)
callgrind_control -i on "$server_pid" >/dev/null
sleep "$window"
callgrind_control -i off "$server_pid" >/dev/null
after=$(successes)
callgrind_control -d "$server_pid" >/dev/null
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
bench_pid=

sleep 1
file=$out_dir/callgrind.out.1  # the dump of the window; .out is the exit
total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ && !/calculated/ {gsub(",", "", $1); print $1}')
n=$((after - before))
echo "authentications in the window: $n"
echo "instructions: $total"
echo "instructions per authentication: $((total / (n > 0 ? n : 1)))"
echo "profile: $file (callgrind_annotate --inclusive=yes $file | head -60)"
