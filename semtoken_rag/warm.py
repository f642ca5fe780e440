"""Warm-up: precompute a corpus's fingerprints at ingestion time, so queries only hit the cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .config import check_int
from .inputs import as_documents

if TYPE_CHECKING:
    from .compressor import SemTokenCompressor
    from .types import DocFingerprints

_T = TypeVar("_T")

logger = logging.getLogger(__name__)


def warm_cache(
    compressor: SemTokenCompressor,
    documents: Sequence[Any],
    *,
    batch_size: int = 64,
    progress: bool = True,
    save: bool = True,
) -> dict[str, int]:
    """Fingerprint ``documents`` into ``compressor.cache``, in batches, with a progress bar.

    Args:
        compressor: A compressor with a cache (:class:`~semtoken_rag.FingerprintCache`).
        documents: Strings, ``(text, metadata)`` pairs, dicts or document objects, as for
            :meth:`~semtoken_rag.SemTokenCompressor.compress`.
        batch_size: Documents per encoder call (and per progress-bar step).
        progress: Show a tqdm progress bar (on stderr).
        save: Save the cache at the end when it has a ``path``.

    Returns:
        Counts: ``documents`` (non-empty ones seen), ``computed`` (new fingerprints),
        ``cached`` (already present), ``spans`` and ``bytes`` (the cache's totals after warming).

    Example:
        >>> from semtoken_rag import FingerprintCache, SemTokenCompressor
        >>> from semtoken_rag.warm import warm_cache
        >>> c = SemTokenCompressor(cache=FingerprintCache("fp-cache"))  # doctest: +SKIP
        >>> warm_cache(c, ["Ada wrote it. Bob read it.", "Paris is in France."],
        ...            progress=False)  # doctest: +SKIP
        {'documents': 2, 'computed': 2, 'cached': 0, 'spans': 3, 'bytes': 5412}
    """
    check_int("batch_size", batch_size)
    cache = compressor.cache
    if cache is None:
        raise ValueError(
            "warm_cache needs a compressor with a cache: pass cache= or set cache_embeddings=True"
        )
    docs = [d for d in as_documents(documents) if d.text.strip()]
    computed = 0
    for batch in batches(docs, batch_size, progress):
        computed += compressor.warm(batch)
    if save and getattr(cache, "path", None) is not None and not getattr(cache, "read_only", False):
        cache.save()
    stats = cache.stats() if hasattr(cache, "stats") else {}
    counts = {
        "documents": len(docs),
        "computed": computed,
        "cached": len(docs) - computed,
        "spans": int(stats.get("entries", 0)),
        "bytes": int(stats.get("bytes", 0)),
    }
    logger.info("warmed the fingerprint cache: %s", counts)
    return counts


def batches(
    items: Sequence[_T], batch_size: int, progress: bool, unit: str = "doc"
) -> Iterator[Sequence[_T]]:
    """``items`` in slices of ``batch_size``, a tqdm bar ("fingerprints", on stderr, shown when
    ``progress``) advanced after each slice is processed."""
    from tqdm.auto import tqdm

    with tqdm(total=len(items), desc="fingerprints", unit=unit, disable=not progress) as bar:
        for lo in range(0, len(items), batch_size):
            batch = items[lo : lo + batch_size]
            yield batch
            bar.update(len(batch))


def check_ingestion_cache(compressor: SemTokenCompressor, save: bool) -> None:
    """``ValueError`` unless ``compressor`` has a writable cache, with a folder when ``save``:
    what an ingestion adapter (LangChain, LlamaIndex) checks when it is built."""
    cache = compressor.cache
    if cache is None or getattr(cache, "read_only", False):
        raise ValueError(
            "compressor must have a writable cache: SemTokenCompressor(cache="
            "FingerprintCache(path)) (open it read_only=True at query time, not here)"
        )
    if save and getattr(cache, "path", None) is None:
        raise ValueError("save=True needs a cache with a folder: FingerprintCache(path)")


def ingest(
    compressor: SemTokenCompressor,
    documents: Sequence[Any],
    *,
    batch_size: int,
    progress: bool = False,
    unit: str = "doc",
) -> list[DocFingerprints]:
    """Fingerprint ``documents`` (non-empty ones, as :meth:`~semtoken_rag.SemTokenCompressor.
    fingerprints` takes them) into the compressor's cache in batches; their fingerprints, in
    order. ``ValueError`` when the cache was removed or holds fingerprints of other settings
    (naming each differing setting), never written over."""
    cache = compressor.cache
    if cache is None:
        raise ValueError("the compressor's cache was removed: set compressor.cache again")
    cache.check_namespace(compressor.namespace)
    before = cache.misses
    out: list[DocFingerprints] = []
    for batch in batches(documents, batch_size, progress, unit):
        out += compressor.fingerprints(batch)
    logger.info(
        "fingerprinted %d %ss (%d new) into %s", len(documents), unit, cache.misses - before, cache
    )
    return out


def persist(compressor: SemTokenCompressor) -> int:
    """Save the compressor's cache to its folder; returns the bytes written."""
    cache = compressor.cache
    if cache is None or getattr(cache, "path", None) is None:
        raise ValueError("persist needs a cache with a folder: FingerprintCache(path)")
    return int(cache.save())
