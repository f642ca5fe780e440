"""Result objects: numbers and provenance, never formatted strings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Document:
    """One input document, as the compressor sees it.

    Attributes:
        text: The document text. Spans are character ranges into it.
        metadata: The caller's metadata, passed through untouched (a read-only view).
        title: A title used as context for the fingerprints (taken from ``metadata["title"]``).
    """

    text: str
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    title: str = ""


@dataclass(frozen=True)
class Span:
    """A kept piece of one input document.

    Attributes:
        doc_index: Index of the document in the caller's list.
        start: Character offset of the span in that document (inclusive).
        end: Character offset of the span in that document (exclusive).
        text: Exactly ``documents[doc_index][start:end]``.
        tokens: Token count of ``text`` under the configured counter.
        score: Fused relevance to the query (or information density without a query), in [0, 1].
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


@dataclass(frozen=True)
class CompressionResult:
    """What :meth:`SemTokenCompressor.compress` returns.

    Attributes:
        query: The query the context was compressed for (``None`` for query-free compression).
        spans: Kept spans, in original order (by document, then offset).
        source_texts: The original document texts, in the caller's order.
        doc_scores: Fused relevance of each whole document, in [0, 1].
        original_tokens: Token count of all input documents.
        kept_tokens: Token count of the kept context (sum over :meth:`documents`).
        budget: The token budget the selection honoured.
        timings: Seconds spent per stage (``segment``, ``encode``, ``score``, ``merge``,
            ``select``, ``assemble``, ``total``).
        separator: Text put between two kept spans of one document that were not adjacent.
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
    _texts: tuple[str, ...] = field(default=(), repr=False, compare=False)

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
        if self._texts:
            return list(self._texts)
        return assemble_texts(self.spans, len(self.source_texts), self.source_texts, self.separator)

    def spans_for(self, doc_index: int) -> list[Span]:
        """Kept spans of one document, in order."""
        return [s for s in self.spans if s.doc_index == doc_index]

    @property
    def text(self) -> str:
        """All kept text, documents joined by a blank line (empty documents skipped)."""
        return "\n\n".join(t for t in self.documents() if t)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the numbers and spans."""
        return {
            "query": self.query,
            "original_tokens": self.original_tokens,
            "kept_tokens": self.kept_tokens,
            "budget": self.budget,
            "ratio": self.ratio,
            "speedup": self.speedup if self.kept_tokens else None,
            "timings": dict(self.timings),
            "doc_scores": list(self.doc_scores),
            "documents": self.documents(),
            "spans": [
                {
                    "doc_index": s.doc_index,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "tokens": s.tokens,
                    "score": s.score,
                    "entropy": s.entropy,
                    "cluster": s.cluster,
                }
                for s in self.spans
            ],
        }


def assemble_texts(
    spans: tuple[Span, ...] | list[Span], n_docs: int, sources: tuple[str, ...], separator: str
) -> list[str]:
    """Join each document's spans in order; the original gap is kept when it is only white space."""
    parts: list[list[str]] = [[] for _ in range(n_docs)]
    last_end: list[int | None] = [None] * n_docs
    for s in sorted(spans, key=lambda s: (s.doc_index, s.start)):
        prev = last_end[s.doc_index]
        if prev is not None:
            gap = sources[s.doc_index][prev : s.start]
            parts[s.doc_index].append(gap if gap.isspace() or gap == "" else separator)
        parts[s.doc_index].append(s.text)
        last_end[s.doc_index] = s.end
    return ["".join(p) for p in parts]


@dataclass(frozen=True)
class DocFingerprints:
    """Query-independent fingerprints of one document's spans: what the cache stores.

    Attributes:
        starts: ``[n]`` int64 span start offsets.
        ends: ``[n]`` int64 span end offsets.
        sentence: ``[n]`` int64 sentence number of each span (clause pieces share one).
        vectors: ``[n, dim]`` float32 unit fingerprints (context-aware).
        entropies: ``[n]`` float32 semantic entropy (trace of the token-state covariance).
        tokens: ``[n]`` int64 token count of each span under the configured counter.
        doc_vector: ``[dim]`` float32 unit vector of the whole document.
    """

    starts: Any
    ends: Any
    sentence: Any
    vectors: Any
    entropies: Any
    tokens: Any
    doc_vector: Any

    def __len__(self) -> int:
        return len(self.starts)
