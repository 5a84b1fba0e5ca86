"""Internal errors cannot flood the log: the first of a kind is traced (cut to a bounded size), later ones
are one line per token of the kind's bucket, carrying the count of those left unsaid."""

from __future__ import annotations

import logging

import pytest

from switchyard.runtime.errors import internal_error
from switchyard.runtime.logs import TRACEBACK_CHARS, LogLimiter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _raise(depth: int, message: str) -> None:
    if depth:
        _raise(depth - 1, message)
    raise ValueError(message)


def _error(depth: int = 0, message: str = "Value out of range: 2147483648") -> ValueError:
    try:
        _raise(depth, message)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def test_a_repeated_error_is_traced_once_then_counted_at_the_buckets_rate(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limiter = LogLimiter(burst=3, per_second=0.1, clock=clock)
    log = logging.getLogger("switchyard.test-errors")
    with caplog.at_level(logging.ERROR, logger=log.name):
        for _ in range(1000):
            limiter.internal(log, _error())
    records = [r.getMessage() for r in caplog.records]
    assert len(records) == 3, records
    assert "Traceback" in records[0]
    assert all("Traceback" not in r for r in records[1:])

    caplog.clear()
    clock.now += 10.0  # one token back
    with caplog.at_level(logging.ERROR, logger=log.name):
        limiter.internal(log, _error())
    (line,) = [r.getMessage() for r in caplog.records]
    assert "+997 more" in line and "ValueError at test_error_log.py" in line


KINDS: tuple[type[Exception], ...] = (
    ValueError, KeyError, TypeError, IndexError, RuntimeError, LookupError, ArithmeticError, AttributeError,
)  # fmt: skip


def test_each_kind_has_its_own_bucket_and_the_table_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(burst=1, per_second=0.0, max_kinds=2, clock=Clock())
    log = logging.getLogger("switchyard.test-kinds")
    with caplog.at_level(logging.ERROR, logger=log.name):
        for kind in KINDS:
            for _ in range(50):
                try:
                    raise kind("boom")
                except Exception as exc:
                    limiter.internal(log, exc)
    # The first two kinds are traced once each; the six after them share one bucket ("other").
    assert len(caplog.records) == 3, [r.getMessage()[:80] for r in caplog.records]


def test_a_traceback_is_cut_to_a_bounded_size(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(clock=Clock())
    log = logging.getLogger("switchyard.test-deep")
    with caplog.at_level(logging.ERROR, logger=log.name):
        limiter.internal(log, _error(depth=900, message="x" * 1_000_000))
    (line,) = [r.getMessage() for r in caplog.records]
    assert len(line) < TRACEBACK_CHARS + 500


def test_internal_error_answers_without_the_exceptions_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="switchyard.edge"):
        errors = [internal_error(_error(message="secret request content"), "edge") for _ in range(200)]
    assert {e.status for e in errors} == {500}
    assert all("secret" not in e.message for e in errors)
    assert len(caplog.records) <= 5, "200 identical errors are a handful of lines"
