#!/usr/bin/env bash
# Installs what building, running and testing Parley needs on Debian 12, and nothing that is
# already there. Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libcli11-dev libcurl4-openssl-dev nodejs npm procps openssl jq
)
# clang-format checks the formatting in make test (the version the checked-in .clang-format is
# written for: Debian 12's, 14).
packages+=(clang-format)
# gnuplot draws the soak's plot (scripts/soak.sh).
packages+=(gnuplot-nox)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# nodejs may come from elsewhere on a developer machine; a working node and npm are enough.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node packages for the integration tests, from the checked-in lockfile.
for dir in tests sdk/js; do
  if [[ -f $dir/package-lock.json ]]; then
    if [[ ! -d $dir/node_modules ]] || [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done

# Debian's Chromium, coturn and playwright-core for the browser end-to-end suite.
bash scripts/e2e-deps.sh
