#!/usr/bin/env bash
# A real IMAP server for the mailbox tests (tests/test_mailbox.py): GreenMail standalone from
# Maven Central, run with the JDK on 127.0.0.1. No installer, no system service, no root
# needed to run it (root only to apt-get Java and Maven on a fresh machine).
#
#   services/imap.sh install   fetch the pinned GreenMail jar (idempotent; no Maven when cached)
#   services/imap.sh start     install if needed, start in the background, wait for the greeting
#   services/imap.sh stop      SIGTERM, then SIGKILL after 30 s
#   services/imap.sh status    exit 0 when running and answering, 3 otherwise
#   services/imap.sh env       print export lines for the test suite
#
# Settings (environment):
#   EAKTE_IMAP_PORT          IMAP port on 127.0.0.1 (default 29143; no TLS, local only)
#   EAKTE_IMAP_API_PORT      GreenMail's own HTTP API on 127.0.0.1 (default 29144; unused)
#   EAKTE_SERVICES_DIR       state root (default <repo>/.services); log and pid in <root>/imap
#   EAKTE_CACHE_DIR          build + Maven repo cache (default /var/cache/eakte)
#   EAKTE_IMAP_JAVA_OPTS     JVM options (default: small heap)
#
# GreenMail keeps the mailboxes in memory: a restart starts empty, as every test run should.
# The tests give each test folders of its own, so one server serves the whole run.
set -euo pipefail
EAKTE_LOG_TAG=imap
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="$EAKTE_SERVICES_SCRIPTS_DIR/imap"
cache="$EAKTE_CACHE/imap"

PORT="${EAKTE_IMAP_PORT:-29143}"
API_PORT="${EAKTE_IMAP_API_PORT:-29144}"
USER_NAME=eakte-postfach
PASSWORD=eakte-test-imap-passwort
START_TIMEOUT="${EAKTE_IMAP_START_TIMEOUT:-60}"

STATE="$(state_dir imap)"
LOGFILE="$STATE/greenmail.log"
PIDFILE="$STATE/greenmail.pid"

# Keyed by the pom's hash: a new version fetches again, an unchanged checkout never starts Maven.
build_dir() {
    cache_build_dir "$cache" greenmail "$src/pom.xml" greenmail.version <"$src/pom.xml"
}

greenmail_out() { # greenmail_out DIR: the packaged jar into DIR/out
    mkdir -p "$1/out"
    mv "$1/target/jars/greenmail-standalone.jar" "$1/out/"
}

fetch_jar() {
    local build="$1"
    [[ -f "$build/greenmail-standalone.jar" ]] && return 0   # fetched by a concurrent run
    maven_build "$build" greenmail_out "$src/pom.xml" || die "maven failed"
}

do_install() {
    local build
    build="$(build_dir)"
    [[ -f "$build/greenmail-standalone.jar" ]] && return 0
    need_command java openjdk-17-jre-headless
    need_command mvn maven
    with_lock imap-fetch fetch_jar "$build"
    [[ -f "$build/greenmail-standalone.jar" ]] || die "no GreenMail jar in $build"
}

# An IMAP server greets first: "* OK ...".
greets() {
    local line
    line="$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
        IFS= read -r -t 5 line <&3 || exit 0
        printf 'a LOGOUT\r\n' >&3
        echo "$line"
    )"
    [[ "$line" == "* OK"* ]]
}

our_server_running() { pid_alive "$PIDFILE"; }

do_start() {
    do_install
    already_serving GreenMail "$PIDFILE" "$PORT" greets && return 0
    ports_free EAKTE_IMAP_PORT/EAKTE_IMAP_API_PORT "$PORT" "$API_PORT"
    local jar
    jar="$(build_dir)/greenmail-standalone.jar"
    log "starting GreenMail on 127.0.0.1:$PORT (log $LOGFILE)"
    # setsid: own session, so the server outlives the shell that started it; the inner shell
    # writes its own pid and execs java, so the pid file holds the server's pid.
    # shellcheck disable=SC2086 # JAVA_OPTS is a word list on purpose
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
        java ${EAKTE_IMAP_JAVA_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC} \
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
        -Dgreenmail.imap.hostname=127.0.0.1 -Dgreenmail.imap.port="$PORT" \
        -Dgreenmail.api.hostname=127.0.0.1 -Dgreenmail.api.port="$API_PORT" \
        -Dgreenmail.users="$USER_NAME:$PASSWORD@localhost" \
        -Dgreenmail.verbose=false \
        -jar "$jar" \
        </dev/null >>"$LOGFILE" 2>&1 &
    wait_serving GreenMail "$PIDFILE" "$LOGFILE" "$START_TIMEOUT" greets
    log "ready: imap://127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
}

do_stop() {
    stop_pidfile_process "$PIDFILE" GreenMail
}

running_on() { echo "127.0.0.1:$PORT (pid $(cat "$PIDFILE"), jar $(build_dir))"; }

do_status() {
    service_status imap "$PIDFILE" running_on greets
}

do_env() {
    echo "export EAKTE_TEST_IMAP_HOST=127.0.0.1"
    echo "export EAKTE_TEST_IMAP_PORT=$PORT"
    echo "export EAKTE_TEST_IMAP_USER=$USER_NAME"
    echo "export EAKTE_TEST_IMAP_PASSWORD=$PASSWORD"
}

run_command "${1:-}"
