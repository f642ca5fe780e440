"""Hypothesis profiles for the robustness suite (issue 8), and the shared fake encoder.

Profiles (pick one with ``HYPOTHESIS_PROFILE``; the default is ``ci``):

- ``ci``: sized so the whole robustness suite runs in under 3 minutes on two busy cores;
  derandomized, so CI is reproducible.
- ``thorough``: ten times as many cases, random seeds, for a nightly or a local hunt.
- ``dev``: a handful of cases per property, for editing the tests.

The profiles are registered here but never loaded globally: :func:`cases` hands each test its
settings, so the other hypothesis tests of the repository keep their own.

Example:
    >>> from hypothesis_profiles import cases
    >>> cases(10).max_examples >= 1
    True
"""

from __future__ import annotations

import os
import zlib

import numpy as np
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=400, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=4000, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "thorough", "dev"):
    PROFILE = "ci"  # another suite's profile name: use ours


def cases(percent: int = 100) -> settings:
    """The active profile's settings with ``percent`` % of its ``max_examples`` (at least 1)."""
    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=max(1, base.max_examples * percent // 100))


def bow(texts: list[str], dim: int = 32) -> np.ndarray:
    """A fast, deterministic fake encoder: hashed bag of words (crc32, so stable across
    processes), plus a small constant so no vector is zero."""
    out = np.full((len(texts), dim), 0.01, dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, zlib.crc32(w.strip(".,;:!?").encode("utf-8", "surrogatepass")) % dim] += 1.0
    return out
