"""A/B experiments: weighted arms, sticky per session, user or tenant, and shadow traffic."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from switchyard.config import Experiment, ExperimentArm
from switchyard.services.router.strategies.base import RequestFacts

_CHAIN = {"session": ("session", "user", "tenant"), "user": ("user", "tenant"), "tenant": ("tenant",)}


@dataclass(frozen=True)
class Assignment:
    """The arm a request was put on, and by what."""

    arm: ExperimentArm
    # key_kind: "session", "user" or "tenant" when the choice is sticky, "random" when not.
    key_kind: str


def bucket(experiment: str, key: str) -> float:
    """Returns a stable point in [0, 1) for a key in an experiment (the same in every process and replica)."""
    digest = hashlib.blake2b(f"{experiment}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sticky_key(experiment: Experiment, facts: RequestFacts) -> tuple[str, str]:
    """Returns (kind, value) of the first key the request carries along the experiment's sticky chain."""
    values = {"session": facts.session_key, "user": facts.user, "tenant": facts.tenant}
    for kind in _CHAIN[experiment.sticky]:
        if values[kind]:
            return kind, values[kind]
    return "random", ""


def assign(name: str, experiment: Experiment, facts: RequestFacts, rng: random.Random) -> Assignment:
    """Returns the arm for a request: by its sticky key's bucket, or a random draw when it has none."""
    kind, key = sticky_key(experiment, facts)
    point = bucket(name, f"{kind}:{key}") if key else rng.random()
    total = sum(arm.weight for arm in experiment.arms)
    edge = 0.0
    for arm in experiment.arms:
        edge += arm.weight / total
        if point < edge and arm.weight > 0:
            return Assignment(arm, kind)
    return Assignment(next(arm for arm in reversed(experiment.arms) if arm.weight > 0), kind)


def wants_shadow(experiment: Experiment, rng: random.Random) -> bool:
    """Returns whether this request also goes, as shadow traffic, to the experiment's candidate."""
    return experiment.shadow is not None and rng.random() < experiment.shadow.share
