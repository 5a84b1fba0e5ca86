"""Test support: free ports, waiting on conditions with a deadline, and real service processes."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_INTERVAL = 0.02


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Returns once predicate() is true; fails the test when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


def wait_until_sync(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Blocking twin of wait_until for synchronous tests."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Process:
    """A real OS process of ours, with its output kept in a file for failure messages."""

    def __init__(self, args: list[str], env: Mapping[str, str] | None = None, name: str = "") -> None:
        self.name = name or args[-1]
        self.log = tempfile.NamedTemporaryFile(prefix=f"switchyard-{self.name}-", suffix=".log", delete=False)
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(args, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Sends sig and returns the exit code, killing the process if it outlives timeout."""
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def python_module(module: str, *args: str, env: Mapping[str, str] | None = None, name: str = "") -> Process:
    """Starts `python -m module args...` from the repository root."""
    return Process([sys.executable, "-m", module, *args], env=env, name=name or module.rsplit(".", 1)[-1])
