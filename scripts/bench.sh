#!/usr/bin/env bash
# `make bench`: builds parleyd and parley-bench (release), starts a fresh parleyd on loopback
# with its own temporary data directory and app, runs parley-bench against it, stops the server
# with SIGTERM and leaves the report in build/bench/report.md (printed as well).
#
# Extra arguments go to parley-bench, e.g. `scripts/bench.sh --phases auth --auth-seconds 30`.
# PARLEYD_FLAGS adds flags to `parleyd serve`, e.g. PARLEYD_FLAGS="--threads 1".
# PARLEYD and PARLEY_BENCH, when both set, name binaries to use instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."

report=build/bench/report.md
if [[ -n ${PARLEYD:-} && -n ${PARLEY_BENCH:-} ]]; then
  parleyd=$PARLEYD
  bench=$PARLEY_BENCH
else
  echo "== building parleyd and parley-bench (build/release)"
  cmake --preset release >/dev/null
  cmake --build --preset release --target parleyd parley-bench
  parleyd=build/release/server/parleyd
  bench=build/release/bench/parley-bench
fi

# The bench holds up to 10,000 client sockets and the server as many: both need the soft
# descriptor limit raised to the hard one (20,000 on the development machines).
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n "$hard" || echo "warning: cannot raise the descriptor limit to $hard" >&2

data_dir=$(mktemp -d -t parley-bench.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

app_json=$("$parleyd" app create --name bench --json --data-dir "$data_dir")
app_id=$(jq -r .app_id <<<"$app_json")
api_token=$(jq -r .api_token <<<"$app_json")

# The calls phase sends up to ~25 messages/s on a caller's connection (more in bursts when the
# server lags), above the default per-connection limit (--ws-msg-rate 50, burst 100), which
# exists against abusive clients, not to pace a busy one; so it is lifted. The server runs with
# its defaults otherwise, as an operator would start it.
# shellcheck disable=SC2086 # PARLEYD_FLAGS is a list of flags
"$parleyd" serve --listen 127.0.0.1:0 --data-dir "$data_dir" --ws-msg-rate 100000 ${PARLEYD_FLAGS:-} \
  >"$data_dir/stdout" 2>"$data_dir/server.log" &
server_pid=$!

url=
for _ in $(seq 100); do
  line=$(head -n1 "$data_dir/stdout" 2>/dev/null || true)
  if [[ $line =~ ^parleyd\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then
    url=${BASH_REMATCH[1]}
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $url ]]; then
  echo "parleyd did not start; its log:" >&2
  cat "$data_dir/server.log" >&2
  exit 1
fi
echo "== parleyd $server_pid on $url; running parley-bench (about two minutes)"

status=0
"$bench" --url "$url" --app-id "$app_id" --api-token "$api_token" --server-pid "$server_pid" \
  --report "$report" "$@" || status=$?

# SIGTERM drains: the server must stop by itself within its drain timeout.
kill -TERM "$server_pid"
for _ in $(seq 150); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "parleyd did not stop within 15 s of SIGTERM; killing it" >&2
  kill -KILL "$server_pid"
  status=1
fi
wait "$server_pid" 2>/dev/null || true
server_pid=

if ((status != 0)); then
  echo "parley-bench failed (exit $status); server log:" >&2
  tail -n 20 "$data_dir/server.log" >&2
  exit "$status"
fi
echo "== done"

# Then the 3-minute soak (scripts/soak.sh: half the saturation rate held on a fresh server, RSS,
# descriptors, WAL and p99 sampled every 10 s, plot and verdict in build/soak/). Only for a plain
# `make bench`: soak.sh itself runs this script with arguments. PARLEY_SOAK=0 skips it.
if (($# == 0)) && [[ ${PARLEY_SOAK:-1} != 0 ]]; then
  PARLEYD=$parleyd PARLEY_BENCH=$bench bash scripts/soak.sh 3m
fi
