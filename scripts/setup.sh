#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: system packages (PostGIS, SpatiaLite, Chromium for the map page's browser
# tests, wrk for the load benchmark) when run as root, the local PostGIS test database, the virtual environment at
# .venv/ with vpostcode and its extras, gis_data/, and the map page's front-end files from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  want=(libsqlite3-mod-spatialite chromium wrk)
  command -v npm >/dev/null || want+=(nodejs npm)
  [ -n "$PG_VERSION" ] && want+=("postgresql-${PG_VERSION}-postgis-3")
  missing=()
  for pkg in "${want[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if command -v pg_isready >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 && [ -n "$PG_VERSION" ] && [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null \
      || echo "setup: warning: could not create the postgis extension in database test" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.vpostcode-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[api,postgis,dask,dev,bench]"
  touch "$stamp"
fi
# the address reader compiled to C (mypyc): about twice as fast; the source runs if this cannot be done
.venv/bin/python scripts/compile_native.py || echo "setup: warning: the address reader runs uncompiled" >&2
.venv/bin/vpostcode data build
bash scripts/build_web.sh
