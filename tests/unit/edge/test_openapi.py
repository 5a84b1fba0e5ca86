"""GET /openapi.json lists exactly the routes the edge serves: a route added to one and not the other fails here."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from grpc import aio
from opentelemetry import trace

from switchyard.runtime.telemetry import Telemetry
from switchyard.services.edge import openapi
from switchyard.services.edge.app import Edge


def _concrete(path: str) -> str:
    return path.replace("{model}", "some-model").replace("{name}", "some-experiment")


async def _request(app: Edge, method: str, path: str) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        try:
            return next(messages)
        except StopIteration:
            await asyncio.Event().wait()  # the client sends nothing more (until the app is done with it)
            raise AssertionError("unreachable") from None

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _edge() -> Edge:
    # A router that is never reached: calls fail fast, which is all a routing check needs.
    channel = aio.insecure_channel("127.0.0.1:1")
    return Edge(channel, Telemetry("edge", False, trace.NoOpTracer()), 65536, 0.2, {})


async def _ask(method: str, path: str) -> tuple[int, bytes]:
    return await _request(_edge(), method, path)


def test_the_document_lists_exactly_the_routes_the_edge_serves() -> None:
    async def served() -> set[tuple[str, str]]:
        return _edge().operations()

    documented, actual = openapi.operations(), asyncio.run(served())
    assert documented - actual == set(), "documented but not served"
    assert actual - documented == set(), "served but not documented"


def test_every_documented_route_is_answered_not_unknown() -> None:
    async def run() -> list[tuple[str, str, int, bytes]]:
        edge = _edge()
        return [
            (method, path, *(await _request(edge, method, _concrete(path))))
            for method, path in sorted(openapi.operations())
        ]

    for method, path, status, body in asyncio.run(run()):
        assert b"unknown_url" not in body, (method, path, status)


def test_an_undocumented_path_is_unknown() -> None:
    status, body = asyncio.run(_ask("GET", "/v1/not-a-route"))
    assert status == 404 and b"unknown_url" in body


def test_the_document_is_served_and_is_openapi_3_1() -> None:
    status, body = asyncio.run(_ask("GET", "/openapi.json"))
    document = orjson.loads(body)
    assert status == 200 and document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {path for _, path in openapi.operations()}
