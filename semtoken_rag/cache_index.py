"""Span vectors of the fingerprint cache in one id-mapped FAISS index.

Document ``d`` owns the FAISS ids ``[first, first + n)``; ids only grow, so the table of first ids
stays sorted and an id's owner is one bisection away. The flat index removes evicted rows; HNSW
cannot, so evicted rows become tombstones (filtered out of searches) and the graph is rebuilt from
the live rows once tombstones outnumber them. Not thread-safe: the cache holds the lock.
"""

from __future__ import annotations

import bisect
from typing import Any, Literal

import numpy as np

IndexKind = Literal["flat", "hnsw"]


def faiss_module() -> Any:
    """Import faiss lazily. Its OpenMP thread count is left alone: ``omp_set_num_threads`` would
    also change the thread count of torch in the calling thread only, so the same text would be
    encoded with different float reduction orders in different threads (scores differing in the
    7th digit between sync and async calls)."""
    try:
        import faiss
    except ImportError as e:  # pragma: no cover - faiss-cpu is a core dependency
        raise ImportError("the fingerprint cache needs faiss: pip install semtoken-rag") from e
    return faiss


class SpanIndex:
    """Unit span vectors, searchable by inner product, owned by document keys.

    Example:
        >>> import numpy as np
        >>> ix = SpanIndex(4, "flat")
        >>> ix.add("doc", np.eye(4, dtype=np.float32)[:2])
        0
        >>> ix.search(np.eye(4, dtype=np.float32)[1:2], 0.9)
        [[('doc', 1, 1.0)]]
    """

    def __init__(
        self,
        dim: int,
        kind: IndexKind = "flat",
        hnsw_m: int = 32,
        *,
        index: Any = None,
        next_id: int = 0,
    ) -> None:
        self.dim, self.kind, self.hnsw_m = dim, kind, hnsw_m
        self.index = index if index is not None else self._new()
        self.next_id = next_id
        self._firsts: list[int] = []  # first id of each live document, ascending
        self._keys: list[str] = []
        self._counts: list[int] = []
        self.spans = 0
        self.dead = int(self.index.ntotal) if index is not None else 0

    def _new(self) -> Any:
        faiss = faiss_module()
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = 64
        else:
            inner = faiss.IndexFlatIP(self.dim)
        return faiss.IndexIDMap2(inner)

    def add(self, key: str, vectors: np.ndarray) -> int:
        """Add one document's ``[n, dim]`` vectors; returns its first id."""
        first, n = self.next_id, len(vectors)
        if n:
            self.index.add_with_ids(vectors, np.arange(first, first + n, dtype=np.int64))
        self.adopt(key, first, n)
        self.next_id = first + n
        return first

    def adopt(self, key: str, first: int, n: int) -> None:
        """Record that ``key`` owns ids ``[first, first + n)`` (already in the index)."""
        pos = bisect.bisect_left(self._firsts, first)
        self._firsts.insert(pos, first)
        self._keys.insert(pos, key)
        self._counts.insert(pos, n)
        self.spans += n
        self.dead -= n if n <= self.dead else 0

    def vectors(self, first: int, n: int) -> np.ndarray:
        """The ``[n, dim]`` vectors of ids ``[first, first + n)``."""
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = np.arange(first, first + n, dtype=np.int64)
        return np.asarray(self.index.reconstruct_batch(ids), dtype=np.float32).reshape(n, self.dim)

    def remove(self, firsts: set[int]) -> None:
        """Drop the documents whose first ids are ``firsts``."""
        gone: list[int] = []
        kept: list[tuple[int, str, int]] = []
        for f, k, c in zip(self._firsts, self._keys, self._counts, strict=True):
            if f in firsts:
                gone.extend(range(f, f + c))
            else:
                kept.append((f, k, c))
        self._firsts = [f for f, _, _ in kept]
        self._keys = [k for _, k, _ in kept]
        self._counts = [c for _, _, c in kept]
        self.spans -= len(gone)
        if not gone:
            return
        if self.kind == "flat":
            self.index.remove_ids(np.array(gone, dtype=np.int64))
            return
        self.dead += len(gone)
        if self.dead > self.spans:  # rebuild the graph from the live rows
            ids = np.array(
                [
                    i
                    for f, c in zip(self._firsts, self._counts, strict=True)
                    for i in range(f, f + c)
                ],
                dtype=np.int64,
            )
            vecs = self.index.reconstruct_batch(ids) if len(ids) else None
            self.index = self._new()
            if vecs is not None:
                self.index.add_with_ids(vecs, ids)
            self.dead = 0

    def owner(self, faiss_id: int) -> tuple[str, int] | None:
        """(document key, span index) of an id; ``None`` for an evicted one."""
        d = bisect.bisect_right(self._firsts, faiss_id) - 1
        if d < 0 or faiss_id - self._firsts[d] >= self._counts[d]:
            return None
        return self._keys[d], faiss_id - self._firsts[d]

    def search(
        self,
        x: np.ndarray,
        threshold: float,
        keys: set[str] | None = None,
        limit: int | None = None,
    ) -> list[list[tuple[str, int, float]]]:
        """For each unit row of ``x``: owners of the rows with inner product ``>= threshold``."""
        if self.spans == 0 or len(x) == 0:
            return [[] for _ in range(len(x))]
        lims, sims, ids = self.index.range_search(x, float(threshold) - 1e-6)
        out: list[list[tuple[str, int, float]]] = []
        for q in range(len(x)):
            found = []
            for j in range(int(lims[q]), int(lims[q + 1])):
                hit = self.owner(int(ids[j]))
                if hit is not None and (keys is None or hit[0] in keys):
                    found.append((hit[0], hit[1], min(float(sims[j]), 1.0)))
            found.sort(key=lambda t: (-t[2], t[0], t[1]))
            out.append(found[:limit] if limit is not None else found)
        return out

    def nbytes(self) -> int:
        """Approximate memory: vectors, HNSW links and the id maps."""
        per_row = self.dim * 4 + 48 + (self.hnsw_m * 2 * 4 if self.kind == "hnsw" else 0)
        return int(self.index.ntotal) * per_row + 24 * len(self._firsts)
