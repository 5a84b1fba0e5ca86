"""Embedding and near-miss guard latency on one core: `python -m bench.embedding`.

Times the shared static embedder (`StaticEmbedder.embed_one`) on a short chat query (~12 words), on a
~200-word prompt and on the cache's longest comparable turn (768 characters), a short query with a word
it has never seen (the embedder remembers the pieces of the words it met), the cache's text
normalisation, and `NearMissGuard.check` on a short and a sentence-long pair (vectors computed once
beforehand). Prints p50/p99 over --rounds calls, in microseconds. The embedder is single-threaded
numpy and Rust tokenisation: what one call costs is what one core spends.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections.abc import Callable

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.nearmiss import NearMissGuard
from switchyard.ml.normalise import semantic_text

SHORT = "How do I reverse a list in Python without changing the original one?"
LONG_SENTENCE = (
    "Our checkout service times out when the payment provider is slow, and the retries make it worse "
    "because every retry holds a database connection while it waits for the provider to answer. "
)


def percentile(values: list[float], q: float) -> float:
    """Returns the q-quantile of values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Returns (p50, p99) of call in microseconds after a warm-up."""
    for _ in range(max(rounds // 10, 10)):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples), percentile(samples, 0.99)


def numbered(text: str) -> Callable[[], str]:
    """Returns a function giving text with a new number appended on each call: the embedder remembers
    the word pieces of its last few texts, and each timed call should tokenize afresh."""
    numbers = itertools.count()
    return lambda: f"{text} {next(numbers)}"


def unseen(text: str) -> Callable[[], str]:
    """Returns a function giving text with a new random id appended on each call: a word the embedder
    has not remembered the pieces of, as a request with an order number or a hash brings."""
    return lambda: f"{text} {os.urandom(6).hex()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.embedding", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    embedder = StaticEmbedder.load()
    guard = NearMissGuard.load(word_vector=embedder.embed_one)
    words = LONG_SENTENCE.split()
    prompt = " ".join(words[i % len(words)] for i in range(200))
    queries, prompts, turns = numbered(SHORT), numbered(prompt), numbered((LONG_SENTENCE * 5)[:768])
    ids = unseen(SHORT)
    rows: list[tuple[str, tuple[float, float]]] = [
        ("embed a short query (12 words)", timed(lambda: embedder.embed_one(queries()), args.rounds)),
        ("embed it with a word never seen (an id)", timed(lambda: embedder.embed_one(ids()), args.rounds)),
        ("embed a 200-word prompt", timed(lambda: embedder.embed_one(prompts()), args.rounds)),
        ("embed a 768-character turn", timed(lambda: embedder.embed_one(turns()), args.rounds)),
        ("normalise a short query", timed(lambda: semantic_text(SHORT), args.rounds)),
    ]
    paraphrase = "In Python, how can I reverse a list but keep the original unchanged?"
    short_pair = (SHORT, paraphrase, embedder.embed_one(SHORT), embedder.embed_one(paraphrase))
    sentence = LONG_SENTENCE.replace("slow", "down")
    long_pair = (LONG_SENTENCE, sentence, embedder.embed_one(LONG_SENTENCE), embedder.embed_one(sentence))
    rows.append(("guard: short pair", timed(lambda: guard.check(*short_pair), args.rounds)))
    rows.append(("guard: sentence pair", timed(lambda: guard.check(*long_pair), args.rounds)))
    print(f"embedder {embedder.version}: {len(embedder.rows)} word pieces x {embedder.dim} dims\n")
    print("| call | p50 µs | p99 µs |\n|---|---|---|")
    for name, (p50, p99) in rows:
        print(f"| {name} | {p50:.0f} | {p99:.0f} |")


if __name__ == "__main__":
    main()
