#!/usr/bin/env bash
# A real directory server for the directory sign-in tests (tests/test_directory16*.py):
# OpenLDAP's slapd from Debian, run as a process of the calling user on 127.0.0.1 with its own
# configuration (slapd.conf), certificates and database in the state directory. The Debian
# package's own system instance is never configured or started.
#
#   services/slapd.sh install   apt-get slapd and ldap-utils (idempotent; root only when missing)
#   services/slapd.sh start     install if needed, make the CA and server certificate, seed the
#                               tree (services/slapd/seed.ldif) afresh, start, wait for a bind
#   services/slapd.sh stop      SIGTERM, then SIGKILL after 30 s
#   services/slapd.sh status    exit 0 when running and answering, 3 otherwise
#   services/slapd.sh env       print export lines for the test suite
#
# Settings (environment):
#   EAKTE_SLAPD_PORT         ldap:// (StartTLS) port on 127.0.0.1 (default 29389)
#   EAKTE_SLAPD_TLS_PORT     ldaps:// port on 127.0.0.1 (default 29636)
#   EAKTE_SERVICES_DIR       state root (default <repo>/.services); everything in <root>/slapd
#
# Every start seeds the tree again: a test run starts from the same directory, whatever the
# last one changed.
set -euo pipefail
EAKTE_LOG_TAG=slapd
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${EAKTE_SLAPD_PORT:-29389}"
TLS_PORT="${EAKTE_SLAPD_TLS_PORT:-29636}"
BASE="dc=jobcenter,dc=test"
ADMIN_DN="cn=admin,$BASE"
ADMIN_PASSWORD=eakte-test-ldap-admin
SERVICE_DN="cn=eakte-dienst,ou=services,$BASE"
SERVICE_PASSWORD=eakte-test-ldap-dienst
USER_PASSWORD=eakte-test-ldap-passwort
START_TIMEOUT="${EAKTE_SLAPD_START_TIMEOUT:-30}"
SLAPD=/usr/sbin/slapd

STATE="$(state_dir slapd)"
LOGFILE="$STATE/slapd.log"
PIDFILE="$STATE/slapd.pid"
CONF="$STATE/slapd.conf"

do_install() {
    if [ ! -x "$SLAPD" ] && is_root; then
        # The package would configure and start a system slapd of its own; we run ours.
        echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    fi
    apt_install slapd ldap-utils openssl
    [ -x "$SLAPD" ] || die "no $SLAPD after installing slapd"
}

# A CA and a server certificate for 127.0.0.1 and localhost, made once per state directory.
make_certificates() {
    [ -s "$STATE/server.crt" ] && [ -s "$STATE/ca.crt" ] && return 0
    log "making a test CA and server certificate in $STATE"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=E-Akte Test-CA" \
        -keyout "$STATE/ca.key" -out "$STATE/ca.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>>"$LOGFILE"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$STATE/server.key" -out "$STATE/server.csr" 2>>"$LOGFILE"
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        "extendedKeyUsage=serverAuth" >"$STATE/server.ext"
    openssl x509 -req -in "$STATE/server.csr" -CA "$STATE/ca.crt" -CAkey "$STATE/ca.key" \
        -CAcreateserial -days 3650 -extfile "$STATE/server.ext" -out "$STATE/server.crt" \
        2>>"$LOGFILE"
    chmod 600 "$STATE/ca.key" "$STATE/server.key"
}

write_config() {
    cat >"$CONF" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/dyngroup.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload dynlist
pidfile $STATE/slapd.run.pid
argsfile $STATE/slapd.args
TLSCACertificateFile $STATE/ca.crt
TLSCertificateFile $STATE/server.crt
TLSCertificateKeyFile $STATE/server.key

database mdb
suffix "$BASE"
rootdn "$ADMIN_DN"
rootpw $(slappasswd -s "$ADMIN_PASSWORD")
directory $STATE/data
maxsize 104857600
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$BASE"
# memberOf on every person, computed from the groups' member (as Active Directory has it).
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames

# Passwords: only to bind with. Everything else: the service account and the entry itself.
access to dn.base="" by * read
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="$SERVICE_DN" read by self read by * none
CONF
}

seed() {
    rm -rf "$STATE/data"
    mkdir -p "$STATE/data"
    local user_hash service_hash
    user_hash="$(slappasswd -s "$USER_PASSWORD")"
    service_hash="$(slappasswd -s "$SERVICE_PASSWORD")"
    sed -e "s|@PASSWORD@|$user_hash|" -e "s|@SERVICE_PASSWORD@|$service_hash|" \
        "$EAKTE_SERVICES_SCRIPTS_DIR/slapd/seed.ldif" >"$STATE/seed.ldif"
    slapadd -q -f "$CONF" -l "$STATE/seed.ldif" 2>>"$LOGFILE" || { show_log "$LOGFILE"; die "slapadd failed"; }
}

# Answers: the service account binds over StartTLS with the test CA.
binds() {
    LDAPTLS_CACERT="$STATE/ca.crt" ldapwhoami -x -ZZ -H "ldap://127.0.0.1:$PORT" \
        -D "$SERVICE_DN" -w "$SERVICE_PASSWORD" >/dev/null 2>&1
}

do_start() {
    do_install
    already_serving slapd "$PIDFILE" "$PORT" binds && return 0
    ports_free EAKTE_SLAPD_PORT/EAKTE_SLAPD_TLS_PORT "$PORT" "$TLS_PORT"
    : >"$LOGFILE"
    make_certificates
    write_config
    seed
    log "starting slapd on 127.0.0.1:$PORT (StartTLS) and :$TLS_PORT (LDAPS) (log $LOGFILE)"
    # -d: stay in the foreground (no fork), so the pid file holds the server's pid.
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
        "$SLAPD" -d stats -f "$CONF" \
        -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$TLS_PORT/" \
        </dev/null >>"$LOGFILE" 2>&1 &
    wait_serving slapd "$PIDFILE" "$LOGFILE" "$START_TIMEOUT" binds
    log "ready: ldap://127.0.0.1:$PORT ldaps://127.0.0.1:$TLS_PORT (pid $(cat "$PIDFILE"))"
}

do_stop() {
    stop_pidfile_process "$PIDFILE" slapd
}

running_on() { echo "127.0.0.1:$PORT and :$TLS_PORT (pid $(cat "$PIDFILE"), state $STATE)"; }

do_status() {
    service_status slapd "$PIDFILE" running_on binds
}

do_env() {
    echo "export EAKTE_TEST_LDAP_URL=ldap://127.0.0.1:$PORT"
    echo "export EAKTE_TEST_LDAPS_URL=ldaps://127.0.0.1:$TLS_PORT"
    echo "export EAKTE_TEST_LDAP_CA_FILE=$STATE/ca.crt"
    echo "export EAKTE_TEST_LDAP_BASE=$BASE"
    echo "export EAKTE_TEST_LDAP_BIND_DN=$SERVICE_DN"
    echo "export EAKTE_TEST_LDAP_BIND_PASSWORD=$SERVICE_PASSWORD"
    echo "export EAKTE_TEST_LDAP_ADMIN_DN=$ADMIN_DN"
    echo "export EAKTE_TEST_LDAP_ADMIN_PASSWORD=$ADMIN_PASSWORD"
    echo "export EAKTE_TEST_LDAP_USER_PASSWORD=$USER_PASSWORD"
}

run_command "${1:-}"
