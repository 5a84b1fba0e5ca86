"""Prometheus metrics shared by every service: one registry, one exposition format, one HTTP endpoint.

Each service defines its own metrics in its own `metrics` module against `REGISTRY` and serves them
at `/metrics`: the edge on its HTTP port (`exposition()` plus `observe_http` for its own requests),
the gRPC services on their metrics port (`serve_metrics`, started and stopped with the service).

Label values that come from clients (aliases, feature tags) pass through `Bounded`, so a caller
cannot grow a metric without limit: past a label's first values, new ones are counted as "other".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
# OTHER stands for every label value past a Bounded label's limit.
OTHER = "other"
# NONE stands for a label with no value (e.g. the provider of a cache hit), so queries can name it.
NONE = "none"
# Buckets of whole-request latency in seconds: LLM calls take from tens of milliseconds to minutes.
LATENCY_BUCKETS_S: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# Buckets of time to first token in seconds.
TTFT_BUCKETS_S: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def exposition() -> tuple[str, bytes]:
    """Returns (content type, body) of the registry in Prometheus' text format."""
    return CONTENT_TYPE_LATEST, generate_latest(REGISTRY)


@dataclass
class Bounded:
    """Keeps the first `limit` distinct values of one label; later new values become "other"."""

    limit: int = 200
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, value: str) -> str:
        """Returns value as it may appear in a label: itself if known or room is left, else "other"."""
        if not value:
            return NONE
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
        return value


def label(value: str) -> str:
    """Returns a label value from a bounded source (config names, enums), "none" when empty."""
    return value or NONE


def read_on_loop(
    loop: asyncio.AbstractEventLoop,
    read: Callable[[], Sequence[Metric]],
    empty: Callable[[], Sequence[Metric]],
    timeout: float = 1.0,
) -> Sequence[Metric]:
    """Returns read() run on loop, for a collector whose readings belong to a service's event loop.

    Scrapes arrive on the metrics thread while the loop mutates what they read; running the read on
    the loop keeps it consistent. A loop that is not running or does not answer within timeout
    gives empty(): the metrics without samples in this scrape.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return read()
    if not loop.is_running():
        return empty()

    async def on_loop() -> Sequence[Metric]:
        return read()

    future = asyncio.run_coroutine_threadsafe(on_loop(), loop)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        return empty()


class LoopCollector(Collector):
    """Metrics read at scrape time from a service's state, on the event loop that owns it (read_on_loop).

    `empty` gives the metrics with no samples: what is described, and what a scrape gets before
    `watch` or while the loop does not answer.
    """

    def __init__(self, empty: Callable[[], Sequence[Metric]]) -> None:
        self._empty = empty
        self._watched: tuple[Callable[[], Sequence[Metric]], asyncio.AbstractEventLoop] | None = None

    def watch(self, read: Callable[[], Sequence[Metric]]) -> None:
        """Makes scrapes call read on the running event loop (call once at start, on that loop)."""
        self._watched = (read, asyncio.get_running_loop())

    def describe(self) -> Iterable[Metric]:
        return self._empty()

    def collect(self) -> Iterable[Metric]:
        if self._watched is None:
            return self._empty()
        read, loop = self._watched
        return read_on_loop(loop, read, self._empty)


@dataclass
class MetricsEndpoint:
    """A running `/metrics` HTTP endpoint on its own thread; `close()` stops it."""

    port: int
    _server: WSGIServer | None = None
    _thread: threading.Thread | None = None

    def close(self) -> None:
        """Stops serving and frees the port (does nothing when the endpoint never started)."""
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
        self._server = self._thread = None


def serve_metrics(host: str, port: int) -> MetricsEndpoint:
    """Serves the registry at http://host:port/metrics on a daemon thread; port 0 turns it off.

    A port already in use is logged and the service runs on without metrics: losing the scrape is
    better than refusing to serve traffic.
    """
    if port == 0:
        return MetricsEndpoint(0)
    try:
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        log.error("metrics endpoint off: cannot listen on %s:%d: %s", host, port, exc)
        return MetricsEndpoint(0)
    log.info("metrics at http://%s:%d/metrics", host, port)
    return MetricsEndpoint(port, server, thread)


HTTP_REQUESTS = Counter(
    "switchyard_edge_http_requests_total",
    "HTTP requests the edge answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "switchyard_edge_http_request_duration_seconds",
    "Time the edge took to answer an HTTP request (until the response started, streams included whole).",
    ["route", "method"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
_routes = Bounded(limit=100)


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    """Counts one HTTP request the edge answered; route is the path template (e.g. /v1/chat/completions)."""
    name, verb = _routes(route), method.upper()
    HTTP_REQUESTS.labels(name, verb, str(status)).inc()
    HTTP_DURATION.labels(name, verb).observe(seconds)
