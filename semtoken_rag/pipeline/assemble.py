"""Kept spans -> :class:`~semtoken_rag.types.Span` objects and per-document texts, within budget.

A document's kept spans are joined in order; the original gap is kept when it is only white space,
else the separator stands for what was dropped. The assembled texts are counted again with the
configured counter (a counter need not be additive), and the weakest span is dropped until they fit;
if nothing fits, the best span is cut at a token boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..tokens import truncate_to_tokens
from ..types import Span, SpanTable


def join_spans(spans: Sequence[Span], sources: Sequence[str], separator: str) -> list[str]:
    """Each document's kept text: its spans in order, joined by the original white space where
    they were adjacent, else by ``separator``.

    Example:
        >>> src = ["Ada wrote it. Bob read it. Cy slept."]
        >>> join_spans([Span(0, 0, 13, "Ada wrote it.", 4, 1.0, 0.0, 0),
        ...             Span(0, 27, 36, "Cy slept.", 3, 1.0, 0.0, 1)], src, " ... ")
        ['Ada wrote it. ... Cy slept.']
    """
    parts: list[list[str]] = [[] for _ in sources]
    last_end: list[int | None] = [None] * len(sources)
    for s in sorted(spans, key=lambda s: (s.doc_index, s.start)):
        prev = last_end[s.doc_index]
        if prev is not None:
            gap = sources[s.doc_index][prev : s.start]
            parts[s.doc_index].append(gap if gap.isspace() or gap == "" else separator)
        parts[s.doc_index].append(s.text)
        last_end[s.doc_index] = s.end
    return ["".join(p) for p in parts]


def assemble(
    sources: Sequence[str],
    t: SpanTable,
    scores: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    chosen: list[int],
    budget: int,
    count: Callable[[str], int],
    separator: str,
) -> tuple[list[Span], list[str], list[int]]:
    """The kept spans, each document's kept text and its token count, within ``budget``.

    Args:
        sources: The documents' texts.
        t: The spans.
        scores: Relevance per span (reported on each :class:`Span`).
        values: Selection value per span (the lowest is dropped first when over budget).
        labels: Redundancy cluster per span.
        chosen: Indices of the selected spans.
        budget: Most tokens of all kept texts together.
        count: The token counter.
        separator: Text between two kept spans of one document that were not adjacent.
    """
    chosen = sorted(chosen)
    while True:
        spans = [_span(t, scores, labels, k) for k in chosen]
        texts = join_spans(spans, sources, separator)
        kept = [count(x) if x else 0 for x in texts]
        if sum(kept) <= budget:
            break
        chosen.remove(min(chosen, key=lambda k: (values[k], -k)))
    if not chosen and budget > 0 and len(t):
        best = int(np.argmax(scores))
        cut = truncate_to_tokens(t.texts[best], budget, count)
        if cut and count(cut) <= budget:
            s = _span(t, scores, labels, best)
            n = count(cut)
            spans = [
                Span(
                    s.doc_index, s.start, s.start + len(cut), cut, n, s.score, s.entropy, s.cluster
                )
            ]
            texts = join_spans(spans, sources, separator)
            kept = [n if i == s.doc_index else 0 for i in range(len(sources))]
    return spans, texts, kept


def _span(t: SpanTable, scores: np.ndarray, labels: np.ndarray, k: int) -> Span:
    return Span(
        doc_index=int(t.doc[k]),
        start=int(t.start[k]),
        end=int(t.end[k]),
        text=t.texts[k],
        tokens=int(t.tokens[k]),
        score=float(scores[k]),
        entropy=float(t.entropy[k]),
        cluster=int(labels[k]),
    )
