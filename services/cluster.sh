#!/usr/bin/env bash
# Clustered test stack (issue 20), opt-in: three OpenSearch nodes, MinIO as four processes with
# one drive each (one erasure set), PostgreSQL primary plus a streaming replica. About 2 GB of
# memory (OpenSearch -Xms256m -Xmx512m a node). scripts/test.sh does not start it.
#
#   services/cluster.sh start|stop|status|env
#   services/cluster.sh kill opensearch N | kill minio N | kill postgres-primary   (SIGKILL)
#   services/cluster.sh restart opensearch N | restart minio N     (start one member again)
#   services/cluster.sh promote     promote the standby to primary (after the primary is gone)
#   services/cluster.sh rejoin      the stopped former primary becomes a standby of the new one
#
# Settings (environment); the defaults keep clear of the single-node services and CI:
#   EAKTE_SERVICES_DIR                       state root; everything in <root>/cluster
#   EAKTE_CLUSTER_PG_PORT                    first PostgreSQL node (second: +1; default 26432)
#   EAKTE_CLUSTER_MINIO_PORT                 first MinIO process of four (default 26000);
#                                            consoles at +10 (26010-26013)
#   EAKTE_CLUSTER_OPENSEARCH_PORT            first OpenSearch HTTP port of three (default 26200)
#   EAKTE_CLUSTER_OPENSEARCH_TRANSPORT_PORT  first transport port of three (default 26300)
#   EAKTE_CLUSTER_OPENSEARCH_JAVA_OPTS       default -Xms256m -Xmx512m
#   EAKTE_CLUSTER_START_TIMEOUT              seconds per wait (default 180)
#
# OpenSearch runs from the launcher of services/opensearch.sh (same Maven artifacts, same build
# dir); cluster settings are passed as its `setting=value` arguments, so its single-node default
# is untouched. PostgreSQL's nodes are pg0 and pg1; <root>/cluster/pg-primary names the one that
# is primary now (promote moves it), so a restart after a drill keeps the roles.
set -euo pipefail
EAKTE_LOG_TAG=cluster
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CLUSTER="$(state_dir cluster)"
TIMEOUT="${EAKTE_CLUSTER_START_TIMEOUT:-180}"

# --- OpenSearch -----------------------------------------------------------------------------

OS_HTTP="${EAKTE_CLUSTER_OPENSEARCH_PORT:-26200}"
OS_TRANSPORT="${EAKTE_CLUSTER_OPENSEARCH_TRANSPORT_PORT:-26300}"
OS_NODES=3
OS_SRC="$EAKTE_SERVICES_SCRIPTS_DIR/opensearch"

os_build_dir() { # the same build as services/opensearch.sh (keyed by the sources' hash)
    (cd "$OS_SRC" && find pom.xml src -type f | LC_ALL=C sort | xargs cat) |
        cache_build_dir "$EAKTE_CACHE/opensearch" launcher "$OS_SRC/pom.xml" opensearch.version
}
os_home() { echo "$CLUSTER/opensearch$1"; }
os_pidfile() { echo "$(os_home "$1")/opensearch.pid"; }
os_port() { echo $((OS_HTTP + $1)); }

os_answers() { curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$(os_port "$1")/" 2>/dev/null; }

os_cluster_health() { # os_cluster_health STATUS NODES: true when some node reports it
    local i
    for ((i = 0; i < OS_NODES; i++)); do
        curl -fsS -m 15 -o /dev/null \
            "http://127.0.0.1:$(os_port "$i")/_cluster/health?wait_for_status=$1&wait_for_nodes=$2&timeout=10s" \
            2>/dev/null && return 0
    done
    return 1
}

os_start_node() {
    local i="$1" home pidfile build seeds="" managers="" j
    home="$(os_home "$i")"
    pidfile="$(os_pidfile "$i")"
    if pid_alive "$pidfile"; then
        log "opensearch$i already running (pid $(cat "$pidfile"))"
        return 0
    fi
    ports_free EAKTE_CLUSTER_OPENSEARCH_PORT/_TRANSPORT_PORT "$(os_port "$i")" $((OS_TRANSPORT + i))
    for ((j = 0; j < OS_NODES; j++)); do
        seeds+="${seeds:+,}127.0.0.1:$((OS_TRANSPORT + j))"
        managers+="${managers:+,}os$j"
    done
    build="$(os_build_dir)"
    mkdir -p "$home/data" "$home/logs" "$home/config"
    rm -f "$pidfile"
    # shellcheck disable=SC2086 # JAVA_OPTS is a word list on purpose
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        java ${EAKTE_CLUSTER_OPENSEARCH_JAVA_OPTS:--Xms256m -Xmx512m} \
        -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
        -jar "$build/launcher.jar" "$home" "$(os_port "$i")" \
        cluster.name=eakte-cluster "node.name=os$i" discovery.type=zen \
        "transport.port=$((OS_TRANSPORT + i))" "discovery.seed_hosts=$seeds" \
        "cluster.initial_cluster_manager_nodes=$managers" \
        </dev/null >"$home/opensearch.log" 2>&1 &
    for _ in $(seq 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
    log "opensearch$i starting on 127.0.0.1:$(os_port "$i") (log $home/opensearch.log)"
}

os_start() {
    need_command curl curl
    bash "$EAKTE_SERVICES_SCRIPTS_DIR/opensearch.sh" install
    local i
    for ((i = 0; i < OS_NODES; i++)); do os_start_node "$i"; done
    if ! wait_until "$TIMEOUT" "OpenSearch green with $OS_NODES nodes" os_cluster_health green "$OS_NODES"; then
        for ((i = 0; i < OS_NODES; i++)); do show_log "$(os_home "$i")/opensearch.log" 20; done
        die "OpenSearch cluster did not become green"
    fi
    log "OpenSearch green with $OS_NODES nodes"
}

os_stop() {
    local i
    for ((i = 0; i < OS_NODES; i++)); do
        EAKTE_LOG_TAG="cluster opensearch$i" stop_pidfile_process "$(os_pidfile "$i")" "opensearch$i"
    done
}

# --- MinIO ----------------------------------------------------------------------------------

MINIO_PORT="${EAKTE_CLUSTER_MINIO_PORT:-26000}"
MINIO_PROCESSES=4
MINIO_ACCESS_KEY=eakte-test
MINIO_SECRET_KEY=eakte-test-secret

minio_bin() { ls "$EAKTE_BIN_CACHE"/minio-v* 2>/dev/null | sort | tail -n1; }
minio_dir() { echo "$CLUSTER/minio$1"; }
minio_pidfile() { echo "$CLUSTER/minio$1.pid"; }
minio_live() { [ "$(http_status $((MINIO_PORT + $1)) /minio/health/live)" = 200 ]; }
minio_cluster_ready() { [ "$(http_status "$MINIO_PORT" /minio/health/cluster)" = 200 ]; }

minio_start_one() {
    local i="$1" bin pidfile endpoints=() j
    bin="$(minio_bin)"
    pidfile="$(minio_pidfile "$i")"
    if pid_alive "$pidfile"; then
        log "minio$i already running (pid $(cat "$pidfile"))"
        return 0
    fi
    ports_free EAKTE_CLUSTER_MINIO_PORT $((MINIO_PORT + i)) $((MINIO_PORT + 10 + i))
    for ((j = 0; j < MINIO_PROCESSES; j++)); do
        mkdir -p "$(minio_dir "$j")"
        endpoints+=("http://127.0.0.1:$((MINIO_PORT + j))$(minio_dir "$j")")
    done
    rm -f "$pidfile"
    # _MINIO_SERVER_LOCAL: in a container MinIO cannot tell by address which endpoint is its own.
    env -u MINIO_VOLUMES \
        MINIO_ROOT_USER="$MINIO_ACCESS_KEY" MINIO_ROOT_PASSWORD="$MINIO_SECRET_KEY" \
        MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_CI_CD=1 \
        _MINIO_SERVER_LOCAL="127.0.0.1:$((MINIO_PORT + i))" \
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        "$bin" server --address "127.0.0.1:$((MINIO_PORT + i))" \
        --console-address "127.0.0.1:$((MINIO_PORT + 10 + i))" "${endpoints[@]}" \
        </dev/null >>"$CLUSTER/minio$i.log" 2>&1 &
    for _ in $(seq 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
    log "minio$i starting on 127.0.0.1:$((MINIO_PORT + i)) (log $CLUSTER/minio$i.log)"
}

minio_start() {
    bash "$EAKTE_SERVICES_SCRIPTS_DIR/minio.sh" install
    [ -n "$(minio_bin)" ] || die "no MinIO binary in $EAKTE_BIN_CACHE"
    local i
    for ((i = 0; i < MINIO_PROCESSES; i++)); do minio_start_one "$i"; done
    if ! wait_until "$TIMEOUT" "MinIO erasure set healthy" minio_cluster_ready; then
        for ((i = 0; i < MINIO_PROCESSES; i++)); do show_log "$CLUSTER/minio$i.log" 15; done
        die "MinIO did not become ready"
    fi
    log "MinIO ready with $MINIO_PROCESSES processes"
}

minio_stop() {
    local i
    for ((i = 0; i < MINIO_PROCESSES; i++)); do
        EAKTE_LOG_TAG="cluster minio$i" stop_pidfile_process "$(minio_pidfile "$i")" "minio$i"
    done
}

# --- PostgreSQL -----------------------------------------------------------------------------

PG_PORT="${EAKTE_CLUSTER_PG_PORT:-26432}"
PG_OS_USER=postgres
PG_USER=eakte
PG_PASSWORD=eakte
PG_APP_USER=eakte_app
PG_APP_PASSWORD=eakte_app
PG_DB=eakte
PG_REPL_USER=replicator
PG_REPL_PASSWORD=replicator

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
run_owner() { if is_root; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi; }
pg_data() { echo "$CLUSTER/pg$1/data"; }
pg_port() { echo $((PG_PORT + $1)); }
pg_sock() { echo "/tmp/eakte-cluster-pg-$(pg_port "$1")"; }
pg_log() { echo "$CLUSTER/pg$1/postgres.log"; }
pg_running() { pid_alive "$(pg_data "$1")/postmaster.pid"; }
pg_ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$(pg_port "$1")" -d postgres -t 2 >/dev/null 2>&1; }
pg_primary() { cat "$CLUSTER/pg-primary" 2>/dev/null || echo 0; }
pg_other() { echo $((1 - $1)); }
pg_sql() { # pg_sql NODE SQL...: as the superuser over the node's socket
    local node="$1"; shift
    run_owner "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$(pg_sock "$node")" \
        -p "$(pg_port "$node")" -U postgres -d postgres "$@"
}

pg_prepare_dirs() {
    local node="$1"
    mkdir -p "$CLUSTER/pg$node" "$(pg_sock "$node")"
    touch "$(pg_log "$node")"
    if is_root; then
        id "$PG_OS_USER" >/dev/null 2>&1 ||
            useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
        chown "$PG_OS_USER:" "$CLUSTER/pg$node" "$(pg_sock "$node")" "$(pg_log "$node")"
        run_owner test -x "$CLUSTER/pg$node" ||
            die "user $PG_OS_USER cannot reach $CLUSTER; set EAKTE_SERVICES_DIR to e.g. /var/tmp/..."
    fi
}

pg_write_conf() { # the node's own settings, rewritten before every start (a base backup copies them)
    local node="$1" data
    data="$(pg_data "$node")"
    cat >"$data/eakte.conf" <<EOF
# Written by services/cluster.sh before every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $(pg_port "$node")
unix_socket_directories = '$(pg_sock "$node")'
max_connections = 100
shared_buffers = 64MB
password_encryption = 'scram-sha-256'
# Replication: a streaming standby, promoted in the failover drill.
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
# Test-only: no fsync (the drills stop processes, not the machine); commits wait for nothing.
fsync = off
synchronous_commit = off
full_page_writes = on
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    is_root && chown "$PG_OS_USER:" "$data/eakte.conf"
    return 0
}

pg_ctl_start() {
    local node="$1"
    pg_running "$node" && return 0
    ports_free EAKTE_CLUSTER_PG_PORT "$(pg_port "$node")"
    rm -f "$(pg_data "$node")/postmaster.pid"
    pg_write_conf "$node"
    run_owner "$BIN/pg_ctl" -D "$(pg_data "$node")" -l "$(pg_log "$node")" -w -t "$TIMEOUT" start \
        >/dev/null || { show_log "$(pg_log "$node")" 30; die "pg$node did not start"; }
    wait_until "$TIMEOUT" "pg$node ready" pg_ready "$node" || die "pg$node not ready"
}

pg_init_primary() {
    local node="$1" data
    data="$(pg_data "$node")"
    pg_prepare_dirs "$node"
    if [ ! -s "$data/PG_VERSION" ]; then
        log "initdb pg$node"
        rm -rf "$data"; mkdir -p "$data"; chmod 700 "$data"
        is_root && chown "$PG_OS_USER:" "$data"
        run_owner "$BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$CLUSTER/pg$node/initdb.log" 2>&1 ||
            { show_log "$CLUSTER/pg$node/initdb.log" 30; die "initdb failed"; }
        echo "include_if_exists = 'eakte.conf'" >>"$data/postgresql.conf"
    fi
    pg_ctl_start "$node"
    pg_sql "$node" <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER LOGIN PASSWORD '$PG_APP_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPL_USER') THEN
    CREATE ROLE $PG_REPL_USER LOGIN REPLICATION PASSWORD '$PG_REPL_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
}

pg_make_standby() { # pg_make_standby NODE: a fresh base backup of the primary, streaming (-R)
    local node="$1" primary data
    primary="$(pg_other "$node")"
    data="$(pg_data "$node")"
    pg_prepare_dirs "$node"
    rm -rf "$data"
    log "pg_basebackup pg$primary -> pg$node (standby)"
    run_owner env PGPASSWORD="$PG_REPL_PASSWORD" "$BIN/pg_basebackup" -h 127.0.0.1 \
        -p "$(pg_port "$primary")" -U "$PG_REPL_USER" -D "$data" -R -X stream -c fast \
        >"$CLUSTER/pg$node/basebackup.log" 2>&1 ||
        { show_log "$CLUSTER/pg$node/basebackup.log" 30; die "pg_basebackup failed"; }
    pg_ctl_start "$node"
}

pg_is_standby() { [ "$(pg_sql "$1" -c 'SELECT pg_is_in_recovery()')" = t ]; }

pg_start() {
    BIN="$(pg_bindir)"
    [ -n "$BIN" ] || apt_install postgresql
    BIN="$(pg_bindir)"
    local primary standby
    primary="$(pg_primary)"
    standby="$(pg_other "$primary")"
    echo "$primary" >"$CLUSTER/pg-primary"
    pg_init_primary "$primary"
    # A standby without standby.signal is a former primary (a drill ran): it is made anew.
    if [ -s "$(pg_data "$standby")/PG_VERSION" ] && [ -f "$(pg_data "$standby")/standby.signal" ]; then
        pg_prepare_dirs "$standby"
        pg_ctl_start "$standby"
    else
        pg_ctl_stop "$standby"
        pg_make_standby "$standby"
    fi
    wait_until "$TIMEOUT" "pg$standby streaming" pg_streaming "$primary" ||
        die "the standby does not stream from the primary"
    log "PostgreSQL primary pg$primary :$(pg_port "$primary"), standby pg$standby :$(pg_port "$standby")"
}

pg_streaming() { [ "$(pg_sql "$1" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1 ]; }

pg_ctl_stop() { # pg_ctl_stop NODE [MODE]
    local node="$1"
    BIN="${BIN:-$(pg_bindir)}"
    pg_running "$node" || return 0
    run_owner "$BIN/pg_ctl" -D "$(pg_data "$node")" -m "${2:-fast}" -w -t 60 stop >/dev/null ||
        { show_log "$(pg_log "$node")" 20; die "pg_ctl stop pg$node failed"; }
    log "pg$node stopped"
}

pg_stop() { pg_ctl_stop 0; pg_ctl_stop 1; }

do_promote() {
    BIN="$(pg_bindir)"
    local old new
    old="$(pg_primary)"
    new="$(pg_other "$old")"
    pg_running "$new" || die "pg$new (the standby) is not running"
    pg_ctl_stop "$old"
    run_owner "$BIN/pg_ctl" -D "$(pg_data "$new")" -w -t 60 promote >/dev/null || die "promote failed"
    echo "$new" >"$CLUSTER/pg-primary"
    wait_until 60 "pg$new out of recovery" pg_not_standby "$new" || die "pg$new still in recovery"
    log "pg$new is primary now on :$(pg_port "$new"); 'rejoin' makes pg$old its standby"
}
pg_not_standby() { ! pg_is_standby "$1"; }

do_rejoin() {
    BIN="$(pg_bindir)"
    local standby
    standby="$(pg_other "$(pg_primary)")"
    pg_ctl_stop "$standby"
    pg_make_standby "$standby"
    wait_until "$TIMEOUT" "pg$standby streaming" pg_streaming "$(pg_primary)" ||
        die "the standby does not stream"
    log "pg$standby streams from pg$(pg_primary) again"
}

# --- commands -------------------------------------------------------------------------------

do_start() {
    pg_start
    minio_start
    os_start
    log "cluster ready; 'services/cluster.sh env' prints the settings"
}

do_stop() {
    os_stop
    minio_stop
    pg_stop
}

do_status() {
    local i status=0
    BIN="$(pg_bindir)"
    for i in 0 1; do
        if pg_running "$i" && pg_ready "$i"; then
            local role=primary
            pg_is_standby "$i" && role=standby
            echo "postgres pg$i: running on :$(pg_port "$i") ($role)"
        else
            echo "postgres pg$i: not running"; status=3
        fi
    done
    for ((i = 0; i < MINIO_PROCESSES; i++)); do
        if pid_alive "$(minio_pidfile "$i")" && minio_live "$i"; then
            echo "minio$i: running on :$((MINIO_PORT + i))"
        else
            echo "minio$i: not running"; status=3
        fi
    done
    for ((i = 0; i < OS_NODES; i++)); do
        if pid_alive "$(os_pidfile "$i")" && os_answers "$i"; then
            echo "opensearch$i: running on :$(os_port "$i")"
        else
            echo "opensearch$i: not running"; status=3
        fi
    done
    local health
    health="$(curl -fsS -m 5 "http://127.0.0.1:$OS_HTTP/_cluster/health" 2>/dev/null || true)"
    [ -n "$health" ] && echo "opensearch cluster: $health"
    return "$status"
}

do_env() {
    local os_hosts="" minio="" i
    for ((i = 0; i < OS_NODES; i++)); do os_hosts+="${os_hosts:+,}http://127.0.0.1:$(os_port "$i")"; done
    for ((i = 0; i < MINIO_PROCESSES; i++)); do minio+="${minio:+,}127.0.0.1:$((MINIO_PORT + i))"; done
    local hosts="host=127.0.0.1:$(pg_port 0)&host=127.0.0.1:$(pg_port 1)&target_session_attrs=read-write"
    echo "export EAKTE_TEST_CLUSTER_DATABASE_URL='postgresql+psycopg://$PG_USER:$PG_PASSWORD@/$PG_DB?$hosts'"
    echo "export EAKTE_TEST_CLUSTER_APP_DATABASE_URL='postgresql+psycopg://$PG_APP_USER:$PG_APP_PASSWORD@/$PG_DB?$hosts'"
    echo "export EAKTE_TEST_CLUSTER_S3_ENDPOINTS=$minio"
    echo "export EAKTE_TEST_CLUSTER_S3_ACCESS_KEY=$MINIO_ACCESS_KEY"
    echo "export EAKTE_TEST_CLUSTER_S3_SECRET_KEY=$MINIO_SECRET_KEY"
    echo "export EAKTE_TEST_CLUSTER_OPENSEARCH_URLS=$os_hosts"
    # What the drills call services/cluster.sh with (the same state dir and ports).
    echo "export EAKTE_TEST_CLUSTER_SCRIPT=$EAKTE_SERVICES_SCRIPTS_DIR/cluster.sh"
    echo "export EAKTE_TEST_CLUSTER_SERVICES_DIR=$EAKTE_STATE_ROOT"
    echo "export EAKTE_CLUSTER_PG_PORT=$PG_PORT"
    echo "export EAKTE_CLUSTER_MINIO_PORT=$MINIO_PORT"
    echo "export EAKTE_CLUSTER_OPENSEARCH_PORT=$OS_HTTP"
    echo "export EAKTE_CLUSTER_OPENSEARCH_TRANSPORT_PORT=$OS_TRANSPORT"
}

member_pidfile() { # member_pidfile KIND N
    case "$1" in
        opensearch) [[ "$2" =~ ^[0-2]$ ]] || die "opensearch N: 0-2"; os_pidfile "$2" ;;
        minio) [[ "$2" =~ ^[0-3]$ ]] || die "minio N: 0-3"; minio_pidfile "$2" ;;
        *) die "unknown member $1" ;;
    esac
}

do_kill() { # SIGKILL a member by its pid file: a crash, not a shutdown
    local pidfile pid
    if [ "${1:-}" = postgres-primary ]; then
        BIN="$(pg_bindir)"
        pidfile="$(pg_data "$(pg_primary)")/postmaster.pid"
    else
        pidfile="$(member_pidfile "${1:-}" "${2:-}")"
    fi
    pid_alive "$pidfile" || die "${1:-} ${2:-} is not running"
    pid="$(head -n1 "$pidfile")"
    kill -KILL "$pid"
    wait_until 30 "pid $pid gone" bash -c '! kill -0 "$0" 2>/dev/null' "$pid" || true
    log "killed $* (pid $pid)"
}

do_restart() {
    case "${1:-}" in
        opensearch) member_pidfile opensearch "${2:-}" >/dev/null; os_start_node "$2"
            wait_until "$TIMEOUT" "opensearch$2" os_answers "$2" || die "opensearch$2 did not answer" ;;
        minio) member_pidfile minio "${2:-}" >/dev/null; minio_start_one "$2"
            wait_until "$TIMEOUT" "minio$2" minio_live "$2" || die "minio$2 did not answer" ;;
        *) die "usage: $0 restart opensearch N|minio N" ;;
    esac
}

case "${1:-}" in
    start | stop | status | env | promote | rejoin) "do_$1" ;;
    kill | restart) cmd="$1"; shift; "do_$cmd" "$@" ;;
    *) echo "usage: $0 start|stop|status|env|promote|rejoin|kill KIND [N]|restart KIND N" >&2; exit 2 ;;
esac
