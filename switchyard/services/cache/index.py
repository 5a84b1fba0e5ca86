"""The in-process vector index: unit vectors per (tenant, fingerprint) bucket, searched by dot product.

A semantic candidate is only ever looked for inside its own bucket, so tenants and incompatible
requests can never meet. A bucket is searched exhaustively while it holds at most `exact_limit`
vectors (1,024 by default: a megabyte, scanned in tens of microseconds; past a few thousand the scan
costs more than the rest of a lookup); past that it is split into about 2√n IVF cells (spherical
k-means centroids) and a search scans the `nprobe` cells whose centroids are
closest to the query: at 100,000 vectors, 16 of 632 cells, about 2,500 vectors. Those are scanned as
sketches: each vector projected on the bucket's SKETCH_DIM principal axes (a quarter of the bytes, and
reading them from memory is what a scan costs); the SHORTLIST best sketch scores are then re-scored
with the full vectors. Splitting runs in a worker thread on a frozen bucket: changes that arrive
meanwhile wait in a log and are applied when the cells are installed, so the event loop never
computes k-means. The index only proposes candidates: the cache re-reads each from its backend
before serving it, so a stale vector can cost a read, never a lie.

The index holds at most `max_entries` vectors, whatever the backend holds (Redis may keep far more
than one process should copy): past the cap it forgets its least recently stored or hit entry, the
order Redis evicts in. A forgotten entry stays in the store, where the exact tier still finds it; it
only stops being a semantic candidate on this replica, so the cap costs recall, never correctness.
"""

from __future__ import annotations

import asyncio
import sys
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
_KMEANS_ROUNDS = 5
_SAMPLE_PER_CELL = 32
_ASSIGN_CHUNK = 8192
# The score of an expired row: below any cosine similarity.
_EXPIRED = -2.0
_ROW_MASK = (1 << 32) - 1
# Width of a split bucket's sketches, and how many of the best sketch scores are re-scored exactly.
SKETCH_DIM = 96
SHORTLIST = 32
# Vectors sampled to find a bucket's principal axes.
_BASIS_SAMPLE = 8192
# The default cap on the vectors one process holds: with 256-dim vectors an entry costs about 2.5 KiB
# (the vector, its sketch, key and bookkeeping; ~3.5 KiB of RSS with allocator slack), so ~50-70 MiB.
MAX_ENTRIES = 20_000
# What the eviction order costs per entry beyond the dict itself (OrderedDict's linked-list node).
_ORDER_NODE_BYTES = 56


@dataclass(frozen=True, slots=True)
class Candidate:
    """An indexed entry close to a query: its key, cosine similarity and stored vector."""

    key: str
    similarity: float
    vector: Array


class _Cell:
    """A growable matrix of vectors (and their sketches) with their keys and expiry times.

    Rows are removed by swapping in the last. Cells of a bucket that is not split have sketches of
    width 0.
    """

    def __init__(self, dim: int, capacity: int = 8, sketch_dim: int = 0) -> None:
        self.vectors: Array = np.empty((capacity, dim), dtype=np.float32)
        self.sketches: Array = np.empty((capacity, sketch_dim), dtype=np.float32)
        self.expires = np.empty(capacity, dtype=np.float64)
        self.keys: list[str] = []

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, key: str, vector: Array, sketch: Array, expires_at: float) -> int:
        row = len(self.keys)
        if row == len(self.expires):
            # Grow by half: the slack of a large index is a third of its vectors at most, not half.
            grown = max(8, row + row // 2)
            self.vectors = np.resize(self.vectors, (grown, self.vectors.shape[1]))
            self.sketches = np.resize(self.sketches, (grown, self.sketches.shape[1]))
            self.expires = np.resize(self.expires, grown)
        self.vectors[row] = vector
        self.sketches[row] = sketch
        self.expires[row] = expires_at
        self.keys.append(key)
        return row

    def pop(self, row: int) -> str | None:
        """Removes a row; returns the key of the last row, moved into its place (None when nothing moved)."""
        last = len(self.keys) - 1
        moved = None
        if row != last:
            self.vectors[row] = self.vectors[last]
            self.sketches[row] = self.sketches[last]
            self.expires[row] = self.expires[last]
            self.keys[row] = moved = self.keys[last]
        self.keys.pop()
        return moved

    def nbytes(self) -> int:
        arrays = self.vectors.nbytes + self.sketches.nbytes + self.expires.nbytes
        return int(arrays) + sum(sys.getsizeof(k) + 8 for k in self.keys)


@dataclass(frozen=True, slots=True)
class _Layout:
    """A bucket split into cells: the centroids, the sketches' axes and the cells' contents."""

    centroids: Array | None
    basis: Array | None
    cells: list[_Cell]


class _Bucket:
    """The vectors of one (tenant, fingerprint)."""

    def __init__(self, dim: int, name: tuple[str, str]) -> None:
        self.dim = dim
        self.name = name
        self.cells = [_Cell(dim)]
        self.centroids: Array | None = None
        # basis: (SKETCH_DIM, dim) orthonormal rows, the principal axes a split bucket's sketches use.
        self.basis: Array | None = None
        # key -> cell << 32 | row: one int per entry rather than a tuple.
        self.where: dict[str, int] = {}
        self.partitioned_at = 0
        # While a worker thread splits the bucket, changes wait here: (key, vector or None, expires_at).
        self.pending: list[tuple[str, Array | None, float]] | None = None

    def __len__(self) -> int:
        return len(self.where)

    def add(self, key: str, vector: Array, expires_at: float) -> None:
        if self.pending is not None:
            self.pending.append((key, vector, expires_at))
            return
        self.remove(key)
        cell = 0 if self.centroids is None else int(np.argmax(self.centroids @ vector))
        sketch = _NO_SKETCH if self.basis is None else self.basis @ vector
        self.where[key] = cell << 32 | self.cells[cell].append(key, vector, sketch, expires_at)

    def remove(self, key: str) -> bool:
        if self.pending is not None:
            # The cells are being read by the splitting thread: the removal waits for the new layout.
            self.pending.append((key, None, 0.0))
            return key in self.where
        found = self.where.pop(key, None)
        if found is None:
            return False
        cell, row = found >> 32, found & _ROW_MASK
        moved = self.cells[cell].pop(row)
        if moved is not None:
            self.where[moved] = found
        return True

    def search(self, query: Array, k: int, now: float, nprobe: int) -> list[Candidate]:
        if self.centroids is None or self.basis is None:
            best = _best(self.cells, query, k, now, sketches=False)
            return [Candidate(cell.keys[row], score, cell.vectors[row].copy()) for cell, row, score in best]
        cells = [self.cells[i] for i in _top(self.centroids @ query, nprobe)]
        shortlist = _best(cells, self.basis @ query, max(k, SHORTLIST), now, sketches=True)
        if not shortlist:
            return []
        vectors = np.stack([cell.vectors[row] for cell, row, _ in shortlist])
        scores = vectors @ query
        return [Candidate(shortlist[i][0].keys[shortlist[i][1]], float(scores[i]), vectors[i]) for i in _top(scores, k)]

    def layout(self) -> _Layout:
        """Returns the bucket split into about 2√n cells; reads the cells, so they must not change meanwhile."""
        vectors = np.concatenate([cell.vectors[: len(cell)] for cell in self.cells])
        expires = np.concatenate([cell.expires[: len(cell)] for cell in self.cells])
        keys = [key for cell in self.cells for key in cell.keys]
        centroids = _kmeans(vectors, min(len(keys), max(16, min(8192, int(2 * np.sqrt(len(keys)))))))
        basis = _principal_axes(vectors, min(SKETCH_DIM, self.dim))
        assignment = np.concatenate(
            [
                np.argmax(vectors[i : i + _ASSIGN_CHUNK] @ centroids.T, axis=1)
                for i in range(0, len(keys), _ASSIGN_CHUNK)
            ]
        )
        order = np.argsort(assignment, kind="stable")
        bounds = np.searchsorted(assignment[order], np.arange(len(centroids) + 1))
        cells = []
        for cell in range(len(centroids)):
            rows = order[bounds[cell] : bounds[cell + 1]]
            built = _Cell(self.dim, capacity=max(8, len(rows)), sketch_dim=len(basis))
            built.vectors[: len(rows)] = vectors[rows]
            built.sketches[: len(rows)] = vectors[rows] @ basis.T
            built.expires[: len(rows)] = expires[rows]
            built.keys = [keys[int(row)] for row in rows]
            cells.append(built)
        return _Layout(centroids, basis, cells)

    def install(self, layout: _Layout) -> None:
        """Replaces the cells with a computed layout, then applies the changes that waited for it."""
        pending, self.pending = self.pending or [], None
        self.cells, self.centroids, self.basis = layout.cells, layout.centroids, layout.basis
        self.where = {key: c << 32 | row for c, cell in enumerate(self.cells) for row, key in enumerate(cell.keys)}
        self.partitioned_at = len(self.where)
        for key, vector, expires_at in pending:
            if vector is None:
                self.remove(key)
            else:
                self.add(key, vector, expires_at)

    def nbytes(self) -> int:
        centroids = 0 if self.centroids is None else int(self.centroids.nbytes)
        centroids += 0 if self.basis is None else int(self.basis.nbytes)
        return sum(cell.nbytes() for cell in self.cells) + centroids + sys.getsizeof(self.where) + 32 * len(self)


_NO_SKETCH = np.empty(0, dtype=np.float32)


def _best(cells: list[_Cell], probe: Array, k: int, now: float, sketches: bool) -> list[tuple[_Cell, int, float]]:
    """Returns (cell, row, score) of the k unexpired rows of cells with the highest scores, highest first.

    Scored against the full vectors (probe is the query), or with sketches against the sketches
    (probe is the query's sketch).
    """
    live = [(cell, len(cell)) for cell in cells if len(cell)]
    if not live:
        return []
    scores = np.concatenate([(cell.sketches if sketches else cell.vectors)[:count] @ probe for cell, count in live])
    scores[np.concatenate([cell.expires[:count] for cell, count in live]) <= now] = _EXPIRED
    starts = np.cumsum([0, *(count for _, count in live)])
    positions = np.asarray(_top(scores, k), dtype=np.intp)
    positions = positions[scores[positions] > _EXPIRED]
    owners = np.searchsorted(starts, positions, side="right") - 1
    return [
        (live[owner][0], int(position - starts[owner]), float(scores[position]))
        for position, owner in zip(positions, owners, strict=True)
    ]


def _principal_axes(vectors: Array, count: int) -> Array:
    """Returns the count unit axes that keep most of the vectors' energy (uncentred PCA), shape (count, dim).

    Uncentred, because what a sketch must keep is the dot product with a query.
    """
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), _BASIS_SAMPLE), replace=False)]
    _, axes = np.linalg.eigh(sample.T.astype(np.float64) @ sample)
    return np.ascontiguousarray(axes[:, ::-1][:, :count].T, dtype=np.float32)


def _top(scores: Array, k: int) -> list[int]:
    """Returns the rows of the k highest scores, highest first."""
    if len(scores) > k:
        rows = np.argpartition(scores, -k)[-k:]
        return [int(r) for r in rows[np.argsort(scores[rows])[::-1]]]
    return [int(r) for r in np.argsort(scores)[::-1]]


def _kmeans(vectors: Array, cells: int) -> Array:
    """Returns `cells` unit centroids of spherical k-means over a sample of vectors."""
    rng = np.random.default_rng(0)
    sample_size = min(len(vectors), cells * _SAMPLE_PER_CELL)
    sample = vectors[rng.choice(len(vectors), sample_size, replace=False)]
    centroids = sample[rng.choice(sample_size, cells, replace=False)].copy()
    for _ in range(_KMEANS_ROUNDS):
        assignment = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        # An empty cell keeps its centroid rather than collapsing to zero.
        centroids = np.where(norms > 0, sums / np.maximum(norms, 1e-12), centroids).astype(np.float32)
    return centroids


class VectorIndex:
    """Vectors of semantic entries by (tenant, fingerprint), with exact search while small and IVF when large.

    At most max_entries of them: past it the least recently added or touched entry is forgotten (evicted).
    """

    def __init__(self, dim: int, exact_limit: int = 1024, nprobe: int = 16, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.dim = dim
        self.exact_limit = exact_limit
        self.nprobe = nprobe
        self.max_entries = max_entries
        # evictions counts the entries forgotten for the cap (not expiries, removals or clears).
        self.evictions = 0
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        # key -> its bucket's name, least recently added or touched first: the eviction order.
        self._bucket_of: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._splitting: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._bucket_of)

    def __contains__(self, key: object) -> bool:
        return key in self._bucket_of

    def size(self, tenant: str, fingerprint: str) -> int:
        """Returns how many vectors the bucket of (tenant, fingerprint) holds."""
        bucket = self._buckets.get((tenant, fingerprint))
        return 0 if bucket is None else len(bucket)

    def add(self, tenant: str, fingerprint: str, key: str, vector: Array, expires_at: float) -> None:
        """Adds (or moves) key's vector in the bucket of (tenant, fingerprint)."""
        where = (tenant, fingerprint)
        if self._bucket_of.get(key, where) != where:
            self.remove((key,))
        bucket = self._buckets.get(where)
        if bucket is None:
            bucket = self._buckets[where] = _Bucket(self.dim, where)
        # Every entry of a bucket points at the bucket's own name: one tuple per bucket, not per entry.
        where = bucket.name
        bucket.add(key, vector, expires_at)
        self._bucket_of[key] = where
        self._bucket_of.move_to_end(key)
        if len(self._bucket_of) > self.max_entries:
            self._evict(len(self._bucket_of) - self.max_entries)
        if len(bucket) > self.exact_limit and len(bucket) >= 2 * bucket.partitioned_at and bucket.pending is None:
            self._split(bucket)

    def touch(self, key: str) -> None:
        """Marks key as just used (a hit): the cap evicts it last. Unknown keys are ignored."""
        if key in self._bucket_of:
            self._bucket_of.move_to_end(key)

    def remove(self, keys: Iterable[str]) -> None:
        for key in keys:
            where = self._bucket_of.pop(key, None)
            if where is None:
                continue
            bucket = self._buckets[where]
            bucket.remove(key)
            if not bucket.where and bucket.pending is None:
                del self._buckets[where]

    def clear(self, tenant: str | None = None) -> None:
        """Forgets every vector of a tenant, or all of them."""
        if tenant is None:
            self._buckets.clear()
            self._bucket_of.clear()
            return
        doomed = [key for key, where in self._bucket_of.items() if where[0] == tenant]
        self.remove(doomed)

    def search(self, tenant: str, fingerprint: str, query: Array, k: int, now: float) -> list[Candidate]:
        """Returns up to k unexpired candidates of the bucket, most similar first."""
        bucket = self._buckets.get((tenant, fingerprint))
        if bucket is None:
            return []
        return bucket.search(query, k, now, self.nprobe)

    def sweep(self, now: float) -> int:
        """Forgets the vectors that expired by now; returns how many. (Searches skip them already.)"""
        expired = [
            key
            for bucket in self._buckets.values()
            if bucket.pending is None
            for cell in bucket.cells
            for row in np.flatnonzero(cell.expires[: len(cell)] <= now)
            for key in (cell.keys[int(row)],)
        ]
        self.remove(expired)
        return len(expired)

    def nbytes(self) -> int:
        """Returns the memory the index holds: vectors, keys and bookkeeping."""
        buckets = sum(bucket.nbytes() for bucket in self._buckets.values())
        return buckets + sys.getsizeof(self._bucket_of) + _ORDER_NODE_BYTES * len(self)

    def _evict(self, count: int) -> None:
        """Forgets the count least recently added or touched entries."""
        oldest = [key for key, _ in zip(self._bucket_of, range(count), strict=False)]
        self.remove(oldest)
        self.evictions += len(oldest)

    async def settle(self) -> None:
        """Returns once no bucket is being split (tests and benchmarks wait on it)."""
        while self._splitting:
            await asyncio.gather(*self._splitting)

    def _split(self, bucket: _Bucket) -> None:
        """Splits bucket into IVF cells in a worker thread, or right away when no event loop runs."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            bucket.pending = []
            bucket.install(bucket.layout())
            return
        bucket.pending = []
        task = asyncio.create_task(self._split_in_thread(bucket))
        self._splitting.add(task)
        task.add_done_callback(self._splitting.discard)

    async def _split_in_thread(self, bucket: _Bucket) -> None:
        try:
            layout = await asyncio.to_thread(bucket.layout)
        except BaseException:
            # Keep the cells as they were, and the changes that waited.
            bucket.install(_Layout(bucket.centroids, bucket.basis, bucket.cells))
            raise
        bucket.install(layout)
