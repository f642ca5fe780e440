"""The stages :meth:`SemTokenCompressor.compress` runs, each a function testable alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .config import SemTokenConfig
from .fuse import Relevance, Units, doc_texts_with_titles, fuse, signals
from .score import minmax, terms
from .select import cluster, coverage_greedy, knapsack, representatives
from .tokens import truncate_to_tokens
from .types import DocFingerprints, Document, Span, assemble_texts


@dataclass(frozen=True)
class Flat(Units):
    """All spans of one call, flattened across documents (after entropy coarsening)."""

    start: np.ndarray
    end: np.ndarray
    entropy: np.ndarray
    tokens: np.ndarray


def coarsen(
    fp: DocFingerprints, threshold: float, max_tokens: int, median: float, whole: int
) -> list[list[int]]:
    """Groups of adjacent pieces to treat as one span.

    The clause pieces of a sentence of at most ``whole`` tokens are joined back into the whole
    sentence (fine granularity only pays when the budget is tight); of a longer sentence, runs of
    low-entropy pieces (entropy below ``threshold * median``) are joined up to ``max_tokens``,
    while information-dense pieces stay fine."""
    sentence_tokens: dict[int, int] = {}
    for k in range(len(fp)):
        s = int(fp.sentence[k])
        sentence_tokens[s] = sentence_tokens.get(s, 0) + int(fp.tokens[k])
    groups: list[list[int]] = []
    low = fp.entropies < threshold * median
    for k in range(len(fp)):
        s = int(fp.sentence[k])
        same = bool(groups) and int(fp.sentence[groups[-1][-1]]) == s
        whole_sentence = sentence_tokens[s] <= whole
        low_run = (
            low[k]
            and bool(groups)
            and low[groups[-1][-1]]
            and int(fp.tokens[groups[-1]].sum() + fp.tokens[k]) <= max_tokens
        )
        if same and (whole_sentence or low_run):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


# A sentence stays whole when it costs at most this share of the budget.
WHOLE_SENTENCE_SHARE = 0.5


def flatten(
    docs: Sequence[Document],
    fps: Sequence[DocFingerprints],
    config: SemTokenConfig,
    count: Callable[[str], int],
    budget: int = 0,
) -> Flat:
    """Flatten per-document fingerprints into one table of spans (coarsened when adaptive)."""
    ents = [fp.entropies[fp.tokens >= 3] for fp in fps]
    pool = np.concatenate(ents) if ents else np.zeros(0)
    median = float(np.median(pool)) if len(pool) else 0.0
    adaptive = config.granularity == "adaptive" and config.use_entropy and median > 0
    whole = max(config.max_span_tokens, int(budget * WHOLE_SENTENCE_SHARE))
    doc, start, end, vec, ent, tok, texts = [], [], [], [], [], [], []
    for i, (d, fp) in enumerate(zip(docs, fps)):
        if adaptive:
            groups = coarsen(fp, config.entropy_threshold, config.max_span_tokens, median, whole)
        else:
            groups = [[k] for k in range(len(fp))]
        for g in groups:
            a, b = int(fp.starts[g[0]]), int(fp.ends[g[-1]])
            w = fp.tokens[g].astype(np.float64) + 1e-6
            v = (fp.vectors[g] * w[:, None]).sum(axis=0)
            doc.append(i)
            start.append(a)
            end.append(b)
            vec.append(v / max(float(np.linalg.norm(v)), 1e-12))
            ent.append(float((fp.entropies[g] * w).sum() / w.sum()))
            texts.append(d.text[a:b])
            tok.append(int(fp.tokens[g[0]]) if len(g) == 1 else count(texts[-1]))
    dim = fps[0].doc_vector.shape[0] if fps else 1
    return Flat(
        doc=np.array(doc, dtype=np.int64),
        texts=texts,
        vectors=np.array(vec, dtype=np.float32).reshape(len(vec), dim),
        doc_texts=doc_texts_with_titles([d.text for d in docs], [d.title for d in docs]),
        doc_vectors=np.array([fp.doc_vector for fp in fps], dtype=np.float32).reshape(
            len(fps), dim
        ),
        titles=[d.title for d in docs],
        start=np.array(start, dtype=np.int64),
        end=np.array(end, dtype=np.int64),
        entropy=np.array(ent),
        tokens=np.array(tok, dtype=np.int64),
    )


def relevance(
    query: str | None,
    qvec: np.ndarray | None,
    u: Flat,
    docs: Sequence[Document],
    config: SemTokenConfig,
) -> Relevance:
    """Fused relevance per span; without a query, information density (semantic entropy)."""
    n_docs = len(docs)
    if query is None or qvec is None or len(u.doc) == 0:
        dens = minmax(u.entropy) if config.use_entropy else np.ones(len(u.doc))
        dens = 0.5 + 0.5 * dens if len(dens) else dens
        doc = np.zeros(n_docs)
        if len(dens):
            np.maximum.at(doc, u.doc, dens)
        return Relevance(dens, doc, {})
    sig = signals(query, qvec, u)
    return fuse(
        sig, config.fusion, u.doc, n_docs, query=query, units=u, feedback=config.use_feedback
    )


# Contextual fingerprints of neighbouring sentences (and of any two UUIDs) can exceed the cosine
# threshold without saying the same thing; merged spans must also share most of their terms.
LEXICAL_IDENTITY = 0.5


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two term sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def merge(u: Flat, score: np.ndarray, config: SemTokenConfig) -> tuple[np.ndarray, np.ndarray]:
    """Redundancy clusters; returns (mask of candidates kept, cluster label per span).

    Two spans are one cluster when their fingerprints exceed ``similarity_threshold`` and they
    share at least half their content terms (near-identical, not merely on the same topic)."""
    n = len(u.doc)
    if n == 0 or not config.use_merging:
        return np.ones(n, dtype=bool), np.arange(n, dtype=np.int64)
    term_sets = [frozenset(terms(t)) for t in u.texts]

    def near_identical(i: int, j: int) -> bool:
        return jaccard(term_sets[i], term_sets[j]) >= LEXICAL_IDENTITY

    labels = cluster(
        u.vectors,
        score,
        config.similarity_threshold,
        method=config.clustering,
        min_size=config.min_cluster_size,
        max_size=config.max_cluster_size,
        guard=near_identical,
    )
    return representatives(labels, score), labels


def values(u: Flat, rel: Relevance) -> np.ndarray:
    """Knapsack value of each span: relevance (sharpened) times its length."""
    return (rel.span**2 + 1e-6) * np.maximum(u.tokens, 1)


# Weight of query coverage against relevance (both in [0, 1]) in the selection objective.
COVERAGE_WEIGHT = 1.0


def select(
    u: Flat,
    rel: Relevance,
    keep: np.ndarray,
    budget: int,
    config: SemTokenConfig,
    original_tokens: int,
    query: str | None = None,
) -> list[int]:
    """Indices of the spans to keep under ``budget``; everything when the whole input fits.

    With a query (and lexical evidence on), the objective is relevance plus coverage of the
    query's terms, maximised by a budgeted lazy greedy (:func:`coverage_greedy`); otherwise a
    0/1 knapsack over relevance-weighted tokens. Merged duplicates are never candidates."""
    n = len(u.doc)
    if n == 0 or budget <= 0:
        return []
    if original_tokens <= budget:
        return list(range(n))
    join = _join_cost(config)
    # n spans need at most n - 1 separators: weights t + join under budget + join
    weights = u.tokens + join
    val = np.where(keep, values(u, rel), 0.0)
    dense_pick = knapsack(val, weights, budget + join)
    if query and config.fusion in ("adaptive", "lexical"):
        covers, term_weights = query_coverage(query, u)
        if len(term_weights):
            greedy_pick = coverage_greedy(
                rel.span,
                weights,
                budget + join,
                covers,
                term_weights,
                COVERAGE_WEIGHT,
                candidates=keep,
            )
            # keep whichever does better on relevant tokens plus query coverage
            return max(
                (greedy_pick, dense_pick),
                key=lambda pick: _objective(pick, rel.span, u.tokens, budget, covers, term_weights),
            )
    return dense_pick


def _objective(
    pick: list[int],
    relevance: np.ndarray,
    tokens: np.ndarray,
    budget: int,
    covers: list[frozenset[int]],
    term_weights: np.ndarray,
) -> float:
    """Relevance-weighted share of the budget filled, plus weighted share of query terms covered."""
    filled = float(np.sum(relevance[pick] * tokens[pick])) / max(budget, 1)
    covered = frozenset().union(*(covers[i] for i in pick)) if pick else frozenset()
    share = float(sum(term_weights[t] for t in covered)) / max(float(term_weights.sum()), 1e-12)
    return filled + COVERAGE_WEIGHT * share


def query_coverage(query: str, u: Flat) -> tuple[list[frozenset[int]], np.ndarray]:
    """Which query terms each span covers (its own terms plus its document's title), and an
    IDF weight per query term over the spans."""
    q_terms = list(dict.fromkeys(terms(query)))
    index = {t: k for k, t in enumerate(q_terms)}
    title_terms = [set(terms(t)) for t in u.titles]
    covers = [
        frozenset(index[t] for t in set(terms(text)) | title_terms[d] if t in index)
        for text, d in zip(u.texts, u.doc.tolist())
    ]
    n = len(covers)
    df = np.zeros(len(q_terms))
    for c in covers:
        for k in c:
            df[k] += 1
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    return covers, np.where(df > 0, idf, 0.0)


def _join_cost(config: SemTokenConfig) -> int:
    return 1 if config.separator else 0


def assemble(
    docs: Sequence[Document],
    u: Flat,
    rel: Relevance,
    labels: np.ndarray,
    chosen: list[int],
    budget: int,
    count: Callable[[str], int],
    config: SemTokenConfig,
) -> tuple[list[Span], list[str], int]:
    """Build spans and per-document texts; drop the weakest span until the counted total fits;
    if nothing fits, cut the best span at a token boundary."""
    sources = tuple(d.text for d in docs)
    chosen = sorted(chosen)
    val = values(u, rel) if len(u.doc) else np.zeros(0)
    while True:
        spans = [_span(u, rel, labels, k) for k in chosen]
        texts = assemble_texts(spans, len(docs), sources, config.separator)
        kept = sum(count(t) for t in texts if t)
        if kept <= budget:
            break
        chosen.remove(min(chosen, key=lambda k: (val[k], -k)))
    if not chosen and budget > 0 and len(u.doc):
        best = int(np.argmax(rel.span))
        cut = truncate_to_tokens(u.texts[best], budget, count)
        if cut and count(cut) <= budget:
            s = _span(u, rel, labels, best)
            spans = [
                Span(
                    s.doc_index,
                    s.start,
                    s.start + len(cut),
                    cut,
                    count(cut),
                    s.score,
                    s.entropy,
                    s.cluster,
                )
            ]
            texts = assemble_texts(spans, len(docs), sources, config.separator)
            kept = count(cut)
    return spans, texts, kept


def _span(u: Flat, rel: Relevance, labels: np.ndarray, k: int) -> Span:
    return Span(
        doc_index=int(u.doc[k]),
        start=int(u.start[k]),
        end=int(u.end[k]),
        text=u.texts[k],
        tokens=int(u.tokens[k]),
        score=float(rel.span[k]),
        entropy=float(u.entropy[k]),
        cluster=int(labels[k]),
    )
