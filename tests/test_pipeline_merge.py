"""Redundancy clustering: look-alikes kept once, the guard, cluster sizes."""

from __future__ import annotations

import numpy as np

from semtoken_rag.pipeline.merge import cluster, representatives


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
