"""Budgeted selection: the knapsack and the coverage greedy."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag.pipeline.select import fill, knapsack


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.01, 10), st.integers(1, 20)), min_size=0, max_size=9),
    st.integers(0, 60),
)
def test_knapsack_is_optimal_and_within_budget(items: list[tuple[float, int]], budget: int) -> None:
    values = [v for v, _ in items]
    weights = [w for _, w in items]
    chosen = knapsack(values, weights, budget)
    assert sum(weights[i] for i in chosen) <= budget
    best = 0.0
    for r in range(len(items) + 1):
        for combo in itertools.combinations(range(len(items)), r):
            if sum(weights[i] for i in combo) <= budget:
                best = max(best, sum(values[i] for i in combo))
    assert sum(values[i] for i in chosen) >= best - 1e-6
    assert chosen == sorted(chosen)


def test_knapsack_large_input_stays_within_budget() -> None:
    rng = np.random.default_rng(0)
    values = rng.random(5000)
    weights = rng.integers(1, 50, 5000)
    chosen = knapsack(values, weights, 3000)
    assert weights[chosen].sum() <= 3000
    assert len(chosen) > 50


def test_fill_is_linear_in_the_pieces_of_one_long_sentence() -> None:
    # issue 25, item 2: fill() rebuilt a sentence's untaken members for every piece, so one long
    # unpunctuated sentence (a transcript, a log line, minified code) cost n^2: 0.2 / 1.0 / 15 s
    # at 100k / 200k / 800k characters in select alone
    from growth import exponent

    def run(n: int) -> None:
        score = np.linspace(1.0, 0.0, n)
        weights = np.full(n, 5)
        fill(score, weights, n, sentences=np.zeros(n, dtype=np.int64))

    slope = exponent(run, 20_000, 80_000)
    assert slope < 1.2, f"fill grows as n^{slope:.2f}"
