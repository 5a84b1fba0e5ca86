"""Embedding and near-miss guard latency: `python -m bench.embedding`.

Times `Embedder.embed_one` (all-MiniLM-L6-v2 in numpy) on a short chat query (~12 words) and on a
~200-token prompt, with BLAS limited to one thread (as the cache service runs it) and with numpy's
default thread count (wall and CPU time: a second BLAS thread costs CPU the gateway needs), then
the throughput of batched calls, then `NearMissGuard.check` on a short and a sentence-long pair
(no embedding inside: the vectors are computed once beforehand). Prints p50/p99 over --rounds calls.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_info, threadpool_limits  # type: ignore[import-untyped]

from switchyard.ml.embedding import Embedder
from switchyard.ml.nearmiss import NearMissGuard

SHORT = "How do I reverse a list in Python without changing the original one?"
LONG_SENTENCE = (
    "Our checkout service times out when the payment provider is slow, and the retries make it worse "
    "because every retry holds a database connection while it waits for the provider to answer. "
)


def percentile(values: list[float], q: float) -> float:
    """Returns the q-quantile of values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def long_prompt(embedder: Embedder, tokens: int = 200) -> str:
    """Returns a prompt of about tokens word pieces (the model's own tokenizer)."""
    text = ""
    while embedder.token_count(text) < tokens:
        text += LONG_SENTENCE
    return text


def timed(call: Callable[[], object], rounds: int, warmup: int = 5) -> list[float]:
    """Returns the milliseconds of rounds calls, after warmup unmeasured calls."""
    return timed_cpu(call, rounds, warmup)[0]


def timed_cpu(call: Callable[[], object], rounds: int, warmup: int = 5) -> tuple[list[float], float]:
    """Returns the milliseconds of rounds calls and the process's mean CPU milliseconds per call.

    CPU time counts every thread's: what BLAS threads cost beside the caller's.
    """
    for _ in range(warmup):
        call()
    times = []
    cpu_started = time.process_time()
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times, (time.process_time() - cpu_started) * 1000 / rounds


@contextmanager
def blas_threads(count: int | None) -> Iterator[None]:
    """Limits BLAS to count threads inside the block; None keeps numpy's default."""
    if count is None:
        yield
        return
    with threadpool_limits(limits=count, user_api="blas"):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per case")
    parser.add_argument("--batch", type=int, default=32, help="texts per batched call")
    args = parser.parse_args()

    started = time.perf_counter()
    embedder = Embedder.load()
    print(f"model load: {(time.perf_counter() - started) * 1000:.0f} ms")
    blas = threadpool_info()
    default_threads = max((pool["num_threads"] for pool in blas), default=1)
    kernels = ", ".join(f"{pool['internal_api']} {pool.get('architecture', '')}" for pool in blas)
    print(f"BLAS: {kernels}")
    prompt = long_prompt(embedder)
    cases = {
        f"short query ({embedder.token_count(SHORT)} tokens)": SHORT,
        f"prompt ({embedder.token_count(prompt)} tokens)": prompt,
    }
    print("\n| case | threads | p50 ms | p99 ms | mean ms | CPU ms |\n|---|---|---|---|---|---|")
    for threads in (1, None):
        label = "1" if threads == 1 else f"default ({default_threads})"
        with blas_threads(threads):
            for name, text in cases.items():
                times, cpu = timed_cpu(functools.partial(embedder.embed_one, text), args.rounds)
                print(
                    f"| {name} | {label} | {percentile(times, 0.5):.2f} | {percentile(times, 0.99):.2f} "
                    f"| {statistics.fmean(times):.2f} | {cpu:.2f} |"
                )
    print(f"\n| batch of {args.batch} | threads | texts/s | ms per batch (p50) |\n|---|---|---|---|")
    rounds = max(3, args.rounds // args.batch)
    for threads in (1, None):
        label = "1" if threads == 1 else f"default ({default_threads})"
        with blas_threads(threads):
            for name, text in cases.items():
                batch = [f"{text} ({n})" for n in range(args.batch)]
                times = timed(functools.partial(embedder.embed, batch), rounds, warmup=1)
                per_second = args.batch * 1000 / statistics.fmean(times)
                print(f"| {name} | {label} | {per_second:.0f} | {percentile(times, 0.5):.1f} |")

    guard_latency(embedder, args.rounds)


GUARD_PAIRS = {
    "chat pair": ("What is the capital of France?", "what's the capital city of France"),
    "sentence pair (PAWS-like)": (
        "After the end of the war in June 1902, Higgins left Southampton in August, returning to Cape Town.",
        "In August, after the end of the war in June 1902, Higgins left Southampton and returned to Cape Town.",
    ),
}


def guard_latency(embedder: Embedder, rounds: int) -> None:
    """Prints the latency of one NearMissGuard.check (features, trees and vetoes; no embedding)."""
    guard = NearMissGuard.load()
    print("\n| guard check | p50 µs | p99 µs |\n|---|---|---|")
    for name, (query, candidate) in GUARD_PAIRS.items():
        vectors = embedder.embed([query, candidate])
        # Both pairs are above the similarity floor, so every call computes the features and runs the trees.
        call = functools.partial(guard.check, query, candidate, vectors[0], vectors[1], 0.0)
        times = [t * 1000 for t in timed(call, rounds * 5)]
        print(f"| {name} | {percentile(times, 0.5):.0f} | {percentile(times, 0.99):.0f} |")


if __name__ == "__main__":
    main()
