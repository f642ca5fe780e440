"""Budgeted selection: which spans to keep under the token budget.

With a query, the objective is relevance plus coverage of the query's terms, maximised by a budgeted
lazy greedy (:func:`coverage_greedy`); it is compared with a 0/1 knapsack over relevance-weighted
tokens (:func:`knapsack`) by that objective, and the better pick is kept. Without a query (or
lexical evidence off), the knapsack alone. Merged duplicates are never candidates.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from ..config import Tuning
from ..types import SpanTable
from .score import terms

_DP_CELLS = 4_000_000  # items x capacity cells for the exact knapsack
_DP_ITEMS = 3000  # above this many candidates, value-density greedy (a 1/2-approximation)


def values(t: SpanTable, relevance: np.ndarray, exponent: float) -> np.ndarray:
    """Knapsack value of each span: relevance (sharpened by ``exponent``) times its length."""
    return (relevance**exponent + 1e-6) * np.maximum(t.tokens, 1)


def select(
    t: SpanTable,
    relevance: np.ndarray,
    keep: np.ndarray,
    budget: int,
    *,
    join_cost: int,
    query: str | None,
    coverage: bool,
    tuning: Tuning,
) -> list[int]:
    """Indices of the spans to keep under ``budget`` (sorted).

    Args:
        t: The spans.
        relevance: Relevance per span, in [0, 1].
        keep: Mask of the spans that may be chosen (cluster representatives).
        budget: Most tokens of kept text.
        join_cost: Tokens a separator between two kept spans may cost (reserved per span).
        query: The query (its terms are what coverage counts); ``None`` for none.
        coverage: Use the coverage objective (lexical evidence on).
        tuning: Weights (``value_exponent``, ``coverage_weight``).
    """
    n = len(t)
    if n == 0 or budget <= 0:
        return []
    # n spans need at most n - 1 separators: weights t + join under budget + join
    weights = t.tokens + join_cost
    val = np.where(keep, values(t, relevance, tuning.value_exponent), 0.0)
    dense_pick = knapsack(val, weights, budget + join_cost)
    if query and coverage:
        covers, term_weights = query_coverage(query, t)
        if len(term_weights):
            gamma = tuning.coverage_weight
            greedy_pick = coverage_greedy(
                relevance, weights, budget + join_cost, covers, term_weights, gamma, keep
            )
            # keep whichever does better on relevant tokens plus query coverage
            return max(
                (greedy_pick, dense_pick),
                key=lambda pick: objective(
                    pick, relevance, t.tokens, budget, covers, term_weights, gamma
                ),
            )
    return dense_pick


def objective(
    pick: list[int],
    relevance: np.ndarray,
    tokens: np.ndarray,
    budget: int,
    covers: list[frozenset[int]],
    term_weights: np.ndarray,
    gamma: float,
) -> float:
    """Relevance-weighted share of the budget filled, plus ``gamma`` x the weighted share of
    query terms covered."""
    filled = float(np.sum(relevance[pick] * tokens[pick])) / max(budget, 1)
    covered = frozenset().union(*(covers[i] for i in pick)) if pick else frozenset()
    share = float(sum(term_weights[t] for t in covered)) / max(float(term_weights.sum()), 1e-12)
    return filled + gamma * share


def query_coverage(query: str, t: SpanTable) -> tuple[list[frozenset[int]], np.ndarray]:
    """Which query terms each span covers (its own terms plus its document's title), and an
    IDF weight per query term over the spans."""
    q_terms = list(dict.fromkeys(terms(query)))
    index = {x: k for k, x in enumerate(q_terms)}
    title_terms = [set(terms(x)) for x in t.titles]
    covers = [
        frozenset(index[x] for x in set(terms(text)) | title_terms[d] if x in index)
        for text, d in zip(t.texts, t.doc.tolist())
    ]
    n = len(covers)
    df = np.zeros(len(q_terms))
    for c in covers:
        for k in c:
            df[k] += 1
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    return covers, np.where(df > 0, idf, 0.0)


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
