#!/usr/bin/env bash
# Private PostgreSQL for the test suite, on 127.0.0.1 (no Docker, no system cluster).
#
#   services/postgres.sh install   apt-get install postgresql if missing, initdb the private cluster
#   services/postgres.sh start     install if needed, start, wait for pg_isready, ensure role/db
#   services/postgres.sh stop      fast shutdown
#   services/postgres.sh status    exit 0 when running and ready, 3 otherwise
#   services/postgres.sh env       print export lines for the test suite
#
# Settings (environment):
#   EAKTE_PG_PORT          TCP port on 127.0.0.1 (default 25432)
#   EAKTE_SERVICES_DIR     state root (default <repo>/.services); cluster in <root>/postgres
#
# The cluster is owned by the `postgres` OS user (PostgreSQL refuses to run as root);
# run as root, the script uses runuser. Run as a non-root user, it runs the cluster as
# that user. Role `eakte` (password `eakte`, CREATEDB) owns database `eakte`; role `eakte_app`
# (password `eakte_app`, no other rights) is the product's least-privilege runtime role, which
# the tests grant its rights per test database (records/db_roles.py).
# TCP connections use scram-sha-256 passwords; the unix socket (in the state dir) is trust.
# Durability is switched off (fsync=off etc.): this cluster is for tests only.
set -euo pipefail
EAKTE_LOG_TAG=postgres
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_PORT="${EAKTE_PG_PORT:-25432}"
PG_USER=eakte
PG_PASSWORD=eakte
PG_DB=eakte
PG_APP_USER=eakte_app
PG_APP_PASSWORD=eakte_app
PG_OS_USER=postgres
START_TIMEOUT="${EAKTE_PG_START_TIMEOUT:-90}"

STATE="$(state_dir postgres)"
PGDATA="$STATE/data"
LOGFILE="$STATE/log/postgres.log"
SOCKDIR="$STATE/run"
# Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep checkouts.
if [ "$(printf '%s/.s.PGSQL.%s' "$SOCKDIR" "$PG_PORT" | wc -c)" -gt 100 ]; then
    SOCKDIR="/tmp/eakte-pg-$PG_PORT"
fi

pg_bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_isready" ] && echo "$d"
}

run_owner() {  # run a command as the cluster owner
    if is_root; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

owner_name() { if is_root; then echo "$PG_OS_USER"; else id -un; fi; }

do_install() {
    if [ -z "$(pg_bindir)" ]; then
        apt_install postgresql
        [ -n "$(pg_bindir)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
    fi
    BIN="$(pg_bindir)"
    if is_root && ! id "$PG_OS_USER" >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
    fi
    mkdir -p "$STATE/log" "$SOCKDIR"
    touch "$LOGFILE"
    if is_root; then
        chown "$PG_OS_USER:" "$STATE" "$STATE/log" "$LOGFILE" "$SOCKDIR"
        # The owner must be able to reach the state dir through every parent directory.
        run_owner test -x "$STATE" -a -w "$STATE" \
            || die "user $PG_OS_USER cannot access $STATE (a parent directory is not world-executable); set EAKTE_SERVICES_DIR to e.g. /var/tmp/eakte-services"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        log "initdb $PGDATA ($("$BIN/postgres" --version))"
        rm -rf "$PGDATA"
        mkdir -p "$PGDATA"
        chmod 700 "$PGDATA"
        is_root && chown "$PG_OS_USER:" "$PGDATA"
        run_owner "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$STATE/log/initdb.log" 2>&1 \
            || { show_log "$STATE/log/initdb.log" 40; die "initdb failed"; }
        # Our own settings live in eakte.conf, rewritten on every start.
        echo "include_if_exists = 'eakte.conf'" >>"$PGDATA/postgresql.conf"
    fi
}

write_conf() {
    cat >"$PGDATA/eakte.conf" <<EOF
# Written by services/postgres.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKDIR'
max_connections = 200
shared_buffers = 128MB
password_encryption = 'scram-sha-256'
# Test-only speed settings: no durability.
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 2GB
autovacuum = on
log_min_messages = warning
log_min_error_statement = error
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    is_root && chown "$PG_OS_USER:" "$PGDATA/eakte.conf"
    return 0
}

is_ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -t 2 >/dev/null 2>&1; }
our_postmaster_running() { pid_alive "$PGDATA/postmaster.pid"; }

# shellcheck disable=SC2120
psql_admin() {
    run_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

ensure_role_db() {
    psql_admin <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_APP_PASSWORD';
  ELSE
    ALTER ROLE $PG_APP_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_APP_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
}

do_start() {
    do_install
    if our_postmaster_running && is_ready; then
        log "already running on 127.0.0.1:$PG_PORT (data $PGDATA)"
        # Roles added since the cluster was started appear without a restart.
        ensure_role_db || die "could not create roles/database"
        return 0
    fi
    if ! our_postmaster_running && port_open "$PG_PORT"; then
        die "port 127.0.0.1:$PG_PORT is in use by another process; set EAKTE_PG_PORT"
    fi
    if ! our_postmaster_running; then
        rm -f "$PGDATA/postmaster.pid"
        write_conf
        log "starting on 127.0.0.1:$PG_PORT (data $PGDATA, log $LOGFILE)"
        # pg_ctl detaches the postmaster into its own session.
        if ! run_owner "$BIN/pg_ctl" -D "$PGDATA" -l "$LOGFILE" -w -t "$START_TIMEOUT" start >/dev/null; then
            show_log "$LOGFILE" 40
            die "pg_ctl start failed"
        fi
    fi
    if ! wait_until "$START_TIMEOUT" "pg_isready on 127.0.0.1:$PG_PORT" is_ready; then
        show_log "$LOGFILE" 40
        die "PostgreSQL did not become ready"
    fi
    ensure_role_db || { show_log "$LOGFILE" 40; die "could not create role/database $PG_USER/$PG_DB"; }
    show_log "$LOGFILE" 5
    log "ready: $(db_url)"
}

do_stop() {
    BIN="$(pg_bindir || true)"
    if [ -z "$BIN" ] || ! our_postmaster_running; then
        log "not running"
        return 0
    fi
    log "stopping"
    run_owner "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null \
        || { show_log "$LOGFILE" 20; die "pg_ctl stop failed"; }
    log "stopped"
}

do_status() {
    BIN="$(pg_bindir || true)"
    if [ -n "$BIN" ] && our_postmaster_running && is_ready; then
        echo "postgres: running on 127.0.0.1:$PG_PORT (pid $(head -n1 "$PGDATA/postmaster.pid"), data $PGDATA)"
        return 0
    fi
    echo "postgres: not running"
    return 3
}

db_url() { echo "postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"; }

app_db_url() { echo "postgresql+psycopg://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"; }

do_env() {
    echo "export EAKTE_TEST_DATABASE_URL=$(db_url)"
    echo "export EAKTE_TEST_APP_DATABASE_URL=$(app_db_url)"
}

run_command "${1:-}"
