"""Query relevance: each signal, and their adaptive fusion.

Signals (each wins somewhere): dense cosine of the span fingerprints, dense cosine of the whole
document (a prior for all its spans), BM25 over spans and over documents (with titles), and exact
matches of quoted strings and long identifiers. ``adaptive`` fusion weights each signal by how
clearly it separates a few units from the rest *on this input*, so a lexical signal fooled by
distractors that share the question's words counts little, while an exact identifier match
dominates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .score import bm25, exact_matches, minmax, standardise, terms


@dataclass(frozen=True)
class Units:
    """The flattened spans of one compression call."""

    doc: np.ndarray  # [n] document index of each span
    texts: list[str]  # [n] span texts
    vectors: np.ndarray  # [n, dim]
    doc_texts: list[str]  # [m] document texts with titles
    doc_vectors: np.ndarray  # [m, dim]


@dataclass(frozen=True)
class Relevance:
    """Per-span and per-document relevance in [0, 1], plus the raw signals (for reports)."""

    span: np.ndarray
    doc: np.ndarray
    signals: dict[str, np.ndarray]


def signals(query: str, qvec: np.ndarray, u: Units) -> dict[str, np.ndarray]:
    """Raw signals: ``span_dense``, ``doc_dense`` (per span, from its document), ``span_lex``,
    ``doc_lex`` (per span), ``exact`` (per span, span or its document)."""
    qt = terms(query)
    span_terms = [terms(t) for t in u.texts]
    doc_terms = [terms(t) for t in u.doc_texts]
    d_dense = u.doc_vectors @ qvec if len(u.doc_vectors) else np.zeros(0)
    d_lex = bm25(qt, doc_terms)
    s_exact = exact_matches(query, u.texts)
    d_exact = exact_matches(query, u.doc_texts)
    return {
        "span_dense": u.vectors @ qvec if len(u.vectors) else np.zeros(0),
        "span_lex": bm25(qt, span_terms),
        "doc_dense": d_dense[u.doc] if len(u.doc) else np.zeros(0),
        "doc_lex": d_lex[u.doc] if len(u.doc) else np.zeros(0),
        "exact": np.maximum(s_exact, d_exact[u.doc] if len(u.doc) else 0.0),
        "_doc_dense": d_dense,
        "_doc_lex": d_lex,
    }


def confidence(x: np.ndarray) -> float:
    """How clearly a signal singles out its best units: robust z-score of its maximum, in [0, 1]."""
    if len(x) < 3 or float(np.ptp(x)) < 1e-12:
        return 0.0
    z = standardise(x)
    return float(np.clip(np.max(z) / 6.0, 0.0, 1.0))


def fuse(sig: dict[str, np.ndarray], mode: str, doc_of_span: np.ndarray, n_docs: int) -> Relevance:
    """Combine the signals into one relevance per span and per document, in [0, 1]."""
    n = len(doc_of_span)
    if n == 0:
        return Relevance(np.zeros(0), np.zeros(n_docs), sig)
    if mode == "dense":
        span = minmax(sig["span_dense"])
    elif mode == "lexical":
        span = minmax(sig["span_lex"] + 10.0 * sig["exact"])
    elif mode == "document":
        span = minmax(sig["doc_dense"] + 1e-3 * sig["span_dense"])
    else:
        span = _adaptive(sig)
    doc = np.zeros(n_docs)
    np.maximum.at(doc, doc_of_span, span)
    return Relevance(span, doc, sig)


def _adaptive(sig: dict[str, np.ndarray]) -> np.ndarray:
    dense = 0.5 * standardise(sig["span_dense"]) + 0.5 * standardise(sig["doc_dense"])
    lex_raw = sig["span_lex"] + sig["doc_lex"]
    w_lex = confidence(sig["_doc_lex"]) if np.any(lex_raw > 0) else 0.0
    lex = standardise(sig["span_lex"]) * 0.5 + standardise(sig["doc_lex"]) * 0.5
    fused = dense + w_lex * lex + 4.0 * sig["exact"]
    return minmax(fused)


def doc_texts_with_titles(texts: Sequence[str], titles: Sequence[str]) -> list[str]:
    """Document texts with their titles in front, for lexical matching."""
    return [f"{t}\n{x}" if t else x for x, t in zip(texts, titles)]
