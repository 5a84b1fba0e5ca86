#!/usr/bin/env bash
# Makes sure PostgreSQL's server programs exist for the tests: they use POSTGRES_URL (or 127.0.0.1:5432 as
# postgres) when it answers, else start a throwaway cluster of their own with initdb and pg_ctl
# (tests/postgres_support.py). Debian's package brings both and the `postgres` user they run as under root.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && id postgres >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  exit 0
fi
echo "ensure_postgres: no PostgreSQL server programs and no apt-get as root; install PostgreSQL" >&2
exit 1
