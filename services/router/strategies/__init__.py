"""Routing strategies, one per module, registered by their config names."""

from __future__ import annotations

from services.router.strategies import shuffle
from services.router.strategies.base import Candidate, Plan, Strategy, lookup

__all__ = ["Candidate", "Plan", "Strategy", "lookup", "shuffle"]
