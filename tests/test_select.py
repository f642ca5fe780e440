from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag.select import cluster, knapsack, representatives


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


def test_greedy_cluster_groups_look_alikes_and_respects_guard() -> None:
    v = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    prio = np.array([0.2, 0.9, 0.5])
    labels = cluster(v, prio, 0.95)
    assert labels[0] == labels[1] != labels[2]
    assert representatives(labels, prio).tolist() == [False, True, True]
    labels = cluster(v, prio, 0.95, guard=lambda i, j: False)
    assert len(set(labels.tolist())) == 3


def test_cluster_methods_and_max_size() -> None:
    v = np.tile(np.array([[1.0, 0.0]]), (7, 1))
    prio = np.arange(7, dtype=float)
    for method in ("greedy", "agglomerative", "dbscan"):
        labels = cluster(v, prio, 0.9, method=method, max_size=3)
        sizes = np.bincount(labels)
        assert sizes.max() <= 3, method
        assert sizes.sum() == 7
