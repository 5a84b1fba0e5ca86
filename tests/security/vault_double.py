"""A test double of HashiCorp Vault (not of Switchyard): the KV v2 endpoints hvac drives, on loopback.

Vault cannot be installed here (Debian has no package and its dev server is a binary download), so
this serves what hvac's `secrets.kv.v2` calls, the way Vault answers them:

    GET  /v1/{mount}/data/{path}    the latest version: {"data": {"data": {...}, "metadata": {...}}}
    POST /v1/{mount}/data/{path}    a new version from {"data": {...}} (hvac's create_or_update_secret)

A request without the right X-Vault-Token gets 403 {"errors": ["permission denied"]}, a path never
written 404 {"errors": []}, and every request 503 {"errors": ["Vault is sealed"]} while `sealed` is set.
Reads are counted per path; tokens are never logged.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class VaultDouble:
    """KV v2 on a free loopback port, served from a daemon thread until close()."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.sealed = False
        self.reads: Counter[str] = Counter()
        self._secrets: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops serving and frees the port."""
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, token: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Returns (status, JSON body) for one request, as Vault would."""
        if self.sealed:
            return 503, {"errors": ["Vault is sealed"]}
        if token != self.token:
            return 403, {"errors": ["permission denied"]}
        mount, sep, secret = path.removeprefix("/v1/").partition("/data/")
        if not sep or not secret:
            return 404, {"errors": []}
        where = f"{mount}/data/{secret}"
        with self._lock:
            versions = self._secrets.setdefault(where, [])
            if method == "POST":
                data = orjson.loads(body or b"{}").get("data") or {}
                versions.append(data)
                return 200, {"data": self._metadata(len(versions))}
            self.reads[where] += 1
            if not versions:
                return 404, {"errors": []}
            return 200, {"data": {"data": versions[-1], "metadata": self._metadata(len(versions))}}

    @staticmethod
    def _metadata(version: int) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"created_time": stamp, "deletion_time": "", "destroyed": False, "version": version}


def _handler(vault: VaultDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            path = self.path.split("?", 1)[0]
            status, reply = vault.answer(method, path, self.headers.get("X-Vault-Token"), body)
            data = orjson.dumps(reply)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: object) -> None:
            """Keeps the test's output clean (and tokens out of it): the double logs nothing."""

    return Handler
