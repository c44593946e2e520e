#!/usr/bin/env bash
# Install what the test suite needs beyond the Python environment: headless Chromium (Debian) for the
# real-browser caption and web page tests, Node packages pinned in tests/js/package-lock.json (W3C webvtt-parser
# for caption validation, hls.js for the HLS player test, axe-core for the web page's accessibility check) and
# ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
# chromium: real-browser caption tests; espeak-ng: real synthetic speech for the dialogue tests;
# ffmpeg: HLS video renditions packaged as video platforms do (ffmpeg -f hls) for the HLS subtitle tests.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
# redis-server and postgresql: real servers for the distributed job backend's tests (tests/servers.py starts
# throw-away instances on loopback ports; nothing needs to be running).
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi
if [ -f tests/js/package-lock.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --silent)
fi
