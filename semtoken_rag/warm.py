"""Warm-up: precompute a corpus's fingerprints at ingestion time, so queries only hit the cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .inputs import as_documents

if TYPE_CHECKING:
    from .compressor import SemTokenCompressor

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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    cache = compressor.cache
    if cache is None:
        raise ValueError(
            "warm_cache needs a compressor with a cache: pass cache= or set cache_embeddings=True"
        )
    docs = [d for d in as_documents(documents) if d.text.strip()]
    from tqdm.auto import tqdm

    computed = 0
    with tqdm(total=len(docs), desc="fingerprints", unit="doc", disable=not progress) as bar:
        for lo in range(0, len(docs), batch_size):
            batch = docs[lo : lo + batch_size]
            computed += compressor.warm(batch)
            bar.update(len(batch))
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
