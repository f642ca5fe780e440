"""Redundancy clustering and budgeted selection: pure and deterministic."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

logger = logging.getLogger(__name__)

_DP_CELLS = 4_000_000  # items x capacity cells for the exact knapsack
_DP_ITEMS = 3000  # above this many candidates, value-density greedy (a 1/2-approximation)


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
    even when thousands of spans look alike."""
    n = len(vectors)
    out: list[list[int]] = [[] for _ in range(n)]
    for a in range(0, n, block):
        sims = vectors[a : a + block] @ vectors.T
        for r in range(sims.shape[0]):
            sims[r, a + r] = -np.inf  # never a pair with itself
        if limit is not None and limit < n - 1:
            top = np.argpartition(-sims, limit, axis=1)[:, :limit]
            keep = np.take_along_axis(sims, top, axis=1) > threshold
            rows, cols = np.nonzero(keep)
            pairs = zip(rows.tolist(), top[rows, cols].tolist())
        else:
            rows, cols = np.nonzero(sims > threshold)
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
    if method == "agglomerative" and n > 4000:
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


def knapsack(
    values: Sequence[float] | np.ndarray, weights: Sequence[int] | np.ndarray, budget: int
) -> list[int]:
    """Indices maximising total value with total weight <= ``budget`` (sorted ascending).

    Exact dynamic programming when items x budget is small; otherwise weights are scaled up
    (rounded up, so the result still fits) before the same program. Items with value <= 0 or
    weight > budget are never chosen. Ties go to earlier items: the result is deterministic.

    Example:
        >>> knapsack([3.0, 2.0, 2.0], [3, 2, 2], 4)
        [1, 2]
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.int64)
    if budget <= 0 or len(v) == 0:
        return []
    cand = np.where((v > 0) & (w <= budget) & (w >= 0))[0]
    if len(cand) == 0:
        return []
    free = cand[w[cand] == 0]
    cand = cand[w[cand] > 0]
    if len(cand) == 0:
        return sorted(free.tolist())
    if int(w[cand].sum()) <= budget:
        return sorted(cand.tolist() + free.tolist())
    if len(cand) > _DP_ITEMS:
        return sorted(_greedy(v, w, cand, budget) + free.tolist())
    scale = max(1, int(np.ceil(len(cand) * budget / _DP_CELLS)))
    ws = np.ceil(w[cand] / scale).astype(np.int64)
    cap = budget // scale
    dp = np.zeros(cap + 1)
    take = np.zeros((len(cand), cap + 1), dtype=bool)
    for k in range(len(cand)):
        wk = int(ws[k])
        if wk > cap:
            continue
        shifted = np.full(cap + 1, -np.inf)
        shifted[wk:] = dp[: cap + 1 - wk] + v[cand[k]]
        better = shifted > dp + 1e-12
        take[k] = better
        dp = np.where(better, shifted, dp)
    c = int(np.argmax(dp))
    chosen: list[int] = []
    for k in range(len(cand) - 1, -1, -1):
        if take[k, c]:
            chosen.append(int(cand[k]))
            c -= int(ws[k])
    return sorted(chosen + free.tolist())


def _greedy(v: np.ndarray, w: np.ndarray, cand: np.ndarray, budget: int) -> list[int]:
    """Best value density first, filling what still fits; compared with the best single item."""
    order = cand[np.argsort(-(v[cand] / w[cand]), kind="stable")]
    chosen: list[int] = []
    left = budget
    for i in order.tolist():
        if w[i] <= left:
            chosen.append(i)
            left -= int(w[i])
    best = int(cand[np.argmax(v[cand])])
    if v[best] > v[chosen].sum():
        return [best]
    return chosen


def coverage_greedy(
    relevance: np.ndarray,
    weights: np.ndarray,
    budget: int,
    covers: Sequence[frozenset[int]],
    term_weights: np.ndarray,
    gamma: float,
    candidates: np.ndarray | None = None,
) -> list[int]:
    """Budgeted greedy for relevance plus query coverage (a submodular objective).

    Each step takes the fitting span with the largest ``relevance[i] + gamma * gain_i``, where
    ``gain_i`` is the share of query-term weight that span ``i`` covers and no chosen span covers
    yet. Covered terms stop counting, so a second span saying what the first already said gains
    nothing from coverage (the redundancy penalty), while a span that covers the query's other
    half (the second hop of a multi-hop question) rises. Lazy evaluation keeps it near
    ``O(n log n)``: gains only shrink.

    Args:
        relevance: ``[n]`` relevance in [0, 1].
        weights: ``[n]`` token costs.
        budget: Total cost allowed.
        covers: Per span, the indices of the query terms it contains.
        term_weights: ``[k]`` weight of each query term (e.g. IDF).
        gamma: Weight of coverage against relevance.
        candidates: Optional mask of spans allowed at all.

    Example:
        >>> coverage_greedy(np.array([0.9, 0.8, 0.5]), np.array([5, 5, 5]), 10,
        ...                 [frozenset({0}), frozenset({0}), frozenset({1})], np.ones(2), 1.0)
        [0, 2]
    """
    import heapq

    n = len(relevance)
    total = float(np.sum(term_weights)) or 1.0
    covered: set[int] = set()

    def value(i: int) -> float:
        gain = sum(float(term_weights[t]) for t in covers[i] if t not in covered) / total
        return float(relevance[i]) + gamma * gain

    allowed = np.ones(n, dtype=bool) if candidates is None else candidates
    heap = [(-value(i), i) for i in range(n) if allowed[i] and 0 <= weights[i] <= budget]
    heapq.heapify(heap)
    chosen: list[int] = []
    left = budget
    while heap:
        neg, i = heapq.heappop(heap)
        if weights[i] > left:
            continue
        fresh = value(i)
        if heap and fresh < -heap[0][0] - 1e-12:  # stale bound: re-queue with its true value
            heapq.heappush(heap, (-fresh, i))
            continue
        chosen.append(i)
        left -= int(weights[i])
        covered |= covers[i]
    return sorted(chosen)
