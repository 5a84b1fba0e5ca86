"""Runs the fake OpenAI-compatible provider: `python -m switchyard.fakes --port 9700`."""

from __future__ import annotations

from switchyard.fakes.common import run_fake
from switchyard.fakes.config import FakeSettings
from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions


def main(argv: list[str] | None = None) -> None:
    settings = FakeSettings()
    run_fake(
        argv,
        prog="python -m switchyard.fakes",
        description=__doc__,
        name="OpenAI",
        make=lambda a: FakeOpenAI(
            FakeOptions(latency_ms=a.latency_ms, ttft_ms=a.ttft_ms, chunk_delay_ms=a.chunk_delay_ms, chunks=a.chunks),
            api_key=a.api_key,
        ),
        key_help="require `Authorization: Bearer <key>`",
        host=settings.host,
        port=settings.port,
        latency_ms=settings.latency_ms,
        chunks=settings.chunks,
    )


if __name__ == "__main__":
    main()
