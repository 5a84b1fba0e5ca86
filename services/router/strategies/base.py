"""The routing-strategy interface: a pure function from candidates to a ranked plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.common.config import ModelEntry


@dataclass(frozen=True)
class Candidate:
    """A deployment the request may go to, with what the strategy may weigh."""

    entry: ModelEntry

    @property
    def deployment_id(self) -> str:
        return self.entry.deployment_id


@dataclass(frozen=True)
class Plan:
    """A ranked list of deployments to try in order, and why."""

    strategy: str
    order: tuple[Candidate, ...]
    reason: str
    score: float = 0.0


class Strategy(Protocol):
    """Ranks the candidates of one request; must not do I/O."""

    name: str

    def plan(self, candidates: Sequence[Candidate]) -> Plan: ...


_REGISTRY: dict[str, Callable[[], Strategy]] = {}


def register(*names: str) -> Callable[[Callable[[], Strategy]], Callable[[], Strategy]]:
    """Registers a strategy factory under its config names."""

    def add(factory: Callable[[], Strategy]) -> Callable[[], Strategy]:
        for name in names:
            _REGISTRY[name] = factory
        return factory

    return add


def lookup(name: str) -> Strategy | None:
    """Returns a new strategy for a config name, or None when none is registered under it."""
    factory = _REGISTRY.get(name)
    return factory() if factory else None
