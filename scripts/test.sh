#!/usr/bin/env bash
# Sets everything up on Debian 12 as root, starts the real services (PostgreSQL, MinIO,
# OpenSearch, an IMAP server, an LDAP directory, an OpenID Connect provider) on 127.0.0.1,
# and runs the whole test suite against them. Extra arguments go to pytest, e.g.
# `scripts/test.sh -m "not slow"` or
# `scripts/test.sh tests/test_api.py`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
started=$(date +%s)
services=(postgres minio opensearch)

# Outside the checkout, so that the postgres user can reach its cluster wherever CI clones.
export EAKTE_SERVICES_DIR="${EAKTE_SERVICES_DIR:-/var/tmp/eakte-services}"

bash scripts/setup.sh --dev

stop_services() {
  for service in "${services[@]}" imap slapd keycloak cluster; do
    bash "services/$service.sh" stop >/dev/null 2>&1 || true
  done
}
trap stop_services EXIT
# Every run starts from empty services; only the downloads and builds are kept.
stop_services
rm -rf "$EAKTE_SERVICES_DIR"
mkdir -p "$EAKTE_SERVICES_DIR"

# Builds and starts run side by side; together they take as long as the slowest.
declare -A pids
for service in "${services[@]}"; do
  bash "services/$service.sh" start >"$EAKTE_SERVICES_DIR/$service-start.log" 2>&1 &
  pids[$service]=$!
done
bash services/compose-check.sh install >"$EAKTE_SERVICES_DIR/compose-install.log" 2>&1 &
pids[compose]=$!
failed=0
for name in "${services[@]}" compose; do
  if ! wait "${pids[$name]}"; then
    echo "test: $name failed:" >&2
    cat "$EAKTE_SERVICES_DIR/$name"-*.log >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
for service in "${services[@]}"; do
  eval "$(bash "services/$service.sh" env)"
done
# run_step LOG COMMAND...: a service step after the parallel block, its log shown on failure.
# These run one after the other, so that two Maven runs never fill the shared Maven cache at
# the same time; warm, each takes a few seconds (Keycloak half a minute).
run_step() {
  local log="$EAKTE_SERVICES_DIR/$1.log"
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
}
# veraPDF (Maven Central) checks the PDF/A documents.
run_step verapdf-install bash services/verapdf.sh install
eval "$(bash services/verapdf.sh env)"
# The IMAP server of the mailbox tests (GreenMail, Maven Central), the directory of the
# sign-in tests (OpenLDAP slapd from Debian, seeded afresh) and the OpenID Connect provider of
# the single sign-on tests (Keycloak, Maven Central).
for service in imap slapd keycloak; do
  run_step "$service-start" bash "services/$service.sh" start
  eval "$(bash "services/$service.sh" env)"
done
echo "test: services ready after $(( $(date +%s) - started )) s"

# The production deployment must stay a valid compose file; secrets are placeholders here.
EAKTE_SECRET_KEY=check POSTGRES_PASSWORD=check POSTGRES_OWNER_PASSWORD=check \
  POSTGRES_APP_PASSWORD=check MINIO_ROOT_USER=check MINIO_ROOT_PASSWORD=check \
  MINIO_APP_USER=check MINIO_APP_PASSWORD=check OPENSEARCH_APP_PASSWORD=check \
  bash services/compose-check.sh check
# The clustered deployment (issue 20) is the same file with its override, checked merged.
EAKTE_SECRET_KEY=check POSTGRES_PASSWORD=check POSTGRES_OWNER_PASSWORD=check \
  POSTGRES_APP_PASSWORD=check MINIO_ROOT_USER=check MINIO_ROOT_PASSWORD=check \
  MINIO_APP_USER=check MINIO_APP_PASSWORD=check OPENSEARCH_APP_PASSWORD=check \
  POSTGRES_REPLICATION_PASSWORD=check \
  bash services/compose-check.sh check docker-compose.yml docker-compose.cluster.yml
echo "test: docker-compose.yml and docker-compose.cluster.yml are valid"

# Style is checked before the tests, so that a failing lint shows next to the tests' result.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The layers read left to right (pyproject.toml [tool.importlinter]); the types hold.
.venv/bin/lint-imports
.venv/bin/mypy

set +e
if [ "$#" -eq 0 ]; then
  # The whole suite; the cluster drills (marker `cluster`) run on their own stack below.
  .venv/bin/python -m pytest -m "not cluster"
else
  .venv/bin/python -m pytest "$@"
fi
status=$?
set -e
echo "test: suite finished after $(( $(date +%s) - started )) s"

# The failure drills of issue 20 on the clustered stack (services/cluster.sh: three OpenSearch
# nodes, four MinIO processes, a PostgreSQL primary with a streaming replica), after the
# single-node services are stopped to give it their memory. Only on a whole run.
if [ "$#" -eq 0 ]; then
  stop_services
  cluster_started=$(date +%s)
  run_step cluster-start bash services/cluster.sh start
  eval "$(bash services/cluster.sh env)"
  set +e
  .venv/bin/python -m pytest -m cluster tests/test_cluster20.py
  cluster_status=$?
  set -e
  bash services/cluster.sh stop >/dev/null 2>&1 || true
  echo "test: cluster drills took $(( $(date +%s) - cluster_started )) s"
  [ "$status" != 0 ] || status=$cluster_status
fi
echo "test: finished in $(( $(date +%s) - started )) s"
exit "$status"
