#!/usr/bin/env bash
# Local MinIO (S3 with object lock) for the test suite, on 127.0.0.1 (no Docker).
#
#   services/minio.sh install   build the pinned MinIO server with Go (cached) if missing
#   services/minio.sh start     install if needed, start in the background, wait for /minio/health/live
#   services/minio.sh stop      SIGTERM, then SIGKILL after 30 s
#   services/minio.sh status    exit 0 when running and live, 3 otherwise
#   services/minio.sh env       print export lines for the test suite
#
# Settings (environment):
#   EAKTE_MINIO_PORT           S3 API port on 127.0.0.1 (default 29000)
#   EAKTE_MINIO_CONSOLE_PORT   web console port on 127.0.0.1 (default 29001)
#   EAKTE_SERVICES_DIR         state root (default <repo>/.services); data/log/pid in <root>/minio
#   EAKTE_CACHE_DIR            cache (default /var/cache/eakte); binary in bin/minio-<version>
#
# MinIO has no semver tags (it uses RELEASE.* tags), so it is pinned by the Go module
# proxy's pseudo-version of the last commit of github.com/minio/minio (2026-02-12).
# A cold build (download + compile) takes ~5-6 minutes on 2 cores; afterwards the
# binary is reused from the cache dir.
set -euo pipefail
EAKTE_LOG_TAG=minio
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN="$EAKTE_BIN_CACHE/minio-$MINIO_VERSION"

PORT="${EAKTE_MINIO_PORT:-29000}"
CONSOLE_PORT="${EAKTE_MINIO_CONSOLE_PORT:-29001}"
ACCESS_KEY=eakte-test
SECRET_KEY=eakte-test-secret
START_TIMEOUT="${EAKTE_MINIO_START_TIMEOUT:-90}"

STATE="$(state_dir minio)"
DATA="$STATE/data"
LOGFILE="$STATE/log/minio.log"
PIDFILE="$STATE/minio.pid"

build_minio() {
    [ -x "$MINIO_BIN" ] && return 0   # built by a concurrent run while we waited
    go_setup
    local tmp start
    tmp="$(mktemp -d "$EAKTE_BIN_CACHE/.minio-build.XXXXXX")"
    start=$(date +%s)
    log "building $MINIO_MODULE@$MINIO_VERSION with $(go version | awk '{print $3}') (cold: ~5-6 min)"
    if ! GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$MINIO_MODULE@$MINIO_VERSION" >"$tmp.log" 2>&1; then
        tail -n 40 "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "go install $MINIO_MODULE@$MINIO_VERSION failed"
    fi
    mv -f "$tmp/minio" "$MINIO_BIN"
    rm -rf "$tmp" "$tmp.log"
    log "built $MINIO_BIN in $(( $(date +%s) - start ))s"
}

do_install() {
    if [ ! -x "$MINIO_BIN" ]; then
        with_lock minio-build build_minio
    fi
    [ -x "$MINIO_BIN" ] || die "no MinIO binary at $MINIO_BIN"
}

is_live() { [ "$(http_status "$PORT" /minio/health/live)" = 200 ]; }
is_ready() { [ "$(http_status "$PORT" /minio/health/ready)" = 200 ]; }
our_server_running() { pid_alive "$PIDFILE"; }

do_start() {
    do_install
    already_serving MinIO "$PIDFILE" "$PORT" is_live && return 0
    ports_free EAKTE_MINIO_PORT/EAKTE_MINIO_CONSOLE_PORT "$PORT" "$CONSOLE_PORT"
    mkdir -p "$DATA" "$(dirname "$LOGFILE")"
    log "starting on 127.0.0.1:$PORT (console :$CONSOLE_PORT, data $DATA, log $LOGFILE)"
    # setsid: own session, so the server outlives the shell/job that started it.
    # The inner shell writes its own pid and execs minio, so the pid file holds minio's pid.
    env -u MINIO_VOLUMES \
        MINIO_ROOT_USER="$ACCESS_KEY" \
        MINIO_ROOT_PASSWORD="$SECRET_KEY" \
        MINIO_UPDATE=off \
        MINIO_CALLHOME_ENABLE=off \
        MINIO_CI_CD=1 \
        MINIO_BROWSER_LOGIN_ANIMATION=off \
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
        "$MINIO_BIN" server "$DATA" \
        --address "127.0.0.1:$PORT" \
        --console-address "127.0.0.1:$CONSOLE_PORT" \
        </dev/null >>"$LOGFILE" 2>&1 &
    wait_serving MinIO "$PIDFILE" "$LOGFILE" "$START_TIMEOUT" is_live
    wait_until 30 "http://127.0.0.1:$PORT/minio/health/ready" is_ready || true
    show_log "$LOGFILE" 8
    log "ready: http://127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
}

do_stop() {
    stop_pidfile_process "$PIDFILE" MinIO
}

running_on() {
    echo "127.0.0.1:$PORT (pid $(cat "$PIDFILE"), console :$CONSOLE_PORT, data $DATA, binary $MINIO_BIN)"
}

do_status() {
    service_status minio "$PIDFILE" running_on is_live
}

do_env() {
    echo "export EAKTE_TEST_S3_ENDPOINT=127.0.0.1:$PORT"
    echo "export EAKTE_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
    echo "export EAKTE_TEST_S3_SECRET_KEY=$SECRET_KEY"
}

run_command "${1:-}"
