"""Query relevance of every span: ranked signals fused by their best rank (a max-RRF).

Signals, each computed within this one input (nothing is calibrated on a data set):

- ``dense``: cosine of the query vector and the span's late-pooled contextual fingerprint;
- ``lexical``: BM25 of the query's terms over the spans (each span's text with its document's
  title in front), IDF from this input's spans;
- ``exact``: spans holding a string the query quotes or a long identifier it names;
- ``bridge`` (``feedback``): the spans of documents whose title a top document mentions, the
  second hop of a multi-hop question, which often shares few words with the query.

Each signal becomes reciprocal-rank terms ``w / (k + 1 + rank)`` (rank 0 = the signal's best
span), and a span's score is its *best* term plus a small share of their sum (ties). A span that
only restates the query (every content term of it is a query term: "Python is a programming
language" for "Who created the Python programming language?") ranks one place lower in every
signal: it matches everything and answers nothing; a clause piece that does trades places
with the next piece of its sentence (:func:`pass_on`: a record's key gives way to its value).
Taking the best rather than the sum fills the budget round-robin from each signal's own
ranking, so no signal's clear winner is buried by another that disagrees:

**Guarantee.** With ``S`` signals of weight ``w <= 1``, every span ranked ``r``-th by some signal
of weight 1 is within the fused top ``S * (r + 1)`` (more only where a signal has ties): a span
outranks it only by ranking ``r``-th or better in some signal, and each signal has ``r + 1`` such
spans (see :func:`fuse_ranks`). In particular each signal's top span is in the fused top ``S``.

The constants (``k``, the weights, the number of bridge sources) were chosen leave-one-dataset-out
(:class:`~semtoken_rag.config.Tuning`). Without a query, a span's score is its information
density (semantic entropy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..config import Tuning
from ..types import SpanTable
from .score import bm25, exact_matches, flat, minmax, terms


@dataclass(frozen=True)
class Relevance:
    """Per-span and per-document relevance in [0, 1], plus the raw signals (for reports)."""

    span: np.ndarray
    doc: np.ndarray
    signals: dict[str, np.ndarray]


def query_terms(query: str, limit: int) -> list[str]:
    """The query's content terms, repeats included (BM25 weighs a repeated term more), from at
    most ``limit`` distinct ones (the first): lexical scoring costs terms x spans, and a query is
    not a document.

    Example:
        >>> query_terms("Who won the 1901 Nobel Prize? The Nobel Prize!", 3)
        ['won', '1901', 'nobel', 'nobel']
    """
    all_terms = terms(query)
    kept = set(list(dict.fromkeys(all_terms))[:limit])
    return [x for x in all_terms if x in kept]


def signals(
    query: str, qvec: np.ndarray, table: SpanTable, tuning: Tuning
) -> dict[str, np.ndarray]:
    """Raw per-span signals: ``dense`` (cosine), ``lexical`` (BM25 of title + span text),
    ``coverage`` (the IDF-weighted share of the query's terms that title + span text hold, in
    [0, 1]) and ``exact`` (1.0 where the span holds a quoted string or identifier of the
    query)."""
    qt = query_terms(query, tuning.max_query_terms)
    titled = [
        terms(f"{c} {x}" if c else x)
        for c, x in zip((table.span_context(i) for i in range(len(table))), table.texts)
    ]
    return {
        "dense": table.vectors @ qvec if len(table) else np.zeros(0),
        "lexical": bm25(qt, titled, tuning.bm25_k1, tuning.bm25_b),
        "coverage": coverage(qt, titled),
        "exact": exact_matches(query, table.texts, tuning.identifier_chars),
    }


def coverage(query_terms: list[str], units: list[tuple[str, ...]]) -> np.ndarray:
    """Per unit, the IDF-weighted share of the query's distinct terms it holds (IDF from the
    units, as BM25's); 0 for a query without terms.

    Example:
        >>> coverage(["nobel", "1901"], [("nobel", "prize", "1901"), ("nobel",), ("cat",)]).round(2)
        array([1.  , 0.32, 0.  ])
    """
    q = list(dict.fromkeys(query_terms))
    n = len(units)
    if not q or not n:
        return np.zeros(n)
    sets = [set(u) for u in units]
    df = {x: sum(1 for u in sets if x in u) for x in q}
    idf = {x: np.log(1.0 + (n - df[x] + 0.5) / (df[x] + 0.5)) for x in q}
    total = sum(idf.values())
    return np.array([sum(idf[x] for x in q if x in u) / total for u in sets])


def rank(x: np.ndarray) -> np.ndarray:
    """Competition rank within the input: 0 for the best, ties share the best rank.

    Example:
        >>> rank(np.array([0.2, 0.9, 0.2, 0.5])).tolist()
        [2, 0, 2, 1]
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(-x, kind="stable")
    sorted_x = x[order]
    first = np.r_[True, sorted_x[1:] != sorted_x[:-1]]
    ranks_sorted = np.maximum.accumulate(np.where(first, np.arange(len(x)), 0))
    out = np.empty(len(x), dtype=np.int64)
    out[order] = ranks_sorted
    return out


def rank_terms(
    x: np.ndarray,
    k: float,
    weight: float = 1.0,
    among: np.ndarray | None = None,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """Reciprocal-rank terms ``weight / (k + 1 + rank + shift)`` of a signal; with ``among`` (a
    mask), only those spans are ranked (by ``x``) and the others get 0.

    Example:
        >>> rank_terms(np.array([3.0, 1.0, 2.0]), 10.0).round(4).tolist()
        [0.0909, 0.0769, 0.0833]
    """
    add = np.zeros(len(x)) if shift is None else shift
    if among is None:
        return weight / (k + 1 + rank(x) + add)
    out = np.zeros(len(x))
    if among.any():
        out[among] = weight / (k + 1 + rank(x[among]) + add[among])
    return out


def restating(query: str, texts: list[str]) -> np.ndarray:
    """1.0 for each text all of whose content terms are query terms (it restates the query, or
    says nothing), else 0.0.

    Example:
        >>> restating("Who created the Python language?", ["Python is a language.",
        ...                                                "Guido created Python."]).tolist()
        [1.0, 0.0]
    """
    q = set(terms(query))
    return np.array([0.0 if set(terms(x)) - q else 1.0 for x in texts])


def pass_on(fused: np.ndarray, restates: np.ndarray, sentence: np.ndarray) -> np.ndarray:
    """Scores where a piece that only restates the query trades places with the nearest piece
    of its sentence that adds to it (the next one, else the one before) when it ranks above
    it: in ``{"<key>": "<value>"}`` or "Röntgen won the first Nobel Prize | in 1901", the
    piece the query names is what was asked, its sibling the answer. A sentence that fits is
    kept whole either way; this orders its pieces when only one fits.

    Example:
        >>> pass_on(np.array([0.9, 0.2, 0.5]), np.array([True, False, False]),
        ...         np.array([0, 0, 1])).tolist()
        [0.2, 0.9, 0.5]
    """
    out = fused.copy()
    n = len(out)
    for i in np.flatnonzero(restates):
        for j in (i + 1, i - 1):
            if 0 <= j < n and sentence[j] == sentence[i] and not restates[j]:
                if out[i] > out[j]:
                    out[i], out[j] = out[j], out[i]
                break
    return out


def fuse_ranks(terms_: list[np.ndarray], tiebreak: float) -> np.ndarray:
    """A span's best reciprocal-rank term, plus ``tiebreak`` x their sum.

    A span that is some weight-1 signal's ``r``-th has at least ``1 / (k + 1 + r)``; a span with
    no rank better than ``r`` in any signal has at most ``1 / (k + 2 + r) + tiebreak * S / (k +
    1)``, which is smaller while ``tiebreak < 1 / (S (k + 2 + r))``: the guarantee in the module
    docstring (``tiebreak`` = 0.001 keeps it for ``S <= 4`` up to ``r`` = 16 at ``k`` = 10).

    Example:
        >>> fuse_ranks([np.array([0.5, 0.1]), np.array([0.1, 0.4])], 0.0).tolist()
        [0.5, 0.4]
    """
    stacked = np.stack(terms_)
    return stacked.max(axis=0) + tiebreak * stacked.sum(axis=0)


def relevance(
    query: str | None,
    qvec: np.ndarray | None,
    table: SpanTable,
    *,
    fusion: str,
    feedback: bool,
    use_entropy: bool,
    tuning: Tuning,
    budget: int | None = None,
) -> Relevance:
    """Fused relevance per span and document; without a query, information density.

    Args:
        query: The query (``None``: query-free).
        qvec: Its unit vector (``None``: query-free).
        table: The call's spans.
        fusion: ``adaptive`` (every signal, fused by rank), or one signal alone for ablations:
            ``dense``, ``lexical`` (BM25 and exact matches) or ``document`` (the documents'
            dense ranking, spans ordered by their own within it).
        feedback: Add the title bridges (a second pass over the first pass's top documents).
        use_entropy: Score query-free spans by entropy (else all equal).
        tuning: Constants (:class:`~semtoken_rag.config.Tuning`).
        budget: The call's budget in tokens (the number of bridge sources follows it).
    """
    n_docs = len(table.doc_texts)
    if query is None or qvec is None or len(table) == 0:
        return _density(table, n_docs, use_entropy, tuning.density_floor)
    sig = signals(query, qvec, table, tuning)
    k, eps = float(tuning.rank_k), tuning.rank_tiebreak
    lower = 1.5 * restating(query, table.texts)  # one place lower, behind the span it then ties
    dense = rank_terms(sig["dense"], k, shift=lower)
    # spans with no term of the query get no lexical rank (the order is the same either way:
    # they would all tie behind the matching ones; this keeps their scores honest)
    has_term = sig["lexical"] > 0
    lexical = rank_terms(sig["lexical"], k, tuning.lexical_weight, among=has_term, shift=lower)
    linked = None
    if fusion == "dense":
        fused = fuse_ranks([dense], eps)
    elif fusion == "document":
        doc_dense = table.doc_vectors @ qvec
        fused = fuse_ranks([rank_terms(doc_dense, k)[table.doc]], eps) + eps * dense
    else:
        exact = sig["exact"] > 0
        parts = [lexical] if fusion == "lexical" else [dense, lexical]
        base = fuse_ranks(parts, eps)
        parts.append(rank_terms(base, k, tuning.lexical_weight, among=exact))
        fused = fuse_ranks(parts, eps)
        if fusion == "adaptive" and feedback:
            linked = bridges(fused, table, bridge_sources(table, tuning, budget))[table.doc]
            bridged = rank_terms(fused, k, tuning.bridge_weight, among=linked, shift=lower)
            fused = fuse_ranks([*parts, bridged], eps)
    if tuning.restating_passes_on and table.sentence is not None:
        fused = pass_on(fused, lower > 0, table.sentence)
    top = float(fused.max())
    # every rank term empty (``lexical`` alone, no span holding a query term): no evidence, all 0
    span = fused / top if top > 0 else np.zeros_like(fused)
    sig["restating"] = lower / 1.5
    sig["bridged"] = linked.astype(np.float64) if linked is not None else np.zeros(len(table))
    sig["doc_dense"] = (table.doc_vectors @ qvec)[table.doc] if len(table) else np.zeros(0)
    sig["fused"] = span
    return Relevance(span, per_document(span, table.doc, n_docs), sig)


def _density(table: SpanTable, n_docs: int, use_entropy: bool, floor: float) -> Relevance:
    dens = minmax(table.entropy) if use_entropy else np.ones(len(table))
    dens = floor + (1.0 - floor) * dens if len(dens) else dens
    return Relevance(
        dens, per_document(dens, table.doc, n_docs) if len(dens) else np.zeros(n_docs), {}
    )


def per_document(span: np.ndarray, doc_of_span: np.ndarray, n_docs: int) -> np.ndarray:
    """Each document's best span score (0 for a document without spans)."""
    doc = np.zeros(n_docs)
    np.maximum.at(doc, doc_of_span, span)
    return doc


def bridge_sources(table: SpanTable, tuning: Tuning, budget: int | None) -> int:
    """How many of the first pass's best spans the bridges start from: ``tuning.bridge_sources``,
    or with ``bridge_sources_by_budget`` as many spans as ``budget`` holds (the budget over the
    input's median span tokens), from 1 to ``tuning.bridge_sources``.

    Example:
        >>> from semtoken_rag.config import Tuning
        >>> t = SpanTable(doc=np.zeros(3, int), start=np.zeros(3), end=np.zeros(3),
        ...     texts=["", "", ""], tokens=np.array([20, 30, 40]), vectors=np.zeros((3, 2)),
        ...     entropy=np.zeros(3), titles=[""], doc_texts=[""], doc_vectors=np.zeros((1, 2)))
        >>> [bridge_sources(t, Tuning(), b) for b in (24, 64, 96, 1000, None)]
        [1, 2, 3, 3, 3]
    """
    most = tuning.bridge_sources
    if budget is None or not tuning.bridge_sources_by_budget or len(table) == 0:
        return most
    unit = max(1.0, float(np.median(table.tokens)))
    return max(1, min(most, int(budget // unit)))


def bridges(first: np.ndarray, table: SpanTable, sources: int) -> np.ndarray:
    """Per document: whether a top document (one holding one of the ``sources`` best spans by
    ``first``) mentions its title; top documents themselves are not linked. Linear in the
    number of documents.

    Example:
        >>> table = SpanTable(doc=np.array([0, 1, 2]), start=np.zeros(3), end=np.zeros(3),
        ...     texts=["", "", ""], tokens=np.ones(3), vectors=np.zeros((3, 2)),
        ...     entropy=np.zeros(3), titles=["Ada Lovelace", "Charles Babbage (engineer)", "Paris"],
        ...     doc_texts=["Ada worked with Charles Babbage.", "He built engines.", "A city."],
        ...     doc_vectors=np.zeros((3, 2)))
        >>> bridges(np.array([1.0, 0.2, 0.5]), table, 1).tolist()
        [False, True, False]
    """
    m = len(table.doc_texts)
    linked = np.zeros(m, dtype=bool)
    if m < 2 or not any(table.titles):
        return linked
    top = np.argsort(-first, kind="stable")[:sources]
    top_docs = sorted({int(table.doc[i]) for i in top})
    texts = [flat(table.doc_texts[d]) for d in top_docs]  # a title may wrap across lines
    for j in range(m):
        title = _bare_title(table.titles[j])
        if title and j not in top_docs and any(title in x for x in texts):
            linked[j] = True
    return linked


def _bare_title(title: str) -> str:
    """A title without a parenthesised qualifier, lower case ("" when under 3 characters)."""
    bare = " ".join(re.sub(r"\s*\([^)]*\)", "", title).split()).lower()
    return bare if len(bare) >= 3 else ""
