"""Merging cache folders (e.g. the shards that :func:`~semtoken_rag.distributed.warm_dataset`'s
workers write) into one cache folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from ..config import UNBOUNDED
from .fingerprint_cache import FingerprintCache
from .store import peek

logger = logging.getLogger(__name__)


def merge_shards(
    shards: Iterable[str | os.PathLike[str]],
    cache_path: str | os.PathLike[str],
    *,
    namespace: str | None = None,
    expected: Mapping[str, int] | None = None,
    max_entries: int | None = None,
) -> FingerprintCache:
    """Merge shard folders into the cache at ``cache_path`` (loaded first if present) and save it.

    Args:
        shards: Shard folders written by :func:`~semtoken_rag.distributed.warm_dataset` (or any
            cache folders).
        cache_path: The merged cache's folder.
        namespace: Refuse shards of other settings (default: the first shard's).
        expected: Documents each shard must hold, by folder; fewer raises ``RuntimeError``.
        max_entries: Span bound the merged cache keeps for later additions (never below the
            spans merged; default 200,000).

    Returns:
        The merged, saved :class:`FingerprintCache` (a key held by several shards is kept once).

    Example:
        >>> merged = merge_shards(["c.shards/shard-1a", "c.shards/shard-2b"], "c")  # doctest: +SKIP
        >>> len(merged), merged.stats()["entries"]  # doctest: +SKIP
        (128, 2311)
    """
    folders = sorted({os.fspath(s) for s in shards})
    merged = FingerprintCache(cache_path, max_entries=UNBOUNDED)
    if namespace is not None:
        merged.bind(namespace)
    for folder in folders:
        if peek(folder) is None:
            raise RuntimeError(f"shard {folder!r} is missing or unreadable")
        shard = FingerprintCache(folder, read_only=True, max_entries=UNBOUNDED)
        want = (expected or {}).get(folder, 0)
        if len(shard) < want:
            raise RuntimeError(f"shard {folder!r} holds {len(shard)} documents, expected {want}")
        if merged.namespace is not None and shard.namespace != merged.namespace:
            raise ValueError(f"shard {folder!r} holds fingerprints of other settings")
        merged.merge(shard)
    spans = merged.stats()["entries"]
    merged.max_entries = max(int(spans), max_entries or 200_000)
    merged.save()
    logger.info("merged %d shards into %s: %d documents", len(folders), cache_path, len(merged))
    return merged
