#!/usr/bin/env bash
# Sets everything up on Debian 12 as root and runs the product on its embedded default:
# SQLite, blob files and search index under $EAKTE_DATA_DIR (./data), demo data from
# ../shared/samples on first start, workers running; prints the URL and the demo logins.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/setup.sh"
cd "$repo"
# Scanners (or anyone) can drop files here; accepted ones move to its folder erledigt/.
export EAKTE_HOT_FOLDER="${EAKTE_HOT_FOLDER:-${EAKTE_DATA_DIR:-data}/eingang}"
exec .venv/bin/eakte serve --demo --host "${EAKTE_HOST:-127.0.0.1}" --port "${EAKTE_PORT:-8000}"
