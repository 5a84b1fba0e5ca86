"""Analyze latency and throughput: `python -m bench.analyze`.

Times the classifier on a 500-token prompt (a realistic mixed request: a system prompt, a code
question, an email address in it) two ways: the analysis alone in this process, and the whole
`Analyze` RPC against a classifier service started as its own process (serialisation, gRPC and
the event loop included), one call at a time, the two in turn so that both see the same load on a
shared machine; then drives the service at concurrency 8 for a bounded time and reports calls per
second per core of classifier CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grpc import aio

from switchyard.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from switchyard.common.v1 import chat_pb2
from switchyard.replicas import free_port
from switchyard.runtime.grpcio import check_health
from switchyard.services.classifier import convert
from switchyard.services.classifier.analyzer import Analyzer
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.server import new_analyzer

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = (
    "Our checkout service times out when the payment provider is slow. Here is the handler; can you "
    "refactor it to use a circuit breaker with exponential backoff and explain the trade-offs? "
    "Contact me at dana.lee@example.org if anything is unclear. "
)


def sample_request(target_tokens: int = 500) -> chat_pb2.ChatRequest:
    """Returns a chat request of about target_tokens tokens (cl100k)."""
    analyzer = new_analyzer(ClassifierSettings())
    text = ""
    request = chat_pb2.ChatRequest(model="bench")
    while True:
        text += PARAGRAPH
        request = chat_pb2.ChatRequest(model="bench")
        request.messages.add(role=chat_pb2.ROLE_SYSTEM, text="You are a senior backend engineer.")
        request.messages.add(role=chat_pb2.ROLE_USER, text=text)
        if analyzer.analyze(convert.prompt_from_request(request)).prompt_tokens >= target_tokens:
            return request


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def variants(request: chat_pb2.ChatRequest, count: int) -> list[chat_pb2.ChatRequest]:
    """Returns count copies of request, each with a different last line, so no result is reused."""
    copies = []
    for number in range(count):
        copy = chat_pb2.ChatRequest()
        copy.CopyFrom(request)
        copy.messages[-1].text += f"\nTicket {number}: priority {number % 5}."
        copies.append(copy)
    return copies


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sequential(
    stub: classifier_pb2_grpc.ClassifierServiceStub, analyzer: Analyzer, requests: list[chat_pb2.ChatRequest]
) -> tuple[list[float], list[float]]:
    """Returns the milliseconds of each request's analysis in this process and of its Analyze call.

    The two are taken in turn, request by request, so that both see the same load: on a shared machine
    the load drifts within a run, and two phases one after the other would compare different loads.
    """
    local: list[float] = []
    remote: list[float] = []
    for request in requests:
        call = classifier_pb2.AnalyzeRequest(request=request)
        started = time.perf_counter()
        analyzer.analyze(convert.prompt_from_request(request))
        local.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await stub.Analyze(call)
        remote.append((time.perf_counter() - started) * 1000)
    return local, remote


async def measure(
    proc: subprocess.Popen[bytes], port: int, request: chat_pb2.ChatRequest, rounds: int, seconds: float
) -> dict[str, float]:
    """Returns p50/p99 of the analysis in process and of sequential Analyze calls (after 50 of each to warm
    up), and calls per classifier CPU second at concurrency 8."""
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not await check_health(target):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the classifier did not start")
        await asyncio.sleep(0.1)
    analyzer = new_analyzer(ClassifierSettings())
    requests = variants(request, rounds + 50)
    async with aio.insecure_channel(target) as channel:
        stub = classifier_pb2_grpc.ClassifierServiceStub(channel)
        await sequential(stub, analyzer, requests[:50])
        local, remote = await sequential(stub, analyzer, requests[50:])
        calls = [classifier_pb2.AnalyzeRequest(request=r) for r in requests]
        done = 0
        stop_at = time.monotonic() + seconds
        cpu_before = _cpu_seconds(proc.pid)

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                await stub.Analyze(calls[done % len(calls)])
                done += 1

        await asyncio.gather(*(worker() for _ in range(8)))
        cpu = _cpu_seconds(proc.pid) - cpu_before
    return {
        "local_p50_ms": statistics.median(local),
        "local_p99_ms": percentile(local, 0.99),
        "p50_ms": statistics.median(remote),
        "p99_ms": percentile(remote, 0.99),
        "calls_per_cpu_second": done / cpu if cpu else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analyze", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the concurrency-8 run")
    args = parser.parse_args()
    request = sample_request()
    port = free_port()
    # The classifier's own work is measured, alone on loopback: plaintext, said explicitly (mutual TLS is the default).
    env = {**os.environ, "SWITCHYARD_CLASSIFIER_PORT": str(port), "SWITCHYARD_TLS": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.services.classifier"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        figures = asyncio.run(measure(proc, port, request, args.rounds, args.seconds))
    finally:
        proc.terminate()
        proc.wait(10)
    tokens = new_analyzer(ClassifierSettings()).analyze(convert.prompt_from_request(request)).prompt_tokens
    print(f"prompt: {tokens} tokens")
    print(f"analysis in process: p50 {figures['local_p50_ms']:.2f} ms, p99 {figures['local_p99_ms']:.2f} ms")
    print(f"Analyze over gRPC:   p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms")
    print(f"throughput: {figures['calls_per_cpu_second']:.0f} Analyze calls per second per core (concurrency 8)")


if __name__ == "__main__":
    main()
