#!/bin/bash
# The entrypoint of deploy/postgres.Dockerfile. On the first start (no cluster in PGDATA) it makes
# one with a role and its database; then it runs the server in the foreground as the postgres user
# (arguments go to postgres: `-c shared_buffers=256MB`).
#
#   POSTGRES_USER           the role clients log in as, owner of its database, not a superuser
#   POSTGRES_DB             that database (default: POSTGRES_USER)
#   POSTGRES_PASSWORD_FILE  a file (a swarm secret) holding the role's password, one line
#
# They are read on the first start only: the cluster keeps what they made. The superuser,
# postgres, has no password: it logs in on the container's own socket only (peer). Every other
# role logs in over TCP with its password (scram-sha-256), from any address the container's
# networks let through.
set -euo pipefail

SOCKET_DIR=/var/run/postgresql

die() {
  echo "postgres-entrypoint: $*" >&2
  exit 2
}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# sql_identifier NAME, sql_literal TEXT: quoted for SQL (standard_conforming_strings is on).
sql_identifier() { printf '"%s"' "${1//\"/\"\"}"; }
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

read_password() {
  local file=${POSTGRES_PASSWORD_FILE:-}
  [[ -n $file ]] || die "POSTGRES_PASSWORD_FILE is not set: it names a file holding the password"
  [[ -r $file ]] || die "POSTGRES_PASSWORD_FILE $file cannot be read"
  local password
  password=$(<"$file")
  [[ -n $password ]] || die "POSTGRES_PASSWORD_FILE $file is empty"
  [[ $password != *$'\n'* ]] || die "POSTGRES_PASSWORD_FILE $file holds more than one line"
  printf '%s' "$password"
}

# make_cluster: initdb into PGDATA.init, the role and database in single-user mode, then renamed
# to PGDATA, so a start interrupted on the way is begun again from nothing by the next.
make_cluster() {
  local user=${POSTGRES_USER:-}
  local database=${POSTGRES_DB:-$user}
  [[ -n $user ]] || die "POSTGRES_USER is not set"
  [[ $user != postgres ]] || die "POSTGRES_USER must not be postgres, the superuser"
  local password staging=$PGDATA.init
  password=$(read_password)

  echo "postgres-entrypoint: making the cluster in $PGDATA: role $user, database $database"
  rm -rf --one-file-system "$staging"
  install -d -o postgres -g postgres -m 0700 "$staging"
  as_postgres initdb --pgdata="$staging" --username=postgres --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "listen_addresses = '*'" >>"$staging/postgresql.conf"
  cat >"$staging/pg_hba.conf" <<'HBA'
# TYPE  DATABASE  USER      ADDRESS  METHOD
local   all       postgres           peer
host    all       all       all      scram-sha-256
HBA
  # The password reaches the server on stdin, never on a command line; exit_on_error stops at
  # the first error and log_min_error_statement=panic keeps the statement out of the log.
  {
    echo "CREATE ROLE $(sql_identifier "$user") LOGIN PASSWORD $(sql_literal "$password")"
    echo "CREATE DATABASE $(sql_identifier "$database") OWNER $(sql_identifier "$user")"
  } | as_postgres postgres --single -D "$staging" -c exit_on_error=on \
    -c log_min_error_statement=panic postgres >/dev/null ||
    die "creating the role and the database failed"
  mv "$staging" "$PGDATA"
}

PGDATA=${PGDATA:?PGDATA must name the cluster directory}
install -d -m 0755 "$(dirname "$PGDATA")"
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -e $PGDATA ]]; then
    rmdir "$PGDATA" 2>/dev/null || die "$PGDATA is not empty and holds no cluster"
  fi
  make_cluster
fi
install -d -o postgres -g postgres -m 2775 "$SOCKET_DIR"
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" "$@"
