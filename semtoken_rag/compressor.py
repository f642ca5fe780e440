"""The compressor: segment, fingerprint (through the cache), score, merge, select, assemble."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from . import stages
from .cache import FingerprintCache
from .config import SemTokenConfig
from .encoder import Encoder, resolve_encoder
from .fingerprint import fingerprint, settings_id
from .inputs import as_documents, check_query, resolve_budget
from .tokens import TokenCounter, resolve_counter
from .types import CompressionResult, Span

logger = logging.getLogger(__name__)


class SemTokenCompressor:
    """Query-aware, budgeted context compression with full provenance.

    Args:
        config: Settings (:class:`SemTokenConfig`); defaults are sensible for RAG.
        encoder: A sentence-transformers model, a model name or path, or a callable
            ``list[str] -> array``. Default: the bundled all-MiniLM-L6-v2, loaded on first use.
        token_counter: A tiktoken encoding name, a Hugging Face tokenizer or a callable
            ``str -> int``. Default: ``cl100k_base``.
        cache: A :class:`FingerprintCache` (share one across compressors and calls). Default: an
            in-memory cache when ``config.cache_embeddings``, else none.

    Example:
        >>> from semtoken_rag import SemTokenCompressor
        >>> c = SemTokenCompressor()
        >>> r = c.compress("Who discovered X-rays?", [
        ...     "Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize.",
        ...     "Paris is the capital of France. It has many museums."], budget=20)
        >>> r.kept_tokens <= 20, r.spans[0].doc_index
        (True, 0)
    """

    def __init__(
        self,
        config: SemTokenConfig | None = None,
        *,
        encoder: Any = None,
        token_counter: Any = None,
        cache: FingerprintCache | None = None,
    ) -> None:
        if config is not None and not isinstance(config, SemTokenConfig):
            raise TypeError(f"config must be a SemTokenConfig, got {type(config).__name__}")
        self.config = config or SemTokenConfig()
        self.encoder: Encoder = resolve_encoder(
            encoder, self.config.encoder_model, self.config.device, self.config.batch_size
        )
        self.token_counter: TokenCounter = resolve_counter(token_counter)
        if cache is None and self.config.cache_embeddings:
            cache = FingerprintCache()
        self.cache = cache
        self._namespace: str | None = None

    @property
    def namespace(self) -> str:
        """What fingerprints depend on besides text (encoder, counter, segmentation)."""
        if self._namespace is None:
            self._namespace = settings_id(self.encoder, self.token_counter.name, self.config)
            if self.cache is not None:
                self.cache.bind(self._namespace)
        return self._namespace

    def compress(
        self,
        query: str | None,
        documents: Sequence[Any],
        *,
        budget: int | None = None,
        ratio: float | None = None,
    ) -> CompressionResult:
        """Keep the spans that best answer ``query`` within ``budget`` tokens (or ``ratio``).

        Args:
            query: The question; ``None`` or "" compresses by information density.
            documents: Strings, ``(text, metadata)`` pairs, dicts or document objects.
            budget: Maximum tokens of kept text (by the configured counter).
            ratio: Share of the input's tokens to keep, in (0, 1]. Default:
                ``config.compression_ratio`` when neither is given.

        Returns:
            A :class:`CompressionResult`: spans with provenance, per-document text, numbers.

        Example:
            >>> r = SemTokenCompressor().compress("capital of France?", ["Paris is the capital."],
            ...                                   ratio=1.0)
            >>> r.documents()
            ['Paris is the capital.']
        """
        t0 = time.perf_counter()
        q = check_query(query)
        docs = as_documents(documents)
        count = self.token_counter
        times: dict[str, float] = {}
        doc_tokens = [count(d.text) if d.text else 0 for d in docs]
        original = int(sum(doc_tokens))
        limit = self.config.max_input_tokens
        if limit is not None and original > limit:
            raise ValueError(
                f"documents hold {original} tokens, above max_input_tokens={limit}; "
                "split the input or raise the limit in SemTokenConfig"
            )
        cap = resolve_budget(budget, ratio, original, self.config.compression_ratio)
        t = time.perf_counter()
        times["count"] = t - t0
        if original <= cap:  # everything fits: nothing to score or encode
            return _keep_all(q, docs, doc_tokens, cap, times, t0, self.config.separator)
        fps = fingerprint(docs, self.encoder, self.config, count, self.cache, self.namespace)
        times["encode"] = time.perf_counter() - t
        units = stages.flatten(docs, fps, self.config, count, cap)
        t = time.perf_counter()
        qvec = self.encoder.encode_queries([q])[0] if q and len(units.doc) else None
        rel = stages.relevance(q, qvec, units, docs, self.config)
        times["score"] = time.perf_counter() - t
        t = time.perf_counter()
        keep, labels = stages.merge(units, rel.span, self.config)
        times["merge"] = time.perf_counter() - t
        t = time.perf_counter()
        chosen = stages.select(units, rel, keep, cap, self.config, original, q)
        times["select"] = time.perf_counter() - t
        t = time.perf_counter()
        spans, texts, kept = stages.assemble(
            docs, units, rel, labels, chosen, cap, count, self.config
        )
        times["assemble"] = time.perf_counter() - t
        times["total"] = time.perf_counter() - t0
        logger.debug(
            "compressed %d docs: %d -> %d tokens (budget %d)", len(docs), original, kept, cap
        )
        return CompressionResult(
            query=q,
            spans=tuple(spans),
            source_texts=tuple(d.text for d in docs),
            doc_scores=tuple(float(x) for x in rel.doc),
            original_tokens=original,
            kept_tokens=kept,
            budget=cap,
            timings=times,
            separator=self.config.separator,
            _texts=tuple(texts),
        )

    async def acompress(
        self,
        query: str | None,
        documents: Sequence[Any],
        *,
        budget: int | None = None,
        ratio: float | None = None,
    ) -> CompressionResult:
        """:meth:`compress` in a worker thread, so the event loop is never blocked.

        Example:
            >>> import asyncio
            >>> r = asyncio.run(SemTokenCompressor().acompress("q", ["Some text."], ratio=1.0))
            >>> r.documents()
            ['Some text.']
        """
        return await asyncio.to_thread(self.compress, query, documents, budget=budget, ratio=ratio)

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under the configured counter."""
        return self.token_counter(text)

    def warm(self, documents: Sequence[Any]) -> int:
        """Precompute (and cache) the fingerprints of ``documents``; returns how many were new."""
        if self.cache is None:
            raise ValueError("warm needs a cache: pass cache= or set cache_embeddings=True")
        docs = [d for d in as_documents(documents) if d.text.strip()]
        before = self.cache.misses
        fingerprint(docs, self.encoder, self.config, self.token_counter, self.cache, self.namespace)
        return self.cache.misses - before


def _keep_all(
    query: str | None,
    docs: Sequence[Any],
    doc_tokens: list[int],
    budget: int,
    times: dict[str, float],
    t0: float,
    separator: str,
) -> CompressionResult:
    """The result when the whole input fits the budget: every non-empty document, untouched."""
    spans = tuple(
        Span(i, 0, len(d.text), d.text, n, 1.0, 0.0, i)
        for i, (d, n) in enumerate(zip(docs, doc_tokens))
        if d.text
    )
    times["total"] = time.perf_counter() - t0
    return CompressionResult(
        query=query,
        spans=spans,
        source_texts=tuple(d.text for d in docs),
        doc_scores=tuple(1.0 if d.text else 0.0 for d in docs),
        original_tokens=sum(doc_tokens),
        kept_tokens=sum(doc_tokens),
        budget=budget,
        timings=times,
        separator=separator,
        _texts=tuple(d.text for d in docs),
    )
