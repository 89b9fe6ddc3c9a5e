# shellcheck shell=bash
# Shared helpers for the local test-service scripts in services/.
# Sourced (not executed) by the service scripts in services/.
#
# Conventions:
#   repo             = parent directory of services/
#   state dir        = ${EAKTE_SERVICES_DIR:-$repo/.services}/<name>  (data, log, pid)
#   cache dir        = ${EAKTE_CACHE_DIR:-/var/cache/eakte}           (downloads, builds; kept)
#   Go caches        = $EAKTE_CACHE_DIR/go/{pkg/mod,cache}
#   built binaries   = $EAKTE_CACHE_DIR/bin
#   Maven repository = $EAKTE_CACHE_DIR/m2

EAKTE_SERVICES_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EAKTE_REPO="$(cd "$EAKTE_SERVICES_SCRIPTS_DIR/.." && pwd)"
EAKTE_STATE_ROOT="${EAKTE_SERVICES_DIR:-$EAKTE_REPO/.services}"
EAKTE_CACHE="${EAKTE_CACHE_DIR:-/var/cache/eakte}"
EAKTE_BIN_CACHE="$EAKTE_CACHE/bin"
EAKTE_M2="$EAKTE_CACHE/m2"   # the Maven repository the Java services are fetched into

export DEBIAN_FRONTEND=noninteractive

_eakte_tag="${EAKTE_LOG_TAG:-services}"

log() { printf '[%s] %s\n' "$_eakte_tag" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$_eakte_tag" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# state_dir NAME -> creates and prints the per-service state directory
state_dir() {
    local d="$EAKTE_STATE_ROOT/$1"
    mkdir -p "$d"
    (cd "$d" && pwd)
}

# apt_install PKG... : install Debian packages that are not yet installed.
# Runs `apt-get update` at most once per script run, and only when needed.
_EAKTE_APT_UPDATED=0
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    is_root || die "need root to apt-get install ${missing[*]}"
    if [ "$_EAKTE_APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -q >&2 || die "apt-get update failed"
        _EAKTE_APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2 \
        || die "apt-get install ${missing[*]} failed"
}

# go_setup: put a Go toolchain on PATH and point all Go caches into the cache dir.
go_setup() {
    if ! command -v go >/dev/null 2>&1; then
        if [ -x /usr/local/go/bin/go ]; then
            PATH="/usr/local/go/bin:$PATH"
        else
            die "no Go toolchain found (need Go >= 1.24; install it at /usr/local/go)"
        fi
    fi
    export GOPATH="$EAKTE_CACHE/go"
    export GOMODCACHE="$EAKTE_CACHE/go/pkg/mod"
    export GOCACHE="$EAKTE_CACHE/go/cache"
    # -modcacherw: keep the module cache deletable with plain rm -rf.
    export GOFLAGS="-buildvcs=false -modcacherw"
    export CGO_ENABLED="${CGO_ENABLED:-0}"
    mkdir -p "$GOMODCACHE" "$GOCACHE" "$EAKTE_BIN_CACHE"
}

# with_lock NAME CMD... : run CMD while holding an exclusive lock in the cache dir
# (so two concurrent runs do not build the same thing twice).
with_lock() {
    local name="$1"; shift
    mkdir -p "$EAKTE_CACHE"
    (
        flock -w 1800 9 || die "timed out waiting for lock $name"
        "$@"
    ) 9>"$EAKTE_CACHE/.lock-$name"
}

# pid_alive PIDFILE : true when the pid in PIDFILE is a live process
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid="$(head -n1 "$1" 2>/dev/null)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # a zombie (exited, not yet reaped) is not alive
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# port_open PORT [HOST] : true when something accepts TCP connections there
port_open() {
    (exec 2>/dev/null; exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1")
}

# http_status PORT PATH : prints the HTTP status code of GET http://127.0.0.1:PORT/PATH
# (pure bash, no curl needed); prints 000 on connection failure.
http_status() {
    local port="$1" path="$2" line code
    code="$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo 000; exit 0; }
        printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
        IFS= read -r -t 5 line <&3 || { echo 000; exit 0; }
        read -r _ line _ <<<"$line"   # "HTTP/1.1 200 OK" -> 200
        echo "${line:-000}"
    )"
    echo "${code:-000}"
}

# wait_until TIMEOUT_S DESCRIPTION CMD... : poll CMD every 0.5 s until it succeeds
wait_until() {
    local timeout="$1" what="$2" deadline; shift 2
    deadline=$(( $(date +%s) + timeout ))
    while ! "$@"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

# show_log FILE [N] : print the last N lines of a log to stderr
show_log() {
    local f="$1" n="${2:-30}"
    [ -f "$f" ] || return 0
    log "--- last $n lines of $f ---"
    tail -n "$n" "$f" >&2 || true
    log "--- end of log ---"
}

# stop_pidfile_process PIDFILE LABEL: TERM the process a start wrote into PIDFILE, KILL it after
# 30 s, and forget the file. A stale or missing file only says "not running".
stop_pidfile_process() {
  local pidfile="$1" label="$2" pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  pid="$(head -n1 "$pidfile")"
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until 30 "$label pid $pid to exit" bash -c '! kill -0 "$0" 2>/dev/null' "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "stopped"
}

# need_command CMD DEBIAN_PACKAGE : install the package when CMD is not on PATH
need_command() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

# cache_build_dir DIR NAME POM VERSION_TAG : prints DIR/NAME-<version>-<hash>, the version read
# from <VERSION_TAG> in POM and the hash taken of stdin (what the build is made of), so a changed
# source builds again and an unchanged checkout never starts Maven.
cache_build_dir() {
    local version hash
    version="$(sed -n "s:.*<$4>\(.*\)</$4>.*:\1:p" "$3")"
    hash="$(sha256sum | cut -c1-12)"
    echo "$1/$2-$version-$hash"
}

# maven_package DIR : `mvn package` of DIR/pom.xml with the Maven repository EAKTE_M2, offline
# first (with a warm repository this needs no network at all); on failure prints Maven's output
# and returns 1.
maven_package() {
    local mvn=(mvn -B -q -Dmaven.repo.local="$EAKTE_M2" -f "$1/pom.xml" package)
    if ! "${mvn[@]}" -o </dev/null >"$1/mvn.log" 2>&1 &&
        ! "${mvn[@]}" </dev/null >"$1/mvn.log" 2>&1; then
        cat "$1/mvn.log" >&2
        return 1
    fi
}

# maven_build BUILD ASSEMBLE SOURCE... : build BUILD with Maven: the SOURCEs (pom.xml among
# them) are copied into a fresh directory beside BUILD and packaged (maven_package), ASSEMBLE DIR
# puts the result into DIR/out, and DIR/out becomes BUILD whole, so a half-finished or
# concurrent build is never mistaken for a finished one. Returns 1 when a step fails.
maven_build() {
    local build="$1" assemble="$2" tmp status=0; shift 2
    mkdir -p "$(dirname "$build")" "$EAKTE_M2"
    tmp="$(mktemp -d "$(dirname "$build")/.build.XXXXXX")"
    cp -r "$@" "$tmp/"
    log "building $build"
    if maven_package "$tmp" && "$assemble" "$tmp"; then
        mv -T "$tmp/out" "$build" 2>/dev/null || [[ -d "$build" ]] || status=1
    else
        status=1
    fi
    rm -rf "$tmp"
    return "$status"
}

# already_serving LABEL PIDFILE PORT CHECK... : true (and says so) when the process in PIDFILE
# runs and CHECK succeeds; a process that runs but does not answer is stopped. Returns 1, with
# the pid file gone, when the server is to be started.
already_serving() {
    local label="$1" pidfile="$2" port="$3"; shift 3
    if serving "$pidfile" "$@"; then
        log "already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
        return 0
    fi
    if pid_alive "$pidfile"; then
        log "process $(cat "$pidfile") is up but does not answer; restarting it"
        stop_pidfile_process "$pidfile" "$label"
    fi
    rm -f "$pidfile"
    return 1
}

# ports_free HINT PORT... : dies when another process listens on one of the ports (HINT names
# the settings that move them)
ports_free() {
    local hint="$1" p; shift
    for p in "$@"; do
        if port_open "$p"; then
            die "port 127.0.0.1:$p is in use by another process; set $hint"
        fi
    done
}

# wait_serving LABEL PIDFILE LOGFILE TIMEOUT_S CHECK... : wait until CHECK succeeds for the
# server just started in the background (its pid in PIDFILE). Dies with the log's tail when the
# process exits, when it does not answer within TIMEOUT_S (it is stopped then), or when what
# answers is not our process (the port taken by someone else).
wait_serving() {
    local label="$1" pidfile="$2" logfile="$3" timeout="$4" deadline; shift 4
    deadline=$(( $(date +%s) + timeout ))
    until "$@"; do
        if [ -s "$pidfile" ] && ! pid_alive "$pidfile"; then
            show_log "$logfile" 40
            rm -f "$pidfile"
            die "$label exited during startup"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            show_log "$logfile" 40
            stop_pidfile_process "$pidfile" "$label" || true
            die "$label did not answer within ${timeout}s"
        fi
        sleep 0.5
    done
    if ! pid_alive "$pidfile"; then
        show_log "$logfile" 40
        die "$label answered but our process is not running (port taken by someone else?)"
    fi
}

# serving PIDFILE CHECK... : true when the process in PIDFILE runs and CHECK succeeds
serving() {
    pid_alive "$1" && "${@:2}"
}

# service_status NAME PIDFILE DETAILS CHECK... : "NAME: running on <what DETAILS prints>" and
# status 0 when the service is serving, else "NAME: not running" and 3
service_status() {
    local name="$1" pidfile="$2" details="$3"; shift 3
    serving "$pidfile" "$@" || { echo "$name: not running"; return 3; }
    echo "$name: running on $("$details")"
}

# run_command COMMAND : the service scripts' commands, each a do_<command> function of the
# sourcing script
run_command() {
    case "${1:-}" in
        install | start | stop | status | env) "do_$1" ;;
        *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
    esac
}
