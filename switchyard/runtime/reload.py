"""Config hot reload: watch the config file, validate every change, hand a good one to the service.

Used by the router (routing tables) and the providers service (deployments and credentials), which
read the same file. The file is polled (its inode, mtime and size each interval, its SHA-256 when
those moved) and re-read on SIGHUP. A file that does not validate is rejected with its reason in
the log, and the last good config keeps serving; so is one the service fails to apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from switchyard.config import Config, ConfigError, parse_config

Apply = Callable[[Config], Awaitable[None]]
_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


class ConfigWatcher:
    """Reloads a service's config when its file changes (polled) or on SIGHUP; one change at a time.

    Made before the service first loads the file, so that a change made while it starts is seen.
    """

    def __init__(self, path: str | Path, interval: float, log: logging.Logger) -> None:
        """interval is the poll period in seconds (0 disables polling; SIGHUP still works)."""
        self._path = Path(path)
        self._interval = interval
        self._log = log
        self._stamp = _stamp(self._path)
        self._digest = self._hash()
        self._apply: Apply | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[bool]] = set()
        self.reloads = 0

    @classmethod
    def of(cls, path: str, interval: float, log: logging.Logger) -> ConfigWatcher | None:
        """Returns a watcher of path, or None when the service runs on the embedded default (no file)."""
        return cls(path, interval, log) if path and os.path.exists(path) else None

    def start(self, apply: Apply) -> asyncio.Task[None]:
        """Hands every good change to apply from now on: installs the SIGHUP handler, returns the poll task."""
        self._apply = apply
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        return loop.create_task(self.run())

    def _hash(self) -> str:
        try:
            return hashlib.sha256(self._path.read_bytes()).hexdigest()
        except OSError:
            return ""

    def _on_sighup(self) -> None:
        self._log.info("SIGHUP: re-reading %s", self._path)
        task = asyncio.get_running_loop().create_task(self.check(force=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self, force: bool = False) -> bool:
        """Applies the file if it changed since the last look (force: re-read it whatever its stamp says);
        returns whether a new config was applied."""
        async with self._lock:
            stamp = _stamp(self._path)
            if not force and stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                data = self._path.read_bytes()
            except OSError as exc:
                self._log.error(
                    "config reload rejected, keeping the last good config: cannot read %s: %s",
                    self._path,
                    exc.strerror,
                )
                return False
            digest = hashlib.sha256(data).hexdigest()
            if digest == self._digest:
                if force:
                    self._log.info("config reload: %s is unchanged", self._path)
                return False
            # A rejected file is remembered too, so it is logged once, not once per poll.
            self._digest = digest
            return await self._load(data)

    async def _load(self, data: bytes) -> bool:
        try:
            config = parse_config(data.decode(errors="replace"), str(self._path))
        except ConfigError as exc:
            self._log.error("config reload rejected, keeping the last good config: %s", exc)
            return False
        try:
            if self._apply is not None:
                await self._apply(config)
        except Exception:
            self._log.exception("config reload failed to apply, keeping the last good config")
            return False
        self.reloads += 1
        self._log.info(
            "config reloaded from %s: %d model groups, %d deployments",
            self._path,
            len(config.groups()),
            len(config.model_list),
        )
        return True

    async def run(self) -> None:
        """Polls the file every interval until cancelled (returns at once when polling is off)."""
        if self._interval <= 0:
            return
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
