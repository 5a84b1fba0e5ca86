"""A split bucket against brute force: whatever was added, moved, removed, evicted or expired, probing
every cell finds exactly the exact top-k (sketches are exact when dim <= SKETCH_DIM)."""

from __future__ import annotations

import numpy as np
import pytest

from switchyard.ml.embedder import StaticEmbedder
from switchyard.services.cache.index import SKETCH_DIM, VectorIndex

DIM = 32
NEVER = 1e12
assert DIM <= SKETCH_DIM


def unit(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Model:
    """The index's content kept the plain way: key -> (vector, expires_at)."""

    def __init__(self, index: VectorIndex) -> None:
        self.index = index
        self.entries: dict[str, tuple[np.ndarray, float]] = {}

    def add(self, key: str, vector: np.ndarray, expires_at: float = NEVER) -> None:
        self.index.add("acme", "fp", key, vector, expires_at)
        self.entries[key] = (vector, expires_at)

    def remove(self, keys: list[str]) -> None:
        self.index.remove(keys)
        for key in keys:
            self.entries.pop(key, None)

    def exact(self, query: np.ndarray, k: int, now: float) -> list[tuple[str, float]]:
        live = [(key, float(vector @ query)) for key, (vector, expires) in self.entries.items() if expires > now]
        return sorted(live, key=lambda pair: -pair[1])[:k]

    def check(self, rng: np.random.Generator, now: float = 0.0, queries: int = 40, k: int = 5) -> None:
        assert self.index.size("acme", "fp") == len(self.entries)
        for query in unit(rng, queries):
            found = self.index.search("acme", "fp", query, k, now)
            expected = self.exact(query, k, now)
            assert [c.key for c in found] == [key for key, _ in expected]
            assert [c.similarity for c in found] == pytest.approx([s for _, s in expected], abs=1e-5)
            for candidate in found:
                assert np.array_equal(candidate.vector, self.entries[candidate.key][0])


def churn(model: Model, rng: np.random.Generator, start: int) -> None:
    """Removes a fifth of the keys, moves a tenth to new vectors, adds a tenth anew, expires a tenth at 5.0."""
    keys = sorted(model.entries)
    picked = rng.permutation(len(keys))
    model.remove([keys[i] for i in picked[: len(keys) // 5]])
    for i in picked[len(keys) // 5 : len(keys) * 3 // 10]:
        model.add(keys[i], unit(rng, 1)[0])
    for i in range(len(keys) // 10):
        model.add(f"new{start + i}", unit(rng, 1)[0])
    for i in picked[len(keys) * 3 // 10 : len(keys) * 4 // 10]:
        model.add(keys[i], model.entries[keys[i]][0], expires_at=5.0)


def test_a_split_bucket_probing_every_cell_finds_the_exact_top_k_through_removals_and_moves() -> None:
    rng = np.random.default_rng(11)
    model = Model(VectorIndex(DIM, exact_limit=400, nprobe=10**6))
    for i, vector in enumerate(unit(rng, 3000)):
        model.add(f"k{i}", vector)
    model.check(rng)
    churn(model, rng, start=0)
    # Over 2,048 vectors the cells' rows are gathered; expired rows are skipped, then swept.
    assert model.index.size("acme", "fp") > 2048
    model.check(rng, now=10.0)
    model.check(rng, now=0.0)
    expired = [key for key, (_, expires) in model.entries.items() if expires <= 10.0]
    assert model.index.sweep(now=10.0) == len(expired) > 0
    model.remove(expired)
    model.check(rng, now=10.0)
    # Down to a bucket small enough to scan all its sketches at once.
    model.remove(sorted(model.entries)[:1200])
    assert model.index.size("acme", "fp") <= 2048
    churn(model, rng, start=10_000)
    model.check(rng, now=10.0)


def test_the_default_probe_finds_near_duplicates_in_a_churned_bucket() -> None:
    rng = np.random.default_rng(12)
    index = VectorIndex(DIM, exact_limit=400)
    model = Model(index)
    for i, vector in enumerate(unit(rng, 5000)):
        model.add(f"k{i}", vector)
    churn(model, rng, start=0)
    keys = sorted(key for key, (_, expires) in model.entries.items() if expires > 10.0)[::25]
    hits = 0
    for key in keys:
        vector = model.entries[key][0]
        query = vector + 0.02 * rng.standard_normal(DIM).astype(np.float32)
        found = index.search("acme", "fp", query / np.linalg.norm(query), 1, 10.0)
        hits += bool(found) and found[0].key == key
    assert hits / len(keys) >= 0.95


async def test_changes_made_while_a_bucket_splits_in_a_thread_are_applied_after() -> None:
    rng = np.random.default_rng(13)
    model = Model(VectorIndex(DIM, exact_limit=1000, nprobe=10**6))
    for i, vector in enumerate(unit(rng, 3000)):
        model.add(f"k{i}", vector)
    await model.index.settle()
    # The add that makes the bucket twice its last split starts a split in a worker thread; what
    # follows before the loop yields waits in the log, while searches see the rows as they were.
    vectors = iter(unit(rng, 2000))
    while not model.index._splitting:
        model.add(f"more{len(model.entries)}", next(vectors))
    frozen = Model(model.index)
    frozen.entries = dict(model.entries)
    for i, vector in enumerate(vectors):
        model.add(f"late{i}", vector)
    churn(model, rng, start=0)
    frozen.check(rng)
    await model.index.settle()
    model.check(rng, now=10.0)


def test_the_cap_evicts_from_a_split_bucket_and_memory_stays_flat() -> None:
    rng = np.random.default_rng(14)
    model = Model(VectorIndex(DIM, exact_limit=200, nprobe=10**6, max_entries=2500))
    for i, vector in enumerate(unit(rng, 2500)):
        model.add(f"k{i}", vector)
    at_cap = model.index.nbytes()
    for i, vector in enumerate(unit(rng, 5000), start=2500):
        model.index.add("acme", "fp", f"k{i}", vector, NEVER)
        model.entries[f"k{i}"] = (vector, NEVER)
        model.entries.pop(f"k{i - 2500}")
    assert model.index.evictions == 5000
    model.check(rng)
    assert model.index.nbytes() < 1.5 * at_cap
    model.index.clear("acme")
    assert model.index.size("acme", "fp") == 0 and model.index.search("acme", "fp", unit(rng, 1)[0], 3, 0.0) == []


def test_a_bucket_of_templated_prompts_still_finds_the_nearest_stored_one() -> None:
    # Templated traffic (one prompt with a different id each time, as the load benchmarks send) embeds
    # into one dense region, where k-means leaves a few oversized cells next to every query: the search
    # stops gathering at its row budget, and a stored prompt's near duplicate must still find it.
    embedder = StaticEmbedder.load()
    rng = np.random.default_rng(7)
    texts = [f"Say hello. {rng.bytes(6).hex()}-{worker}-{turn}" for worker in range(32) for turn in range(375)]
    vectors = embedder.embed(texts)
    index = VectorIndex(embedder.dim)
    for row, vector in enumerate(vectors):
        index.add("acme", "fp", f"k{row}", vector, NEVER)
    noisy = vectors[rng.integers(0, len(vectors), 200)] + 0.02 * rng.standard_normal((200, embedder.dim))
    queries = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    found = [index.search("acme", "fp", query, 1, 0.0)[0].key for query in queries]
    expected = [f"k{int(np.argmax(vectors @ query))}" for query in queries]
    assert np.mean([a == b for a, b in zip(found, expected, strict=True)]) >= 0.99
