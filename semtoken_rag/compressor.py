"""The compressor: segment, fingerprint (through the cache), spans, relevance, merge, select,
assemble. Each stage is a pure function in :mod:`semtoken_rag.pipeline`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from .cache import FingerprintCache
from .cache.queries import QueryCache
from .config import UNBOUNDED, SemTokenConfig
from .encoders import resolve_encoder, threads
from .inputs import as_documents, check_query, measure
from .pipeline import fingerprint as fingerprint_stage
from .pipeline.assemble import Assembled, assemble, compression_result, keep_all, piece
from .pipeline.calibrate import calibrated
from .pipeline.fingerprint import Encoder
from .pipeline.merge import merge, no_merge
from .pipeline.relevance import Relevance, per_document, relevance
from .pipeline.select import select, values
from .pipeline.spans import build_table, opens_item, unit_limits
from .progress import StageClock
from .tokens import TokenCounter, resolve_counter
from .types import CompressionResult, DocFingerprints, Document, MeasuredInput, SpanTable

logger = logging.getLogger(__name__)

CHUNK_CHARS = 400_000
"""Documents are fingerprinted in groups of about this many characters (~100k tokens), so the
token states of a 1M-token input never sit in memory at once (they took ~1.7 GB)."""


class SemTokenCompressor:
    """Query-aware, budgeted context compression with full provenance.

    Args:
        config: Settings (:class:`SemTokenConfig`); defaults are sensible for RAG.
        encoder: A sentence-transformers model, a model name or path, an
            :class:`~semtoken_rag.encoders.Encoder`, or a callable ``list[str] -> array``.
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
        self._queries = QueryCache(self.config.query_cache_size)
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
            budget: Most tokens (by the configured counter) of the kept texts together, and of
                :attr:`CompressionResult.text` (them joined by a blank line).
            ratio: Share to keep, in (0, 1], of the documents joined by a blank line (``1.0``
                keeps everything). Default: ``config.compression_ratio`` when neither is given.
            min_relevance: Keep only spans whose calibrated score (:attr:`Span.score`, the
                estimated probability that the span holds evidence for ``query``) is at least
                this, up to the budget (a ceiling, never a target). Needs a query.

        Returns:
            A :class:`CompressionResult`: spans with provenance, per-document text, numbers.

        Example:
            >>> SemTokenCompressor().compress("capital?", ["Paris is the capital."], ratio=1.0).text
            'Paris is the capital.'
        """
        clock, c = StageClock(), self.config
        call = measure(c, self.token_counter, query, documents, budget, ratio, min_relevance)
        clock.lap("count")
        if call.fits and call.query is None:  # everything fits: nothing to score or encode
            return keep_all(call, clock.done(), c.separator)
        table, rel = self._score(call.query, call.docs, call.doc_tokens, call.budget, clock)
        score = calibrated(rel.signals, c.tuning.calibration, table.doc) if call.query else rel.span
        doc_scores = per_document(score, table.doc, len(call.docs)).tolist()
        if call.fits and call.floor is None:  # everything fits: every document whole, scored
            return keep_all(call, clock.done(), c.separator, doc_scores)
        clock.lap("score")
        keep, labels = self._merge(table, rel.span)
        clock.lap("merge")
        if call.floor is not None:
            keep = keep & (score >= call.floor)
        chosen, cut = self._select(call, table, rel.span, score, keep)
        clock.lap("select")
        kept = self._assemble(call, table, score, rel.span, labels, chosen, cut)
        clock.lap("assemble")
        return compression_result(call, kept, doc_scores, clock.done(), c.separator)

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
        if isinstance(queries, str) or len(queries) != len(documents_per_query):
            raise ValueError(
                "queries and documents_per_query must be sequences of the same length, got "
                f"{type(queries).__name__} and {len(documents_per_query)} document lists"
            )
        asked = [check_query(q) for q in queries]
        self.query_vectors(list(dict.fromkeys(q for q in asked if q)))
        runner = self
        if self.cache is None:  # share fingerprints through a cache for this call only
            runner = type(self)(
                self.config,
                encoder=self.encoder,
                token_counter=self.token_counter,
                cache=FingerprintCache(max_entries=UNBOUNDED),
            )
            runner._queries = self._queries
        return [
            runner.compress(q, docs, budget=budget, ratio=ratio)
            for q, docs in zip(queries, documents_per_query, strict=True)
        ]

    def _score(
        self,
        q: str | None,
        docs: Sequence[Document],
        doc_tokens: Sequence[int],
        cap: int,
        clock: StageClock | None = None,
    ) -> tuple[SpanTable, Relevance]:
        """The call's spans for a budget of ``cap`` tokens and their relevance (fingerprints
        through the cache; ``clock`` times ``encode``)."""
        fps = self.fingerprints(docs)
        if clock is not None:
            clock.lap("encode")
        c = self.config
        whole_tokens, whole_doc_tokens = unit_limits(cap, c.max_span_tokens, c.tuning)
        table = build_table(
            docs,
            fps,
            self.token_counter,
            adaptive=c.granularity == "adaptive" and c.use_entropy,
            entropy_threshold=c.entropy_threshold,
            max_span_tokens=c.max_span_tokens,
            whole_tokens=whole_tokens,
            doc_tokens=doc_tokens,
            whole_doc_tokens=whole_doc_tokens,
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
            tuning=c.tuning,
            budget=cap,
        )
        return table, rel

    def _merge(self, table: SpanTable, relevance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which spans may be kept (one per redundancy cluster) and each span's cluster."""
        c = self.config
        if not (c.use_merging and len(table)):
            return no_merge(len(table))
        return merge(
            table,
            relevance,
            threshold=c.similarity_threshold,
            method=c.clustering,
            min_size=c.min_cluster_size,
            max_size=c.max_cluster_size,
            lexical_identity=c.tuning.lexical_identity,
            overlap_words=c.tuning.overlap_words,
        )

    def _select(
        self,
        call: MeasuredInput,
        table: SpanTable,
        relevance: np.ndarray,
        evidence: np.ndarray,
        keep: np.ndarray,
    ) -> tuple[list[int], tuple[int, tuple[int, int]] | None]:
        """The spans kept whole, and the one kept in part (its index and the piece's offsets
        into its text) when the budget's rest would otherwise go unused (``evidence``: each
        span's calibrated score, for ``tuning.cut_by_evidence``)."""
        c, count = self.config, self.token_counter
        selection = select(
            table,
            relevance,
            keep,
            call.budget,
            join_cost=max(1, count(c.separator)) if c.separator else 0,
            query_free=call.query is None,
            tuning=c.tuning,
            evidence=evidence,
        )
        if selection.cut < 0:
            return selection.chosen, None
        k = selection.cut
        window = call.query if c.tuning.cut_window else None
        d = int(table.doc[k])
        if c.tuning.cut_item_prefix and opens_item(table.doc_texts[d], int(table.start[k])):
            window = None  # a definition's piece keeps the term it defines: its beginning
        return selection.chosen, (k, piece(table.texts[k], selection.cut_tokens, count, window))

    def _assemble(
        self,
        call: MeasuredInput,
        table: SpanTable,
        score: np.ndarray,
        relevance: np.ndarray,
        labels: np.ndarray,
        chosen: list[int],
        cut: tuple[int, tuple[int, int]] | None,
    ) -> Assembled:
        """The kept spans and texts within the budget (the weakest by value dropped first)."""
        c = self.config
        kept = assemble(
            [d.text for d in call.docs],
            table,
            score,
            values(table, relevance, c.tuning.value_exponent),
            labels,
            chosen,
            call.budget,
            self.token_counter,
            c.separator,
            cut,
            fallback=call.floor is None,
            reflowed=c.reflow,
        )
        logger.debug("compressed %d docs: %d -> %d tokens (budget %d)", len(call.docs),
                     call.original, sum(kept.tokens), call.budget)  # fmt: skip
        return kept

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
