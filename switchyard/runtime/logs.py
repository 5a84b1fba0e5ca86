"""Log set-up shared by every service: one line per record, never a secret, never a flood.

Clients can make errors happen at will, so what an error writes must not grow with how often it
happens: `LogLimiter` writes the first error of each kind with its traceback, then one line per
token of a per-kind token bucket, each line carrying the count of the occurrences left unsaid.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass


def setup_logging(level: str) -> None:
    """Sends records at level and above to stderr as `LEVEL logger: message`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every request at INFO: on the hot path that is a formatted line (and a
    # pipe write under `switchyard up`) per call, for nothing an operator needs.
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


# A traceback is cut to its innermost frames and to a few KB: a RecursionError has a thousand frames.
TRACEBACK_FRAMES = 30
TRACEBACK_CHARS = 8192
MESSAGE_CHARS = 200
# Past this many kinds, new ones share one bucket, so the table cannot grow without limit either.
MAX_KINDS = 256
OTHER_KIND = "other"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    unsaid: int = 0


class LogLimiter:
    """Rate-limited error logging: the first record of a kind in full, later ones as counted lines.

    Each kind has a bucket of `burst` tokens refilled at `per_second`; a line spends one, and the
    occurrences that find the bucket empty are counted and reported on the kind's next line.
    """

    def __init__(
        self,
        burst: float = 5.0,
        per_second: float = 0.1,
        max_kinds: int = MAX_KINDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst, self._rate, self._max_kinds, self._clock = burst, per_second, max_kinds, clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _admit(self, kind: str) -> tuple[bool, bool, int]:
        """Returns (first of its kind, may write a line, occurrences unsaid before this one)."""
        now = self._clock()
        with self._lock:
            if kind not in self._buckets and len(self._buckets) >= self._max_kinds:
                kind = OTHER_KIND
            bucket = self._buckets.get(kind)
            if bucket is None:
                self._buckets[kind] = _Bucket(self._burst - 1, now)
                return True, True, 0
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens < 1:
                bucket.unsaid += 1
                return False, False, 0
            bucket.tokens -= 1
            unsaid, bucket.unsaid = bucket.unsaid, 0
            return False, True, unsaid

    def internal(self, logger: logging.Logger, exc: BaseException) -> None:
        """Logs an unexpected exception: its traceback the first time its kind (type and raising line)
        is seen, then at most one line per token, never the whole exception text."""
        kind = error_kind(exc)
        first, write, unsaid = self._admit(kind)
        if not write:
            return
        if first:
            logger.error("internal error %s (traced once; later ones are counted)\n%s", kind, bounded_traceback(exc))
            return
        more = f" (+{unsaid} more since the last line)" if unsaid else ""
        logger.error("internal error %s: %s%s", kind, _cut(str(exc)), more)

    def warning(self, logger: logging.Logger, kind: str, message: str) -> None:
        """Logs a warning a client can provoke at will at most at the bucket's rate, with the count unsaid."""
        _, write, unsaid = self._admit(f"warning:{kind}")
        if write:
            logger.warning("%s%s", message, f" (+{unsaid} more since the last line)" if unsaid else "")


def error_kind(exc: BaseException) -> str:
    """Returns an exception's kind: its type and the file:line that raised it (`ValueError at x.py:12`)."""
    tb = exc.__traceback__
    if tb is None:
        return type(exc).__name__
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename.rsplit("/", 1)[-1]
    return f"{type(exc).__name__} at {filename}:{tb.tb_lineno}"


def bounded_traceback(exc: BaseException) -> str:
    """Returns the exception's traceback, its innermost frames only and cut to TRACEBACK_CHARS."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES)
    text = "".join(_cut(line, 2 * MESSAGE_CHARS) for line in lines).rstrip()
    return text if len(text) <= TRACEBACK_CHARS else text[:TRACEBACK_CHARS] + "\n[traceback cut]"


def _cut(text: str, limit: int = MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# The process's limiter: errors from every module of a service share its buckets.
LIMITER = LogLimiter()
