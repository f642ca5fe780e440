"""Budgeted selection: which spans to keep under the token budget.

With a query, spans are taken greedily in relevance order, each if it still fits (a span that does
not fit is skipped and the next tried, so the budget is filled): relevance is a rank fusion whose
order is what matters, and LODO preferred this to a knapsack over relevance-weighted tokens
(``benchmarks/tuning/FINDINGS.md`` section 6). A clause piece is taken with the rest of its
sentence when the whole sentence still fits: a clause never loses its sentence's subject to the
budget when it need not. A span with no letter or digit (a code block's closing ``};``, a
table's ``|---|`` rule) is never a candidate under a query: it cannot hold evidence, and once the
best spans are in, the fill would give it the budget's rest. Without a query, a 0/1 knapsack over
density-weighted tokens. Merged duplicates are never candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import Tuning
from ..types import SpanTable

_DP_CELLS = 4_000_000  # items x capacity cells for the exact knapsack
_DP_ITEMS = 3000  # above this many candidates, value-density greedy (a 1/2-approximation)


@dataclass(frozen=True)
class Selection:
    """What :func:`select` keeps.

    Attributes:
        chosen: Indices of the spans kept whole (sorted).
        cut: A span of which only a piece is kept (-1: none): the best-ranked one that did not
            fit, when at least ``tuning.cut_min_tokens`` were left for it.
        cut_tokens: The tokens that piece may cost (its separator already paid).
    """

    chosen: list[int] = field(default_factory=list)
    cut: int = -1
    cut_tokens: int = 0


def has_word(text: str) -> bool:
    """Whether ``text`` holds a letter or digit (in any script): "};" and "*" do not."""
    return any(ch.isalnum() for ch in text)


def worded(texts: Sequence[str]) -> np.ndarray:
    """Mask of the texts that hold a letter or digit (:func:`has_word`).

    Example:
        >>> worded(["};", "x = 1", "| --- |", "", "Ωμέγα"]).tolist()
        [False, True, False, False, True]
    """
    return np.array([has_word(t) for t in texts], dtype=bool)


def values(table: SpanTable, relevance: np.ndarray, exponent: float) -> np.ndarray:
    """Value of each span: relevance (sharpened by ``exponent``) times its length."""
    return (relevance**exponent + 1e-6) * np.maximum(table.tokens, 1)


def select(
    table: SpanTable,
    relevance: np.ndarray,
    keep: np.ndarray,
    budget: int,
    *,
    join_cost: int,
    query_free: bool,
    tuning: Tuning,
    evidence: np.ndarray | None = None,
) -> Selection:
    """The spans to keep under ``budget``: whole ones, and at most one cut to fit.

    Args:
        table: The spans.
        relevance: Relevance per span, in [0, 1].
        keep: Mask of the spans that may be chosen (cluster representatives).
        budget: Most tokens of kept text.
        join_cost: Tokens a separator between two kept spans may cost (reserved per span).
        query_free: The call has no query: select by information density (a 0/1 knapsack)
            instead of by relevance (a greedy fill).
        tuning: Constants (``value_exponent`` for the query-free knapsack).
        evidence: Calibrated probability of each span holding evidence; with
            ``tuning.cut_by_evidence``, a unit is cut only when its piece's expected evidence is
            at least that of the whole units the budget would take instead.

    Example:
        >>> import numpy as np
        >>> from semtoken_rag.config import Tuning
        >>> table = SpanTable(doc=np.zeros(3, int), start=np.zeros(3), end=np.zeros(3),
        ...     texts=["a"] * 3, tokens=np.array([5, 8, 4]), vectors=np.zeros((3, 2)),
        ...     entropy=np.zeros(3), titles=[""], doc_texts=[""], doc_vectors=np.zeros((1, 2)))
        >>> select(table, np.array([1.0, 0.9, 0.5]), np.ones(3, bool), 10, join_cost=1,
        ...        query_free=False, tuning=Tuning(cut_min_tokens=0)).chosen
        [0, 2]
        >>> select(table, np.array([1.0, 0.9, 0.5]), np.ones(3, bool), 10, join_cost=1,
        ...        query_free=False, tuning=Tuning(cut_min_tokens=3))
        Selection(chosen=[0], cut=1, cut_tokens=4)
    """
    n = len(table)
    if n == 0 or budget <= 0:
        return Selection()
    # n spans need at most n - 1 separators: weights tokens + join under budget + join
    weights = table.tokens + join_cost
    if not query_free:
        keep = keep & worded(table.texts)
        cut_min = tuning.cut_min_tokens + join_cost if tuning.cut_min_tokens else 0
        worth = evidence if tuning.cut_by_evidence else None
        cuttable = None
        if tuning.cut_above_mean and evidence is not None and keep.any():
            ev = np.asarray(evidence, dtype=np.float64)
            cuttable = ev >= ev[keep].mean()  # more likely evidence than the average span
        sel = fill(
            relevance,
            weights,
            budget + join_cost,
            keep,
            table.sentences,
            cut_min,
            worth,
            cuttable=cuttable,
            cut_first_only=tuning.cut_first_only,
        )
        if sel.cut >= 0:
            return Selection(sel.chosen, sel.cut, sel.cut_tokens - join_cost)
        return sel
    val = np.where(keep, values(table, relevance, tuning.value_exponent), 0.0)
    return Selection(knapsack(val, weights, budget + join_cost))


def fill(
    score: np.ndarray,
    weights: np.ndarray,
    budget: int,
    candidates: np.ndarray | None = None,
    sentences: np.ndarray | None = None,
    cut_min: int = 0,
    evidence: np.ndarray | None = None,
    cuttable: np.ndarray | None = None,
    cut_first_only: bool = False,
) -> Selection:
    """Greedy in ``score`` order (ties: earlier first), taking each candidate that still fits;
    with ``sentences`` (a sentence id per span), a span comes with the rest of its sentence
    whenever the whole sentence still fits. With ``cut_min``, the first candidate that does not
    fit while at least ``cut_min`` is left is kept as a piece of what is left (``cut``), and
    nothing ranked below it is taken: a tight budget goes to the best evidence first. With
    ``evidence`` (a probability per span), only when the piece's expected evidence (its share of
    the unit's tokens times the unit's probability) is at least the summed probability of the
    whole candidates the greedy would take with what is left instead. With ``cuttable`` (a
    mask), only those units are cut; with ``cut_first_only``, only a unit that does not fit
    before anything is kept. A unit not cut is skipped and the fill goes on with whole units.

    Linear in the spans: a sentence's untaken members and their weight are kept up to date.

    Example:
        >>> score, weights = np.array([0.9, 0.8, 0.1]), np.array([6, 5, 3])
        >>> fill(score, weights, 9).chosen
        [0, 2]
        >>> fill(score, weights, 9, sentences=np.array([0, 1, 0])).chosen
        [0, 2]
        >>> fill(score, weights, 9, cut_min=2)
        Selection(chosen=[0], cut=1, cut_tokens=3)
    """
    n = len(score)
    allowed = np.ones(n, dtype=bool) if candidates is None else candidates
    order = np.lexsort((np.arange(n), -np.asarray(score, dtype=np.float64)))
    group = (np.arange(n) if sentences is None else np.asarray(sentences)).tolist()
    w = np.asarray(weights).tolist()
    members: dict[int, list[int]] = {}
    rest_cost: dict[int, int] = {}  # weight of a sentence's members not taken yet
    rest_count: dict[int, int] = {}
    for i, g in enumerate(group):
        members.setdefault(g, []).append(i)
        rest_cost[g] = rest_cost.get(g, 0) + int(w[i])
        rest_count[g] = rest_count.get(g, 0) + 1
    taken = np.zeros(n, dtype=bool)
    left = budget
    cut_seen = False
    for i in order.tolist():
        if taken[i] or not allowed[i]:
            continue
        g = group[i]
        if rest_count[g] > 1 and rest_cost[g] <= left:  # the rest of the sentence fits: all of it
            for j in members[g]:  # once per sentence: it has nothing left to take afterwards
                if not taken[j]:
                    taken[j] = True
            left -= rest_cost[g]
            rest_cost[g], rest_count[g] = 0, 0
        elif 0 <= w[i] <= left:
            taken[i] = True
            left -= int(w[i])
            rest_cost[g] -= int(w[i])
            rest_count[g] -= 1
        elif cut_min and left >= cut_min and not cut_seen:
            cut_seen = True
            if (cut_first_only and taken.any()) or (cuttable is not None and not cuttable[i]):
                continue  # no fragment of it: whole units fill the rest
            if evidence is None or _piece_wins(i, left, order, taken, allowed, w, evidence):
                return Selection(np.flatnonzero(taken).tolist(), i, left)
    return Selection(np.flatnonzero(taken).tolist())


def _piece_wins(
    i: int,
    left: int,
    order: np.ndarray,
    taken: np.ndarray,
    allowed: np.ndarray,
    w: list[int],
    evidence: np.ndarray,
) -> bool:
    """Whether unit ``i`` cut to ``left`` is worth at least the whole units after it in
    ``order`` that would fit instead (expected evidence, from calibrated probabilities)."""
    piece = float(evidence[i]) * min(1.0, left / max(int(w[i]), 1))
    rest, room, after = 0.0, left, False
    for j in order.tolist():
        if j == i:
            after = True
            continue
        if after and not taken[j] and allowed[j] and 0 <= w[j] <= room:
            rest += float(evidence[j])
            room -= int(w[j])
    return piece >= rest


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
