"""The evaluator's numbers across restarts: its books saved every few seconds and when it stops.

    place = state_place(redis_client, key, path)    # Redis when the config names one, else a file
    await load_state(place, evaluator)              # at start, before the first sample
    await keep_state(place, evaluator, every_s)     # saves whenever something changed, until cancelled
    await save_state(place, evaluator)              # once more at stop

What is saved: every deployment's quality segments (their rolling judge and feedback scores and the
CUSUM detector's baseline, statistic and alarm count) and every experiment arm's series, as one
gzipped JSON document with a version. Where: with Redis (compose, Kubernetes) under the key
`<prefix>evaluator:state`, which every evaluator replica and a rescheduled pod can reach; without it
(`make run`), the file `evaluator-state.json.gz` in the per-user state directory, replaced
atomically. Not the analytics store: services share no code, and that store belongs to the router.
A state that cannot be read is logged and set aside, and the evaluator starts afresh.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from switchyard.services.evaluator.core import Evaluator

log = logging.getLogger(__name__)
VERSION = 1
STATE_KEY = "evaluator:state"
STATE_FILE = "evaluator-state.json.gz"


class Place(Protocol):
    async def read(self) -> bytes | None:
        """Returns the saved state (None: nothing saved yet); raises OSError or RedisError."""
        ...

    async def write(self, data: bytes) -> None:
        """Saves the state, replacing the last; raises OSError or RedisError."""
        ...


class RedisPlace:
    def __init__(self, client: aioredis.Redis, key: str) -> None:
        self._client, self._key = client, key

    async def read(self) -> bytes | None:
        data = await self._client.get(self._key)
        return data.encode() if isinstance(data, str) else data

    async def write(self, data: bytes) -> None:
        await self._client.set(self._key, data)

    def __str__(self) -> str:
        return f"Redis key {self._key}"


class FilePlace:
    def __init__(self, path: Path) -> None:
        self._path = path

    async def read(self) -> bytes | None:
        return await asyncio.to_thread(lambda: self._path.read_bytes() if self._path.exists() else None)

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self._replace, data)

    def _replace(self, data: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".evaluator-state-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def __str__(self) -> str:
        return str(self._path)


def state_place(client: aioredis.Redis | None, prefix: str, directory: Path) -> Place:
    """Returns where the state lives: under prefix in Redis when there is a client, else a file in directory."""
    if client is not None:
        return RedisPlace(client, f"{prefix}{STATE_KEY}")
    return FilePlace(directory / STATE_FILE)


def encode(evaluator: Evaluator) -> bytes:
    state = {"version": VERSION, "quality": evaluator.quality.state(), "experiments": evaluator.experiments.state()}
    return gzip.compress(json.dumps(state, separators=(",", ":")).encode(), compresslevel=5)


def decode(data: bytes, evaluator: Evaluator) -> None:
    """Restores the evaluator's books from encode()'s bytes; raises ValueError when they are not such a state."""
    try:
        state: dict[str, Any] = json.loads(gzip.decompress(data))
        if state.get("version") != VERSION:
            raise ValueError(f"version {state.get('version')!r}, expected {VERSION}")
        evaluator.quality.restore(state["quality"])
        evaluator.experiments.restore(state["experiments"])
    except (OSError, EOFError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not an evaluator state ({type(exc).__name__}: {exc})") from exc


async def load_state(place: Place, evaluator: Evaluator) -> bool:
    """Restores what was saved at place; returns whether there was a state to restore."""
    try:
        data = await place.read()
    except (OSError, RedisError) as exc:
        log.warning("the evaluator's saved state at %s cannot be read (%s): starting afresh", place, exc)
        return False
    if data is None:
        return False
    try:
        decode(data, evaluator)
    except ValueError as exc:
        log.warning("the evaluator's saved state at %s is set aside: %s", place, exc)
        return False
    log.info("evaluator state restored from %s", place)
    return True


async def save_state(place: Place, evaluator: Evaluator) -> bool:
    """Saves the evaluator's books at place; returns False (logged) when that failed."""
    try:
        await place.write(encode(evaluator))
    except (OSError, RedisError) as exc:
        log.warning("the evaluator's state cannot be saved at %s (%s); retrying", place, exc)
        return False
    return True


async def keep_state(place: Place, evaluator: Evaluator, every_s: float) -> None:
    """Saves the state every every_s seconds in which something changed, until cancelled."""
    saved = evaluator.changes
    while True:
        await asyncio.sleep(every_s)
        changes = evaluator.changes
        if changes != saved and await save_state(place, evaluator):
            saved = changes
