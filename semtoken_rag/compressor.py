"""The compressor: segment, fingerprint (through the cache), spans, relevance, merge, select,
assemble. Each stage is a pure function in :mod:`semtoken_rag.pipeline`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from . import many, threads
from .cache import FingerprintCache
from .config import SemTokenConfig
from .encoder import Encoder, resolve_encoder
from .inputs import as_documents, check_min_relevance, check_query, resolve_budget
from .pipeline import fingerprint as fingerprint_stage
from .pipeline.assemble import assemble, joined_tokens, keep_all, piece
from .pipeline.calibrate import calibrated
from .pipeline.merge import merge, no_merge
from .pipeline.relevance import Relevance, per_document, relevance
from .pipeline.select import select, values
from .pipeline.spans import build_table
from .tokens import TokenCounter, resolve_counter
from .types import CompressionResult, DocFingerprints, Document, SpanTable

logger = logging.getLogger(__name__)

CHUNK_CHARS = 400_000
"""Documents are fingerprinted in groups of about this many characters (~100k tokens), so the
token states of a 1M-token input never sit in memory at once (they took ~1.7 GB)."""


class SemTokenCompressor:
    """Query-aware, budgeted context compression with full provenance.

    Args:
        config: Settings (:class:`SemTokenConfig`); defaults are sensible for RAG.
        encoder: A sentence-transformers model, a model name or path, an
            :class:`~semtoken_rag.encoder.Encoder`, or a callable ``list[str] -> array``.
            Default: the bundled all-MiniLM-L6-v2, loaded on first use.
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
            encoder,
            self.config.encoder_model,
            self.config.device,
            self.config.batch_size,
            self.config.backend,
        )
        self._queries = many.QueryCache(self.config.query_cache_size)
        self.token_counter: TokenCounter = resolve_counter(token_counter)
        if cache is None and self.config.cache_embeddings:
            cache = FingerprintCache()
        self.cache = cache
        self.window = fingerprint_stage.encoder_window(
            self.config.context_window, self.config.max_span_tokens
        )

    @cached_property
    def namespace(self) -> str:
        """What fingerprints depend on besides text: encoder identity, counter, segmentation and
        window (computed once; a callable encoder is probed once for its identity)."""
        c = self.config
        return fingerprint_stage.namespace(
            self.encoder.identity,
            self.token_counter.name,
            c.granularity,
            c.max_span_tokens,
            self.window,
        )

    @threads.counted
    def compress(
        self,
        query: str | None,
        documents: Sequence[Any],
        *,
        budget: int | None = None,
        ratio: float | None = None,
        min_relevance: float | None = None,
    ) -> CompressionResult:
        """Keep the spans that best answer ``query`` within ``budget`` tokens (or ``ratio``).

        Args:
            query: The question; ``None`` or "" compresses by information density.
            documents: Strings, ``(text, metadata)`` pairs, dicts or document objects.
            budget: Maximum tokens of kept text (by the configured counter): of the documents'
                kept texts together, and of :attr:`CompressionResult.text` (them joined by a
                blank line).
            ratio: Share of the input's tokens to keep, in (0, 1]: the budget is that share of
                the documents joined by a blank line (so ``1.0`` keeps everything). Default:
                ``config.compression_ratio`` when neither is given.
            min_relevance: Keep only spans whose calibrated score (the estimated probability
                that the span holds evidence for ``query``, :attr:`Span.score`) is at least
                this, up to the budget: the budget stays a ceiling, never a target. Needs a
                query. Default: no threshold.

        Returns:
            A :class:`CompressionResult`: spans with provenance, per-document text, numbers.

        Example:
            >>> r = SemTokenCompressor().compress("capital of France?", ["Paris is the capital."],
            ...                                   ratio=1.0)
            >>> r.documents()
            ['Paris is the capital.']
        """
        clock = _Clock()
        c, count = self.config, self.token_counter
        q = check_query(query)
        floor = check_min_relevance(min_relevance, q)
        docs = as_documents(documents)
        doc_tokens = [count(d.text) if d.text else 0 for d in docs]
        original = int(sum(doc_tokens))
        if c.max_input_tokens is not None and original > c.max_input_tokens:
            raise ValueError(
                f"documents hold {original} tokens, above max_input_tokens={c.max_input_tokens}; "
                "split the input or raise the limit in SemTokenConfig"
            )
        # the input as result.text would hold it (documents joined by a blank line): what a
        # ratio is a share of, and what must fit for the input to be kept whole
        cap = resolve_budget(budget, ratio, original, c.compression_ratio)
        whole = original
        if budget is None or original <= cap:
            whole = joined_tokens([d.text for d in docs], doc_tokens, count)
        if budget is None:
            cap = resolve_budget(None, ratio, max(original, whole), c.compression_ratio)
        clock.lap("count")
        fits = original <= cap and whole <= cap
        if fits and q is None:  # everything fits: nothing to score or encode
            return keep_all(q, docs, doc_tokens, whole, cap, clock.done(), c.separator)
        table, rel = self._score(q, docs, doc_tokens, cap, clock)
        score = calibrated(rel.signals, c.tuning.calibration) if q else rel.span
        doc_scores = per_document(score, table.doc, len(docs)).tolist()
        if fits and floor is None:  # everything fits: every document whole, scored honestly
            return keep_all(q, docs, doc_tokens, whole, cap, clock.done(), c.separator, doc_scores)
        clock.lap("score")
        if c.use_merging and len(table):
            keep, labels = merge(
                table,
                rel.span,
                threshold=c.similarity_threshold,
                method=c.clustering,
                min_size=c.min_cluster_size,
                max_size=c.max_cluster_size,
                lexical_identity=c.tuning.lexical_identity,
            )
        else:
            keep, labels = no_merge(len(table))
        clock.lap("merge")
        if floor is not None:
            keep = keep & (score >= floor)
        selection = select(
            table,
            rel.span,
            keep,
            cap,
            join_cost=max(1, count(c.separator)) if c.separator else 0,
            query=q,
            tuning=c.tuning,
            evidence=score,
        )
        cut = None
        if selection.cut >= 0:
            k = selection.cut
            window = q if c.tuning.cut_window else None
            cut = (k, piece(table.texts[k], selection.cut_tokens, count, window))
        clock.lap("select")
        value = values(table, rel.span, c.tuning.value_exponent)
        sources = [d.text for d in docs]
        out = assemble(
            sources,
            table,
            score,
            value,
            labels,
            selection.chosen,
            cap,
            count,
            c.separator,
            cut,
            fallback=floor is None,
            reflowed=c.reflow,
        )
        spans, texts, kept = out.spans, out.texts, out.tokens
        clock.lap("assemble")
        logger.debug(
            "compressed %d docs: %d -> %d tokens (budget %d)", len(docs), original, sum(kept), cap
        )
        return CompressionResult(
            query=q,
            spans=tuple(spans),
            source_texts=tuple(sources),
            doc_scores=tuple(float(x) for x in doc_scores),
            original_tokens=original,
            kept_tokens=int(sum(kept)),
            budget=cap,
            timings=clock.done(),
            separator=c.separator,
            doc_tokens=tuple(doc_tokens),
            kept_doc_tokens=tuple(kept),
            text_tokens=out.text_tokens,
            _texts=tuple(texts),
        )

    async def acompress(
        self,
        query: str | None,
        documents: Sequence[Any],
        *,
        budget: int | None = None,
        ratio: float | None = None,
        min_relevance: float | None = None,
    ) -> CompressionResult:
        """:meth:`compress` in a worker thread, so the event loop is never blocked.

        Example:
            >>> import asyncio
            >>> r = asyncio.run(SemTokenCompressor().acompress("q", ["Some text."], ratio=1.0))
            >>> r.documents()
            ['Some text.']
        """
        return await asyncio.to_thread(
            self.compress, query, documents, budget=budget, ratio=ratio, min_relevance=min_relevance
        )

    @threads.counted
    def compress_many(
        self,
        queries: Sequence[str | None],
        documents_per_query: Sequence[Sequence[Any]],
        *,
        budget: int | None = None,
        ratio: float | None = None,
    ) -> list[CompressionResult]:
        """:meth:`compress` for many queries: the distinct queries are encoded in one batch,
        then each query is compressed in order, the fingerprints of a document shared by several
        queries computed once (through the cache; a temporary one when the compressor has
        none). The results equal calling :meth:`compress` one by one.

        Args:
            queries: One query per call (``None`` or "" compresses by information density).
            documents_per_query: The documents of each query (often the same corpus).
            budget: Maximum kept tokens per query, as in :meth:`compress`.
            ratio: Share of each query's input to keep, as in :meth:`compress`.

        Example:
            >>> docs = ["Paris is the capital of France. It has many museums."]
            >>> rs = SemTokenCompressor().compress_many(["capital?", "museums?"], [docs, docs],
            ...                                         budget=8)
            >>> [r.kept_tokens <= 8 for r in rs]
            [True, True]
        """
        return many.compress_many(self, queries, documents_per_query, budget, ratio)

    def _score(
        self,
        q: str | None,
        docs: Sequence[Document],
        doc_tokens: Sequence[int],
        cap: int,
        clock: _Clock | None = None,
    ) -> tuple[SpanTable, Relevance]:
        """The call's spans for a budget of ``cap`` tokens and their relevance (fingerprints
        through the cache; ``clock`` times ``encode``)."""
        c = self.config
        fps = self.fingerprints(docs)
        if clock is not None:
            clock.lap("encode")
        t = c.tuning
        table = build_table(
            docs,
            fps,
            self.token_counter,
            adaptive=c.granularity == "adaptive" and c.use_entropy,
            entropy_threshold=c.entropy_threshold,
            max_span_tokens=c.max_span_tokens,
            whole_tokens=max(c.max_span_tokens, int(cap * t.unit_share)),
            doc_tokens=doc_tokens,
            whole_doc_tokens=min(
                max(t.whole_document_tokens, int(cap * t.whole_document_share)),
                int(cap * t.unit_share),
            ),
            reflowed=c.reflow,
        )
        qvec = self.query_vectors([q])[0] if q and len(table) else None
        rel = relevance(
            q,
            qvec,
            table,
            fusion=c.fusion,
            feedback=c.use_feedback,
            use_entropy=c.use_entropy,
            tuning=t,
        )
        return table, rel

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` of ``queries``, through the LRU of query vectors (keyed by
        the query text and :attr:`namespace`; ``config.query_cache_size`` of them); the missing
        ones are encoded in one batch.

        Example:
            >>> SemTokenCompressor().query_vectors(["who won?"]).shape
            (1, 384)
        """
        return self._queries.vectors(self.namespace, queries, self.encoder.encode_query)

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under the configured counter."""
        return self.token_counter(text)

    def fingerprints(self, documents: Sequence[Any]) -> list[DocFingerprints]:
        """The span fingerprints of ``documents``, through the cache when there is one.

        Example:
            >>> fps = SemTokenCompressor().fingerprints(["Ada wrote it. Bob read it."])
            >>> len(fps[0]), fps[0].vectors.shape
            (2, (2, 384))
        """
        docs = as_documents(documents)
        if self.cache is None:
            return self._compute(docs)
        return self.cache.get_or_compute(docs, self.namespace, self._compute)

    def warm(self, documents: Sequence[Any]) -> int:
        """Precompute (and cache) the fingerprints of ``documents``; returns how many were new."""
        if self.cache is None:
            raise ValueError("warm needs a cache: pass cache= or set cache_embeddings=True")
        docs = [d for d in as_documents(documents) if d.text.strip()]
        before = self.cache.misses
        self.fingerprints(docs)
        return self.cache.misses - before

    def _compute(self, docs: Sequence[Document]) -> list[DocFingerprints]:
        """Fingerprints of ``docs``, in groups of at most :data:`CHUNK_CHARS` characters: a
        group's token states (1.5 KB per token) are pooled and dropped before the next."""
        c = self.config
        out: list[DocFingerprints] = []
        start, size = 0, 0
        for i, d in enumerate(docs):
            size += len(d.text) + len(d.title)
            if size >= CHUNK_CHARS or i == len(docs) - 1:
                out += fingerprint_stage.fingerprint_documents(
                    docs[start : i + 1],
                    self.encoder,
                    c.granularity,
                    c.max_span_tokens,
                    self.window,
                    self.token_counter,
                )
                start, size = i + 1, 0
        return out


class _Clock:
    """Seconds per stage, for :attr:`CompressionResult.timings`."""

    def __init__(self) -> None:
        self.t0 = self.t = time.perf_counter()
        self.times: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = now - self.t
        self.t = now

    def done(self) -> dict[str, float]:
        self.times["total"] = time.perf_counter() - self.t0
        return self.times
