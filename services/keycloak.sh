#!/usr/bin/env bash
# A real OpenID Connect provider for the single sign-on tests (tests/test_sso16*.py): Keycloak's
# distribution from Maven Central (org.keycloak:keycloak-quarkus-dist), run with the JDK on
# 127.0.0.1 over plain HTTP (loopback only). No installer, no system service, no root needed to
# run it (root only to apt-get Java and Maven on a fresh machine).
#
#   services/keycloak.sh install   fetch the pinned distribution, unpack and build it once
#                                  (idempotent; no Maven when cached)
#   services/keycloak.sh start     install if needed, start in the background with the realm
#                                  services/keycloak/realm.json, wait for its discovery document
#   services/keycloak.sh stop      SIGTERM, then SIGKILL after 30 s
#   services/keycloak.sh status    exit 0 when running and answering, 3 otherwise
#   services/keycloak.sh env       print export lines for the test suite
#
# Settings (environment):
#   EAKTE_KEYCLOAK_PORT        HTTP port on 127.0.0.1 (default 29080)
#   EAKTE_KEYCLOAK_MGMT_PORT   management (health) port on 127.0.0.1 (default 29081)
#   EAKTE_SERVICES_DIR         state root (default <repo>/.services); log, pid and the server's
#                              home (links to the build, its own data/) in <root>/keycloak
#   EAKTE_CACHE_DIR            download, build and Maven repository cache (default /var/cache/eakte)
#   EAKTE_KEYCLOAK_JAVA_OPTS   JVM memory options (default -Xms64m -Xmx512m
#                              -XX:MaxMetaspaceSize=256m)
#
# The database is Keycloak's in-memory H2 (dev-mem): every start imports the realm afresh, so a
# test run begins with the seeded users and no sessions, as with the IMAP server.
set -euo pipefail
EAKTE_LOG_TAG=keycloak
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=26.5.6
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$VERSION:zip"
ZIP="$EAKTE_M2/org/keycloak/keycloak-quarkus-dist/$VERSION/keycloak-quarkus-dist-$VERSION.zip"
# Build-time options (kc.sh build): the build is cached per version and options.
BUILD_OPTIONS=(--db=dev-mem --cache=local --health-enabled=true)

PORT="${EAKTE_KEYCLOAK_PORT:-29080}"
MGMT_PORT="${EAKTE_KEYCLOAK_MGMT_PORT:-29081}"
REALM=jobcenter
CLIENT_ID=eakte
CLIENT_SECRET=eakte-test-oidc-geheimnis
START_TIMEOUT="${EAKTE_KEYCLOAK_START_TIMEOUT:-180}"

src="$EAKTE_SERVICES_SCRIPTS_DIR/keycloak"
STATE="$(state_dir keycloak)"
LOGFILE="$STATE/keycloak.log"
PIDFILE="$STATE/keycloak.pid"
HOME_DIR="$STATE/home"

build_dir() {
    local hash
    hash="$(printf '%s\n' "$VERSION" "${BUILD_OPTIONS[@]}" | sha256sum | cut -c1-12)"
    echo "$EAKTE_CACHE/keycloak/keycloak-$VERSION-$hash"
}

fetch_zip() {
    [[ -f "$ZIP" ]] && return 0
    local mvn=(mvn -B -q -Dmaven.repo.local="$EAKTE_M2" dependency:get -Dartifact="$ARTIFACT"
        -Dtransitive=false)
    log "fetching $ARTIFACT"
    "${mvn[@]}" </dev/null >&2 || die "maven could not fetch $ARTIFACT"
}

# unpack and build into a fresh directory beside the build, which becomes the build whole, so a
# half-finished or concurrent build is never taken for a finished one
build_keycloak() {
    local build="$1" tmp
    [[ -f "$build/lib/quarkus/build-system.properties" ]] && return 0
    fetch_zip
    mkdir -p "$(dirname "$build")"
    tmp="$(mktemp -d "$(dirname "$build")/.build.XXXXXX")"
    unzip -q "$ZIP" -d "$tmp" || { rm -rf "$tmp"; die "could not unpack $ZIP"; }
    log "building Keycloak $VERSION in $build (once)"
    if ! "$tmp/keycloak-$VERSION/bin/kc.sh" build "${BUILD_OPTIONS[@]}" >"$tmp/build.log" 2>&1; then
        cat "$tmp/build.log" >&2
        rm -rf "$tmp"
        die "kc.sh build failed"
    fi
    mv -T "$tmp/keycloak-$VERSION" "$build" 2>/dev/null || [[ -d "$build" ]] || die "no build"
    rm -rf "$tmp"
}

do_install() {
    local build
    build="$(build_dir)"
    [[ -f "$build/lib/quarkus/build-system.properties" ]] && return 0
    need_command java openjdk-17-jre-headless
    need_command mvn maven
    need_command unzip unzip
    with_lock keycloak-build build_keycloak "$build"
    [[ -f "$build/lib/quarkus/build-system.properties" ]] || die "no Keycloak build in $build"
}

discovery() { [[ "$(http_status "$PORT" "/realms/$REALM/.well-known/openid-configuration")" == 200 ]]; }

# The server's home in the state dir: bin/ copied (kc.sh finds its home from where it lies), the
# build's read-only parts linked, data/ (the realm to import, temporary files) its own.
make_home() {
    local build="$1" part
    rm -rf "$HOME_DIR"
    mkdir -p "$HOME_DIR/data/import"
    cp -r "$build/bin" "$HOME_DIR/bin"
    for part in lib conf themes providers version.txt; do
        ln -s "$build/$part" "$HOME_DIR/$part"
    done
    cp "$src/realm.json" "$HOME_DIR/data/import/realm.json"
}

do_start() {
    do_install
    already_serving Keycloak "$PIDFILE" "$PORT" discovery && return 0
    ports_free EAKTE_KEYCLOAK_PORT/EAKTE_KEYCLOAK_MGMT_PORT "$PORT" "$MGMT_PORT"
    make_home "$(build_dir)"
    log "starting Keycloak on 127.0.0.1:$PORT (log $LOGFILE)"
    # setsid: own session, so the server outlives the shell that started it; the inner shell
    # writes its own pid and execs kc.sh, which passes SIGTERM on to Java.
    # Quick to start and small (a test server): the serial collector, C1 only.
    JAVA_OPTS="${EAKTE_KEYCLOAK_JAVA_OPTS:--Xms64m -Xmx512m -XX:MaxMetaspaceSize=256m} \
-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8" \
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
        "$HOME_DIR/bin/kc.sh" start --optimized --import-realm \
        --http-enabled=true --http-host=127.0.0.1 --http-port="$PORT" \
        --http-management-port="$MGMT_PORT" \
        --hostname="http://127.0.0.1:$PORT" --hostname-strict=false \
        </dev/null >>"$LOGFILE" 2>&1 &
    wait_serving Keycloak "$PIDFILE" "$LOGFILE" "$START_TIMEOUT" discovery
    log "ready: http://127.0.0.1:$PORT/realms/$REALM (pid $(cat "$PIDFILE"))"
}

do_stop() {
    stop_pidfile_process "$PIDFILE" Keycloak
}

running_on() { echo "http://127.0.0.1:$PORT/realms/$REALM (pid $(cat "$PIDFILE"), $(build_dir))"; }

do_status() {
    service_status keycloak "$PIDFILE" running_on discovery
}

do_env() {
    echo "export EAKTE_TEST_OIDC_ISSUER=http://127.0.0.1:$PORT/realms/$REALM"
    echo "export EAKTE_TEST_OIDC_CLIENT_ID=$CLIENT_ID"
    echo "export EAKTE_TEST_OIDC_CLIENT_SECRET=$CLIENT_SECRET"
}

run_command "${1:-}"
