"""The fakes' one command line: `python -m switchyard.fakes [--wire openai|anthropic|gemini|...] [--port P] ...`.

Serves one fake provider until SIGTERM or SIGINT. Defaults come from SWITCHYARD_FAKE_* variables
(`FakeSettings`: openai on 127.0.0.1:9700); flags override them. `--api-key K` makes the fake require
that key the way its vendor takes one: openai `Authorization: Bearer K`, anthropic `x-api-key: K` (or
Bearer), gemini `x-goog-api-key: K` (or `?key=K`), azure `api-key: K` (or an Entra token as Bearer),
mistral and ollama `Authorization: Bearer K`, bedrock a SigV4 signature made with K as the secret access key.
vertex takes no key: it trusts the service account whose JSON key `--service-account-key FILE` names, and
model calls need a Bearer token its `/token` endpoint granted to that account.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, get_args

from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.fakes.azure_fake import FakeAzureOpenAI
from switchyard.fakes.bedrock_fake import FakeBedrock
from switchyard.fakes.common import FakeServer
from switchyard.fakes.config import FakeSettings, Wire
from switchyard.fakes.gemini_fake import FakeGemini, FakeGeminiOptions
from switchyard.fakes.mistral_fake import FakeMistral
from switchyard.fakes.ollama_fake import FakeOllama
from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions
from switchyard.fakes.vertex_fake import FakeVertex
from switchyard.fakes.vertex_fake_oauth import ServiceAccount
from switchyard.runtime.grpcio import run
from switchyard.runtime.logs import setup_logging

# The vendor each --wire speaks, as the log line names it.
VENDORS: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Gemini",
    "azure": "Azure OpenAI",
    "mistral": "Mistral",
    "ollama": "Ollama",
    "bedrock": "AWS Bedrock",
    "vertex": "Google Vertex AI",
}
# The wires answered by the OpenAI fake's options (FakeOptions), each by its own server class.
OPENAI_LIKE: dict[str, type[FakeOpenAI]] = {
    "openai": FakeOpenAI,
    "azure": FakeAzureOpenAI,
    "mistral": FakeMistral,
    "ollama": FakeOllama,
    "bedrock": FakeBedrock,
}


def parse_args(argv: list[str] | None, settings: FakeSettings) -> argparse.Namespace:
    """Returns the command-line options, their defaults taken from settings."""
    parser = argparse.ArgumentParser(prog="python -m switchyard.fakes", description=__doc__)
    parser.add_argument("--wire", choices=get_args(Wire), default=settings.wire, help="the vendor API to speak")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--latency-ms", type=float, default=settings.latency_ms, help="delay before a whole (non-stream) reply"
    )
    parser.add_argument("--ttft-ms", type=float, default=None, help="delay before the first stream event")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream events")
    parser.add_argument("--chunks", type=int, default=settings.chunks, help="text pieces per streamed reply")
    parser.add_argument("--api-key", default=None, help="require this key, sent the way the vendor takes it")
    parser.add_argument(
        "--limit-requests",
        type=int,
        default=None,
        help="openai-like and anthropic: the requests per minute the rate-limit headers advertise (default 10,000)",
    )
    parser.add_argument(
        "--service-account-key", default=None, help="vertex: accept tokens granted to this service-account JSON key"
    )
    return parser.parse_args(sys.argv[1:] if argv is None else argv)


def build(args: argparse.Namespace) -> FakeServer[Any]:
    """Returns the fake for `--wire`, answering with the timing the options give."""
    timing = {
        "latency_ms": args.latency_ms,
        "ttft_ms": args.ttft_ms,
        "chunk_delay_ms": args.chunk_delay_ms,
        "chunks": args.chunks,
    }
    if args.wire == "vertex":
        keys = [args.service_account_key] if args.service_account_key else []
        accounts = [ServiceAccount.of_key(json.loads(Path(path).read_text())) for path in keys]
        return FakeVertex(FakeGeminiOptions(**timing), service_accounts=accounts)
    if args.wire == "gemini":
        return FakeGemini(FakeGeminiOptions(**timing), api_key=args.api_key)
    fake = (FakeAnthropic if args.wire == "anthropic" else OPENAI_LIKE[args.wire])(
        FakeOptions(**timing), api_key=args.api_key
    )
    if args.limit_requests is not None:
        fake.limit_requests = args.limit_requests
    return fake


async def serve_until_signalled(fake: FakeServer[Any], host: str, port: int, vendor: str) -> None:
    """Runs a fake on host:port until SIGTERM or SIGINT, logging where it listens."""
    await fake.start(host, port)
    logging.getLogger("switchyard.fake").info("fake %s provider listening on %s", vendor, fake.url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.close()


def main(argv: list[str] | None = None) -> None:
    """Serves the fake the command line asks for until SIGTERM or SIGINT."""
    args = parse_args(argv, FakeSettings())
    setup_logging("INFO", service="fake")
    run(lambda: serve_until_signalled(build(args), args.host, args.port, VENDORS[args.wire]))


if __name__ == "__main__":
    main()
