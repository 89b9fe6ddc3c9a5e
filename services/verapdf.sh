#!/usr/bin/env bash
# veraPDF (PDF/A and PDF/UA validator) for the test suite, without its installer: Maven
# fetches the command-line app and its dependencies from Maven Central
# (services/verapdf/pom.xml), and a small wrapper script runs it.
#
#   services/verapdf.sh install   fetch + build the wrapper (idempotent; no Maven when cached)
#   services/verapdf.sh path      print the wrapper's path (installs first if needed)
#   services/verapdf.sh env       print `export EAKTE_VERAPDF=<wrapper>` (installs if needed)
#
# The wrapper takes veraPDF's usual arguments, e.g. `verapdf --flavour 2b --format json F.pdf`
# (PDF/A-2b) or `--flavour ua1` (PDF/UA-1, tests/test_pdfua.py).
#
# EAKTE_CACHE_DIR           build + Maven repo cache   (default /var/cache/eakte)
# EAKTE_VERAPDF_JAVA_OPTS   JVM options of the wrapper (default: small heap, quick start)
set -euo pipefail
EAKTE_LOG_TAG=verapdf
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="$EAKTE_SERVICES_SCRIPTS_DIR/verapdf"
cache="$EAKTE_CACHE/verapdf"
# The command-line entry point of greenfield-apps (its manifest names the GUI instead).
main_class=org.verapdf.apps.GreenfieldCliWrapper

# Keyed by the hash of the pom and of the wrapper: editing either (e.g. the version) installs
# again, an unchanged checkout never starts Maven at all.
build_dir() {
    { cat "$src/pom.xml"; declare -f write_wrapper; } |
        cache_build_dir "$cache" verapdf "$src/pom.xml" verapdf.version
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

verapdf_out() { # verapdf_out DIR: the fetched jars and the wrapper into DIR/out
    mkdir -p "$1/out"
    mv "$1/target/jars" "$1/out/"
    write_wrapper "$1/out/verapdf"
    # One run writes veraPDF's default configuration, so later runs (the tests, in parallel)
    # only read it; it also proves that the jars and the main class fit together.
    if ! "$1/out/verapdf" --version >"$1/version.log" 2>&1; then
        cat "$1/version.log" >&2
        log "the fetched veraPDF does not start"
        return 1
    fi
    log "$(head -n 1 "$1/version.log")"
}

cmd_install() {
    local build
    build="$(build_dir)"
    [[ -x "$build/verapdf" ]] && return 0
    need_command java openjdk-17-jdk-headless
    need_command mvn maven
    # Assembled outside the repo.
    maven_build "$build" verapdf_out "$src/pom.xml" || {
        log "maven failed"
        return 1
    }
}

case "${1:-}" in
    install) cmd_install ;;
    path) cmd_install && echo "$(build_dir)/verapdf" ;;
    env) cmd_install && echo "export EAKTE_VERAPDF=$(build_dir)/verapdf" ;;
    *) echo "usage: $0 install|path|env" >&2; exit 2 ;;
esac
