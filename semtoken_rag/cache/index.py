"""Span vectors of the fingerprint cache in one id-mapped FAISS index (exact inner product).

Document ``d`` owns the FAISS ids ``[first, first + n)``; ids only grow, so the table of first ids
stays sorted and an id's owner is one bisection away. Evicted documents' rows are removed from the
index. Not thread-safe: the cache holds the lock.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np


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
    """Unit span vectors owned by document keys, stored in a FAISS ``IndexIDMap2(IndexFlatIP)``.

    Example:
        >>> import numpy as np
        >>> ix = SpanIndex(4)
        >>> ix.add("doc", np.eye(4, dtype=np.float32)[:2])
        0
        >>> ix.vectors(1, 1).tolist()
        [[0.0, 1.0, 0.0, 0.0]]
    """

    def __init__(
        self, dim: int, *, index: Any = None, next_id: int = 0, mapped: bool = False
    ) -> None:
        self.dim = dim
        if index is None:
            faiss = faiss_module()
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.index = index
        self.mapped = mapped  # vectors memory-mapped from a saved file: copied before a write
        self.next_id = next_id
        self._firsts: list[int] = []  # first id of each live document, ascending
        self._keys: list[str] = []
        self._counts: list[int] = []
        self.spans = 0

    def add(self, key: str, vectors: np.ndarray) -> int:
        """Add one document's ``[n, dim]`` vectors; returns its first id."""
        first, n = self.next_id, len(vectors)
        if n:
            self._own()
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

    def adopt_all(self, keys: Sequence[str], firsts: Sequence[int], counts: Sequence[int]) -> None:
        """:meth:`adopt` for many documents in any order (a loaded cache, saved in LRU order):
        one sort, where inserting each into the sorted table would be quadratic."""
        rows = sorted(zip([*self._firsts, *firsts], [*self._keys, *keys], [*self._counts, *counts]))
        self._firsts = [f for f, _, _ in rows]
        self._keys = [k for _, k, _ in rows]
        self._counts = [c for _, _, c in rows]
        self.spans += int(sum(counts))

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
        if gone:
            self._own()
            self.index.remove_ids(np.array(gone, dtype=np.int64))

    def _own(self) -> None:
        """Copy memory-mapped vectors into memory (FAISS cannot add to or remove from a mapped
        file: it aborts the process)."""
        if not self.mapped:
            return
        faiss = faiss_module()
        inner = faiss.downcast_index(self.index.index)
        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        owned = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if len(ids):
            owned.add_with_ids(inner.reconstruct_n(0, inner.ntotal), ids)
        self.index, self.mapped = owned, False

    def nbytes(self) -> int:
        """Approximate memory: vectors and the id maps."""
        return int(self.index.ntotal) * (self.dim * 4 + 48) + 24 * len(self._firsts)
