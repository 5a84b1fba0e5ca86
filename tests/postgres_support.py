"""Real PostgreSQL for tests: the one at POSTGRES_URL (or 127.0.0.1:5432 as postgres) when it answers, else a
throwaway cluster (initdb + pg_ctl from /usr/lib/postgresql/*/bin) in a temporary directory.

`make test` makes sure the server binaries exist (scripts/ensure_postgres.sh). Tests share a server but never
each other's tables: each takes a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support import free_port, require_mark, wait_until_sync

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def answers(url: str) -> bool:
    """Returns whether PostgreSQL at url accepts a connection and a query."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError):
        return False


def server_bin(name: str) -> str:
    """Returns the path of a PostgreSQL server program (initdb, pg_ctl), the newest installed."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise AssertionError(f"no {name}: run `make test` (scripts/ensure_postgres.sh installs PostgreSQL)")
    return candidates[-1]


class PostgresServer:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port, trusting local connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._dir = Path(tempfile.mkdtemp(prefix="switchyard-pg-"))
        self._data = self._dir / "data"
        self._started = False

    def _run(self, *args: str) -> None:
        # PostgreSQL refuses to run as root: as root, the cluster belongs to (and runs as) "postgres".
        prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres")
            prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> PostgresServer:
        require_mark("starts a PostgreSQL server", "postgres")
        if not self._data.exists():
            self._run(server_bin("initdb"), "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            server_bin("pg_ctl"), "-D", str(self._data), "-o", options, "-w", "-l", str(self._dir / "log"), "start"
        )
        self._started = True
        wait_until_sync(lambda: answers(self.url), timeout=30, what=f"PostgreSQL on port {self.port}")
        return self

    def stop(self) -> None:
        """Stops the server at once (mode immediate: what an outage looks like to its clients)."""
        if self._started:
            self._run(server_bin("pg_ctl"), "-D", str(self._data), "-m", "immediate", "-w", "stop")
            self._started = False

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server that this test alone owns and may stop and start again."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def shared_postgres() -> Iterator[str]:
    """The URL of POSTGRES_URL's server (else the local one on 5432) when it answers, else of a throwaway one."""
    require_mark("uses PostgreSQL", "postgres")
    url = os.environ.get("POSTGRES_URL", "") or LOCAL
    if answers(url):
        yield url
        return
    with throwaway_postgres() as server:
        yield server.url


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server at server_url, dropped afterwards."""
    name = f"sytest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
