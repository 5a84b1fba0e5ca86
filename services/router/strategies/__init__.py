"""Routing strategies, one per module, registered by their config names."""

from __future__ import annotations

from services.router.strategies import shuffle
from services.router.strategies.base import Candidate, DeploymentStats, Plan, RequestFacts, Strategy, lookup

__all__ = ["Candidate", "DeploymentStats", "Plan", "RequestFacts", "Strategy", "lookup", "shuffle"]
