"""Redundancy merging: near-identical spans, within or across documents, are kept once.

Two spans are one cluster when their fingerprints exceed the cosine threshold *and* they share
enough of their content terms (``tuning.lexical_identity``): contextual fingerprints of
neighbouring sentences, or of two UUIDs, can look alike without saying the same thing. The best
member of each cluster (by relevance) represents it; the others are never candidates for
selection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ..types import SpanTable
from .score import jaccard, terms

logger = logging.getLogger(__name__)

AGGLOMERATIVE_LIMIT = 4000  # spans above which complete linkage (quadratic) falls back to greedy
BLOCK_CELLS = 2**24  # most similarities held at once by similar_pairs (64 MB of float32)


def merge(
    t: SpanTable,
    score: np.ndarray,
    *,
    threshold: float,
    method: str,
    min_size: int,
    max_size: int,
    lexical_identity: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Redundancy clusters of the call's spans.

    Args:
        t: The spans.
        score: Relevance per span (the best member of a cluster represents it).
        threshold: Cosine above which two fingerprints are the same content.
        method: ``greedy``, ``agglomerative`` or ``dbscan`` (see :func:`cluster`).
        min_size: Core size for ``dbscan``.
        max_size: Largest cluster.
        lexical_identity: Jaccard share of content terms two members must also share.

    Returns:
        (mask of the spans that stay candidates, cluster label per span).
    """
    n = len(t)
    if n == 0:
        return np.ones(0, dtype=bool), np.zeros(0, dtype=np.int64)
    term_sets = [frozenset(terms(x)) for x in t.texts]

    def near_identical(i: int, j: int) -> bool:
        return jaccard(term_sets[i], term_sets[j]) >= lexical_identity

    labels = cluster(
        t.vectors,
        score,
        threshold,
        method=method,
        min_size=min_size,
        max_size=max_size,
        guard=near_identical,
    )
    return representatives(labels, score), labels


def no_merge(n: int) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`merge` returns when merging is off: every span its own cluster."""
    return np.ones(n, dtype=bool), np.arange(n, dtype=np.int64)


Guard = Callable[[int, int], bool]


def similar_pairs(
    vectors: np.ndarray,
    threshold: float,
    guard: Guard | None = None,
    block: int = 2048,
    limit: int | None = None,
) -> list[list[int]]:
    """For each row, the other rows with cosine > ``threshold`` (blockwise, memory-bounded) that
    also pass ``guard`` (e.g. a lexical near-identity check). With ``limit``, only each row's
    ``limit`` most similar rows are considered, so the guard runs at most ``n * limit`` times
    even when thousands of spans look alike.

    Rows are compared in blocks of at most ``block`` rows and :data:`BLOCK_CELLS` similarities;
    only the rows with more than ``limit`` look-alikes are partially sorted (look-alikes are
    rare), so the cost beyond the similarity products stays linear in the pairs found.

    Example:
        >>> v = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
        >>> similar_pairs(v, 0.9)
        [[1], [0], []]
    """
    n = len(vectors)
    out: list[list[int]] = [[] for _ in range(n)]
    block = max(1, min(block, BLOCK_CELLS // max(n, 1)))
    for a in range(0, n, block):
        sims = vectors[a : a + block] @ vectors.T
        b = sims.shape[0]
        sims[np.arange(b), a + np.arange(b)] = -np.inf  # never a pair with itself
        over = sims > threshold
        rows, cols = np.nonzero(over)
        if limit is not None and limit < n - 1:
            counts = over.sum(axis=1)
            crowded = np.nonzero(counts > limit)[0]
            if len(crowded):  # the same choice as a partial sort of every row
                calm = counts[rows] <= limit
                sub = sims[crowded]
                top = np.argpartition(-sub, limit, axis=1)[:, :limit]
                keep = np.take_along_axis(sub, top, axis=1) > threshold
                r2, c2 = np.nonzero(keep)
                rows = np.concatenate([rows[calm], crowded[r2]])
                cols = np.concatenate([cols[calm], top[r2, c2]])
        pairs = zip(rows.tolist(), cols.tolist())
        for r, c in sorted(pairs, key=lambda p: (p[0], -sims[p[0], p[1]], p[1])):
            if guard is None or guard(a + r, c):
                out[a + r].append(c)
    return out


def cluster(
    vectors: np.ndarray,
    priority: np.ndarray,
    threshold: float,
    *,
    method: str = "greedy",
    min_size: int = 2,
    max_size: int = 10,
    guard: Guard | None = None,
) -> np.ndarray:
    """Cluster labels (``0..k-1``) of spans whose fingerprints exceed ``threshold``.

    ``greedy`` visits spans best-first (by ``priority``) and joins each to the first leader it
    resembles, a linear pass over the sparse list of similar pairs. ``agglomerative`` uses complete
    linkage; ``dbscan`` density clusters (``min_size`` core points). No cluster exceeds
    ``max_size``.
    ``guard(i, j)`` must also hold for two spans to be linked (``greedy`` and ``dbscan``; for
    ``agglomerative``, clusters are split where a member fails it against the leader).

    Example:
        >>> import numpy as np
        >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> cluster(v, np.array([0.9, 0.5, 0.1]), 0.9).tolist()
        [0, 0, 1]
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if method == "agglomerative" and n > AGGLOMERATIVE_LIMIT:
        logger.warning("agglomerative clustering on %d spans is quadratic; using greedy", n)
        method = "greedy"
    if method == "agglomerative" and n > 1:
        from scipy.cluster.hierarchy import fcluster, linkage

        z = linkage(vectors.astype(np.float64), method="complete", metric="cosine")
        raw = fcluster(z, t=1.0 - threshold, criterion="distance") - 1
        return _cap_sizes(_split_by_guard(raw, priority, guard), priority, max_size)
    if method == "dbscan" and n > 1:
        labels = _dbscan(vectors, threshold, min_size, guard, max_size)
        return _cap_sizes(labels, priority, max_size)
    neighbours = similar_pairs(vectors, threshold, guard, limit=max_size)
    labels = np.full(n, -1, dtype=np.int64)
    sizes: list[int] = []
    for i in np.argsort(-priority, kind="stable").tolist():
        if labels[i] >= 0:
            continue
        labels[i] = len(sizes)
        sizes.append(1)
        for j in neighbours[i]:  # i is the leader: absorb its unassigned look-alikes
            if labels[j] < 0 and sizes[labels[i]] < max_size:
                labels[j] = labels[i]
                sizes[labels[i]] += 1
    return _relabel(labels)


def _split_by_guard(labels: np.ndarray, priority: np.ndarray, guard: Guard | None) -> np.ndarray:
    if guard is None:
        return labels
    out = np.array(labels, dtype=np.int64)
    nxt = int(out.max()) + 1 if len(out) else 0
    for lab in np.unique(labels):
        idx = np.where(labels == lab)[0]
        leader = int(idx[np.argmax(priority[idx])])
        for i in idx.tolist():
            if i != leader and not guard(leader, i):
                out[i] = nxt
                nxt += 1
    return out


def _dbscan(
    vectors: np.ndarray, threshold: float, min_size: int, guard: Guard | None, max_size: int
) -> np.ndarray:
    neighbours = similar_pairs(vectors, threshold, guard, limit=max(max_size, min_size))
    n = len(vectors)
    core = [len(nb) + 1 >= min_size for nb in neighbours]
    labels = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in range(n):
        if labels[i] >= 0 or not core[i]:
            continue
        stack = [i]
        labels[i] = k
        while stack:
            p = stack.pop()
            if not core[p]:
                continue
            for q in neighbours[p]:
                if labels[q] < 0:
                    labels[q] = k
                    stack.append(q)
        k += 1
    for i in range(n):  # noise: its own cluster
        if labels[i] < 0:
            labels[i] = k
            k += 1
    return labels


def _cap_sizes(labels: np.ndarray, priority: np.ndarray, max_size: int) -> np.ndarray:
    out = np.array(labels, dtype=np.int64)
    nxt = int(out.max()) + 1 if len(out) else 0
    for lab in np.unique(labels):
        idx = np.where(labels == lab)[0]
        if len(idx) <= max_size:
            continue
        idx = idx[np.argsort(-priority[idx], kind="stable")]
        for chunk in range(max_size, len(idx), max_size):
            out[idx[chunk : chunk + max_size]] = nxt
            nxt += 1
    return _relabel(out)


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, inv = np.unique(labels, return_inverse=True)
    first: dict[int, int] = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(inv.tolist()):
        out[i] = first.setdefault(lab, len(first))
    return out


def representatives(labels: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Boolean mask: the best member (highest priority, then earliest) of each cluster."""
    keep = np.zeros(len(labels), dtype=bool)
    best: dict[int, int] = {}
    for i in range(len(labels)):
        lab = int(labels[i])
        j = best.get(lab)
        if j is None or priority[i] > priority[j]:
            best[lab] = i
    keep[list(best.values())] = True
    return keep
