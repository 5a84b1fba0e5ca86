"""A fake Langfuse for tests: a real HTTP server speaking the public ingestion API's shape.

`POST /api/public/ingestion` with HTTP basic auth (public key : secret key) and `{"batch": [event...]}`
answers as Langfuse does: 401 for other credentials, 400 for a body without a batch, else 207 with
`{"successes": [{"id", "status": 201}], "errors": [{"id", "status", "message"}]}`, an event without
`id`, `type` or `body` (or a score without `traceId`, `name` or a numeric `value`) being a 400 error of
its own. A `score-create` event keeps its score (upserted by id, as Langfuse does).
`fail_next(n, status)` answers the next n requests with that status instead.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUBLIC_KEY, SECRET_KEY = "pk-lf-test", "sk-lf-test"


class FakeLangfuse:
    """What the fake was sent: scores by id, and how many ingestion requests arrived."""

    def __init__(self) -> None:
        self.scores: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self.url = ""

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def by_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [score for score in self.scores.values() if score["traceId"] == trace_id]

    def answer(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self._failures:
                return self._failures.pop(0), {"message": "unavailable"}
        expected = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
        if authorization != expected:
            return 401, {"message": "Invalid credentials"}
        try:
            batch = json.loads(body)["batch"]
        except (ValueError, KeyError, TypeError):
            return 400, {"message": "Invalid request data"}
        successes, errors = [], []
        for event in batch:
            problem = _problem(event)
            if problem:
                errors.append({"id": event.get("id", ""), "status": 400, "message": problem})
                continue
            with self._lock:
                self.scores[event["body"]["id"]] = event["body"]
            successes.append({"id": event["id"], "status": 201})
        return 207, {"successes": successes, "errors": errors}


def _problem(event: Any) -> str:
    if not isinstance(event, dict) or not all(k in event for k in ("id", "type", "body", "timestamp")):
        return "an event needs id, type, timestamp and body"
    if event["type"] != "score-create":
        return f"this fake takes score-create events only, not {event['type']}"
    body = event["body"]
    if not body.get("traceId") or not body.get("name") or not isinstance(body.get("value"), (int, float)):
        return "a score needs traceId, name and a numeric value"
    return ""


@contextmanager
def fake_langfuse() -> Iterator[FakeLangfuse]:
    """Serves a FakeLangfuse on a free loopback port for the block."""
    fake = FakeLangfuse()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            status, reply = (404, {"message": "not found"})
            if self.path == "/api/public/ingestion":
                status, reply = fake.answer(self.headers.get("authorization", ""), body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
