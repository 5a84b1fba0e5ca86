"""The semantic cache's vector index alone, in process: `python -m bench.index`.

For each size (1k, 5k, 20k and 100k vectors of dim 256 by default) and each data set (unit random
vectors, vectors clustered around 1,000 topics like sentence embeddings, and the embeddings of a few
templated prompts with ids, like automated traffic), it fills one
(tenant, fingerprint) bucket of a VectorIndex capped at that size, so it is split into IVF cells as
the gateway's bucket is once it passes exact_limit, then times:

- search: k=4 (the semantic tier's CANDIDATES) for near-duplicates of stored vectors, p50/p99 µs;
- add: new keys at the cap, so each add also evicts the oldest entry (the steady state of a full
  index), p50/p99 µs;

and reports recall@1 of the search against the exact top-1 (a brute-force scan of the same vectors):
for near-duplicates (a stored vector plus noise, the paraphrase case) and for fresh vectors drawn
from the same distribution (the nearest neighbour of a new question; harder for IVF).

Times are the calling thread's CPU time (time.thread_time_ns): on a shared machine wall time also
counts waiting for a core, which swamps a p99 of microseconds; the wall-clock p50 is printed too.

`--against FILE` loads another copy of the index module (e.g. the previous version, saved aside) and
times both on the same data, alternating calls, so a shared machine's noise hits both alike.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from switchyard.services.cache import index as current  # noqa: E402

Array = npt.NDArray[np.float32]
DIM = 256
TOPICS = 1000
K = 4
NEVER = float("inf")
TEMPLATES = (
    "Say hello. {0}-{1}",
    "Where is my order #{1}? Tracking id {0}.",
    "Summarise ticket {0} for customer {1} in two sentences.",
    "Translate invoice {1} (ref {0}) into German.",
)


def unit(rows: Array) -> Array:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def dataset(kind: str, count: int, seed: int) -> Array:
    """Returns count unit vectors: uniformly random, clustered around TOPICS centres (noise 0.05 per dim),
    or templated: the shared embedder's vectors of a few prompt templates filled with random ids and
    numbers, as automated traffic and the load benchmarks send (a few dense regions, unevenly split)."""
    rng = np.random.default_rng(seed)
    if kind == "templated":
        from switchyard.ml.embedder import StaticEmbedder

        embedder = StaticEmbedder.load()
        texts = [
            TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(rng.bytes(6).hex(), int(rng.integers(10_000)))
            for _ in range(count)
        ]
        return embedder.embed(texts)
    if kind == "random":
        return unit(rng.standard_normal((count, DIM)).astype(np.float32))
    centres = unit(np.random.default_rng(0).standard_normal((TOPICS, DIM)).astype(np.float32))
    noise = rng.standard_normal((count, DIM)).astype(np.float32) * 0.05
    return unit(centres[rng.integers(0, TOPICS, count)] + noise)


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("index_against", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def filled(module: ModuleType, vectors: Array) -> Any:
    index = module.VectorIndex(DIM, max_entries=len(vectors))
    for row, vector in enumerate(vectors):
        index.add("t", "f", f"k{row}", vector, NEVER)
    return index


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = np.sort(np.asarray(samples)) / 1000
    return float(np.percentile(ordered, 50)), float(np.percentile(ordered, 99))


def recall(index: Any, vectors: Array, queries: Array) -> float:
    """Share of queries whose top-1 is the exact nearest stored vector."""
    exact = np.argmax(queries @ vectors.T, axis=1)
    hits = 0
    for query, best in zip(queries, exact, strict=True):
        found = index.search("t", "f", query, 1, 0.0)
        hits += bool(found) and found[0].key == f"k{best}"
    return hits / len(queries)


def measure(modules: dict[str, ModuleType], kind: str, size: int, calls: int) -> dict[str, dict[str, float]]:
    vectors = dataset(kind, size, seed=1)
    rng = np.random.default_rng(2)
    picks = rng.integers(0, size, calls)
    near = unit(vectors[picks] + 0.02 * rng.standard_normal((calls, DIM)).astype(np.float32))
    fresh = dataset(kind, min(calls, 500), seed=3)
    extra = dataset(kind, calls, seed=4)
    indexes = {}
    for name, module in modules.items():
        started = time.perf_counter()
        indexes[name] = filled(module, vectors)
        indexes[name + ":fill"] = time.perf_counter() - started
    searches: dict[str, list[float]] = {name: [] for name in modules}
    walls: dict[str, list[float]] = {name: [] for name in modules}
    adds: dict[str, list[float]] = {name: [] for name in modules}
    gc.collect()
    gc.disable()
    try:
        for query in near:
            for name in modules:
                wall, started = time.perf_counter_ns(), time.thread_time_ns()
                indexes[name].search("t", "f", query, K, 0.0)
                searches[name].append(time.thread_time_ns() - started)
                walls[name].append(time.perf_counter_ns() - wall)
        results = {}
        for name in modules:
            results[name] = {
                "recall_near": recall(indexes[name], vectors, near[:500]),
                "recall_fresh": recall(indexes[name], vectors, fresh),
            }
        for row, vector in enumerate(extra):
            for name in modules:
                started = time.thread_time_ns()
                indexes[name].add("t", "f", f"x{row}", vector, NEVER)
                adds[name].append(time.thread_time_ns() - started)
    finally:
        gc.enable()
    for name in modules:
        search50, search99 = percentiles(searches[name])
        add50, add99 = percentiles(adds[name])
        results[name].update(
            search_p50=search50,
            search_p99=search99,
            search_wall_p50=percentiles(walls[name])[0],
            add_p50=add50,
            add_p99=add99,
            fill_s=indexes[name + ":fill"],
            bytes_per_entry=indexes[name].nbytes() / len(indexes[name]),
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.index", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000,100000")
    parser.add_argument("--data", default="random,clustered,templated")
    parser.add_argument("--calls", type=int, default=2000, help="searches and adds timed per size")
    parser.add_argument("--against", metavar="FILE", help="another copy of index.py to time alongside")
    args = parser.parse_args()
    modules = {"current": current}
    if args.against:
        modules = {"against": load(args.against), "current": current}
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; k={K}, dim {DIM}")
    print(
        "| data | vectors | index | search p50 µs | p99 µs | wall p50 µs | add p50 µs | p99 µs "
        "| recall@1 near | fresh | B/entry |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in args.data.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            results = measure(modules, kind, size, args.calls)
            for name, row in results.items():
                print(
                    f"| {kind} | {size:,} | {name} | {row['search_p50']:.0f} | {row['search_p99']:.0f} "
                    f"| {row['search_wall_p50']:.0f} "
                    f"| {row['add_p50']:.1f} | {row['add_p99']:.1f} | {row['recall_near']:.3f} "
                    f"| {row['recall_fresh']:.3f} | {row['bytes_per_entry']:.0f} |",
                    flush=True,
                )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
