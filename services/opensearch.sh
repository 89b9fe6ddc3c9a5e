#!/usr/bin/env bash
# Local single-node OpenSearch for the test suite, without Docker or a distribution
# download: a tiny launcher (services/opensearch/) runs OpenSearch from Maven jars.
#
#   services/opensearch.sh install|start|stop|status|env
#
# EAKTE_CACHE_DIR         build + Maven repo cache   (default /var/cache/eakte)
# EAKTE_SERVICES_DIR      pid file, log, data        (default <repo>/.services)
# EAKTE_OPENSEARCH_PORT   HTTP port on 127.0.0.1     (default 59200)
# EAKTE_OPENSEARCH_JAVA_OPTS                         (default -Xms512m -Xmx1g)
# EAKTE_OPENSEARCH_START_TIMEOUT seconds             (default 120)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/opensearch"
repo="$(dirname "$here")"
cache_root="${EAKTE_CACHE_DIR:-/var/cache/eakte}"
cache="$cache_root/opensearch"
m2="$cache_root/m2"
state="${EAKTE_SERVICES_DIR:-$repo/.services}/opensearch"
port="${EAKTE_OPENSEARCH_PORT:-59200}"
url="http://127.0.0.1:$port"
pidfile="$state/opensearch.pid"
logfile="$state/opensearch.log"

log() { echo "opensearch: $*" >&2; }

need() { # need COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null && return
    log "installing $2"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$2" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }
}

# The build dir is keyed by the sources' hash, so editing the launcher or the pom
# rebuilds, and an unchanged checkout never starts Maven at all.
build_dir() {
    local version hash
    version="$(sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' "$src/pom.xml")"
    hash="$(cd "$src" && find pom.xml src -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)"
    echo "$cache/launcher-$version-$hash"
}

cmd_install() {
    local build tmp
    build="$(build_dir)"
    [[ -f "$build/launcher.jar" ]] && return 0
    need java openjdk-17-jdk-headless
    need mvn maven
    mkdir -p "$cache" "$m2"
    # Built outside the repo (no target/ in the work tree) and moved in whole, so a
    # half-finished or concurrent build is never mistaken for a finished one.
    tmp="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf "$tmp"; trap - RETURN' RETURN
    cp -r "$src/pom.xml" "$src/src" "$tmp/"
    log "building launcher into $build"
    local mvn=(mvn -B -q -Dmaven.repo.local="$m2" -f "$tmp/pom.xml" package)
    # Offline first: with a warm Maven repo this needs no network at all.
    if ! "${mvn[@]}" -o >"$tmp/mvn.log" 2>&1 && ! "${mvn[@]}" >"$tmp/mvn.log" 2>&1; then
        cat "$tmp/mvn.log" >&2
        log "maven build failed"
        return 1
    fi
    mkdir -p "$tmp/out"
    mv "$tmp/target/launcher.jar" "$tmp/target/lib" "$tmp/out/"
    mv -T "$tmp/out" "$build" 2>/dev/null || [[ -f "$build/launcher.jar" ]]
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

cmd_start() {
    need curl curl
    if healthy; then
        log "already running at $url"
        return 0
    fi
    if ! running_pid >/dev/null; then
        cmd_install
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
    cmd_stop
    return 1
}

cmd_stop() {
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

cmd_status() {
    if healthy; then
        echo "opensearch: healthy at $url"
    else
        echo "opensearch: not healthy at $url"
        return 1
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export EAKTE_TEST_OPENSEARCH_URL=$url" ;;
    *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
