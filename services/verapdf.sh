#!/usr/bin/env bash
# veraPDF (PDF/A validator) for the test suite, without its installer: Maven fetches the
# command-line app and its dependencies from Maven Central (services/verapdf/pom.xml), and a
# small wrapper script runs it.
#
#   services/verapdf.sh install   fetch + build the wrapper (idempotent; no Maven when cached)
#   services/verapdf.sh path      print the wrapper's path (installs first if needed)
#   services/verapdf.sh env       print `export EAKTE_VERAPDF=<wrapper>` (installs if needed)
#
# The wrapper takes veraPDF's usual arguments, e.g. `verapdf --flavour 2b --format json F.pdf`.
#
# EAKTE_CACHE_DIR           build + Maven repo cache   (default /var/cache/eakte)
# EAKTE_VERAPDF_JAVA_OPTS   JVM options of the wrapper (default: small heap, quick start)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/verapdf"
cache_root="${EAKTE_CACHE_DIR:-/var/cache/eakte}"
cache="$cache_root/verapdf"
m2="$cache_root/m2"
# The command-line entry point of greenfield-apps (its manifest names the GUI instead).
main_class=org.verapdf.apps.GreenfieldCliWrapper

log() { echo "verapdf: $*" >&2; }

need() { # need COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null && return
    log "installing $2"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$2" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }
}

# Keyed by the hash of the pom and of the wrapper: editing either (e.g. the version) installs
# again, an unchanged checkout never starts Maven at all.
build_dir() {
    local version hash
    version="$(sed -n 's:.*<verapdf.version>\(.*\)</verapdf.version>.*:\1:p' "$src/pom.xml")"
    hash="$({ cat "$src/pom.xml"; declare -f write_wrapper; } | sha256sum | cut -c1-12)"
    echo "$cache/verapdf-$version-$hash"
}

write_wrapper() { # write_wrapper FILE
    cat >"$1" <<EOF
#!/bin/sh
# veraPDF command line, written by services/verapdf.sh. Arguments go to veraPDF.
here="\$(cd "\$(dirname "\$0")" && pwd)"
# veraPDF reads its configuration from \$APPDATA/verapdf/config (else ~/.verapdf/config), then
# from app.home/config (written at install); an APPDATA in here keeps the home directory clean.
APPDATA="\$here/appdata"
export APPDATA
# shellcheck disable=SC2086 # a word list on purpose
exec java \${EAKTE_VERAPDF_JAVA_OPTS:--Xms64m -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \\
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Dapp.home="\$here" \\
    -cp "\$here/jars/*" $main_class "\$@"
EOF
    chmod 755 "$1"
}

cmd_install() {
    local build tmp
    build="$(build_dir)"
    [[ -x "$build/verapdf" ]] && return 0
    need java openjdk-17-jdk-headless
    need mvn maven
    mkdir -p "$cache" "$m2"
    # Assembled outside the repo and moved in whole, so a half-finished or concurrent install
    # is never mistaken for a finished one.
    tmp="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf "$tmp"; trap - RETURN' RETURN
    cp "$src/pom.xml" "$tmp/"
    log "fetching veraPDF into $build"
    local mvn=(mvn -B -q -Dmaven.repo.local="$m2" -f "$tmp/pom.xml" package)
    # Offline first: with a warm Maven repo this needs no network at all.
    if ! "${mvn[@]}" -o >"$tmp/mvn.log" 2>&1 && ! "${mvn[@]}" >"$tmp/mvn.log" 2>&1; then
        cat "$tmp/mvn.log" >&2
        log "maven failed"
        return 1
    fi
    mkdir -p "$tmp/out"
    mv "$tmp/target/jars" "$tmp/out/"
    write_wrapper "$tmp/out/verapdf"
    # One run writes veraPDF's default configuration, so later runs (the tests, in parallel)
    # only read it; it also proves that the jars and the main class fit together.
    if ! "$tmp/out/verapdf" --version >"$tmp/version.log" 2>&1; then
        cat "$tmp/version.log" >&2
        log "the fetched veraPDF does not start"
        return 1
    fi
    log "$(head -n 1 "$tmp/version.log")"
    mv -T "$tmp/out" "$build" 2>/dev/null || [[ -x "$build/verapdf" ]]
}

case "${1:-}" in
    install) cmd_install ;;
    path) cmd_install && echo "$(build_dir)/verapdf" ;;
    env) cmd_install && echo "export EAKTE_VERAPDF=$(build_dir)/verapdf" ;;
    *) echo "usage: $0 install|path|env" >&2; exit 2 ;;
esac
