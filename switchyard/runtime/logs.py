"""Log set-up shared by every service: one line per record, never a secret, never a flood.

Every line starts with its UTC time to the millisecond (`2026-01-02T03:04:05.678Z INFO
switchyard.router: ...`); `SWITCHYARD_LOG_FORMAT=json` writes one JSON object per line instead,
with the service, the request id and the current trace and span ids when there are any.

Clients can make errors happen at will, so what an error writes must not grow with how often it
happens: `LogLimiter` writes the first error of each kind with its traceback, then one line per
token of a per-kind token bucket, each line carrying the count of the occurrences left unsaid.
A peer that is down fails every request until it is back: `OutageLog` says so once when the
outage starts (then a reminder a minute at most) and once when it ends, with the count of calls
that failed meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

LOG_FORMAT_ENV = "SWITCHYARD_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The id of the request being served, for log lines written while serving it; each request runs
# in its own asyncio task, so a value set at its start is seen by everything it awaits or spawns.
REQUEST_ID: ContextVar[str] = ContextVar("switchyard_request_id", default="")


def utc_timestamp(seconds: float) -> str:
    """Returns an epoch time as ISO-8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`)."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole))}.{millis:03d}Z"


class TextFormatter(logging.Formatter):
    """Formats a record as `TIME LEVEL logger: message`, the time in UTC with milliseconds."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, service, and when known
    request_id, trace_id and span_id (the span current when the record was written)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self._service,
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = trace.format_trace_id(span.trace_id)
            line["span_id"] = trace.format_span_id(span.span_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_format(value: str | None = None) -> str:
    """Returns the log format asked for (value, else $SWITCHYARD_LOG_FORMAT): `text` (the default) or `json`."""
    chosen = (value if value is not None else os.environ.get(LOG_FORMAT_ENV, "")).strip().lower() or "text"
    if chosen not in LOG_FORMATS:
        raise ValueError(f"{LOG_FORMAT_ENV}={chosen!r} is not one of {', '.join(LOG_FORMATS)}")
    return chosen


def _main_service() -> str:
    """Returns the running service's short name (`router` for `python -m switchyard.services.router`)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    parts = (getattr(spec, "name", "") or "").split(".")
    if parts[-1] == "__main__":
        parts.pop()
    return parts[-1] if parts and parts[-1] else "switchyard"


def setup_logging(level: str, service: str = "", fmt: str | None = None) -> None:
    """Sends records at level and above to stderr, one line each, in the format asked for (log_format).

    service names the process in JSON lines; empty means the module run with `python -m`.
    An unknown format falls back to text with a warning rather than stopping the service.
    """
    try:
        chosen, problem = log_format(fmt), ""
    except ValueError as exc:
        chosen, problem = "text", str(exc)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service or _main_service()) if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every request at INFO: on the hot path that is a formatted line (and a
    # pipe write under `switchyard up`) per call, for nothing an operator needs.
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    if problem:
        logging.getLogger("switchyard").warning("%s; writing text logs", problem)


def stamp_line(line: str, service: str, fmt: str) -> str:
    """Returns a child process's output line as `switchyard up` prints it: in text, prefixed by the
    service (and by the current time unless the line starts with one); in json, a JSON object (the
    line itself when it is one, else the line wrapped as its message)."""
    if fmt == "json":
        if line.startswith("{"):
            return line
        now = utc_timestamp(time.time())
        wrapped = {"time": now, "level": "INFO", "logger": "output", "message": line, "service": service}
        return json.dumps(wrapped, ensure_ascii=False)
    if not _starts_with_timestamp(line):
        line = f"{utc_timestamp(time.time())} {line}"
    return f"{service:<{SERVICE_WIDTH}} | {line}"


# The width of the service column in `switchyard up`'s output (the longest name is `classifier`).
SERVICE_WIDTH = 10


def _starts_with_timestamp(line: str) -> bool:
    return len(line) >= 24 and line[4] == "-" and line[10] == "T" and line[23] == "Z" and line[:4].isdigit()


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


# While a peer stays down, a reminder of its outage is written at most this often (seconds).
OUTAGE_REMINDER_S = 60.0


class OutageLog:
    """Logs a peer's outage as two lines however many calls fail: a WARNING at the first failure and
    an INFO when a call succeeds again, with how long it lasted and how many calls failed.

    A long outage adds a WARNING reminder at most every `remind_every` seconds, with the count so far.
    `peer` names the peer as the lines say it (`cache at 127.0.0.1:50053`); `consequence` says what
    callers do meanwhile (`skipping it`).
    """

    def __init__(
        self,
        logger: logging.Logger,
        peer: str,
        consequence: str = "",
        *,
        remind_every: float = OUTAGE_REMINDER_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._logger, self._peer, self._remind_every = logger, peer, remind_every
        self._consequence = f", {consequence}" if consequence else ""
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._started: float | None = None
        self._since = ""
        self._failed = 0
        self._reminded = 0.0

    @property
    def down(self) -> bool:
        """Returns whether the peer is in an outage (its last call failed)."""
        return self._started is not None

    def failed(self, detail: str) -> None:
        """Counts a failed call; writes the outage's first line, or a reminder when one is due."""
        now = self._clock()
        with self._lock:
            self._failed += 1
            first = self._started is None
            if first:
                self._started = now
                self._since = time.strftime("%H:%M:%SZ", time.gmtime(self._wall()))
            elif now - self._reminded < self._remind_every:
                return
            self._reminded, failed = now, self._failed
        said = "later failures are counted until it is back" if first else f"{failed} calls failed since {self._since}"
        again = "" if first else "still "
        self._logger.warning("%s %sunavailable%s: %s (%s)", self._peer, again, self._consequence, _cut(detail), said)

    def ok(self) -> None:
        """Notes a successful call; ends an outage in progress with one line."""
        if self._started is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._started is None:
                return
            lasted, failed = self._clock() - self._started, self._failed
            self._started, self._failed = None, 0
        calls = "call" if failed == 1 else "calls"
        self._logger.info("%s is back after %.1f s, %d %s failed", self._peer, lasted, failed, calls)
