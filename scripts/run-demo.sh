#!/usr/bin/env bash
# `make run`: starts parleyd --demo on the embedded SQLite store under ./var. On first start it
# creates a demo app and keeps its credentials in var/demo-app.json (readable by you only).
set -euo pipefail
cd "$(dirname "$0")/.."

parleyd=build/release/server/parleyd
data_dir=${PARLEY_DATA_DIR:-./var}
listen=${PARLEY_LISTEN:-127.0.0.1:8080}
mkdir -p "$data_dir"
umask 077

if [[ ! -s $data_dir/demo-app.json ]]; then
  "$parleyd" app create --name demo --json --data-dir "$data_dir" >"$data_dir/demo-app.json"
  echo "Created the demo app (credentials in $data_dir/demo-app.json)."
fi

json_field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/" "$data_dir/demo-app.json"; }
app_id=$(json_field app_id)
api_token=$(json_field api_token)
base="http://$listen"

cat <<MSG

Parley is starting at $base
  app id:    $app_id
  api token: $api_token   (server-to-server only; keep it out of apps)

Create a user with an access token:
  curl -s -X POST $base/v1/apps/$app_id/users \\
       -H 'Api-Token: $api_token' -d '{"user_id":"alice","issue_access_token":true}'

Authenticate as that user (what the SDK does):
  curl -s -X POST $base/v1/apps/$app_id/auth -d '{"user_id":"alice","access_token":"<token>"}'

Stop with Ctrl-C.
MSG

web_args=()
[[ -d web/demo ]] && web_args+=(--web-root web/demo)
# The browser SDK bundle, served at /sdk/parley.js.
if [[ -f sdk/js/package.json ]]; then
  (cd sdk/js && { [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error; } &&
    npm run --silent build)
  web_args+=(--sdk-dir sdk/js/dist)
fi
echo "Open $base/ in two browser tabs, sign in as two users and call one from the other."
exec "$parleyd" serve --demo --listen "$listen" --data-dir "$data_dir" "${web_args[@]}"
