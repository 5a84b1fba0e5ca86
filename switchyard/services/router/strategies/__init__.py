"""Routing strategies, one per module, registered by their config names."""

from __future__ import annotations

from switchyard.services.router.strategies import cost, latency, least_busy, quality, shuffle, usage
from switchyard.services.router.strategies.base import (
    Candidate,
    DeploymentStats,
    Plan,
    RequestFacts,
    ShareRule,
    Skip,
    Strategy,
    StrategyOptions,
    lookup,
)

__all__ = [
    "Candidate",
    "DeploymentStats",
    "Plan",
    "RequestFacts",
    "ShareRule",
    "Skip",
    "Strategy",
    "StrategyOptions",
    "cost",
    "latency",
    "least_busy",
    "lookup",
    "quality",
    "shuffle",
    "usage",
]
