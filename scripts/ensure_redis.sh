#!/usr/bin/env bash
# Makes sure a redis-server binary exists for the tests: the tests start throwaway servers of
# their own (and use REDIS_URL when it answers). Debian's package when apt works, else the
# pip-installable bundled server in the project's virtualenv.
set -euo pipefail
venv="${1:-.venv}"
if command -v redis-server >/dev/null 2>&1 || [ -x "$venv/bin/redis-server" ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server) >/dev/null 2>&1; then
    exit 0
  fi
fi
"$venv/bin/pip" install -q redis-server
bundled="$("$venv/bin/python" -c 'import redis_server; print(redis_server.REDIS_SERVER_PATH)')"
ln -sf "$bundled" "$venv/bin/redis-server"
