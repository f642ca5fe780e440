"""Relevance signals -> a calibrated probability that a span holds evidence for the query.

The fused rank (:mod:`~semtoken_rag.pipeline.relevance`) orders the spans of one input, but its
value means nothing across inputs: the top span of any input scores 1.0. A span's *score* is
instead ``P(evidence | signals)``, a logistic model over signals that mean the same on every input:
the cosine of the span and of its document with the query, the share of the query's terms the span
holds, whether it quotes the query's identifier and whether it only restates the query, and one
signal relative to the input, its fused rank (as a share of the input's best). The weights
(:attr:`Tuning.calibration`) were fitted leave-one-dataset-out on the labelled visible sets
(``benchmarks/tuning/calibrate.py``): a score of 0.3 means about three spans in ten with that score
hold evidence, on inputs the fit never saw.
"""

from __future__ import annotations

import numpy as np

from ..config import CALIBRATION_FEATURES as FEATURES


def feature_matrix(signals: dict[str, np.ndarray]) -> np.ndarray:
    """``[n, len(FEATURES)]`` features of the spans from :func:`relevance`'s signals.

    Example:
        >>> sig = {name: np.zeros(2) for name in FEATURES}
        >>> sig["dense"] = np.array([0.5, 0.2])
        >>> feature_matrix(sig)[:, 0].tolist()  # dense
        [0.5, 0.2]
    """
    n = len(signals["dense"])
    cols = [np.asarray(signals[name], dtype=np.float64) for name in FEATURES]
    return np.stack(cols, axis=1).reshape(n, len(FEATURES))


def probability(x: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """``sigmoid(w0 + x @ w)``: the calibrated probability of each row of ``x``.

    Example:
        >>> probability(np.zeros((2, 2)), (0.0, 1.0, 1.0)).tolist()
        [0.5, 0.5]
    """
    w = np.asarray(weights, dtype=np.float64)
    if len(w) != x.shape[1] + 1:
        raise ValueError(f"calibration needs {x.shape[1] + 1} weights, got {len(w)}")
    z = w[0] + x @ w[1:]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def calibrated(signals: dict[str, np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
    """The calibrated probability of every span (see the module docstring)."""
    if not len(signals.get("dense", ())):
        return np.zeros(0)
    return probability(feature_matrix(signals), weights)
