"""When a failed call is sent again, and after how long: bounded, and on the gateway's terms.

A call is retried only when all of these hold:

- its code is UNAVAILABLE or RESOURCE_EXHAUSTED (nothing else changes by waiting);
- the gateway said when to come back (google.rpc.RetryInfo, or a non-negative `grpc-retry-pushback-ms`),
  or the gateway never answered at all (a connection that failed or was reset: backoff with jitter);
  an error the gateway answered with no RetryInfo and a negative pushback is its final word;
- the attempts so far are fewer than `max_attempts`, and the wait ends before the call's deadline;
- for a stream, nothing has been delivered yet (the caller would see the answer twice).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import grpc

from switchyard_client.errors import SwitchyardError

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a call may be made in all, and the backoff when the gateway names no delay."""

    max_attempts: int = 3
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    # The longest wait a RetryInfo may ask for; a longer one is raised to the caller at once.
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


NO_RETRIES = RetryPolicy(max_attempts=1)


def retry_delay(error: SwitchyardError, attempt: int, policy: RetryPolicy, remaining: float | None) -> float | None:
    """Returns the seconds to wait before attempt `attempt + 1`, or None when the error is final.

    `attempt` counts the attempts made (1 after the first); `remaining` is the time left before the
    call's deadline (None: no deadline).
    """
    if attempt >= policy.max_attempts or error.code not in RETRYABLE_CODES:
        return None
    delay = _asked_delay(error, attempt, policy)
    if delay is None or delay > policy.max_retry_after:
        return None
    if remaining is not None and delay >= remaining:
        return None
    return delay


def _asked_delay(error: SwitchyardError, attempt: int, policy: RetryPolicy) -> float | None:
    if error.retry_after is not None:
        return error.retry_after
    if error.pushback_ms is not None:
        return error.pushback_ms / 1000 if error.pushback_ms >= 0 else None
    if error.from_gateway or error.code != grpc.StatusCode.UNAVAILABLE:
        return None
    ceiling = min(policy.max_backoff, policy.initial_backoff * policy.multiplier ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class Deadline:
    """The moment a call (all its attempts) must end by; None for a call without a timeout."""

    def __init__(self, timeout: float | None) -> None:
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """Returns the seconds left (never below zero), or None without a deadline."""
        return None if self._end is None else max(0.0, self._end - time.monotonic())
