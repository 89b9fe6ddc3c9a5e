#!/usr/bin/env bash
# Installs what the product needs on Debian 12, as root: system packages and the Python
# environment (.venv, locked by uv.lock). Idempotent; downloads are cached in $EAKTE_CACHE_DIR.
#   scripts/setup.sh          what the product needs to run
#   scripts/setup.sh --dev    and what the tests need
#   scripts/setup.sh --bench  and what the benchmarks in bench/ compare with (OCRmyPDF)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${EAKTE_CACHE_DIR:-/var/cache/eakte}"
uv_version="0.13.8"
dev=0
bench=0
[ "${1:-}" = "--dev" ] && dev=1
[ "${1:-}" = "--bench" ] && dev=1 && bench=1

# wngerman: the German word list (igerman98, GPL-2) compound words are split against
# (search/compounds.py).
packages=(tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng poppler-utils curl ca-certificates fonts-dejavu-core wngerman)
# The test services are built or started from these; installed here, before the service
# scripts run side by side, so that only one apt-get ever runs at a time.
[ "$dev" = 1 ] && packages+=(postgresql util-linux procps chromium fonts-urw-base35)
# Java and Maven: OpenSearch, veraPDF and the IMAP server (GreenMail) come from Maven Central.
[ "$dev" = 1 ] && packages+=(openjdk-17-jdk-headless maven)
[ "$bench" = 1 ] && packages+=(ghostscript time)
# npm installs what the browser tests load into the pages (axe-core, package-lock.json).
[ "$dev" = 1 ] && ! command -v npm >/dev/null && packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done

# The project runs on CPython 3.11; Debian 12's python3 is 3.11.
python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    python="$(command -v "$candidate")"
    break
  fi
done
[ -n "$python" ] || missing+=(python3 python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$python" ] || python="$(command -v python3)"
fi

mkdir -p "$cache"
uv="$cache/uv-$uv_version/bin/uv"
if [ ! -x "$uv" ]; then
  echo "setup: installing uv $uv_version"
  "$python" -m venv "$cache/uv-$uv_version"
  "$cache/uv-$uv_version/bin/pip" install -q --disable-pip-version-check "uv==$uv_version"
fi

export UV_CACHE_DIR="$cache/uv" UV_SYSTEM_CERTS=1 UV_PYTHON="$python" UV_PYTHON_DOWNLOADS=never
cd "$repo"
if [ "$bench" = 1 ]; then
  "$uv" sync --frozen --quiet --group bench
elif [ "$dev" = 1 ]; then
  "$uv" sync --frozen --quiet
else
  "$uv" sync --frozen --quiet --no-dev
fi
if [ "$dev" = 1 ]; then
  # axe-core for the accessibility tests, from package-lock.json into the cache; the tests find
  # it there through $EAKTE_CACHE_DIR (tests/support_browser.py).
  node_dir="$cache/node"
  if ! cmp -s package-lock.json "$node_dir/package-lock.json" || [ ! -f "$node_dir/node_modules/axe-core/axe.min.js" ]; then
    echo "setup: installing the browser tests' npm packages"
    mkdir -p "$node_dir"
    cp package.json package-lock.json "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
echo "setup: ready ($("$repo/.venv/bin/python" --version), $(tesseract --version 2>&1 | head -1))"
