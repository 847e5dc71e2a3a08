#!/bin/sh
# The official postgres image's contract, on Debian's PostgreSQL: POSTGRES_PASSWORD (required),
# POSTGRES_USER (postgres), POSTGRES_DB (the user's name), PGDATA; the server runs as postgres and
# listens on every address with password authentication.
set -eu
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
bin=$(echo /usr/lib/postgresql/*/bin)
if [ "${1:-}" != postgres ]; then
    exec "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?the postgres stand-in needs POSTGRES_PASSWORD, as the official image does}"
    user="${POSTGRES_USER:-postgres}"
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$PGDATA" --username="$user" --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-$user}"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\";" | setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "stand-in: database $db initialised for $user"
fi

mkdir -p /var/run/postgresql
chown postgres:postgres /var/run/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA"
