#!/usr/bin/env bash
# Install the map page's front-end library (Leaflet) from the npm registry into api/static/vendor/, from the
# committed package.json + package-lock.json. Idempotent: does nothing when the vendored copy matches the lock.
# node_modules/ and api/static/vendor/ are build outputs (gitignored); nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

vendor=api/static/vendor/leaflet
stamp="$vendor/.version"
want=$(python3 -c 'import json; print(json.load(open("package-lock.json"))["packages"]["node_modules/leaflet"]["version"])')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$vendor/leaflet.js" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "build_web: npm is missing: install Node.js (Debian: apt-get install nodejs npm) to build the map page" >&2
  exit 1
fi
echo "build_web: installing leaflet $want from the npm registry"
npm ci --no-audit --no-fund --loglevel=error
rm -rf "$vendor"
mkdir -p "$vendor"
cp -R node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images \
  node_modules/leaflet/LICENSE "$vendor/"
echo "$want" > "$stamp"
