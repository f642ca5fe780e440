"""Relevance signals -> a calibrated probability that a span holds evidence for the query.

The fused rank (:mod:`~semtoken_rag.pipeline.relevance`) orders the spans of one input, but its
value means nothing across inputs: the top span of any input scores 1.0. A span's *score* is
instead ``P(evidence | signals)``, a logistic model over signals that mean the same on every input:
the cosine of the span and of its document with the query, the share of the query's terms the span
holds, whether it quotes the query's identifier and whether it only restates the query, one
signal relative to the input, its fused rank (as a share of the input's best), and a prior from
the input itself: the log of the number of documents that hold spans. Evidence for a question
sits in about one document, so each of twenty documents is less likely to hold it than the one
document of a one-document input; that weight is not fitted but chosen leave-one-dataset-out
(the others are fitted with it held fixed). The weights
(:attr:`Tuning.calibration`) were fitted leave-one-dataset-out on the labelled visible sets
(``benchmarks/tuning/calibrate.py``): a score of 0.3 means about three spans in ten with that score
hold evidence, on inputs the fit never saw.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import CALIBRATION_FEATURES as FEATURES


def feature_matrix(signals: dict[str, np.ndarray], span_docs: np.ndarray) -> np.ndarray:
    """``[n, len(FEATURES)]`` features of the spans from :func:`relevance`'s signals, and the
    log of how many documents hold spans (``span_docs``: each span's document index).

    Example:
        >>> sig = {name: np.zeros(2) for name in FEATURES[:-1]}
        >>> sig["dense"] = np.array([0.5, 0.2])
        >>> feature_matrix(sig, np.array([0, 0]))[:, 0].tolist()  # dense
        [0.5, 0.2]
        >>> round(float(feature_matrix(sig, np.array([3, 19]))[0, -1]), 3)  # log(2)
        0.693
    """
    n = len(signals["dense"])
    cols = [np.asarray(signals[name], dtype=np.float64) for name in FEATURES[:-1]]
    cols.append(np.full(n, math.log(max(1, len(np.unique(span_docs))))))
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


def calibrated(
    signals: dict[str, np.ndarray], weights: tuple[float, ...], span_docs: np.ndarray
) -> np.ndarray:
    """The calibrated probability of every span (``span_docs``: each span's document index;
    see the module docstring)."""
    if not len(signals.get("dense", ())):
        return np.zeros(0)
    return probability(feature_matrix(signals, span_docs), weights)
