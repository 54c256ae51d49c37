#!/bin/bash
# The stand-in's entrypoint (deploy/rehearsal/postgres.Containerfile), doing what the
# postgres image's docker-entrypoint.sh does for this repository's files:
#   * as root, it makes PGDATA (and the socket directory) the postgres user's and re-executes
#     itself as that user; as any other uid (the StatefulSets run as 999) it goes straight on;
#   * when PGDATA is empty: initdb with POSTGRES_USER as the superuser and POSTGRES_PASSWORD as
#     its password (scram-sha-256 for TCP, trust on the local socket), then a temporary server
#     on the Unix socket only creates POSTGRES_DB; TCP stays closed until the real server
#     starts, so `pg_isready -h 127.0.0.1` is false during initialisation;
#   * then `postgres` listening on every address.
set -euo pipefail

if [[ "${1:-postgres}" != postgres ]]; then
  exec "$@"
fi
shift || true

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
socket_dir=/var/run/postgresql

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" "$socket_dir"
  chown -R postgres:postgres "$PGDATA" "$socket_dir"
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

# A socket directory this user cannot write (an emptyDir owned by root): use /tmp.
[[ -w "$socket_dir" ]] || socket_dir=/tmp
mkdir -p "$PGDATA"
chmod 0700 "$PGDATA" 2>/dev/null || true

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  [[ -n "${POSTGRES_PASSWORD:-}" ]] || { echo "postgres-entrypoint: POSTGRES_PASSWORD is not set" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf "host all all all scram-sha-256\n" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$socket_dir" -w start >/dev/null
  if [[ "$POSTGRES_DB" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -h "$socket_dir" -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres-entrypoint: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$socket_dir" "$@"
