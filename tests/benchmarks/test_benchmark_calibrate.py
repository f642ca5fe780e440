"""The calibration fit (issue 24): the document-count prior is an offset chosen, not fitted, and
it moves only the intercept, so the other weights (how spans and documents rank) stay the fit's."""

from __future__ import annotations

import numpy as np

from benchmarks.tuning.calibrate import fit
from semtoken_rag.pipeline.calibrate import probability


def _data(seed: int) -> dict:
    """Two sets: one of 1-document inputs where half the spans are evidence, one of 20-document
    inputs where one span in forty is; one absolute signal separates evidence in both."""
    rng = np.random.default_rng(seed)
    data = {}
    for name, docs, rate in (("short", 1, 0.5), ("long", 20, 0.025)):
        y = (rng.random(4000) < rate).astype(float)
        signal = y * 1.5 + rng.normal(0, 1, len(y))
        x = np.column_stack([signal, np.full(len(y), np.log(docs))])
        data[name] = {"x": x, "y": y, "off": []}
    return data


def test_the_prior_moves_only_the_intercept_and_calibrates_both_shapes() -> None:
    data = _data(0)
    plain = fit(data, ["short", "long"])
    with_prior = fit(data, ["short", "long"], prior=1.0)
    assert plain[-1] == 0.0 and with_prior[-1] == -1.0  # chosen, not fitted
    assert with_prior[1] == plain[1]  # the signal's weight is the fit without the prior
    assert with_prior[0] != plain[0]

    def gap(w: tuple[float, ...], name: str) -> float:  # mean score minus the base rate
        return float(probability(data[name]["x"], w).mean() - data[name]["y"].mean())

    # without the prior one intercept serves both shapes and misses both; with it, both fit
    assert abs(gap(plain, "short")) > 0.1 and abs(gap(plain, "long")) > 0.05
    assert abs(gap(with_prior, "short")) < 0.06 and abs(gap(with_prior, "long")) < 0.02
