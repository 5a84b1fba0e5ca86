"""The quality the router learned from its own traffic: the artifact `switchyard train-router --from-store` writes.

A JSON file (routing.quality_file, by default router-quality.json in the per-user state directory):

    {"format": "switchyard.quality/1", "trained_ms": ..., "judgements": 1200,
     "before": {...}, "after": {...},                      # the held-out evaluation, for people
     "deployments": {"<deployment id>": {"code": 0.91, "": 0.78}}}

Per deployment, each category's learned quality is read over model_info.quality_by_category, and
category "" over model_info.quality. The router applies it to every config it routes with, and a
LearnedWatcher swaps in a new artifact without a restart (polled like the config file).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from switchyard.config import Config
from switchyard.config.analytics import state_dir
from switchyard.config.models import ModelEntry
from switchyard.runtime.reload import ConfigWatcher

FORMAT = "switchyard.quality/1"
DEFAULT_FILE = "router-quality.json"
Table = dict[str, dict[str, float]]


class ArtifactError(ValueError):
    """The quality artifact cannot be read or is not one."""


def artifact_path(config: Config) -> Path:
    """Returns where the config's learned quality lives (routing.quality_file, else the state directory)."""
    configured = config.switchyard.routing.quality_file
    return Path(configured) if configured else state_dir() / DEFAULT_FILE


def parse_artifact(data: bytes, where: str) -> Table:
    """Returns the deployments' learned quality of an artifact's bytes; raises ArtifactError."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ArtifactError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ArtifactError(f"{where}: not a quality artifact (format {FORMAT!r} expected)")
    table: Table = {}
    for deployment, qualities in (document.get("deployments") or {}).items():
        if not isinstance(qualities, dict):
            raise ArtifactError(f"{where}: deployments.{deployment} must map categories to qualities")
        table[str(deployment)] = {
            str(c): _quality(q, f"{where}: deployments.{deployment}.{c}") for c, q in qualities.items()
        }
    return table


def _quality(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ArtifactError(f"{where} must be a number between 0 and 1, not {value!r}")
    return float(value)


def read_artifact(path: Path) -> Table:
    """Returns the learned quality at path, {} when there is no file; raises ArtifactError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_artifact(data, str(path))


def write_artifact(path: Path, table: Mapping[str, Mapping[str, float]], **facts: Any) -> None:
    """Writes the artifact at path at once (a new file renamed over the old), so a reader never sees half."""
    document = {"format": FORMAT, **facts, "deployments": {d: dict(q) for d, q in sorted(table.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        json.dump(document, out, indent=2, sort_keys=False)
        out.write("\n")
    os.replace(out.name, path)


def _learned_entry(entry: ModelEntry, qualities: Mapping[str, float]) -> ModelEntry:
    info = entry.model_info
    by_category = {**info.quality_by_category, **{c: q for c, q in qualities.items() if c}}
    learned_info = info.model_copy(
        update={"quality": qualities.get("", info.quality), "quality_by_category": by_category}
    )
    return entry.model_copy(update={"model_info": learned_info})


def with_learned(config: Config, table: Mapping[str, Mapping[str, float]]) -> Config:
    """Returns config with each deployment's learned quality read over its configured one."""
    if not table:
        return config
    entries = [
        _learned_entry(entry, table[entry.deployment_id]) if entry.deployment_id in table else entry
        for entry in config.model_list
    ]
    return config.model_copy(update={"model_list": entries})


class LearnedWatcher(ConfigWatcher):
    """Hands every good new artifact at path to a callback (polled; a bad one is logged, the last good one kept).

    Made before the router first reads the artifact, so that one written while it starts is seen.
    """

    _take: Callable[[Table], Awaitable[None]] | None = None

    def follow(self, apply: Callable[[Table], Awaitable[None]]) -> asyncio.Task[None]:
        """Hands every good change to apply from now on; returns the poll task."""
        self._take = apply
        return asyncio.get_running_loop().create_task(self.run())

    async def _load(self, data: bytes) -> bool:
        try:
            table = parse_artifact(data, str(self._path))
        except ArtifactError as exc:
            self._log.error("learned quality rejected, keeping the last good one: %s", exc)
            return False
        if self._take is not None:
            await self._take(table)
        self.reloads += 1
        self._log.info("learned quality reloaded from %s: %d deployments", self._path, len(table))
        return True


class LearnedQuality:
    """What the router routes with: the config file's latest good config, the learned quality read over it."""

    def __init__(self, config: Config, log: logging.Logger) -> None:
        """Reads the config's artifact (a bad one is logged and the configured quality used)."""
        self.config = config
        self.path = artifact_path(config)
        try:
            self.table = read_artifact(self.path)
        except ArtifactError as exc:
            log.error("learned quality ignored, routing on the configured quality: %s", exc)
            self.table = {}
        if self.table:
            log.info("learned quality from %s: %d deployments", self.path, len(self.table))

    def routed(self) -> Config:
        return with_learned(self.config, self.table)
