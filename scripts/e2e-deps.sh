#!/usr/bin/env bash
# Installs what the browser end-to-end suite (tests/e2e) needs on Debian 12, and nothing that is
# already there: Debian's Chromium and coturn (apt-get, only when missing), and playwright-core
# from tests/e2e/package-lock.json (npm ci). No browser is ever downloaded by npm: the suite drives
# /usr/bin/chromium. Safe to run again.
#
# Then: node --test tests/e2e/
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium coturn)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "e2e-deps: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The coturn package may start a system turnserver on 3478; the suite starts its own on a free
# port and does not need it.
command -v chromium >/dev/null || { echo "e2e-deps: chromium missing after install" >&2; exit 1; }
command -v turnserver >/dev/null || { echo "e2e-deps: turnserver missing after install" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "e2e-deps: node and npm are needed (scripts/install-deps.sh)" >&2; exit 1; }

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
