"""Slow and oversized clients cannot hold the edge: idle connections and slow headers are closed within
the header timeout, a dribbled body within the body timeout (408), a 1 MB header is a 431, oversized
credentials a 431 (never gRPC's retryable 429), connections and requests in flight are capped, and a
normal client is answered while 200 slowloris connections are open. Times are measured by the client."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, MAX_CONNECTIONS, MAX_REQUESTS
from tests.security.sockets import SLACK_S, Outcome, connect, drive, is_open
from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

CHAT = b'{"model": "default", "messages": [{"role": "user", "content": "hi"}]}'
PARTIAL_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: edge\r\n"


def _port(mesh: Mesh) -> int:
    return mesh.ports["edge"]


@contextlib.contextmanager
def sockets(mesh: Mesh, count: int, first: bytes = b"") -> Iterator[list[socket.socket]]:
    """Opens count connections to the edge, each sending first; closes them all at the end."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = connect(_port(mesh))
            if first:
                sock.sendall(first)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def test_an_idle_connection_is_closed_within_the_header_timeout(open_mesh: Mesh) -> None:
    with sockets(open_mesh, 1) as (sock,):
        outcome = drive(sock, HEADER_TIMEOUT_S + SLACK_S)
    assert outcome.closed_after is not None, "an idle connection was held past the header timeout"
    assert outcome.closed_after < HEADER_TIMEOUT_S + SLACK_S
    assert outcome.data == b""


def test_headers_sent_slowly_are_cut_with_a_408_within_the_header_timeout(open_mesh: Mesh) -> None:
    counter = iter(range(10**6))

    def header_line() -> bytes:
        return f"x-slow-{next(counter)}: 1\r\n".encode()

    with sockets(open_mesh, 1, PARTIAL_HEAD) as (sock,):
        outcome = drive(sock, HEADER_TIMEOUT_S + SLACK_S, step=header_line)
    assert outcome.closed_after is not None, "slow headers held the connection past the header timeout"
    assert outcome.closed_after < HEADER_TIMEOUT_S + SLACK_S
    assert outcome.status == 408
    assert outcome.json()["error"]["type"] == "invalid_request_error"  # type: ignore[index]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_body_dribbled_byte_by_byte_is_cut_with_a_408_within_the_body_timeout(open_mesh: Mesh, path: str) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: edge\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n"
    with sockets(open_mesh, 1, head.encode()) as (sock,):
        outcome = drive(sock, BODY_TIMEOUT_S + SLACK_S, step=lambda: b" ")
    assert outcome.closed_after is not None, "a dribbled body held the request past the body timeout"
    assert outcome.closed_after < BODY_TIMEOUT_S + SLACK_S
    assert outcome.status == 408
    body = outcome.json()
    if path == "/v1/messages":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    else:
        assert "did not arrive" in body["error"]["message"]  # type: ignore[index]


def test_a_one_megabyte_header_is_a_431(open_mesh: Mesh) -> None:
    big = b"x-big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    pieces = iter([big[i : i + 16384] for i in range(0, len(big), 16384)])
    with sockets(open_mesh, 1, PARTIAL_HEAD) as (sock,):
        outcome = drive(sock, 10.0, step=lambda: next(pieces, b""), every_s=0.01)
    assert outcome.status == 431, outcome.data[:200]
    assert outcome.json()["error"]["type"] == "invalid_request_error"  # type: ignore[index]


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_credentials_too_large_for_grpc_metadata_are_a_431_not_a_retryable_429(open_mesh: Mesh, header: str) -> None:
    value = ("Bearer " if header == "authorization" else "") + "sk-" + "a" * 20000
    reply = httpx.post(
        f"{open_mesh.edge_url}/v1/chat/completions",
        content=CHAT,
        headers={header: value, "content-type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 431, reply.text
    assert reply.json()["error"]["param"] == "authorization"
    assert "retry-after" not in reply.headers


def test_a_normal_client_is_answered_while_200_slowloris_connections_are_open(open_mesh: Mesh) -> None:
    with sockets(open_mesh, 200, PARTIAL_HEAD) as held:
        started = time.monotonic()
        reply = httpx.post(
            f"{open_mesh.edge_url}/v1/chat/completions",
            content=CHAT,
            headers={"content-type": "application/json"},
            timeout=HEADER_TIMEOUT_S,
        )
        answered_after = time.monotonic() - started
        still_open = sum(is_open(sock) for sock in held)
        assert reply.status_code == 200, reply.text
        assert still_open == len(held), "the slow connections should still be held while the client is served"
        assert answered_after < HEADER_TIMEOUT_S
        # And then every one of them is cut at the header timeout.
        outcomes = [drive(sock, HEADER_TIMEOUT_S + SLACK_S) for sock in held]
    assert all(o.closed_after is not None for o in outcomes), "slow connections outlived the header timeout"


def test_connections_past_the_cap_get_a_503_and_are_closed(open_mesh: Mesh) -> None:
    with sockets(open_mesh, MAX_CONNECTIONS), sockets(open_mesh, 1) as (extra,):
        outcome: Outcome = drive(extra, 5.0)
    assert outcome.closed_after is not None and outcome.status == 503, outcome.data[:200]
    assert outcome.json()["error"]["type"] == "server_error"  # type: ignore[index]
    # The held connections are gone: the next client is served again.
    wait_until_sync(lambda: _chat(open_mesh).status_code == 200, 10, "the edge to serve after the flood")


def _chat(mesh: Mesh) -> httpx.Response:
    return httpx.post(
        f"{mesh.edge_url}/v1/chat/completions", content=CHAT, headers={"content-type": "application/json"}, timeout=5
    )


def test_requests_past_the_in_flight_cap_get_a_503_with_retry_after_and_health_still_answers(
    open_mesh: Mesh,
) -> None:
    head = PARTIAL_HEAD + b"content-type: application/json\r\ncontent-length: 99\r\n\r\n"
    replies: list[httpx.Response] = []

    def refused() -> bool:
        replies.append(_chat(open_mesh))
        return replies[-1].status_code == 503

    # The held requests are in flight (waiting for their bodies) once the edge has read their headers.
    with sockets(open_mesh, MAX_REQUESTS, head):
        wait_until_sync(refused, BODY_TIMEOUT_S, "the held requests to fill the in-flight cap")
        assert httpx.get(f"{open_mesh.edge_url}/healthz", timeout=5).status_code == 200
    busy = replies[-1]
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["type"] == "server_error"
