"""Query relevance of every span and document: the signals and their fusion.

Signals (each wins somewhere): dense cosine of the span fingerprints, dense cosine of the whole
document (a prior for all its spans), BM25 over spans and over documents (with titles), and exact
matches of quoted strings and long identifiers.

``adaptive`` fusion standardises each signal on this input (robust z-scores) and adds them, with
the lexical pair weighted by how *specific* the query is: a one-vector dense embedding blurs a long
query naming several entities (multi-hop questions), where term matching stays sharp, while for
a short natural question lexical overlap is easily fooled by distractors sharing its few words.
An exact match of a quoted string or long identifier dominates. Then *bridges* (``use_feedback``):
documents whose title the best document mentions (or that mention its title) are raised, which
finds the second hop of a multi-hop question that shares few words with it.

Without a query, a span's score is its information density (semantic entropy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..config import Tuning
from ..types import SpanTable
from .score import bm25, exact_matches, minmax, standardise, terms


@dataclass(frozen=True)
class Relevance:
    """Per-span and per-document relevance in [0, 1], plus the raw signals (for reports)."""

    span: np.ndarray
    doc: np.ndarray
    signals: dict[str, np.ndarray]


def signals(query: str, qvec: np.ndarray, t: SpanTable, tuning: Tuning) -> dict[str, np.ndarray]:
    """Raw signals: ``span_dense``, ``doc_dense`` (per span, from its document), ``span_lex``,
    ``doc_lex`` (per span), ``exact`` (per span: the span or its document)."""
    qt = terms(query)
    k1, b = tuning.bm25_k1, tuning.bm25_b
    span_terms = [terms(x) for x in t.texts]
    doc_terms = [terms(x) for x in t.doc_texts]
    d_dense = t.doc_vectors @ qvec if len(t.doc_vectors) else np.zeros(0)
    d_lex = bm25(qt, doc_terms, k1, b)
    s_exact = exact_matches(query, t.texts, tuning.identifier_chars)
    d_exact = exact_matches(query, t.doc_texts, tuning.identifier_chars)
    return {
        "span_dense": t.vectors @ qvec if len(t.vectors) else np.zeros(0),
        "span_lex": bm25(qt, span_terms, k1, b),
        "doc_dense": d_dense[t.doc] if len(t.doc) else np.zeros(0),
        "doc_lex": d_lex[t.doc] if len(t.doc) else np.zeros(0),
        "exact": np.maximum(s_exact, d_exact[t.doc] if len(t.doc) else 0.0),
        "_doc_dense": d_dense,
        "_doc_lex": d_lex,
    }


def lexical_weight(query: str, tuning: Tuning) -> float:
    """Weight of lexical evidence, from the number of distinct content terms of the query.

    Example:
        >>> q = "which 2005 publisher of Grace Krilanovich's first novel is based in Ohio"
        >>> lexical_weight("who wrote hamlet", Tuning()), round(lexical_weight(q, Tuning()), 3)
        (0.0, 0.714)
    """
    n = len(set(terms(query)))
    lo, hi = tuning.generic_terms, tuning.specific_terms
    return float(np.clip((n - lo) / (hi - lo), 0.0, 1.0))


def relevance(
    query: str | None,
    qvec: np.ndarray | None,
    t: SpanTable,
    *,
    fusion: str,
    feedback: bool,
    use_entropy: bool,
    tuning: Tuning,
) -> Relevance:
    """Fused relevance per span and document; without a query, information density.

    Args:
        query: The query (``None``: query-free).
        qvec: Its unit vector (``None``: query-free).
        t: The call's spans.
        fusion: ``adaptive``, or one signal alone: ``dense``, ``lexical`` or ``document``.
        feedback: Raise documents linked to the best one by a title mention (bridges).
        use_entropy: Score query-free spans by entropy (else all equal).
        tuning: Weights (:class:`~semtoken_rag.config.Tuning`).
    """
    n_docs = len(t.doc_texts)
    if query is None or qvec is None or len(t) == 0:
        return _density(t, n_docs, use_entropy, tuning.density_floor)
    sig = signals(query, qvec, t, tuning)
    if fusion == "dense":
        span = minmax(sig["span_dense"])
    elif fusion == "lexical":
        span = minmax(sig["span_lex"] + tuning.lexical_exact_weight * sig["exact"])
    elif fusion == "document":
        span = minmax(sig["doc_dense"] + tuning.document_tiebreak * sig["span_dense"])
    else:
        fused = _adaptive(sig, lexical_weight(query, tuning), tuning.exact_weight)
        if feedback:
            fused = fused + tuning.bridge_weight * bridges(fused, t)[t.doc]
        span = minmax(fused)
    return Relevance(span, _per_doc(span, t.doc, n_docs), sig)


def _density(t: SpanTable, n_docs: int, use_entropy: bool, floor: float) -> Relevance:
    dens = minmax(t.entropy) if use_entropy else np.ones(len(t))
    dens = floor + (1.0 - floor) * dens if len(dens) else dens
    return Relevance(dens, _per_doc(dens, t.doc, n_docs) if len(dens) else np.zeros(n_docs), {})


def _per_doc(span: np.ndarray, doc_of_span: np.ndarray, n_docs: int) -> np.ndarray:
    doc = np.zeros(n_docs)
    np.maximum.at(doc, doc_of_span, span)
    return doc


def _adaptive(sig: dict[str, np.ndarray], w_lex: float, w_exact: float) -> np.ndarray:
    dense = standardise(sig["span_dense"]) + standardise(sig["doc_dense"])
    lex = standardise(sig["span_lex"]) + standardise(sig["doc_lex"])
    return dense + w_lex * lex + w_exact * sig["exact"]


def bridges(fused: np.ndarray, t: SpanTable) -> np.ndarray:
    """Per document: 1.0 where it is linked to the best document by a title mention (either way),
    else 0.0. Linear in the number of documents."""
    m = len(t.doc_texts)
    out = np.zeros(m)
    if m < 2 or not any(t.titles):
        return out
    best_doc = np.full(m, -np.inf)
    np.maximum.at(best_doc, t.doc, fused)
    top = int(np.argmax(best_doc))
    top_text = t.doc_texts[top].lower()
    top_title = _bare_title(t.titles[top])
    for j in range(m):
        if j == top:
            continue
        title = _bare_title(t.titles[j])
        if (title and title in top_text) or (top_title and top_title in t.doc_texts[j].lower()):
            out[j] = 1.0
    return out


def _bare_title(title: str) -> str:
    """A title without a parenthesised qualifier, lower case ("" when under 3 characters)."""
    bare = re.sub(r"\s*\([^)]*\)", "", title).strip().lower()
    return bare if len(bare) >= 3 else ""
