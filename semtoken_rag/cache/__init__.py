"""The FAISS-backed fingerprint cache: policy (:mod:`.fingerprint_cache`), on-disk format and
atomic saves (:mod:`.store`), the span-vector index (:mod:`.index`), shard merging
(:mod:`.shards`)."""

from __future__ import annotations

from .fingerprint_cache import FingerprintCache, document_key
from .shards import merge_shards

__all__ = ["FingerprintCache", "document_key", "merge_shards"]
