#!/usr/bin/env bash
# Validate the repo's docker-compose.yml with `docker compose config` -- no Docker engine needed.
#
#   services/compose-check.sh [check] [FILE...] install if needed, then
#                                              `docker compose -f FILE... config --quiet`
#                                              (FILE defaults to <repo>/docker-compose.yml;
#                                              several: a file with its overrides, merged)
#   services/compose-check.sh install          make `docker compose` (the v2 CLI plugin) available
#   services/compose-check.sh status           say which compose implementation would be used
#   services/compose-check.sh env              print nothing (no environment for tests)
#
# The Compose v2 plugin is built with Go from the module proxy (pinned version below).
# `go install github.com/docker/compose/v2/cmd@VERSION` is refused because compose's go.mod
# has `exclude` directives, so the module is downloaded with `go mod download` and built
# inside its own module directory (where it is the main module). Cold build ~3.5-5 min on
# 2 cores; the binary is cached as $EAKTE_CACHE_DIR/bin/docker-compose-<version> and
# symlinked to ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose.
# Without a `docker` CLI the cached binary is run directly (it works standalone).
# Last resort (Go build failed): Debian's docker-compose v1 package (`docker-compose config -q`).
set -euo pipefail
EAKTE_LOG_TAG=compose-check
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

COMPOSE_MODULE=github.com/docker/compose/v2
# v2.40.3 is the newest v2 release; v5.x needs a newer Go (go.mod says go 1.26.10).
COMPOSE_VERSION=v2.40.3
COMPOSE_BIN="$EAKTE_BIN_CACHE/docker-compose-$COMPOSE_VERSION"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

build_compose() {
    [ -x "$COMPOSE_BIN" ] && return 0   # built by a concurrent run while we waited
    go_setup
    local dir tmp start
    start=$(date +%s)
    log "downloading $COMPOSE_MODULE@$COMPOSE_VERSION"
    # The module directory (read-only in the module cache) is the build root.
    dir="$(cd "$EAKTE_CACHE" && go mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    { [ -n "$dir" ] && [ -f "$dir/go.mod" ]; } || die "go mod download $COMPOSE_MODULE@$COMPOSE_VERSION failed"
    tmp="$(mktemp "$EAKTE_BIN_CACHE/.docker-compose-build.XXXXXX")"
    log "building docker-compose $COMPOSE_VERSION with $(go version | awk '{print $3}') (cold: ~3.5-5 min)"
    if ! (cd "$dir" && go build -mod=readonly -trimpath \
            -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
            -o "$tmp" ./cmd) >"$tmp.log" 2>&1; then
        tail -n 40 "$tmp.log" >&2
        rm -f "$tmp" "$tmp.log"
        return 1
    fi
    chmod 755 "$tmp"
    mv -f "$tmp" "$COMPOSE_BIN"
    rm -f "$tmp.log"
    log "built $COMPOSE_BIN in $(( $(date +%s) - start ))s"
}

have_docker() { command -v docker >/dev/null 2>&1; }

plugin_works() {
    have_docker && docker compose version >/dev/null 2>&1
}

link_plugin() {
    have_docker || return 0
    mkdir -p "$PLUGIN_DIR"
    ln -sfn "$COMPOSE_BIN" "$PLUGIN_DIR/docker-compose"
}

# Prints which implementation `check` uses: plugin | standalone | v1
implementation() {
    if plugin_works; then echo plugin
    elif [ -x "$COMPOSE_BIN" ]; then echo standalone
    elif command -v docker-compose >/dev/null 2>&1; then echo v1
    else return 1
    fi
}

do_install() {
    # A working plugin whose version differs from the pin (e.g. a real Docker install) is fine.
    if plugin_works; then return 0; fi
    if [ ! -x "$COMPOSE_BIN" ]; then
        if ! with_lock compose-build build_compose; then
            log "building the Compose v2 plugin failed; falling back to Debian's docker-compose (v1)"
            apt_install docker-compose
            command -v docker-compose >/dev/null 2>&1 || die "no docker compose implementation available"
            return 0
        fi
    fi
    link_plugin
    if have_docker && ! plugin_works; then
        log "note: docker CLI does not pick up $PLUGIN_DIR/docker-compose; will run $COMPOSE_BIN directly"
    fi
}

do_check() {  # FILE...: one compose file, or a file and its overrides (checked merged)
    local files=("$@") args=() file
    [ "${#files[@]}" -gt 0 ] || files=("$EAKTE_REPO/docker-compose.yml")
    for file in "${files[@]}"; do
        [ -f "$file" ] || die "compose file not found: $file"
        args+=(-f "$file")
    done
    do_install
    local impl
    impl="$(implementation)" || die "no docker compose implementation available"
    log "validating ${files[*]} ($impl)"
    case "$impl" in
        plugin) docker compose "${args[@]}" config --quiet ;;
        standalone) "$COMPOSE_BIN" "${args[@]}" config --quiet ;;
        v1) docker-compose "${args[@]}" config -q ;;
    esac || die "${files[*]} is not a valid compose file"
    log "OK: ${files[*]}"
}

do_status() {
    local impl
    if impl="$(implementation)"; then
        case "$impl" in
            plugin) echo "compose: $(docker compose version) (docker compose plugin)" ;;
            standalone) echo "compose: $("$COMPOSE_BIN" version) (standalone $COMPOSE_BIN)" ;;
            v1) echo "compose: $(docker-compose version --short 2>/dev/null) (Debian docker-compose v1)" ;;
        esac
        return 0
    fi
    echo "compose: not installed"
    return 3
}

case "${1:-check}" in
    check) shift || true; do_check "$@" ;;
    install) do_install ;;
    status) do_status ;;
    env|start|stop) : ;;
    *) echo "usage: $0 [check [FILE...]]|install|status|env" >&2; exit 2 ;;
esac
