"""``SemTokenDocumentCompressor``: semtoken-rag as a LangChain ``BaseDocumentCompressor``."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr, model_validator
from semtoken_rag import CompressionResult, SemTokenCompressor, SemTokenConfig

logger = logging.getLogger(__name__)


class SemTokenDocumentCompressor(BaseDocumentCompressor):
    """Keep the spans of the retrieved documents that best answer the query, within a budget.

    The budget is global over the documents of one call: the best spans across all of them are
    kept. Each returned document is a copy with the kept text (in original order), the same
    ``id``, and the caller's metadata plus ``"relevance_score"`` (top level, where LangChain
    rerankers put theirs: the calibrated probability, in [0, 1], that the document holds
    evidence for the query, the same on every input, so a threshold means the same everywhere;
    it replaces an earlier stage's value) and a ``"semtoken"`` entry
    (:meth:`semtoken_rag.CompressionResult.provenance`: ``relevance_score``,
    ``original_tokens``, ``kept_tokens``, ``spans`` with ``start``/``end`` character offsets into
    the original ``page_content``, ``tokens`` and ``score``, and ``query_free``). Input documents
    are never mutated.

    Example:
        >>> from langchain_core.documents import Document
        >>> from langchain_semtoken import SemTokenDocumentCompressor
        >>> docs = [Document("Röntgen discovered X-rays in 1895. He liked hiking.", id="a"),
        ...         Document("Paris is the capital of France.", id="b")]
        >>> out = SemTokenDocumentCompressor(max_tokens=16).compress_documents(
        ...     docs, "Who discovered X-rays?")
        >>> [d.id for d in out], out[0].page_content
        (['a'], 'Röntgen discovered X-rays in 1895.')
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    max_tokens: int | None = Field(default=None, gt=0)
    """Token budget for the kept text of all documents of one call together (by the core's
    token counter, cl100k by default). Give this or ``ratio``, not both."""

    ratio: float | None = Field(default=None, gt=0.0, le=1.0)
    """Share of the input tokens to keep, in (0, 1]. When neither ``max_tokens`` nor ``ratio`` is
    given, ``config.compression_ratio`` applies (0.5 by default)."""

    config: SemTokenConfig | None = None
    """Settings of the core compressor (a ``SemTokenConfig`` or a dict of its fields). Used only
    when ``compressor`` is not given."""

    compressor: SemTokenCompressor | None = Field(default=None, exclude=True)
    """A shared core compressor, so one model and one cache serve many chains. Default: one is
    created from ``config`` on first use."""

    keep_empty: bool = False
    """Also return documents of which nothing was kept, with empty content (default: they are
    dropped). The same knob as the LlamaIndex postprocessor's."""

    min_relevance: float | None = Field(default=None, ge=0.0, le=1.0)
    """Keep only spans whose calibrated score (the estimated probability that the span holds
    evidence for the query) is at least this, up to the budget; a document with no such span is
    dropped (see ``keep_empty``). Default: no threshold."""

    sort_by_relevance: bool = False
    """Return documents by ``relevance_score``, best first (a reranker's order); default: the
    order they came in (the retriever's)."""

    _core: SemTokenCompressor | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="before")
    @classmethod
    def _legacy_drop_empty(cls, data: Any) -> Any:
        """``drop_empty`` (the first release's name) is read as ``keep_empty = not drop_empty``."""
        if isinstance(data, dict) and "drop_empty" in data:
            import warnings

            data = dict(data)
            if "keep_empty" in data:
                raise ValueError("pass keep_empty, not both keep_empty and drop_empty")
            warnings.warn(
                "drop_empty is deprecated; use keep_empty", DeprecationWarning, stacklevel=2
            )
            data["keep_empty"] = not data.pop("drop_empty")
        return data

    @model_validator(mode="after")
    def _check_options(self) -> SemTokenDocumentCompressor:
        if self.max_tokens is not None and self.ratio is not None:
            raise ValueError("pass max_tokens or ratio, not both")
        if self.compressor is not None and self.config is not None:
            raise ValueError("pass config or compressor, not both (the compressor has a config)")
        return self

    @property
    def core(self) -> SemTokenCompressor:
        """The core compressor: the shared one, else one created from ``config`` on first use."""
        if self.compressor is not None:
            return self.compressor
        with self._lock:
            if self._core is None:
                self._core = SemTokenCompressor(self.config)
            return self._core

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Compress ``documents`` for ``query``; ``callbacks`` are accepted and not used."""
        if not documents:
            return []
        core = self.core
        result = core.compress(
            query,
            documents,
            budget=self.max_tokens,
            ratio=self.ratio,
            min_relevance=self.min_relevance,
        )
        return self._to_documents(documents, result)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Like :meth:`compress_documents`; the work runs in a thread, never on the event loop."""
        if not documents:
            return []
        # the first use builds the core (and its model): keep that off the event loop too
        core: SemTokenCompressor = (
            self.compressor or self._core or await asyncio.to_thread(lambda: self.core)
        )
        result = await core.acompress(
            query,
            documents,
            budget=self.max_tokens,
            ratio=self.ratio,
            min_relevance=self.min_relevance,
        )
        return await asyncio.to_thread(self._to_documents, documents, result)

    def _to_documents(
        self, documents: Sequence[Document], result: CompressionResult
    ) -> list[Document]:
        out: list[Document] = []
        for i, (doc, text) in enumerate(zip(documents, result.documents(), strict=True)):
            if not text and not self.keep_empty:
                continue
            info = result.provenance(i)
            meta = {**doc.metadata, "relevance_score": info["relevance_score"], "semtoken": info}
            out.append(doc.model_copy(update={"page_content": text, "metadata": meta}))
        if self.sort_by_relevance:  # stable: ties keep the retriever's order
            out.sort(key=lambda d: -d.metadata["relevance_score"])
        logger.debug(
            "kept %d of %d documents, %d tokens", len(out), len(documents), result.kept_tokens
        )
        return out
