"""Raw-socket clients for the edge, as an attacker drives it: partial requests, dribbled bytes, timing
measured from the client side against a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

# How long a test waits past a server-side timeout before calling the connection stuck.
SLACK_S = 2.0


def connect(port: int) -> socket.socket:
    """Returns a connected socket to the edge on 127.0.0.1:port."""
    return socket.create_connection(("127.0.0.1", port), timeout=5.0)


@dataclass
class Outcome:
    """How a connection ended: what the server sent, and after how many seconds it closed (None: still open)."""

    data: bytes
    closed_after: float | None

    @property
    def status(self) -> int:
        """Returns the HTTP status the server answered with, 0 when it sent nothing."""
        if not self.data.startswith(b"HTTP/1.1 "):
            return 0
        return int(self.data.split(b" ", 2)[1])

    def json(self) -> dict[str, object]:
        """Returns the JSON body of a response that has a content-length or is chunked once."""
        head, _, body = self.data.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            size, _, rest = body.partition(b"\r\n")
            body = rest[: int(size, 16)]
        parsed = orjson.loads(body)
        assert isinstance(parsed, dict)
        return parsed


def drive(
    sock: socket.socket, deadline_s: float, step: Callable[[], bytes] | None = None, every_s: float = 0.25
) -> Outcome:
    """Reads what the server sends until it closes the connection or deadline_s pass.

    Between reads it sends step() (a dribbled byte, a header line) every every_s seconds; the read
    itself waits for data with that timeout, so the pacing is the socket's, not a sleep. A send or read
    the server cut short (reset, broken pipe) counts as closed.
    """
    started = time.monotonic()
    data = b""
    sock.settimeout(every_s)
    while time.monotonic() - started < deadline_s:
        if step is not None:
            try:
                sock.sendall(step())
            except OSError:
                return Outcome(data + _rest(sock), time.monotonic() - started)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return Outcome(data, time.monotonic() - started)
        if not chunk:
            return Outcome(data, time.monotonic() - started)
        data += chunk
    return Outcome(data, None)


def _rest(sock: socket.socket) -> bytes:
    """Returns what is left to read on a socket the server closed (nothing once it was reset)."""
    sock.settimeout(1.0)
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


def is_open(sock: socket.socket) -> bool:
    """Says whether the server still holds the connection quietly: no answer, no close, no reset."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False
