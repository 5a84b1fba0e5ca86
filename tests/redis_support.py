"""Real Redis for tests: the one at REDIS_URL when it answers, else a throwaway redis-server.

`make test` makes sure a redis-server binary exists (scripts/ensure_redis.sh), so nothing here skips.
Tests share a server but never each other's keys: each takes its own key prefix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support import free_port, require_mark, wait_until_sync


def answers(url: str) -> bool:
    """Returns whether a Redis server answers PING at url."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def server_binary() -> str:
    """Returns the redis-server to start: on PATH, or the bundled one beside this interpreter."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path=str(Path(sys.executable).parent))
    if found is None:
        raise AssertionError("no redis-server: run `make test` (scripts/ensure_redis.sh installs one)")
    return found


class RedisServer:
    """A redis-server process of our own on a free port, keeping nothing on disk.

    With persist, it keeps an append-only file fsynced on every write (in its own directory, kept
    across restarts): what it acknowledged survives being killed. extra are more redis-server options
    (a cluster node's, a replica's).
    """

    def __init__(self, port: int | None = None, *, persist: bool = False, extra: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="switchyard-redis-")
        self._persist = persist
        self._extra = tuple(extra)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        require_mark("starts a redis-server", "redis", "mesh")
        # Later options win: a persisting server turns the append-only file back on.
        disk = ["--appendonly", "yes", "--appendfsync", "always", "--dir", self._dir] if self._persist else []
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *disk]
        args += self._extra
        self._process = subprocess.Popen(
            [server_binary(), *args],
            cwd=self._dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_sync(lambda: answers(self.url), timeout=15, what=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        """Stops the server (SIGKILL: what an outage looks like to its clients)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Starts the server again on the same port (empty unless it persists)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def throwaway_redis(*, persist: bool = False) -> Iterator[RedisServer]:
    """A redis-server that this test alone owns and may stop, restart or kill."""
    server = RedisServer(persist=persist).start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def shared_redis() -> Iterator[str]:
    """The URL of REDIS_URL's server when it answers, else of a throwaway server for the session."""
    require_mark("uses Redis", "redis", "mesh")
    url = os.environ.get("REDIS_URL", "")
    if url and answers(url):
        yield url
        return
    with throwaway_redis() as server:
        yield server.url


def unique_prefix(name: str = "test") -> str:
    """Returns a key prefix no other test uses, so tests sharing a server never see each other's keys."""
    return f"sytest:{name}:{uuid.uuid4().hex[:12]}:"
