"""What flows through the pipeline and what it returns: numbers and provenance, never strings
formatted for display.

- :class:`Document`: one input document as the compressor sees it.
- :class:`DocFingerprints`: one document's query-independent span fingerprints (what the cache
  stores; its fields are the cache's on-disk fields).
- :class:`SpanTable`: all spans of one call, flattened across documents (what the stages share).
- :class:`MeasuredInput`: one call's checked input and its token counts.
- :class:`Span` and :class:`CompressionResult`: what :meth:`SemTokenCompressor.compress` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

DOC_JOINER = "\n\n"
"""What :attr:`CompressionResult.text` puts between two documents' kept texts (the budget pays for
it: see :mod:`~semtoken_rag.pipeline.assemble`)."""


@dataclass(frozen=True)
class Document:
    """One input document, as the compressor sees it.

    Attributes:
        text: The document text. Spans are character ranges into it.
        metadata: The caller's metadata, passed through untouched (a read-only view).
        title: A title used as context for the fingerprints (taken from ``metadata["title"]``;
            inside the pipeline, else the heading the layout stage found at the top of the text).
        context_end: The characters of ``text`` before this offset are the document's own title
            line (a heading the layout stage read as ``title``): the encoder reads them once, as
            the title, not again as text. 0 (the default) for none.
    """

    text: str
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    title: str = ""
    context_end: int = 0


_INT = {"dtype": np.int64}  # metadata of a per-span DocFingerprints field stored as int64
_FLOAT = {"dtype": np.float32}


@dataclass(frozen=True)
class DocFingerprints:
    """Query-independent fingerprints of one document's spans: what the cache stores.

    Every field marked per-span (all but ``vectors`` and ``doc_vector``) is stored by the cache
    under its own name with its dtype (:func:`span_fields`): a new per-span field is added here
    and nowhere else.

    Attributes:
        starts: ``[n]`` int64 span start offsets.
        ends: ``[n]`` int64 span end offsets.
        sentence: ``[n]`` int64 sentence number of each span (clause pieces share one).
        vectors: ``[n, dim]`` float32 unit fingerprints (context-aware).
        entropies: ``[n]`` float32 semantic entropy (trace of the token-state covariance).
        tokens: ``[n]`` int64 token count of each span under the configured counter.
        doc_vector: ``[dim]`` float32 unit vector of the whole document.
    """

    starts: Any = field(metadata=_INT)
    ends: Any = field(metadata=_INT)
    sentence: Any = field(metadata=_INT)
    vectors: Any
    entropies: Any = field(metadata=_FLOAT)
    tokens: Any = field(metadata=_INT)
    doc_vector: Any

    def __len__(self) -> int:
        return len(self.starts)


def span_fields() -> tuple[tuple[str, Any], ...]:
    """``(name, dtype)`` of every per-span field of :class:`DocFingerprints`, in order.

    Example:
        >>> [name for name, _ in span_fields()]
        ['starts', 'ends', 'sentence', 'entropies', 'tokens']
    """
    return tuple((f.name, f.metadata["dtype"]) for f in fields(DocFingerprints) if f.metadata)


@dataclass(frozen=True)
class SpanTable:
    """All spans of one compression call, flattened across documents (after coarsening).

    Attributes:
        doc: ``[n]`` int64 document index of each span.
        start: ``[n]`` int64 character offset of each span in its document.
        end: ``[n]`` int64 end offset (exclusive).
        texts: ``[n]`` span texts (``documents[doc][start:end]``).
        tokens: ``[n]`` int64 token count of each span.
        vectors: ``[n, dim]`` float32 unit span fingerprints.
        entropy: ``[n]`` float64 semantic entropy of each span.
        titles: ``[m]`` document titles ("" for none).
        doc_texts: ``[m]`` document texts.
        doc_vectors: ``[m, dim]`` float32 unit document vectors.
        sentence: ``[n]`` int64 id of the sentence each span belongs to, unique within the call
            (the clause pieces of one sentence share it; selection keeps a sentence whole when
            it fits). Default: each span its own.
        context: ``[n]`` the title each span is read under (its document's title and the
            headings above it, see :func:`~semtoken_rag.pipeline.layout.contexts`). Default:
            its document's title.
    """

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    texts: list[str]
    tokens: np.ndarray
    vectors: np.ndarray
    entropy: np.ndarray
    titles: list[str]
    doc_texts: list[str]
    doc_vectors: np.ndarray
    sentence: np.ndarray | None = None
    context: list[str] | None = None

    def __len__(self) -> int:
        return len(self.doc)

    def span_context(self, i: int) -> str:
        """The title span ``i`` is read under (:attr:`context`, else its document's title)."""
        if self.context is not None:
            return self.context[i]
        return self.titles[int(self.doc[i])]

    @property
    def sentences(self) -> np.ndarray:
        """:attr:`sentence`, or each span its own sentence when not given."""
        return np.arange(len(self)) if self.sentence is None else self.sentence


@dataclass(frozen=True)
class MeasuredInput:
    """One compress call's checked input and its measures (what
    :func:`~semtoken_rag.inputs.measure` returns).

    Attributes:
        query: The query (``None``: query-free).
        floor: The ``min_relevance`` threshold, or ``None``.
        docs: The documents.
        doc_tokens: Each document's tokens.
        original: The documents' tokens together.
        whole: Tokens of the documents joined as :attr:`CompressionResult.text` holds them
            (measured when it can decide whether the input fits; else ``original``).
        budget: The budget in tokens.
    """

    query: str | None
    floor: float | None
    docs: list[Document]
    doc_tokens: list[int]
    original: int
    whole: int
    budget: int

    @property
    def fits(self) -> bool:
        """The whole input fits the budget."""
        return self.original <= self.budget and self.whole <= self.budget


@dataclass(frozen=True)
class Span:
    """A kept piece of one input document.

    Attributes:
        doc_index: Index of the document in the caller's list.
        start: Character offset of the span in that document (inclusive).
        end: Character offset of the span in that document (exclusive).
        text: Exactly ``documents[doc_index][start:end]``.
        tokens: Token count of ``text`` under the configured counter.
        score: The calibrated probability, in [0, 1], that the span holds evidence for the query
            (:mod:`~semtoken_rag.pipeline.calibrate`: the same on every input, so a threshold
            means the same everywhere); without a query, information density in [0, 1].
        entropy: Semantic entropy: trace of the covariance of the span's token embeddings.
        cluster: Id of the redundancy cluster the span represents (unique per kept span).
    """

    doc_index: int
    start: int
    end: int
    text: str
    tokens: int
    score: float
    entropy: float
    cluster: int

    def to_dict(self) -> dict[str, Any]:
        """The span as a JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CompressionResult:
    """What :meth:`SemTokenCompressor.compress` returns.

    Attributes:
        query: The query the context was compressed for (``None`` for query-free compression).
        spans: Kept spans, in original order (by document, then offset).
        source_texts: The original document texts, in the caller's order.
        doc_scores: Each document's relevance, in [0, 1]: its best span's score (whether or not
            that span was kept: a document's relevance does not change with the budget); 0 for a
            document without text.
        original_tokens: Token count of all input documents.
        kept_tokens: Token count of the kept context (sum over :meth:`documents`), at most
            ``budget``.
        budget: The token budget the selection honoured: both ``kept_tokens`` and
            ``text_tokens`` are at most this, by the configured counter.
        timings: Seconds spent per stage: ``count`` (token counts), ``encode`` (segmentation and
            fingerprints, through the cache), ``score`` (span table and relevance), ``merge``,
            ``select``, ``assemble`` and ``total``; a call whose input fits the budget has only
            ``count`` and ``total``.
        separator: Text put between two kept spans of one document that were not adjacent.
        doc_tokens: Token count of each input document.
        kept_doc_tokens: Token count of each document's kept text.
        text_tokens: Token count of :attr:`text` (the kept texts joined by a blank line), at most
            ``budget``: what the CLI prints for one file and Ray's ``compressed_text`` holds.
    """

    query: str | None
    spans: tuple[Span, ...]
    source_texts: tuple[str, ...]
    doc_scores: tuple[float, ...]
    original_tokens: int
    kept_tokens: int
    budget: int
    timings: Mapping[str, float]
    separator: str = " "
    doc_tokens: tuple[int, ...] = ()
    kept_doc_tokens: tuple[int, ...] = ()
    text_tokens: int = 0
    _texts: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self._texts) != len(self.source_texts):
            raise ValueError(
                f"CompressionResult needs one kept text per source text (_texts): got "
                f"{len(self._texts)} for {len(self.source_texts)}"
            )

    @property
    def ratio(self) -> float:
        """Share of the original tokens kept: ``kept_tokens / original_tokens`` (1.0 if empty)."""
        return self.kept_tokens / self.original_tokens if self.original_tokens else 1.0

    @property
    def speedup(self) -> float:
        """Theoretical prefill speed-up: ``original_tokens / kept_tokens`` (inf if none kept)."""
        if self.kept_tokens == 0:
            return float("inf") if self.original_tokens else 1.0
        return self.original_tokens / self.kept_tokens

    def documents(self) -> list[str]:
        """Kept text of each input document, in the caller's order ("" where nothing was kept).

        Example:
            >>> result.documents()  # doctest: +SKIP
            ['The first Nobel Prize in Physics was awarded in 1901 to Wilhelm Röntgen.', '']
        """
        return list(self._texts)

    def spans_for(self, doc_index: int) -> list[Span]:
        """Kept spans of one document, in order (grouped once per result, so asking for every
        document is linear in spans and documents)."""
        return list(self._by_doc.get(doc_index, ()))

    @cached_property
    def _by_doc(self) -> dict[int, list[Span]]:
        groups: dict[int, list[Span]] = {}
        for s in self.spans:
            groups.setdefault(s.doc_index, []).append(s)
        return groups

    def provenance(self, doc_index: int) -> dict[str, Any]:
        """What was kept of one document and why, for adapters to attach as metadata.

        Returns:
            ``relevance_score`` (the document's calibrated relevance), ``original_tokens``,
            ``kept_tokens``, ``spans`` (``start``/``end`` character offsets into the original
            text, ``tokens``, ``score``) and ``query_free`` (no query was given).

        Example:
            >>> result.provenance(0)  # doctest: +SKIP
            {'relevance_score': 1.0, 'original_tokens': 31, 'kept_tokens': 12,
             'spans': [{'start': 0, 'end': 48, 'tokens': 12, 'score': 1.0}], 'query_free': False}
        """
        if not 0 <= doc_index < len(self.source_texts):
            raise IndexError(f"doc_index {doc_index} is out of range (0..{len(self.source_texts)})")
        return {
            "relevance_score": self.doc_scores[doc_index],
            "original_tokens": self.doc_tokens[doc_index] if self.doc_tokens else None,
            "kept_tokens": self.kept_doc_tokens[doc_index] if self.kept_doc_tokens else None,
            "spans": [
                {"start": s.start, "end": s.end, "tokens": s.tokens, "score": s.score}
                for s in self.spans_for(doc_index)
            ],
            "query_free": self.query is None,
        }

    @property
    def text(self) -> str:
        """All kept text, documents joined by a blank line (empty documents skipped); its token
        count is :attr:`text_tokens`, within the budget."""
        return DOC_JOINER.join(text for text in self.documents() if text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the numbers and spans."""
        return {
            "query": self.query,
            "original_tokens": self.original_tokens,
            "kept_tokens": self.kept_tokens,
            "text_tokens": self.text_tokens,
            "budget": self.budget,
            "ratio": self.ratio,
            "speedup": self.speedup if self.kept_tokens else None,
            "timings": dict(self.timings),
            "doc_scores": list(self.doc_scores),
            "documents": self.documents(),
            "spans": [s.to_dict() for s in self.spans],
        }
