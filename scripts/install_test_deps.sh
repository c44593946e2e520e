#!/usr/bin/env bash
# Install what the test suite needs beyond the Python environment: headless Chromium (Debian) for the
# real-browser caption tests, Node packages (W3C webvtt-parser) for caption validation.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -q
  $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
if [ -f tests/js/package-lock.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --silent)
fi
