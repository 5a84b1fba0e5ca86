"""Log lines an operator can use: timestamped, optionally JSON with request and trace ids, and a peer
outage said in two lines however many requests it fails."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from switchyard.runtime.logs import (
    LOG_FORMAT_ENV,
    REQUEST_ID,
    JsonFormatter,
    OutageLog,
    TextFormatter,
    log_format,
    setup_logging,
    stamp_line,
)

ISO_MS_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def _record(message: str = "hello %s", *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("switchyard.router", level, __file__, 1, message, args or ("world",), None)


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level restored after the test (setup_logging replaces them)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_start_with_the_utc_time_to_the_millisecond() -> None:
    record = _record()
    record.created = 1_780_000_000.25

    line = TextFormatter().format(record)

    assert line == "2026-05-28T20:26:40.250Z WARNING switchyard.router: hello world"


def test_setup_logging_writes_timestamped_lines_by_default(
    root_logging: logging.Logger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(LOG_FORMAT_ENV, raising=False)
    setup_logging("info")

    logging.getLogger("switchyard.cache").info("ready")

    assert re.fullmatch(rf"{ISO_MS_UTC} INFO switchyard\.cache: ready\n", capsys.readouterr().err)


def test_json_lines_carry_the_request_and_the_current_span(
    root_logging: logging.Logger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LOG_FORMAT_ENV, "json")
    setup_logging("info", service="router")
    tracer = TracerProvider().get_tracer("test")

    token = REQUEST_ID.set("req-123")
    try:
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("switchyard.router").warning("cache at %s unavailable", "127.0.0.1:1")
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("switchyard.router").info("idle")

    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert re.fullmatch(ISO_MS_UTC, first["time"])
    assert first["level"] == "WARNING" and first["logger"] == "switchyard.router"
    assert first["message"] == "cache at 127.0.0.1:1 unavailable" and first["service"] == "router"
    assert first["request_id"] == "req-123"
    assert first["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert first["span_id"] == f"{span.get_span_context().span_id:016x}"
    # Outside a request and a span, the line says neither.
    assert second["message"] == "idle" and not {"request_id", "trace_id", "span_id"} & second.keys()


def test_json_lines_keep_the_traceback_in_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())

    line = JsonFormatter("edge").format(record)

    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]


def test_an_unknown_format_is_refused_by_name() -> None:
    assert log_format("") == "text" and log_format("JSON") == "json"
    with pytest.raises(ValueError, match=LOG_FORMAT_ENV):
        log_format("yaml")


def test_up_prefixes_child_lines_and_stamps_those_without_a_time() -> None:
    stamped = "2026-01-02T03:04:05.678Z INFO switchyard.router: serving"
    assert stamp_line(stamped, "router", "text") == f"router     | {stamped}"
    assert re.fullmatch(
        rf"fake       \| {ISO_MS_UTC} Traceback \(most recent call last\):",
        stamp_line("Traceback (most recent call last):", "fake", "text"),
    )
    obj = '{"time": "t", "message": "m"}'
    assert stamp_line(obj, "edge", "json") == obj
    wrapped = json.loads(stamp_line("plain output", "edge", "json"))
    assert wrapped["message"] == "plain output" and wrapped["service"] == "edge"
    assert re.fullmatch(ISO_MS_UTC, wrapped["time"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _outage(clock: Clock) -> tuple[OutageLog, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger("test.outage")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.propagate, logger.level = False, logging.INFO
    return OutageLog(logger, "cache at 127.0.0.1:1", "skipping it", clock=clock, wall=lambda: 0.0), stream


def test_an_outage_is_one_line_however_many_calls_fail_and_one_when_it_ends() -> None:
    clock = Clock()
    outage, stream = _outage(clock)

    outage.ok()  # a healthy peer says nothing
    for _ in range(473):
        outage.failed("UNAVAILABLE: connection refused")
        clock.now += 0.01
    assert outage.down
    clock.now += 3.47
    outage.ok()
    outage.ok()

    lines = stream.getvalue().splitlines()
    assert lines == [
        "cache at 127.0.0.1:1 unavailable, skipping it: UNAVAILABLE: connection refused "
        "(later failures are counted until it is back)",
        "cache at 127.0.0.1:1 is back after 8.2 s, 473 calls failed",
    ]
    assert not outage.down


def test_a_long_outage_is_recalled_with_its_count_at_most_once_a_minute() -> None:
    clock = Clock()
    outage, stream = _outage(clock)

    for _ in range(120):
        outage.failed("deadline exceeded")
        clock.now += 1.0

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1] == (
        "cache at 127.0.0.1:1 still unavailable, skipping it: deadline exceeded (61 calls failed since 00:00:00Z)"
    )


def test_a_second_outage_is_said_again() -> None:
    clock = Clock()
    outage, stream = _outage(clock)

    outage.failed("down")
    outage.ok()
    outage.failed("down again")
    outage.ok()

    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("cache at 127.0.0.1:1 unavailable, skipping it: down (")
    assert lines[1] == lines[3] == "cache at 127.0.0.1:1 is back after 0.0 s, 1 call failed"
    assert lines[2].startswith("cache at 127.0.0.1:1 unavailable, skipping it: down again (")
