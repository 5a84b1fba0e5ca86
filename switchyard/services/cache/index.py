"""The in-process vector index: unit vectors per (tenant, fingerprint) bucket, searched by dot product.

A semantic candidate is only ever looked for inside its own bucket, so tenants and incompatible
requests can never meet. A bucket is searched exhaustively while it holds at most `exact_limit` vectors
(1,024 by default: a megabyte, scanned in tens of microseconds; past a few thousand the scan costs more
than the rest of a lookup); past that it is split into about 2√n IVF cells (spherical k-means
centroids) and a search scans the `nprobe` cells whose centroids are closest to the query: at 100,000
vectors, 16 of 632 cells, about 2,500 vectors. Those are scanned as sketches: each vector projected on
the bucket's SKETCH_DIM principal axes (a quarter of the bytes, and reading them from memory is what a
scan costs); the SHORTLIST best sketch scores are then re-scored with the full vectors. A bucket keeps
its vectors, sketches and expiry times in one matrix each, a row per entry, and each cell the list of
its rows: a search gathers the probed cells' sketches in one take and scores them in one product, as a
call per cell would cost more in numpy dispatch than in arithmetic (up to _SCAN_ALL, 2,048 vectors, it
scores every sketch, which costs less than choosing cells). Splitting runs in a worker thread on a
frozen bucket: changes that arrive meanwhile wait in a log and are applied when the cells are
installed, so the event loop never computes k-means. The index only proposes candidates: the cache
re-reads each from its backend before serving it, so a stale vector can cost a read, never a lie.

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
# Width of a split bucket's sketches, and how many of the best sketch scores are re-scored exactly.
SKETCH_DIM = 96
SHORTLIST = 32
# A split bucket of at most this many vectors has all its sketches scanned, cells unused: one product
# over 768 KB costs less than choosing 16 cells and gathering their rows (past ~2,500 it costs more).
_SCAN_ALL = 2048
# What an unsplit bucket has for sketches and cells (shared, never written: they are replaced on a split).
_NO_SKETCHES: Array = np.empty((0, 0), dtype=np.float32)
_NO_ROWS: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
# The fewest rows a search of a split bucket may gather before it stops probing cells (_Bucket._probed).
_ROW_BUDGET = 1024
# Vectors sampled to find a bucket's principal axes.
_BASIS_SAMPLE = 8192
# The default cap on the vectors one process holds: with 256-dim vectors an entry costs about 1.8 KiB at
# the cap (the vector, its sketch, key and bookkeeping): the index of a full cache holds ~35 MiB, and
# its process levels off 50-100 MiB above an empty one (the allocator keeps a split's high-water mark).
MAX_ENTRIES = 20_000
# What the eviction order costs per entry beyond the dict itself (OrderedDict's linked-list node).
_ORDER_NODE_BYTES = 56
# What a numpy array object costs beside its data.
_ARRAY_HEADER_BYTES = sys.getsizeof(np.empty(0))


@dataclass(frozen=True, slots=True)
class Candidate:
    """An indexed entry close to a query: its key, cosine similarity and stored vector."""

    key: str
    similarity: float
    vector: Array


@dataclass(frozen=True, slots=True)
class _Layout:
    """A bucket's rows and, once split, its cells: what a split computes and install() puts in place.

    Row i holds keys[i]'s vector, sketch and expiry time; the arrays have room past len(keys). When
    split, cell_of[i] is row i's cell and slot[i] its place in that cell's members, whose first
    counts[cell] entries are the cell's rows.
    """

    vectors: Array
    sketches: Array
    expires: npt.NDArray[np.float64]
    keys: list[str]
    centroids: Array | None
    basis: Array | None
    cell_of: npt.NDArray[np.int32]
    slot: npt.NDArray[np.int32]
    members: list[npt.NDArray[np.int32]]
    counts: list[int]


class _Bucket:
    """The vectors of one (tenant, fingerprint), in one matrix: rows in any order, a removal moves the last row in.

    A split bucket also keeps each row's sketch and cell, and each cell's rows, so a search gathers the
    probed cells' sketches in one take and scores them in one product, however many cells it probes.
    """

    __slots__ = (
        "basis",
        "cell_of",
        "centroids",
        "counts",
        "dim",
        "expires",
        "keys",
        "limit",
        "members",
        "name",
        "partitioned_at",
        "pending",
        "sketches",
        "slot",
        "vectors",
        "where",
    )

    def __init__(self, dim: int, name: tuple[str, str], limit: int) -> None:
        self.dim = dim
        self.name = name
        # The most rows the bucket can hold (the index's cap, plus the one an add holds before evicting):
        # its arrays never grow past it.
        self.limit = limit
        # Room for one row at first: requests naming an id get a bucket of their own (their fingerprint
        # holds the id), so most buckets hold a handful of rows, and a row of room costs a KiB.
        self.vectors: Array = np.empty((1, dim), dtype=np.float32)
        self.sketches: Array = _NO_SKETCHES
        self.expires = np.empty(1, dtype=np.float64)
        self.keys: list[str] = []
        # key -> row.
        self.where: dict[str, int] = {}
        self.centroids: Array | None = None
        # basis: (SKETCH_DIM, dim) orthonormal rows, the principal axes a split bucket's sketches use.
        self.basis: Array | None = None
        # Once split: row -> its cell, row -> its place in the cell's members, and cell -> its rows
        # (the first counts[cell] of members[cell]; a removal moves the cell's last member in).
        self.cell_of = _NO_ROWS
        self.slot = _NO_ROWS
        self.members: list[npt.NDArray[np.int32]] = []
        self.counts: list[int] = []
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
        row = len(self.keys)
        if row == len(self.expires):
            self._grow(row)
        self.vectors[row] = vector
        self.expires[row] = expires_at
        if self.centroids is not None and self.basis is not None:
            self.sketches[row] = self.basis @ vector
            self._join(row, int(np.argmax(self.centroids @ vector)))
        self.keys.append(key)
        self.where[key] = row

    def remove(self, key: str) -> bool:
        if self.pending is not None:
            # The rows are being read by the splitting thread: the removal waits for the new layout.
            self.pending.append((key, None, 0.0))
            return key in self.where
        row = self.where.pop(key, None)
        if row is None:
            return False
        split = self.centroids is not None
        if split:
            self._leave(row)
        last = len(self.keys) - 1
        if row != last:
            self.vectors[row] = self.vectors[last]
            self.expires[row] = self.expires[last]
            moved = self.keys[row] = self.keys[last]
            self.where[moved] = row
            if split:
                self.sketches[row] = self.sketches[last]
                cell, slot = int(self.cell_of[last]), int(self.slot[last])
                self.cell_of[row], self.slot[row] = cell, slot
                self.members[cell][slot] = row
        self.keys.pop()
        return True

    def _grow(self, rows: int) -> None:
        # Grow by half, never past the cap. (A split bucket has room until its next split: only changes
        # that waited for a split can make it grow.)
        grown = max(rows + 1, min(self.limit, rows + rows // 2))
        self.vectors = np.resize(self.vectors, (grown, self.dim))
        if self.centroids is not None:
            self.sketches = np.resize(self.sketches, (grown, self.sketches.shape[1]))
        self.expires = np.resize(self.expires, grown)
        if self.centroids is not None:
            self.cell_of = np.resize(self.cell_of, grown)
            self.slot = np.resize(self.slot, grown)

    def _join(self, row: int, cell: int) -> None:
        """Lists row as a member of cell."""
        members, count = self.members[cell], self.counts[cell]
        if count == len(members):
            members = self.members[cell] = np.resize(members, max(8, count + count // 2))
        members[count] = row
        self.counts[cell] = count + 1
        self.cell_of[row], self.slot[row] = cell, count

    def _leave(self, row: int) -> None:
        """Unlists row from its cell, moving the cell's last member into its place."""
        cell, slot = int(self.cell_of[row]), int(self.slot[row])
        last = self.counts[cell] - 1
        if slot != last:
            other = int(self.members[cell][last])
            self.members[cell][slot] = other
            self.slot[other] = slot
        self.counts[cell] = last

    def search(self, query: Array, k: int, now: float, nprobe: int) -> list[Candidate]:
        count = len(self.keys)
        if not count or k < 1:
            return []
        if self.centroids is None or self.basis is None:
            scores = self.vectors[:count] @ query
            rows = _live(scores, self.expires[:count], k, now)
            rows = rows[np.argsort(scores[rows])[::-1]]
            vectors = self.vectors.take(rows, axis=0)
            return [Candidate(self.keys[row], float(scores[row]), vectors[i]) for i, row in enumerate(rows.tolist())]
        if count <= _SCAN_ALL:
            # One product over every sketch costs less than choosing cells and gathering theirs.
            scores = self.sketches[:count] @ (self.basis @ query)
            rows = _live(scores, self.expires[:count], max(k, SHORTLIST), now)
        else:
            rows = np.concatenate(self._probed(query, nprobe, count))
            scores = self.sketches.take(rows, axis=0) @ (self.basis @ query)
            rows = rows[_live(scores, self.expires.take(rows), max(k, SHORTLIST), now)]
        vectors = self.vectors.take(rows, axis=0)
        exact = vectors @ query
        keys = [self.keys[row] for row in rows.tolist()]
        return [Candidate(keys[i], float(exact[i]), vectors[i]) for i in _top(exact, k).tolist()]

    def _probed(self, query: Array, nprobe: int, count: int) -> list[npt.NDArray[np.int32]]:
        """Returns the rows of the cells to scan: the nprobe closest to the query, closest first, stopping
        early once they hold as many rows as nprobe cells of average size would (at least _ROW_BUDGET).

        Templated traffic ("Order 1234: where is it?") embeds into a few dense regions, and k-means
        leaves a handful of oversized cells there, all close to any query from that region: without
        the budget, 16 of 180 cells held a quarter of a 12,000-row bucket. The closest cells hold the
        nearest rows (`python -m bench.index`: recall unchanged on random and clustered data, where the
        split is even, and a search of templated vectors 10-45 % cheaper).
        """
        assert self.centroids is not None
        cells = _top(self.centroids @ query, nprobe).tolist()
        budget = max(_ROW_BUDGET, nprobe * count // len(self.centroids))
        probed: list[npt.NDArray[np.int32]] = []
        for cell in cells:
            size = self.counts[cell]
            probed.append(self.members[cell][:size])
            budget -= size
            if budget <= 0:
                break
        return probed

    def layout(self) -> _Layout:
        """Returns the bucket split into about 2√n cells; reads the rows, so they must not change meanwhile."""
        count = len(self.keys)
        vectors = self.vectors[:count]
        centroids = _kmeans(vectors, min(count, max(16, min(8192, int(2 * np.sqrt(count))))))
        basis = _principal_axes(vectors, min(SKETCH_DIM, self.dim))
        assignment = np.concatenate(
            [np.argmax(vectors[i : i + _ASSIGN_CHUNK] @ centroids.T, axis=1) for i in range(0, count, _ASSIGN_CHUNK)]
        )
        # Rows grouped by cell, so the rows a search gathers lie in runs.
        order = np.argsort(assignment, kind="stable")
        # Room for every row until the next split (at twice as many rows), so the event loop never copies a
        # large bucket's arrays to grow them: a copy of 100,000 rows would hold it for a tenth of a second.
        capacity = max(count + 1, min(self.limit, 2 * count))
        grouped = np.empty((capacity, self.dim), dtype=np.float32)
        np.take(vectors, order, axis=0, out=grouped[:count])
        sketches = np.empty((capacity, len(basis)), dtype=np.float32)
        np.matmul(grouped[:count], basis.T, out=sketches[:count])
        expires = np.empty(capacity, dtype=np.float64)
        expires[:count] = self.expires[:count][order]
        cell_of = np.empty(capacity, dtype=np.int32)
        cell_of[:count] = assignment[order]
        bounds = np.searchsorted(cell_of[:count], np.arange(len(centroids) + 1))
        slot = np.empty(capacity, dtype=np.int32)
        slot[:count] = np.arange(count) - bounds[cell_of[:count]]
        sizes = np.diff(bounds).tolist()
        members = [
            np.resize(np.arange(bounds[cell], bounds[cell + 1], dtype=np.int32), max(8, size + size // 2))
            for cell, size in enumerate(sizes)
        ]
        keys = [self.keys[row] for row in order.tolist()]
        return _Layout(grouped, sketches, expires, keys, centroids, basis, cell_of, slot, members, sizes)

    def current(self) -> _Layout:
        """Returns the layout the bucket has now (to install again when a split fails)."""
        return _Layout(
            self.vectors,
            self.sketches,
            self.expires,
            self.keys,
            self.centroids,
            self.basis,
            self.cell_of,
            self.slot,
            self.members,
            self.counts,
        )

    def install(self, layout: _Layout) -> None:
        """Puts a layout in place, then applies the changes that waited for it."""
        pending, self.pending = self.pending or [], None
        self.vectors, self.sketches = layout.vectors, layout.sketches
        self.expires, self.keys = layout.expires, layout.keys
        self.centroids, self.basis = layout.centroids, layout.basis
        self.cell_of, self.slot, self.members, self.counts = layout.cell_of, layout.slot, layout.members, layout.counts
        self.where = {key: row for row, key in enumerate(self.keys)}
        self.partitioned_at = len(self.where)
        for key, vector, expires_at in pending:
            if vector is None:
                self.remove(key)
            else:
                self.add(key, vector, expires_at)

    def expired(self, now: float) -> list[str]:
        """Returns the keys of the rows that expired by now."""
        return [self.keys[row] for row in np.flatnonzero(self.expires[: len(self.keys)] <= now).tolist()]

    def nbytes(self) -> int:
        arrays = self.vectors.nbytes + self.sketches.nbytes + self.expires.nbytes + self.cell_of.nbytes
        arrays += self.slot.nbytes + sum(members.nbytes for members in self.members)
        arrays += 0 if self.centroids is None else self.centroids.nbytes
        arrays += 0 if self.basis is None else self.basis.nbytes
        keys = sum(sys.getsizeof(k) + 8 for k in self.keys)
        # The bucket itself: its slots, name, key list and its own arrays' headers.
        own = sys.getsizeof(self) + sys.getsizeof(self.name) + sys.getsizeof(self.keys) + 3 * _ARRAY_HEADER_BYTES
        return int(arrays) + keys + own + sys.getsizeof(self.where) + 32 * len(self)


def _live(scores: Array, expires: npt.NDArray[np.float64], k: int, now: float) -> npt.NDArray[np.intp]:
    """Returns the positions of the k highest scores whose rows have not expired by now, in no particular order."""
    rows = _some(scores, k)
    if (expires[rows] > now).all():
        return rows
    # Rarely (the sweep forgets expired rows): score the expired below any similarity and choose again.
    scores = np.where(expires > now, scores, np.float32(_EXPIRED))
    rows = _some(scores, k)
    return rows[scores[rows] > _EXPIRED]


def _top(scores: Array, k: int) -> npt.NDArray[np.intp]:
    """Returns the positions of the k highest scores, highest first."""
    rows = _some(scores, k)
    return rows[np.argsort(scores[rows])[::-1]]


def _some(scores: Array, k: int) -> npt.NDArray[np.intp]:
    """Returns the positions of the k highest scores, in no particular order (all of them when there are not more)."""
    if len(scores) > k:
        return np.argpartition(scores, -k)[-k:]
    return np.arange(len(scores))


def _principal_axes(vectors: Array, count: int) -> Array:
    """Returns the count unit axes that keep most of the vectors' energy (uncentred PCA), shape (count, dim).

    Uncentred, because what a sketch must keep is the dot product with a query.
    """
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), _BASIS_SAMPLE), replace=False)]
    _, axes = np.linalg.eigh(sample.T.astype(np.float64) @ sample)
    return np.ascontiguousarray(axes[:, ::-1][:, :count].T, dtype=np.float32)


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
            bucket = self._buckets[where] = _Bucket(self.dim, where, self.max_entries + 1)
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
        expired = [key for bucket in self._buckets.values() if bucket.pending is None for key in bucket.expired(now)]
        self.remove(expired)
        return len(expired)

    def nbytes(self) -> int:
        """Returns the memory the index holds: vectors, keys and bookkeeping."""
        buckets = sum(bucket.nbytes() for bucket in self._buckets.values()) + sys.getsizeof(self._buckets)
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
            bucket.install(bucket.current())
            raise
        bucket.install(layout)
