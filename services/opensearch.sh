#!/usr/bin/env bash
# Local single-node OpenSearch for the test suite, without Docker or a distribution
# download: a tiny launcher (services/opensearch/) runs OpenSearch from Maven jars.
#
#   services/opensearch.sh install|start|stop|status|env
#
# EAKTE_CACHE_DIR         build + Maven repo cache   (default /var/cache/eakte)
# EAKTE_SERVICES_DIR      pid file, log, data        (default <repo>/.services)
# EAKTE_OPENSEARCH_PORT   HTTP port on 127.0.0.1     (default 29200)
# EAKTE_OPENSEARCH_JAVA_OPTS                         (default -Xms512m -Xmx1g)
# EAKTE_OPENSEARCH_START_TIMEOUT seconds             (default 120)
set -euo pipefail
EAKTE_LOG_TAG=opensearch
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="$EAKTE_SERVICES_SCRIPTS_DIR/opensearch"
cache="$EAKTE_CACHE/opensearch"
state="$EAKTE_STATE_ROOT/opensearch"
port="${EAKTE_OPENSEARCH_PORT:-29200}"
url="http://127.0.0.1:$port"
pidfile="$state/opensearch.pid"
logfile="$state/opensearch.log"

# The build dir is keyed by the sources' hash, so editing the launcher or the pom
# rebuilds, and an unchanged checkout never starts Maven at all.
build_dir() {
    (cd "$src" && find pom.xml src -type f | LC_ALL=C sort | xargs cat) |
        cache_build_dir "$cache" launcher "$src/pom.xml" opensearch.version
}

launcher_out() { # launcher_out DIR: the packaged launcher and its libraries into DIR/out
    mkdir -p "$1/out"
    mv "$1/target/launcher.jar" "$1/target/lib" "$1/out/"
}

do_install() {
    local build
    build="$(build_dir)"
    [[ -f "$build/launcher.jar" ]] && return 0
    need_command java openjdk-17-jdk-headless
    need_command mvn maven
    # Built outside the repo (no target/ in the work tree).
    maven_build "$build" launcher_out "$src/pom.xml" "$src/src" || {
        log "maven build failed"
        return 1
    }
}

running_pid() {
    local pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(cat "$pidfile")"
    # Guard against a stale pid file whose pid now belongs to something else.
    [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$state" || return 1
    echo "$pid"
}

healthy() {
    curl -fsS -m 10 -o /dev/null "$url/_cluster/health?wait_for_status=yellow&timeout=${1:-1s}" 2>/dev/null
}

do_start() {
    need_command curl curl
    if healthy; then
        log "already running at $url"
        return 0
    fi
    if ! running_pid >/dev/null; then
        do_install
        mkdir -p "$state/data" "$state/logs" "$state/config"
        local build
        build="$(build_dir)"
        rm -f "$pidfile"
        # shellcheck disable=SC2086 # JAVA_OPTS is a word list on purpose
        setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
            java ${EAKTE_OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g} \
            -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
            -jar "$build/launcher.jar" "$state" "$port" \
            </dev/null >"$logfile" 2>&1 &
        log "starting on $url (log: $logfile)"
        for _ in $(seq 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
    else
        log "process exists but is not healthy yet; waiting"
    fi

    local deadline=$((SECONDS + ${EAKTE_OPENSEARCH_START_TIMEOUT:-120}))
    while ((SECONDS < deadline)); do
        if healthy 2s; then
            log "ready at $url"
            return 0
        fi
        if ! running_pid >/dev/null; then
            log "node exited during startup"
            break
        fi
        sleep 1
    done
    log "not healthy; last log lines:"
    tail -n 60 "$logfile" >&2 || true
    # Leave nothing half-started behind to hold the port, lock or memory.
    do_stop
    return 1
}

do_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$pidfile"
        log "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "no exit after 30s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "stopped"
}

do_status() {
    if healthy; then
        echo "opensearch: healthy at $url"
    else
        echo "opensearch: not healthy at $url"
        return 1
    fi
}

do_env() {
    echo "export EAKTE_TEST_OPENSEARCH_URL=$url"
}

run_command "${1:-}"
