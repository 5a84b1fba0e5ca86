"""What a request may reach: the one place a key's allowed models and aliases meet every deployment.

A key, and its team, each list the names they may use (an empty list: every name). A deployment is
within a request's reach when it belongs to a model group, or to the pool of an alias, that every
one of those lists names. One rule, whatever sent the request there:

    the name asked for           permit() at the door: 403 before anything runs (governor.py)
    a content rule's route_to,   the resolution's target is planned like any group: a deployment out
    an experiment arm,           of reach is a SKIPPED attempt (PERMISSION_DENIED) and never called;
    the guard's route_to,        when nothing within reach is left to try, the request gets 403
    fallback groups              (walk.py, planning.no_route_error)
    a shadow copy                planned over the deployments within reach only; none: not sent (shadow.py)
    a cache hit                  served only when the deployment that produced it is within reach and
                                 allowed the request's data (pipeline.py)
    the budget estimate          priced over the deployments within reach of the whole chain (tally.py)

So an experiment on a name a key may use, or a rule or fallback an operator adds later, never widens
what the key can spend on: the arm's or fallback's group needs the key's own grant. The master key and
requests with auth off reach everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from switchyard.config import ModelEntry


@dataclass(frozen=True)
class Reach:
    """The deployments one request may be sent to (`deployments` None: every one) and who it is for."""

    deployments: frozenset[str] | None = None
    # holder names the key in refusals ("key sk-sy-abc123..."), never its secret.
    holder: str = ""

    @property
    def everything(self) -> bool:
        return self.deployments is None

    def allows(self, entry: ModelEntry) -> bool:
        """Returns whether the request may be sent to this deployment."""
        return self.deployments is None or entry.deployment_id in self.deployments

    def allows_id(self, deployment_id: str) -> bool:
        return self.deployments is None or deployment_id in self.deployments

    def within(self, entries: Iterable[ModelEntry]) -> tuple[ModelEntry, ...]:
        """Returns the entries the request may be sent to, in their order."""
        return tuple(entries) if self.deployments is None else tuple(e for e in entries if self.allows(e))

    def refusal(self, group: str) -> str:
        """Returns why a deployment of group is passed over (the skipped attempt's message)."""
        return f"{self.holder or 'the key'} may not use '{group}' (not among its allowed models)"


EVERYTHING = Reach()


def reach_of(members: Mapping[str, frozenset[str]], lists: Sequence[Sequence[str]], holder: str) -> Reach:
    """Returns the reach of a request whose key and team allow the names in `lists` (an empty list: all).

    `members` maps each group and alias name to the deployment ids it stands for (a group's
    deployments, an alias's pool).
    """
    named = [frozenset(names) for names in lists if names]
    if not named:
        return EVERYTHING
    allowed = frozenset.intersection(*named)
    ids: set[str] = set()
    for name in allowed:
        ids |= members.get(name, frozenset())
    return Reach(frozenset(ids), holder)
