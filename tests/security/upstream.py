"""A hostile OpenAI-compatible upstream: it refuses every call and echoes the caller's API key in its
error, cut and masked the way real providers quote keys, in the message, the type, the code and the param."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

# The deployment key the gateway sends it (a Google-style key: the shape providers' echoes cut worst).
LEAKED_KEY = "AIzaSyLEAKtest0123456789abcdefWXYZ"
# Pieces of the key a client must never see in any form.
KEY_PIECES = ("AIzaSy", "LEAK", "WXYZ", LEAKED_KEY)


def echoes(key: str) -> dict[str, object]:
    """Returns the error object the upstream answers a call made with key."""
    return {
        "message": (
            f"Incorrect API key provided: {key[:6]}...{key[-4:]}. "
            f"A key ending in ****{key[-4:]} was revoked; the key {key[:6]}…{key[-4:]} is not valid."
        ),
        "type": "invalid_request_error",
        "param": f"****{key[-4:]}",
        "code": "invalid_api_key",
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        body = orjson.dumps({"error": echoes(key)})
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keeps the test's output clean: the upstream logs nothing."""


class LeakyUpstream:
    """The hostile upstream on a free loopback port, served from a daemon thread until close()."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops serving and frees the port."""
        self._server.shutdown()
        self._server.server_close()
