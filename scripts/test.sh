#!/usr/bin/env bash
# Sets everything up on Debian 12 as root, starts the real services (PostgreSQL, MinIO,
# OpenSearch) on 127.0.0.1, and runs the whole test suite against them. Extra arguments go
# to pytest, e.g. `scripts/test.sh -m "not slow"` or `scripts/test.sh tests/test_api.py`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
started=$(date +%s)
services=(postgres minio opensearch)

bash scripts/setup.sh --dev

stop_services() {
  for service in "${services[@]}"; do
    bash "services/$service.sh" stop >/dev/null 2>&1 || true
  done
}
trap stop_services EXIT

# The three build and start independently; side by side they take as long as the slowest.
mkdir -p .services
declare -A pids
for service in "${services[@]}"; do
  bash "services/$service.sh" start >".services/$service-start.log" 2>&1 &
  pids[$service]=$!
done
failed=0
for service in "${services[@]}"; do
  if ! wait "${pids[$service]}"; then
    echo "test: $service did not start:" >&2
    cat ".services/$service-start.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
for service in "${services[@]}"; do
  eval "$(bash "services/$service.sh" env)"
done
echo "test: services ready after $(( $(date +%s) - started )) s"

bash services/compose-check.sh

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
echo "test: finished in $(( $(date +%s) - started )) s"
exit "$status"
