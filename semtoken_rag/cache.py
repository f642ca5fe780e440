"""Fingerprint cache (placeholder in-memory LRU; the FAISS-backed cache replaces it)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from .types import DocFingerprints


class FingerprintCache:
    """In-memory LRU of document fingerprints keyed by a content hash."""

    def __init__(self, path: str | None = None, *, max_entries: int = 100_000) -> None:
        self.path = path
        self.max_entries = max_entries
        self._data: OrderedDict[str, DocFingerprints] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.namespace: str | None = None

    def bind(self, namespace: str) -> None:
        with self._lock:
            if self.namespace is not None and self.namespace != namespace:
                self._data.clear()
            self.namespace = namespace

    def get(self, key: str) -> DocFingerprints | None:
        with self._lock:
            fp = self._data.get(key)
            if fp is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return fp

    def put(self, key: str, fp: DocFingerprints) -> None:
        with self._lock:
            self._data[key] = fp
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
