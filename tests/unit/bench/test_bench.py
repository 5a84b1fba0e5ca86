"""bench/loadgen: percentile math, and the HTTP/1.1 + SSE client against a real asyncio HTTP server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import yaml

from bench.loadgen import (
    Connection,
    Endpoint,
    HttpError,
    LoadSpec,
    Response,
    build_body,
    build_head,
    percentile,
    run_load,
    summarize,
)
from bench.run import BENCH_KEY, markdown, mesh_config, overhead, parse_args
from switchyard.config import parse_config
from switchyard.config.governance import master_key_of

CHUNKS = 5
REPLY = {"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}


@dataclass
class Upstream:
    """A tiny OpenAI-shaped HTTP/1.1 server; the first path segment picks how it frames the response."""

    port: int = 0
    connections: int = 0
    bodies: list[bytes] = field(default_factory=list)

    def url(self, flavour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{flavour}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head.decode().split("\r\n")
                pairs = (line.partition(":") for line in lines[1:] if line)
                headers = {name.lower(): value.strip() for name, _, value in pairs}
                body = await reader.readexactly(int(headers["content-length"]))
                self.bodies.append(body)
                flavour = lines[0].split(" ")[1].split("/")[1]
                writer.write(self.respond(flavour))
                await writer.drain()
                if flavour == "close":
                    return
        finally:
            writer.close()

    def respond(self, flavour: str) -> bytes:
        payload = json.dumps(REPLY).encode()
        if flavour == "cl":
            return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
                len(payload),
                payload,
            )
        if flavour == "err":
            return b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nboom"
        if flavour == "close":
            return b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + payload
        if flavour == "chunked":
            return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + _chunked([payload[:10], payload[10:]])
        return _sse(done=flavour == "sse")


def _chunked(pieces: list[bytes]) -> bytes:
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _sse(done: bool) -> bytes:
    """Returns a chunked SSE response: a role-only chunk, CHUNKS content chunks, then [DONE] if done."""
    events = [b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n']
    events += [b'data: {"choices":[{"index":0,"delta":{"content":"w%d "}}]}\n\n' % i for i in range(CHUNKS)]
    if done:
        events.append(b"data: [DONE]\n\n")
    # Split one event across two HTTP chunks so the client must buffer partial events.
    events[1:2] = [events[1][:7], events[1][7:]]
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + _chunked(events)


@asynccontextmanager
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def _request(url: str, stream: bool = False, connection: Connection | None = None) -> Response:
    endpoint = Endpoint.from_base_url(url)
    conn = connection or Connection(endpoint)
    return await conn.request(build_head(endpoint), build_body("m", stream), stream)


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 99) == pytest.approx(9.91)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summarize_sorts_before_taking_percentiles() -> None:
    stats = summarize([30.0, 10.0, 20.0, 40.0])
    assert stats == {"p50": pytest.approx(25.0), "p95": pytest.approx(38.5), "p99": pytest.approx(39.7)}


def test_overhead_is_gateway_minus_direct_per_percentile() -> None:
    gateway = {"p50_ms": 12.0, "p95_ms": 20.0, "p99_ms": 31.0, "rps": 80.0}
    direct = {"p50_ms": 10.0, "p95_ms": 15.0, "p99_ms": 16.0, "rps": 100.0}
    assert overhead(gateway, direct) == {
        "p50_ms": 2.0,
        "p95_ms": 5.0,
        "p99_ms": 15.0,
        "rps_ratio": 0.8,
    }


def test_base_url_becomes_the_chat_completions_path() -> None:
    endpoint = Endpoint.from_base_url("http://127.0.0.1:9700/v1/")
    assert endpoint == Endpoint("127.0.0.1", 9700, "/v1/chat/completions")
    with pytest.raises(ValueError):
        Endpoint.from_base_url("https://example.com/v1")


async def test_content_length_and_chunked_bodies_are_read_whole_on_one_connection() -> None:
    async with upstream() as server:
        endpoint = Endpoint.from_base_url(server.url("cl"))
        connection = Connection(endpoint)
        for _ in range(3):
            response = await _request(server.url("cl"), connection=connection)
            assert response.status == 200
            assert json.loads(response.body) == REPLY
        chunked = await _request(server.url("chunked"), connection=connection)
        assert json.loads(chunked.body) == REPLY
        connection.close()
        assert server.connections == 1, "keep-alive was not used"


async def test_a_connection_close_response_is_read_to_eof_and_the_next_request_reconnects() -> None:
    async with upstream() as server:
        connection = Connection(Endpoint.from_base_url(server.url("close")))
        for _ in range(2):
            response = await _request(server.url("close"), connection=connection)
            assert json.loads(response.body) == REPLY
        assert server.connections == 2


async def test_sse_is_read_until_done_counting_chunks_and_first_content_time() -> None:
    async with upstream() as server:
        response = await _request(server.url("sse"), stream=True)
        assert response.status == 200
        # The role-only first chunk counts as a chunk but not as content.
        assert response.chunks == CHUNKS + 1
        assert response.ttft is not None and response.ttft > 0


async def test_a_stream_that_ends_without_done_is_an_error() -> None:
    async with upstream() as server:
        with pytest.raises(HttpError, match="without data: \\[DONE\\]"):
            await _request(server.url("cut"), stream=True)


async def test_run_load_keeps_one_connection_per_worker_and_counts_streams() -> None:
    async with upstream() as server:
        spec = LoadSpec(server.url("sse"), "m", stream=True, concurrency=3, duration=0.3, warmup=0.05)
        stats = await run_load(spec)
    assert stats.requests > 0 and stats.errors == 0
    assert stats.rps == pytest.approx(stats.requests / 0.3)
    assert stats.mean_chunks == CHUNKS + 1
    assert stats.ttft_p50_ms is not None and 0 < stats.ttft_p50_ms <= stats.p99_ms
    assert 0 < stats.p50_ms <= stats.p95_ms <= stats.p99_ms
    assert server.connections == 3
    # Every prompt is unique, so no cache in between could answer from memory.
    assert len(set(server.bodies)) == len(server.bodies)
    assert all(b"@@NONCE@@" not in body and json.loads(body)["stream"] is True for body in server.bodies)


async def test_run_load_counts_non_2xx_and_broken_streams_as_errors() -> None:
    async with upstream() as server:
        failing = await run_load(LoadSpec(server.url("err"), "m", concurrency=2, duration=0.2, warmup=0.0))
        cut = await run_load(LoadSpec(server.url("cut"), "m", stream=True, duration=0.2, warmup=0.0))
    assert failing.errors == failing.requests > 0
    assert failing.rps == 0 and math.isnan(failing.p50_ms)
    assert failing.error_reasons == {"HTTP 500": failing.errors}
    assert cut.errors == cut.requests > 0


def test_the_bench_mesh_config_loads_and_sends_every_deployment_to_the_bench_upstream() -> None:
    ports = {"edge": 18080, "router": 18051, "classifier": 18052, "cache": 18053, "providers": 18054}
    config = parse_config(yaml.safe_dump(mesh_config("http://127.0.0.1:19700/v1", ports, cache=False)))
    assert {e.litellm_params.api_base for e in config.model_list} == {"http://127.0.0.1:19700/v1"}
    assert not config.switchyard.fake_provider.enabled
    assert not config.switchyard.cache_enabled
    assert config.switchyard.services.edge.port == 18080
    assert config.switchyard.services.providers.port == 18054
    assert "default" in config.groups()


def test_the_markdown_report_has_a_row_per_run_and_an_overhead_row() -> None:
    direct = {"rps": 100.0, "p50_ms": 10.0, "p95_ms": 15.0, "p99_ms": 16.0, "ttft_p50_ms": None, "errors": 0}
    gateway = {**direct, "rps": 80.0, "p50_ms": 12.5}
    cell = {"mode": "plain", "concurrency": 32, "direct": direct, "gateway": gateway}
    cell["overhead"] = overhead(gateway, direct)
    lines = markdown({"cells": [cell]}).splitlines()
    assert len(lines) == 5
    assert lines[2].startswith("| plain | 32 | direct | 100.0 | 10.00 |")
    assert "| **overhead** | x0.80 | +2.50 | +0.00 |" in lines[4]


def test_mesh_config_for_another_wire_format_routes_every_group_to_its_fake() -> None:
    ports = {name: 40000 + i for i, name in enumerate(("edge", "router", "classifier", "cache", "providers"))}
    config = parse_config(yaml.safe_dump(mesh_config("http://127.0.0.1:9999", ports, provider="gemini")))
    assert {entry.provider for entry in config.model_list} == {"gemini"}
    assert {entry.litellm_params.api_base for entry in config.model_list} == {"http://127.0.0.1:9999"}
    assert "default" in config.groups()
    assert {"fast", "cheap"} <= set(config.switchyard.aliases)


def test_adapter_translation_bench_measures_every_wire_format() -> None:
    from bench.adapters import measure

    rows = measure(rounds=1)
    expected = ["openai", "anthropic", "gemini", "bedrock", "vertex_ai gemini", "vertex_ai claude"]
    assert [row["provider"] for row in rows] == expected
    for row in rows:
        assert row["stream_chunks"] >= 8, "the fakes' real streams were translated"
        assert row["request_us"] > 0 and row["reply_us"] > 0 and row["per_chunk_us"] > 0


def test_a_governed_bench_mesh_holds_every_request_against_key_team_and_app_budgets() -> None:
    ports = {name: 41000 + i for i, name in enumerate(("edge", "router", "classifier", "cache", "providers"))}
    config = parse_config(yaml.safe_dump(mesh_config("http://127.0.0.1:9999", ports, governed=True)))
    assert master_key_of(config.general_settings)
    (key,) = config.switchyard.governance.keys
    assert key.token == hashlib.sha256(BENCH_KEY.encode()).hexdigest()
    assert (key.team_id, key.app, key.rpm_limit) == ("bench", "bench", 10_000_000)
    assert [team.team_id for team in config.switchyard.governance.teams] == [key.team_id]
    assert set(config.switchyard.governance.apps) == {key.app}
    assert parse_args(["--governed"]).api_key == BENCH_KEY
