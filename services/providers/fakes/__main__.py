"""Runs the fake OpenAI-compatible provider: `python -m services.providers.fakes --port 9700`."""

from __future__ import annotations

import argparse
import logging
import sys

from services.common.grpcio import run
from services.providers.fakes.common import serve_until_signalled
from services.providers.fakes.config import FakeSettings
from services.providers.fakes.openai_fake import FakeOpenAI, FakeOptions


def _args(argv: list[str]) -> argparse.Namespace:
    settings = FakeSettings()
    parser = argparse.ArgumentParser(prog="python -m services.providers.fakes", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--latency-ms", type=float, default=settings.latency_ms, help="delay before a whole (non-stream) reply"
    )
    parser.add_argument("--ttft-ms", type=float, default=None, help="delay before the first stream chunk")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream chunks")
    parser.add_argument("--chunks", type=int, default=settings.chunks, help="content pieces per streamed reply")
    parser.add_argument("--api-key", default=None, help="require `Authorization: Bearer <key>`")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    defaults = FakeOptions(
        latency_ms=args.latency_ms,
        ttft_ms=args.ttft_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        chunks=args.chunks,
    )
    await serve_until_signalled(FakeOpenAI(defaults, api_key=args.api_key), args.host, args.port, "OpenAI")


def main(argv: list[str] | None = None) -> None:
    args = _args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run(lambda: _serve(args))


if __name__ == "__main__":
    main()
