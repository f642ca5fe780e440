"""Query relevance: each signal, and their adaptive fusion.

Signals (each wins somewhere): dense cosine of the span fingerprints, dense cosine of the whole
document (a prior for all its spans), BM25 over spans and over documents (with titles), and exact
matches of quoted strings and long identifiers.

``adaptive`` fusion standardises each signal on this input (robust z-scores) and adds them, with
the lexical pair weighted by how *specific* the query is: a one-vector dense embedding blurs a long
query naming several entities (multi-hop questions), where term matching stays sharp, while for
a short natural question lexical overlap is easily fooled by distractors sharing its few words.
An exact match of a quoted string or long identifier dominates. A second pass follows *bridges*:
documents whose title the best document mentions (or that mention its title) are raised, which
finds the second hop of a multi-hop question that shares few words with it.
"""

from __future__ import annotations

import re
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
    titles: list[str]  # [m] document titles ("" for none)


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


# Query specificity: below GENERIC_TERMS content terms lexical evidence gets no weight, from
# SPECIFIC_TERMS on it weighs as much as dense evidence.
GENERIC_TERMS = 3
SPECIFIC_TERMS = 10
EXACT_WEIGHT = 4.0  # in robust z units: an exact identifier match outranks any other evidence
BRIDGE_WEIGHT = 2.0  # in robust z units


def lexical_weight(query: str) -> float:
    """Weight of lexical evidence, from the number of distinct content terms of the query.

    Example:
        >>> lexical_weight("who wrote hamlet"), lexical_weight(
        ...     "which 2005 publisher of Grace Krilanovich's first novel is based in Ohio")
        (0.0, 0.714...)
    """
    n = len(set(terms(query)))
    return float(np.clip((n - GENERIC_TERMS) / (SPECIFIC_TERMS - GENERIC_TERMS), 0.0, 1.0))


def fuse(
    sig: dict[str, np.ndarray],
    mode: str,
    doc_of_span: np.ndarray,
    n_docs: int,
    *,
    query: str = "",
    units: Units | None = None,
    feedback: bool = True,
) -> Relevance:
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
        fused = _adaptive(sig, lexical_weight(query))
        if feedback and units is not None:
            fused = fused + BRIDGE_WEIGHT * bridges(fused, units)[doc_of_span]
        span = minmax(fused)
    doc = np.zeros(n_docs)
    np.maximum.at(doc, doc_of_span, span)
    return Relevance(span, doc, sig)


def _adaptive(sig: dict[str, np.ndarray], w_lex: float) -> np.ndarray:
    dense = standardise(sig["span_dense"]) + standardise(sig["doc_dense"])
    lex = standardise(sig["span_lex"]) + standardise(sig["doc_lex"])
    return dense + w_lex * lex + EXACT_WEIGHT * sig["exact"]


def bridges(fused: np.ndarray, u: Units) -> np.ndarray:
    """Per document: 1.0 where it is linked to the best document by a title mention (either way),
    else 0.0. Linear in the number of documents."""
    m = len(u.doc_texts)
    out = np.zeros(m)
    if m < 2 or not any(u.titles):
        return out
    best_doc = np.full(m, -np.inf)
    np.maximum.at(best_doc, u.doc, fused)
    top = int(np.argmax(best_doc))
    top_text = u.doc_texts[top].lower()
    top_title = _bare_title(u.titles[top])
    for j in range(m):
        if j == top:
            continue
        title = _bare_title(u.titles[j])
        if (title and title in top_text) or (top_title and top_title in u.doc_texts[j].lower()):
            out[j] = 1.0
    return out


def _bare_title(title: str) -> str:
    """A title without a parenthesised qualifier, lower case ("" when under 3 characters)."""
    bare = re.sub(r"\s*\([^)]*\)", "", title).strip().lower()
    return bare if len(bare) >= 3 else ""


def doc_texts_with_titles(texts: Sequence[str], titles: Sequence[str]) -> list[str]:
    """Document texts with their titles in front, for lexical matching."""
    return [f"{t}\n{x}" if t else x for x, t in zip(texts, titles)]
