#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server (a fresh cluster in a temporary folder, on
# a free loopback port) and CAPSTONE_TEST_POSTGRES_URL pointing at it; removes it afterwards.
#   scripts/with-postgres.sh cargo test --test integration postgres::
# Installs Debian's postgresql package when it is missing and this runs as root (as in CI).
# Without PostgreSQL it runs the command anyway and says that the PostgreSQL tests skip.
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing PostgreSQL (Debian package) for the PostgreSQL tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if [ -z "$pg_bin" ]; then
  echo "==> PostgreSQL is not installed: the PostgreSQL tests will skip (apt-get install postgresql to run them)"
  exec "$@"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_as_owner=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  chown postgres:postgres "$dir"
  run_as_owner=(runuser -u postgres --)
fi
cleanup() {
  "${run_as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${run_as_owner[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
"${run_as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
echo "==> Throwaway PostgreSQL on 127.0.0.1:$port"
export CAPSTONE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
