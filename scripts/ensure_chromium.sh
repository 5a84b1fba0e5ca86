#!/usr/bin/env bash
# Makes sure a Chromium exists for the dashboard's browser tests: Debian's package (playwright drives
# it and never downloads a browser of its own). Installs it with apt when run as root.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  exit 0
fi
echo "Chromium is needed by the dashboard tests: install it (Debian: apt-get install chromium)" >&2
exit 1
