"""A sliding rate window kept in this process: the requests of the last minute and their tokens.

The in-memory twin of the Lua scripts' window (the w / t keys and `over` in state/lua.py), shared by
the router state (one per deployment) and governance (one per key and team).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Limit = Literal["rpm", "tpm"]


@dataclass(slots=True)
class RateWindow:
    """Requests admitted, oldest first, with the tokens each holds and their sum."""

    admitted: deque[tuple[float, str]] = field(default_factory=deque)
    tokens: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def __len__(self) -> int:
        return len(self.admitted)

    def oldest(self) -> float | None:
        """Returns when the oldest request still in the window was admitted."""
        return self.admitted[0][0] if self.admitted else None

    def trim(self, cutoff: float) -> None:
        """Drops the requests admitted at or before cutoff."""
        while self.admitted and self.admitted[0][0] <= cutoff:
            _, request = self.admitted.popleft()
            self.total -= self.tokens.pop(request, 0)

    def add(self, request: str, at: float, tokens: int) -> None:
        self.admitted.append((at, request))
        self.tokens[request] = max(tokens, 0)
        self.total += max(tokens, 0)

    def resize(self, request: str, tokens: int) -> None:
        """Replaces a request's token estimate by its real count (nothing when it left the window)."""
        old = self.tokens.get(request)
        if old is not None:
            self.tokens[request] = max(tokens, 0)
            self.total += max(tokens, 0) - old

    def over(
        self, rpm: int | None, tpm: int | None, tokens: int, now: float, *, window_s: float, scan: int | None = None
    ) -> tuple[Limit, float] | None:
        """Returns None when one more request of `tokens` fits (the window trimmed), else the limit it
        breaks and the seconds until it would fit; the tpm wait looks at the `scan` oldest requests at
        most (None: all)."""
        used = len(self.admitted)
        if rpm is not None and used + 1 > rpm:
            return "rpm", self.admitted[used - rpm][0] + window_s - now if rpm > 0 else window_s
        if tpm is not None and self.total + tokens > tpm:
            if tokens <= tpm:
                need, freed = self.total + tokens - tpm, 0
                for at, request in itertools.islice(self.admitted, scan):
                    freed += self.tokens.get(request, 0)
                    if freed >= need:
                        return "tpm", at + window_s - now
            return "tpm", window_s
        return None
