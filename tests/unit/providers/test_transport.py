"""The lean HTTP/1.1 transport for http:// upstreams, against a real HTTP server on a loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from switchyard.services.providers.adapters.base import ClientPool
from switchyard.services.providers.adapters.transport import Http1Transport
from tests.support import wait_until

# Writes the response to one request (given its path); returns whether the connection stays open.
Respond = Callable[[asyncio.StreamWriter, str], Awaitable[bool]]


def ok(body: bytes = b"hello") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


async def answer(writer: asyncio.StreamWriter, path: str) -> bool:
    writer.write(ok(path.encode()))
    await writer.drain()
    return True


class Upstream:
    """An HTTP/1.1 server on 127.0.0.1 that answers each request with `respond`, counting its connections."""

    def __init__(self, respond: Respond = answer) -> None:
        self.respond = respond
        self.accepted = 0
        self.active = 0
        self.peak = 0
        self.requests = 0
        # Connections the client closed (EOF seen while waiting for the next request).
        self.closed_by_client = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Upstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    return
                lines = head.decode().split("\r\n")
                length = next(
                    (int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")), 0
                )
                await reader.readexactly(length)
                self.requests += 1
                if not await self.respond(writer, lines[0].split(" ")[1]):
                    return
        finally:
            self.active -= 1
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


def client(limits: httpx.Limits | None = None, pool_timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Http1Transport(limits), timeout=httpx.Timeout(5.0, pool=pool_timeout))


# ------------------------------------------------------------------------------------------ framing


async def test_content_length_body() -> None:
    async with Upstream() as server, client() as http:
        response = await http.post(f"{server.url}/echo", content=b"x" * 10)
    assert response.status_code == 200
    assert response.text == "/echo"
    assert response.headers["content-type"] == "text/plain"


async def test_chunked_body_split_across_writes_with_extensions_and_trailers() -> None:
    async def chunked(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel")
        await writer.drain()
        writer.write(b"lo\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n")
        await writer.drain()
        return True

    async with Upstream(chunked) as server, client() as http:
        first = await http.get(f"{server.url}/a")
        second = await http.get(f"{server.url}/b")
    assert first.text == second.text == "hello world"
    assert server.accepted == 1, "a chunked body that ended cleanly leaves its connection reusable"


async def test_body_until_close_without_length() -> None:
    async def until_close(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        await writer.drain()
        return False

    async with Upstream(until_close) as server, client() as http:
        assert (await http.get(f"{server.url}/")).text == "all of it"
        assert (await http.get(f"{server.url}/")).text == "all of it"
    assert server.accepted == 2


async def test_bytes_past_content_length_are_not_body_and_the_connection_is_not_reused() -> None:
    async def overlong(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokGARBAGE")
        await writer.drain()
        return True

    async with Upstream(overlong) as server, client() as http:
        assert (await http.get(f"{server.url}/")).content == b"ok"
        assert (await http.get(f"{server.url}/")).content == b"ok"
    assert server.accepted == 2


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n",
        b"NOT-HTTP 200 OK\r\n\r\n",
    ],
    ids=["negative-chunk-size", "0x-chunk-size", "no-crlf-after-chunk", "negative-length", "status-line"],
)
async def test_malformed_framing_is_a_protocol_error(head: bytes) -> None:
    async def malformed(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(head)
        await writer.drain()
        return True

    async with Upstream(malformed) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"{server.url}/")
        await wait_until(lambda: server.closed_by_client == 1, what="the broken connection closed")


# ------------------------------------------------------------------------------ connection loss


@pytest.mark.parametrize(
    "partial",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n64\r\nonly ten..",
    ],
    ids=["content-length", "chunked"],
)
async def test_connection_lost_mid_body_is_a_clear_error(partial: bytes) -> None:
    async def cut(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(partial)
        await writer.drain()
        return False

    async with Upstream(cut) as server, client() as http, http.stream("GET", f"{server.url}/") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match="closed the connection before the body ended"):
            await response.aread()


async def test_connection_lost_before_the_response_is_a_clear_error() -> None:
    async def hang_up(writer: asyncio.StreamWriter, path: str) -> bool:
        return False

    async with Upstream(hang_up) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without a response"):
            await http.get(f"{server.url}/")


async def test_idle_connection_closed_by_the_upstream_is_replaced_transparently() -> None:
    async def once(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(ok())
        await writer.drain()
        return False  # the server closes after each response, without saying `connection: close`

    async with Upstream(once) as server, client() as http:
        assert (await http.get(f"{server.url}/")).text == "hello"
        await wait_until(lambda: server.active == 0, what="the server closed its side")
        assert (await http.get(f"{server.url}/")).text == "hello"
    assert server.accepted == 2


# ------------------------------------------------------------------------------- the pool


async def test_keep_alive_reuses_one_connection(upstream: Upstream) -> None:
    async with client() as http:
        for n in range(5):
            assert (await http.get(f"{upstream.url}/{n}")).text == f"/{n}"
    assert upstream.accepted == 1
    assert upstream.requests == 5


async def test_connection_close_header_is_honoured() -> None:
    async def closing(writer: asyncio.StreamWriter, path: str) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async with Upstream(closing) as server, client() as http:
        await http.get(f"{server.url}/")
        await wait_until(lambda: server.closed_by_client == 1, what="the client closed the connection")
        await http.get(f"{server.url}/")
    assert server.accepted == 2


class Gate:
    """A responder that holds every response until released, so requests stay in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, writer: asyncio.StreamWriter, path: str) -> bool:
        await self.release.wait()
        return await answer(writer, path)


async def test_max_connections_caps_open_connections_and_queues_the_rest() -> None:
    gate = Gate()
    async with Upstream(gate) as server, client(httpx.Limits(max_connections=2)) as http:
        calls = [asyncio.create_task(http.get(f"{server.url}/{n}")) for n in range(6)]
        await wait_until(lambda: server.requests == 2, what="two requests in flight")
        assert server.accepted == 2
        gate.release.set()
        responses = await asyncio.gather(*calls)
    assert [r.text for r in responses] == [f"/{n}" for n in range(6)]
    assert server.peak == 2
    assert server.accepted == 2, "queued requests reuse the connections that came free"


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    gate = Gate()
    async with Upstream(gate) as server, client(httpx.Limits(max_connections=1), pool_timeout=0.2) as http:
        busy = asyncio.create_task(http.get(f"{server.url}/busy"))
        await wait_until(lambda: server.requests == 1, what="one request in flight")
        with pytest.raises(httpx.PoolTimeout, match="max_connections=1"):
            await http.get(f"{server.url}/waiting")
        gate.release.set()
        assert (await busy).text == "/busy"


async def test_cancelled_call_frees_its_connection() -> None:
    gate = Gate()
    transport = Http1Transport(httpx.Limits(max_connections=1))
    async with Upstream(gate) as server, httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        stuck = asyncio.create_task(http.get(f"{server.url}/stuck"))
        await wait_until(lambda: server.requests == 1, what="one request in flight")
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        assert transport.open_connections == 0
        gate.release.set()
        assert (await http.get(f"{server.url}/next")).text == "/next"


async def test_stream_closed_early_closes_its_connection(upstream: Upstream) -> None:
    transport = Http1Transport()
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        async with http.stream("GET", f"{upstream.url}/x"):
            pass  # the body is never read: the connection cannot be reused
        assert transport.open_connections == 0
        await wait_until(lambda: upstream.closed_by_client == 1, what="the upstream saw the close")


async def test_max_keepalive_zero_keeps_no_idle_connection(upstream: Upstream) -> None:
    transport = Http1Transport(httpx.Limits(max_keepalive_connections=0))
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        await http.get(f"{upstream.url}/")
        assert transport.open_connections == 0
        await http.get(f"{upstream.url}/")
    assert upstream.accepted == 2


async def test_idle_connections_expire_after_keepalive_expiry(upstream: Upstream) -> None:
    transport = Http1Transport(httpx.Limits(keepalive_expiry=0.0))
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        await http.get(f"{upstream.url}/")
        await http.get(f"{upstream.url}/")
        await wait_until(lambda: upstream.closed_by_client == 1, what="the expired connection closed")
    assert upstream.accepted == 2


async def test_idle_connections_within_keepalive_expiry_are_reused(upstream: Upstream) -> None:
    async with client(httpx.Limits(keepalive_expiry=60.0)) as http:
        await http.get(f"{upstream.url}/")
        await http.get(f"{upstream.url}/")
    assert upstream.accepted == 1


async def test_client_pool_hands_its_limits_to_the_transport() -> None:
    gate = Gate()
    async with Upstream(gate) as server:
        pool = ClientPool([server.url], max_connections=1, max_keepalive=1)
        http = pool.get(server.url)
        try:
            calls = [asyncio.create_task(http.get(f"{server.url}/{n}")) for n in range(3)]
            await wait_until(lambda: server.requests == 1, what="a request in flight")
            gate.release.set()
            await asyncio.gather(*calls)
        finally:
            await pool.aclose()
    assert server.peak == 1
    assert server.accepted == 1
