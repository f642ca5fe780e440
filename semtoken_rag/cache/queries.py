"""The LRU of query vectors (:class:`QueryCache`), beside the fingerprint cache: a repeated query
is encoded once per namespace."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np


class QueryCache:
    """A thread-safe LRU of query vectors keyed by (namespace, query text); ``size == 0`` keeps
    none. Stored vectors are read-only copies.

    Example:
        >>> import numpy as np
        >>> qc = QueryCache(2)
        >>> qc.vectors("ns", ["a", "b", "a"], lambda qs: np.ones((len(qs), 3))).shape
        (3, 3)
        >>> qc.misses, len(qc)
        (2, 2)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.misses = 0
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            v = self._items.get(key)
            if v is not None:
                self._items.move_to_end(key)
            return v

    def put(self, key: tuple[str, str], vector: np.ndarray) -> None:
        if self.size == 0:
            return
        v = np.array(vector, dtype=np.float32, copy=True)
        v.setflags(write=False)
        with self._lock:
            self._items[key] = v
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def vectors(
        self, namespace: str, queries: Sequence[str], encode: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """``[n, dim]`` vectors of ``queries``: held ones from the LRU, the distinct missing ones
        computed by one ``encode`` call (then held)."""
        got = [self.get((namespace, q)) for q in queries]
        todo = list(dict.fromkeys(q for q, v in zip(queries, got) if v is None))
        if todo:
            self.misses += len(todo)
            fresh = dict(zip(todo, np.asarray(encode(todo), dtype=np.float32), strict=True))
            for q, v in fresh.items():
                self.put((namespace, q), v)
            got = [v if v is not None else fresh[q] for q, v in zip(queries, got)]
        if not got:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([np.asarray(v, dtype=np.float32) for v in got])
