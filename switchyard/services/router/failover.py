"""Failover policy: what the router does after a failed attempt, and how long it waits to retry one.

Pure (no I/O, no clock: callers pass the time), so every rule is unit-tested on its own.

    error class (retry_policy key)   reasons                                   after the failure
    BadRequestError                  UPSTREAM_BAD_REQUEST                      stop: the client's error, sent as is
    AuthenticationError              UPSTREAM_AUTH, UPSTREAM_NOT_FOUND         next deployment; this one not again
    TimeoutError                     UPSTREAM_TIMEOUT                          next deployment; this one after a backoff
    RateLimitError                   UPSTREAM_RATE_LIMITED                     next deployment at once; this one after
                                                                               Retry-After (QUOTA_EXHAUSTED: not again)
    InternalServerError              UPSTREAM_UNAVAILABLE, _CONNECT,           next deployment; this one after a backoff
                                     _MALFORMED, DEPLOYMENT_UNAVAILABLE        (DEPLOYMENT_UNAVAILABLE: not again)
    ContentPolicyViolationError      UPSTREAM_CONTENT_FILTERED                 content_policy_fallbacks (none: stop)
    ContextWindowExceededError       CONTEXT_WINDOW_EXCEEDED                   context_window_fallbacks (none: stop),
                                                                               never the general fallbacks after them
    anything else                    (cancelled, internal, deadline, ...)      stop
    (no call: the window pre-check   CONTEXT_WINDOW_EXCEEDED skips             context_window_fallbacks, then the rest
     left a group no candidate)                                                of the walk: fallbacks, default_fallbacks

A group gets 1 + N attempts, N being the retries of the class of its latest failure: the
`retry_policy` entry for the class (`RateLimitErrorRetries`, ...) when set, else `num_retries`
(BadRequestError and ContentPolicyViolationError: 0, so they stop or switch group at once).
Untried deployments of the plan come first and are called at once; a deployment that failed is
tried again only after waiting max(retry_after, the upstream's Retry-After, full-jitter backoff).
When a group is spent the walk goes on to the group's `fallbacks`, then `default_fallbacks`. A group
whose next retry would wait longer than `max_retry_wait_s` counts as spent while a group left in the
chain has a deployment to call now (not skipped by its filters or an open circuit): a whole group
rate-limited with Retry-After: 30 sends the request to the fallback at once instead of holding it for
30 s (with no such fallback, the wait is honoured).

Two ways a prompt can be too long, two rules. The router's own window pre-check (filters.py) knows
each deployment's window, so a group it leaves without a candidate sends the request to the group's
`context_window_fallbacks` first and keeps the rest of the walk after them: every later group is
pre-checked the same way and called only when its window fits (or is not configured). An upstream's
context-length refusal comes from a window the router did not know, and says nothing about the
windows of the general fallbacks: it switches to the `context_window_fallbacks` alone, and with none
left the upstream's 400 goes to the client. So `fallbacks` and `default_fallbacks` are never a cure
for a prompt an upstream refused, whether or not context-window fallbacks were tried before them.
When the window is all that kept every deployment from answering (`too_long_everywhere`), the client
gets the 400 context_length_exceeded, never a 502.

The helpers at the end write what happened into the RouteRecord and build the one error that
lists every attempt when nothing answered.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Generic, TypeVar

from switchyard.common.v1 import errors_pb2 as E
from switchyard.common.v1 import route_pb2
from switchyard.config import FallbackList, ModelEntry, RouterSettings
from switchyard.runtime.errors import Reason, SwitchyardError, reason_name

T = TypeVar("T")


class ErrorClass(StrEnum):
    """The retry-policy class of a failure, by LiteLLM's exception names (retry_policy key = name + "Retries")."""

    BAD_REQUEST = "BadRequestError"
    AUTHENTICATION = "AuthenticationError"
    TIMEOUT = "TimeoutError"
    RATE_LIMIT = "RateLimitError"
    INTERNAL_SERVER = "InternalServerError"
    CONTENT_POLICY = "ContentPolicyViolationError"
    CONTEXT_WINDOW = "ContextWindowExceededError"

    @property
    def policy_key(self) -> str:
        return f"{self.value}Retries"


_CLASSES: dict[Reason, ErrorClass] = {
    E.ERROR_REASON_UPSTREAM_BAD_REQUEST: ErrorClass.BAD_REQUEST,
    E.ERROR_REASON_UPSTREAM_AUTH: ErrorClass.AUTHENTICATION,
    E.ERROR_REASON_UPSTREAM_NOT_FOUND: ErrorClass.AUTHENTICATION,
    E.ERROR_REASON_UPSTREAM_TIMEOUT: ErrorClass.TIMEOUT,
    E.ERROR_REASON_UPSTREAM_RATE_LIMITED: ErrorClass.RATE_LIMIT,
    E.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED: ErrorClass.RATE_LIMIT,
    E.ERROR_REASON_UPSTREAM_UNAVAILABLE: ErrorClass.INTERNAL_SERVER,
    E.ERROR_REASON_UPSTREAM_CONNECT: ErrorClass.INTERNAL_SERVER,
    E.ERROR_REASON_UPSTREAM_MALFORMED: ErrorClass.INTERNAL_SERVER,
    E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE: ErrorClass.INTERNAL_SERVER,
    E.ERROR_REASON_UPSTREAM_CONTENT_FILTERED: ErrorClass.CONTENT_POLICY,
    E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED: ErrorClass.CONTEXT_WINDOW,
}
# Failures that will not go away within one request: the deployment is not tried again.
_NOT_AGAIN = frozenset(
    {
        E.ERROR_REASON_UPSTREAM_AUTH,
        E.ERROR_REASON_UPSTREAM_NOT_FOUND,
        E.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED,
        E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE,
    }
)
_OVERLOAD = frozenset(
    {E.ERROR_REASON_UPSTREAM_UNAVAILABLE, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, E.ERROR_REASON_UPSTREAM_TIMEOUT}
)
# RATE_LIMITED is Switchyard's own refusal: the deployment's rpm/tpm window (shared by every replica) is full.
_RATE = frozenset(
    {E.ERROR_REASON_UPSTREAM_RATE_LIMITED, E.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED, E.ERROR_REASON_RATE_LIMITED}
)
# Skips that rule a deployment out whatever its window: residency, missing capabilities, the key's reach.
_NEVER_FOR_THIS_REQUEST = frozenset(
    {E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT, E.ERROR_REASON_INVALID_REQUEST, E.ERROR_REASON_PERMISSION_DENIED}
)
_TOO_LONG_OR_NEVER = _NEVER_FOR_THIS_REQUEST | {E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED}
# Classes that end the request (or switch group) unless retry_policy asks for retries.
_NO_RETRIES_BY_DEFAULT = frozenset({ErrorClass.BAD_REQUEST, ErrorClass.CONTENT_POLICY})


def classify(reason: Reason) -> ErrorClass | None:
    """Returns the retry-policy class of a failure, or None for errors that end the request."""
    return _CLASSES.get(reason)


def too_long_everywhere(reasons: Iterable[Reason]) -> bool:
    """Returns whether the context window is what kept every deployment from answering, given the
    reasons of every skip and failed call: some were too small for the request (the pre-check's skip or
    an upstream's refusal), each of the others could never have taken it (residency, capability).

    A deployment skipped as unavailable (open circuit, missing key) or refused for its rate window had
    passed the window check: with one of those, capacity failed the request, not its length.
    """
    found = set(reasons)
    return E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED in found and found <= _TOO_LONG_OR_NEVER


class Next(Enum):
    """Where a request goes after a failed attempt, or after a group the window pre-check emptied."""

    STOP = "stop"
    SAME_GROUP = "same group"
    NEXT_GROUP = "next group"
    CONTEXT_WINDOW = "context_window_fallbacks"
    CONTENT_POLICY = "content_policy_fallbacks"
    # No attempt failed: the window pre-check left the group no candidate. GroupChain.widen, not switch.
    LARGER_WINDOW = "context_window_fallbacks, then the rest"


@dataclass(frozen=True)
class AfterFailure:
    """What follows one failed attempt: its error class, where to go next and whether its deployment may be
    tried again."""

    error_class: ErrorClass | None
    next: Next
    again: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a group gets per error class and how long a retry of one deployment waits."""

    num_retries: int = 2
    per_class: Mapping[str, int] = field(default_factory=dict)
    # retry_after is the least wait (seconds) before a deployment is tried again.
    retry_after: float = 0.0
    # The jittered exponential backoff: uniform(0, min(backoff_max, backoff_base * 2**k)) for the k-th retry.
    backoff_base: float = 0.1
    backoff_max: float = 5.0
    # max_wait: the longest wait for a retry while a fallback group is left (router_settings.max_retry_wait_s).
    max_wait: float = math.inf

    @classmethod
    def from_settings(cls, settings: RouterSettings, backoff_base: float, backoff_max: float) -> RetryPolicy:
        return cls(
            settings.num_retries,
            dict(settings.retry_policy),
            settings.retry_after,
            backoff_base,
            backoff_max,
            settings.max_retry_wait_s,
        )

    def retries(self, error_class: ErrorClass) -> int:
        """Returns the retries a group gets after a failure of this class."""
        default = 0 if error_class in _NO_RETRIES_BY_DEFAULT else self.num_retries
        return max(0, self.per_class.get(error_class.policy_key, default))

    def after_failure(self, reason: Reason, failures_in_group: int) -> AfterFailure:
        """Returns what follows a failure, failures_in_group counting it and the group's earlier ones."""
        error_class = classify(reason)
        if error_class is None:
            return AfterFailure(None, Next.STOP)
        if error_class is ErrorClass.CONTEXT_WINDOW:
            return AfterFailure(error_class, Next.CONTEXT_WINDOW)
        if failures_in_group <= self.retries(error_class):
            return AfterFailure(error_class, Next.SAME_GROUP, again=reason not in _NOT_AGAIN)
        if error_class is ErrorClass.CONTENT_POLICY:
            return AfterFailure(error_class, Next.CONTENT_POLICY)
        if error_class is ErrorClass.BAD_REQUEST:
            return AfterFailure(error_class, Next.STOP)
        return AfterFailure(error_class, Next.NEXT_GROUP)

    def backoff(self, retry: int, upstream_wait: float | None, rng: random.Random) -> float:
        """Returns the seconds to wait before the retry-th retry (0-based) of one deployment.

        The upstream's Retry-After and the configured minimum are honoured as they are; only the
        jittered exponential part is capped by backoff_max.
        """
        jitter = rng.uniform(0.0, min(self.backoff_max, self.backoff_base * 2 ** max(0, retry)))
        return max(self.retry_after, upstream_wait or 0.0, jitter)


class CandidateQueue(Generic[T]):
    """A group's plan in order, then the deployments to try again, each once its backoff has passed."""

    def __init__(self, order: Iterable[T]) -> None:
        self._fresh: deque[T] = deque(order)
        self._again: list[tuple[float, int, T, float]] = []
        self._seq = itertools.count()

    def __bool__(self) -> bool:
        return bool(self._fresh or self._again)

    def again(self, item: T, failed_at: float, backoff: float) -> None:
        """Puts a deployment that failed at failed_at back, to be tried backoff seconds later."""
        heapq.heappush(self._again, (failed_at + backoff, next(self._seq), item, backoff))

    def peek_time(self) -> float | None:
        """Returns when the next candidate may be called (0.0: now), or None when the queue is empty."""
        if self._fresh:
            return 0.0
        return self._again[0][0] if self._again else None

    def pop(self) -> tuple[T, float]:
        """Returns the next candidate and the backoff it was put back with (0.0 for a first try).

        Untried candidates come first, in plan order; then retries, the earliest due first.
        """
        if self._fresh:
            return self._fresh.popleft(), 0.0
        _, _, item, backoff = heapq.heappop(self._again)
        return item, backoff


def _table(entries: FallbackList) -> dict[str, tuple[str, ...]]:
    """Returns LiteLLM's list of one-key mappings as one mapping (a later entry for a group adds to it)."""
    merged: dict[str, list[str]] = {}
    for mapping in entries:
        for source, targets in mapping.items():
            merged.setdefault(source, []).extend(targets)
    return {source: tuple(targets) for source, targets in merged.items()}


@dataclass(frozen=True)
class FallbackTables:
    """router_settings' fallback tables: group (or alias) name -> the groups to try after it."""

    general: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context_window: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    content_policy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: RouterSettings) -> FallbackTables:
        return cls(
            _table(settings.fallbacks),
            _table(settings.context_window_fallbacks),
            _table(settings.content_policy_fallbacks),
            tuple(settings.default_fallbacks),
        )


def _first(table: Mapping[str, tuple[str, ...]], keys: Sequence[str]) -> tuple[str, ...]:
    return next((table[key] for key in keys if table.get(key)), ())


class GroupChain:
    """The groups one request walks, each planned when reached.

    First the request's group, then its `fallbacks`, then `default_fallbacks`. A group the window
    pre-check left without a candidate puts its `context_window_fallbacks` ahead of the rest (`widen`);
    an upstream's context-window or content-policy refusal replaces the rest of the walk with that
    kind's fallbacks (`switch`). Either looks the fallbacks up for the group, else for the name the
    client asked for (an alias). No group is planned twice.
    """

    def __init__(self, fallbacks: FallbackTables, first: str, requested: str) -> None:
        self._fallbacks = fallbacks
        self._requested = requested
        self.tried: list[str] = []
        self._pending: deque[str] = deque([first, *_first(fallbacks.general, (first, requested)), *fallbacks.default])

    def upcoming(self) -> list[str]:
        """Returns the groups left to plan after the current one, in order (the walk may still change them)."""
        return list(dict.fromkeys(group for group in self._pending if group not in self.tried))

    def next(self) -> str | None:
        """Returns the next group to plan, or None when the walk is over."""
        while self._pending:
            group = self._pending.popleft()
            if group not in self.tried:
                self.tried.append(group)
                return group
        return None

    def switch(self, kind: Next, failed_group: str) -> bool:
        """Replaces the rest of the walk with kind's fallbacks of failed_group; returns False when there are none."""
        table = self._fallbacks.context_window if kind is Next.CONTEXT_WINDOW else self._fallbacks.content_policy
        targets = self._untried(table, failed_group)
        self._pending = deque(targets)
        return bool(targets)

    def widen(self, small_group: str) -> None:
        """Puts small_group's `context_window_fallbacks` ahead of the rest of the walk, which stays.

        For a group whose every deployment the window pre-check ruled out: the groups named for longer
        prompts come first; the general fallbacks after them are pre-checked in turn, so of those only
        the deployments whose window fits (or is not configured) are called.
        """
        self._pending.extendleft(reversed(self._untried(self._fallbacks.context_window, small_group)))

    def _untried(self, table: Mapping[str, tuple[str, ...]], group: str) -> list[str]:
        """Returns the fallbacks table lists for group (else for the requested name) not planned yet."""
        return [g for g in _first(table, (group, self._requested)) if g not in self.tried]


def reachable_groups(fallbacks: FallbackTables, first: str, requested: str) -> tuple[str, ...]:
    """Returns every group a GroupChain from `first` could plan, in a stable order: the group, its
    `fallbacks` and `default_fallbacks`, and the `context_window_fallbacks` and `content_policy_fallbacks`
    of each of those (looked up as the chain looks them up: for the group, else the requested name)."""
    found = [first, *_first(fallbacks.general, (first, requested)), *fallbacks.default]
    index = 0
    while index < len(found):
        group = found[index]
        for table in (fallbacks.context_window, fallbacks.content_policy):
            found += [g for g in _first(table, (group, requested)) if g not in found]
        index += 1
    return tuple(dict.fromkeys(found))


# ---------------------------------------------------------------- what the route record says


def attempt_error(raw: BaseException, deadline: float, now: float) -> SwitchyardError:
    """Returns the error of one attempt from what its call raised (a SwitchyardError or TimeoutError).

    A call cut by its own timeout is an upstream timeout, by the request's deadline DEADLINE_EXCEEDED;
    a deployment the providers service does not know (its config differs while a reload is in
    progress) is unavailable, so the request fails over instead of answering 404.
    """
    if isinstance(raw, SwitchyardError) and raw.reason == E.ERROR_REASON_MODEL_NOT_FOUND:
        return SwitchyardError(E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, raw.message, metadata=raw.metadata)
    if isinstance(raw, SwitchyardError) and raw.reason != E.ERROR_REASON_DEADLINE_EXCEEDED:
        return raw
    if now >= deadline:
        return SwitchyardError(E.ERROR_REASON_DEADLINE_EXCEEDED, "deadline exceeded")
    return SwitchyardError(E.ERROR_REASON_UPSTREAM_TIMEOUT, "the deployment did not answer within its timeout")


def record_failure(attempt: route_pb2.Attempt, err: SwitchyardError) -> None:
    """Marks an attempt failed with err's reason, message and upstream HTTP status."""
    attempt.outcome = route_pb2.ATTEMPT_OUTCOME_FAILED
    attempt.error_reason = err.reason
    attempt.error_message = err.message
    status = err.metadata.get("upstream_status", "")
    attempt.upstream_status = int(status) if status.isdigit() else 0


def record_skip(route: route_pb2.RouteRecord, entry: ModelEntry, group: str, reason: int, detail: str) -> None:
    """Records a candidate passed over without a call, and why."""
    route.attempts.add(
        deployment_id=entry.deployment_id,
        provider=entry.provider,
        model=entry.upstream_model,
        group=group,
        outcome=route_pb2.ATTEMPT_OUTCOME_SKIPPED,
        error_reason=E.ErrorReason.ValueType(reason),
        error_message=detail,
    )


def all_failed(route: route_pb2.RouteRecord, requested: str, retry_after: float | None) -> SwitchyardError:
    """Returns the error listing every attempt: 429 when all were rate limits, 503 when all overloaded, else 502.

    The status follows the calls made and the candidates passed over for their health or rate
    window; those the request could never go to (residency, capability, window) do not count. A 429
    or 503 carries the shortest Retry-After an upstream, or a full rate window, asked for.
    """
    attempts: Sequence[route_pb2.Attempt] = route.attempts
    reasons = {a.error_reason for a in attempts if a.number > 0 or a.error_reason in _RATE | _OVERLOAD}
    status = 429 if reasons and reasons <= _RATE else 503 if reasons and reasons <= _OVERLOAD else 502
    causes = "; ".join(
        f"{a.deployment_id} ({a.provider}/{a.model}): {reason_name(a.error_reason)}"
        + (f" [HTTP {a.upstream_status}]" if a.upstream_status else "")
        + (f" {a.error_message}" if a.error_message else "")
        for a in attempts
    )
    calls = sum(1 for a in attempts if a.number > 0)
    groups = list(route.groups_tried)
    where = f" in groups {', '.join(groups)}" if len(groups) > 1 else ""
    message = f"all candidates for model '{requested}' failed ({calls} attempt(s){where}): {causes or 'no deployments'}"
    return SwitchyardError(
        E.ERROR_REASON_ALL_CANDIDATES_FAILED,
        message,
        http_status=status,
        route=route,
        retry_after_s=retry_after if status in (429, 503) else None,
    )


def rate_limited(route: route_pb2.RouteRecord, requested: str, retry_after: float | None) -> SwitchyardError:
    """Returns the 429 for a request whose every allowed deployment was at its rpm/tpm limit (no call made)."""
    full = "; ".join(
        f"{a.deployment_id}: {a.error_message}" for a in route.attempts if a.error_reason == E.ERROR_REASON_RATE_LIMITED
    )
    return SwitchyardError(
        E.ERROR_REASON_RATE_LIMITED,
        f"Rate limit reached for model '{requested}': every deployment is at its limit ({full}).",
        route=route,
        retry_after_s=retry_after,
    )
